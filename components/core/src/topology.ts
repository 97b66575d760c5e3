// Which hosts a spec makes, where they sit and what they are called. Addresses on the site-local
// networks are planned from each site's CIDR, so rendered configs never wait for cloud state.
import { nthAddress } from "./spec/syntax";
import { PlatformSpec, Role, ROLES, Site } from "./spec/types";

export interface Host {
  /** `<role>-<site>`, e.g. smtp-in-zrh; also the VM and lab host name. */
  name: string;
  role: Role;
  site: Site;
  /** `<name>.<platformDomain>`. */
  fqdn: string;
  /** Planned address on the site-local network. */
  address: string;
  /** Position within the role, in preference order (0 is the primary). */
  index: number;
}

/** Offset of each role's host inside its site's CIDR (smtp-in gets .11, ...). */
export const ADDRESS_OFFSET: Record<Role, number> = {
  "smtp-in": 11,
  "smtp-out": 21,
  maildrop: 31,
  frontend: 41,
  webmail: 51,
};

/** Roles with a public address; the others live on the site-local networks only. */
export const PUBLIC_ROLES: readonly Role[] = ["smtp-in", "frontend"];

export function hostsOf(spec: PlatformSpec, role: Role): Host[] {
  return spec.placement.sites[role].map((siteName, index) => {
    const site = spec.sites.find((s) => s.name === siteName)!;
    const name = `${role}-${site.name}`;
    return { name, role, site, fqdn: `${name}.${spec.platformDomain}`, address: nthAddress(site.cidr, ADDRESS_OFFSET[role]), index };
  });
}

/**
 * The host a site's private hosts are reached through for the config push: the site's frontend,
 * else its smtp-in (both have a public address); none when the site has no public host.
 */
export function jumpHostOf(spec: PlatformSpec, site: string): Host | undefined {
  return PUBLIC_ROLES.slice().reverse().map((role) => hostsOf(spec, role).find((h) => h.site.name === site)).find((h) => h);
}

/** Every host of the platform, role by role. */
export function allHosts(spec: PlatformSpec): Host[] {
  return ROLES.flatMap((role) => hostsOf(spec, role));
}

/** The platform's service names, all under platformDomain. */
export function serviceNames(spec: PlatformSpec) {
  const d = spec.platformDomain;
  return {
    /** Submission (587/465) through the frontends. */
    submission: `smtp.${d}`,
    imap: `imap.${d}`,
    pop3: `pop.${d}`,
    /** ManageSieve through the frontends. */
    sieve: `imap.${d}`,
    webmail: `webmail.${d}`,
    /** Internal relay name with equal-preference MX on every smtp-out (maildrop bounces go here). */
    smtpOut: `smtp-out.${d}`,
  };
}

/** Site-local networks of every site: the platform's inside. */
export function internalNetworks(spec: PlatformSpec): string[] {
  return spec.sites.map((s) => s.cidr);
}

/** address:port, an IPv6 address in brackets. */
export const hostPort = (address: string, port: number) => (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`);
