// Every DNS record the platform needs, as data: the stack outputs, the Designate record sets, the
// zone file and the lab's DNS all come from this one list.
import { PORTS } from "../ports";
import { DKIM_ALGORITHMS, dkimRecord, DkimPublicKeys } from "../dkim";
import { mtaStsPolicy } from "../shared/mta-sts";
import { isIPv6 } from "../spec/syntax";
import { PlatformSpec } from "../spec/types";
import { Host, hostsOf, serviceNames } from "../topology";

export type RecordType = "A" | "AAAA" | "MX" | "TXT" | "SRV" | "CNAME";

export interface DnsRecord {
  /** Fully qualified, without the trailing dot. */
  name: string;
  type: RecordType;
  ttl: number;
  /** Presentation value: "10 host.example.net." for MX, the unquoted text for TXT. */
  value: string;
  /** `internal` records name site-local addresses; publish them only where split horizon is wanted. */
  scope: "public" | "internal";
  /** The zone the record belongs in (a hosted domain or the platform domain). */
  zone: string;
}

/** Public addresses of the hosts that have one (smtp-in and frontends), from the cloud or the lab. */
export type PublicAddresses = Record<string, { ipv4?: string; ipv6?: string }>;

/**
 * Stand-in public addresses (RFC 5737 TEST-NET-3) for hosts whose floating IPs only the cloud
 * assigns; dns.json says so.
 */
export function placeholderPublicAddresses(spec: PlatformSpec): PublicAddresses {
  const publicHosts = [...hostsOf(spec, "smtp-in"), ...hostsOf(spec, "frontend")];
  return Object.fromEntries(publicHosts.map((h, i) => [h.name, { ipv4: `203.0.113.${10 + i}` }]));
}

export interface DnsInputs {
  publicAddresses: PublicAddresses;
  dkim: DkimPublicKeys;
  /**
   * Site → the addresses its outbound mail actually leaves from, when the cloud picks them (a
   * router's SNAT address); sites not named here publish their configured `egress`.
   */
  egress?: Record<string, string[]>;
}

export function dnsRecords(spec: PlatformSpec, inputs: DnsInputs): DnsRecord[] {
  const names = serviceNames(spec);
  const ttl = spec.dns.ttl;
  const pd = spec.platformDomain;
  const records: DnsRecord[] = [];
  const add = (zone: string, name: string, type: RecordType, value: string, scope: DnsRecord["scope"] = "public") =>
    records.push({ name, type, ttl, value, scope, zone });
  const smtpIn = hostsOf(spec, "smtp-in");
  const frontends = hostsOf(spec, "frontend");

  const addressesOf = (zone: string, name: string, hosts: Host[]) => {
    for (const h of hosts) {
      const a = inputs.publicAddresses[h.name];
      if (!a?.ipv4 && !a?.ipv6) throw new Error(`no public address for ${h.name}: the DNS records need one`);
      if (a.ipv4) add(zone, name, "A", a.ipv4);
      if (a.ipv6) add(zone, name, "AAAA", a.ipv6);
    }
  };
  const mxToSmtpIn = (zone: string) => smtpIn.forEach((h) => add(zone, zone, "MX", `10 ${h.fqdn}.`));
  const egress = [...new Set(spec.sites.flatMap((s) => inputs.egress?.[s.name] ?? s.egress))];
  const spf = "v=spf1 " + egress.map((ip) => (isIPv6(ip) ? `ip6:${ip}` : `ip4:${ip}`)).join(" ") + " -all";

  // The platform's own names: public hosts, client service names, and the SRS domain's MX and SPF.
  for (const h of [...smtpIn, ...frontends]) addressesOf(pd, h.fqdn, [h]);
  for (const service of [names.submission, names.imap, names.pop3, names.webmail]) addressesOf(pd, service, frontends);
  mxToSmtpIn(pd);
  add(pd, pd, "TXT", spf);

  // Internal routing: smtp-out as equal-preference relays (the store is reached by host name, LMTP).
  hostsOf(spec, "smtp-out").forEach((h) => add(pd, names.smtpOut, "MX", `10 ${h.fqdn}.`, "internal"));
  for (const role of ["smtp-out", "maildrop", "webmail"] as const) {
    for (const h of hostsOf(spec, role)) add(pd, h.fqdn, isIPv6(h.address) ? "AAAA" : "A", h.address, "internal");
  }

  const sts = mtaStsPolicy(spec);
  const report = spec.dns.reportAddress || spec.postmaster;
  for (const { name: d, dkimSelectors } of spec.domains) {
    mxToSmtpIn(d);
    add(d, d, "TXT", spf);
    for (const sel of dkimSelectors) {
      const keys = inputs.dkim[d]?.[sel.name];
      if (!keys) throw new Error(`no DKIM keys for ${d} selector ${sel.name}`);
      for (const algorithm of DKIM_ALGORITHMS) {
        const record = dkimRecord(d, sel.name, algorithm, keys[algorithm]);
        add(d, record.name, "TXT", record.value);
      }
    }
    add(d, `_dmarc.${d}`, "TXT", `v=DMARC1; p=${spec.dns.dmarcPolicy}; rua=mailto:${report}; adkim=r; aspf=r`);
    // Published in every mode: retiring a policy means serving "mode: none" under a new id until
    // senders' cached policies expire (RFC 8461 §8.3).
    add(d, `_mta-sts.${d}`, "TXT", `v=STSv1; id=${sts.id}`);
    addressesOf(d, `mta-sts.${d}`, frontends);
    add(d, `_smtp._tls.${d}`, "TXT", `v=TLSRPTv1; rua=mailto:${report}`);
    // RFC 6186 / RFC 8314 service discovery.
    const srv = (service: string, port: number, target: string) => add(d, `_${service}._tcp.${d}`, "SRV", `0 1 ${port} ${target}.`);
    srv("submissions", PORTS.submissions, names.submission);
    srv("submission", PORTS.submission, names.submission);
    srv("imaps", PORTS.imaps, names.imap);
    srv("imap", PORTS.imap, names.imap);
    srv("pop3s", PORTS.pop3s, names.pop3);
    add(d, `autoconfig.${d}`, "CNAME", `${names.webmail}.`);
    add(d, `autodiscover.${d}`, "CNAME", `${names.webmail}.`);
  }
  return records;
}
