// Dovecot on smtp-out (SASL only) and on the maildrop: rendered content derived from the spec, the
// real checkers through provision.sh check (doveconf, sievec) and doveadm pw, and rendered maildrops
// running for real (provision.sh apply in sandboxes): LMTP delivery, Sieve, IMAPS, ManageSieve,
// quota, PROXY protocol, spam learning, and dsync replication between the pair. smtp-out's SASL
// runs in the MTA tests' running smtp-out.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Fragment, HostFile, RenderContext } from "../../components/core/src/files";
import { INTERNAL, PORTS, PROXIED } from "../../components/core/src/ports";
import { renderHost } from "../../components/core/src/render";
import { dovecotMaildrop, REPLICATION_SYNC_TIMEOUT_SECONDS } from "../../components/core/src/roles/maildrop/dovecot";
import { dovecotAuth, SASL_USERS } from "../../components/core/src/roles/smtp-out/dovecot-auth";
import { LMTP_SOCKET, SASL_AUTH_SOCKET } from "../../components/core/src/shared/spool-sockets";
import { PlatformSecrets } from "../../components/core/src/secrets";
import { machinePasswordHash } from "../../components/core/src/shared/passwords";
import { DIRECTORY_CA, TLS_CA } from "../../components/core/src/shared/tls";
import { PlatformSpec } from "../../components/core/src/spec/types";
import { Host, hostsOf } from "../../components/core/src/topology";
import { check, startHosts, together } from "../support/provision";
import { Sandbox } from "../support/sandbox";
import { passwordOf, renderStack, STACKS, withKnownPasswords } from "../support/stacks";

const CLIENT = path.join(__dirname, "dovecot-client.py");
const CONF = "/etc/dovecot/dovecot.conf";

const fileOf = (frag: Fragment, p: string): HostFile => {
  const f = frag.files?.find((x) => x.path === p);
  assert.ok(f, `no ${p} rendered`);
  return f;
};
const worldReadable = (f: HostFile) => (parseInt(f.mode, 8) & 0o004) !== 0;
const directive = (conf: string, key: string) => new RegExp(`^\\s*${key} = (.*)$`, "m").exec(conf)?.[1];

interface Stack {
  spec: PlatformSpec;
  secrets: PlatformSecrets;
  ctx(host: Host): RenderContext;
}
function stack(name: string, edit: (s: PlatformSpec) => PlatformSpec = (s) => s): Stack {
  const spec = edit(renderStack(name).spec);
  const { secrets } = renderStack(name);
  return { spec, secrets, ctx: (host) => ({ spec, host, secrets }) };
}
const hostBundle = (s: Stack, h: Host) => renderHost(s.spec, h, s.secrets);

/** A shell loop that waits for a path to exist (a daemon's socket). */
const waitFor = (p: string) => `for _ in $(seq 100); do [ -e ${p} ] && break; sleep 0.1; done; [ -e ${p} ]`;
function which(cmd: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

describe("dovecot", function () {
  this.timeout(300_000);
  let prod: Stack;
  let staging: Stack;
  before(() => {
    prod = stack("prod");
    staging = stack("staging");
  });

  describe("machine password hashes", () => {
    it("are deterministic, salted per user, and verified by doveadm pw", function () {
      const a = machinePasswordHash("bastion", "correct horse");
      assert.equal(machinePasswordHash("bastion", "correct horse"), a);
      assert.notEqual(machinePasswordHash("monitoring", "correct horse"), a);
      assert.match(a, /^\{SSHA512\}/);
      if (!which("doveadm")) this.skip();
      execFileSync("doveadm", ["pw", "-t", a, "-p", "correct horse"], { stdio: "pipe" });
      assert.throws(() => execFileSync("doveadm", ["pw", "-t", a, "-p", "wrong"], { stdio: "pipe" }));
    });
  });

  describe("smtp-out (SASL auth only)", () => {
    it("lists every mailbox user with its hash and every relay client, and no shared webmail user", () => {
      const [host] = hostsOf(prod.spec, "smtp-out");
      const frag = dovecotAuth(prod.ctx(host));
      const users = fileOf(frag, SASL_USERS);
      const lines = users.content.trim().split("\n");
      for (const u of prod.spec.users) assert.ok(lines.includes(`${u.address}:${u.passwordHash}::::::`), u.address);
      for (const name of prod.spec.relayClients.map((c) => c.name)) {
        const line = lines.find((l) => l.startsWith(`${name}:`));
        assert.ok(line, name);
        assert.equal(line.split(":")[1], machinePasswordHash(name, prod.secrets.relayPasswords[name]));
      }
      assert.equal(lines.length, prod.spec.users.length + prod.spec.relayClients.length);
      assert.ok(!lines.some((l) => l.startsWith("roundcube:")));
      assert.deepEqual([users.secret, users.owner, users.group, users.mode], [true, "root", "dovecot", "0640"]);
    });

    it("serves only Postfix's auth socket", () => {
      const conf = fileOf(dovecotAuth(prod.ctx(hostsOf(prod.spec, "smtp-out")[0])), CONF).content;
      assert.equal(directive(conf, "protocols"), "none");
      assert.match(conf, new RegExp(`unix_listener ${SASL_AUTH_SOCKET.path} \\{\\s*mode = 0660\\s*user = postfix\\s*group = postfix`));
    });

    it("refuses a missing relay password instead of rendering a user nobody can use", () => {
      const ctx = prod.ctx(hostsOf(prod.spec, "smtp-out")[0]);
      const relayPasswords = { ...prod.secrets.relayPasswords };
      delete relayPasswords.bastion;
      assert.throws(() => dovecotAuth({ ...ctx, secrets: { ...ctx.secrets, relayPasswords } }), /bastion/);
    });
  });

  describe("maildrop", () => {
    const maildrop = (s: Stack, i = 0) => dovecotMaildrop(s.ctx(hostsOf(s.spec, "maildrop")[i]));

    it("has every user in the passwd-file with its hash and its own quota, the default in the plugin", () => {
      for (const s of [prod, staging]) {
        const frag = maildrop(s);
        const lines = fileOf(frag, "/etc/dovecot/users").content.trim().split("\n");
        assert.equal(lines.length, s.spec.users.length);
        for (const u of s.spec.users) {
          const extra = u.quotaBytes === undefined ? "" : `userdb_quota_rule=*:storage=${u.quotaBytes}B`;
          assert.ok(lines.includes(`${u.address}:${u.passwordHash}::::::${extra}`), u.address);
        }
        assert.equal(directive(fileOf(frag, CONF).content, "quota_rule"), `*:storage=${s.spec.defaultQuotaBytes}B`);
      }
    });

    it("refuses every login of a disabled user (nologin), on the maildrop and on smtp-out's SASL, and still has the mailbox", () => {
      const [first, ...rest] = staging.spec.users;
      const spec: PlatformSpec = { ...staging.spec, users: [{ ...first, disabled: true }, ...rest] };
      const linesOf = (frag: Fragment, p: string) => fileOf(frag, p).content.trim().split("\n");
      const ctx = (role: "maildrop" | "smtp-out") => ({ ...staging.ctx(hostsOf(spec, role)[0]), spec });
      const entry = (lines: string[], user: string) => lines.find((l) => l.startsWith(`${user}:`))?.split(":").slice(7).join(":").split(" ");
      const mailbox = linesOf(dovecotMaildrop(ctx("maildrop")), "/etc/dovecot/users");
      const sasl = linesOf(dovecotAuth(ctx("smtp-out")), SASL_USERS);
      for (const lines of [mailbox, sasl]) {
        assert.ok(entry(lines, first.address)?.includes("nologin=y"), first.address);
        for (const u of rest) assert.ok(!entry(lines, u.address)?.includes("nologin=y"), u.address);
      }
    });

    it("replicates only in replicated mode, to the peer, with the password outside world-readable files", () => {
      const [zrh, ams] = hostsOf(prod.spec, "maildrop");
      const frag = maildrop(prod);
      const conf = fileOf(frag, CONF).content;
      assert.match(directive(conf, "mail_plugins")!, /\breplication\b/);
      assert.equal(directive(conf, "mail_replica"), `tcps:${ams.address}:${INTERNAL.doveadm}`);
      assert.equal(directive(dovecotMaildrop(prod.ctx(ams)).files!.find((f) => f.path === CONF)!.content, "mail_replica"),
        `tcps:${zrh.address}:${INTERNAL.doveadm}`);
      assert.equal(directive(conf, "mmap_disable"), undefined);
      for (const f of frag.files!) {
        if (f.content.includes(prod.secrets.replicationPassword)) {
          assert.ok(f.secret && !worldReadable(f) && f.owner === "root", `${f.path} holds the replication password`);
          assert.ok(conf.includes(`!include ${f.path}`));
        }
      }
      assert.ok(frag.files!.some((f) => f.content.includes(prod.secrets.replicationPassword)));

      const shared = fileOf(maildrop(staging), CONF).content;
      assert.doesNotMatch(shared, /replication|mail_replica|doveadm_password|!include/);
      for (const [k, v] of [["mmap_disable", "yes"], ["mail_fsync", "always"], ["mail_nfs_storage", "yes"], ["mail_nfs_index", "yes"]]) {
        assert.equal(directive(shared, k), v, k);
      }
      assert.equal(directive(shared, "default_fields"), "home=/srv/mail/%Ld/%Ln");
      assert.equal(directive(conf, "default_fields"), "home=/var/vmail/%Ld/%Ln");
    });

    it("trusts the PROXY protocol from exactly the frontends, on every proxied port", () => {
      const conf = fileOf(maildrop(prod), CONF).content;
      assert.deepEqual(directive(conf, "haproxy_trusted_networks")!.split(" "), hostsOf(prod.spec, "frontend").map((h) => h.address));
      for (const port of Object.values(PROXIED).filter((p) => p !== PROXIED.submission && p !== PROXIED.submissions)) {
        assert.match(conf, new RegExp(`port = ${port}\\n(    ssl = yes\\n)?    haproxy = yes`), `port ${port}`);
      }
      for (const port of [PORTS.imap, PORTS.imaps, PORTS.pop3, PORTS.pop3s, PORTS.managesieve]) {
        assert.match(conf, new RegExp(`port = ${port}\\n`), `port ${port}`);
      }
      assert.match(conf, new RegExp(`unix_listener ${LMTP_SOCKET.path} \\{\\s*mode = 0600\\s*user = postfix`));
    });

    it("answers quota questions (Postfix policy) on its own address: 552 5.2.2 over quota, OK otherwise so the MTAs stop asking", () => {
      for (const h of hostsOf(prod.spec, "maildrop")) {
        const conf = fileOf(dovecotMaildrop(prod.ctx(h)), CONF).content;
        assert.match(conf, new RegExp(`service quota-status \\{\\n  executable = quota-status -p postfix\\n  inet_listener quota-status \\{\\n    address = ${h.address.replace(/\./g, "\\.")}\\n    port = ${INTERNAL.quotaStatus}\\n`));
        assert.equal(directive(conf, "quota_status_success"), "OK");
        assert.equal(directive(conf, "quota_status_nouser"), "OK");
        assert.match(directive(conf, "quota_status_overquota")!, /^"552 5\.2\.2 Mailbox full/);
      }
    });

    it("reports spam and ham to every smtp-in's controller over verified TLS, the learning password readable by vmail only", () => {
      const frag = maildrop(prod);
      assert.deepEqual(fileOf(frag, "/etc/dovecot/rspamd-controllers").content.trim().split("\n"),
        hostsOf(prod.spec, "smtp-in").map((h) => `${h.fqdn}:${INTERNAL.rspamdController}`));
      const curlrc = fileOf(frag, "/etc/dovecot/rspamd-learn.curlrc");
      assert.deepEqual([curlrc.secret, curlrc.group, curlrc.mode], [true, "vmail", "0640"]);
      assert.match(curlrc.content, new RegExp(`^cacert = "${TLS_CA}"$`, "m"));
      assert.match(fileOf(frag, "/etc/dovecot/sieve-pipe/rspamd-learn").content, /"https:\/\/\$controller\/learn\$class"/);
      for (const f of frag.files!.filter((x) => x.content.includes(prod.secrets.rspamdEnablePassword))) {
        assert.equal(f.path, curlrc.path);
      }
      // The read password stays on smtp-in.
      assert.ok(!frag.files!.some((x) => x.content.includes(prod.secrets.rspamdControllerPassword)));
      assert.deepEqual(frag.files!.filter((f) => f.compile === "sievec").map((f) => path.basename(f.path)).sort(),
        ["report-ham.sieve", "report-spam.sieve", "spam-to-junk.sieve"]);
    });

    it("ships shell scripts that parse", () => {
      const scripts = maildrop(prod).files!.filter((f) => f.content.startsWith("#!/bin/sh"));
      assert.deepEqual(scripts.map((f) => path.basename(f.path)).sort(), ["quota-warning", "rspamd-learn"]);
      for (const f of scripts) {
        assert.equal(f.mode, "0755");
        execFileSync("sh", ["-n"], { input: f.content });
      }
    });

    it("keeps the vmail account's uid and the mail root owned by it, and makes the LMTP socket's directory (an empty queue volume has none)", () => {
      const frag = maildrop(staging);
      assert.deepEqual(frag.accounts, [{ name: "vmail", uid: 5000, home: "/srv/mail" }]);
      assert.deepEqual(frag.directories, [
        { path: "/srv/mail", owner: "vmail", group: "vmail", mode: "0750" },
        { path: "/var/spool/postfix/private", owner: "postfix", group: "root", mode: "0700" },
      ]);
    });

    it("looks users up in LDAP with the bind password in a secret file when a directory is configured", () => {
      const s = withDirectory(prod);
      const frag = maildrop(s);
      const ldap = fileOf(frag, "/etc/dovecot/dovecot-ldap.conf.ext");
      assert.ok(ldap.secret && !worldReadable(ldap));
      assert.match(ldap.content, new RegExp(`^dnpass = ${s.secrets.ldapBindPassword}$`, "m"));
      assert.match(ldap.content, /^user_attrs = =quota_rule=\*:storage=%\{ldap:info:\d+\}B$/m);
      assert.match(ldap.content, /^auth_bind = yes$/m);
      // ldaps://: TLS from the start, no StartTLS on top; the certificate verified against the configured CA.
      assert.match(ldap.content, /^tls = no$/m);
      assert.match(ldap.content, /^tls_require_cert = hard$/m);
      assert.match(ldap.content, new RegExp(`^tls_ca_cert_file = ${DIRECTORY_CA}$`, "m"));
      assert.equal(fileOf(renderHost(s.spec, hostsOf(s.spec, "maildrop")[0], s.secrets), DIRECTORY_CA).content, s.spec.directory!.caCertificate);
      const conf = fileOf(frag, CONF).content;
      assert.match(conf, /passdb \{\s*driver = ldap/);
      assert.match(conf, /userdb \{\s*driver = ldap/);
      assert.ok(dovecotAuth(s.ctx(hostsOf(s.spec, "smtp-out")[0])).packages!.includes("dovecot-ldap"));
    });

    it("talks to an ldap:// directory with StartTLS only, in Dovecot and in Postfix's maps", () => {
      const plain = withDirectory(prod);
      const spec: PlatformSpec = { ...plain.spec, directory: { ...plain.spec.directory!, uris: ["ldap://dc1.example.net", "ldap://dc2.example.net"], caCertificate: undefined } };
      const host = hostsOf(spec, "smtp-out")[0];
      const b = renderHost(spec, host, plain.secrets);
      const ldap = fileOf(b, "/etc/dovecot/dovecot-ldap.conf.ext").content;
      assert.match(ldap, /^tls = yes$/m);
      assert.match(ldap, /^tls_require_cert = hard$/m);
      assert.doesNotMatch(ldap, /tls_ca_cert_file/);
      const map = fileOf(b, "/etc/postfix/ldap-mailboxes.cf").content;
      assert.match(map, /^start_tls = yes$/m);
      assert.match(map, /^tls_require_cert = yes$/m);
      assert.ok(!b.files.some((f) => f.path === DIRECTORY_CA), "a directory CA file without a configured CA");
    });
  });

  // A directory-backed variant of a stack, for the LDAP renderings.
  function withDirectory(s: Stack): Stack {
    const spec: PlatformSpec = {
      ...s.spec,
      directory: {
        type: "ldap", uris: ["ldaps://ldap.example.net"], baseDn: "dc=example,dc=net", bindDn: "cn=mail,dc=example,dc=net",
        userFilter: "(&(objectClass=person)(mail=%u))", passFilter: "(&(objectClass=person)(mail=%u))",
        mailboxFilter: "(&(objectClass=person)(mail=%s))", groupFilter: "(&(objectClass=group)(mail=%s))",
        groupMemberAttribute: "member", quotaAttribute: "info", caCertificate: s.secrets.caCertificatePem,
      },
    };
    const secrets = { ...s.secrets, ldapBindPassword: "bind-secret" };
    return { spec, secrets, ctx: (host) => ({ spec, host, secrets }) };
  }

  describe("provision.sh check of the rendered hosts", function () {
    const hostsOfRoles = (s: Stack) => [...hostsOf(s.spec, "maildrop"), ...hostsOf(s.spec, "smtp-out")];
    // The stacks' own bundles: the same objects as the MTA tests', checked once.
    const bundles = () => STACKS.flatMap((name) => renderStack(name).bundles.filter((b) => ["maildrop", "smtp-out"].includes(b.host.role)));

    it("passes doveconf -n for every Dovecot host of prod and staging", async () => {
      for (const out of await Promise.all(bundles().map(check))) assert.match(out, /check: doveconf -n ok$/m);
    });

    // .ci/run installs the directory variant's packages too (no stack uses it).
    it("passes doveconf -n for every Dovecot host of a directory variant", async () => {
      const s = withDirectory(prod);
      for (const out of await Promise.all(hostsOfRoles(s).map((h) => check(hostBundle(s, h))))) assert.match(out, /check: doveconf -n ok$/m);
    });

    it("compiles every Sieve script with the rendered plugin settings", async () => {
      const b = renderStack("prod").bundles.find((x) => x.host.role === "maildrop")!;
      const sieves = b.files.filter((f) => f.path.endsWith(".sieve")).map((f) => f.path);
      assert.ok(sieves.length > 0);
      const out = await check(b);
      for (const f of sieves) assert.match(out, new RegExp(`check: sievec ${f} ok$`, "m"));
    });
  });

  describe("the rendered maildrop, running", function () {
    // The second user's tiny quota makes the over-quota bounce testable.
    const lives = Object.fromEntries(STACKS.map((name) =>
      [name, stack(name, (s) => withKnownPasswords({ ...s, users: s.users.map((u, i) => (i === 1 ? { ...u, quotaBytes: 2048 } : u)) }))]));
    const stranger = "192.0.2.99";
    const single: Record<string, Sandbox> = {};
    let pair: Sandbox[] = [];
    // Side by side: a maildrop of each stack on its own, and prod's replicating pair.
    before(async function () {
      if (!which("python3")) this.skip();
      const alone = (s: Stack) => startHosts([hostBundle(s, hostsOf(s.spec, "maildrop")[0])], {
        syslog: true, // Dovecot logs the client address it was given through the PROXY protocol
        addresses: [hostsOf(s.spec, "frontend")[0].address, stranger, ...hostsOf(s.spec, "smtp-in").map((h) => h.address)],
      });
      [[single.prod], [single.staging], pair] = await together([
        alone(lives.prod), alone(lives.staging), startHosts(hostsOf(lives.prod.spec, "maildrop").map((h) => hostBundle(lives.prod, h))),
      ]);
    });
    after(() => Promise.all([...Object.values(single), ...pair].map((box) => box.stop())));

    for (const name of STACKS) it(`${name}: delivers over LMTP, files spam into Junk, runs ManageSieve scripts, serves IMAPS, bounces over quota, learns from Junk moves`, () => {
      const live = lives[name];
      const box = single[name];
      const host = hostsOf(live.spec, "maildrop")[0];
      const smtpIn = hostsOf(live.spec, "smtp-in").map((h) => h.address);
      const frontend = hostsOf(live.spec, "frontend")[0].address;
      const [alice, bob] = live.spec.users.map((u) => u.address);
      const out = "/tmp/out";
      const imap = `${host.address} ${PORTS.imaps} ${host.fqdn} ${TLS_CA} ${alice} ${passwordOf(alice)}`;
      fs.mkdirSync(box.path(out));
      fs.writeFileSync(box.path(`${out}/user.sieve`), 'require ["fileinto"];\nif header :contains "subject" "filter me" { fileinto "Filtered"; }\n');
      // The fake controllers answer with each smtp-in's own certificate, as its NGINX does.
      for (const h of hostsOf(live.spec, "smtp-in")) {
        const cert = live.secrets.hostCertificates[h.name];
        fs.writeFileSync(box.path(`${out}/${h.address}.crt`), cert.certificatePem + live.secrets.caCertificatePem);
        fs.writeFileSync(box.path(`${out}/${h.address}.key`), cert.privateKeyPem);
      }
      // The fake controllers outlive the script, holding none of its output: they die with the sandbox.
      const r = box.run(`set -eu
        py() { python3 ${CLIENT} "$@"; }
        py controllers ${INTERNAL.rspamdController} ${out} ${smtpIn.join(" ")} </dev/null >${out}/learn.jsonl 2>${out}/controllers.log &
        ${waitFor(LMTP_SOCKET.path)}
        py lmtp ${LMTP_SOCKET.path} ${alice} "hello" > ${out}/lmtp-hello.json
        py lmtp ${LMTP_SOCKET.path} ${alice.replace("@", "+news@")} "cheap pills" yes > ${out}/lmtp-spam.json
        py managesieve ${host.address} ${PORTS.managesieve} ${host.fqdn} ${TLS_CA} ${alice} ${passwordOf(alice)} mine ${out}/user.sieve > ${out}/managesieve.json
        py lmtp ${LMTP_SOCKET.path} ${alice} "please filter me" > ${out}/lmtp-filter.json
        py lmtp ${LMTP_SOCKET.path} ${bob} "too big" no 4096 > ${out}/lmtp-quota.json
        py policy ${smtpIn[0]} ${host.address} ${INTERNAL.quotaStatus} ${alice}:4096 ${bob}:4096 ${bob.replace("@", "+tag@")}:4096 ${bob}:0 nobody@partner.example:10 > ${out}/quota-status.json
        # Full-text search: nothing indexed at delivery, a user's search indexes what it needs and
        # finds by body; doveadm (replication's processes) runs without it.
        home=$(doveadm user -f home ${alice})
        find "$home" -path '*xapian*' -type f > ${out}/fts-before.txt
        doveconf -f service=doveadm -h mail_plugins > ${out}/doveadm-plugins.txt
        py imap-search ${imap} Filtered hello > ${out}/fts-search.json
        find "$home" -path '*xapian*' -type f > ${out}/fts-after.txt
        py imap-list ${imap} INBOX Junk Filtered > ${out}/before.json
        py imap-move ${imap} INBOX hello Junk > /dev/null
        py imap-move ${imap} Junk "cheap pills" INBOX > /dev/null
        for _ in $(seq 100); do [ "$(wc -l < ${out}/learn.jsonl)" -ge ${2 * smtpIn.length} ] && break; sleep 0.1; done
        py imap-list ${imap} INBOX Junk > ${out}/after.json
        py plain-login ${stranger} ${host.address} ${PORTS.imap} ${alice} ${passwordOf(alice)} > ${out}/plain.json
        py proxied-login ${frontend} ${host.address} ${PROXIED.imaps} 203.0.113.7 ${host.fqdn} ${TLS_CA} ${alice} ${passwordOf(alice)} > ${out}/proxied.json
        py proxied-login ${stranger} ${host.address} ${PROXIED.imaps} 203.0.113.8 ${host.fqdn} ${TLS_CA} ${alice} ${passwordOf(alice)} > ${out}/untrusted.json
      `);
      const log = fs.readFileSync(box.path("/var/log/messages"), "utf8");
      assert.equal(r.status, 0, r.stderr + log);
      const result = (f: string) => JSON.parse(fs.readFileSync(box.path(`${out}/${f}`), "utf8"));
      for (const f of ["lmtp-hello.json", "lmtp-spam.json", "lmtp-filter.json"]) assert.equal(result(f).code, 250, f);
      assert.deepEqual(result("managesieve.json").results.map((l: string) => l.split(" ")[0]), ["OK", "OK", "OK"]);

      const text = (f: string) => fs.readFileSync(box.path(`${out}/${f}`), "utf8").trim();
      assert.equal(text("fts-before.txt"), "", "nothing indexed at delivery");
      assert.equal(result("fts-search.json").uids.length, 1, "the body search finds the one message");
      assert.doesNotMatch(text("doveadm-plugins.txt"), /fts/, "doveadm loads no full-text search");
      assert.match(text("doveadm-plugins.txt"), /\bquota\b/, "doveadm keeps the store's plugins");
      assert.notEqual(text("fts-after.txt"), "", "the search built the Xapian index");

      const quota = result("lmtp-quota.json");
      assert.equal(quota.code, 552);
      assert.match(quota.message, /5\.2\.2 .*Mailbox full/);
      // What smtp-in hears at RCPT: the same verdict before the message is accepted (a + address
      // is its mailbox's); a message that fits, or an address that is no mailbox, gets OK.
      const overQuota = "552 5.2.2 Mailbox full: the recipient's mailbox is over its storage quota.";
      assert.deepEqual(result("quota-status.json").actions, ["OK", overQuota, overQuota, "OK", "OK"]);

      const before = result("before.json");
      assert.deepEqual(before.content, { INBOX: ["hello"], Junk: ["cheap pills"], Filtered: ["please filter me"] });
      for (const mailbox of ["Drafts", "Sent", "Junk", "Trash"]) assert.ok(before.mailboxes.includes(mailbox), mailbox);
      assert.deepEqual(result("after.json").content, { INBOX: ["cheap pills"], Junk: ["hello"] });

      const learned = fs.readFileSync(box.path(`${out}/learn.jsonl`), "utf8").trim().split("\n").map((l) => JSON.parse(l));
      for (const [kind, subject] of [["spam", "hello"], ["ham", "cheap pills"]]) {
        const hits = learned.filter((l) => l.path === `/learn${kind}` && l.subject === subject);
        assert.deepEqual(hits.map((h) => h.controller).sort(), [...smtpIn].sort(), `${kind} reports`);
        for (const h of hits) assert.equal(h.password, live.secrets.rspamdEnablePassword);
      }

      const plain = result("plain.json");
      assert.ok(plain.capabilities.includes("LOGINDISABLED"), "no LOGIN before STARTTLS");
      assert.notEqual(plain.login, "ok");
      assert.equal(result("proxied.json").login, "ok");
      assert.notEqual(result("untrusted.json").login, "ok");
      assert.ok(log.includes(`imap-login: Login: user=<${alice}>, method=PLAIN, rip=203.0.113.7,`), "real client address logged");
    });

    it("prod: replicates mail and Sieve scripts between the pair over TLS", () => {
      const live = lives.prod;
      const [a] = hostsOf(live.spec, "maildrop");
      const alice = live.spec.users[0].address;
      const [boxA, boxB] = pair;
      fs.writeFileSync(boxA.path("/tmp/user.sieve"), 'require ["fileinto"];\nif header :contains "subject" "x" { fileinto "X"; }\n');
      boxA.ok(`${waitFor(LMTP_SOCKET.path)}
        python3 ${CLIENT} lmtp ${LMTP_SOCKET.path} ${alice} "replicate me" >/dev/null
        python3 ${CLIENT} managesieve ${a.address} ${PORTS.managesieve} ${a.fqdn} ${TLS_CA} ${alice} ${passwordOf(alice)} mine /tmp/user.sieve >/dev/null`);
      const seen = boxB.ok(`for _ in $(seq 150); do
          n=$(doveadm -f flow mailbox status -u ${alice} messages INBOX 2>/dev/null || true)
          s=$(doveadm sieve list -u ${alice} 2>/dev/null || true)
          echo "$n" | grep -q "messages=1" && echo "$s" | grep -q mine && break
          sleep 0.2
        done
        echo "$n"; echo "$s"`);
      assert.match(seen, /^INBOX messages=1$/m, `not replicated:\n${seen}`);
      assert.match(seen, /^mine ACTIVE$/m, `sieve script not replicated:\n${seen}`);
    });

    it("prod: LMTP over STARTTLS answers 250 once the peer holds the message; cut off, after replication_sync_timeout; the peer catches up as soon as it answers", () => {
      const live = lives.prod;
      const [a, b] = hostsOf(live.spec, "maildrop");
      const bob = live.spec.users[1].address;
      const [boxA, boxB] = pair;
      const deliver = (subject: string) => JSON.parse(boxA.ok(`python3 ${CLIENT} lmtp-tls ${a.address} ${INTERNAL.lmtp} ${a.fqdn} ${TLS_CA} ${bob} '${subject}'`));
      const onPeer = (subject: string) => boxB.ok(`doveadm -f tab fetch -u ${bob} hdr.subject mailbox INBOX ALL`).includes(subject);

      assert.equal(deliver("held by both").code, 250);
      // No waiting here: the 250 itself says the peer has it.
      assert.ok(onPeer("held by both"), "the 250 came before the peer held the message");

      // Packets to the peer vanish: the delivery waits out the timeout, then is acknowledged anyway.
      boxA.ok(`nft add table inet cutoff && nft add chain inet cutoff out '{ type filter hook output priority 0; }' && nft add rule inet cutoff out ip daddr ${b.address} drop`);
      try {
        const cut = deliver("while cut off");
        assert.equal(cut.code, 250);
        assert.ok(cut.seconds >= REPLICATION_SYNC_TIMEOUT_SECONDS - 0.5 && cut.seconds < REPLICATION_SYNC_TIMEOUT_SECONDS + 10, `acknowledged after ${cut.seconds} s`);
        assert.ok(!onPeer("while cut off"));
      } finally {
        boxA.ok("nft delete table inet cutoff");
      }
      // Dovecot alone would retry the failed user after 5 minutes; the resync service does it now.
      const caught = boxB.ok(`for _ in $(seq 100); do doveadm -f tab fetch -u ${bob} hdr.subject mailbox INBOX ALL | grep -q 'while cut off' && { echo yes; break; }; sleep 0.2; done`);
      assert.equal(caught.trim(), "yes", "the peer did not catch up within 20 s of answering again");
    });
  });
});
