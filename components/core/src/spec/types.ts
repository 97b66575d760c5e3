// The validated, normalized model of the platform. Everything downstream (renderers, the lab,
// the OpenStack components) reads only this; the raw stack config never leaves spec/.

export const ROLES = ["smtp-in", "smtp-out", "maildrop", "frontend", "webmail"] as const;
export type Role = (typeof ROLES)[number];

export interface Site {
  /** Short name, used in host names (smtp-in-<site>). */
  name: string;
  /** OpenStack region the site's VMs are built in. */
  region: string;
  /** Nova availability zone of the site's VMs. */
  availabilityZone: string;
  /** Cinder availability zone of the site's volumes; unset: Cinder's default. */
  volumeAvailabilityZone?: string;
  /** Site-local network; hosts get planned addresses from it. */
  cidr: string;
  /** Addresses the site's outbound mail leaves from (published in SPF). */
  egress: string[];
}

export interface Placement {
  /** Sites per role, in preference order (the first is the primary where a role has one). */
  sites: Record<Role, string[]>;
  /** OpenStack flavor per role. */
  flavors: Record<Role, string>;
}

export interface HostedDomain {
  name: string;
  /** Address that receives mail for unknown local parts, if any. */
  catchAll?: string;
  /** The domain's DKIM selectors: its own, else the platform-wide ones. */
  dkimSelectors: DkimSelector[];
}

export interface User {
  address: string;
  /**
   * Dovecot password hash with its scheme prefix, e.g. {BLF-CRYPT}$2y$... A secret: renderers take
   * it from the secrets (PlatformSecrets.userPasswordHashes), never from here. Undefined where the
   * config holds none or only encrypted (a Pulumi `secure:` value read without the CLI), and in-stack,
   * where the hashes travel as Pulumi secrets only.
   */
  passwordHash?: string;
  /** Bytes; undefined means the platform default. */
  quotaBytes?: number;
  /** Mail is still delivered, but every login is refused. */
  disabled?: true;
  /** The mailbox's own forward, when it has one. */
  forward?: UserForward;
}

export interface UserForward {
  /** Hosted or outside addresses; never the mailbox itself. */
  to: string[];
  /** The mailbox also keeps each message; false: forwarded only. */
  keepCopy: boolean;
}

export interface Alias {
  address: string;
  to: string;
}

export interface DistributionList {
  address: string;
  members: string[];
}

export interface Forward {
  address: string;
  to: string[];
}

export interface LdapDirectory {
  type: "ldap";
  uris: string[];
  baseDn: string;
  bindDn: string;
  /** Dovecot/Postfix filters; %n / %s as in seed 003. */
  userFilter: string;
  passFilter: string;
  /** Postfix lookup filters for mailboxes and groups. */
  mailboxFilter: string;
  groupFilter: string;
  groupMemberAttribute: string;
  /** LDAP attribute holding the quota in bytes (seed 003 uses Active Directory's `info`). */
  quotaAttribute?: string;
  /** CA of the directory's certificate (PEM); absent: the system trust store. */
  caCertificate?: string;
}

export interface RelayClient {
  /** SASL user name on smtp-out. */
  name: string;
  description?: string;
}

export interface DnsblZone {
  zone: string;
  weight: number;
}

export interface Limits {
  messageSizeBytes: number;
  recipientsPerMessage: number;
  /** Simultaneous connections one client may hold on smtp-in. */
  clientConnections: number;
  /** Connections per minute per client on smtp-in. */
  clientConnectionRate: number;
  /** Messages per minute one SASL client may submit on smtp-out. */
  submissionMessageRate: number;
  /** Recipients per minute one SASL client may submit to on smtp-out. */
  submissionRecipientRate: number;
  /** How long undeliverable mail stays queued before it bounces. */
  queueLifetime: string;
}

export interface DkimSelector {
  /** Selector stem; published as <name>-rsa and <name>-ed25519. */
  name: string;
  /** `active` signs and is published; `published` is only in DNS (a key waiting to take over). */
  state: "active" | "published";
}

export type StorageMode = "replicated" | "shared";

export interface Storage {
  mode: StorageMode;
  /** Mailbox volume (replicated) or Manila share (shared) size, in GiB. */
  sizeGb: number;
  /** Size of the Postfix queue volume of every smtp-in, smtp-out and maildrop, in GiB. */
  queueSizeGb: number;
}

export interface Tls {
  /** `internal-ca`: the stack generates a CA and signs every host; `supplied`: operator certificates. */
  mode: "internal-ca" | "supplied";
}

export interface DnsSettings {
  ttl: number;
  /** DMARC policy published for every hosted domain. */
  dmarcPolicy: "none" | "quarantine" | "reject";
  /** Where aggregate DMARC and TLS-RPT reports go. */
  reportAddress: string;
  mtaStsMode: "enforce" | "testing" | "none";
  /** Resolvers the hosts' Unbound forwards to; empty means full recursion. */
  forwarders: string[];
  provider: "none" | "designate";
  designateZone?: string;
}

export interface Access {
  /** Networks allowed to reach ManageSieve (4190) and the webmail. */
  sieveNetworks: string[];
  webmailNetworks: string[];
  /** SSH from here only. */
  adminNetworks: string[];
}

export interface PlatformSpec {
  /** Stack name the spec was read for. */
  stack: string;
  /** Domain the platform's own names live under (smtp-in hosts, smtp., imap., maildrop.). */
  platformDomain: string;
  /** Debian release of the VM image; decides the Dovecot version (12 → 2.3, 13 → 2.4). */
  debianRelease: 12 | 13;
  image: string;
  sites: Site[];
  placement: Placement;
  domains: HostedDomain[];
  users: User[];
  directory?: LdapDirectory;
  aliases: Alias[];
  lists: DistributionList[];
  forwards: Forward[];
  devnull: string[];
  defaultQuotaBytes: number;
  relayClients: RelayClient[];
  access: Access;
  storage: Storage;
  tls: Tls;
  dnsbl: DnsblZone[];
  /** postscreen score at which a client is rejected. */
  dnsblThreshold: number;
  limits: Limits;
  dns: DnsSettings;
  /** Postmaster address used in DSNs and RFC 2142 aliases. */
  postmaster: string;
}
