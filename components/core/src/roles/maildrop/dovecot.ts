// Dovecot on the maildrop: the mailbox store. One dovecot.conf written whole, no conf.d includes
// (seed 004): LMTP from Postfix with Sieve, IMAP/POP3/ManageSieve directly and behind the frontends
// (PROXY protocol), quota, full-text search, spam learning from Junk moves, and either dsync
// replication with the peer or the NFS-safe settings for a shared volume (seed 003).
import * as path from "path";
import { daemons } from "../../daemons";
import { Account, file, Fragment, HostFile, RenderContext, secretFile, staticFile } from "../../files";
import { INTERNAL, PORTS, PROXIED } from "../../ports";
import { DISABLED_LOGIN, DOVECOT_LDAP_CONF, ldapConf, passdbs, passwdFile, userPasswordHash } from "../../shared/dovecot";
import { TLS_CA, TLS_CERT, TLS_KEY } from "../../shared/tls";
import { LMTP_SOCKET, SPOOL_SOCKET_DIRECTORY } from "../../shared/spool-sockets";
import { PlatformSpec } from "../../spec/types";
import { hostsOf } from "../../topology";

/** Where the OpenStack layer mounts the Manila share in shared mode. */
export const SHARED_MAIL_ROOT = "/srv/mail";
export const LOCAL_MAIL_ROOT = "/var/vmail";
/** Owner of every mailbox; the same uid/gid on every maildrop, so a shared volume reads the same (seed 003). */
export const VMAIL: Account = { name: "vmail", uid: 5000, home: LOCAL_MAIL_ROOT };

const USERS = "/etc/dovecot/users";
const SIEVE_DIR = "/etc/dovecot/sieve";
const PIPE_DIR = "/etc/dovecot/sieve-pipe";
const QUOTA_WARNING = "/etc/dovecot/quota-warning";
const REPLICATION_SECRET = "/etc/dovecot/replication.conf";
/** Debian's replicator with the sync-wait fix, built on the host (static/dovecot/build-replicator says why). */
const REPLICATOR = "/usr/local/lib/mailplatform/dovecot-replicator";

const QUOTA_EXCEEDED = "Mailbox full: the recipient's mailbox is over its storage quota.";

/** How long a delivery waits for the peer to hold the message (see the dovecot.conf comment). */
export const REPLICATION_SYNC_TIMEOUT_SECONDS = 5;

export function mailRoot(spec: PlatformSpec): string {
  return spec.storage.mode === "shared" ? SHARED_MAIL_ROOT : LOCAL_MAIL_ROOT;
}


/** A login service with its direct listeners and, for each, a PROXY-protocol twin for the frontends. */
function loginService(service: string, listeners: { name: string; port: number; proxied: number; ssl?: boolean }[]): string {
  const listener = (name: string, port: number, ssl?: boolean, haproxy?: boolean) =>
    `  inet_listener ${name} {\n    port = ${port}\n${ssl ? "    ssl = yes\n" : ""}${haproxy ? "    haproxy = yes\n" : ""}  }`;
  return [
    `service ${service} {`,
    ...listeners.flatMap((l) => [listener(l.name, l.port, l.ssl), listener(`${l.name}-proxied`, l.proxied, l.ssl, true)]),
    "}",
  ].join("\n");
}

/** `mailbox` blocks of the special-use folders (seed 003), created and subscribed for every user. */
function specialUse(): string {
  const box = (name: string, use: string, auto = "subscribe") =>
    `  mailbox ${name.includes(" ") ? `"${name}"` : name} {\n    special_use = \\${use}\n    auto = ${auto}\n  }`;
  return [
    box("Drafts", "Drafts"),
    box("Sent", "Sent"),
    // Apple Mail's name for Sent: found by clients that look for it, but not a second folder for everyone.
    box("Sent Messages", "Sent", "no"),
    box("Junk", "Junk"),
    box("Trash", "Trash"),
  ].join("\n");
}

export function dovecotMaildrop(ctx: RenderContext): Fragment {
  const { spec, host, secrets } = ctx;
  const replicated = spec.storage.mode === "replicated";
  // What every process that opens mailboxes loads; full-text search comes on top where users search.
  const storePlugins = `notify mail_log quota${replicated ? " replication" : ""}`;
  const ldap = !!spec.directory;
  const root = mailRoot(spec);
  const home = `${root}/%Ld/%Ln`;
  const frontends = hostsOf(spec, "frontend").map((h) => h.address);
  const peers = hostsOf(spec, "maildrop").filter((h) => h.name !== host.name);
  // By name: the certificate of NGINX's TLS in front of each controller names the host.
  const controllers = hostsOf(spec, "smtp-in").map((h) => `${h.fqdn}:${INTERNAL.rspamdController}`);
  const quotaRule = (bytes: number) => `*:storage=${bytes}B`;
  const quotaAttr = spec.directory?.quotaAttribute;

  const userdbs = [
    spec.users.length > 0 && `userdb {\n  driver = passwd-file\n  args = ${USERS}\n  default_fields = home=${home}\n}`,
    ldap && `userdb {\n  driver = ldap\n  args = ${DOVECOT_LDAP_CONF}\n  default_fields = home=${home}\n}`,
  ].filter(Boolean).join("\n");

  const conf = `# Dovecot on ${host.name}: the mailbox store (${spec.storage.mode} storage).
protocols = imap pop3 lmtp sieve
hostname = ${host.fqdn}
postmaster_address = ${spec.postmaster}
# user+tag@domain is delivered to user@domain (Sieve can file by the tag).
recipient_delimiter = +
# Log failed logins (never the passwords).
auth_verbose = yes

## TLS: nothing authenticates in clear; 143/110/4190 need STARTTLS first.
ssl = required
ssl_cert = <${TLS_CERT}
ssl_key = <${TLS_KEY}
ssl_min_protocol = TLSv1.2
ssl_prefer_server_ciphers = yes
disable_plaintext_auth = yes
auth_mechanisms = plain login

## The frontends pass clients on with the PROXY protocol: logs, penalties and connection limits
## see the real client. Only they may send it.
haproxy_trusted_networks = ${frontends.join(" ")}

## Users: full address as user name, homes under ${root}/<domain>/<user>.
${passdbs(spec.users.length > 0 ? USERS : undefined, ldap)}
${userdbs}

## Storage: every mailbox belongs to vmail (uid ${VMAIL.uid} on every maildrop).
mail_uid = ${VMAIL.name}
mail_gid = ${VMAIL.name}
first_valid_uid = ${VMAIL.uid}
last_valid_uid = ${VMAIL.uid}
mail_location = mdbox:~/mdbox
mail_plugins = $mail_plugins ${storePlugins} fts fts_xapian
# doveadm without full-text search: a replicating pair starts a doveadm process on either side for
# every sync, and loading Xapian and ICU was a third of its CPU (README, Benchmark). Indexes are built
# when IMAP searches (fts_autoindex = no below); \`doveadm fts\` commands take
# \`-o 'mail_plugins=${storePlugins} fts fts_xapian'\`.
protocol doveadm {
  mail_plugins = ${storePlugins}
}
${replicated ? "" : `# Shared NFS volume (seed 003): no mmap, fsync every write, flush NFS caches between hosts.
mmap_disable = yes
mail_fsync = always
mail_nfs_storage = yes
mail_nfs_index = yes
`}
namespace inbox {
  inbox = yes
  separator = /
${specialUse()}
}

## Client protocols: direct for site-local clients, *-proxied for the frontends.
${loginService("imap-login", [
    { name: "imap", port: PORTS.imap, proxied: PROXIED.imap },
    { name: "imaps", port: PORTS.imaps, proxied: PROXIED.imaps, ssl: true },
  ])}
${loginService("pop3-login", [
    { name: "pop3", port: PORTS.pop3, proxied: PROXIED.pop3 },
    { name: "pop3s", port: PORTS.pop3s, proxied: PROXIED.pop3s, ssl: true },
  ])}
${loginService("managesieve-login", [{ name: "sieve", port: PORTS.managesieve, proxied: PROXIED.managesieve }])}
service managesieve {
  process_limit = 256
}
protocol imap {
  mail_plugins = $mail_plugins imap_quota imap_sieve
  mail_max_userip_connections = 50
}

## Delivery: smtp-in and smtp-out hand hosted mail to LMTP on this host's address (STARTTLS, only
## they can reach it), this host's Postfix hands it what is made here (Sieve redirects to hosted
## addresses) on the socket; Sieve files it.
service lmtp {
  inet_listener lmtp {
    address = ${host.address}
    port = ${INTERNAL.lmtp}
  }
  unix_listener ${LMTP_SOCKET.path} {
    mode = 0600
    user = postfix
    group = postfix
  }
}
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
# LMTP refuses an over-quota recipient at RCPT too: the MTA's queue then bounces it (mail that
# got past quota-status below, when the pair did not answer it).
lmtp_rcpt_check_quota = yes
# Folders a user's Sieve script files into are created on first use.
lda_mailbox_autocreate = yes
lda_mailbox_autosubscribe = yes

## Quota: per user from the userdb, else the platform default. Over quota bounces (5.2.2), not
## retried; Trash may exceed it by 10% so users can still delete.
quota_full_tempfail = no
## smtp-in and smtp-out ask quota-status (Postfix's policy protocol) before they accept mail for a
## hosted recipient, so a full mailbox is refused in the sender's session (shared/store-delivery.ts).
## Only they can reach it; the request is clear text (README "Security decisions").
service quota-status {
  executable = quota-status -p postfix
  inet_listener quota-status {
    address = ${host.address}
    port = ${INTERNAL.quotaStatus}
  }
  client_limit = 1
}
service quota-warning {
  executable = script ${QUOTA_WARNING}
  user = dovecot
  unix_listener quota-warning {
    user = ${VMAIL.name}
    mode = 0600
  }
}
plugin {
  quota = count:User quota
  quota_vsizes = yes
  quota_rule = ${quotaRule(spec.defaultQuotaBytes)}
  quota_rule2 = Trash:storage=+10%%
  quota_grace = 10%%
  quota_exceeded_message = ${QUOTA_EXCEEDED}
  # OK, not DUNNO: the MTAs ask the backup only when the primary gave no answer (the check is last).
  quota_status_success = OK
  quota_status_nouser = OK
  quota_status_overquota = "552 5.2.2 ${QUOTA_EXCEEDED}"
  quota_warning = storage=95%% quota-warning 95 %u ${spec.postmaster}
  quota_warning2 = storage=80%% quota-warning 80 %u ${spec.postmaster}
}

## Sieve: the global spam filter first, then the user's own script (edited over ManageSieve).
## imapsieve: moving mail into Junk reports spam to Rspamd, moving it out reports ham.
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_before = ${SIEVE_DIR}/spam-to-junk.sieve
  # Redirects leave as the user, so SPF holds at the destination.
  sieve_redirect_envelope_from = orig_recipient
  sieve_plugins = sieve_imapsieve sieve_extprograms
  # Only administrator scripts may run programs, and only those in the pipe directory.
  sieve_global_extensions = +vnd.dovecot.pipe
  sieve_pipe_bin_dir = ${PIPE_DIR}
  imapsieve_mailbox1_name = Junk
  imapsieve_mailbox1_causes = COPY
  imapsieve_mailbox1_before = file:${SIEVE_DIR}/report-spam.sieve
  imapsieve_mailbox2_name = *
  imapsieve_mailbox2_from = Junk
  imapsieve_mailbox2_causes = COPY
  imapsieve_mailbox2_before = file:${SIEVE_DIR}/report-ham.sieve
}

## Full-text search (Xapian), indexed when a search needs it (the first search after new mail
## indexes it): indexing every delivery, on both replicas, was the largest CPU cost of an inbound
## message and halved the inbound rate (README, Benchmark).
plugin {
  fts = xapian
  fts_xapian = partial=3 full=20 verbose=0
  fts_autoindex = no
}
service indexer-worker {
  vsz_limit = 2G
}

## Audit trail of deletions and moves in the log.
plugin {
  mail_log_events = delete undelete expunge copy mailbox_delete mailbox_rename
  mail_log_fields = uid box msgid size
}
${replicated ? `
## Replication (dsync, multi-master) with ${peers.map((p) => p.name).join(", ")}, over TLS on the doveadm port.
replication_max_conns = 10
replication_full_sync_interval = 1h
doveadm_port = ${INTERNAL.doveadm}
# doveadm_password, kept out of this world-readable file.
!include ${REPLICATION_SECRET}
ssl_client_ca_file = ${TLS_CA}
service aggregator {
  fifo_listener replication-notify-fifo {
    user = ${VMAIL.name}
    mode = 0600
  }
  unix_listener replication-notify {
    user = ${VMAIL.name}
    mode = 0600
  }
}
service replicator {
  executable = ${REPLICATOR}
  process_min_avail = 1
  unix_listener replicator-doveadm {
    user = ${VMAIL.name}
    mode = 0600
  }
}
service doveadm {
  vsz_limit = 512M
  inet_listener {
    port = ${INTERNAL.doveadm}
    ssl = yes
  }
}
# LMTP (and IMAP APPEND) answer only once the peer holds the new message, or after
# replication_sync_timeout seconds (2.3's default, 0, never waits): then the message is on this
# host's volume alone and the peer catches up later. 5 s covers a healthy sync many times over
# (tens of ms in the lab) while bounding the wait when the peer is silent.
plugin {
${peers.map((p, i) => `  mail_replica${i === 0 ? "" : i + 1} = tcps:${p.address}:${INTERNAL.doveadm}`).join("\n")}
  replication_sync_timeout = ${REPLICATION_SYNC_TIMEOUT_SECONDS}
}
` : ""}`;

  const users = spec.users.map((u) => ({
    user: u.address,
    hash: userPasswordHash(ctx, u.address),
    extra: [...(u.disabled ? [DISABLED_LOGIN] : []), ...(u.quotaBytes === undefined ? [] : [`userdb_quota_rule=${quotaRule(u.quotaBytes)}`])],
  }));
  const sieve = (name: string): HostFile => file("dovecot", `${SIEVE_DIR}/${name}`, staticFile(`dovecot/sieve/${name}`), { compile: "sievec" });
  const script = (target: string): HostFile => file("dovecot", target, staticFile(`dovecot/${path.basename(target)}`), { mode: "0755" });

  return {
    packages: [
      "dovecot-imapd", "dovecot-pop3d", "dovecot-lmtpd", "dovecot-sieve", "dovecot-managesieved",
      "dovecot-fts-xapian", "curl", ...(ldap ? ["dovecot-ldap"] : []),
      // What building the fixed replicator takes.
      ...(replicated ? ["dovecot-dev", "gcc", "libc6-dev", "patch"] : []),
    ],
    services: [daemons(spec.debianRelease).dovecot],
    accounts: [{ ...VMAIL, home: root }],
    directories: [{ path: root, owner: VMAIL.name, group: VMAIL.name, mode: "0750" }, SPOOL_SOCKET_DIRECTORY],
    files: [
      file("dovecot", "/etc/dovecot/dovecot.conf", conf),
      ...(spec.users.length > 0 ? [passwdFile(USERS, users)] : []),
      ...(ldap ? [ldapConf(ctx, quotaAttr && `=quota_rule=*:storage=%{ldap:${quotaAttr}:${spec.defaultQuotaBytes}}B`)] : []),
      ...(replicated ? [
        secretFile("dovecot", REPLICATION_SECRET, `doveadm_password = ${secrets.replicationPassword}`, { mode: "0600" }),
        file("dovecot", `${REPLICATOR}.build`, staticFile("dovecot/build-replicator"), { mode: "0755", compile: "build" }),
      ] : []),
      sieve("spam-to-junk.sieve"),
      sieve("report-spam.sieve"),
      sieve("report-ham.sieve"),
      script(`${PIPE_DIR}/rspamd-learn`),
      script(QUOTA_WARNING),
      // Where and how the learn script reaches each smtp-in's Rspamd controller; read by vmail.
      file("dovecot", "/etc/dovecot/rspamd-controllers", controllers.join("\n")),
      // The learning password only, and the CA the controllers' TLS is verified against.
      secretFile("dovecot", "/etc/dovecot/rspamd-learn.curlrc", `header = "Password: ${secrets.rspamdEnablePassword}"\ncacert = "${TLS_CA}"`, {
        group: VMAIL.name,
      }),
    ],
  };
}
