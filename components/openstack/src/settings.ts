// How the platform is built on OpenStack and reached over SSH: everything the core's spec does not
// describe because it is about this cloud, not about mail. Read from the `mailplatform-openstack:`
// config namespace by the stack program; a portal passes the same object to the inline program.
import * as pulumi from "@pulumi/pulumi";

export const SETTINGS_NAMESPACE = "mailplatform-openstack";

export interface SshSettings {
  /** Login user of the image (Debian's cloud images: `debian`); it needs passwordless sudo. */
  user: string;
  /** Private key the config push logs in with. Kept secret. */
  privateKey: pulumi.Input<string>;
  /** Its public key: installed as a Nova key pair per region. Without it, `keyPair` must name one. */
  publicKey?: string;
  /** An existing Nova key pair (same name in every region), used when `publicKey` is not set. */
  keyPair?: string;
}

export interface BastionSettings {
  /** Address the deployer reaches the bastion at. */
  host: string;
  port?: number;
  user?: string;
  /** Defaults to the hosts' key. */
  privateKey?: pulumi.Input<string>;
}

export interface OpenStackSettings {
  /** External network: floating IP pool and the routers' gateway (`public` unless told). */
  externalNetwork: string;
  ssh: SshSettings;
  /** When set, every SSH connection goes through it; otherwise the deployer reaches the site-local addresses itself. */
  bastion?: BastionSettings;
  /** Cinder volume type of the maildrop volumes (replicated storage). */
  volumeType?: string;
  /** Manila share type and share network (shared storage), when the cloud needs them. */
  shareType?: string;
  shareNetworkId?: string;
  /** Protect the maildrop volumes or share from deletion (default true): they hold the mailboxes. */
  protectMailStore?: boolean;
}

/** The settings from `mailplatform-openstack:*`, with defaults; secrets stay secret. */
export function readSettings(): OpenStackSettings {
  const c = new pulumi.Config(SETTINGS_NAMESPACE);
  const bastion = c.getObject<Omit<BastionSettings, "privateKey">>("bastion");
  return {
    externalNetwork: c.get("externalNetwork") ?? "public",
    ssh: {
      user: c.get("sshUser") ?? "debian",
      privateKey: c.requireSecret("sshPrivateKey"),
      publicKey: c.get("sshPublicKey"),
      keyPair: c.get("keyPair"),
    },
    bastion: bastion && { ...bastion, privateKey: c.getSecret("bastionPrivateKey") },
    volumeType: c.get("volumeType"),
    shareType: c.get("shareType"),
    shareNetworkId: c.get("shareNetworkId"),
    protectMailStore: c.getBoolean("protectMailStore"),
  };
}
