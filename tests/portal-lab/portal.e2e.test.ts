// The portal end to end, against the real lab, in Debian's Chromium (playwright-core): a domain
// administrator creates a mailbox, previews and applies it to the lab; the new user signs in over
// IMAPS through a frontend and receives a message sent from the internet host; invalid input shows
// the validator's message and changes nothing; the user changes their password in the portal and
// only the new one works over IMAP; then, in the same browser, Roundcube through a frontend: read
// the message, reply, and the reply reaches external-mx with a valid DKIM signature.
// The portal and the browser run in the internet host's network namespace (the browser from the
// office address, which may reach the webmail). Screenshots: test-artifacts/portal/.
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { chromium, Browser, Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_FLAGS, homeTrusting } from "../support/chromium";
import { PORTS } from "../../components/core/src/ports";
import { hashPassword } from "../../portal/passwords";
import { client, deliverInbound, externalMessages, header, headers, Lab, OUTSIDE_SENDER, setupLab, subject, waitFor } from "../lab/harness";
import type { ImapResult, VerifyResult } from "../lab/clients/mail-client";
import { inNetns } from "../../lab";

const REPO = path.resolve(__dirname, "../..");
const ARTIFACTS = path.join(REPO, "test-artifacts", "portal");
const PORT = 8443;
const ADMIN = { name: "e2e-admin", password: "portal e2e admin password" };
/** A name the portal's certificate does not carry, served by the portal all the same. */
const UNCERTIFIED = "not-the-portal.example";

describe("portal end to end on the lab, in Chromium", function () {
  this.timeout(900_000);
  let lab: Lab;
  let dir: string;
  let home: string;
  let portal: ChildProcess;
  let browser: Browser;
  let page: Page;
  let frontend: string;
  const local = `portal${Date.now().toString(36)}`;
  let address: string;
  let password = "first mailbox password";
  const newPassword = "second mailbox password";
  const s = subject("portal");
  /** The DKIM selector the domain administrator rotates to. */
  const selector = `e2e${Date.now().toString(36)}`;

  const shot = async (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  const login = (user: string, pass: string): ImapResult => client<ImapResult>("internet", {
    action: "imap", host: frontend, port: PORTS.imaps, from: lab.stranger, servername: lab.names.imap, ca: lab.inventory.caCertificate, tls: "implicit", user, pass,
    ops: [{ op: "find", mailbox: "INBOX", subject: s, timeoutMs: 30_000 }],
  });

  before(async () => {
    lab = await setupLab();
    address = `${local}@${lab.spec.domains[0].name}`;
    frontend = lab.inventory.endpoints.imap[0];
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "portal-e2e-"));
    fs.copyFileSync(path.join(REPO, `Pulumi.${lab.inventory.stack}.yaml`), path.join(dir, `Pulumi.${lab.inventory.stack}.yaml`));
    const state = path.join(dir, "state");
    fs.mkdirSync(state);
    fs.writeFileSync(path.join(state, "accounts.json"), JSON.stringify([{ name: ADMIN.name, role: "domain-admin", domains: [lab.spec.domains[0].name], passwordHash: await hashPassword(ADMIN.password) }]), { mode: 0o600 });

    const internet = lab.inventory.hosts.find((h) => h.role === "internet")!;
    // The browser's connections to the frontend leave from the office address (the webmail's allowed network).
    const route = inNetns("internet", ["ip", "-o", "route", "get", frontend]).stdout;
    const dev = /dev (\S+)/.exec(route)![1];
    inNetns("internet", ["ip", "route", "replace", `${frontend}/32`, "dev", dev, "src", lab.office]);

    portal = spawn("nsenter", [`--net=/run/netns/${internet.netns}`, process.execPath, "--require", require.resolve("tsx/cjs"), path.join(REPO, "portal/cli.ts")], {
      env: { ...process.env, PORTAL_PROJECT_DIR: dir, PORTAL_STATE: state, PORTAL_STACK: lab.inventory.stack, PORTAL_PORT: String(PORT) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    portal.stdout!.on("data", (d) => (out += d));
    portal.stderr!.on("data", (d) => (out += d));
    await waitFor(() => (out.includes("portal: https://") ? true : undefined), 60_000);
    assert.ok(out.includes("portal: https://"), `the portal did not start: ${out}`);

    const wrapper = path.join(dir, "chromium-in-lab");
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec nsenter --net=/run/netns/${internet.netns} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
    browser = await chromium.launch({
      executablePath: wrapper,
      args: [...CHROMIUM_FLAGS,
        `--host-resolver-rules=MAP ${lab.names.webmail} ${frontend}, MAP portal.${lab.spec.platformDomain} 127.0.0.1, MAP ${UNCERTIFIED} 127.0.0.1`],
      // The lab's CA signed the portal's and the webmail's certificates: the browser trusts that CA, as a user would, and checks every certificate.
      env: { ...process.env, HOME: (home = homeTrusting(lab.inventory.caCertificate)) },
    });
    page = await (await browser.newContext({ viewport: { width: 1200, height: 900 } })).newPage();
  });

  after(async () => {
    await browser?.close();
    if (portal?.pid) process.kill(portal.pid, "SIGTERM");
    if (frontend) inNetns("internet", ["ip", "route", "del", `${frontend}/32`]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it("the browser checks the certificates: a name the portal's certificate lacks is refused", async () => {
    // In a page of its own: Chromium's error page would still be loading in the flows' page.
    const probe = await page.context().newPage();
    await assert.rejects(probe.goto(`https://${UNCERTIFIED}:${PORT}/`), /ERR_CERT_COMMON_NAME_INVALID/);
    await probe.close();
  });

  it("a domain administrator signs in, is refused invalid input with the validator's message, creates a mailbox, previews and applies it", async () => {
    const configFile = path.join(dir, `Pulumi.${lab.inventory.stack}.yaml`);
    await page.goto(`https://portal.${lab.spec.platformDomain}:${PORT}/`);
    await page.fill("#signin-form [name=login]", ADMIN.name);
    await page.fill("#signin-form [name=password]", ADMIN.password);
    await shot("01-sign-in");
    await page.click("#signin-form button");
    await page.waitForSelector("#mailboxes tbody tr");

    const before = fs.readFileSync(configFile, "utf8");
    await page.selectOption("#route-form [name=kind]", "aliases");
    await page.fill("#route-form [name=address]", "sales");
    await page.fill("#route-form [name=to]", "someone@partner.example");
    await page.click("#route-form button");
    const message = page.locator('#route-form .error[data-for="to"]');
    await message.waitFor();
    assert.match(await message.innerText(), /mailplatform:aliases\[\d+\]\.to: "someone@partner.example" is outside the hosted domains/);
    await shot("02-invalid-input");
    assert.equal(fs.readFileSync(configFile, "utf8"), before);

    await page.fill("#mailbox-form [name=address]", local);
    await page.fill("#mailbox-form [name=password]", password);
    await page.click("#mailbox-form button");
    await page.waitForSelector(`#mailboxes td:text-is("${address}")`);
    await shot("03-domain");

    await page.click("#preview");
    await page.waitForSelector(".host-change");
    const changes = await page.locator("#changeset").innerText();
    assert.match(changes, /maildrop-\w+ \(maildrop\): reloads dovecot \(reload\)/);
    assert.match(changes, /changed: \/etc\/dovecot\/users/);
    await shot("04-preview");
    await page.click("#apply");
    await page.waitForSelector("#apply-result.state-ok, #apply-result.state-failed", { timeout: 600_000 });
    await shot("05-applied");
    assert.match(await page.locator("#apply-result").innerText(), /Apply ok/);
    assert.ok((await page.locator("#progress .state-applied").count()) >= 2);
  });

  it("the new user signs in over IMAPS through a frontend and receives a message from the internet host", async () => {
    const sent = deliverInbound(lab, { to: [address], subject: s });
    assert.ok(sent.ok, `inbound refused: ${sent.code} ${sent.response ?? sent.error}`);
    const r = login(address, password);
    assert.ok(r.ok, `IMAP as ${address}: ${r.stage}: ${r.error}`);
    const find = r.results[0];
    assert.ok(find.op === "find" && find.found.length === 1, JSON.stringify(find));
  });

  it("the user changes their password in the portal; only the new one works over IMAP afterwards", async () => {
    await page.click("#signout");
    await page.fill("#signin-form [name=login]", address);
    await page.fill("#signin-form [name=password]", password);
    await page.click("#signin-form button");
    await page.waitForSelector("#password-form", { state: "visible" });
    await page.fill("#password-form [name=current]", password);
    await page.fill("#password-form [name=password]", newPassword);
    await page.click("#password-form button");
    await page.waitForSelector("#password-form .ok:not(:empty)");
    await shot("06-user-password");
    const works = await waitFor(() => (login(address, newPassword).ok ? true : undefined), 300_000, 2_000);
    assert.ok(works, "the new password never worked over IMAP");
    assert.equal(login(address, password).ok, false, "the old password still works");
    password = newPassword;
  });

  it("the domain administrator rotates the domain's DKIM keys: a new selector published, activated once the platform's resolver shows it, the old one retired", async () => {
    const selectors = () => page.locator("#selectors").innerText();
    const step = async (name: "publish" | "activate" | "retire", selector: string) => {
      await page.selectOption("#dkim-form [name=step]", name);
      await page.fill("#dkim-form [name=selector]", selector);
      await page.click("#dkim-form button");
      // Done when the list shows the step, or refused with a message.
      const item = page.locator("#selectors li", { hasText: name === "retire" ? `${selector}: ` : `${selector}: ${name === "publish" ? "published" : "active"}` });
      const refusal = page.locator('#dkim-form .error[data-for=""]:not(:empty)');
      const settled = (p: Promise<void>) => p.then(() => true, () => false); // the other one times out unheeded
      await Promise.race([settled(item.waitFor({ state: name === "retire" ? "detached" : "visible" })), settled(refusal.waitFor())]);
      return (await refusal.count()) > 0 ? refusal.innerText() : "";
    };
    const apply = async () => {
      await page.reload();
      await page.waitForSelector("#mailboxes tbody tr");
      await page.click("#preview");
      await page.waitForSelector(".host-change, .dns-change");
      const changes = await page.locator("#changeset").innerText();
      await page.click("#apply");
      await page.waitForSelector("#apply-result.state-ok, #apply-result.state-failed", { timeout: 600_000 });
      assert.match(await page.locator("#apply-result").innerText(), /Apply ok/);
      return changes;
    };
    await page.click("#signout");
    await page.fill("#signin-form [name=login]", ADMIN.name);
    await page.fill("#signin-form [name=password]", ADMIN.password);
    await page.click("#signin-form button");
    await page.waitForSelector("#mailboxes tbody tr");
    const old = lab.spec.domains[0].dkimSelectors.find((x) => x.state === "active")!.name;
    const domain = lab.spec.domains[0].name;
    assert.equal(await step("publish", selector), "");
    // Published only: in DNS, not yet in the signer's tables.
    const published = await apply();
    assert.match(published, new RegExp(`added: ${selector}-rsa._domainkey.${domain} TXT`));
    assert.doesNotMatch(published, /smtp-out/);
    // The platform's resolver may need a moment after the DNS host changed: activation waits for it.
    let refusal = await step("activate", selector);
    for (const deadline = Date.now() + 120_000; refusal !== "" && Date.now() < deadline; refusal = await step("activate", selector)) {
      assert.match(refusal, new RegExp(`DNS does not show selector ${selector}`));
      await new Promise((r) => setTimeout(r, 3_000));
    }
    assert.equal(refusal, "", "never activated");
    assert.match(await selectors(), new RegExp(`${old}: published[\\s\\S]*${selector}: active`));
    assert.match(await apply(), new RegExp(`added: /etc/opendkim/keys/${domain}/${selector}-rsa.pem`));
    assert.equal(await step("retire", old), "");
    await shot("09-dkim-rotated");
    assert.match(await apply(), new RegExp(`removed: ${old}-rsa._domainkey.${domain} TXT`));
  });

  it("in the same browser, Roundcube through a frontend: read the message, reply; the reply reaches external-mx DKIM-signed", async () => {
    await page.goto(`https://${lab.names.webmail}/`);
    await page.fill("#rcmloginuser", address);
    await page.fill("#rcmloginpwd", password);
    await page.click("#rcmloginsubmit");
    const row = page.locator("#messagelist tr", { hasText: s });
    await row.waitFor({ timeout: 60_000 });
    await row.dblclick();
    await page.waitForSelector("#messagebody, #messagecontframe", { timeout: 60_000 });
    await shot("07-webmail-message");
    // Elastic's toolbar: "Reply" is a.reply, "Reply all" a.reply.all; hidden twins exist for small screens.
    await page.locator("a.reply:not(.all):visible").first().click();
    const body = page.locator("#composebody");
    await body.waitFor({ timeout: 60_000 });
    await body.press("Control+Home");
    await body.type("Thanks, this reply comes from Roundcube in the portal's end-to-end test.\n");
    await shot("08-webmail-reply");
    await page.locator("button.send:visible, a.send:visible").first().click();
    const got = await waitFor(() => externalMessages(lab, `Re: ${s}`)[0], 120_000, 1_000);
    assert.ok(got, "external-mx never received the reply");
    assert.equal((header(got.raw, "To") ?? "").includes(OUTSIDE_SENDER), true);
    const received = headers(got.raw, "Received")[0];
    const [, helo, , ip] = /^from (\S+) \((\S+) \[([0-9.]+)\]\)/.exec(received)!;
    const verdict = client<VerifyResult>("external-mx", {
      action: "verify", message: got.raw, ip, helo, sender: (header(got.raw, "Return-Path") ?? "").replace(/[<>]/g, ""), mta: "mx.partner.example", dns: lab.inventory.endpoints.dns,
    });
    const domain = address.split("@")[1];
    // Both keys of the selector the portal rotated to, and only those, sign.
    const passed = verdict.dkim.filter((d) => d.result === "pass" && d.domain === domain).map((d) => d.selector).sort();
    assert.deepEqual(passed, [`${selector}-ed25519`, `${selector}-rsa`], `DKIM signatures of ${domain}: ${JSON.stringify(verdict.dkim)}`);
  });
});
