// The lab's TLS endpoints scanned by testssl.sh (Debian's), from a lab host the trust zones admit:
// no protocol below TLS 1.2, no cipher without forward secrecy, the certificate chain valid against
// the platform CA. The reports (JSON and text, one per scan) are kept in test-artifacts/tls-scan/.
//
// A full scan of every port of every host took over 5 minutes per scan here (2 cores, each scan a
// shell script forking openssl hundreds of times, the MTAs' connection rate limits), so each check
// runs where its answer can differ: what a listener offers (-p protocols, -e every cipher with its
// key exchange) depends on the role's rendered config, the same on every host of the role, and is
// scanned on every port of the first host of each role; the chain (-S) depends on the host's own
// certificate, the same on all its ports, and is scanned on one port of every host, with its
// protocols (-p) again.
//
// Not scanned here: the PROXY-protocol ports (a PROXY header comes first; the frontends' ports are
// scanned and reach them), ManageSieve (testssl 3.0 has no STARTTLS for it: hardening.test.ts
// checks its TLS versions with openssl), plain HTTP (port 80 only redirects) and SSH.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { allHosts, Host, networkRules, NetworkRule, Role } from "../../components/core/src";
import { INTERNAL, PORTS } from "../../components/core/src/ports";
import { inNetnsAsync, inParallel } from "../../lab";
import { Lab, setupLab } from "./harness";

const ARTIFACTS = path.resolve(__dirname, "../../test-artifacts/tls-scan");

type Starttls = "smtp" | "lmtp" | "imap" | "pop3";

/** How TLS starts on each port the platform serves it on: STARTTLS with this protocol, or at once (undefined). */
const TLS_PORTS = new Map<number, Starttls | undefined>([
  [PORTS.smtp, "smtp"], [PORTS.submission, "smtp"], [PORTS.submissions, undefined],
  [PORTS.imap, "imap"], [PORTS.imaps, undefined], [PORTS.pop3, "pop3"], [PORTS.pop3s, undefined],
  [PORTS.https, undefined], [INTERNAL.lmtp, "lmtp"], [INTERNAL.doveadm, undefined], [INTERNAL.rspamdController, undefined],
]);

/** At most this many scans at once: each keeps about one core busy forking openssl. */
const PARALLEL_SCANS = 4;
const SCAN_TIMEOUT_MS = 240_000;

interface Endpoint {
  label: string;
  /** testssl's checks for it. */
  checks: ("-p" | "-e" | "-S")[];
  /** The lab host the scan runs from. */
  from: string;
  address: string;
  port: number;
  starttls?: Starttls;
  /** The name asked for (SNI): the frontends answer HTTPS only for the names they serve. */
  servername: string;
}

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

/** Where a host may be reached from by a rule, and at which address; undefined for sources the lab has no client in. */
function scanner(lab: Lab, rule: NetworkRule, target: Host): { from: string; address: string } | undefined {
  const own = lab.role(target.role).find((h) => h.name === target.name)!;
  switch (rule.from.kind) {
    case "anywhere":
      return own.publicAddress ? { from: "internet", address: own.publicAddress } : undefined;
    case "role": {
      const peer = lab.role(rule.from.role).find((h) => h.name !== target.name);
      return peer && { from: peer.name, address: own.address };
    }
    case "networks": {
      if (rule.from.name !== "site-local") return undefined;
      const neighbour = allHosts(lab.spec).find((h) => h.site.name === target.site.name && h.name !== target.name);
      return neighbour && { from: neighbour.name, address: own.address };
    }
    default:
      return undefined;
  }
}

/** Where the host's own certificate answers: the frontends pass the mail ports' TLS through to the backends. */
const ownTls = (host: Host, port: number) => host.role !== "frontend" || port === PORTS.https;

/**
 * The scans: every TLS port of the first host of each role (-p -e), one port of every host where
 * its own certificate answers (-S, and -p), each from the first rule that admits a lab client.
 */
function endpoints(lab: Lab): Endpoint[] {
  const rules = networkRules(lab.spec).filter((r) => TLS_PORTS.has(r.port));
  const out: Endpoint[] = [];
  for (const host of allHosts(lab.spec)) {
    const first = lab.role(host.role)[0].name === host.name;
    const ports = [...new Set(rules.filter((r) => r.role === host.role).map((r) => r.port))];
    const chainPort = ports.find((p) => ownTls(host, p));
    ports.forEach((port) => {
      const chain = port === chainPort;
      const checks: Endpoint["checks"] = [...(first || chain ? ["-p" as const] : []), ...(first ? ["-e" as const] : []), ...(chain ? ["-S" as const] : [])];
      if (checks.length === 0) return;
      const via = rules.filter((r) => r.role === host.role && r.port === port).map((r) => scanner(lab, r, host)).find(Boolean);
      assert.ok(via, `${host.name}:${port}: no lab host may reach it`);
      const servername = host.role === "frontend" && port === PORTS.https ? lab.names.webmail : host.fqdn;
      out.push({ label: `${host.name}-${port}`, checks, ...via, port, starttls: TLS_PORTS.get(port), servername });
    });
  }
  return out;
}

/** testssl: protocols (-p), each cipher with its key exchange (-e), the certificate and its chain (-S) against the platform CA. */
async function scan(e: Endpoint, ca: string): Promise<{ findings: Finding[]; seconds: number; failure?: string }> {
  const json = path.join(ARTIFACTS, `${e.label}.json`);
  const started = Date.now();
  const r = await inNetnsAsync(e.from, [
    "testssl", "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none", "--openssl-timeout", "10",
    "--ip", e.address, "--add-ca", ca, ...e.checks, "--jsonfile", json,
    ...(e.starttls ? ["-t", e.starttls] : []), `${e.servername}:${e.port}`,
  ], { timeoutMs: SCAN_TIMEOUT_MS });
  const seconds = (Date.now() - started) / 1000;
  fs.writeFileSync(path.join(ARTIFACTS, `${e.label}.txt`), `from ${e.from}: ${e.servername}:${e.port} at ${e.address}${e.starttls ? ` (STARTTLS ${e.starttls})` : ""}\n\n${r.stdout}${r.stderr}`);
  try {
    return { findings: JSON.parse(fs.readFileSync(json, "utf8")) as Finding[], seconds };
  } catch (err) {
    return { findings: [], seconds, failure: `testssl exited ${r.status} (after ${seconds.toFixed(0)} s) without a complete report: ${(err as Error).message}` };
  }
}

/** The key exchange column of an -e line ("x1302 TLS_AES_256_GCM_SHA384 ECDH 253 ..."): ephemeral (EC)DH only gives forward secrecy. */
function keyExchange(f: Finding): string {
  return f.finding.trim().split(/\s+/)[2];
}

describe("lab: TLS scan of every endpoint (testssl.sh)", function () {
  this.timeout(30 * 60_000);
  let lab: Lab;
  let targets: Endpoint[];
  let results: { findings: Finding[]; seconds: number; failure?: string }[];

  before(async function () {
    lab = await setupLab();
    targets = endpoints(lab);
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const started = Date.now();
    results = await inParallel(targets, PARALLEL_SCANS, (e) => scan(e, lab.inventory.caCertificate));
    const summary = targets.map((e, i) => `${e.label}\t${e.checks.join(" ")}\tfrom ${e.from}\t${e.servername}:${e.port}${e.starttls ? ` STARTTLS ${e.starttls}` : ""}\t${results[i].seconds.toFixed(0)} s${results[i].failure ? `\tFAILED: ${results[i].failure}` : ""}`);
    fs.writeFileSync(path.join(ARTIFACTS, "summary.txt"), `${summary.join("\n")}\n\n${targets.length} endpoints in ${((Date.now() - started) / 1000).toFixed(0)} s, ${PARALLEL_SCANS} at a time\n`);
  });

  /** Problems over every endpoint: `judge` names what is wrong with one endpoint's findings. */
  const problems = (judge: (findings: Finding[]) => string[]) =>
    targets.flatMap((e, i) => judge(results[i].findings).map((p) => `${e.label} (${e.servername}:${e.port} from ${e.from}): ${p}`));

  it("scans every TLS port of each role and every host's certificate, each scan complete", () => {
    const scanned = (check: Endpoint["checks"][number]) => new Set(targets.filter((e) => e.checks.includes(check)).map((e) => e.label.replace(/-\d+$/, "")));
    assert.deepEqual(scanned("-S"), new Set(allHosts(lab.spec).map((h) => h.name)));
    assert.deepEqual(scanned("-e"), new Set((["smtp-in", "smtp-out", "maildrop", "frontend", "webmail"] as Role[]).flatMap((r) => lab.role(r).slice(0, 1).map((h) => h.name))));
    assert.deepEqual(targets.flatMap((e, i) => (results[i].failure ? [`${e.label}: ${results[i].failure}`] : [])), []);
    // Each check left its findings: a scan cut short by a timeout or a refused connection has not.
    const expected = { "-p": (f: Finding[]) => f.some((x) => x.id === "TLS1_2"), "-e": (f: Finding[]) => f.some((x) => x.id.startsWith("cipher_x")), "-S": (f: Finding[]) => f.some((x) => x.id === "cert_chain_of_trust") };
    assert.deepEqual(targets.flatMap((e, i) => e.checks.filter((c) => !expected[c](results[i].findings)).map((c) => `${e.label}: no findings of ${c}`)), []);
  });

  it("offers no protocol below TLS 1.2, and TLS 1.2", () => {
    assert.deepEqual(problems((f) => [
      ...f.filter((x) => ["SSLv2", "SSLv3", "TLS1", "TLS1_1"].includes(x.id) && x.finding !== "not offered").map((x) => `${x.id}: ${x.finding}`),
      ...f.filter((x) => x.id === "TLS1_2" && !x.finding.startsWith("offered")).map((x) => `TLS 1.2: ${x.finding}`),
    ]), []);
  });

  it("offers no cipher without forward secrecy (ephemeral ECDH or DH only)", () => {
    assert.deepEqual(problems((f) => f.filter((x) => x.id.startsWith("cipher_x") && !["ECDH", "DH"].includes(keyExchange(x))).map((x) => `no forward secrecy: ${x.finding}`)), []);
  });

  it("presents a certificate chain valid against the platform CA", () => {
    assert.deepEqual(problems((f) => f.filter((x) => x.id === "cert_chain_of_trust" && !x.finding.startsWith("passed")).map((x) => `chain: ${x.finding}`)), []);
  });
});
