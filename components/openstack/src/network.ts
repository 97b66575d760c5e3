// A site's local network: the platform's inside (seed 004). Hosts get the planned addresses the
// renderers already wrote into every config, so DHCP hands out only addresses above them.
import { ADDRESS_OFFSET, cidrSize, isIPv6, nthAddress, Site } from "@mailplatform/core";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { outputsOf, rehydrationProps } from "./component";

/** First address DHCP may hand out: above every planned host address. */
export const DHCP_POOL_OFFSET = Math.max(...Object.values(ADDRESS_OFFSET)) + 13;
const DHCP_POOL_MAX = 4094;

export function dhcpPool(cidr: string): { start: string; end: string } {
  const last = Math.min(cidrSize(cidr) - 2, DHCP_POOL_MAX);
  if (last <= DHCP_POOL_OFFSET) throw new Error(`site network ${cidr} is too small: hosts use .${Math.min(...Object.values(ADDRESS_OFFSET))}-.${DHCP_POOL_OFFSET - 1}, DHCP needs addresses above`);
  return { start: nthAddress(cidr, DHCP_POOL_OFFSET), end: nthAddress(cidr, last) };
}

export interface SiteNetworkArgs {
  /** Plain, not an Input: names and addresses are planned from it. */
  site: Site;
  stack: string;
  /** External network (name) the router's gateway and the floating IPs are on. */
  externalNetwork: pulumi.Input<string>;
}

const OUTPUTS = ["network", "subnet", "router", "routerInterface", "snatAddresses"] as const;

export class SiteNetwork extends pulumi.ComponentResource {
  declare readonly network: openstack.networking.Network;
  declare readonly subnet: openstack.networking.Subnet;
  declare readonly router: openstack.networking.Router;
  /** Floating IPs need the router attached first. */
  declare readonly routerInterface: openstack.networking.RouterInterface;
  /** The router's external addresses of the site network's IP version: where its SNAT sends from. */
  declare readonly snatAddresses: pulumi.Output<string[]>;

  constructor(name: string, args: SiteNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailplatform:index:SiteNetwork", name, rehydrationProps(opts, OUTPUTS), opts);
    if (opts?.urn) return;
    const { site, stack } = args;
    const o = { parent: this };
    const netName = `mailplatform-${stack}-${site.name}`;
    const external = openstack.networking.getNetworkOutput({ name: args.externalNetwork, external: true }, o);
    this.network = new openstack.networking.Network(`${name}-net`, { name: netName, adminStateUp: true }, o);
    this.subnet = new openstack.networking.Subnet(`${name}-subnet`, {
      name: netName,
      networkId: this.network.id,
      cidr: site.cidr,
      ipVersion: isIPv6(site.cidr) ? 6 : 4,
      allocationPools: [dhcpPool(site.cidr)],
    }, o);
    // Outbound mail leaves through the router's SNAT address, which Neutron picks: SPF publishes it
    // (MailPlatform). enable_snat and external_fixed_ips are admin-only under Neutron's default
    // policy, so neither is sent; SNAT is on by default for a project's router.
    this.router = new openstack.networking.Router(`${name}-router`, { name: netName, externalNetworkId: external.id }, o);
    this.routerInterface = new openstack.networking.RouterInterface(`${name}-router-if`, { routerId: this.router.id, subnetId: this.subnet.id }, o);
    this.snatAddresses = this.router.externalFixedIps.apply((ips) =>
      (ips ?? []).map((ip) => ip.ipAddress ?? "").filter((a) => a !== "" && isIPv6(a) === isIPv6(site.cidr)));
    this.registerOutputs(outputsOf(this, OUTPUTS));
  }
}
