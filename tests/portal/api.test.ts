// The portal's API without a browser: sessions, CSRF, sign-in limits, security headers, every
// change through the core's validation (messages on the fields they name, nothing written when
// refused), optimistic concurrency, secrets kept from the browser, and authorisation on every
// route: a domain administrator of one domain can neither read nor change another.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import { hashPassword, verifyPassword } from "../../portal/passwords";
import { readRaw } from "../../portal/stack-config";
import { Client, PASSWORD, testPortal, TestPortal, USER, USER_PASSWORD } from "./support";

describe("portal API", function () {
  this.timeout(60_000);
  let portal: TestPortal;
  let operator: Client;
  let adminCom: Client;
  let adminOrg: Client;
  const config = () => fs.readFileSync(portal.configFile, "utf8");
  const mailbox = (address: string) => (readRaw(portal.configFile).users as Record<string, unknown>[]).find((u) => u.address === address)!;

  beforeEach(async () => {
    portal = await testPortal();
    [operator, adminCom, adminOrg] = await Promise.all(["olga", "adam", "oscar"].map((n) => portal.client(n)));
  });
  afterEach(async () => {
    await portal.runner.idle();
    await portal.app.close();
    fs.rmSync(portal.dir, { recursive: true, force: true });
  });

  it("answers 401 to every API route without a session, and serves the OpenAPI document", async () => {
    const routes: [string, string][] = [
      ["GET", "/api/session"], ["GET", "/api/domains"], ["GET", "/api/domains/staging.example.com"], ["POST", "/api/domains/staging.example.com/mailboxes"],
      ["PATCH", "/api/mailboxes/alice@staging.example.com"], ["DELETE", "/api/aliases/postmaster@staging.example.com"], ["GET", "/api/changes"],
      ["POST", "/api/applies"], ["GET", "/api/platform"], ["GET", "/api/audit"], ["GET", "/api/me"], ["PUT", "/api/me/password"], ["PUT", "/api/me/forwards"], ["GET", "/api/domains/staging.example.com/dkim"],
    ];
    for (const [method, url] of routes) {
      const res = await portal.app.inject({ method: method as "GET", url, payload: method === "GET" ? undefined : {} });
      assert.equal(res.statusCode, 401, `${method} ${url}`);
    }
    const doc = (await portal.app.inject({ method: "GET", url: "/api/openapi.json" })).json();
    assert.equal(doc.openapi, "3.1.0");
    for (const [, url] of routes) {
      const template = url.replace("staging.example.com/mailboxes", "{domain}/mailboxes").replace(/\/api\/domains\/[^/]+(\/dkim)?$/, "/api/domains/{domain}$1").replace(/mailboxes\/[^/]+$/, "mailboxes/{address}").replace(/aliases\/[^/]+$/, "{collection}/{address}");
      assert.ok(doc.paths[template], `${url} is described (${template})`);
    }
  });

  it("sets the security headers and a strict, HTTP-only session cookie", async () => {
    const res = await portal.app.inject({ method: "GET", url: "/" });
    assert.match(String(res.headers["content-security-policy"]), /default-src 'self'/);
    assert.match(String(res.headers["content-security-policy"]), /script-src 'self'(;|$)/);
    assert.equal(res.headers["x-frame-options"], "SAMEORIGIN");
    assert.equal(res.headers["x-content-type-options"], "nosniff");
    assert.ok(res.headers["strict-transport-security"]);
    const signIn = await portal.app.inject({ method: "POST", url: "/api/session", payload: { login: "olga", password: PASSWORD } });
    assert.match(String(signIn.headers["set-cookie"]), /portal-session=.*HttpOnly.*SameSite=Strict/i);
  });

  it("refuses a change without the session's CSRF token", async () => {
    const before = config();
    const res = await adminCom.request("POST", "/api/domains/staging.example.com/mailboxes", { address: "eve", password: "long enough pw" }, { csrf: false });
    assert.equal(res.status, 403);
    assert.equal(config(), before);
  });

  it("limits sign-in attempts per client and login", async () => {
    const limited = await testPortal({ signInLimit: 3 });
    try {
      const attempt = (password: string) => limited.app.inject({ method: "POST", url: "/api/session", payload: { login: "olga", password } });
      assert.deepEqual([(await attempt("wrong")).statusCode, (await attempt("wrong")).statusCode, (await attempt("wrong")).statusCode], [401, 401, 401]);
      assert.equal((await attempt(PASSWORD)).statusCode, 429);
      assert.equal((await limited.app.inject({ method: "POST", url: "/api/session", payload: { login: "adam", password: PASSWORD } })).statusCode, 200);
    } finally {
      await limited.app.close();
      fs.rmSync(limited.dir, { recursive: true, force: true });
    }
  });

  it("lets a domain administrator neither read nor change another domain, on any route", async () => {
    const before = config();
    const view = (await operator.request("GET", "/api/domains/staging.example.com")).json;
    const alice = view.mailboxes.find((m: { address: string }) => m.address === "alice@staging.example.com");
    const alias = view.aliases[0];
    const attempts: [string, string, unknown?][] = [
      ["GET", "/api/domains/staging.example.com"],
      ["GET", "/api/domains/staging.example.com/dns"],
      ["POST", "/api/domains/staging.example.com/mailboxes", { address: "mallory", password: "long enough pw" }],
      ["POST", "/api/domains/staging.example.com/aliases", { address: "x", to: "alice@staging.example.com" }],
      ["PATCH", "/api/mailboxes/alice@staging.example.com", { version: alice.version, password: "taken over!!" }],
      ["DELETE", `/api/mailboxes/alice@staging.example.com?version=${alice.version}`],
      ["PUT", `/api/aliases/${alias.address}`, { version: alias.version, to: "bob@staging.example.com" }],
      ["DELETE", `/api/aliases/${alias.address}?version=${alias.version}`],
      ["PUT", "/api/domains/staging.example.com/catch-all", { version: view.version, catchAll: "bob@staging.example.com" }],
      ["GET", "/api/domains/staging.example.com/dkim"],
      ["POST", "/api/domains/staging.example.com/dkim/rotate", { step: "publish", selector: "s2", version: (await adminCom.request("GET", "/api/domains/staging.example.com/dkim")).json.version }],
      ["GET", "/api/platform"],
      ["GET", "/api/audit"],
    ];
    for (const [method, url, body] of attempts) {
      const res = await adminOrg.request(method, url, body);
      assert.equal(res.status, 403, `${method} ${url}: ${JSON.stringify(res.json)}`);
    }
    assert.deepEqual((await adminOrg.request("GET", "/api/domains")).json, ["staging.example.org"]);
    assert.equal(config(), before);
    assert.ok(portal.audit.recent().some((e) => e.who === "oscar" && e.outcome === "denied"));
    // The same requests are the other domain's administrator's to make.
    assert.equal((await adminCom.request("GET", "/api/domains/staging.example.com")).status, 200);
    assert.equal((await adminCom.request("POST", "/api/domains/staging.example.com/mailboxes", { address: "mallory", password: "long enough pw" })).status, 201);
  });

  it("creates a mailbox with a hash the platform's Dovecot verifies, and never shows a hash", async () => {
    const res = await adminCom.request("POST", "/api/domains/staging.example.com/mailboxes", { address: "erin", password: "erin's new password", quota: "2G" });
    assert.equal(res.status, 201);
    assert.ok(!JSON.stringify(res.json).includes("BLF-CRYPT") && !JSON.stringify(res.json).includes("passwordHash"));
    const stored = (readRaw(portal.configFile).users as { address: string; passwordHash: string; quota?: string }[]).find((u) => u.address === "erin@staging.example.com")!;
    assert.equal(stored.quota, "2G");
    assert.match(stored.passwordHash, /^\{BLF-CRYPT\}\$2y\$10\$/);
    execFileSync("doveadm", ["pw", "-t", stored.passwordHash, "-p", "erin's new password"], { stdio: "pipe" });
    assert.throws(() => execFileSync("doveadm", ["pw", "-t", stored.passwordHash, "-p", "wrong"], { stdio: "pipe" }));
    const audit = portal.audit.recent()[0];
    assert.deepEqual([audit.who, audit.action, audit.object, audit.outcome], ["adam", "create mailbox", "erin@staging.example.com", "ok"]);
  });

  it("verifies hashes made by doveadm pw, as the platform stores them", async () => {
    const hash = execFileSync("doveadm", ["pw", "-s", "BLF-CRYPT", "-p", "from doveadm"], { encoding: "utf8" }).trim();
    assert.equal(await verifyPassword("from doveadm", hash), true);
    assert.equal(await verifyPassword("something else", hash), false);
    assert.equal(await verifyPassword("x", "{SSHA512}abc"), false);
    assert.notEqual(await hashPassword("same"), await hashPassword("same"));
  });

  it("refuses invalid input with the core's messages on the fields they name, and changes nothing", async () => {
    const before = config();
    const bad = await adminCom.request("POST", "/api/domains/staging.example.com/aliases", { address: "sales", to: "someone@partner.example" });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.json.errors, [{ field: "to", message: `mailplatform:aliases[1].to: "someone@partner.example" is outside the hosted domains; use mailplatform:forwards for outside addresses` }]);
    const badMailbox = await adminCom.request("POST", "/api/domains/staging.example.com/mailboxes", { address: "Bad Name", password: "long enough pw", quota: "lots" });
    assert.equal(badMailbox.status, 422);
    assert.deepEqual(badMailbox.json.errors.map((e: { field: string }) => e.field).sort(), ["address", "quota"]);
    assert.match(badMailbox.json.errors.find((e: { field: string }) => e.field === "quota").message, /^mailplatform:users\[\d+\]\.quota: "lots" is not a size/);
    const short = await adminCom.request("POST", "/api/domains/staging.example.com/mailboxes", { address: "frank", password: "short" });
    assert.deepEqual(short.json.errors, [{ field: "password", message: "password: must be at least 10 characters" }]);
    const loop = await adminCom.request("POST", "/api/domains/staging.example.com/lists", { address: "loop", members: "loop@staging.example.com" });
    assert.equal(loop.status, 422);
    assert.match(loop.json.errors[0].message, /forms a loop/);
    assert.equal(config(), before);
    assert.equal(portal.audit.recent().filter((e) => e.who === "adam" && e.outcome === "refused").length, 3);
  });

  it("gives the second of two editors of the same object a conflict, not a silent overwrite", async () => {
    const view = (await adminCom.request("GET", "/api/domains/staging.example.com")).json;
    const bob = view.mailboxes.find((m: { address: string }) => m.address === "bob@staging.example.com");
    const first = await adminCom.request("PATCH", `/api/mailboxes/bob@staging.example.com`, { version: bob.version, quota: "3G" });
    assert.equal(first.status, 200);
    const afterFirst = config();
    const second = await operator.request("PATCH", `/api/mailboxes/bob@staging.example.com`, { version: bob.version, quota: "5G" });
    assert.equal(second.status, 409);
    assert.match(second.json.error, /changed by someone else/);
    assert.equal(config(), afterFirst);
    const stale = await operator.request("DELETE", `/api/mailboxes/bob@staging.example.com?version=${bob.version}`);
    assert.equal(stale.status, 409);
    assert.equal((await adminCom.request("POST", "/api/domains/staging.example.com/mailboxes", { address: "bob", password: "long enough pw" })).status, 409);
  });

  it("disables a mailbox (the config says so, the core renders it) and the user can no longer sign in", async () => {
    const user = await portal.client(USER, USER_PASSWORD);
    assert.equal((await user.request("GET", "/api/me")).status, 200);
    const dora = (await adminCom.request("GET", "/api/domains/staging.example.com")).json.mailboxes.find((m: { address: string }) => m.address === USER);
    assert.equal((await adminCom.request("PATCH", `/api/mailboxes/${USER}`, { version: dora.version, state: "disabled" })).status, 200);
    assert.equal(portal.target.spec(readRaw(portal.configFile)).users.find((u) => u.address === USER)?.disabled, true);
    await assert.rejects(portal.client(USER, USER_PASSWORD), /401/);
  });

  it("lets a mail user change only their own password, applied at once", async () => {
    const user = await portal.client(USER, USER_PASSWORD);
    for (const [method, url] of [["GET", "/api/domains"], ["GET", "/api/domains/staging.example.com"], ["GET", "/api/changes"], ["GET", "/api/platform"]]) {
      assert.equal((await user.request(method, url)).status, 403, url);
    }
    const alice = (await operator.request("GET", "/api/domains/staging.example.com")).json.mailboxes[0];
    assert.equal((await user.request("PATCH", `/api/mailboxes/${alice.address}`, { version: alice.version, password: "taken over!!" })).status, 403);
    const wrong = await user.request("PUT", "/api/me/password", { current: "not it at all", password: "a brand new password" });
    assert.deepEqual(wrong.json.errors, [{ field: "current", message: "current: is not your current password" }]);
    await portal.target.apply(readRaw(portal.configFile), () => undefined); // the hosts run the config before the change
    const changed = await user.request("PUT", "/api/me/password", { current: USER_PASSWORD, password: "a brand new password" });
    assert.equal(changed.status, 202);
    // Previewed on the server, not shown as files to the user: the hosts it updates.
    assert.ok(changed.json.hosts.some((h: string) => h.startsWith("maildrop-")), JSON.stringify(changed.json));
    await portal.runner.idle();
    // The apply carries its change set, like a staff member's, and the audit log says what it pushed.
    const [applied] = portal.runner.recent();
    const maildrop = applied.changes!.hosts.find((h) => h.role === "maildrop")!;
    assert.deepEqual(maildrop.files, [{ path: "/etc/dovecot/users", change: "changed" }]);
    const started = portal.audit.recent().find((e) => e.who === USER && e.action === "apply" && e.outcome === "started")!;
    assert.match(String(started.detail), new RegExp(`^${applied.id}: .*${maildrop.host}: \\d+ file\\(s\\)`));
    await assert.rejects(portal.client(USER, USER_PASSWORD), /401/);
    await portal.client(USER, "a brand new password");
    // The password change reached the hosts: nothing left to apply.
    assert.deepEqual((await operator.request("GET", "/api/changes")).json.hosts, []);
    assert.deepEqual(portal.runner.recent().map((a) => [a.who, a.outcome]), [[USER, "ok"]]);
  });

  it("lets a mail user set their own mailbox's forwards and keep-copy, through the core's validation, applied at once; and no one else's", async () => {
    const user = await portal.client(USER, USER_PASSWORD);
    const me = (await user.request("GET", "/api/me")).json;
    assert.deepEqual([me.address, me.forwardTo, me.keepCopy], [USER, [], true]);
    const hashBefore = mailbox(USER).passwordHash;

    // The core's refusals, on the fields they name; nothing written.
    const before = config();
    const refused = await user.request("PUT", "/api/me/forwards", { version: me.version, forwardTo: `${USER}, nobody@staging.example.com`, keepCopy: "no" });
    assert.equal(refused.status, 422);
    assert.deepEqual(refused.json.errors.map((e: { field: string }) => e.field).sort(), ["forwardTo", "forwardTo", "keepCopy"]);
    assert.ok(refused.json.errors.some((e: { message: string }) => /users\[\d+\]\.forwardTo\[0\]: "dora@staging.example.com" is the mailbox itself/.test(e.message)));
    assert.equal(config(), before);

    const set = await user.request("PUT", "/api/me/forwards", { version: me.version, forwardTo: "dora@partner.example, alice@staging.example.com", keepCopy: false });
    assert.equal(set.status, 202);
    await portal.runner.idle();
    assert.deepEqual(portal.target.spec(readRaw(portal.configFile)).users.find((u) => u.address === USER)?.forward, { to: ["dora@partner.example", "alice@staging.example.com"], keepCopy: false });
    assert.equal(mailbox(USER).passwordHash, hashBefore);
    assert.deepEqual(portal.runner.recent().map((a) => [a.who, a.outcome]), [[USER, "ok"]]);
    assert.deepEqual((await operator.request("GET", "/api/changes")).json.hosts, []);
    // Made on the old version: a conflict, not an overwrite.
    assert.equal((await user.request("PUT", "/api/me/forwards", { version: me.version, forwardTo: "" })).status, 409);

    // Another mailbox's forwards: only staff routes name one, and they refuse a mail user.
    const alice = (await operator.request("GET", "/api/domains/staging.example.com")).json.mailboxes[0];
    const untouched = config();
    assert.equal((await user.request("PATCH", `/api/mailboxes/${alice.address}`, { version: alice.version, forwardTo: "dora@partner.example" })).status, 403);
    assert.equal(config(), untouched);
  });

  it("lets domain administrators set the forwards of their own domain's mailboxes only, keeping the rest of the mailbox", async () => {
    const dora = () => (adminCom.request("GET", "/api/domains/staging.example.com")).then((r) => r.json.mailboxes.find((m: { address: string }) => m.address === USER));
    const first = await dora();
    assert.equal((await adminOrg.request("PATCH", `/api/mailboxes/${USER}`, { version: first.version, forwardTo: "x@partner.example" })).status, 403);
    const quota = await adminCom.request("PATCH", `/api/mailboxes/${USER}`, { version: first.version, quota: "1G" });
    const set = await adminCom.request("PATCH", `/api/mailboxes/${USER}`, { version: (await dora()).version, forwardTo: ["dora@partner.example"], keepCopy: true });
    assert.deepEqual([quota.status, set.status], [200, 200]);
    const shown = await dora();
    assert.deepEqual([shown.forwardTo, shown.keepCopy, shown.quota], [["dora@partner.example"], true, "1G"]);
    // keepCopy true is the default: the config says only what differs.
    assert.deepEqual(Object.keys(mailbox(USER)).sort(), ["address", "forwardTo", "passwordHash", "quota"]);
    const user = await portal.client(USER, USER_PASSWORD);
    assert.deepEqual((await user.request("GET", "/api/me")).json.forwardTo, ["dora@partner.example"]);
    // Cleared: the mailbox keeps its mail again, and forwardTo and keepCopy leave the config.
    await adminCom.request("PATCH", `/api/mailboxes/${USER}`, { version: shown.version, keepCopy: false });
    assert.equal((await adminCom.request("PATCH", `/api/mailboxes/${USER}`, { version: (await dora()).version, forwardTo: "" })).status, 200);
    assert.deepEqual(Object.keys(mailbox(USER)).sort(), ["address", "passwordHash", "quota"]);
    assert.equal(portal.target.spec(readRaw(portal.configFile)).users.find((u) => u.address === USER)?.forward, undefined);
    // Staff preview and apply it like any change.
    assert.ok((await adminCom.request("GET", "/api/changes")).json.hosts.some((h: { role: string }) => h.role === "smtp-in"));
  });

  it("previews a change set and applies it, streaming progress per host; the audit log says who did what", async () => {
    await adminCom.request("POST", "/api/domains/staging.example.com/mailboxes", { address: "gina", password: "long enough pw" });
    const preview = (await adminCom.request("GET", "/api/changes")).json;
    assert.ok(preview.hosts.length > 0);
    const started = await adminCom.request("POST", "/api/applies", { configVersion: preview.configVersion });
    assert.equal(started.status, 202);
    await portal.runner.idle();
    const events = await adminCom.request("GET", `/api/applies/${started.json.id}/events`);
    const data = String(events.json).split("\n\n").filter(Boolean).map((l) => JSON.parse(l.replace(/^data: /, "")));
    assert.deepEqual(data.filter((e) => e.state === "applied").map((e) => e.host), preview.hosts.map((h: { host: string }) => h.host));
    assert.equal(data[data.length - 1].done.outcome, "ok");
    assert.deepEqual((await adminCom.request("GET", "/api/changes")).json.hosts, []);
    const platform = (await operator.request("GET", "/api/platform")).json;
    assert.equal(platform.applies[0].who, "adam");
    // The apply keeps the change set that was previewed, as a user's own change's apply does.
    assert.deepEqual(platform.applies[0].changes, { hosts: preview.hosts, resources: preview.resources, dns: preview.dns });
    // Before any apply from here, the DNS records are those the platform's resolver does not show (the fake one: none);
    // after it, those that change against the applied config: none.
    assert.deepEqual(preview.dns.length, portal.target.dnsRecords(readRaw(portal.configFile)).length);
    assert.deepEqual((await adminCom.request("GET", "/api/changes")).json.dns, []);
    const actions = portal.audit.recent().map((e) => `${e.who} ${e.action} ${e.outcome}`);
    assert.ok(actions.includes("adam apply started") && actions.includes("adam apply ok") && actions.includes("adam create mailbox ok"));
  });

  it("shows a domain's DNS records and whether the resolver's answers match", async () => {
    const records = (await adminCom.request("GET", "/api/domains/staging.example.com/dns")).json as { name: string; type: string; value: string; matches: boolean }[];
    const mx = records.find((r) => r.type === "MX" && r.name === "staging.example.com")!;
    assert.ok(mx && !mx.matches);
    portal.target.published.set(`${mx.name} MX`, [mx.value.toUpperCase()]);
    const again = (await adminCom.request("GET", "/api/domains/staging.example.com/dns")).json as typeof records;
    assert.equal(again.find((r) => r.type === "MX" && r.value === mx.value)!.matches, true);
    assert.ok(records.every((r) => r.name.endsWith("staging.example.com")));
  });

  it("lets a domain administrator rotate their domain's DKIM keys: published, activated only once DNS shows it, the old one retired; other domains keep theirs", async () => {
    const url = "/api/domains/staging.example.com/dkim";
    const applyAll = async () => {
      const { configVersion } = (await operator.request("GET", "/api/changes")).json;
      assert.equal((await operator.request("POST", "/api/applies", { configVersion })).status, 202);
      await portal.runner.idle();
    };
    await applyAll();
    const org = (await adminOrg.request("GET", "/api/domains/staging.example.org/dkim")).json;
    const dkim = (await adminCom.request("GET", url)).json;
    assert.deepEqual([dkim.selectors, dkim.own], [[{ name: "s1", state: "active" }], false]);
    const bad = await adminCom.request("POST", `${url}/rotate`, { step: "publish", selector: "S 2", version: dkim.version });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.json.errors.map((e: { field: string }) => e.field), ["name"]);
    const published = await adminCom.request("POST", `${url}/rotate`, { step: "publish", selector: "s2", version: dkim.version });
    assert.deepEqual([published.json.selectors, published.json.own], [[{ name: "s1", state: "active" }, { name: "s2", state: "published" }], true]);
    // The keys of the new selector are the domain's alone; the platform's list and the other domain stay.
    const raw = readRaw(portal.configFile);
    assert.deepEqual(raw.domains, [{ name: "staging.example.com", dkim: { selectors: published.json.selectors } }, { name: "staging.example.org", catchAll: "alice@staging.example.com" }]);
    assert.equal(raw.dkim, undefined);
    const records = portal.target.dnsRecords(raw).filter((r) => r.name.includes("._domainkey."));
    assert.deepEqual(records.map((r) => r.name).sort(), ["s1-ed25519._domainkey.staging.example.com", "s1-ed25519._domainkey.staging.example.org", "s1-rsa._domainkey.staging.example.com", "s1-rsa._domainkey.staging.example.org", "s2-ed25519._domainkey.staging.example.com", "s2-rsa._domainkey.staging.example.com"]);
    assert.deepEqual((await adminOrg.request("GET", "/api/domains/staging.example.org/dkim")).json, org);
    // The preview's DNS part: the new selector's two records, against the config applied last.
    const added = (await adminCom.request("GET", "/api/changes")).json;
    assert.deepEqual(added.dns.map((r: { change: string; name: string }) => `${r.change} ${r.name}`), ["added s2-rsa._domainkey.staging.example.com", "added s2-ed25519._domainkey.staging.example.com"]);
    assert.deepEqual(added.hosts, []);
    await applyAll();

    const early = await adminCom.request("POST", `${url}/rotate`, { step: "activate", selector: "s2", version: published.json.version });
    assert.equal(early.status, 409);
    assert.match(early.json.error, /DNS does not show selector s2 of staging.example.com yet \(s2-rsa._domainkey.staging.example.com, s2-ed25519/);
    // Another domain's administrator can neither rotate nor activate here, DNS or not.
    for (const r of records.filter((x) => x.name.startsWith("s2-"))) portal.target.published.set(`${r.name} TXT`, [r.value]);
    assert.equal((await adminOrg.request("POST", `${url}/rotate`, { step: "activate", selector: "s2", version: published.json.version })).status, 403);
    const active = await adminCom.request("POST", `${url}/rotate`, { step: "activate", selector: "s2", version: published.json.version });
    assert.deepEqual(active.json.selectors, [{ name: "s1", state: "published" }, { name: "s2", state: "active" }]);
    const stale = await adminCom.request("POST", `${url}/rotate`, { step: "retire", selector: "s1", version: published.json.version });
    assert.equal(stale.status, 409);
    const retired = await adminCom.request("POST", `${url}/rotate`, { step: "retire", selector: "s1", version: active.json.version });
    assert.deepEqual(retired.json.selectors, [{ name: "s2", state: "active" }]);
    assert.deepEqual((await adminCom.request("GET", "/api/changes")).json.dns.map((r: { change: string; name: string }) => `${r.change} ${r.name}`), ["removed s1-rsa._domainkey.staging.example.com", "removed s1-ed25519._domainkey.staging.example.com"]);
    const last = await adminCom.request("POST", `${url}/rotate`, { step: "retire", selector: "s2", version: retired.json.version });
    assert.equal(last.status, 422);
    assert.match(last.json.errors[0].message, /^mailplatform:domains\[0\]\.dkim\.selectors: has no active selector/);
    // The signer follows: only s2 signs for staging.example.com, s1 still for staging.example.org.
    const { hosts } = await portal.target.preview(readRaw(portal.configFile));
    const smtpOut = hosts.find((h) => h.role === "smtp-out")!;
    assert.ok(smtpOut.files.some((f) => f.path === "/etc/opendkim/keys/staging.example.com/s2-rsa.pem" && f.change === "added"), JSON.stringify(smtpOut.files));
    assert.ok(smtpOut.files.some((f) => f.path === "/etc/opendkim/keys/staging.example.com/s1-rsa.pem" && f.change === "removed"));
    assert.ok(!smtpOut.files.some((f) => f.path.includes("staging.example.org")));
    const actions = portal.audit.recent().map((e) => [e.who, e.action, e.object ?? "-", e.outcome].join(" | "));
    assert.ok(actions.includes("adam | dkim activate | s2 of staging.example.com | ok"), actions.join("\n"));
    assert.ok(actions.includes("oscar | POST /api/domains/staging.example.com/dkim/rotate | - | denied"), actions.join("\n"));
  });
});
