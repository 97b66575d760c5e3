// Issue 9's hardening, on the wire, from the internet host and between lab hosts: the webmail holds
// no login of its own, a login sends neither the null sender nor another address's From, every
// TLS endpoint refuses TLS 1.0/1.1 (the public MX included, README "TLS versions"; tls-scan.test.ts
// scans them all with testssl.sh), the webmail is reached over verified TLS only, and every HTTPS
// server sends the security headers.
import * as assert from "assert";
import { INTERNAL, PORTS } from "../../components/core/src/ports";
import { CSP_NOTHING, CSP_ROUNDCUBE } from "../../components/core/src/shared/nginx";
import { ROUNDCUBE_CONFIG } from "../../components/core/src/roles/webmail/roundcube";
import type { SendResult } from "./clients/mail-client";
import { authPlain, BODY, client, dialogue, inHost, Lab, OUTSIDE_RECIPIENT, setupLab, subject } from "./harness";
import { inNetns } from "../../lab";

/** `openssl s_client` from a lab host: did a handshake at exactly `version` complete? */
function handshake(from: string, host: string, port: number, version: "tls1_1" | "tls1_2", starttls?: "smtp" | "imap" | "sieve", servername?: string): boolean {
  // SECLEVEL=0 on the client, so only the server can be the one that refuses an old version.
  const argv = ["openssl", "s_client", "-connect", `${host}:${port}`, `-${version}`, "-cipher", "DEFAULT@SECLEVEL=0",
    ...(starttls ? ["-starttls", starttls] : []), ...(servername ? ["-servername", servername] : [])];
  const r = inNetns(from, argv, { input: "", timeoutMs: 20_000 });
  return /^\s*Protocol\s*: TLSv1\.[0-3]/m.test(r.stdout) && !/Cipher is \(NONE\)/.test(r.stdout);
}

describe("lab: hardening (issue 9)", function () {
  this.timeout(180_000);
  let lab: Lab;

  before(async function () {
    this.timeout(30 * 60_000);
    lab = await setupLab();
  });

  const submission = () => ({ host: lab.inventory.endpoints.submission[0], port: PORTS.submission, protocol: "smtp" as const, servername: lab.names.submission });
  const [alice, bob] = [0, 1].map((i) => () => lab.spec.users[i].address);

  it("the credentials in the webmail's Roundcube config are not a login: it submits as each user", () => {
    const [webmail] = lab.role("webmail");
    const read = inHost(webmail.name, ["php", "-r", `$config = []; include "${ROUNDCUBE_CONFIG}"; echo json_encode([$config["smtp_user"], $config["smtp_pass"]]);`]);
    const [user, pass] = JSON.parse(read) as [string, string];
    const r = dialogue(lab, submission(), [
      "EHLO client.outside.example",
      "STARTTLS",
      "EHLO client.outside.example",
      `AUTH PLAIN ${authPlain(user, pass)}`,
      `MAIL FROM:<${bob()}>`,
      `RCPT TO:<${OUTSIDE_RECIPIENT("dora")}>`,
      "QUIT",
    ]);
    assert.equal(r.replies[3].status, "535", `AUTH as the webmail's configured ${user}: ${r.replies[3].reply}`);
    assert.match(r.replies[5].status, /^5\d\d$/, `sending as ${bob()}: ${r.replies[5].reply}`);
    assert.deepEqual([user, pass], ["%u", "%p"]);
  });

  it("a login may not send with the null sender", () => {
    const r = dialogue(lab, submission(), [
      "EHLO client.outside.example",
      "STARTTLS",
      "EHLO client.outside.example",
      `AUTH PLAIN ${authPlain(alice(), lab.password(alice()))}`,
      "MAIL FROM:<>",
      `RCPT TO:<${OUTSIDE_RECIPIENT("dora")}>`,
      "QUIT",
    ]);
    assert.equal(r.replies[3].status, "235", r.replies[3].reply);
    assert.match(r.replies[5].status, /^5\d\d$/, `RCPT after MAIL FROM:<>: ${r.replies[5].reply}`);
    assert.match(r.replies[5].reply, /null sender/);
  });

  it("a login may not put another address in the From header (its envelope sender is its own)", () => {
    const send = (headerFrom: string) => client<SendResult>("internet", {
      action: "send",
      ...submission(),
      from: lab.stranger,
      ca: lab.inventory.caCertificate,
      tls: "starttls",
      auth: { user: alice(), pass: lab.password(alice()) },
      envelope: { from: alice(), to: [OUTSIDE_RECIPIENT("dora")] },
      message: { from: headerFrom, to: OUTSIDE_RECIPIENT("dora"), subject: subject("from header"), text: BODY },
    });
    for (const other of [bob(), "ceo@partner.example"]) {
      const r = send(other);
      assert.equal(r.ok, false, `From: ${other} was accepted`);
      assert.equal(r.code, 554, JSON.stringify(r));
    }
    const own = send(alice());
    assert.equal(own.ok, true, JSON.stringify(own));
  });

  it("every TLS endpoint refuses TLS 1.1 and completes TLS 1.2: MX 25 and 465, submission, IMAPS, HTTPS, and the webmail behind the frontends", () => {
    const mx = lab.inventory.endpoints.mx[0];
    const frontend = lab.inventory.endpoints.submission[0];
    const [webmail] = lab.role("webmail");
    const [frontendHost] = lab.role("frontend");
    const endpoints: { from: string; host: string; port: number; starttls?: "smtp" | "imap" | "sieve"; servername?: string; label: string }[] = [
      { from: "internet", host: mx, port: PORTS.smtp, starttls: "smtp", label: "MX 25 (STARTTLS)" },
      { from: "internet", host: mx, port: PORTS.submissions, label: "MX 465" },
      { from: "internet", host: frontend, port: PORTS.submission, starttls: "smtp", label: "submission 587 (smtp-out)" },
      { from: "internet", host: frontend, port: PORTS.imaps, label: "IMAPS 993 (maildrop)" },
      // The frontends answer HTTPS only for the names they serve.
      { from: "internet", host: frontend, port: PORTS.https, servername: lab.names.webmail, label: "HTTPS 443 (frontend)" },
      { from: frontendHost.name, host: webmail.address, port: INTERNAL.webmailHttps, label: "webmail 443, from a frontend" },
      // testssl.sh has no ManageSieve: the webmail's Sieve editor's path, to a maildrop through the frontend.
      { from: webmail.name, host: frontendHost.address, port: PORTS.managesieve, starttls: "sieve", label: "ManageSieve 4190 (maildrop)" },
    ];
    for (const e of endpoints) {
      assert.equal(handshake(e.from, e.host, e.port, "tls1_1", e.starttls, e.servername), false, `${e.label}: TLS 1.1 completed`);
      assert.equal(handshake(e.from, e.host, e.port, "tls1_2", e.starttls, e.servername), true, `${e.label}: TLS 1.2 failed`);
    }
  });

  it("the frontends reach the webmail over TLS only: its plain HTTP port is closed, HTTPS verifies against the platform CA", () => {
    const [webmail] = lab.role("webmail");
    const [frontendHost] = lab.role("frontend");
    const probe = client<{ targets: { host: string; port: number; open: boolean }[] }>(frontendHost.name, {
      action: "probe",
      targets: [{ host: webmail.address, port: PORTS.http }, { host: webmail.address, port: INTERNAL.webmailHttps }],
    });
    assert.deepEqual(probe.targets.map((t) => [t.port, t.open]), [[PORTS.http, false], [INTERNAL.webmailHttps, true]]);
    const r = client<{ status: number; body: string }>(frontendHost.name, {
      action: "http",
      host: webmail.address,
      port: INTERNAL.webmailHttps,
      servername: lab.names.webmail,
      hostHeader: lab.names.webmail,
      ca: lab.inventory.caCertificate,
      path: "/",
    });
    assert.equal(r.status, 200, r.body.slice(0, 300));
    assert.match(r.body, /roundcube/i);
  });

  /** The response headers of an HTTPS GET with curl from a lab host (`--interface`: a source address of it). */
  function headersOf(from: string, url: string, connectTo: string, source?: string): { status: number; headers: Map<string, string[]>; raw: string } {
    const { hostname, port } = new URL(url);
    const r = inNetns(from, ["curl", "-sS", "-o", "/dev/null", "-D", "-", "--max-time", "15", "--cacert", lab.inventory.caCertificate,
      "--resolve", `${hostname}:${port || 443}:${connectTo}`, ...(source ? ["--interface", source] : []), url], { timeoutMs: 30_000 });
    assert.equal(r.status, 0, `curl ${url} from ${from}: ${r.stderr}`);
    const headers = new Map<string, string[]>();
    for (const line of r.stdout.split("\r\n").slice(1)) {
      const m = /^([^:]+):\s*(.*)$/.exec(line);
      if (m) headers.set(m[1].toLowerCase(), [...(headers.get(m[1].toLowerCase()) ?? []), m[2]]);
    }
    return { status: Number(/^HTTP\/\S+ (\d+)/.exec(r.stdout)?.[1]), headers, raw: r.stdout };
  }

  it("every HTTPS server sends HSTS, nosniff, a CSP, Referrer-Policy and X-Frame-Options, once each; Roundcube's cookie is SameSite", () => {
    const [frontendHost] = lab.role("frontend");
    const [webmail] = lab.role("webmail");
    const [smtpIn] = lab.role("smtp-in");
    const [maildrop] = lab.role("maildrop");
    const frontend = lab.inventory.endpoints.submission[0];
    const domain = lab.spec.domains[0].name;
    const own = { csp: CSP_NOTHING, frames: "DENY", referrer: "no-referrer" };
    const roundcube = { csp: CSP_ROUNDCUBE, frames: "SAMEORIGIN", referrer: "same-origin" };
    const cases = [
      { label: "webmail through a frontend", from: "internet", source: lab.office, url: `https://${lab.names.webmail}/`, to: frontend, want: roundcube, status: 200 },
      { label: "webmail through a frontend, outside its networks", from: "internet", url: `https://${lab.names.webmail}/`, to: frontend, want: roundcube, status: 403 },
      { label: "MTA-STS policy", from: "internet", url: `https://mta-sts.${domain}/.well-known/mta-sts.txt`, to: frontend, want: own, status: 200 },
      { label: "autoconfig", from: "internet", url: `https://autoconfig.${domain}/mail/config-v1.1.xml`, to: frontend, want: own, status: 200 },
      { label: "the webmail host itself", from: frontendHost.name, url: `https://${lab.names.webmail}/`, to: webmail.address, want: roundcube, status: 200 },
      { label: "Rspamd controller's TLS", from: maildrop.name, url: `https://${smtpIn.fqdn}:${INTERNAL.rspamdController}/stat`, to: smtpIn.address, want: own },
    ];
    for (const c of cases) {
      const r = headersOf(c.from, c.url, c.to, c.source);
      if (c.status) assert.equal(r.status, c.status, `${c.label}: ${r.raw}`);
      const one = (name: string) => {
        const values = r.headers.get(name) ?? [];
        assert.equal(values.length, 1, `${c.label}: ${name} sent ${values.length} times\n${r.raw}`);
        return values[0];
      };
      assert.equal(one("strict-transport-security"), "max-age=31536000", c.label);
      assert.equal(one("x-content-type-options"), "nosniff", c.label);
      assert.equal(one("content-security-policy"), c.want.csp, c.label);
      assert.equal(one("referrer-policy"), c.want.referrer, c.label);
      assert.equal(one("x-frame-options"), c.want.frames, c.label);
      if (c.status === 200 && c.want === roundcube) {
        const session = (r.headers.get("set-cookie") ?? []).find((v) => v.startsWith("roundcube_sessid="));
        assert.ok(session, `${c.label}: no session cookie\n${r.raw}`);
        assert.match(session, /; secure/i, c.label);
        assert.match(session, /; SameSite=Lax/, c.label);
      }
    }
  });
});
