// The one reference of every stack-config setting: its kind, default, allowed range and meaning.
// The validator reads its known keys, defaults, ranges and allowed values from here, and the
// README's spec reference is generated from it (npm run docs), so none of them can drift.

/** Kinds of a single value; the Reader checks the syntax of those that have one. */
export type ValueKind =
  | "string"
  | "domain"
  | "address"
  | "cidr"
  | "ip"
  | "site"
  | "size"
  | "duration"
  | "passwordHash"
  | "dn"
  | "ldapUri"
  | "ldapFilter"
  | "attribute"
  | "pem";

/** A config value as a stack file would write it. */
export type ConfigValue = string | number | boolean | readonly ConfigValue[] | { readonly [key: string]: ConfigValue };

/**
 * A default is a config value the validator reads as if the stack had written it. A default that
 * depends on other settings stays in the validator; `computed` says what it is.
 */
type Defaulted<T> = { default?: T; computed?: never } | { computed: string; default?: never };

type Doc = { doc: string };

export type Setting = Doc &
  (
    | ({ kind: ValueKind; secret?: true } & Defaulted<string>)
    | { kind: "integer"; min: number; max: number; default: number }
    | { kind: "boolean"; default: boolean }
    | ({ kind: "enum"; values: readonly (string | number)[] } & ({ default: string | number } | { computed: string }))
    | ({ kind: "list"; of: ValueKind } & Defaulted<readonly string[]>)
    /** A list of mappings whose settings are at `<path>.<key>[]`. */
    | ({ kind: "objects" } & Defaulted<readonly ConfigValue[]>)
    /** A mapping whose settings are at `<path>.<key>`. */
    | { kind: "mapping" }
  );

export type Kind = Setting["kind"];

// Dovecot's userdb filter (seed 003, generalised from Active Directory). The passdb filter also
// leaves out disabled accounts (Active Directory's ACCOUNTDISABLE bit of userAccountControl): AD
// refuses their binds itself, other directories (OpenLDAP) do not.
const PERSON_FILTER = "(&(objectClass=person)(sAMAccountName=%n)(mail=%u))";
const ENABLED_PERSON_FILTER = "(&(objectClass=person)(sAMAccountName=%n)(mail=%u)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))";

/** Settings per object path ("" is the top level, "sites[]" an item of the sites list), in README order. */
export const REFERENCE = {
  "": {
    platformDomain: { kind: "domain", doc: "Domain the platform's own names live under: host names (smtp-in-<site>.<domain>), smtp., imap., pop., webmail., the internal maildrop. and smtp-out. names, and the SRS domain." },
    debianRelease: { kind: "enum", values: [12, 13], default: 12, doc: "Debian release of the VM image. 12 has Dovecot 2.3 with the replicator; 13 has Dovecot 2.4, which cannot replicate." },
    image: { kind: "string", computed: "debian-<debianRelease>", doc: "Glance image name of the VMs." },
    sites: { kind: "objects", doc: "The sites (OpenStack regions) the platform spans; prod has three." },
    placement: { kind: "mapping", doc: "Which sites run which role, in preference order (the first is the primary)." },
    domains: { kind: "objects", doc: "Hosted mail domains; an item may also be just the domain name." },
    users: { kind: "objects", doc: "Mailbox users. Required unless a directory is configured." },
    directory: { kind: "mapping", doc: "LDAP / Active Directory as the user directory (seed 003): passdb, userdb, quota and group lookups." },
    aliases: { kind: "objects", doc: "One hosted address delivered to another hosted address." },
    lists: { kind: "objects", doc: "Distribution lists: every member receives a copy." },
    forwards: { kind: "objects", doc: "Hosted addresses forwarded to outside addresses, with the envelope sender rewritten by SRS." },
    devnull: { kind: "list", of: "address", doc: "Addresses whose mail is accepted and discarded (noreply@)." },
    quota: { kind: "mapping", doc: "Mailbox quota defaults." },
    relayClients: { kind: "objects", doc: "SASL users on smtp-out for servers (bastions, monitoring); their passwords are generated in-stack. The webmail has none: it submits as the logged-in user." },
    access: { kind: "mapping", doc: "Networks allowed to reach the restricted services." },
    storage: { kind: "mapping", doc: "How the maildrop pair stores mailboxes." },
    tls: { kind: "mapping", doc: "Where the hosts' certificates come from." },
    dnsbl: { kind: "mapping", doc: "postscreen's weighted DNS blocklists on smtp-in." },
    limits: { kind: "mapping", doc: "Size, recipient, connection and rate limits (seed 003's protection limits)." },
    dkim: { kind: "mapping", doc: "DKIM selectors of the domains without their own (domains[].dkim); every selector has an RSA-2048 and an Ed25519 key per domain, generated in-stack." },
    dns: { kind: "mapping", doc: "The DNS records the platform publishes." },
    postmaster: { kind: "address", computed: "postmaster@ of the first hosted domain whose config defines it", doc: "Where DSNs and RFC 2142 mail for the platform go." },
  },
  "sites[]": {
    name: { kind: "string", doc: "Short lower-case name, part of host names (smtp-in-<name>)." },
    region: { kind: "string", doc: "OpenStack region." },
    availabilityZone: { kind: "string", default: "nova", doc: "Nova availability zone for the site's VMs." },
    volumeAvailabilityZone: { kind: "string", computed: "Cinder's default zone", doc: "Cinder availability zone of the site's maildrop volume (replicated storage). Clouds name Cinder's zones apart from Nova's (a stock one has only `nova`); `openstack availability zone list --volume` shows them." },
    cidr: { kind: "cidr", doc: "Site-local network; hosts get planned addresses in it (smtp-in .11, smtp-out .21, maildrop .31, frontend .41, webmail .51)." },
    egress: { kind: "list", of: "ip", doc: "Addresses the site's outbound mail leaves from, of the site network's IP version; SPF publishes them (on OpenStack: the router's actual SNAT address, which Neutron picks, and the stack's `endpoints.egress` shows both)." },
  },
  placement: {
    smtpIn: { kind: "list", of: "site", computed: "every site", doc: "Sites with an smtp-in host (each gets a public address and an equal-preference MX)." },
    smtpOut: { kind: "list", of: "site", computed: "every site", doc: "Sites with an smtp-out host; the first is the frontends' primary upstream." },
    maildrop: { kind: "list", of: "site", computed: "the first two sites", doc: "The maildrop pair, exactly two sites: primary first (MX 10, NGINX primary), backup second." },
    frontend: { kind: "list", of: "site", computed: "every site", doc: "Sites with an NGINX frontend." },
    webmail: { kind: "list", of: "site", computed: "the first site", doc: "Sites with a Roundcube host." },
    flavors: { kind: "mapping", doc: "OpenStack flavor per role (keys as above)." },
  },
  "placement.flavors": {
    smtpIn: { kind: "string", default: "m1.medium", doc: "Flavor of smtp-in VMs." },
    smtpOut: { kind: "string", default: "m1.small", doc: "Flavor of smtp-out VMs." },
    maildrop: { kind: "string", default: "m1.large", doc: "Flavor of maildrop VMs." },
    frontend: { kind: "string", default: "m1.small", doc: "Flavor of frontend VMs." },
    webmail: { kind: "string", default: "m1.small", doc: "Flavor of webmail VMs." },
  },
  "domains[]": {
    name: { kind: "domain", doc: "The hosted domain." },
    catchAll: { kind: "address", doc: "Receives mail for unknown local parts of this domain." },
    dkim: { kind: "mapping", doc: "This domain's own DKIM selectors, so it rotates its keys on its own schedule (its administrators do, in the portal)." },
  },
  "domains[].dkim": {
    selectors: { kind: "objects", computed: "mailplatform:dkim.selectors", doc: "As mailplatform:dkim.selectors, for this domain only. A selector keeps its keys whether the platform's list or the domain's names it." },
  },
  "domains[].dkim.selectors[]": {
    name: { kind: "string", doc: "Selector stem, as in mailplatform:dkim.selectors[]." },
    state: { kind: "enum", values: ["active", "published"], default: "active", doc: "`active` signs; `published` is only in DNS." },
  },
  "users[]": {
    address: { kind: "address", doc: "Login name and mailbox address; must be in a hosted domain." },
    passwordHash: {
      kind: "passwordHash", secret: true,
      doc: "From `doveadm pw -s BLF-CRYPT` (or SHA512-CRYPT, ARGON2ID...); plain passwords are refused. A secret: `pulumi config set --secret --path 'mailplatform:users[0].passwordHash' \"$(doveadm pw -s BLF-CRYPT)\"`. `pulumi up` requires it; the offline render and the lab run without it (the lab makes its own passwords).",
    },
    quota: { kind: "size", computed: "quota.default", doc: "Mailbox quota, e.g. 10G." },
    state: { kind: "enum", values: ["active", "disabled"], default: "active", doc: "`disabled`: mail is still delivered and kept, but nobody can log in (IMAP, POP3, ManageSieve, submission)." },
    forwardTo: { kind: "list", of: "address", default: [], doc: "Where the mailbox's mail is forwarded: hosted or outside addresses. Outside ones leave with the envelope sender rewritten by SRS, as mailplatform:forwards do." },
    keepCopy: { kind: "boolean", default: true, doc: "With forwardTo: the mailbox keeps a copy of what it forwards. `false`: forwarded only." },
  },
  directory: {
    type: { kind: "enum", values: ["ldap"], default: "ldap", doc: "Directory kind." },
    uris: { kind: "list", of: "ldapUri", doc: "Directory servers, all ldaps:// (TLS) or all ldap:// (StartTLS, required): user passwords are checked by binding as the user, so nothing goes in clear. The certificate is always verified." },
    baseDn: { kind: "dn", doc: "Search base." },
    bindDn: { kind: "dn", doc: "Service account for lookups." },
    bindPassword: { kind: "string", secret: true, doc: "Its password: `pulumi config set --secret mailplatform:directory...`." },
    userFilter: { kind: "ldapFilter", default: PERSON_FILTER, doc: "Dovecot userdb filter." },
    passFilter: { kind: "ldapFilter", default: ENABLED_PERSON_FILTER, doc: "Dovecot passdb filter (logins: IMAP, POP3, ManageSieve, submission). The default leaves out accounts disabled in Active Directory's userAccountControl; their mail is still delivered." },
    mailboxFilter: { kind: "ldapFilter", default: "(&(objectClass=person)(mail=%s))", doc: "Postfix mailbox lookup." },
    groupFilter: { kind: "ldapFilter", default: "(&(objectClass=group)(mail=%s))", doc: "Postfix group (distribution list) lookup." },
    groupMemberAttribute: { kind: "attribute", default: "member", doc: "Group member attribute." },
    quotaAttribute: { kind: "attribute", default: "info", doc: "Attribute with the user's quota in bytes (seed 003)." },
    caCertificate: { kind: "pem", doc: "The CA (PEM) the directory's certificate is verified against; without it, the hosts' system trust store." },
  },
  "aliases[]": {
    address: { kind: "address", doc: "Hosted address." },
    to: { kind: "address", doc: "Hosted target (a user, alias, list, forward or devnull address)." },
  },
  "lists[]": {
    address: { kind: "address", doc: "Hosted list address." },
    members: { kind: "list", of: "address", doc: "Hosted or outside members." },
  },
  "forwards[]": {
    address: { kind: "address", doc: "Hosted address." },
    to: { kind: "list", of: "address", doc: "Outside addresses." },
  },
  quota: {
    default: { kind: "size", default: "2G", doc: "Quota of users without their own." },
  },
  "relayClients[]": {
    name: { kind: "string", doc: "SASL user name." },
    description: { kind: "string", doc: "What the client is." },
  },
  access: {
    sieveNetworks: { kind: "list", of: "cidr", default: [], doc: "May reach ManageSieve (4190) on the frontends." },
    webmailNetworks: { kind: "list", of: "cidr", default: [], doc: "May use the webmail (NGINX geo allow-list, seed 004)." },
    adminNetworks: { kind: "list", of: "cidr", doc: "SSH reaches the VMs only from here." },
  },
  storage: {
    mode: { kind: "enum", values: ["replicated", "shared"], default: "replicated", doc: "`replicated`: a volume each, Dovecot dsync between the pair. `shared`: one Manila NFS share, active/passive." },
    sizeGb: { kind: "integer", min: 1, max: 1_000_000, default: 100, doc: "Volume or share size in GiB." },
    queueSizeGb: { kind: "integer", min: 1, max: 10_000, default: 10, doc: "Size in GiB of the volume every host running Postfix (smtp-in, smtp-out, maildrop) keeps its queue on, so mail it acknowledged outlives a replaced VM." },
  },
  tls: {
    mode: { kind: "enum", values: ["internal-ca", "supplied"], default: "internal-ca", doc: "`internal-ca`: the stack makes a CA and signs every host. `supplied`: your certificate and key." },
    certificate: { kind: "pem", doc: "With `supplied`: the certificate chain." },
    key: { kind: "pem", secret: true, doc: "With `supplied`: its key (`pulumi config set --secret`)." },
  },
  dnsbl: {
    threshold: { kind: "integer", min: 1, max: 100, default: 3, doc: "postscreen_dnsbl_threshold." },
    zones: {
      kind: "objects",
      default: [
        { zone: "zen.spamhaus.org", weight: 3 },
        { zone: "bl.spamcop.net", weight: 2 },
        { zone: "b.barracudacentral.org", weight: 2 },
        { zone: "list.dnswl.org", weight: -2 },
      ],
      doc: "Blocklists and their weights (negative for allow-lists).",
    },
  },
  "dnsbl.zones[]": {
    zone: { kind: "domain", doc: "DNSBL zone." },
    weight: { kind: "integer", min: -10, max: 10, default: 1, doc: "Score a listing adds." },
  },
  // seed 003's protection limits, message size as seed 004.
  limits: {
    messageSizeBytes: { kind: "size", default: "50M", doc: "Largest message accepted." },
    recipientsPerMessage: { kind: "integer", min: 1, max: 10_000, default: 200, doc: "smtpd_recipient_limit." },
    clientConnections: { kind: "integer", min: 1, max: 1000, default: 10, doc: "Simultaneous connections per client." },
    clientConnectionRate: { kind: "integer", min: 1, max: 100_000, default: 60, doc: "Connections per client per minute." },
    submissionMessageRate: { kind: "integer", min: 1, max: 100_000, default: 60, doc: "Messages per minute one client or SASL user may submit." },
    submissionRecipientRate: { kind: "integer", min: 1, max: 100_000, default: 300, doc: "Recipients per minute one client or SASL user may submit to." },
    queueLifetime: { kind: "duration", default: "5d", doc: "How long undeliverable mail is retried before it bounces." },
  },
  dkim: {
    selectors: { kind: "objects", default: [{ name: "s1", state: "active" }], doc: "Rotation: publish a new selector as `published`, let DNS caches fill, make it `active`, then drop the old one." },
  },
  "dkim.selectors[]": {
    name: { kind: "string", doc: "Selector stem; DNS names are <name>-rsa._domainkey and <name>-ed25519._domainkey." },
    state: { kind: "enum", values: ["active", "published"], default: "active", doc: "`active` signs; `published` is only in DNS." },
  },
  dns: {
    ttl: { kind: "integer", min: 60, max: 604_800, default: 3600, doc: "TTL of the published records." },
    dmarcPolicy: { kind: "enum", values: ["none", "quarantine", "reject"], default: "quarantine", doc: "DMARC p= of every hosted domain." },
    reportAddress: { kind: "address", computed: "postmaster", doc: "DMARC rua and TLS-RPT reports." },
    mtaStsMode: { kind: "enum", values: ["enforce", "testing", "none"], computed: "enforce with tls.mode supplied, else testing", doc: "MTA-STS policy mode. `enforce` needs publicly trusted certificates (tls.mode supplied)." },
    forwarders: { kind: "list", of: "ip", default: [], doc: "Resolvers the hosts' Unbound forwards to; none means full recursion." },
    provider: { kind: "enum", values: ["none", "designate"], default: "none", doc: "Also create the records as OpenStack Designate record sets." },
    designateZone: { kind: "domain", doc: "The Designate zone, with provider designate." },
  },
} as const satisfies Record<string, Record<string, Setting>>;

export type RefPath = keyof typeof REFERENCE;
type SettingsAt<P extends RefPath> = (typeof REFERENCE)[P];
export type KeyAt<P extends RefPath> = keyof SettingsAt<P> & string;
/** Keys at P whose setting is of kind K. */
export type KeyOfKind<P extends RefPath, K extends Kind> = { [k in KeyAt<P>]: SettingsAt<P>[k] extends { kind: K } ? k : never }[KeyAt<P>];
/** The allowed values of an enum setting, as a type. */
export type EnumValue<P extends RefPath, K extends KeyAt<P>> = SettingsAt<P>[K] extends { values: readonly (infer V)[] } ? V : never;

type Join<P extends string, K extends string> = P extends "" ? K : `${P}.${K}`;
/** Reference path of the mapping at `key`, and of the items of the list at `key`. */
export type MappingPath<P extends RefPath, K extends string> = Join<P, K> & RefPath;
export type ItemPath<P extends RefPath, K extends string> = `${Join<P, K>}[]` & RefPath;

export function mappingPath(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

export function itemPath(path: string, key: string): string {
  return `${mappingPath(path, key)}[]`;
}

export function settingsAt(path: string): Record<string, Setting> {
  const settings = (REFERENCE as Record<string, Record<string, Setting>>)[path];
  if (!settings) throw new Error(`no reference for ${path}`);
  return settings;
}

export function keysOf(path: string): string[] {
  return Object.keys(settingsAt(path));
}

const LABEL: Record<ValueKind, string> = {
  string: "string",
  domain: "domain",
  address: "address",
  cidr: "CIDR",
  ip: "IP",
  site: "site",
  size: "size (K, M, G, T)",
  duration: "duration (s, m, h, d, w)",
  passwordHash: "{SCHEME}hash",
  dn: "DN",
  ldapUri: "ldap:// or ldaps:// URI",
  ldapFilter: "LDAP filter",
  attribute: "attribute",
  pem: "PEM",
};

function typeOf(path: string, key: string, s: Setting): string {
  switch (s.kind) {
    case "integer":
      return "integer";
    case "boolean":
      return "boolean";
    case "enum":
      return typeof s.values[0] === "number" ? "integer" : "string";
    case "list":
      return `list of ${LABEL[s.of]}`;
    case "objects":
      return `list of {${keysOf(itemPath(path, key)).join(", ")}}`;
    case "mapping":
      return "mapping";
    default:
      return s.secret ? `secret ${LABEL[s.kind]}` : LABEL[s.kind];
  }
}

function allowedOf(s: Setting): string {
  if (s.kind === "integer") return `${s.min} to ${s.max}`;
  if (s.kind === "enum") return s.values.map(code).join(", ");
  if (s.kind === "boolean") return "`true`, `false`";
  return "—";
}

function defaultOf(s: Setting): string {
  if ("computed" in s && s.computed) return s.computed;
  return "default" in s && s.default !== undefined ? code(s.default) : "—";
}

/** A config value as it would be written in a stack file (YAML flow style). */
function flow(v: ConfigValue): string {
  if (Array.isArray(v)) return `[${v.map(flow).join(", ")}]`;
  if (typeof v === "object") return `{${Object.entries(v).map(([k, x]) => `${k}: ${flow(x)}`).join(", ")}}`;
  return String(v);
}

function code(v: ConfigValue): string {
  return `\`${flow(v)}\``;
}

/** One object's settings as a Markdown table; `path` is its place in REFERENCE, if it is there. */
export function settingsTable(settings: Record<string, Setting>, path = ""): string[] {
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  return [
    "| key | type | default | allowed | meaning |",
    "|---|---|---|---|---|",
    ...Object.entries(settings).map(([key, s]) => `| \`${key}\` | ${cell(typeOf(path, key, s))} | ${cell(defaultOf(s))} | ${cell(allowedOf(s))} | ${cell(s.doc)} |`),
  ];
}

/** The README's spec reference, as Markdown. */
export function referenceMarkdown(namespace: string): string {
  const out: string[] = [];
  for (const path of Object.keys(REFERENCE)) {
    out.push(`#### \`${path === "" ? `${namespace}:<key>` : `${namespace}:${path}`}\``, "", ...settingsTable(settingsAt(path), path), "");
  }
  return out.join("\n");
}
