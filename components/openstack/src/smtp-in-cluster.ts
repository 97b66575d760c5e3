// smtp-in: one MX per site, each with its own public address (DNSBL needs the client's real address, so nothing proxies in front).
import * as pulumi from "@pulumi/pulumi";
import { buildHosts, ClusterArgs, ClusterHost, ClusterOutputs, pushConfig } from "./cluster";
import { ConfigPush } from "./config-push";

export type SmtpInClusterArgs = ClusterArgs;

export class SmtpInCluster extends pulumi.ComponentResource implements ClusterOutputs {
  readonly hosts: ClusterHost[];
  readonly push: ConfigPush;

  constructor(name: string, args: SmtpInClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailplatform:index:SmtpInCluster", name, {}, opts);
    this.hosts = buildHosts(this, name, "smtp-in", args, true);
    this.push = pushConfig(this, name, args, this.hosts);
    this.registerOutputs({ servers: this.hosts.map((h) => h.server.id) });
  }
}
