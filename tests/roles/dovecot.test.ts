// Dovecot on smtp-out (SASL only) and on the maildrop: rendered content derived from the spec, the
// real checkers (doveconf, sievec, doveadm pw), and the rendered maildrop running for real inside a
// private mount + network namespace: LMTP delivery, Sieve, IMAPS, ManageSieve, quota, PROXY
// protocol, spam learning, and dsync replication between the pair.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Fragment, HostFile } from "../../components/core/src/files";
import { INTERNAL, PORTS, PROXIED } from "../../components/core/src/ports";
import { RenderContext } from "../../components/core/src/files";
import { dovecotMaildrop } from "../../components/core/src/roles/maildrop/dovecot";
import { LMTP_SOCKET, SASL_AUTH_SOCKET } from "../../components/core/src/shared/spool-sockets";
import { dovecotAuth, SASL_USERS } from "../../components/core/src/roles/smtp-out/dovecot-auth";
import { PlatformSecrets } from "../../components/core/src/secrets";
import { generateLocalSecrets } from "../../components/core/src/secrets/local";
import { machinePasswordHash } from "../../components/core/src/shared/passwords";
import { TLS_CA, tlsFiles } from "../../components/core/src/shared/tls";
import { loadStackSpec } from "../../components/core/src/spec/load";
import { PlatformSpec } from "../../components/core/src/spec/types";
import { WEBMAIL_RELAY_USER } from "../../components/core/src/relay-users";
import { Host, hostsOf } from "../../components/core/src/topology";

const ROOT = path.resolve(__dirname, "../..");
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
  const spec = edit(loadStackSpec(ROOT, name));
  const secrets = generateLocalSecrets(spec);
  return { spec, secrets, ctx: (host) => ({ spec, host, secrets }) };
}

/** Known passwords for the live tests: pw-<local part>. */
const passwordOf = (address: string) => `pw-${address.split("@")[0]}`;
const withKnownPasswords = (s: PlatformSpec): PlatformSpec => ({
  ...s,
  users: s.users.map((u) => ({ ...u, passwordHash: machinePasswordHash(u.address, passwordOf(u.address)) })),
});

// ---------------------------------------------------------------------------------------------
// Namespace harness: a host's files are staged in a temporary directory with a manifest, then
// installed over overlays of /etc /var /run /srv inside a private mount namespace.

const canNamespace =
  process.getuid?.() === 0 && spawnSync("unshare", ["--mount", "--net", "true"]).status === 0 && !!which("dovecot");
function which(cmd: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function stage(frag: Fragment, ctx: RenderContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dovecot-${ctx.host.name}-`));
  const all: Fragment = { ...frag, files: [...(frag.files ?? []), ...(tlsFiles(ctx, ["dovecot"]).files ?? [])] };
  const manifest = [
    ...(all.directories ?? []).map((d) => `dir ${d.path} ${d.owner} ${d.group} ${d.mode} -`),
    ...all.files!.map((f) => {
      const target = path.join(dir, "files", f.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, f.content);
      return `file ${f.path} ${f.owner} ${f.group} ${f.mode} ${f.compile ?? "-"}`;
    }),
  ];
  fs.writeFileSync(path.join(dir, "manifest"), manifest.join("\n") + "\n");
  return dir;
}

/** Bash functions for the namespace: install_host <staged dir> and wait_for <path>. */
const PRELUDE = String.raw`
install_host() {
  local t; t=$(TMPDIR="$1" mktemp -d); mount -t tmpfs tmpfs "$t"
  for x in etc var run srv; do
    mkdir -p "$t/u/$x" "$t/w/$x"
    mount -t overlay overlay -o "lowerdir=/$x,upperdir=$t/u/$x,workdir=$t/w/$x" "/$x"
  done
  grep -q '^vmail:' /etc/group || echo 'vmail:x:5000:' >> /etc/group
  grep -q '^vmail:' /etc/passwd || echo 'vmail:x:5000:5000::/var/vmail:/usr/sbin/nologin' >> /etc/passwd
  rm -rf /etc/dovecot/conf.d
  while read -r kind p owner group mode compile; do
    if [ "$kind" = dir ]; then mkdir -p "$p"; else mkdir -p "$(dirname "$p")"; cp "$1/files$p" "$p"; fi
    chown "$owner:$group" "$p"; chmod "$mode" "$p"
    if [ "$compile" = sievec ]; then sievec "$p"; fi
  done < "$1/manifest"
}
wait_for() { for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done; echo "timeout waiting for $1" >&2; return 1; }
`;

/** Runs a bash script in a fresh mount + network namespace; everything it starts ends with it. */
function inNamespace(script: string, timeout = 90_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("unshare", ["--mount", "--net", "--propagation", "private", "--fork", "--kill-child", "--mount-proc",
    "--pid", "bash", "-euc", PRELUDE + script], { encoding: "utf8", timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const readJson = (dir: string, name: string) => JSON.parse(fs.readFileSync(path.join(dir, name), "utf8"));

// ---------------------------------------------------------------------------------------------

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
    it("lists every mailbox user with its hash and every relay client, the webmail's included", () => {
      const [host] = hostsOf(prod.spec, "smtp-out");
      const frag = dovecotAuth(prod.ctx(host));
      const users = fileOf(frag, SASL_USERS);
      const lines = users.content.trim().split("\n");
      for (const u of prod.spec.users) assert.ok(lines.includes(`${u.address}:${u.passwordHash}::::::`), u.address);
      for (const name of [WEBMAIL_RELAY_USER, ...prod.spec.relayClients.map((c) => c.name)]) {
        const line = lines.find((l) => l.startsWith(`${name}:`));
        assert.ok(line, name);
        assert.equal(line.split(":")[1], machinePasswordHash(name, prod.secrets.relayPasswords[name]));
      }
      assert.equal(lines.length, prod.spec.users.length + 1 + prod.spec.relayClients.length);
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

    it("reports spam and ham to every smtp-in's controller, the password readable by vmail only", () => {
      const frag = maildrop(prod);
      assert.deepEqual(fileOf(frag, "/etc/dovecot/rspamd-controllers").content.trim().split("\n"),
        hostsOf(prod.spec, "smtp-in").map((h) => `${h.address}:${INTERNAL.rspamdController}`));
      const curlrc = fileOf(frag, "/etc/dovecot/rspamd-learn.curlrc");
      assert.deepEqual([curlrc.secret, curlrc.group, curlrc.mode], [true, "vmail", "0640"]);
      for (const f of frag.files!.filter((x) => x.content.includes(prod.secrets.rspamdControllerPassword))) {
        assert.equal(f.path, curlrc.path);
      }
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

    it("keeps the vmail account's uid and the mail root owned by it", () => {
      const frag = maildrop(staging);
      assert.deepEqual(frag.accounts, [{ name: "vmail", uid: 5000, home: "/srv/mail" }]);
      assert.deepEqual(frag.directories, [{ path: "/srv/mail", owner: "vmail", group: "vmail", mode: "0750" }]);
    });

    it("looks users up in LDAP with the bind password in a secret file when a directory is configured", () => {
      const s = withDirectory(prod);
      const frag = maildrop(s);
      const ldap = fileOf(frag, "/etc/dovecot/dovecot-ldap.conf.ext");
      assert.ok(ldap.secret && !worldReadable(ldap));
      assert.match(ldap.content, new RegExp(`^dnpass = ${s.secrets.ldapBindPassword}$`, "m"));
      assert.match(ldap.content, /^user_attrs = =quota_rule=\*:storage=%\{ldap:info:\d+\}B$/m);
      assert.match(ldap.content, /^auth_bind = yes$/m);
      const conf = fileOf(frag, CONF).content;
      assert.match(conf, /passdb \{\s*driver = ldap/);
      assert.match(conf, /userdb \{\s*driver = ldap/);
      assert.ok(dovecotAuth(s.ctx(hostsOf(s.spec, "smtp-out")[0])).packages!.includes("dovecot-ldap"));
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
        groupMemberAttribute: "member", quotaAttribute: "info", loginAttribute: "mail",
      },
    };
    const secrets = { ...s.secrets, ldapBindPassword: "bind-secret" };
    return { spec, secrets, ctx: (host) => ({ spec, host, secrets }) };
  }

  describe("checkers on the rendered configs", function () {
    before(function () {
      if (!canNamespace) this.skip();
    });

    it("doveconf -n accepts every Dovecot config of prod, staging and a directory variant without warnings", () => {
      const hosts = [prod, staging, withDirectory(prod)].flatMap((s) => [
        ...hostsOf(s.spec, "maildrop").map((h) => ({ frag: dovecotMaildrop(s.ctx(h)), ctx: s.ctx(h) })),
        ...hostsOf(s.spec, "smtp-out").map((h) => ({ frag: dovecotAuth(s.ctx(h)), ctx: s.ctx(h) })),
      ]);
      for (const { frag, ctx } of hosts) {
        const dir = stage(frag, ctx);
        try {
          const r = inNamespace(`install_host ${dir}; doveconf -n >/dev/null`);
          assert.equal(r.status, 0, `${ctx.spec.stack} ${ctx.host.name}: ${r.stderr}`);
          assert.equal(r.stderr.trim(), "", `${ctx.host.name}: doveconf warned:\n${r.stderr}`);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
    });

    it("sievec compiles every Sieve script with the rendered plugin settings", () => {
      const ctx = prod.ctx(hostsOf(prod.spec, "maildrop")[0]);
      const frag = dovecotMaildrop(ctx);
      const dir = stage(frag, ctx);
      try {
        const sieves = frag.files!.filter((f) => f.path.endsWith(".sieve")).map((f) => f.path);
        const r = inNamespace(`install_host ${dir}; for f in ${sieves.join(" ")}; do sievec "$f"; [ -s "\${f%.sieve}.svbin" ]; done`);
        assert.equal(r.status, 0, r.stderr);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("smtp-out authenticates relay clients and mailbox users over Postfix's socket", () => {
      const s = stack("prod", withKnownPasswords);
      const ctx = s.ctx(hostsOf(s.spec, "smtp-out")[0]);
      const dir = stage(dovecotAuth(ctx), ctx);
      const pw = s.secrets.relayPasswords;
      const alice = s.spec.users[0].address;
      try {
        const auth = (user: string, password: string) => `python3 ${CLIENT} sasl ${SASL_AUTH_SOCKET.path} ${user} '${password}'`;
        const r = inNamespace(`install_host ${dir}; ip link set lo up
          trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT
          dovecot -F & wait_for ${SASL_AUTH_SOCKET.path}
          stat -c '%a %U %G' ${SASL_AUTH_SOCKET.path}
          ${auth(WEBMAIL_RELAY_USER, pw[WEBMAIL_RELAY_USER])}
          ${auth("bastion", pw.bastion)}
          ${auth("monitoring", "wrong")}
          ${auth(alice, passwordOf(alice))}`);
        assert.equal(r.status, 0, r.stderr);
        const [mode, ...results] = r.stdout.trim().split("\n");
        assert.equal(mode, "660 postfix postfix");
        assert.deepEqual(results.map((l) => JSON.parse(l).result), ["OK", "OK", "FAIL", "OK"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("the rendered maildrop, running", function () {
    const lives: Record<string, Stack> = {};
    before(function () {
      if (!canNamespace || !which("python3")) this.skip();
      for (const name of ["prod", "staging"]) {
        // The second user's tiny quota makes the over-quota bounce testable.
        lives[name] = stack(name, (s) => withKnownPasswords({ ...s, users: s.users.map((u, i) => (i === 1 ? { ...u, quotaBytes: 2048 } : u)) }));
      }
    });

    for (const name of ["prod", "staging"]) it(`${name}: delivers over LMTP, files spam into Junk, runs ManageSieve scripts, serves IMAPS, bounces over quota, learns from Junk moves`, () => {
      const live = lives[name];
      const host = hostsOf(live.spec, "maildrop")[0];
      const ctx = live.ctx(host);
      const dir = stage(dovecotMaildrop(ctx), ctx);
      const smtpIn = hostsOf(live.spec, "smtp-in").map((h) => h.address);
      const frontend = hostsOf(live.spec, "frontend")[0].address;
      const stranger = "192.0.2.99";
      const [alice, bob] = live.spec.users.map((u) => u.address);
      const imap = `${host.address} ${PORTS.imaps} ${host.fqdn} ${dir}/files${TLS_CA} ${alice} ${passwordOf(alice)}`;
      fs.writeFileSync(path.join(dir, "user.sieve"), 'require ["fileinto"];\nif header :contains "subject" "filter me" { fileinto "Filtered"; }\n');
      try {
        const r = inNamespace(`
          ip link set lo up
          for a in ${host.address} ${frontend} ${stranger} ${smtpIn.join(" ")}; do ip addr add $a/32 dev lo; done
          install_host ${dir}
          echo "log_path = ${dir}/dovecot.log" >> ${CONF}
          trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT
          py() { python3 ${CLIENT} "$@"; }
          py controllers ${INTERNAL.rspamdController} ${smtpIn.join(" ")} > ${dir}/learn.jsonl &
          dovecot -F & wait_for ${LMTP_SOCKET.path}
          py lmtp ${LMTP_SOCKET.path} ${alice} "hello" > ${dir}/lmtp-hello.json
          py lmtp ${LMTP_SOCKET.path} ${alice.replace("@", "+news@")} "cheap pills" yes > ${dir}/lmtp-spam.json
          py managesieve ${host.address} ${PORTS.managesieve} ${host.fqdn} ${dir}/files${TLS_CA} ${alice} ${passwordOf(alice)} mine ${dir}/user.sieve > ${dir}/managesieve.json
          py lmtp ${LMTP_SOCKET.path} ${alice} "please filter me" > ${dir}/lmtp-filter.json
          py lmtp ${LMTP_SOCKET.path} ${bob} "too big" no 4096 > ${dir}/lmtp-quota.json
          py imap-list ${imap} INBOX Junk Filtered > ${dir}/before.json
          py imap-move ${imap} INBOX hello Junk > /dev/null
          py imap-move ${imap} Junk "cheap pills" INBOX > /dev/null
          for _ in $(seq 100); do [ "$(wc -l < ${dir}/learn.jsonl)" -ge ${2 * smtpIn.length} ] && break; sleep 0.1; done
          py imap-list ${imap} INBOX Junk > ${dir}/after.json
          py plain-login ${stranger} ${host.address} ${PORTS.imap} ${alice} ${passwordOf(alice)} > ${dir}/plain.json
          py proxied-login ${frontend} ${host.address} ${PROXIED.imaps} 203.0.113.7 ${host.fqdn} ${dir}/files${TLS_CA} ${alice} ${passwordOf(alice)} > ${dir}/proxied.json
          py proxied-login ${stranger} ${host.address} ${PROXIED.imaps} 203.0.113.8 ${host.fqdn} ${dir}/files${TLS_CA} ${alice} ${passwordOf(alice)} > ${dir}/untrusted.json
        `);
        assert.equal(r.status, 0, r.stderr + fs.readFileSync(path.join(dir, "dovecot.log"), "utf8"));
        for (const f of ["lmtp-hello.json", "lmtp-spam.json", "lmtp-filter.json"]) assert.equal(readJson(dir, f).code, 250, f);
        assert.deepEqual(readJson(dir, "managesieve.json").results.map((l: string) => l.split(" ")[0]), ["OK", "OK", "OK"]);

        const quota = readJson(dir, "lmtp-quota.json");
        assert.equal(quota.code, 552);
        assert.match(quota.message, /5\.2\.2 .*Mailbox full/);

        const before = readJson(dir, "before.json");
        assert.deepEqual(before.content, { INBOX: ["hello"], Junk: ["cheap pills"], Filtered: ["please filter me"] });
        for (const box of ["Drafts", "Sent", "Junk", "Trash"]) assert.ok(before.mailboxes.includes(box), box);
        assert.deepEqual(readJson(dir, "after.json").content, { INBOX: ["cheap pills"], Junk: ["hello"] });

        const learned = fs.readFileSync(path.join(dir, "learn.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
        for (const [kind, subject] of [["spam", "hello"], ["ham", "cheap pills"]]) {
          const hits = learned.filter((l) => l.path === `/learn${kind}` && l.subject === subject);
          assert.deepEqual(hits.map((h) => h.controller).sort(), [...smtpIn].sort(), `${kind} reports`);
          for (const h of hits) assert.equal(h.password, live.secrets.rspamdControllerPassword);
        }

        const plain = readJson(dir, "plain.json");
        assert.ok(plain.capabilities.includes("LOGINDISABLED"), "no LOGIN before STARTTLS");
        assert.notEqual(plain.login, "ok");
        assert.equal(readJson(dir, "proxied.json").login, "ok");
        assert.notEqual(readJson(dir, "untrusted.json").login, "ok");
        const log = fs.readFileSync(path.join(dir, "dovecot.log"), "utf8");
        assert.ok(log.includes(`imap-login: Info: Login: user=<${alice}>, method=PLAIN, rip=203.0.113.7,`), "real client address logged");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("prod: replicates mail and Sieve scripts between the pair over TLS", () => {
      const live = lives.prod;
      const [a, b] = hostsOf(live.spec, "maildrop");
      const dirs = [a, b].map((h) => stage(dovecotMaildrop(live.ctx(h)), live.ctx(h)));
      const alice = live.spec.users[0].address;
      fs.writeFileSync(path.join(dirs[0], "user.sieve"), 'require ["fileinto"];\nif header :contains "subject" "x" { fileinto "X"; }\n');
      // Both Dovecots share one network namespace, so each listens on its own address only.
      const start = (h: Host, dir: string) => `unshare --mount --propagation private bash -euc '${PRELUDE.replace(/'/g, `'\\''`)}
          install_host ${dir}
          printf "listen = ${h.address}\\nlog_path = ${dir}/dovecot.log\\n" >> ${CONF}
          echo $$ > ${dir}/pid; exec dovecot -F' &`;
      try {
        const r = inNamespace(`
          ip link set lo up
          ip addr add ${a.address}/32 dev lo; ip addr add ${b.address}/32 dev lo
          trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT
          ${start(a, dirs[0])}
          ${start(b, dirs[1])}
          wait_for ${dirs[0]}/pid; wait_for ${dirs[1]}/pid
          on() { nsenter --mount --target "$(cat $1/pid)" -- "\${@:2}"; }
          for d in ${dirs.join(" ")}; do for _ in $(seq 100); do on $d test -S ${LMTP_SOCKET.path} && break; sleep 0.1; done; done
          on ${dirs[0]} python3 ${CLIENT} lmtp ${LMTP_SOCKET.path} ${alice} "replicate me" >/dev/null
          python3 ${CLIENT} managesieve ${a.address} ${PORTS.managesieve} ${a.fqdn} ${dirs[0]}/files${TLS_CA} ${alice} ${passwordOf(alice)} mine ${dirs[0]}/user.sieve >/dev/null
          for _ in $(seq 150); do
            n=$(on ${dirs[1]} doveadm -f flow mailbox status -u ${alice} messages INBOX 2>/dev/null || true)
            s=$(on ${dirs[1]} doveadm sieve list -u ${alice} 2>/dev/null || true)
            echo "$n" | grep -q "messages=1" && echo "$s" | grep -q mine && break
            sleep 0.2
          done
          echo "$n"; echo "$s"
        `, 120_000);
        const logs = dirs.map((d) => (fs.existsSync(path.join(d, "dovecot.log")) ? fs.readFileSync(path.join(d, "dovecot.log"), "utf8") : "")).join("\n");
        assert.equal(r.status, 0, r.stderr + logs);
        assert.match(r.stdout, /^INBOX messages=1$/m, `not replicated:\n${r.stdout}\n${logs}`);
        assert.match(r.stdout, /^mine ACTIVE$/m, `sieve script not replicated:\n${r.stdout}\n${logs}`);
      } finally {
        for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
      }
    });
  });
});
