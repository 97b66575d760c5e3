// What the platform takes of a project's quotas in each region, from the spec alone, so a preview
// says it before the cloud refuses a resource halfway through `up`. Neutron counts the two egress
// rules it adds to every new security group, and the project's own `default` group (4 rules).
import { hostsOf, hostVolumes, PlatformSpec, ROLES } from "@mailplatform/core";
import * as pulumi from "@pulumi/pulumi";
import { regionsOf, securityGroupRules } from "./security-groups";
import { serverGroupMembers } from "./server-groups";

export interface QuotaNeeds {
  securityGroups: number;
  securityGroupRules: number;
  instances: number;
  serverGroups: number;
  /** Members of the region's largest server group. */
  serverGroupMembers: number;
  floatingIps: number;
  /** Cinder volumes and their GiB (every Postfix queue; the maildrops' stores in replicated storage). */
  volumes: number;
  volumeGigabytes: number;
}

/** A stock project's default quotas (Neutron, Nova, Cinder), per region. */
export const DEFAULT_QUOTAS: QuotaNeeds = {
  securityGroups: 10,
  securityGroupRules: 100,
  instances: 10,
  serverGroups: 10,
  serverGroupMembers: 10,
  floatingIps: 50,
  volumes: 10,
  volumeGigabytes: 1000,
};

const DEFAULT_EGRESS_RULES_PER_GROUP = 2;
const PROJECT_DEFAULT_GROUP_RULES = 4;

export function quotaNeeds(spec: PlatformSpec): Record<string, QuotaNeeds> {
  const regions = [...new Set(spec.sites.map((s) => s.region))];
  const rules = securityGroupRules(spec);
  const serverGroups = serverGroupMembers(spec);
  return Object.fromEntries(regions.map((region) => {
    const groups = ROLES.filter((role) => regionsOf(spec, role).includes(region)).length;
    const hosts = ROLES.flatMap((role) => hostsOf(spec, role)).filter((h) => h.site.region === region);
    const volumes = hosts.flatMap((h) => hostVolumes(spec, h)).filter((v) => !v.shared);
    return [region, {
      securityGroups: groups + 1,
      securityGroupRules: rules.filter((r) => r.region === region).length + groups * DEFAULT_EGRESS_RULES_PER_GROUP + PROJECT_DEFAULT_GROUP_RULES,
      instances: hosts.length,
      serverGroups: serverGroups[region] ? 1 : 0,
      serverGroupMembers: serverGroups[region]?.length ?? 0,
      floatingIps: hosts.filter((h) => h.role === "smtp-in" || h.role === "frontend").length,
      volumes: volumes.length,
      volumeGigabytes: volumes.reduce((sum, v) => sum + v.sizeGb, 0),
    }];
  }));
}

/** One line per region in the preview; a warning where a stock project's quota would not do. */
export function reportQuotaNeeds(needs: Record<string, QuotaNeeds>, resource: pulumi.Resource): void {
  for (const [region, n] of Object.entries(needs)) {
    const keys = Object.keys(n) as (keyof QuotaNeeds)[];
    pulumi.log.info(`${region} needs of the project's quotas: ${keys.map((k) => `${k} ${n[k]}`).join(", ")}`, resource);
    const over = keys.filter((k) => n[k] > DEFAULT_QUOTAS[k]);
    if (over.length > 0) {
      pulumi.log.warn(`${region}: beyond a stock project's quotas: ${over.map((k) => `${k} ${n[k]} > ${DEFAULT_QUOTAS[k]}`).join(", ")}; have them raised first`, resource);
    }
  }
}
