// frontend: the NGINX proxies, one per site, each with a public address (clients, MTA-STS, autoconfig, webmail).
import * as pulumi from "@pulumi/pulumi";
import { buildHosts, ClusterArgs, ClusterHost, ClusterOutputs, pushConfig } from "./cluster";
import { ConfigPush } from "./config-push";

export type FrontendClusterArgs = ClusterArgs;

export class FrontendCluster extends pulumi.ComponentResource implements ClusterOutputs {
  readonly hosts: ClusterHost[];
  readonly push: ConfigPush;

  constructor(name: string, args: FrontendClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailplatform:index:FrontendCluster", name, {}, opts);
    this.hosts = buildHosts(this, name, "frontend", args, true);
    this.push = pushConfig(this, name, args, this.hosts);
    this.registerOutputs({ servers: this.hosts.map((h) => h.server.id) });
  }
}
