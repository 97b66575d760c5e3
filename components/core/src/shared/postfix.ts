// The Postfix base shared by smtp-in, smtp-out and maildrop: main.cf and master.cf builders, the
// settings every MTA host has (identity, TLS, seed 003's limits, queue lifetimes), lookup tables,
// and the hosted address space (aliases, lists, forwards, devnull, catch-all, RFC 2142, LDAP).
import { daemons } from "../daemons";
import { file, Fragment, HostFile, lines, RenderContext, secretFile } from "../files";
import { User } from "../spec/types";
import { directoryTls, TLS_CA, TLS_CERT, TLS_KEY } from "./tls";

export const POSTFIX_DIR = "/etc/postfix";

/** One group of main.cf settings with the reason they are there. */
export interface MainSection {
  why: string;
  settings: Record<string, string | number | string[]>;
}

/** A master.cf service. Nothing is chrooted: the daemons then read /etc (resolv.conf, certs, maps) directly. */
export interface MasterService {
  name: string;
  type: "inet" | "unix" | "unix-dgram" | "pass";
  private?: "n" | "-";
  unpriv?: "n" | "-";
  wakeup?: string;
  maxproc?: string;
  command: string;
  options?: Record<string, string>;
}

/** A Postfix lookup table written by a renderer, and how main.cf names it. */
export interface Table {
  file: HostFile;
  ref: string;
}

export function mainCf(sections: MainSection[]): string {
  const seen = new Set<string>();
  const render = ([key, value]: [string, string | number | string[]]) => {
    if (seen.has(key)) throw new Error(`main.cf: ${key} set twice`);
    seen.add(key);
    if (!Array.isArray(value)) return `${key} = ${value}`;
    const flat = `${key} = ${value.join(", ")}`;
    return flat.length <= 100 ? flat : `${key} =\n${value.map((v) => `    ${v}`).join(",\n")}`;
  };
  return sections.map((s) => lines(`# ${s.why}`, Object.entries(s.settings).map(render))).join("\n");
}

/** Postfix's own services, as in the stock master.cf (minus the pipe examples), unchrooted. */
const INTERNAL_SERVICES: MasterService[] = [
  { name: "pickup", type: "unix", private: "n", wakeup: "60", maxproc: "1", command: "pickup" },
  { name: "cleanup", type: "unix", private: "n", maxproc: "0", command: "cleanup" },
  { name: "qmgr", type: "unix", private: "n", wakeup: "300", maxproc: "1", command: "qmgr" },
  { name: "tlsmgr", type: "unix", wakeup: "1000?", maxproc: "1", command: "tlsmgr" },
  { name: "rewrite", type: "unix", command: "trivial-rewrite" },
  { name: "bounce", type: "unix", maxproc: "0", command: "bounce" },
  { name: "defer", type: "unix", maxproc: "0", command: "bounce" },
  { name: "trace", type: "unix", maxproc: "0", command: "bounce" },
  { name: "verify", type: "unix", maxproc: "1", command: "verify" },
  { name: "flush", type: "unix", private: "n", wakeup: "1000?", maxproc: "0", command: "flush" },
  { name: "proxymap", type: "unix", command: "proxymap" },
  { name: "proxywrite", type: "unix", maxproc: "1", command: "proxymap" },
  { name: "smtp", type: "unix", command: "smtp" },
  { name: "relay", type: "unix", command: "smtp", options: { syslog_name: "postfix/$service_name" } },
  { name: "showq", type: "unix", private: "n", command: "showq" },
  { name: "error", type: "unix", command: "error" },
  { name: "retry", type: "unix", command: "error" },
  { name: "discard", type: "unix", command: "discard" },
  { name: "local", type: "unix", unpriv: "n", command: "local" },
  { name: "virtual", type: "unix", unpriv: "n", command: "virtual" },
  { name: "lmtp", type: "unix", command: "lmtp" },
  { name: "anvil", type: "unix", maxproc: "1", command: "anvil" },
  { name: "scache", type: "unix", maxproc: "1", command: "scache" },
  // TLS for connections the smtp and lmtp clients keep open and reuse (*_tls_connection_reuse).
  { name: "tlsproxy", type: "unix", maxproc: "0", command: "tlsproxy" },
  { name: "postlog", type: "unix-dgram", private: "n", maxproc: "1", command: "postlogd" },
];

export function masterCf(listeners: MasterService[]): string {
  const row = (s: MasterService) => {
    const cols = [s.name.padEnd(10), s.type.padEnd(10), s.private ?? "-", s.unpriv ?? "-", "n", (s.wakeup ?? "-").padEnd(5), (s.maxproc ?? "-").padEnd(5), s.command];
    const opts = Object.entries(s.options ?? {}).map(([k, v]) => (/\s/.test(v) ? `  -o { ${k} = ${v} }` : `  -o ${k}=${v}`));
    return lines(cols.join(" "), opts);
  };
  return [
    "# service  type       private unpriv chroot wakeup maxproc command\n",
    "# Listeners of this role.\n",
    ...listeners.map(row),
    "# Postfix's internal services.\n",
    ...INTERNAL_SERVICES.map(row),
  ].join("");
}

/** A hash table compiled with postmap; `rows` are key → value, written in the order given. */
export function hashTable(name: string, why: string, rows: [string, string][]): Table {
  const width = Math.max(0, ...rows.map(([k]) => k.length)) + 2;
  const path = `${POSTFIX_DIR}/${name}`;
  return {
    file: file("postfix", path, lines(`# ${why}`, rows.map(([k, v]) => `${k.padEnd(width)}${v}`)), { compile: "postmap" }),
    ref: `hash:${path}`,
  };
}

/** What every MTA host shares: identity, local mail, TLS, seed 003's limits and queue lifetimes. */
export function baseSections(ctx: RenderContext): MainSection[] {
  const { spec, host } = ctx;
  const l = spec.limits;
  return [
    {
      why: "Identity: the host's own name; this host's system mail (root, cron) goes to the platform postmaster.",
      settings: {
        compatibility_level: "3.6",
        myhostname: host.fqdn,
        mydomain: spec.platformDomain,
        myorigin: "$myhostname",
        mydestination: ["$myhostname", "localhost"],
        alias_maps: `inline:{ root=${spec.postmaster}, postmaster=${spec.postmaster}, MAILER-DAEMON=${spec.postmaster} }`,
        alias_database: "",
        inet_interfaces: "all",
        inet_protocols: "all",
        smtpd_banner: "$myhostname ESMTP",
        biff: "no",
        append_dot_mydomain: "no",
        readme_directory: "no",
        recipient_delimiter: "+",
        disable_vrfy_command: "yes",
        smtpd_helo_required: "yes",
        mailbox_size_limit: 0,
      },
    },
    {
      why: "TLS as a server: the host certificate (with chain) from the platform CA. TLS 1.2 or later on every listener, the public MX's opportunistic STARTTLS included (README, TLS versions).",
      settings: {
        smtpd_tls_cert_file: TLS_CERT,
        smtpd_tls_key_file: TLS_KEY,
        smtpd_tls_protocols: ">=TLSv1.2",
        smtpd_tls_mandatory_protocols: ">=TLSv1.2",
        smtpd_tls_loglevel: 1,
        smtpd_tls_received_header: "yes",
        smtpd_tls_session_cache_database: "btree:${data_directory}/smtpd_scache",
      },
    },
    {
      why: "TLS as a client: peers inside the platform are verified against the platform CA; TLS 1.2 or later, opportunistic or not.",
      settings: {
        smtp_tls_CAfile: TLS_CA,
        smtp_tls_protocols: ">=TLSv1.2",
        smtp_tls_mandatory_protocols: ">=TLSv1.2",
        smtp_tls_loglevel: 1,
        smtp_tls_session_cache_database: "btree:${data_directory}/smtp_scache",
      },
    },
    {
      why: "Protection limits (seed 003), from mailplatform:limits.",
      settings: {
        message_size_limit: l.messageSizeBytes,
        smtpd_recipient_limit: l.recipientsPerMessage,
        smtpd_error_sleep_time: "1s",
        smtpd_soft_error_limit: 10,
        smtpd_hard_error_limit: 20,
        smtpd_client_connection_count_limit: l.clientConnections,
        smtpd_client_connection_rate_limit: l.clientConnectionRate,
      },
    },
    {
      why: "Queue: undeliverable mail (and its bounces) stays this long before it is returned.",
      settings: {
        maximal_queue_lifetime: l.queueLifetime,
        bounce_queue_lifetime: l.queueLifetime,
        delay_warning_time: "4h",
      },
    },
  ];
}

/** The role's Postfix: main.cf = base + role sections, master.cf = role listeners + internals. */
export function postfix(ctx: RenderContext, role: { sections: MainSection[]; listeners: MasterService[]; files: HostFile[] }): Fragment {
  return {
    packages: ctx.spec.directory ? ["postfix-ldap"] : [],
    services: [daemons(ctx.spec.debianRelease).postfix],
    files: [
      file("postfix", `${POSTFIX_DIR}/main.cf`, mainCf([...baseSections(ctx), ...role.sections])),
      file("postfix", `${POSTFIX_DIR}/master.cf`, masterCf(role.listeners)),
      ...role.files,
    ],
  };
}

/** RFC 2142 role addresses every domain must answer, routed to the postmaster unless defined. */
const RFC2142 = ["postmaster", "abuse"];

/**
 * The hosted address space as one virtual alias table, the same on every MTA: users and devnull
 * addresses map to themselves (so they are "listed", and a catch-all cannot swallow them), aliases,
 * lists and forwards expand, RFC 2142 names go to the postmaster, and each domain's catch-all
 * (`@domain`) comes last and matches only its own domain. A mailbox with its own forward expands
 * to its targets, and to itself first when it keeps a copy: Postfix delivers an address that
 * expands to itself instead of expanding it again. Outside targets leave, like forwards, with the
 * SRS sender smtp-in's cleanup gave the message.
 */
export function virtualAliases(ctx: RenderContext): Table {
  const { spec } = ctx;
  const mailbox = (u: User): string[] => (u.forward ? [...(u.forward.keepCopy ? [u.address] : []), ...u.forward.to] : [u.address]);
  const defined = new Map<string, string>([
    ...spec.users.map((u): [string, string] => [u.address, mailbox(u).join(", ")]),
    ...spec.aliases.map((a): [string, string] => [a.address, a.to]),
    ...spec.lists.map((l): [string, string] => [l.address, l.members.join(", ")]),
    ...spec.forwards.map((f): [string, string] => [f.address, f.to.join(", ")]),
    ...spec.devnull.map((a): [string, string] => [a, a]),
  ]);
  const roleRows = [...spec.domains.map((d) => d.name), spec.platformDomain]
    .flatMap((d) => RFC2142.map((r) => `${r}@${d}`))
    .filter((a) => !defined.has(a) && a !== spec.postmaster)
    .map((a): [string, string] => [a, spec.postmaster]);
  const catchAll = spec.domains.filter((d) => d.catchAll).map((d): [string, string] => [`@${d.name}`, d.catchAll!]);
  return hashTable("virtual", "Hosted address space: every valid hosted address, then catch-alls.", [...defined, ...roleRows, ...catchAll]);
}

/** Devnull addresses are accepted, then thrown away by the discard transport. */
export function devnullTransports(ctx: RenderContext): [string, string][] {
  return ctx.spec.devnull.map((a) => [a, "discard:"]);
}

/** LDAP lookups (seed 003), present only with mailplatform:directory. */
export interface LdapMaps {
  /** Mailboxes: the user's own address, so it is listed like a static user. */
  mailboxes: Table;
  /** Groups: expanded to their members' addresses. */
  groups: Table;
}

export function ldapMaps(ctx: RenderContext): LdapMaps | undefined {
  const dir = ctx.spec.directory;
  if (!dir) return undefined;
  const bindPassword = ctx.secrets.ldapBindPassword;
  if (!bindPassword) throw new Error("mailplatform:directory is set but the LDAP bind password is missing from the secrets");
  const tls = directoryTls(dir);
  const map = (name: string, why: string, filter: string, result: string[]): Table => {
    const path = `${POSTFIX_DIR}/ldap-${name}.cf`;
    const content = lines(
      `# ${why}`,
      `server_host = ${dir.uris.join(" ")}`,
      "version = 3",
      `search_base = ${dir.baseDn}`,
      // Only hosted domains are ever asked for.
      `domain = ${ctx.spec.domains.map((d) => d.name).join(", ")}`,
      `query_filter = ${filter}`,
      result,
      // TLS always (ldaps://, or StartTLS on ldap://), the certificate verified (see directoryTls).
      tls.startTls && "start_tls = yes",
      "tls_require_cert = yes",
      tls.caFile && `tls_ca_cert_file = ${tls.caFile}`,
      "bind = yes",
      `bind_dn = ${dir.bindDn}`,
      `bind_pw = ${bindPassword}`,
      "timeout = 10",
    );
    // Read by the postfix-owned daemons; it holds the bind password. Each process opens the table
    // itself, not through proxymap: a proxymap started before a change of main.cf refuses the
    // tables the new one names, and the process that asked dies at startup, which stops its
    // whole service for a minute (master's throttle; seen when a stack switched to a directory).
    return { file: secretFile("postfix", path, content, { group: "postfix", mode: "0640" }), ref: `ldap:${path}` };
  };
  return {
    mailboxes: map("mailboxes", "Directory mailboxes: map to their own address.", dir.mailboxFilter, ["result_attribute = mail"]),
    groups: map("groups", "Directory groups: expand to the members' addresses.", dir.groupFilter, [
      `special_result_attribute = ${dir.groupMemberAttribute}`,
      "leaf_result_attribute = mail",
    ]),
  };
}

/**
 * Alias expansion and recipient validation for hosts that accept mail for hosted domains without
 * delivering it (smtp-in, smtp-out): the domains are relay domains routed by the transport map,
 * since Postfix never lets a transport map route a virtual-alias-domain address.
 */
export function hostedRelaySection(ctx: RenderContext, virtual: Table, transport: Table, extraRelayDomains: string[] = []): MainSection {
  const ldap = ldapMaps(ctx);
  const aliasMaps = [virtual.ref, ...(ldap ? [ldap.mailboxes.ref, ldap.groups.ref] : [])];
  return {
    why: "Hosted domains: aliases expand here, unknown recipients are refused at RCPT, delivery follows the transport map.",
    settings: {
      relay_domains: [...ctx.spec.domains.map((d) => d.name), ...extraRelayDomains],
      virtual_alias_maps: aliasMaps,
      relay_recipient_maps: "$virtual_alias_maps",
      transport_maps: transport.ref,
    },
  };
}

/** The LDAP map files a host needs, if any. */
export function ldapFiles(ctx: RenderContext): HostFile[] {
  const ldap = ldapMaps(ctx);
  return ldap ? [ldap.mailboxes.file, ldap.groups.file] : [];
}
