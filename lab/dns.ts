// The `dns` host: the lab's whole DNS, as the root of its own Internet. One zone, ".", holds the
// platform's public records exactly as the core publishes them (dnsRecords, with the lab's public
// addresses and DKIM keys), the outside domains, and reverse names for every lab address; Unbound
// serves it authoritatively and never recurses, so any other name (a DNSBL entry) does not exist.
//
// The zone is DNSSEC-signed with the lab's own key, and every lab host trusts that key in place of
// the real root's (hosts.ts mounts it over /usr/share/dns/root.key): the platform's validating
// resolvers then work unchanged, validation included, as they would on the real Internet.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PlatformSpec } from "@mailplatform/core";
import { dkimPublicKeys, DnsRecord, dnsRecords, placeholderPublicAddresses } from "@mailplatform/core";
import { execInHost, writeHostFile } from "./hosts";
import { DNSSEC_DIR, TRUST_ANCHOR_FILE } from "./paths";
import { EXTERNAL_MX_NAME, isPlatformHost, LabHost, OUTSIDE, OUTSIDE_DOMAINS } from "./plan";
import { LabSecrets } from "./spec";
import { must } from "./system";

const TTL = 300;
const CONF = "/etc/unbound/unbound.conf";
const ZONE = "/etc/unbound/lab-root.zone";
/** Signatures outlive any lab: 90 days. */
const SIGNATURE_VALIDITY_SECONDS = 90 * 24 * 3600;

type Record = { name: string; type: DnsRecord["type"] | "PTR"; value: string };

/** Outside domains: the lab's own plus any the stack's spec sends to (forward targets, list members). */
export function outsideDomains(spec: PlatformSpec): string[] {
  const hosted = new Set([...spec.domains.map((d) => d.name), spec.platformDomain]);
  const targets = [...spec.forwards.flatMap((f) => f.to), ...spec.lists.flatMap((l) => l.members), ...spec.aliases.map((a) => a.to)];
  const domains = targets.map((a) => a.split("@")[1]).filter((d) => d && !hosted.has(d));
  return [...new Set([...OUTSIDE_DOMAINS, ...domains])];
}

/** Every record of the lab's DNS but the zone's own SOA and NS. */
export function labDnsRecords(spec: PlatformSpec, hosts: LabHost[], secrets: LabSecrets): Record[] {
  const platform = dnsRecords(spec, {
    publicAddresses: placeholderPublicAddresses(spec),
    dkim: dkimPublicKeys(secrets.platform.dkim),
  }).filter((r) => r.scope === "public");
  const outside = outsideDomains(spec).flatMap((d): Record[] => [
    { name: d, type: "MX", value: `10 ${EXTERNAL_MX_NAME}.` },
    // Outside mail comes from the internet host: SPF passes for it, as for a real sender.
    { name: d, type: "TXT", value: `v=spf1 ip4:${OUTSIDE.internet} ip4:${OUTSIDE.office} ip4:${OUTSIDE.externalMx} -all` },
  ]);
  // Forward and reverse names agree (FCrDNS): outside hosts, the office client, smtp-out's egress.
  const officeName = (h: LabHost) => `office.${h.fqdn.split(".").slice(1).join(".")}`;
  const named: [string, string][] = [
    ...hosts.filter((h) => !isPlatformHost(h)).map((h): [string, string] => [h.fqdn, h.address]),
    ...hosts.filter((h) => h.officeAddress).map((h): [string, string] => [officeName(h), h.officeAddress!]),
    ...hosts.filter((h) => h.egressAddress).map((h): [string, string] => [h.fqdn, h.egressAddress!]),
  ];
  const reverse: [string, string][] = [
    ...named.map(([name, address]): [string, string] => [address, name]),
    ...hosts.filter((h) => h.publicAddress).map((h): [string, string] => [h.publicAddress!, h.fqdn]),
    ...hosts.filter(isPlatformHost).map((h): [string, string] => [h.address, h.fqdn]),
  ];
  return [
    ...platform,
    ...outside,
    ...named.map(([name, address]): Record => ({ name, type: "A", value: address })),
    ...reverse.map(([address, name]): Record => ({ name: `${address.split(".").reverse().join(".")}.in-addr.arpa`, type: "PTR", value: `${name}.` })),
  ];
}

/** Presentation data: TXT as quoted strings of at most 255 characters. */
function rdata(r: Record): string {
  if (r.type !== "TXT") return r.value;
  return (r.value.match(/.{1,255}/g) ?? [""]).map((chunk) => `"${chunk}"`).join(" ");
}

export function labRootZone(spec: PlatformSpec, hosts: LabHost[], secrets: LabSecrets): string {
  const dns = hosts.find((h) => h.role === "dns")!;
  return [
    `$TTL ${TTL}`,
    `. IN SOA ${dns.fqdn}. hostmaster.${dns.fqdn}. 1 3600 600 86400 ${TTL}`,
    `. IN NS ${dns.fqdn}.`,
    ...labDnsRecords(spec, hosts, secrets).map((r) => `${r.name}. IN ${r.type} ${rdata(r)}`),
    "",
  ].join("\n");
}

/** The lab root's key, made once and kept with the lab's secrets; returns the trust anchor file. */
export function ensureTrustAnchor(): string {
  if (fs.existsSync(TRUST_ANCHOR_FILE)) return TRUST_ANCHOR_FILE;
  fs.mkdirSync(DNSSEC_DIR, { recursive: true, mode: 0o700 });
  const key = must(["dnssec-keygen", "-q", "-K", DNSSEC_DIR, "-a", "ECDSAP256SHA256", "-f", "KSK", "-n", "ZONE", "."]).trim();
  const ds = must(["dnssec-dsfromkey", "-2", path.join(DNSSEC_DIR, `${key}.key`)]);
  fs.writeFileSync(TRUST_ANCHOR_FILE, ds, { mode: 0o644 });
  return TRUST_ANCHOR_FILE;
}

function signZone(zone: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mplab-zone-"));
  try {
    fs.writeFileSync(path.join(dir, "root.zone"), zone);
    // One key signs everything (-z); -S picks it up from the key directory.
    // -d: its dsset file goes to the scratch directory, not the working directory.
    must(["dnssec-signzone", "-q", "-K", DNSSEC_DIR, "-d", dir, "-S", "-z", "-x", "-e", `+${SIGNATURE_VALIDITY_SECONDS}`,
      "-o", ".", "-f", path.join(dir, "root.signed"), path.join(dir, "root.zone")]);
    return fs.readFileSync(path.join(dir, "root.signed"), "utf8");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Unbound answers reverse names of private and documentation ranges (10/8, TEST-NETs) itself
 * with NXDOMAIN (RFC 6303); the lab's addresses live there, so those built-in zones are switched
 * off for every reverse name the zone holds (and their ancestors: 10.in-addr.arpa is one).
 */
function reverseZonesServed(zone: string): string[] {
  const names = [...zone.matchAll(/^([0-9.]+)\.in-addr\.arpa\. IN PTR /gm)].map((m) => m[1].split("."));
  const ancestors = names.flatMap((labels) => [1, 2, 3].map((n) => `${labels.slice(labels.length - n).join(".")}.in-addr.arpa`));
  return [...new Set(ancestors)].sort();
}

const unboundConf = (zone: string) => `# The lab's DNS (lab/dns.ts): the signed root zone, served with authority; no recursion.
server:
    interface: ${OUTSIDE.dns}
    interface: 127.0.0.1
    access-control: 0.0.0.0/0 allow
    username: "unbound"
    directory: "/etc/unbound"
    chroot: ""
    pidfile: "/run/unbound.pid"
    use-syslog: yes
    do-ip6: no
    module-config: "iterator"
${reverseZonesServed(zone).map((z) => `    local-zone: "${z}." nodefault`).join("\n")}

auth-zone:
    name: "."
    zonefile: "${ZONE}"
    for-downstream: yes
    for-upstream: no
    fallback-enabled: no

remote-control:
    control-enable: no
`;

/**
 * Configures and (re)starts the dns host's Unbound. The zone is re-signed only when its content
 * changed (the unsigned text is kept beside it), so a second `up` leaves everything as it was.
 */
export function startDns(spec: PlatformSpec, hosts: LabHost[], secrets: LabSecrets, dns: LabHost): string {
  ensureTrustAnchor();
  const zone = labRootZone(spec, hosts, secrets);
  let changed = writeHostFile(dns, CONF, unboundConf(zone));
  if (writeHostFile(dns, `${ZONE}.unsigned`, zone) || execInHost(dns, ["test", "-s", ZONE]).status !== 0) {
    changed = writeHostFile(dns, ZONE, signZone(zone)) || changed;
  }
  const script = String.raw`
set -e
unbound-checkconf "$1" >/dev/null
if [ -f /run/unbound.pid ] && kill -0 "$(cat /run/unbound.pid)" 2>/dev/null; then
  [ "$2" = changed ] || { echo running; exit 0; }
  kill "$(cat /run/unbound.pid)"; while kill -0 "$(cat /run/unbound.pid)" 2>/dev/null; do sleep 0.1; done
fi
unbound -c "$1" </dev/null >/dev/null 2>&1
echo started`;
  const r = execInHost(dns, ["bash", "-c", script, "-", CONF, changed ? "changed" : "same"]);
  if (r.status !== 0) throw new Error(`dns: Unbound did not start: ${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}
