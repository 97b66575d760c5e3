// Spreading each region's VMs over its hypervisors. A Nova server group lives in one region, and a
// role has at most one host per site, so a group per role and region held a single VM and kept
// nothing apart. What can share a hypervisor is a region's hosts of different roles: one group per
// region holds them all, so a failed hypervisor takes down one role of a site, not its MX, its
// frontend (the jump host of its pushes) and its submission relay together. The policy is soft: a
// zone with fewer hypervisors than the region has VMs still schedules them, spread as far as Nova
// can (hard anti-affinity would fail `up` with NoValidHost, and a rebuild on a full zone with it).
// A region with one VM gets no group: there is nothing to keep it apart from.
import { Host, hostsOf, PlatformSpec, ROLES } from "@mailplatform/core";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { outputsOf, rehydrationProps } from "./component";
import { providerFor, RegionalProviders } from "./providers";

/** Nova API 2.15 or later; the provider asks for it when the policy is a soft one. */
export const SERVER_GROUP_POLICY = "soft-anti-affinity";

/** Region → the VMs its server group holds, in role order; a region with a single VM has none. */
export function serverGroupMembers(spec: PlatformSpec): Record<string, Host[]> {
  const hosts = ROLES.flatMap((role) => hostsOf(spec, role));
  const regions = [...new Set(spec.sites.map((s) => s.region))];
  return Object.fromEntries(regions
    .map((region) => [region, hosts.filter((h) => h.site.region === region)] as const)
    .filter(([, members]) => members.length > 1));
}

export interface ServerGroupsArgs {
  /** Plain, not an Input: it decides which groups exist. */
  spec: PlatformSpec;
  providers: RegionalProviders;
}

const OUTPUTS = ["groups"] as const;

export class ServerGroups extends pulumi.ComponentResource {
  /** Region → its group (regions with more than one VM). */
  declare readonly groups: Record<string, openstack.compute.ServerGroup>;

  constructor(name: string, args: ServerGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailplatform:index:ServerGroups", name, rehydrationProps(opts, OUTPUTS), opts);
    if (opts?.urn) return;
    const { spec, providers } = args;
    this.groups = Object.fromEntries(Object.keys(serverGroupMembers(spec)).map((region) => [region, new openstack.compute.ServerGroup(`${name}-${region}`, {
      name: `mailplatform-${spec.stack}`,
      policies: [SERVER_GROUP_POLICY],
    }, { parent: this, provider: providerFor(providers, region) })]));
    this.registerOutputs(outputsOf(this, OUTPUTS));
  }
}
