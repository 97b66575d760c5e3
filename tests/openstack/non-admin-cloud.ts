// A stricter stand-in for the cloud than Pulumi's mocks, which accept whatever the type definitions
// accept. It refuses what an ordinary project (member role, Neutron/Nova/Cinder/Manila default
// policy, default quotas) is refused, and what would not work from the deploying machine:
// - admin-only fields: a router's enable_snat, distributed or external_fixed_ips, a network's
//   external/shared/segments, a floating IP's chosen address;
// - quotas per project and region: 10 security groups (the project's `default` among them), 100
//   rules (the default group's 4 and the 2 egress rules Neutron adds to every new group among them),
//   10 instances, 10 server groups of at most 10 members, 50 floating IPs, 10 volumes, 1000 GiB;
// - a floating IP whose port's subnet has no router with a gateway on the pool's network;
// - availability zones the service does not have (Nova's and Cinder's are named apart);
// - a server group that ends up with fewer than two members (finish(), after the run: Nova takes
//   it, but it keeps nothing apart, so a program that makes one has its placement wrong);
// - a description longer than 255 characters; a Manila share without a share network (the default share type handles share servers);
// - a remote command the deploying machine cannot reach: a host that is not a floating IP, or a
//   target not on the jump host's network, SSH not allowed by the security groups on the way, or
//   a host key that is not pinned to the one cloud-init installed.
// One instance is one cloud: runs of several stacks against it share its projects' quotas.
import { cidrsOverlap, isIPv6 } from "../../components/core/src";
import { CloudRequest, mockNetworkId } from "../../scripts/resources";

export interface CloudOptions {
  /** The deploying machine's address, as the clouds' security groups see it. */
  deployer: string;
  /** Names of the external networks (floating IP pools). */
  externalNetworks: string[];
  novaZones: string[];
  cinderZones: string[];
}

interface Rule {
  ethertype: string;
  protocol?: string;
  min?: number;
  max?: number;
  prefix?: string;
  group?: string;
}

interface Port {
  networkId: string;
  subnetIds: string[];
  ips: string[];
  groups: string[];
  /** Host key cloud-init installs on the instance using this port. */
  hostKey?: string;
}

/** One region's project. */
class Project {
  networks = new Set<string>();
  subnets = new Map<string, { networkId: string; cidr: string }>();
  routers = new Map<string, { gatewayNetworkId?: string }>();
  interfaces: { routerId: string; subnetId: string }[] = [];
  ports = new Map<string, Port>();
  groups = new Map<string, Rule[]>();
  /** Server group id → its name and how many instances joined it. */
  serverGroups = new Map<string, { name: string; members: number }>();
  shareNetworks = new Set<string>();
  used = { securityGroups: 1, securityGroupRules: 4, instances: 0, serverGroups: 0, floatingIps: 0, volumes: 0, gigabytes: 0 };
}

const QUOTA = { securityGroups: 10, securityGroupRules: 100, instances: 10, serverGroups: 10, floatingIps: 50, volumes: 10, gigabytes: 1000 };
const SERVER_GROUP_MEMBERS = 10;

const ADMIN_ONLY: Record<string, string[]> = {
  "openstack:networking/router:Router": ["enableSnat", "distributed", "externalFixedIps", "tenantId"],
  "openstack:networking/network:Network": ["external", "shared", "segments", "tenantId"],
  "openstack:networking/floatingIp:FloatingIp": ["address", "fixedIp"],
};

const contains = (prefix: string, ip: string) => isIPv6(prefix) === isIPv6(ip) && cidrsOverlap(prefix, `${ip}/${isIPv6(ip) ? 128 : 32}`);

export class NonAdminCloud {
  readonly refusals: string[] = [];
  private readonly projects = new Map<string, Project>();
  /** Floating IP address → the port it maps to, in which region. */
  private readonly floatingIps = new Map<string, { region: string; portId: string }>();

  constructor(readonly options: CloudOptions) {}

  /** Used projects' counters per region, and the members of each region's largest server group. */
  usage(): Record<string, Project["used"] & { serverGroupMembers: number }> {
    return Object.fromEntries([...this.projects].map(([region, p]) => [region, { ...p.used, serverGroupMembers: Math.max(0, ...[...p.serverGroups.values()].map((g) => g.members)) }]));
  }

  /** Once every resource is in: refuses the server groups no two instances joined. */
  finish(): void {
    const lone = [...this.projects].flatMap(([region, p]) => [...p.serverGroups.values()]
      .filter((g) => g.members < 2)
      .map((g) => `${g.name}: server group in ${region} with ${g.members} member(s): anti-affinity keeps nothing apart`));
    this.refusals.push(...lone);
    if (lone.length > 0) throw new Error(`the cloud refuses ${lone.join("; ")}`);
  }

  /** The hook runUnderMocks calls for every resource; throws (and records) a refusal. */
  readonly receive = (r: CloudRequest): void => {
    const problem = this.check(r);
    if (problem) {
      const message = `${r.name}: ${problem}`;
      this.refusals.push(message);
      throw new Error(`the cloud refuses ${message}`);
    }
  };

  private project(region: string | undefined): Project {
    if (!region) throw new Error("an OpenStack resource without an explicit regional provider");
    if (!this.projects.has(region)) this.projects.set(region, new Project());
    return this.projects.get(region)!;
  }

  private take(p: Project, what: keyof Project["used"], n = 1): string | undefined {
    if (p.used[what] + n > QUOTA[what]) return `quota exceeded: ${what} ${p.used[what] + n} > ${QUOTA[what]} (403 OverQuota)`;
    p.used[what] += n;
    return undefined;
  }

  private check(r: CloudRequest): string | undefined {
    const admin = (ADMIN_ONLY[r.type] ?? []).filter((k) => r.inputs[k] !== undefined && !(Array.isArray(r.inputs[k]) && r.inputs[k].length === 0));
    if (admin.length > 0) return `${admin.join(", ")}: admin only under the default policy (403 Forbidden)`;
    if (r.type === "command:remote:Command") return this.reachable(r.inputs.connection);
    if (typeof r.inputs.description === "string" && r.inputs.description.length > 255) return `description of ${r.inputs.description.length} characters; at most 255 (400 Bad Request)`;
    if (!r.type.startsWith("openstack:") || r.type === "pulumi:providers:openstack") return undefined;
    const p = this.project(r.region);
    const i = r.inputs;
    switch (r.type) {
      case "openstack:networking/network:Network":
        p.networks.add(r.id);
        return undefined;
      case "openstack:networking/subnet:Subnet":
        if (!p.networks.has(i.networkId)) return `network ${i.networkId} does not exist in this project`;
        p.subnets.set(r.id, { networkId: i.networkId, cidr: i.cidr });
        return undefined;
      case "openstack:networking/router:Router":
        if (i.externalNetworkId && !this.options.externalNetworks.map(mockNetworkId).includes(i.externalNetworkId)) return `${i.externalNetworkId} is not an external network`;
        p.routers.set(r.id, { gatewayNetworkId: i.externalNetworkId });
        return undefined;
      case "openstack:networking/routerInterface:RouterInterface":
        if (!p.routers.has(i.routerId) || !p.subnets.has(i.subnetId)) return "router or subnet does not exist in this project";
        p.interfaces.push({ routerId: i.routerId, subnetId: i.subnetId });
        return undefined;
      case "openstack:networking/secGroup:SecGroup":
        p.groups.set(r.id, []);
        return this.take(p, "securityGroups") ?? this.take(p, "securityGroupRules", 2);
      case "openstack:networking/secGroupRule:SecGroupRule": {
        const rules = p.groups.get(i.securityGroupId);
        if (!rules || (i.remoteGroupId && !p.groups.has(i.remoteGroupId))) return "security group does not exist in this project";
        if (i.direction === "ingress") rules.push({ ethertype: i.ethertype, protocol: i.protocol, min: i.portRangeMin, max: i.portRangeMax, prefix: i.remoteIpPrefix, group: i.remoteGroupId });
        return this.take(p, "securityGroupRules");
      }
      case "openstack:networking/port:Port": {
        if (!p.networks.has(i.networkId)) return `network ${i.networkId} does not exist in this project`;
        const fixed: { subnetId: string; ipAddress: string }[] = i.fixedIps ?? [];
        const wrong = fixed.find((f) => p.subnets.get(f.subnetId)?.networkId !== i.networkId || !contains(p.subnets.get(f.subnetId)!.cidr, f.ipAddress));
        if (wrong) return `fixed IP ${wrong.ipAddress} is not in a subnet of network ${i.networkId}`;
        const groups: string[] = i.securityGroupIds ?? [];
        if (groups.some((g) => !p.groups.has(g))) return "security group does not exist in this project";
        p.ports.set(r.id, { networkId: i.networkId, subnetIds: fixed.map((f) => f.subnetId), ips: fixed.map((f) => f.ipAddress), groups });
        return undefined;
      }
      case "openstack:networking/floatingIp:FloatingIp": {
        const pool = mockNetworkId(i.pool);
        if (!this.options.externalNetworks.includes(i.pool)) return `${i.pool} is not an external network`;
        const port: Port | undefined = i.portId ? p.ports.get(i.portId) : undefined;
        if (i.portId && !port) return `port ${i.portId} does not exist in this project`;
        if (port) {
          const routed = port.subnetIds.some((s) => p.interfaces.some((x) => x.subnetId === s && p.routers.get(x.routerId)?.gatewayNetworkId === pool));
          if (!routed) return `External network ${pool} is not reachable from subnet ${port.subnetIds.join(", ")} (no router with a gateway on it is attached yet)`;
        }
        this.floatingIps.set(r.state.address, { region: r.region!, portId: i.portId });
        return this.take(p, "floatingIps");
      }
      case "openstack:compute/serverGroup:ServerGroup":
        p.serverGroups.set(r.id, { name: r.name, members: 0 });
        return this.take(p, "serverGroups");
      case "openstack:compute/instance:Instance": {
        if (i.availabilityZone && !this.options.novaZones.includes(i.availabilityZone)) return `Nova has no availability zone ${i.availabilityZone} (it has ${this.options.novaZones.join(", ")})`;
        const ports = (i.networks ?? []).map((n: { port?: string }) => n.port && p.ports.get(n.port));
        if (ports.length === 0 || ports.some((x: Port | undefined) => !x)) return "every NIC must be a port of this project";
        for (const hint of i.schedulerHints ?? []) {
          const group = p.serverGroups.get(hint.group);
          if (group === undefined) return `server group ${hint.group} does not exist`;
          if (group.members + 1 > SERVER_GROUP_MEMBERS) return `quota exceeded: server group members ${group.members + 1} > ${SERVER_GROUP_MEMBERS}`;
          group.members += 1;
        }
        const hostKey = typeof i.userData === "string" && i.userData.startsWith("#cloud-config\n") ? JSON.parse(i.userData.slice(14)).ssh_keys?.ed25519_public : undefined;
        for (const port of ports as Port[]) port.hostKey = hostKey;
        return this.take(p, "instances");
      }
      case "openstack:blockstorage/volume:Volume":
        if (i.availabilityZone && !this.options.cinderZones.includes(i.availabilityZone)) return `Cinder has no availability zone ${i.availabilityZone} (it has ${this.options.cinderZones.join(", ")})`;
        return this.take(p, "volumes") ?? this.take(p, "gigabytes", Number(i.size));
      case "openstack:sharedfilesystem/shareNetwork:ShareNetwork":
        if (!p.networks.has(i.neutronNetId) || p.subnets.get(i.neutronSubnetId)?.networkId !== i.neutronNetId) return "share network on a network or subnet not in this project";
        p.shareNetworks.add(r.id);
        return undefined;
      case "openstack:sharedfilesystem/share:Share":
        if (!i.shareNetworkId) return "the share type handles share servers (driver_handles_share_servers=True): a share network is required";
        if (!p.shareNetworks.has(i.shareNetworkId)) return `share network ${i.shareNetworkId} does not exist in this project`;
        return undefined;
      default:
        return undefined;
    }
  }

  private portAt(address: string): { region: string; port: Port } | undefined {
    const fip = this.floatingIps.get(address);
    const port = fip && this.projects.get(fip.region)?.ports.get(fip.portId);
    return port && { region: fip.region, port };
  }

  /** Would SSH from `source` (an address, and the port it leaves from, if inside) reach `port`? */
  private sshAllowed(port: Port, source: string, from?: Port, project?: Project): boolean {
    const ethertype = isIPv6(source) ? "IPv6" : "IPv4";
    return port.groups.some((g) => (project?.groups.get(g) ?? []).some((r) =>
      r.ethertype === ethertype && (!r.protocol || r.protocol === "tcp") && (r.min === undefined || (r.min <= 22 && 22 <= r.max!)) &&
      (r.prefix ? contains(r.prefix, source) : r.group ? !!from?.groups.includes(r.group) : true)));
  }

  /** The deploying machine's SSH path: a floating IP, optionally on to a host on the jump host's network. */
  private reachable(c: Record<string, any> | undefined): string | undefined {
    if (!c) return "no connection";
    const first = c.proxy ?? c;
    const entry = this.portAt(first.host);
    if (!entry) return `${first.host} is not a floating IP of the cloud: the deploying machine cannot reach it`;
    const project = this.projects.get(entry.region)!;
    if (!this.sshAllowed(entry.port, this.options.deployer, undefined, project)) return `SSH to ${first.host} is not allowed from the deploying machine (${this.options.deployer}) by its security groups`;
    if (!first.hostKey || first.hostKey !== entry.port.hostKey) return `${first.host}: the host key is not pinned to the one the instance was given (${first.hostKey ? "mismatch" : "any key accepted: open to a man in the middle"})`;
    if (!c.proxy) return undefined;
    const target = [...project.ports.values()].find((p) => p.ips.includes(c.host));
    if (!target || target.networkId !== entry.port.networkId) return `${c.host} is not on the jump host ${first.host}'s network: no route from it`;
    if (!this.sshAllowed(target, entry.port.ips[0], entry.port, project)) return `SSH to ${c.host} is not allowed from its jump host (${entry.port.ips[0]}) by its security groups`;
    if (!c.hostKey || c.hostKey !== target.hostKey) return `${c.host}: the host key is not pinned to the one the instance was given`;
    return undefined;
  }
}
