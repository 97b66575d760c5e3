// maildrop: the Dovecot pair that holds the mailboxes, site-local only. Replicated mode gives each
// its own Cinder volume (dsync between them); shared mode mounts one Manila NFS share on both, with
// access rules for exactly the two maildrops' addresses. Each also has a volume for its Postfix queue
// (what Sieve redirects and vacation replies wait in). All are mounted before the first push.
import { hostVolumes } from "@mailplatform/core";
import * as command from "@pulumi/command";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { attachVolumes, buildHosts, ClusterArgs, ClusterHost, ClusterOutputs, mountCommand, pushConfig } from "./cluster";
import { outputsOf, rehydrationProps } from "./component";
import { ConfigPush } from "./config-push";
import { providerFor } from "./providers";

export interface MaildropClusterArgs extends ClusterArgs {
  role: "maildrop";
  /** Manila share type (shared mode). */
  shareType?: pulumi.Input<string>;
  /** An existing share network (shared mode); unset: one on the primary's site network. */
  shareNetworkId?: pulumi.Input<string>;
}

const OUTPUTS = ["hosts", "push", "volumes", "shareNetwork", "share", "shareAccess", "mounts"] as const;

export class MaildropCluster extends pulumi.ComponentResource implements ClusterOutputs {
  declare readonly hosts: ClusterHost[];
  declare readonly push: ConfigPush;
  /** By volume name: `<host>-mail` (replicated mode), `<host>-queue`. */
  declare readonly volumes: Record<string, openstack.blockstorage.Volume>;
  /** Shared mode: the share network the stack made (unless one was given), the share and its access rules. */
  declare readonly shareNetwork?: openstack.sharedfilesystem.ShareNetwork;
  declare readonly share?: openstack.sharedfilesystem.Share;
  declare readonly shareAccess: openstack.sharedfilesystem.ShareAccess[];
  /** Per host name, the commands that mount its store and queue. */
  declare readonly mounts: Record<string, command.remote.Command[]>;

  constructor(name: string, args: MaildropClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailplatform:index:MaildropCluster", name, rehydrationProps(opts, OUTPUTS), opts);
    if (opts?.urn) return;
    const { spec } = args;
    this.shareAccess = [];
    this.hosts = buildHosts(this, name, args);
    ({ volumes: this.volumes, mounts: this.mounts } = attachVolumes(this, name, args, this.hosts));
    if (spec.storage.mode === "shared") {
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
      }, { ...o, protect: args.protectStore ?? true });
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
        const store = hostVolumes(spec, h.host).find((v) => v.shared)!;
        this.mounts[h.host.name].unshift(mountCommand(this, name, h, store, pulumi.interpolate`sudo sh -s -- nfs ${exportPath} ${store.mountPoint}`, [access, h.server]));
      }
    }
    this.push = pushConfig(this, name, args, this.hosts, this.mounts);
    this.registerOutputs(outputsOf(this, OUTPUTS));
  }
}
