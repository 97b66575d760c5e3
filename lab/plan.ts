// The lab's hosts and their addresses: one host per VM of the stack (planned addresses from the
// core's topology), plus the outside world: `internet` (clients), `external-mx` (the recipient of
// everything the platform sends out), `dns` (the lab's only DNS server) and, in the directory
// variant, `directory` (the corporate LDAP directory, on the office network).
import { allHosts, Host, isIPv6, placeholderPublicAddresses, PlatformSpec, Role } from "@mailplatform/core";

/** "baseline": the benchmark's one-host mail server (lab/bench/baseline.ts), started by `npm run bench` only. */
export type OutsideRole = "internet" | "external-mx" | "dns" | "directory" | "baseline";
export type LabRole = Role | OutsideRole;

export interface LabHost {
  name: string;
  role: LabRole;
  site?: string;
  fqdn: string;
  /** Site-local address for platform hosts; the only address of the outside hosts but `internet`. */
  address: string;
  /** smtp-in and frontends: the address the Internet (and DNS) knows them by. */
  publicAddress?: string;
  /** smtp-out: the site's egress address, the source of its traffic to the outside (SPF). */
  egressAddress?: string;
  /** internet: a second client address inside the stack's sieve and webmail networks. */
  officeAddress?: string;
  netns: string;
  /** The core's host, for platform hosts: what its bundle is rendered for. */
  core?: Host;
}

/** The outside world's fixed addresses (RFC 2544 benchmarking and RFC 5737 documentation ranges). */
export const OUTSIDE = {
  internet: "198.18.0.10",
  office: "192.0.2.10",
  externalMx: "198.18.0.25",
  dns: "198.18.0.53",
  directory: "192.0.2.63",
  baseline: "198.18.0.30",
} as const;

/** Domains the outside world's clients and external-mx use, whatever the stack's spec names. */
export const OUTSIDE_DOMAINS = ["partner.example", "outside.example"];
export const EXTERNAL_MX_NAME = "mx.partner.example";

export const netnsOf = (name: string) => `mplab-${name}`;

/** `directory`: the directory variant's (lab/directory.ts), at the name its certificate carries. */
export function labHosts(spec: PlatformSpec, directoryFqdn?: string): LabHost[] {
  const publicAddresses = placeholderPublicAddresses(spec);
  const platform = allHosts(spec).map((h): LabHost => ({
    name: h.name,
    role: h.role,
    site: h.site.name,
    fqdn: h.fqdn,
    address: h.address,
    publicAddress: publicAddresses[h.name]?.ipv4,
    // Only IPv4: the lab network is IPv4-only.
    egressAddress: h.role === "smtp-out" ? h.site.egress.find((a) => !isIPv6(a)) : undefined,
    netns: netnsOf(h.name),
    core: h,
  }));
  const outside = (name: OutsideRole, fqdn: string, address: string, extra: Partial<LabHost> = {}): LabHost =>
    ({ name, role: name, fqdn, address, netns: netnsOf(name), ...extra });
  return [
    outside("dns", "ns.lab.example", OUTSIDE.dns),
    outside("external-mx", EXTERNAL_MX_NAME, OUTSIDE.externalMx),
    outside("internet", "client.outside.example", OUTSIDE.internet, { officeAddress: OUTSIDE.office }),
    ...(directoryFqdn ? [outside("directory", directoryFqdn, OUTSIDE.directory)] : []),
    ...platform,
  ];
}

/** A host's addresses, first its own (as in the inventory). */
export const addressesOf = (h: Pick<LabHost, "address" | "publicAddress" | "egressAddress" | "officeAddress">): string[] =>
  [h.address, h.publicAddress, h.egressAddress, h.officeAddress].filter((a): a is string => !!a);

export type PlatformLabHost = LabHost & { role: Role; site: string; core: Host };

export const isPlatformHost = (h: LabHost): h is PlatformLabHost => h.core !== undefined;

/** Every address of a host with its prefix length: site-local ones take their site's, others a /24. */
export function hostAddresses(spec: PlatformSpec, h: LabHost): string[] {
  const site = spec.sites.find((s) => s.name === h.site);
  return [
    `${h.address}/${site ? site.cidr.split("/")[1] : 24}`,
    ...addressesOf(h).slice(1).map((a) => `${a}/24`),
  ];
}

/** A /24 in CIDR form. */
const range24 = (address: string) => `${address.split(".").slice(0, 3).join(".")}.0/24`;

/** Every network of the lab: the site-local ones and the ranges of the public and outside addresses. */
export function labNetworks(spec: PlatformSpec, hosts: LabHost[]): { siteLocal: string[]; outside: string[] } {
  const siteLocal = spec.sites.map((s) => s.cidr);
  const others = hosts.flatMap((h) => [h.publicAddress, h.egressAddress, h.officeAddress, isPlatformHost(h) ? undefined : h.address]);
  const outside = [...new Set(others.filter((a): a is string => !!a).map(range24))];
  return { siteLocal, outside };
}
