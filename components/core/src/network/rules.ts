// The trust zones as data: which port of which role is open to whom. The OpenStack security groups
// and the lab's nftables are both generated from this one model, so the tests exercise what ships.
import { INTERNAL, PORTS, PROXIED } from "../ports";
import { PlatformSpec, Role, ROLES } from "../spec/types";
import { hostsOf, internalNetworks, jumpHostOf, PUBLIC_ROLES } from "../topology";

export type Source =
  /** The Internet. */
  | { kind: "anywhere" }
  /** Every host of a role (in OpenStack: that role's security group). */
  | { kind: "role"; role: Role }
  /** Named operator networks from the spec, or the site-local networks. */
  | { kind: "networks"; name: "admin" | "sieve" | "webmail" | "site-local"; cidrs: string[] }
  /** The jump host of the target host's own site (jumpHostOf). */
  | { kind: "jump" };

export interface NetworkRule {
  role: Role;
  port: number;
  protocol: "tcp";
  from: Source;
  description: string;
}

export function networkRules(spec: PlatformSpec): NetworkRule[] {
  const rules: NetworkRule[] = [];
  const allow = (role: Role, ports: number[], from: Source, description: string) =>
    ports.forEach((port) => rules.push({ role, port, protocol: "tcp", from, description }));
  const anywhere: Source = { kind: "anywhere" };
  const siteLocal: Source = { kind: "networks", name: "site-local", cidrs: internalNetworks(spec) };
  const role = (r: Role): Source => ({ kind: "role", role: r });

  allow("smtp-in", [PORTS.smtp, PORTS.submissions], anywhere, "inbound mail (own public address: DNSBL needs the client's)");
  allow("smtp-in", [INTERNAL.rspamdController], role("maildrop"), "spam/ham reports from the maildrops");

  allow("smtp-out", [PORTS.submission, PORTS.submissions], siteLocal, "submission from site-local servers and the platform's MTAs");
  allow("smtp-out", [PROXIED.submission, PROXIED.submissions], role("frontend"), "submission proxied by the frontends");

  allow("maildrop", [INTERNAL.lmtp], role("smtp-in"), "inbound mail into the store (LMTP) from smtp-in");
  allow("maildrop", [INTERNAL.lmtp], role("smtp-out"), "hosted recipients into the store (LMTP) from smtp-out");
  allow("maildrop", [INTERNAL.quotaStatus], role("smtp-in"), "quota of a hosted recipient at RCPT (Postfix policy) from smtp-in");
  allow("maildrop", [INTERNAL.quotaStatus], role("smtp-out"), "quota of a hosted recipient at RCPT (Postfix policy) from smtp-out");
  allow("maildrop", [PORTS.imap, PORTS.imaps, PORTS.pop3, PORTS.pop3s, PORTS.managesieve], siteLocal, "site-local mail clients");
  allow("maildrop", Object.values(PROXIED).filter((p) => p !== PROXIED.submission && p !== PROXIED.submissions), role("frontend"), "IMAP, POP3 and ManageSieve proxied by the frontends");
  if (spec.storage.mode === "replicated") allow("maildrop", [INTERNAL.doveadm], role("maildrop"), "dsync replication between the pair");

  allow("frontend", [PORTS.submission, PORTS.submissions, PORTS.imaps, PORTS.imap, PORTS.pop3s, PORTS.pop3], anywhere, "mail clients");
  allow("frontend", [PORTS.http, PORTS.https], anywhere, "MTA-STS policy, autoconfig; webmail is limited to its networks by NGINX");
  allow("frontend", [PORTS.managesieve], { kind: "networks", name: "sieve", cidrs: spec.access.sieveNetworks }, "ManageSieve from the allowed networks");
  allow("frontend", [PORTS.managesieve], role("webmail"), "the webmail's Sieve editor");

  allow("webmail", [INTERNAL.webmailHttps], role("frontend"), "webmail behind the frontends (HTTPS)");

  for (const r of ROLES) allow(r, [PORTS.ssh], { kind: "networks", name: "admin", cidrs: spec.access.adminNetworks }, "SSH from the admin networks");
  // The deploying machine reaches the public hosts at their own addresses, the others through their site's jump host.
  for (const r of ROLES.filter((r) => !PUBLIC_ROLES.includes(r))) allow(r, [PORTS.ssh], { kind: "jump" }, "SSH from the site's jump host (config push)");
  return rules;
}

/** The concrete CIDRs a source stands for (the lab's firewall has no security groups to refer to). */
export function sourceCidrs(spec: PlatformSpec, from: Source): string[] {
  switch (from.kind) {
    case "anywhere":
      return ["0.0.0.0/0", "::/0"];
    case "role":
      return hostsOf(spec, from.role).map(hostCidr);
    case "networks":
      return from.cidrs;
    case "jump":
      return jumpHosts(spec).map(hostCidr);
  }
}

const hostCidr = (h: { address: string }) => `${h.address}/${h.address.includes(":") ? 128 : 32}`;

/** Every site's jump host, in site order (sites without a public host have none). */
export function jumpHosts(spec: PlatformSpec) {
  return spec.sites.map((s) => jumpHostOf(spec, s.name)).filter((h) => h !== undefined);
}
