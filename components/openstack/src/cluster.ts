// What every role's cluster shares: per host its SSH host key, a port with its planned address, the
// VM (in its region's server group), a floating IP for the public roles, how the push reaches it,
// and the rendered bundle; and what of a host outlives its VM (core's hostVolumes), mounted before
// the first push. The cluster components are thin: RoleCluster picks the role and starts the rolling
// push; MaildropCluster adds the shared store's share.
import { Host, HostBundle, hostScript, hostsOf, HostVolume, hostVolumes, PlatformSecrets, PlatformSpec, PUBLIC_ROLES, renderHost, Role } from "@mailplatform/core";
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
  /** Cinder volume type of the hosts' volumes (the maildrops' stores, the MTAs' queues). */
  volumeType?: pulumi.Input<string>;
  /** Protect the volumes (and a shared store's share) from deletion (default true): they hold acknowledged mail. */
  protectStore?: boolean;
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
      // Its port and volumes are held by one VM at a time: a replacement waits for the old VM to go.
    }, { ...o, deleteBeforeReplace: true });
    const floatingIp = publicAddress
      ? new openstack.networking.FloatingIp(`${id}-fip`, { pool: args.externalNetwork!, portId: port.id, description: host.fqdn, tags }, o)
      : undefined;
    const pinnedHostKey = hostKey.publicKeyOpenssh.apply((k) => k.trim());
    const connection = connectionTo({ host, hostKey: pinnedHostKey, publicAddress: floatingIp?.address }, args.access);
    const bundle = pulumi.output(args.secrets).apply((s) => renderHost(spec, host, s));
    return { host, hostKey, pinnedHostKey, port, server, floatingIp, connection, bundle };
  });
}

/**
 * The remote command that mounts one of a host's volumes (or the maildrops' share) before its first
 * push, again on a new VM. The maildrop's store mount had the name `<cluster>-<site>-mount` before
 * hosts had several volumes: kept as an alias, so an existing stack does not mount it anew.
 */
export function mountCommand(parent: pulumi.Resource, name: string, h: ClusterHost, v: HostVolume, cmd: pulumi.Input<string>, after: pulumi.Resource[]): command.remote.Command {
  return new command.remote.Command(`${name}-${h.host.site.name}-${v.purpose}-mount`, {
    connection: h.connection,
    create: cmd,
    stdin: hostScript("mount-volume.sh"),
    triggers: [h.server.id],
    addPreviousOutputInEnv: false,
  }, { parent, dependsOn: after, aliases: v.purpose === "mail" ? [{ name: `${name}-${h.host.site.name}-mount` }] : [] });
}

/** Each host's own Cinder volumes, by volume name (`<host>-<purpose>`), and per host name its mounts. */
export interface HostStorage {
  volumes: Record<string, openstack.blockstorage.Volume>;
  mounts: Record<string, command.remote.Command[]>;
}

/**
 * Every volume of the hosts' own (core's hostVolumes, but for a shared store's share), attached to
 * the host's VM and mounted. A host that ran without one moves the files at its mount point onto it,
 * the host's daemons stopped meanwhile.
 */
export function attachVolumes(parent: pulumi.Resource, name: string, args: ClusterArgs, hosts: ClusterHost[]): HostStorage {
  const storage: HostStorage = { volumes: {}, mounts: {} };
  for (const h of hosts) {
    storage.mounts[h.host.name] = [];
    const own = hostVolumes(args.spec, h.host).filter((x) => !x.shared);
    if (own.length === 0) continue;
    const o = { parent, provider: providerFor(args.providers, h.host.site.region) };
    // Not secret: the daemons' names, taken from the (secret) bundle.
    const services = pulumi.unsecret(h.bundle.apply((b) => b.services.map((d) => d.service).join(" ")));
    for (const v of own) {
      const id = `${name}-${h.host.site.name}-${v.purpose}`;
      const volume = new openstack.blockstorage.Volume(id, {
        name: `${h.host.name}-${v.purpose}`,
        size: v.sizeGb,
        // Cinder's zones are named apart from Nova's; unset lets Cinder pick its default.
        availabilityZone: h.host.site.volumeAvailabilityZone,
        volumeType: args.volumeType,
        description: `${v.purpose === "mail" ? "mailboxes" : "Postfix queue"} of ${h.host.fqdn}`,
      }, { ...o, protect: args.protectStore ?? true });
      const attach = new openstack.compute.VolumeAttach(id, { instanceId: h.server.id, volumeId: volume.id }, { ...o, deleteBeforeReplace: true });
      const cmd = pulumi.interpolate`sudo sh -s -- volume ${volume.id} ${v.mountPoint} ${v.purpose} ${services}`;
      storage.volumes[`${h.host.name}-${v.purpose}`] = volume;
      storage.mounts[h.host.name].push(mountCommand(parent, name, h, v, cmd, [attach]));
    }
  }
  return storage;
}

/** The cluster's rolling push, hosts in the role's preference order, each after its mounts. */
export function pushConfig(parent: pulumi.ComponentResource, name: string, args: ClusterArgs, hosts: ClusterHost[], mounts: Record<string, pulumi.Resource[]>): ConfigPush {
  const targets: PushTarget[] = hosts.map((h) => ({ host: h.host, connection: h.connection, serverId: h.server.id, bundle: h.bundle, dependsOn: mounts[h.host.name] }));
  return new ConfigPush(`${name}-push`, { targets, spec: args.spec, provisionScript: args.provisionScript }, { parent });
}

/** What every cluster component exposes. */
export interface ClusterOutputs {
  hosts: ClusterHost[];
  push: ConfigPush;
}
