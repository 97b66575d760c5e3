// Frontends (NGINX stream + HTTPS) and the webmail (Roundcube): what the rendered configs derive
// from the spec, the real checkers on them through provision.sh check (nginx -t, php-fpm -t,
// php -l), and both hosts running for real (provision.sh apply in a sandbox), with fake backends and
// clients in a sandbox linked to them (frontend-lab.ts).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { daemons } from "../../components/core/src/daemons";
import { HostBundle, HostFile } from "../../components/core/src/files";
import { renderHost } from "../../components/core/src/render";
import { INTERNAL, PORTS, PROXIED } from "../../components/core/src/ports";
import { renderFrontend } from "../../components/core/src/roles/frontend";
import { renderWebmail } from "../../components/core/src/roles/webmail";
import { MANAGESIEVE_CONFIG, php, ROUNDCUBE_CONFIG } from "../../components/core/src/roles/webmail/roundcube";
import { PlatformSecrets } from "../../components/core/src/secrets";
import { generateLocalSecrets } from "../../components/core/src/secrets/local";
import { mtaStsPolicy } from "../../components/core/src/shared/mta-sts";
import { CSP_NOTHING, CSP_ROUNDCUBE, NGINX_HTTP_CONF, NGINX_STREAM_CONF } from "../../components/core/src/shared/nginx";
import { TLS_CA } from "../../components/core/src/shared/tls";
import { loadStackSpec } from "../../components/core/src/spec/load";
import { PlatformSpec } from "../../components/core/src/spec/types";
import { hostsOf, serviceNames } from "../../components/core/src/topology";
import { check, startHosts } from "../support/provision";
import { Sandbox } from "../support/sandbox";
import type { HttpResult, LabInput, TcpResult } from "./frontend-lab";

const root = path.join(__dirname, "..", "..");
/** What Roundcube sends with a download (rcube_output.php); the frontend must pass it on unchanged. */
const DOWNLOAD_CSP = "default-src 'none'; img-src 'self'";

/** The security headers of an HTTPS answer, each sent exactly once (Node joins repeated ones with ", "). */
function assertSecurityHeaders(r: HttpResult, label: string, expected: { csp: string; frames: string; referrer: string }): void {
  const h = r.headers;
  assert.equal(h["strict-transport-security"], "max-age=31536000", `${label}: HSTS`);
  assert.equal(h["x-content-type-options"], "nosniff", `${label}: nosniff`);
  assert.equal(h["content-security-policy"], expected.csp, `${label}: CSP`);
  assert.equal(h["x-frame-options"], expected.frames, `${label}: X-Frame-Options`);
  assert.equal(h["referrer-policy"], expected.referrer, `${label}: Referrer-Policy`);
}

function fileOf(b: HostBundle, p: string): HostFile {
  const f = b.files.find((x) => x.path === p);
  assert.ok(f, `${b.host.name} has no ${p}`);
  return f;
}

/** `upstream name { ... }` blocks: members as address:port and whether each is a backup. */
function upstreams(conf: string): Record<string, { member: string; backup: boolean; line: string }[]> {
  const out: Record<string, { member: string; backup: boolean; line: string }[]> = {};
  for (const m of conf.matchAll(/upstream (\S+) \{([^}]*)\}/g)) {
    out[m[1]] = [...m[2].matchAll(/server (\S+)([^;]*);/g)].map((s) => ({ member: s[1], backup: /\bbackup\b/.test(s[2]), line: s[0] }));
  }
  return out;
}

/** The stream `server { ... }` block that listens on a port. */
function streamServer(conf: string, port: number): string {
  const block = conf.split(/\n(?=upstream |server \{)/).find((b) => b.startsWith("server {") && b.includes(`listen ${port};`));
  assert.ok(block, `no stream server on ${port}`);
  return block;
}

/**
 * Starts the host (provision.sh apply) with the world outside it in a linked sandbox holding
 * `addresses` (its first is where clients come from by default), runs frontend-lab.ts there and
 * returns its observations, and the host for a look inside.
 */
async function runLab(host: HostBundle, addresses: string[], input: Omit<LabInput, "target">): Promise<{ results: Record<string, unknown>; box: Sandbox }> {
  const outside = await Sandbox.start({ hostname: "outside", addresses });
  try {
    const [box] = await startHosts([host], { peers: [outside] });
    fs.writeFileSync(outside.path("/tmp/input.json"), JSON.stringify({ ...input, target: host.host.address }));
    const r = outside.run(`cd ${root} && ${process.execPath} --import tsx ${path.join(__dirname, "frontend-lab.ts")} /tmp/input.json`, { timeoutMs: 90_000 });
    const line = r.stdout.split("\n").find((l) => l.startsWith("LAB "));
    if (!line) await box.stop();
    assert.ok(line, `lab failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    return { results: JSON.parse(line.slice(4)), box };
  } finally {
    await outside.stop();
  }
}

for (const stack of ["prod", "staging"]) {
  describe(`frontend and webmail (${stack})`, () => {
    let spec: PlatformSpec;
    let secrets: PlatformSecrets;
    let frontends: HostBundle[];
    let webmails: HostBundle[];
    before(() => {
      spec = loadStackSpec(root, stack);
      secrets = generateLocalSecrets(spec);
      frontends = hostsOf(spec, "frontend").map((host) => renderFrontend({ spec, secrets, host }));
      webmails = hostsOf(spec, "webmail").map((host) => renderWebmail({ spec, secrets, host }));
    });

    it("proxies submission to every smtp-out, the first primary and the others backup", () => {
      const smtpOut = hostsOf(spec, "smtp-out");
      for (const fe of frontends) {
        const ups = upstreams(fileOf(fe, NGINX_STREAM_CONF).content);
        for (const svc of ["submission", "submissions"] as const) {
          assert.deepEqual(ups[svc].map((u) => u.member), smtpOut.map((h) => `${h.address}:${PROXIED[svc]}`));
          assert.deepEqual(ups[svc].map((u) => u.backup), smtpOut.map((_, i) => i > 0));
          for (const u of ups[svc]) assert.match(u.line, /max_fails=2 fail_timeout=10s/);
        }
      }
    });

    it("proxies IMAP, POP3 and ManageSieve to the maildrop pair with the PROXY protocol", () => {
      const [primary, backup] = hostsOf(spec, "maildrop");
      for (const fe of frontends) {
        const conf = fileOf(fe, NGINX_STREAM_CONF).content;
        assert.match(conf, /^proxy_protocol on;$/m);
        assert.match(conf, /^proxy_connect_timeout 2s;$/m);
        const ups = upstreams(conf);
        for (const svc of ["imaps", "imap", "pop3s", "pop3", "managesieve"] as const) {
          assert.deepEqual(ups[svc], [
            { member: `${primary.address}:${PROXIED[svc]}`, backup: false, line: `server ${primary.address}:${PROXIED[svc]} max_fails=2 fail_timeout=10s;` },
            { member: `${backup.address}:${PROXIED[svc]}`, backup: true, line: `server ${backup.address}:${PROXIED[svc]} max_fails=2 fail_timeout=10s backup;` },
          ]);
          const server = streamServer(conf, PORTS[svc]);
          assert.match(server, new RegExp(`listen \\[::\\]:${PORTS[svc]};`));
          assert.match(server, new RegExp(`proxy_pass ${svc};`));
        }
      }
    });

    it("opens ManageSieve to the sieve networks and the webmail hosts only", () => {
      const expected = [...spec.access.sieveNetworks, ...hostsOf(spec, "webmail").map((h) => h.address)];
      const conf = fileOf(frontends[0], NGINX_STREAM_CONF).content;
      const sieve = streamServer(conf, PORTS.managesieve);
      assert.deepEqual([...sieve.matchAll(/allow (\S+);/g)].map((m) => m[1]), expected);
      assert.match(sieve, /allow [^\n]+;\n    deny all;/);
      assert.doesNotMatch(streamServer(conf, PORTS.imaps), /allow|deny/);
    });

    it("admits the webmail from the webmail networks only, and proxies it to the webmail hosts", () => {
      const conf = fileOf(frontends[0], NGINX_HTTP_CONF).content;
      const geo = conf.match(/geo \$webmail_allowed \{([^}]*)\}/)![1];
      assert.deepEqual([...geo.matchAll(/^\s+(\S+) 1;$/gm)].map((m) => m[1]), spec.access.webmailNetworks);
      assert.match(geo, /default 0;/);
      assert.deepEqual(upstreams(conf).webmail.map((u) => u.member), hostsOf(spec, "webmail").map((h) => `${h.address}:${INTERNAL.webmailHttps}`));
      // The hop to the webmail crosses sites: TLS, the webmail's certificate verified against the platform CA.
      const location = /server_name [^;]*webmail[\s\S]*?location \/ \{([^}]*)\}/.exec(conf)![1];
      assert.match(location, /proxy_pass https:\/\/webmail;/);
      assert.match(location, /proxy_ssl_verify on;/);
      assert.match(location, new RegExp(`proxy_ssl_trusted_certificate ${TLS_CA};`));
      assert.match(location, new RegExp(`proxy_ssl_name ${serviceNames(spec).webmail};`));
      for (const wm of webmails) {
        const wmConf = fileOf(wm, NGINX_HTTP_CONF).content;
        assert.match(wmConf, new RegExp(`listen ${INTERNAL.webmailHttps} ssl`));
        assert.doesNotMatch(wmConf, /listen 80\b/);
      }
      assert.match(conf, new RegExp(`server_name ${serviceNames(spec).webmail};[\\s\\S]*if \\(\\$webmail_allowed = 0\\)`));
    });

    it("serves an MTA-STS policy naming every smtp-in host, whose id follows the policy", () => {
      const policy = mtaStsPolicy(spec);
      assert.deepEqual([...policy.text.matchAll(/^mx: (.+)$/gm)].map((m) => m[1]), hostsOf(spec, "smtp-in").map((h) => h.fqdn));
      assert.match(policy.text, new RegExp(`^mode: ${spec.dns.mtaStsMode}$`, "m"));
      assert.match(policy.id, /^[0-9a-f]{1,32}$/);
      const other = mtaStsPolicy({ ...spec, dns: { ...spec.dns, mtaStsMode: spec.dns.mtaStsMode === "enforce" ? "testing" : "enforce" } });
      assert.notEqual(other.id, policy.id);
      assert.equal(mtaStsPolicy(spec).id, policy.id);
      const conf = fileOf(frontends[0], NGINX_HTTP_CONF).content;
      assert.ok(conf.includes(`server_name ${spec.domains.map((d) => `mta-sts.${d.name}`).join(" ")};`));
      assert.equal(fileOf(frontends[0], "/var/www/mailplatform/mta-sts.txt").content, policy.text);
    });

    it("tells mail clients the platform's service names (autoconfig, autodiscover)", () => {
      const names = serviceNames(spec);
      for (const d of spec.domains) {
        const xml = fileOf(frontends[0], `/var/www/mailplatform/autoconfig/${d.name}.xml`).content;
        assert.match(xml, new RegExp(`<emailProvider id="${d.name}">`));
        const servers = [...xml.matchAll(/<hostname>(.+)<\/hostname>\s*<port>(\d+)<\/port>\s*<socketType>(\w+)</g)].map((m) => m.slice(1).join(" "));
        assert.deepEqual(servers, [`${names.imap} 993 SSL`, `${names.pop3} 995 SSL`, `${names.submission} 465 SSL`, `${names.submission} 587 STARTTLS`]);
        assert.match(fileOf(frontends[0], NGINX_HTTP_CONF).content, new RegExp(`server_name autoconfig\\.${d.name} autodiscover\\.${d.name};`));
      }
    });

    it("keeps Roundcube's secrets in a www-data-readable secret file and submits as the logged-in user", () => {
      for (const wm of webmails) {
        const cfg = fileOf(wm, ROUNDCUBE_CONFIG);
        assert.deepEqual([cfg.secret, cfg.owner, cfg.group, cfg.mode], [true, "root", "www-data", "0640"]);
        // Roundcube's %u/%p: the IMAP login and password of the session, never a shared account.
        assert.ok(cfg.content.includes(`$config['smtp_user'] = '%u';`));
        assert.ok(cfg.content.includes(`$config['smtp_pass'] = '%p';`));
        for (const p of Object.values(secrets.relayPasswords)) assert.ok(!cfg.content.includes(p), "no relay password on the webmail");
        assert.ok(cfg.content.includes(`$config['des_key'] = ${php(secrets.roundcubeDesKey)};`));
        assert.ok(cfg.content.includes(`$config['imap_host'] = 'ssl://${serviceNames(spec).imap}:993';`));
        assert.ok(cfg.content.includes(`$config['smtp_host'] = 'tls://${serviceNames(spec).submission}:587';`));
        assert.equal(fileOf(wm, MANAGESIEVE_CONFIG).secret, false);
      }
    });

    it("pins the webmail's service names to the frontends, its own site's first", () => {
      for (const wm of webmails) {
        const hosts = fileOf(wm, "/etc/hosts").content;
        const pinned = [...hosts.matchAll(/^(\S+) .*\bimap\./gm)].map((m) => m[1]);
        const fes = hostsOf(spec, "frontend");
        assert.deepEqual(new Set(pinned), new Set(fes.map((h) => h.address)));
        if (fes.some((f) => f.site.name === wm.host.site.name)) {
          assert.equal(pinned[0], fes.find((f) => f.site.name === wm.host.site.name)!.address);
        }
        assert.match(hosts, /^127\.0\.0\.1 localhost$/m);
      }
    });

    it("frontend config passes provision.sh check: nginx -t, perl -c of the upstream watch", async () => {
      const out = await check(frontends[0]);
      assert.match(out, /check: nginx -t ok$/m);
      assert.match(out, /check: perl -c \/etc\/mailplatform\/upstream-watch ok$/m);
    });

    it("webmail config passes provision.sh check (nginx -t, php-fpm -t, php -l), and PHP reads back the secrets", async () => {
      // A secret that needs escaping in PHP's single quotes.
      const tricky = { ...secrets, roundcubeDesKey: "it's a \\'quoted\\ key" };
      const wm = renderHost(spec, hostsOf(spec, "webmail")[0], tricky);
      const [out, [box]] = await Promise.all([check(wm), startHosts([wm])]);
      let read: string;
      try {
        read = box.ok(`runuser -u www-data -- php -r '$config = []; include "${ROUNDCUBE_CONFIG}"; echo "CONFIG ", json_encode($config), "\\n";'`);
      } finally {
        await box.stop();
      }
      const php = daemons(spec.debianRelease)["php-fpm"].checks;
      const expected = ["nginx -t", ...php.flatMap((c) => (c.eachFile ? [ROUNDCUBE_CONFIG, MANAGESIEVE_CONFIG].map((f) => `${c.label} ${f}`) : [c.label]))];
      for (const c of expected) assert.ok(out.includes(`check: ${c} ok\n`), `${c} in\n${out}`);
      const config = JSON.parse(read.split("\n").find((l) => l.startsWith("CONFIG "))!.slice(7));
      assert.deepEqual([config.smtp_user, config.smtp_pass], ["%u", "%p"]);
      assert.equal(config.des_key, tricky.roundcubeDesKey);
      assert.equal(config.imap_conn_options.ssl.cafile, TLS_CA);
      assert.ok(config.plugins.includes("managesieve"));
    });
  });
}

describe("frontend, running (prod)", function () {
  this.timeout(120_000);
  let spec: PlatformSpec;
  let secrets: PlatformSecrets;
  let results: Record<string, unknown>;
  const stranger = "198.51.100.7"; // outside every network the stack admits: clients come from here by default
  const client = "192.0.2.10"; // inside the prod stack's sieve and webmail networks

  before(async () => {
    spec = loadStackSpec(root, "prod");
    secrets = generateLocalSecrets(spec);
    const [primary, backup] = hostsOf(spec, "maildrop");
    const webmail = hostsOf(spec, "webmail")[0];
    const domain = spec.domains[0].name;
    const ca = "/tmp/ca.crt"; // outside, where the clients run
    const frontend = renderHost(spec, hostsOf(spec, "frontend")[0], secrets);
    let box: Sandbox;
    ({ results, box } = await runLab(frontend, [stranger, primary.address, backup.address, webmail.address, client], {
      tcpBackends: [primary, backup].flatMap((h) => [
        { name: h.name, address: h.address, port: PROXIED.imaps },
        { name: h.name, address: h.address, port: PROXIED.managesieve },
      ]),
      // The webmail's real certificate: the frontend must verify it against the platform CA.
      files: {
        [ca]: secrets.caCertificatePem,
        "/tmp/webmail.crt": secrets.hostCertificates[webmail.name].certificatePem + secrets.caCertificatePem,
        "/tmp/webmail.key": secrets.hostCertificates[webmail.name].privateKeyPem,
      },
      httpBackends: [{ address: webmail.address, port: INTERNAL.webmailHttps, tls: { cert: "/tmp/webmail.crt", key: "/tmp/webmail.key" }, downloadCsp: DOWNLOAD_CSP }],
      steps: [
        { kind: "tcp", label: "imapsPrimary", port: PORTS.imaps },
        { kind: "tcp", label: "sieveDenied", port: PORTS.managesieve },
        { kind: "tcp", label: "sieveAllowed", port: PORTS.managesieve, from: client },
        { kind: "stop", name: primary.name, port: PROXIED.imaps },
        { kind: "tcp", label: "imapsBackup", port: PORTS.imaps },
        { kind: "http", label: "mtaSts", url: "https://x/.well-known/mta-sts.txt", host: `mta-sts.${domain}`, ca },
        { kind: "http", label: "autoconfig", url: "https://x/mail/config-v1.1.xml?emailaddress=a%40b", host: `autoconfig.${domain}`, ca },
        { kind: "http", label: "autodiscover", url: "https://x/Autodiscover/Autodiscover.xml", host: `autoconfig.${domain}`, method: "POST", ca },
        { kind: "http", label: "webmailDenied", url: "https://x/", host: serviceNames(spec).webmail, ca },
        { kind: "http", label: "webmailAllowed", url: "https://x/?_task=login", host: serviceNames(spec).webmail, from: client, ca },
        { kind: "http", label: "webmailDownload", url: "https://x/?_task=mail&_action=get&_download=1", host: serviceNames(spec).webmail, from: client, ca },
        { kind: "http", label: "plainHttp", url: "http://x/mail/config-v1.1.xml", host: `autoconfig.${domain}` },
      ],
    }));
    await box.stop();
  });

  it("sends IMAPS to the primary maildrop with a PROXY header, and to the backup when the primary is down", () => {
    const [primary, backup] = hostsOf(spec, "maildrop");
    const first = results.imapsPrimary as TcpResult;
    assert.equal(first.backend, primary.name);
    const frontend = hostsOf(spec, "frontend")[0].address;
    assert.match(first.proxyHeader!, new RegExp(`^PROXY TCP4 ${stranger.replace(/\./g, "\\.")} ${frontend.replace(/\./g, "\\.")} \\d+ ${PORTS.imaps}$`));
    assert.equal((results.imapsBackup as TcpResult).backend, backup.name);
  });

  it("refuses ManageSieve from outside the sieve networks and passes it from inside", () => {
    assert.equal((results.sieveDenied as TcpResult).reply, "");
    const allowed = results.sieveAllowed as TcpResult;
    assert.equal(allowed.backend, hostsOf(spec, "maildrop")[0].name);
    assert.match(allowed.proxyHeader!, new RegExp(`^PROXY TCP4 ${client.replace(/\./g, "\\.")} `));
  });

  it("serves the MTA-STS policy over HTTPS as text/plain", () => {
    const r = results.mtaSts as HttpResult;
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/plain");
    assert.equal(r.body, mtaStsPolicy(spec).text);
  });

  it("serves autoconfig and answers Outlook's autodiscover POST", () => {
    const ac = results.autoconfig as HttpResult;
    assert.equal(ac.status, 200);
    assert.equal(ac.headers["content-type"], "application/xml");
    assert.ok(ac.body.includes(`<hostname>${serviceNames(spec).imap}</hostname>`));
    const ad = results.autodiscover as HttpResult;
    assert.equal(ad.status, 200);
    assert.ok(ad.body.includes(`<Server>${serviceNames(spec).submission}</Server>`));
  });

  it("lets only the webmail networks through to the webmail, with the client's address forwarded", () => {
    assert.equal((results.webmailDenied as HttpResult).status, 403);
    const allowed = results.webmailAllowed as HttpResult;
    assert.equal(allowed.status, 200);
    const seen = JSON.parse(allowed.body) as { headers: Record<string, string>; tls: boolean };
    assert.equal(seen.tls, true, "the frontend reached the webmail over TLS");
    assert.equal(seen.headers["x-forwarded-for"], client);
    assert.equal(seen.headers["x-forwarded-proto"], "https");
    assert.equal(seen.headers.host, serviceNames(spec).webmail);
    assert.match(String(allowed.headers["strict-transport-security"]), /max-age=/);
  });

  it("sends HSTS, nosniff, CSP, Referrer-Policy and X-Frame-Options on every HTTPS answer, once each; the webmail's own CSP passes", () => {
    const own = { csp: CSP_NOTHING, frames: "DENY", referrer: "no-referrer" };
    for (const label of ["mtaSts", "autoconfig", "autodiscover"]) assertSecurityHeaders(results[label] as HttpResult, label, own);
    const webmail = { csp: CSP_ROUNDCUBE, frames: "SAMEORIGIN", referrer: "same-origin" };
    for (const label of ["webmailDenied", "webmailAllowed"]) assertSecurityHeaders(results[label] as HttpResult, label, webmail);
    assertSecurityHeaders(results.webmailDownload as HttpResult, "webmailDownload", { ...webmail, csp: DOWNLOAD_CSP });
  });

  it("redirects plain HTTP to HTTPS", () => {
    const r = results.plainHttp as HttpResult;
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, `https://autoconfig.${spec.domains[0].name}/mail/config-v1.1.xml`);
  });
});

describe("webmail, running (staging)", function () {
  this.timeout(120_000);
  let spec: PlatformSpec;
  let results: Record<string, unknown>;
  let sqliteTables: string;
  const outsider = "10.30.9.9";

  before(async () => {
    spec = loadStackSpec(root, "staging");
    const secrets = generateLocalSecrets(spec);
    const webmail = renderHost(spec, hostsOf(spec, "webmail")[0], secrets);
    const frontend = hostsOf(spec, "frontend")[0].address;
    const host = serviceNames(spec).webmail;
    const ca = "/tmp/ca.crt";
    let box: Sandbox;
    ({ results, box } = await runLab(webmail, [frontend, outsider], {
      files: { [ca]: secrets.caCertificatePem },
      tcpBackends: [],
      httpBackends: [],
      // HTTPS only, with a certificate for the webmail's name from the platform CA (what the frontends verify).
      steps: [
        { kind: "http", label: "login", url: "https://x/", host, from: frontend, ca },
        { kind: "http", label: "outsider", url: "https://x/", host, from: outsider, ca },
        { kind: "http", label: "pluginConfig", url: "https://x/plugins/managesieve/config.inc.php", host, from: frontend, ca },
        { kind: "http", label: "skin", url: "https://x/skins/elastic/styles/styles.min.css", host, from: frontend, ca },
        { kind: "http", label: "download", url: "https://x/?_task=mail&_action=get&_download=1", host, from: frontend, ca },
      ],
    }));
    try {
      sqliteTables = box.ok("sqlite3 /var/lib/roundcube/db/roundcube.sqlite .tables");
    } finally {
      await box.stop();
    }
  });

  it("serves Roundcube's login page to the frontends, its database created on first use", () => {
    const login = results.login as HttpResult;
    assert.equal(login.status, 200, login.body.slice(0, 2000));
    assert.match(login.body, /rcmloginuser/);
    assert.match(login.body, new RegExp(`Webmail ${spec.platformDomain.replace(/\./g, "\\.")}`));
    for (const table of ["users", "session", "contacts"]) assert.match(sqliteTables, new RegExp(`\\b${table}\\b`));
  });

  it("sends the security headers once each (Roundcube's own X-Frame-Options and Referrer-Policy replaced), and a SameSite session cookie", () => {
    const webmail = { csp: CSP_ROUNDCUBE, frames: "SAMEORIGIN", referrer: "same-origin" };
    for (const label of ["login", "outsider", "skin"]) assertSecurityHeaders(results[label] as HttpResult, label, webmail);
    const cookies = (results.login as HttpResult).headers["set-cookie"] as string[];
    const session = cookies.find((c) => c.startsWith("roundcube_sessid="));
    assert.ok(session, cookies.join("\n"));
    assert.match(session, /; secure/i);
    assert.match(session, /; SameSite=Lax/);
  });

  it("refuses everybody but the frontends and never serves PHP sources", () => {
    assert.equal((results.outsider as HttpResult).status, 403);
    assert.equal((results.pluginConfig as HttpResult).status, 404);
    assert.equal((results.skin as HttpResult).status, 200);
  });
});
