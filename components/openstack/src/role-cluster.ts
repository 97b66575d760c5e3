// The cluster of a role whose hosts hold no mailboxes: smtp-in (one MX per site, each with its own
// public address: DNSBL needs the client's real address), smtp-out (submission relays, site-local),
// frontend (the NGINX proxies, public) and webmail (Roundcube behind the frontends, site-local). Each
// is the role's hosts, their volumes where core's hostVolumes gives them any (an MTA's Postfix queue,
// mounted before the first push) and their rolling push. They were four identical classes; each
// role's old type token stays as an alias, so an existing stack finds the component and, through it,
// its children.
import { Role } from "@mailplatform/core";
import * as command from "@pulumi/command";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { attachVolumes, buildHosts, ClusterArgs, ClusterHost, ClusterOutputs, pushConfig } from "./cluster";
import { outputsOf, rehydrationProps } from "./component";
import { ConfigPush } from "./config-push";

/** The roles a RoleCluster builds; the maildrop, which holds the mailboxes, is MaildropCluster. */
export type StatelessRole = Exclude<Role, "maildrop">;

/** The type each role's cluster was registered under before RoleCluster. */
export const LEGACY_CLUSTER_TYPES: Record<StatelessRole, string> = {
  "smtp-in": "mailplatform:index:SmtpInCluster",
  "smtp-out": "mailplatform:index:SmtpOutCluster",
  frontend: "mailplatform:index:FrontendCluster",
  webmail: "mailplatform:index:Webmail",
};

export interface RoleClusterArgs extends ClusterArgs {
  role: StatelessRole;
}

const OUTPUTS = ["hosts", "push", "volumes", "mounts"] as const;

export class RoleCluster extends pulumi.ComponentResource implements ClusterOutputs {
  static readonly TYPE = "mailplatform:index:RoleCluster";
  declare readonly hosts: ClusterHost[];
  declare readonly push: ConfigPush;
  /** By volume name (`<host>-queue`): the MTAs' Postfix queues. */
  declare readonly volumes: Record<string, openstack.blockstorage.Volume>;
  /** Per host name, the commands that mount its volumes. */
  declare readonly mounts: Record<string, command.remote.Command[]>;

  constructor(name: string, args: RoleClusterArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(RoleCluster.TYPE, name, rehydrationProps(opts, OUTPUTS),
      opts.urn ? opts : pulumi.mergeOptions(opts, { aliases: [{ type: LEGACY_CLUSTER_TYPES[args.role] }] }));
    if (opts.urn) return;
    this.hosts = buildHosts(this, name, args);
    ({ volumes: this.volumes, mounts: this.mounts } = attachVolumes(this, name, args, this.hosts));
    this.push = pushConfig(this, name, args, this.hosts, this.mounts);
    this.registerOutputs(outputsOf(this, OUTPUTS));
  }
}
