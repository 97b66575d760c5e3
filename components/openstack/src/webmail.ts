// webmail: Roundcube behind the frontends, no public address.
import * as pulumi from "@pulumi/pulumi";
import { buildHosts, ClusterArgs, ClusterHost, ClusterOutputs, pushConfig } from "./cluster";
import { ConfigPush } from "./config-push";

export type WebmailArgs = ClusterArgs;

export class Webmail extends pulumi.ComponentResource implements ClusterOutputs {
  readonly hosts: ClusterHost[];
  readonly push: ConfigPush;

  constructor(name: string, args: WebmailArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailplatform:index:Webmail", name, {}, opts);
    this.hosts = buildHosts(this, name, "webmail", args, false);
    this.push = pushConfig(this, name, args, this.hosts);
    this.registerOutputs({ servers: this.hosts.map((h) => h.server.id) });
  }
}
