// The whole platform as one component with plain, language-neutral inputs: the component other
// Pulumi languages get from the plugin package (PulumiPlugin.yaml). It validates the config with the
// core's parseSpec, makes the regional providers and builds MailPlatform.
import { parseSpec } from "@mailplatform/core";
import * as pulumi from "@pulumi/pulumi";
import { MailPlatform } from "./mail-platform";
import { outputsOf, rehydrationProps } from "./component";
import { regionalProviders } from "./providers";
import { JumpHostSettings } from "./settings";

export interface MailPlatformStackArgs {
  /** The platform's config: the `mailplatform:` keys of a stack file without the namespace (see the spec reference). Plain values only. */
  config: { [key: string]: any };
  /** Stack name the spec is read for; defaults to the running stack. */
  stackName?: string;
  /** OpenStack provider settings shared by every region (authUrl, userName, password, tenantName, cloud, ...). */
  credentials?: { [key: string]: pulumi.Input<string> };
  /** External network for floating IPs and routers; `public` unless given. */
  externalNetwork?: string;
  /** Login user of the image; `debian` unless given. */
  sshUser?: string;
  /** Private key the config push logs in with; unset: the stack makes one. */
  sshPrivateKey?: pulumi.Input<string>;
  /** Its public key, installed as a key pair per region; or name an existing key pair with keyPair. */
  sshPublicKey?: string;
  keyPair?: string;
  /** Site name → a jump host of your own for that site's private hosts (host, port, user, hostKey). */
  jumpHosts?: { [site: string]: JumpHostSettings };
  /** The LDAP directory's bind password, when the config has a directory. */
  ldapBindPassword?: pulumi.Input<string>;
}

const OUTPUTS = ["endpoints", "inventory", "dnsRecords", "zoneFiles"] as const;

export class MailPlatformStack extends pulumi.ComponentResource {
  /** Service names, MX targets, public addresses, the internal CA, egress check. */
  declare readonly endpoints: pulumi.Output<{ [key: string]: any }>;
  /** Every host: role, site, region, planned and public address, server id. */
  declare readonly inventory: pulumi.Output<any[]>;
  /** Every DNS record (name, type, ttl, value, scope, zone); not secret. */
  declare readonly dnsRecords: pulumi.Output<any[]>;
  /** Zone → BIND text of its public records, one file per zone. */
  declare readonly zoneFiles: pulumi.Output<{ [zone: string]: string }>;

  constructor(name: string, args: MailPlatformStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailplatform:index:MailPlatformStack", name, rehydrationProps(opts, OUTPUTS), opts);
    if (opts?.urn) return;
    const spec = parseSpec(args.config, args.stackName ?? pulumi.getStack());
    const providers = regionalProviders(name, spec.sites.map((s) => s.region), args.credentials ?? {}, { parent: this });
    const platform = new MailPlatform(name, {
      spec,
      providers,
      settings: {
        externalNetwork: args.externalNetwork ?? "public",
        ssh: { user: args.sshUser ?? "debian", privateKey: args.sshPrivateKey && pulumi.secret(args.sshPrivateKey), publicKey: args.sshPublicKey, keyPair: args.keyPair },
        jumpHosts: args.jumpHosts,
      },
      ldapBindPassword: args.ldapBindPassword && pulumi.secret(args.ldapBindPassword),
    }, { parent: this });
    this.endpoints = platform.endpoints as pulumi.Output<{ [key: string]: any }>;
    this.inventory = platform.inventory;
    this.dnsRecords = platform.dnsRecords;
    this.zoneFiles = platform.zoneFiles;
    this.registerOutputs(outputsOf(this, OUTPUTS));
  }
}
