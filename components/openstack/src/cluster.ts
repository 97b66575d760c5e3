// What every role's cluster shares: per host its SSH host key, a port with its planned address, the
// VM (in its region's server group), a floating IP for the public roles, how the push reaches it,
// and the rendered bundle. The cluster components are thin: RoleCluster picks the role and starts
// the rolling push; MaildropCluster adds the mail store first.
import { Host, HostBundle, hostsOf, PlatformSecrets, PlatformSpec, PUBLIC_ROLES, renderHost, Role } from "@mailplatform/core";
import * as command from "@pulumi/command";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { ConfigPush, PushTarget } from "./config-push";
import { providerFor, RegionalProviders } from "./providers";
import { connectionTo, SshAccess } from "./ssh-access";
import { roleTag } from "./security-groups";

/** A site's network as the hosts need it. */
export interface SiteNetworkRef {
  networkId: pulumi.Input<string>;
  /** The subnet, once the router is attached to it (floating IPs need the route). */
  subnetId: pulumi.Input<string>;
}

export interface ClusterArgs {
  role: Role;
  /** Plain, not an Input: it decides how many hosts there are and where. */
  spec: PlatformSpec;
  /** Region → provider (plain: resources are bound to providers at construction). */
  providers: RegionalProviders;
  /** Site name → network. */
  networks: Record<string, SiteNetworkRef>;
  /** Region → this role's security group id. */
  securityGroupIds: Record<string, pulumi.Input<string>>;
  /** Region → the server group its VMs join (server-groups.ts); none where the region has one VM. */
  serverGroupIds: Record<string, pulumi.Input<string>>;
  /** Region → Nova key pair name. */
  keyPairs: Record<string, pulumi.Input<string>>;
  secrets: pulumi.Input<PlatformSecrets>;
  access: SshAccess;
  provisionScript: pulumi.Input<string>;
  /** Floating IP pool; only the public roles (smtp-in, frontend) use it. */
  externalNetwork?: pulumi.Input<string>;
}

export interface ClusterHost {
  host: Host;
  /** The VM's SSH host key, made in the stack, and its public half the push pins (`ssh-ed25519 AAAA…`). */
  hostKey: tls.PrivateKey;
  pinnedHostKey: pulumi.Output<string>;
  port: openstack.networking.Port;
  server: openstack.compute.Instance;
  floatingIp?: openstack.networking.FloatingIp;
  /** How the deploying machine reaches it. */
  connection: command.types.input.remote.ConnectionArgs;
  bundle: pulumi.Output<HostBundle>;
}

/** The SSH host key cloud-init installs, in OpenSSH form. */
export interface HostKey {
  privateKeyOpenssh: string;
  publicKeyOpenssh: string;
}

/**
 * cloud-init (JSON is YAML): the host's name and its SSH host key, which replaces the ones the image
 * would generate, so the push can pin it. Everything else, /etc/hosts included (some roles pin
 * names there and tell cloud-init to leave it), comes with the config push.
 */
export function userData(host: Host, key: HostKey): string {
  const config = {
    hostname: host.name,
    fqdn: host.fqdn,
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    ssh_keys: { ed25519_private: key.privateKeyOpenssh, ed25519_public: key.publicKeyOpenssh.trim() },
  };
  return `#cloud-config\n${JSON.stringify(config, null, 2)}\n`;
}

/** Builds the role's hosts under `parent`; the public roles' hosts get a floating IP each. */
export function buildHosts(parent: pulumi.ComponentResource, name: string, args: ClusterArgs): ClusterHost[] {
  const { spec, role } = args;
  const publicAddress = PUBLIC_ROLES.includes(role);
  if (publicAddress && !args.externalNetwork) throw new Error(`${name}: ${role} hosts need a floating IP pool (externalNetwork)`);
  const tags = [roleTag(role), `mailplatform-stack=${spec.stack}`];

  return hostsOf(spec, role).map((host) => {
    const o = { parent, provider: providerFor(args.providers, host.site.region) };
    const id = `${name}-${host.site.name}`;
    const net = args.networks[host.site.name];
    const serverGroup = args.serverGroupIds[host.site.region];
    if (!net) throw new Error(`${name}: no network for site ${host.site.name}`);
    const hostKey = new tls.PrivateKey(`${id}-host-key`, { algorithm: "ED25519" }, { parent });
    const port = new openstack.networking.Port(`${id}-port`, {
      name: host.name,
      networkId: net.networkId,
      // The planned address: every rendered config already names it.
      fixedIps: [{ subnetId: net.subnetId, ipAddress: host.address }],
      securityGroupIds: [args.securityGroupIds[host.site.region]],
      tags,
    }, o);
    const server = new openstack.compute.Instance(id, {
      name: host.name,
      flavorName: spec.placement.flavors[role],
      imageName: spec.image,
      availabilityZone: host.site.availabilityZone,
      keyPair: args.keyPairs[host.site.region],
      networks: [{ port: port.id }],
      schedulerHints: serverGroup ? [{ group: serverGroup }] : undefined,
      // Holds the host's private key: secret in the state (Nova shows it only to the VM and admins).
      userData: pulumi.secret(pulumi.all([hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh]).apply(([privateKeyOpenssh, publicKeyOpenssh]) => userData(host, { privateKeyOpenssh, publicKeyOpenssh }))),
      metadata: { role, site: host.site.name, stack: spec.stack },
      tags,
    }, o);
    const floatingIp = publicAddress
      ? new openstack.networking.FloatingIp(`${id}-fip`, { pool: args.externalNetwork!, portId: port.id, description: host.fqdn, tags }, o)
      : undefined;
    const pinnedHostKey = hostKey.publicKeyOpenssh.apply((k) => k.trim());
    const connection = connectionTo({ host, hostKey: pinnedHostKey, publicAddress: floatingIp?.address }, args.access);
    const bundle = pulumi.output(args.secrets).apply((s) => renderHost(spec, host, s));
    return { host, hostKey, pinnedHostKey, port, server, floatingIp, connection, bundle };
  });
}

/** The cluster's rolling push, hosts in the role's preference order. */
export function pushConfig(parent: pulumi.ComponentResource, name: string, args: ClusterArgs, hosts: ClusterHost[], before: Record<string, pulumi.Resource[]> = {}): ConfigPush {
  const targets: PushTarget[] = hosts.map((h) => ({ host: h.host, connection: h.connection, serverId: h.server.id, bundle: h.bundle, dependsOn: before[h.host.name] }));
  return new ConfigPush(`${name}-push`, { targets, spec: args.spec, provisionScript: args.provisionScript }, { parent });
}

/** What every cluster component exposes. */
export interface ClusterOutputs {
  hosts: ClusterHost[];
  push: ConfigPush;
}
