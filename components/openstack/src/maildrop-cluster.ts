// maildrop: the Dovecot pair that holds the mailboxes, site-local only. Replicated mode gives each
// its own Cinder volume (dsync between them); shared mode mounts one Manila NFS share on both, with
// access rules for exactly the two maildrops' addresses. The store is mounted before the first push.
import { hostScript, mailRoot } from "@mailplatform/core";
import * as command from "@pulumi/command";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { buildHosts, ClusterArgs, ClusterHost, ClusterOutputs, pushConfig } from "./cluster";
import { outputsOf, rehydrationProps } from "./component";
import { ConfigPush } from "./config-push";
import { providerFor } from "./providers";

export interface MaildropClusterArgs extends ClusterArgs {
  role: "maildrop";
  /** Cinder volume type (replicated mode). */
  volumeType?: pulumi.Input<string>;
  /** Manila share type (shared mode). */
  shareType?: pulumi.Input<string>;
  /** An existing share network (shared mode); unset: one on the primary's site network. */
  shareNetworkId?: pulumi.Input<string>;
  /** Protect the volumes or the share from deletion (default true): they hold the mailboxes. */
  protectStore?: boolean;
}

const OUTPUTS = ["hosts", "push", "volumes", "shareNetwork", "share", "shareAccess", "mounts"] as const;

export class MaildropCluster extends pulumi.ComponentResource implements ClusterOutputs {
  declare readonly hosts: ClusterHost[];
  declare readonly push: ConfigPush;
  /** Replicated mode: one volume per host name. */
  declare readonly volumes: Record<string, openstack.blockstorage.Volume>;
  /** Shared mode: the share network the stack made (unless one was given), the share and its access rules. */
  declare readonly shareNetwork?: openstack.sharedfilesystem.ShareNetwork;
  declare readonly share?: openstack.sharedfilesystem.Share;
  declare readonly shareAccess: openstack.sharedfilesystem.ShareAccess[];
  /** The mount commands, per host name. */
  declare readonly mounts: Record<string, command.remote.Command>;

  constructor(name: string, args: MaildropClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailplatform:index:MaildropCluster", name, rehydrationProps(opts, OUTPUTS), opts);
    if (opts?.urn) return;
    const { spec } = args;
    this.volumes = {};
    this.shareAccess = [];
    this.mounts = {};
    this.hosts = buildHosts(this, name, args);
    const root = mailRoot(spec);
    const protect = args.protectStore ?? true;
    const script = hostScript("mount-mailstore.sh");
    const mount = (h: ClusterHost, cmd: pulumi.Output<string>, after: pulumi.Resource[]) => {
      this.mounts[h.host.name] = new command.remote.Command(`${name}-${h.host.site.name}-mount`, {
        connection: h.connection,
        create: cmd,
        stdin: script,
        triggers: [h.server.id],
        addPreviousOutputInEnv: false,
      }, { parent: this, dependsOn: after });
    };

    if (spec.storage.mode === "replicated") {
      for (const h of this.hosts) {
        const o = { parent: this, provider: providerFor(args.providers, h.host.site.region) };
        const volume = new openstack.blockstorage.Volume(`${name}-${h.host.site.name}-mail`, {
          name: `${h.host.name}-mail`,
          size: spec.storage.sizeGb,
          // Cinder's zones are named apart from Nova's; unset lets Cinder pick its default.
          availabilityZone: h.host.site.volumeAvailabilityZone,
          volumeType: args.volumeType,
          description: `mailboxes of ${h.host.fqdn}`,
        }, { ...o, protect });
        const attach = new openstack.compute.VolumeAttach(`${name}-${h.host.site.name}-mail`, { instanceId: h.server.id, volumeId: volume.id }, o);
        this.volumes[h.host.name] = volume;
        mount(h, pulumi.interpolate`sudo sh -s -- volume ${volume.id} ${root}`, [attach]);
      }
    } else {
      // The share lives with the primary, its export on the primary's site network: both maildrops
      // reach it with their own addresses (the backup over the inter-site link), never through a
      // router's SNAT, so the access rules can name exactly them.
      const primary = this.hosts[0].host;
      const o = { parent: this, provider: providerFor(args.providers, primary.site.region) };
      const net = args.networks[primary.site.name];
      if (!args.shareNetworkId) {
        this.shareNetwork = new openstack.sharedfilesystem.ShareNetwork(`${name}-share-net`, {
          name: `mailplatform-${spec.stack}-mail`,
          description: `the maildrops' NFS share on ${primary.site.name}'s site network`,
          neutronNetId: net.networkId,
          neutronSubnetId: net.subnetId,
        }, o);
      }
      const share = new openstack.sharedfilesystem.Share(`${name}-share`, {
        name: `mailplatform-${spec.stack}-mail`,
        shareProto: "NFS",
        size: spec.storage.sizeGb,
        shareType: args.shareType,
        shareNetworkId: args.shareNetworkId ?? this.shareNetwork!.id,
        description: "mailboxes of the maildrop pair (active/passive)",
      }, { ...o, protect });
      this.share = share;
      const exportPath = share.exportLocations.apply((ls) => (ls.find((l) => `${l.preferred}` === "true") ?? ls[0])?.path ?? "");
      for (const h of this.hosts) {
        const access = new openstack.sharedfilesystem.ShareAccess(`${name}-share-${h.host.site.name}`, {
          shareId: share.id,
          accessType: "ip",
          accessTo: h.host.address,
          accessLevel: "rw",
        }, o);
        this.shareAccess.push(access);
        mount(h, pulumi.interpolate`sudo sh -s -- nfs ${exportPath} ${root}`, [access, h.server]);
      }
    }
    this.push = pushConfig(this, name, args, this.hosts, Object.fromEntries(Object.entries(this.mounts).map(([host, m]) => [host, [m]])));
    this.registerOutputs(outputsOf(this, OUTPUTS));
  }
}
