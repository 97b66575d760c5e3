// files/provision.sh and the bundle format it reads: every rendered host passes its daemons' own
// checkers; a broken config is refused with the checker's message; apply in a sandbox host starts,
// reloads only what changed, is idempotent and leaves the live config alone when a check fails.
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { bundle, file, Fragment, secretFile } from "../components/core/src/files";
import { Daemon, daemons } from "../components/core/src/daemons";
import { loadStackSpec } from "../components/core/src/spec/load";
import { allHosts, hostsOf, Host } from "../components/core/src/topology";
import { hostScriptPath } from "../components/core/src/host-scripts";
import { renderHost } from "../components/core/src/render";
import { manifest, packBundle, ProvisionBundle, Removal, writeBundle } from "../components/core/src/bundle";
import { ensureSources, PROVISION_ENV } from "../lab/packages";
import { Sandbox } from "./support/sandbox";
import { renderStack, REPO, STACKS } from "./support/stacks";

const SCRIPT = hostScriptPath("provision.sh");
const D = daemons(12);

const HOST = {
  name: "t1", role: "frontend", fqdn: "t1.example.net", address: "127.0.0.1", index: 0,
  site: { name: "tst", region: "r", availabilityZone: "a", cidr: "127.0.0.0/8", egress: [] },
} as Host;

function hostBundle(fragment: Fragment, remove: Removal[] = []): ProvisionBundle {
  return { ...bundle(HOST, fragment), remove };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "provision-test-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let seq = 0;

/**
 * Runs provision.sh on this machine (check and plan only: they do not touch it). The check's
 * namespace has no network: build steps take the sources this machine fetched.
 */
function provision(cmd: "check" | "plan", b: ProvisionBundle) {
  const dir = path.join(tmp, `b${seq++}`);
  writeBundle(dir, b);
  ensureSources([b], () => undefined);
  const r = spawnSync("env", [...PROVISION_ENV, "bash", SCRIPT, cmd, dir], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, out: r.stdout + r.stderr };
}

// --- small hand-made bundles, one per daemon the tests run ---

const nginxSite = (body: string) =>
  file("nginx", "/etc/nginx/conf.d/t1.conf", `server {\n    listen 127.0.0.1:8080;\n    ${body}\n}\n`);
const nginxBundle = (body: string) =>
  hostBundle(
    { services: [D.nginx], files: [nginxSite(body)] },
    [{ path: "/etc/nginx/sites-enabled/default", services: ["nginx"] }],
  );
const hello = (v: string) => `location / { return 200 "hello ${v}\\n"; }`;

const MAIN_CF = `compatibility_level = 3.6
myhostname = t1.example.net
mydestination = localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
maillog_file = /var/log/postfix.log
virtual_alias_domains = example.org
virtual_alias_maps = hash:/etc/postfix/virtual
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd
`;
const RELAY_PASSWORD = "relay-password-0123456789abcdef";
const postfixBundle = (mainCf: string) =>
  hostBundle({
    services: [D.postfix],
    accounts: [{ name: "vmail", uid: 5000, home: "/var/vmail" }],
    files: [
      file("postfix", "/etc/postfix/main.cf", mainCf),
      file("postfix", "/etc/postfix/virtual", "team@example.org alice@example.net, bob@example.net\n", { compile: "postmap" }),
      secretFile("postfix", "/etc/postfix/sasl_passwd", `[relay.example.net]:587 t1:${RELAY_PASSWORD}\n`, { mode: "0600", compile: "postmap" }),
    ],
  });

const REDIS_CONF = `bind 127.0.0.1
port 6379
daemonize yes
pidfile /run/redis/redis-server.pid
logfile /var/log/redis/redis-server.log
dir /var/lib/redis
maxmemory 64mb
maxmemory-policy volatile-lru
`;
const SPAM_SIEVE = `require "fileinto";\nif header :contains "X-Spam" "yes" { fileinto "Junk"; stop; }\n`;

/** Unbound, Redis, PostSRSd, Dovecot with a compiled Sieve script, Postfix with postmap'ed tables. */
function daemonsBundle(over: { redis?: string; sieve?: string } = {}): ProvisionBundle {
  const base = postfixBundle(MAIN_CF);
  return hostBundle(
    {
      packages: ["dovecot-sieve"],
      services: [D.unbound, D.redis, D.postsrsd, D.dovecot, ...base.services],
      accounts: base.accounts,
      directories: [{ path: "/etc/dovecot/sieve", owner: "root", group: "root", mode: "0755" }],
      files: [
        file("unbound", "/etc/unbound/unbound.conf", "server:\n    interface: 127.0.0.1\n    do-ip6: no\n    access-control: 127.0.0.0/8 allow\n"),
        file("redis-server", "/etc/redis/redis.conf", over.redis ?? REDIS_CONF, { owner: "redis", group: "redis", mode: "0640" }),
        file("postsrsd", "/etc/default/postsrsd", "SRS_DOMAIN=example.net\nSRS_SECRET=/etc/postsrsd.secret\nSRS_FORWARD_PORT=10001\nSRS_REVERSE_PORT=10002\n"),
        secretFile("postsrsd", "/etc/postsrsd.secret", "srs-secret-0123456789abcdef\n", { mode: "0600" }),
        file("dovecot", "/etc/dovecot/sieve/spam.sieve", over.sieve ?? SPAM_SIEVE, { compile: "sievec" }),
        ...base.files,
      ],
    },
    // Debian's trust-anchor file exists only after unbound's first start.
    [{ path: "/etc/unbound/unbound.conf.d/root-auto-trust-anchor-file.conf", services: ["unbound"] }],
  );
}

describe("bundle format", () => {
  it("writes one manifest line per item, fields in the order provision.sh reads them", () => {
    const m = manifest(postfixBundle(MAIN_CF)).split("\n");
    assert.ok(m.includes("host t1"));
    assert.ok(m.includes("account vmail 5000 /var/vmail"));
    assert.ok(m.includes("file 0644 root root postfix postmap - /etc/postfix/virtual"));
    assert.ok(m.includes("file 0600 root root postfix postmap secret /etc/postfix/sasl_passwd"));
    assert.ok(manifest(nginxBundle(hello("x"))).includes("\nremove nginx /etc/nginx/sites-enabled/default\n"));
  });

  it("writes each daemon's service and check lines, and its packages, from the daemon table", () => {
    for (const release of [12, 13] as const) {
      for (const d of Object.values<Daemon>(daemons(release))) {
        const b = hostBundle({ services: [d], packages: ["extra-package"] });
        assert.deepStrictEqual(b.packages, [...d.packages, "extra-package"]);
        assert.deepStrictEqual(manifest(b).split("\n").filter((l) => /^(service|check) /.test(l)), [
          `service ${d.service} ${d.process} ${d.pidFile ?? "-"} ${d.reload}`,
          ...d.checks.map((c) => `check ${d.service} ${c.eachFile ?? "-"} ${c.ok} ${c.label} -- ${c.command}`),
        ]);
      }
    }
    assert.ok(manifest(hostBundle({ services: [D["opendkim-ed25519"]] })).includes(
      "\nservice opendkim-ed25519 opendkim /run/opendkim-ed25519/opendkim-ed25519.pid reload\n" +
      "check opendkim-ed25519 - ^$ opendkim -n -x /etc/opendkim-ed25519.conf -- opendkim -n -x /etc/opendkim-ed25519.conf\n"));
  });

  it("renders Debian 13's PHP-FPM (8.4) for the webmail: service, packages, pool and checkers", () => {
    const { spec, secrets } = renderStack("prod");
    const trixie = { ...spec, debianRelease: 13 as const };
    const b = renderHost(trixie, hostsOf(trixie, "webmail")[0], secrets);
    const m = manifest(b);
    assert.deepStrictEqual(b.services.map((d) => d.service), ["php8.4-fpm", "nginx"]);
    assert.ok(b.packages.includes("php8.4-fpm"), b.packages.join(" "));
    assert.ok(b.files.some((f) => f.path === "/etc/php/8.4/fpm/pool.d/www.conf" && f.services.includes("php8.4-fpm")));
    assert.match(m, /^service php8\.4-fpm php-fpm8\.4 - reload$/m);
    assert.match(m, /^check php8\.4-fpm - \S+ php-fpm8\.4 -t -- php-fpm8\.4 -t$/m);
    assert.match(m, /^check php8\.4-fpm \.php \S+ php8\.4 -l -- php8\.4 -l "\$1"$/m);
    assert.doesNotMatch(m, /php8\.2|\/8\.2\//);
  });

  it("refuses what the script could not split or must not write", () => {
    const withFile = (p: string) => hostBundle({ services: [D.nginx], files: [file("nginx", p, "x")] });
    assert.throws(() => manifest(withFile("/etc/nginx/my site.conf")), /invalid path/);
    assert.throws(() => manifest(withFile("/etc/nginx/../shadow")), /invalid path/);
    assert.throws(() => manifest(withFile("/run/nginx.conf")), /not under/);
    assert.throws(() => manifest(hostBundle({ services: [D.nginx], files: [{ ...file("nginx", "/etc/a", "x"), owner: "bad owner" }] })), /invalid owner/);
    assert.throws(() => manifest(hostBundle({ files: [file("exim4" as never, "/etc/a", "x")] })), /invalid service of \/etc\/a/);
    assert.throws(() => manifest(hostBundle({ files: [file("nginx", "/etc/a", "x")] }, [{ path: "/etc/a", services: ["nginx"] }])), /removal of a file the bundle writes/);
    assert.throws(() => manifest(hostBundle({ services: [D.postfix], files: [file("nginx", "/etc/a", "x")] })), /the bundle does not run it/);
    const withCheck = (c: Partial<Daemon["checks"][number]>) =>
      hostBundle({ services: [{ ...D.nginx, checks: [{ ...D.nginx.checks[0], ...c }] }] });
    assert.throws(() => manifest(withCheck({ label: "a -- b" })), /invalid label of a nginx check/);
    assert.throws(() => manifest(withCheck({ ok: "^no errors$" })), /invalid ok pattern of a nginx check/);
    assert.throws(() => manifest(withCheck({ command: "nginx -t\nreboot" })), /invalid command of a nginx check/);
    assert.throws(() => manifest(withCheck({ eachFile: "*.conf" })), /invalid file suffix of a nginx check/);
    assert.throws(() => manifest(hostBundle({ services: [{ ...D.nginx, pidFile: "/run/my nginx.pid" }] })), /invalid path/);
  });

  it("writes a browsable tree with secrets 0600, and replaces only an earlier bundle", () => {
    const dir = path.join(tmp, "tree");
    writeBundle(dir, postfixBundle(MAIN_CF));
    assert.equal(fs.readFileSync(path.join(dir, "etc/postfix/main.cf"), "utf8"), MAIN_CF);
    assert.equal(fs.statSync(path.join(dir, "etc/postfix/sasl_passwd")).mode & 0o777, 0o600);
    writeBundle(dir, nginxBundle(hello("x")));
    assert.ok(!fs.existsSync(path.join(dir, "etc/postfix/main.cf")), "a file no longer rendered is gone");
    const other = fs.mkdtempSync(path.join(tmp, "not-a-bundle-"));
    fs.writeFileSync(path.join(other, "keep"), "x");
    assert.throws(() => writeBundle(other, nginxBundle(hello("x"))), /not a bundle/);
  });

  it("packs a deterministic ustar that GNU tar extracts to the same tree", () => {
    const long = `/etc/${"d".repeat(90)}/${"f".repeat(60)}.conf`;
    const b = hostBundle({ files: [...postfixBundle(MAIN_CF).files, file("postfix", long, "long path, ünïcode\n")], services: [D.postfix] });
    const tar = packBundle(b);
    assert.ok(tar.equals(packBundle(b)), "same bundle, same bytes");
    assert.ok(Buffer.from(tar.toString("utf8"), "utf8").equals(tar), "survives a UTF-8 string (Pulumi stdin)");
    const [fromTar, fromDir] = [path.join(tmp, "x-tar"), path.join(tmp, "x-dir")];
    fs.mkdirSync(fromTar);
    const x = spawnSync("tar", ["-x", "-C", fromTar], { input: tar });
    assert.equal(x.status, 0, String(x.stderr));
    writeBundle(fromDir, b);
    const d = spawnSync("diff", ["-r", fromTar, fromDir], { encoding: "utf8" });
    assert.equal(d.status, 0, d.stdout);
  });
});

describe("provision.sh check", () => {
  it("passes correct configs of every kind of daemon, compile steps included", () => {
    const r = provision("check", daemonsBundle());
    assert.equal(r.status, 0, r.out);
    for (const ok of ["postfix check ok", "postconf -n (main.cf) ok", "doveconf -n ok", "unbound-checkconf ok",
      "redis-server daemonize ok", "redis-server starts with the new config ok", "postsrsd defaults ok", "check: ok"]) {
      assert.ok(r.stdout.includes(ok), `${ok} in\n${r.out}`);
    }
  });

  it("fails when a checker the manifest names fails, naming it", () => {
    const b = nginxBundle(hello("x"));
    b.services = [{ ...D.nginx, checks: [...D.nginx.checks, { label: "nginx sanity", command: "echo 'sanity: broken'; exit 3", ok: "^$" }] }];
    const r = provision("check", b);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /check: nginx -t ok/);
    assert.match(r.stderr, /check: nginx sanity failed \(exit 3\):\n {4}sanity: broken\n/);
    assert.match(r.stderr, /nothing on the live system was changed/);
  });

  it("refuses a bad NGINX directive with nginx's own message, and leaves the machine alone", () => {
    const hadDefault = fs.existsSync("/etc/nginx/sites-enabled/default");
    const r = provision("check", nginxBundle(`bogus_directive on; ${hello("x")}`));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown directive "bogus_directive" in \/etc\/nginx\/conf.d\/t1.conf:3/);
    assert.match(r.stderr, /nothing on the live system was changed/);
    assert.ok(!fs.existsSync("/etc/nginx/conf.d/t1.conf"));
    assert.equal(fs.existsSync("/etc/nginx/sites-enabled/default"), hadDefault);
  });

  it("treats a Postfix warning as an error", () => {
    const r = provision("check", postfixBundle(MAIN_CF + "smtpd_tls_chain_filez = /etc/x\n"));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /postconf -n \(main.cf\) failed[\s\S]*unused parameter: smtpd_tls_chain_filez/);
  });

  it("refuses a Redis config that Redis will not start with", () => {
    const r = provision("check", daemonsBundle({ redis: REDIS_CONF + "maxmemory-policy sometimes\n" }));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /redis-server starts with the new config failed[\s\S]*maxmemory-policy/);
  });

  it("refuses a Redis config that would hold a non-systemd init script forever", () => {
    const r = provision("check", daemonsBundle({ redis: REDIS_CONF.replace("daemonize yes", "daemonize no") }));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /redis-server daemonize failed[\s\S]*'daemonize no' would hold a non-systemd init script forever/);
  });

  it("refuses a Sieve script that does not compile", () => {
    const r = provision("check", daemonsBundle({ sieve: `fileinto "Junk";\n` }));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /sievec \/etc\/dovecot\/sieve\/spam.sieve failed[\s\S]*fileinto/);
  });

  it("withholds a checker's message line that quotes a secret", () => {
    const secret = "s3cr3t-0123456789abcdef";
    const b = nginxBundle(`include /etc/nginx/t1.secret; ${hello("x")}`);
    b.files.push(secretFile("nginx", "/etc/nginx/t1.secret", `${secret} on;\n`, { mode: "0600" }));
    const r = provision("check", b);
    assert.notEqual(r.status, 0);
    assert.ok(!r.out.includes(secret), r.out);
    assert.match(r.stderr, /line withheld/);
  });

  it("withholds a line quoting a secret value the bundle lists, however short; unlisted, only words of 10 characters or more", () => {
    // A short secret on a line of its own, and a short word of syntax: an error message quotes both.
    const short = "k9!x";
    const b = nginxBundle(`include /etc/nginx/t1.secret; ${hello("x")}`);
    b.files.push(secretFile("nginx", "/etc/nginx/t1.secret", `${short} on;\n`, { mode: "0600" }));
    const unlisted = provision("check", b);
    assert.notEqual(unlisted.status, 0);
    assert.ok(unlisted.stderr.includes(`unknown directive "${short}"`), unlisted.stderr);
    const listed = provision("check", { ...b, secretValues: [short] });
    assert.notEqual(listed.status, 0);
    assert.ok(!listed.out.includes(short), listed.out);
    assert.match(listed.stderr, /line withheld/);
    // The rest of the checker's message still reaches the operator.
    assert.match(listed.stderr, /configuration file \/etc\/nginx\/nginx.conf test failed/);
  });

  it("lists every secret value a rendered host's secret files hold, in a 0600 file beside the manifest and in the tar", () => {
    const { secrets } = renderStack("staging");
    const b = renderStack("staging").bundles.find((x) => x.host.role === "maildrop")!;
    const values = b.secretValues!;
    for (const v of [secrets.rspamdEnablePassword, ...secrets.hostCertificates[b.host.name].privateKeyPem.split("\n").filter((l) => l && !l.startsWith("-----"))]) {
      assert.ok(values.includes(v), "a secret of the maildrop is not listed");
    }
    // smtp-in's own: the read password, which no maildrop file holds.
    assert.ok(!values.includes(secrets.rspamdControllerPassword));
    const dir = path.join(tmp, `b${seq++}`);
    writeBundle(dir, b);
    assert.equal(fs.statSync(path.join(dir, ".secrets")).mode & 0o777, 0o600);
    assert.deepEqual(fs.readFileSync(path.join(dir, ".secrets"), "utf8").trim().split("\n"), values);
    const listing = spawnSync("tar", ["-tvf", "-"], { input: packBundle(b), encoding: "utf8" }).stdout;
    assert.match(listing, /^-rw------- .* \.secrets$/m);
  });

  it("plans without writing: diffs plain files, never secret ones", () => {
    const r = provision("plan", postfixBundle(MAIN_CF));
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, /would write \/etc\/postfix\/main.cf[\s\S]*\+virtual_alias_maps = hash:\/etc\/postfix\/virtual/);
    assert.match(r.stdout, /would write \/etc\/postfix\/sasl_passwd[\s\S]*secret content differs: not shown/);
    assert.ok(!r.out.includes(RELAY_PASSWORD));
  });
});

describe("provision.sh apply, in a sandbox host", function () {
  this.timeout(300_000);
  let host: Sandbox;
  before(async () => (host = await Sandbox.start({ hostname: "t1" })));
  after(async () => host?.stop());

  const apply = (b: ProvisionBundle) => host.run(`bash ${SCRIPT} apply -`, { input: packBundle(b) });
  const get = () => host.ok("curl -sS http://127.0.0.1:8080/");
  const nginxPids = () => host.ok("pgrep -x nginx | sort -n | tr '\\n' ' '");
  const workers = () => host.ok("pgrep -P $(cat /run/nginx.pid) | tr '\\n' ' '");
  /** A reload returns before NGINX's old workers have finished: wait for them to go. */
  const gone = (pids: string) => host.ok(`for i in $(seq 100); do kill -0 ${pids} 2>/dev/null || exit 0; sleep 0.1; done; exit 1`);

  it("starts NGINX with the new site and the package default removed", () => {
    const r = apply(nginxBundle(hello("v1")));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /remove \/etc\/nginx\/sites-enabled\/default[\s\S]*write \/etc\/nginx\/conf.d\/t1.conf[\s\S]*start nginx/);
    assert.equal(get(), "hello v1\n");
    assert.equal(host.run("test -e /etc/nginx/sites-enabled/default").status, 1);
  });

  it("changes nothing, and reloads nothing, the second time", () => {
    const before = nginxPids();
    const r = apply(nginxBundle(hello("v1")));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /no changes/);
    // Nothing to change, nothing to check: the checkers ran when these files were written.
    assert.match(r.stdout, /check: skipped/);
    assert.doesNotMatch(r.stdout, /write|reload|start /);
    assert.equal(nginxPids(), before, "same master and workers");
  });

  it("reloads (not restarts) NGINX when its file changes", () => {
    const [master, old] = [host.ok("cat /run/nginx.pid"), workers()];
    const r = apply(nginxBundle(hello("v2")));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /write \/etc\/nginx\/conf.d\/t1.conf[\s\S]*reload nginx/);
    gone(old);
    assert.equal(get(), "hello v2\n");
    assert.equal(host.ok("cat /run/nginx.pid"), master);
  });

  it("on a failed check touches nothing: same file, same daemon, same answers", () => {
    const before = nginxPids();
    const r = apply(nginxBundle(`bogus_directive on; ${hello("v3")}`));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown directive "bogus_directive"/);
    assert.doesNotMatch(r.stdout, /write /);
    assert.match(host.ok("cat /etc/nginx/conf.d/t1.conf"), /hello v2/);
    assert.equal(get(), "hello v2\n");
    assert.equal(nginxPids(), before);
  });

  it("starts a daemon that is down even when nothing changed", () => {
    host.ok("nginx -s stop; for i in $(seq 50); do pgrep -x nginx >/dev/null || exit 0; sleep 0.1; done; exit 1");
    const r = apply(nginxBundle(hello("v2")));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /done: 0 changes; start nginx/);
    assert.equal(get(), "hello v2\n");
  });

  it("runs Postfix with compiled tables that keep their source's owner and mode", () => {
    const r = apply(postfixBundle(MAIN_CF));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /account vmail \(5000\) created[\s\S]*postmap \/etc\/postfix\/virtual[\s\S]*start postfix/);
    assert.ok(!(r.stdout + r.stderr).includes(RELAY_PASSWORD));
    assert.equal(host.ok("id -u vmail; stat -c '%a %U' /var/vmail"), "5000\n750 vmail\n");
    assert.equal(host.ok("stat -c '%a %U' /etc/postfix/sasl_passwd.db /etc/postfix/virtual.db"), "600 root\n644 root\n");
    assert.equal(host.ok("postmap -q team@example.org hash:/etc/postfix/virtual"), "alice@example.net, bob@example.net\n");
    assert.match(host.ok("exec 3<>/dev/tcp/127.0.0.1/25; head -n 1 <&3"), /^220 t1\.example\.net ESMTP/);
  });

  it("leaves Postfix as it was when a new main.cf fails, and is idempotent", () => {
    const master = host.ok("pgrep -x master");
    const bad = apply(postfixBundle(MAIN_CF + "smtpd_tls_chain_filez = /etc/x\n"));
    assert.notEqual(bad.status, 0);
    assert.equal(host.ok("cat /etc/postfix/main.cf"), MAIN_CF);
    const again = apply(postfixBundle(MAIN_CF));
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /no changes/);
    assert.equal(host.ok("pgrep -x master"), master);
  });
});

// THE test that every rendered file of every host passes its daemon's real checker.
for (const stack of STACKS) {
  describe(`every ${stack} host's rendered bundle passes provision.sh check`, function () {
    this.timeout(300_000);
    for (const h of allHosts(loadStackSpec(REPO, stack))) {
      it(h.name, () => {
        const b = renderStack(stack).bundles.find((x) => x.host.name === h.name)!;
        const r = provision("check", b);
        assert.equal(r.status, 0, r.out);
      });
    }
  });
}
