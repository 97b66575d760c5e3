// The one reference of every stack-config setting: the validator takes its known keys from here,
// and the README's spec reference is generated from it (npm run docs), so neither can drift.

export interface SettingDoc {
  key: string;
  type: string;
  default?: string;
  doc: string;
}

/** Settings per object path ("" is the top level, "sites[]" an item of the sites list). */
export const REFERENCE: Record<string, SettingDoc[]> = {
  "": [
    { key: "platformDomain", type: "domain", doc: "Domain the platform's own names live under: host names (smtp-in-<site>.<domain>), smtp., imap., pop., webmail., the internal maildrop. and smtp-out. names, and the SRS domain." },
    { key: "debianRelease", type: "12 | 13", default: "12", doc: "Debian release of the VM image. 12 has Dovecot 2.3 with the replicator; 13 has Dovecot 2.4, which cannot replicate." },
    { key: "image", type: "string", default: "debian-<release>", doc: "Glance image name of the VMs." },
    { key: "sites", type: "list", doc: "The sites (OpenStack regions) the platform spans; prod has three." },
    { key: "placement", type: "mapping", default: "every role on every site, maildrop on the first two, webmail on the first", doc: "Which sites run which role, in preference order (the first is the primary)." },
    { key: "domains", type: "list of domain or {name, catchAll}", doc: "Hosted mail domains." },
    { key: "users", type: "list", doc: "Mailbox users. Required unless a directory is configured." },
    { key: "directory", type: "mapping", doc: "LDAP / Active Directory as the user directory (seed 003): passdb, userdb, quota and group lookups." },
    { key: "aliases", type: "list of {address, to}", doc: "One hosted address delivered to another hosted address." },
    { key: "lists", type: "list of {address, members}", doc: "Distribution lists: every member receives a copy." },
    { key: "forwards", type: "list of {address, to}", doc: "Hosted addresses forwarded to outside addresses, with the envelope sender rewritten by SRS." },
    { key: "devnull", type: "list of address", doc: "Addresses whose mail is accepted and discarded (noreply@)." },
    { key: "quota", type: "mapping", doc: "Mailbox quota defaults." },
    { key: "relayClients", type: "list", doc: "SASL users on smtp-out for servers (bastions, monitoring); their passwords are generated in-stack. The webmail gets its own user, `roundcube`." },
    { key: "access", type: "mapping", doc: "Networks allowed to reach the restricted services." },
    { key: "storage", type: "mapping", doc: "How the maildrop pair stores mailboxes." },
    { key: "tls", type: "mapping", doc: "Where the hosts' certificates come from." },
    { key: "dnsbl", type: "mapping", default: "zen.spamhaus.org*3, bl.spamcop.net*2, b.barracudacentral.org*2, list.dnswl.org*-2; threshold 3", doc: "postscreen's weighted DNS blocklists on smtp-in." },
    { key: "limits", type: "mapping", doc: "Size, recipient, connection and rate limits (seed 003's protection limits)." },
    { key: "dkim", type: "mapping", default: "one active selector `s1`", doc: "DKIM selectors; every selector has an RSA-2048 and an Ed25519 key per domain, generated in-stack." },
    { key: "dns", type: "mapping", doc: "The DNS records the platform publishes." },
    { key: "postmaster", type: "address", default: "the first hosted domain's postmaster@ alias", doc: "Where DSNs and RFC 2142 mail for the platform go." },
  ],
  "sites[]": [
    { key: "name", type: "string", doc: "Short lower-case name, part of host names (smtp-in-<name>)." },
    { key: "region", type: "string", doc: "OpenStack region." },
    { key: "availabilityZone", type: "string", default: "nova", doc: "Availability zone for the site's VMs." },
    { key: "cidr", type: "CIDR", doc: "Site-local network; hosts get planned addresses in it (smtp-in .11, smtp-out .21, maildrop .31, frontend .41, webmail .51)." },
    { key: "egress", type: "list of IP", doc: "Addresses the site's outbound mail leaves from; published in SPF." },
  ],
  placement: [
    { key: "smtpIn", type: "list of site", doc: "Sites with an smtp-in host (each gets a public address and an equal-preference MX)." },
    { key: "smtpOut", type: "list of site", doc: "Sites with an smtp-out host; the first is the frontends' primary upstream." },
    { key: "maildrop", type: "two sites", doc: "The maildrop pair: primary first (MX 10, NGINX primary), backup second." },
    { key: "frontend", type: "list of site", doc: "Sites with an NGINX frontend." },
    { key: "webmail", type: "list of site", doc: "Sites with a Roundcube host." },
    { key: "flavors", type: "mapping role → flavor", default: "m1.medium smtp-in, m1.large maildrop, m1.small others", doc: "OpenStack flavor per role (keys as above)." },
  ],
  "placement.flavors": [
    { key: "smtpIn", type: "string", doc: "Flavor of smtp-in VMs." },
    { key: "smtpOut", type: "string", doc: "Flavor of smtp-out VMs." },
    { key: "maildrop", type: "string", doc: "Flavor of maildrop VMs." },
    { key: "frontend", type: "string", doc: "Flavor of frontend VMs." },
    { key: "webmail", type: "string", doc: "Flavor of webmail VMs." },
  ],
  "domains[]": [
    { key: "name", type: "domain", doc: "The hosted domain." },
    { key: "catchAll", type: "address", doc: "Receives mail for unknown local parts of this domain." },
  ],
  "users[]": [
    { key: "address", type: "address", doc: "Login name and mailbox address; must be in a hosted domain." },
    { key: "passwordHash", type: "{SCHEME}hash", doc: "From `doveadm pw -s BLF-CRYPT` (or SHA512-CRYPT, ARGON2ID...). Plain passwords are refused." },
    { key: "quota", type: "size", default: "quota.default", doc: "Mailbox quota, e.g. 10G." },
  ],
  directory: [
    { key: "type", type: "ldap", default: "ldap", doc: "Directory kind." },
    { key: "uris", type: "list of ldap:// or ldaps:// URI", doc: "Directory servers." },
    { key: "baseDn", type: "DN", doc: "Search base." },
    { key: "bindDn", type: "DN", doc: "Service account for lookups." },
    { key: "bindPassword", type: "secret", doc: "Its password: `pulumi config set --secret mailplatform:directory...`." },
    { key: "userFilter", type: "LDAP filter", default: "(&(objectClass=person)(sAMAccountName=%n)(mail=%u))", doc: "Dovecot userdb filter." },
    { key: "passFilter", type: "LDAP filter", default: "same as userFilter", doc: "Dovecot passdb filter." },
    { key: "mailboxFilter", type: "LDAP filter", default: "(&(objectClass=person)(mail=%s))", doc: "Postfix mailbox lookup." },
    { key: "groupFilter", type: "LDAP filter", default: "(&(objectClass=group)(mail=%s))", doc: "Postfix group (distribution list) lookup." },
    { key: "groupMemberAttribute", type: "attribute", default: "member", doc: "Group member attribute." },
    { key: "quotaAttribute", type: "attribute", default: "info", doc: "Attribute with the user's quota in bytes (seed 003)." },
    { key: "loginAttribute", type: "attribute", default: "sAMAccountName", doc: "Login name attribute." },
  ],
  "aliases[]": [
    { key: "address", type: "address", doc: "Hosted address." },
    { key: "to", type: "address", doc: "Hosted target (a user, alias, list, forward or devnull address)." },
  ],
  "lists[]": [
    { key: "address", type: "address", doc: "Hosted list address." },
    { key: "members", type: "list of address", doc: "Hosted or outside members." },
  ],
  "forwards[]": [
    { key: "address", type: "address", doc: "Hosted address." },
    { key: "to", type: "list of address", doc: "Outside addresses." },
  ],
  quota: [{ key: "default", type: "size", default: "2G", doc: "Quota of users without their own." }],
  "relayClients[]": [
    { key: "name", type: "string", doc: "SASL user name." },
    { key: "description", type: "string", doc: "What the client is." },
  ],
  access: [
    { key: "sieveNetworks", type: "list of CIDR", default: "none", doc: "May reach ManageSieve (4190) on the frontends." },
    { key: "webmailNetworks", type: "list of CIDR", default: "none", doc: "May use the webmail (NGINX geo allow-list, seed 004)." },
    { key: "adminNetworks", type: "list of CIDR", doc: "SSH reaches the VMs only from here." },
  ],
  storage: [
    { key: "mode", type: "replicated | shared", default: "replicated", doc: "`replicated`: a volume each, Dovecot dsync between the pair. `shared`: one Manila NFS share, active/passive." },
    { key: "sizeGb", type: "integer", default: "100", doc: "Volume or share size in GiB." },
  ],
  tls: [
    { key: "mode", type: "internal-ca | supplied", default: "internal-ca", doc: "`internal-ca`: the stack makes a CA and signs every host. `supplied`: your certificate and key." },
    { key: "certificate", type: "PEM", doc: "With `supplied`: the certificate chain." },
    { key: "key", type: "secret PEM", doc: "With `supplied`: its key (`pulumi config set --secret`)." },
  ],
  dnsbl: [
    { key: "threshold", type: "integer", default: "3", doc: "postscreen_dnsbl_threshold." },
    { key: "zones", type: "list of {zone, weight}", doc: "Blocklists and their weights (negative for allow-lists)." },
  ],
  "dnsbl.zones[]": [
    { key: "zone", type: "domain", doc: "DNSBL zone." },
    { key: "weight", type: "integer -10..10", default: "1", doc: "Score a listing adds." },
  ],
  limits: [
    { key: "messageSizeBytes", type: "size", default: "50M", doc: "Largest message accepted." },
    { key: "recipientsPerMessage", type: "integer", default: "200", doc: "smtpd_recipient_limit." },
    { key: "clientConnections", type: "integer", default: "10", doc: "Simultaneous connections per client." },
    { key: "clientConnectionRate", type: "integer", default: "60", doc: "Connections per client per minute." },
    { key: "submissionMessageRate", type: "integer", default: "60", doc: "Messages per minute one client or SASL user may submit." },
    { key: "submissionRecipientRate", type: "integer", default: "300", doc: "Recipients per minute one client or SASL user may submit to." },
    { key: "queueLifetime", type: "duration", default: "5d", doc: "How long undeliverable mail is retried before it bounces." },
  ],
  dkim: [{ key: "selectors", type: "list of {name, state}", doc: "Rotation: publish a new selector as `published`, let DNS caches fill, make it `active`, then drop the old one." }],
  "dkim.selectors[]": [
    { key: "name", type: "string", doc: "Selector stem; DNS names are <name>-rsa._domainkey and <name>-ed25519._domainkey." },
    { key: "state", type: "active | published", default: "active", doc: "`active` signs; `published` is only in DNS." },
  ],
  dns: [
    { key: "ttl", type: "integer", default: "3600", doc: "TTL of the published records." },
    { key: "dmarcPolicy", type: "none | quarantine | reject", default: "quarantine", doc: "DMARC p= of every hosted domain." },
    { key: "reportAddress", type: "address", default: "postmaster", doc: "DMARC rua and TLS-RPT reports." },
    { key: "mtaStsMode", type: "enforce | testing | none", default: "enforce with supplied certificates, else testing", doc: "MTA-STS policy mode. `enforce` needs publicly trusted certificates (tls.mode supplied)." },
    { key: "forwarders", type: "list of IP", default: "none (full recursion)", doc: "Resolvers the hosts' Unbound forwards to." },
    { key: "provider", type: "none | designate", default: "none", doc: "Also create the records as OpenStack Designate record sets." },
    { key: "designateZone", type: "domain", doc: "The Designate zone, with provider designate." },
  ],
};

export function keysOf(path: string): string[] {
  const docs = REFERENCE[path];
  if (!docs) throw new Error(`no reference for ${path}`);
  return docs.map((d) => d.key);
}

/** The README's spec reference, as Markdown. */
export function referenceMarkdown(namespace: string): string {
  const out: string[] = [];
  for (const [path, docs] of Object.entries(REFERENCE)) {
    out.push(`#### \`${path === "" ? `${namespace}:<key>` : `${namespace}:${path}`}\``, "", "| key | type | default | meaning |", "|---|---|---|---|");
    const cell = (text: string) => text.replace(/\|/g, "\\|");
    for (const d of docs) out.push(`| \`${d.key}\` | ${cell(d.type)} | ${cell(d.default ?? "—")} | ${cell(d.doc)} |`);
    out.push("");
  }
  return out.join("\n");
}
