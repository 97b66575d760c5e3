// Security groups per role, generated from the core's rule model (network/rules.ts), the same model
// the lab enforces with nftables. OpenStack groups are regional and a remote group only matches ports
// of its own region, so a role source becomes the role's group in the same region plus the planned
// addresses of that role's hosts in other regions.
import { hostsOf, isIPv6, jumpHosts, networkRules, PlatformSpec, Role, ROLES, Source } from "@mailplatform/core";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { outputsOf, rehydrationProps } from "./component";
import { providerFor, RegionalProviders } from "./providers";

export type Ethertype = "IPv4" | "IPv6";

/** One ingress rule of one role's group in one region. */
export interface GroupRule {
  role: Role;
  region: string;
  port: number;
  ethertype: Ethertype;
  /** Another group (same region) or an address prefix. */
  remote: { group: Role } | { prefix: string };
  description: string;
  /** Stable part of the resource name: the source. */
  key: string;
}

const ethertypeOf = (addr: string): Ethertype => (isIPv6(addr) ? "IPv6" : "IPv4");
const label = (s: string) => s.replace(/[:/]/g, "_");

/** The regions a role has hosts in, in placement order. */
export function regionsOf(spec: PlatformSpec, role: Role): string[] {
  return [...new Set(hostsOf(spec, role).map((h) => h.site.region))];
}

/** Tag carried by every group, port and server: which role it belongs to (the policy pack reads it). */
export const roleTag = (role: Role) => `mailplatform-role=${role}`;

type Remote = Pick<GroupRule, "ethertype" | "remote" | "key">;

const hostPrefix = (h: { name: string; address: string }): Remote => {
  const prefix = `${h.address}/${isIPv6(h.address) ? 128 : 32}`;
  return { ethertype: ethertypeOf(h.address), remote: { prefix }, key: `${h.name}-${label(prefix)}` };
};

/**
 * The remotes of a source for one role's group in one region, only of the IP versions the group's
 * hosts have: a rule for the other version matches nothing and still counts against the quota.
 */
function remotes(spec: PlatformSpec, from: Source, role: Role, region: string): Remote[] {
  const versions = new Set(hostsOf(spec, role).filter((h) => h.site.region === region).map((h) => ethertypeOf(h.address)));
  return sourceRemotes(spec, from, region).filter((r) => versions.has(r.ethertype));
}

function sourceRemotes(spec: PlatformSpec, from: Source, region: string): Remote[] {
  switch (from.kind) {
    case "anywhere":
      return [
        { ethertype: "IPv4", remote: { prefix: "0.0.0.0/0" }, key: "anywhere-ipv4" },
        { ethertype: "IPv6", remote: { prefix: "::/0" }, key: "anywhere-ipv6" },
      ];
    case "networks":
      return from.cidrs.map((cidr) => ({ ethertype: ethertypeOf(cidr), remote: { prefix: cidr }, key: `${from.name}-${label(cidr)}` }));
    case "role": {
      const hosts = hostsOf(spec, from.role);
      const local = hosts.filter((h) => h.site.region === region);
      const remoteHosts = hosts.filter((h) => h.site.region !== region);
      return [
        ...[...new Set(local.map((h) => ethertypeOf(h.address)))].map((ethertype) => ({ ethertype, remote: { group: from.role }, key: `${from.role}-${ethertype.toLowerCase()}` })),
        ...remoteHosts.map(hostPrefix),
      ];
    }
    case "jump":
      // A group spans its region's sites: the jump hosts of those sites.
      return jumpHosts(spec).filter((h) => h.site.region === region).map((h) => ({ ...hostPrefix(h), key: `jump-${h.name}` }));
  }
}

/** Every ingress rule of every group, duplicates (same port and remote) merged. */
export function securityGroupRules(spec: PlatformSpec): GroupRule[] {
  const out = new Map<string, GroupRule>();
  for (const rule of networkRules(spec)) {
    for (const region of regionsOf(spec, rule.role)) {
      for (const r of remotes(spec, rule.from, rule.role, region)) {
        const id = `${rule.role}-${region}-${rule.port}-${r.key}`;
        const prior = out.get(id);
        if (prior) prior.description += `; ${rule.description}`;
        else out.set(id, { role: rule.role, region, port: rule.port, description: rule.description, ...r });
      }
    }
  }
  return [...out.values()];
}

export interface SecurityGroupsArgs {
  /** Plain, not an Input: it decides which groups and rules exist. */
  spec: PlatformSpec;
  providers: RegionalProviders;
}

const OUTPUTS = ["groups", "rules"] as const;

export class SecurityGroups extends pulumi.ComponentResource {
  /** Group per role and region. */
  declare readonly groups: Record<Role, Record<string, openstack.networking.SecGroup>>;
  declare readonly rules: openstack.networking.SecGroupRule[];

  constructor(name: string, args: SecurityGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailplatform:index:SecurityGroups", name, rehydrationProps(opts, OUTPUTS), opts);
    if (opts?.urn) return;
    const { spec, providers } = args;
    const groups = {} as Record<Role, Record<string, openstack.networking.SecGroup>>;
    for (const role of ROLES) {
      groups[role] = Object.fromEntries(regionsOf(spec, role).map((region) => [region, new openstack.networking.SecGroup(`${name}-${role}-${region}`, {
        name: `mailplatform-${spec.stack}-${role}`,
        description: `mail platform ${spec.stack}: ${role} (generated from the rule model; egress stays open)`,
        tags: [roleTag(role), `mailplatform-stack=${spec.stack}`],
      }, { parent: this, provider: providerFor(providers, region) })]));
    }
    this.groups = groups;
    this.rules = securityGroupRules(spec).map((r) => new openstack.networking.SecGroupRule(`${name}-${r.role}-${r.region}-${r.port}-${r.key}`, {
      securityGroupId: groups[r.role][r.region].id,
      direction: "ingress",
      ethertype: r.ethertype,
      protocol: "tcp",
      portRangeMin: r.port,
      portRangeMax: r.port,
      ...("group" in r.remote ? { remoteGroupId: groups[r.remote.group][r.region].id } : { remoteIpPrefix: r.remote.prefix }),
      // Rules have no tags: the role leads the description, for the policy pack.
      description: `[${roleTag(r.role)}] ${r.description}`,
    }, { parent: this, provider: providerFor(providers, r.region) }));
    this.registerOutputs(outputsOf(this, OUTPUTS));
  }
}
