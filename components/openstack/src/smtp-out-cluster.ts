// smtp-out: submission relays on the site-local networks, no public address; reached through the frontends.
import * as pulumi from "@pulumi/pulumi";
import { buildHosts, ClusterArgs, ClusterHost, ClusterOutputs, pushConfig } from "./cluster";
import { ConfigPush } from "./config-push";

export type SmtpOutClusterArgs = ClusterArgs;

export class SmtpOutCluster extends pulumi.ComponentResource implements ClusterOutputs {
  readonly hosts: ClusterHost[];
  readonly push: ConfigPush;

  constructor(name: string, args: SmtpOutClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailplatform:index:SmtpOutCluster", name, {}, opts);
    this.hosts = buildHosts(this, name, "smtp-out", args, false);
    this.push = pushConfig(this, name, args, this.hosts);
    this.registerOutputs({ servers: this.hosts.map((h) => h.server.id) });
  }
}
