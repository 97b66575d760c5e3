// How the platform is built on OpenStack and reached over SSH: everything the core's spec does not
// describe because it is about this cloud, not about mail. Read from the `mailplatform-openstack:`
// config namespace by the stack program; a portal passes the same object to the inline program.
// Every key is declared once in SETTINGS (kind, default, meaning): readSettings checks the stack's
// keys against it and docs/openstack.md's table is generated from it (npm run docs).
import { Setting } from "@mailplatform/core";
import * as pulumi from "@pulumi/pulumi";

export const SETTINGS_NAMESPACE = "mailplatform-openstack";

export const SETTINGS = {
  externalNetwork: { kind: "string", default: "public", doc: "External network: the floating IP pool and the routers' gateway." },
  sshUser: { kind: "string", default: "debian", doc: "Login user of the image; it needs passwordless sudo (Debian's cloud images have it)." },
  sshPrivateKey: { kind: "string", secret: true, computed: "an Ed25519 key generated in the stack", doc: "Key the config push logs in with. Set it only to use a key of your own (then also `sshPublicKey` or `keyPair`): `pulumi config set --secret mailplatform-openstack:sshPrivateKey < key`." },
  sshPublicKey: { kind: "string", computed: "the generated key's", doc: "Public half of `sshPrivateKey`; a Nova key pair `mailplatform-<stack>` is made from it in every region." },
  keyPair: { kind: "string", doc: "Instead of `sshPublicKey`: an existing Nova key pair of that name in every region (with `sshPrivateKey`)." },
  jumpHosts: { kind: "mapping", doc: "Site name → `{host, port, user, hostKey}`: a jump host of your own for that site's private hosts, instead of the site's frontend (or smtp-in). `hostKey` (`ssh-ed25519 AAAA…`) is required: the push pins every host key. Its address as the VMs see it must be in `mailplatform:access.adminNetworks`." },
  jumpHostPrivateKey: { kind: "string", secret: true, computed: "the push's key", doc: "Key for the configured jump hosts, when it differs from the push's." },
  volumeType: { kind: "string", computed: "Cinder's default type", doc: "Cinder volume type of the hosts' volumes: the maildrops' mail stores (replicated storage) and the MTAs' Postfix queues." },
  shareType: { kind: "string", computed: "Manila's default type", doc: "Manila share type (shared storage)." },
  shareNetworkId: { kind: "string", computed: "a share network on the primary maildrop's site network, made by the stack", doc: "An existing Manila share network instead; the maildrops must reach its export without SNAT (the share's access rules name their own addresses)." },
  protectMailStore: { kind: "enum", values: ["true", "false"], default: "true", doc: "Protect the hosts' volumes (mail stores, MTA queues) and the maildrops' share from deletion: they hold acknowledged mail." },
} as const satisfies Record<string, Setting>;

/** Keys that were replaced, with what to set instead. */
const REPLACED: Record<string, string> = {
  bastion: "one jump host for every region cannot reach the other regions' site-local networks: set jumpHosts.<site> (or nothing: each site's frontend is its jump host)",
  bastionPrivateKey: "set jumpHostPrivateKey",
};

export interface SshSettings {
  /** Login user of the image (Debian's cloud images: `debian`); it needs passwordless sudo. */
  user: string;
  /** Private key the config push logs in with; unset: one is generated in the stack. Kept secret. */
  privateKey?: pulumi.Input<string>;
  /** Its public key: installed as a Nova key pair per region. */
  publicKey?: string;
  /** An existing Nova key pair (same name in every region), used when `publicKey` is not set. */
  keyPair?: string;
}

/** A jump host of the operator's own for one site. */
export interface JumpHostSettings {
  /** Address the deploying machine reaches it at. */
  host: string;
  port?: number;
  user?: string;
  /** Its SSH host public key (`ssh-ed25519 AAAA…`), pinned. */
  hostKey: string;
  /** Defaults to the push's key. */
  privateKey?: pulumi.Input<string>;
}

export interface OpenStackSettings {
  /** External network: floating IP pool and the routers' gateway (`public` unless told). */
  externalNetwork: string;
  ssh: SshSettings;
  /** Site → jump host of its private hosts, instead of the site's frontend or smtp-in. */
  jumpHosts?: Record<string, JumpHostSettings>;
  /** Cinder volume type of the hosts' volumes (mail stores, MTA queues). */
  volumeType?: string;
  /** Manila share type (shared storage). */
  shareType?: string;
  /** An existing Manila share network; unset: the stack makes one on the primary maildrop's network. */
  shareNetworkId?: string;
  /** Protect the hosts' volumes and the maildrops' share from deletion (default true): they hold acknowledged mail. */
  protectMailStore?: boolean;
}

/** The stack's `mailplatform-openstack:*` keys that are not settings, with what is wrong; empty when all are. */
export function unknownSettings(keys: string[]): string[] {
  return keys.map((key) => {
    const name = key.slice(SETTINGS_NAMESPACE.length + 1);
    if (name in REPLACED) return `${key}: no longer read; ${REPLACED[name]}`;
    return name in SETTINGS ? undefined : `${key}: is not a known setting (known: ${Object.keys(SETTINGS).join(", ")})`;
  }).filter((p): p is string => p !== undefined);
}

/** Problems of the configured jump hosts, each naming its key. */
export function jumpHostProblems(jumpHosts: Record<string, Partial<JumpHostSettings>>): string[] {
  const key = (site: string, field: string) => `${SETTINGS_NAMESPACE}:jumpHosts.${site}.${field}`;
  return Object.entries(jumpHosts).flatMap(([site, j]) => [
    ...(typeof j.host === "string" && j.host ? [] : [`${key(site, "host")}: is required`]),
    ...(typeof j.hostKey === "string" && /^ssh-[a-z0-9-]+ [A-Za-z0-9+/=]+/.test(j.hostKey) ? [] : [`${key(site, "hostKey")}: must be the host's public key (ssh-ed25519 AAAA…): the push pins it`]),
    ...(j.port === undefined || (Number.isInteger(j.port) && j.port > 0 && j.port < 65536) ? [] : [`${key(site, "port")}: must be a port number, not ${j.port}`]),
  ]);
}

/** The settings from `mailplatform-openstack:*`, with defaults; secrets stay secret. Every problem at once. */
export function readSettings(): OpenStackSettings {
  const c = new pulumi.Config(SETTINGS_NAMESPACE);
  const jumpHosts = c.getObject<Record<string, JumpHostSettings>>("jumpHosts");
  const jumpHostPrivateKey = c.getSecret("jumpHostPrivateKey");
  const protect = c.get("protectMailStore");
  const problems = [
    ...unknownSettings(Object.keys(pulumi.runtime.allConfig()).filter((k) => k.startsWith(`${SETTINGS_NAMESPACE}:`))),
    ...jumpHostProblems(jumpHosts ?? {}),
    ...(protect === undefined || protect === "true" || protect === "false" ? [] : [`${SETTINGS_NAMESPACE}:protectMailStore: must be true or false, not ${JSON.stringify(protect)}`]),
  ];
  if (problems.length > 0) throw new Error(`the ${SETTINGS_NAMESPACE} settings have ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return {
    externalNetwork: c.get("externalNetwork") ?? SETTINGS.externalNetwork.default,
    ssh: {
      user: c.get("sshUser") ?? SETTINGS.sshUser.default,
      privateKey: c.getSecret("sshPrivateKey"),
      publicKey: c.get("sshPublicKey"),
      keyPair: c.get("keyPair"),
    },
    jumpHosts: jumpHosts && Object.fromEntries(Object.entries(jumpHosts).map(([site, j]) => [site, { ...j, privateKey: jumpHostPrivateKey }])),
    volumeType: c.get("volumeType"),
    shareType: c.get("shareType"),
    shareNetworkId: c.get("shareNetworkId"),
    protectMailStore: protect === undefined ? undefined : protect === "true",
  };
}
