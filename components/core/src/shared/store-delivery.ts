// How smtp-in and smtp-out hand hosted mail to the maildrop pair: Postfix's LMTP client straight to
// Dovecot's LMTP on the primary maildrop, the backup when the primary does not answer. Dovecot
// answers 250 only once the message is stored, and, with replication, once the peer holds it too
// (replication_sync_timeout), so a message leaves the MTA's queue only when it is safe. An SMTP hop
// into a Postfix queue on the maildrop would acknowledge mail that sits on the maildrop's root
// disk, which a replaced VM does not keep. Before accepting mail for a hosted mailbox, both MTAs
// ask the pair's quota-status service whether it fits (storeQuotaCheck).
import { INTERNAL } from "../ports";
import { RenderContext } from "../files";
import { hostsOf } from "../topology";
import { hashTable, MainSection, MasterService, Table } from "./postfix";
import { TLS_CA } from "./tls";

/** The master.cf transport that delivers into the store. */
export const STORE_TRANSPORT = "maildrop";

/** The transport map's value for a hosted domain: the primary maildrop's LMTP. */
export function storeNexthop(ctx: RenderContext): string {
  const [primary] = hostsOf(ctx.spec, "maildrop");
  return `${STORE_TRANSPORT}:inet:${primary.fqdn}:${INTERNAL.lmtp}`;
}

/**
 * The LMTP client that delivers into the store: TLS verified against the platform CA by host name,
 * the backup maildrop as fallback, a short connect timeout so a silent primary fails over, and
 * sessions reused across messages.
 */
export function storeTransport(ctx: RenderContext): MasterService {
  const [, ...backups] = hostsOf(ctx.spec, "maildrop");
  return {
    name: STORE_TRANSPORT,
    type: "unix",
    command: "lmtp",
    options: {
      syslog_name: "postfix/maildrop",
      lmtp_tls_security_level: "secure",
      lmtp_tls_secure_cert_match: "nexthop",
      lmtp_tls_CAfile: TLS_CA,
      lmtp_tls_protocols: ">=TLSv1.2",
      lmtp_tls_mandatory_protocols: ">=TLSv1.2",
      lmtp_connect_timeout: "5s",
      // Sessions into the store stay open and are reused, TLS ones too (through tlsproxy): without
      // it every message paid a new connection and TLS handshake on both ends (README, Benchmark).
      lmtp_tls_connection_reuse: "yes",
      // host:port here: Postfix refuses the inet: prefix in a relay list (only the transport map takes it).
      ...(backups.length > 0 ? { lmtp_fallback_relay: backups.map((h) => `${h.fqdn}:${INTERNAL.lmtp}`).join(",") } : {}),
    },
  };
}

/** The restriction class that asks the maildrops' quota-status service about one recipient. */
const QUOTA_CLASS = "store_quota";

/**
 * Quota at RCPT: a recipient in a hosted domain is refused (552 5.2.2, from Dovecot's quota-status
 * on the maildrops) while the mailbox is over quota, in the sender's own session, instead of being
 * accepted and bounced later to a sender that may be forged. The primary is asked first; the
 * backup only when the primary does not answer (quota-status answers OK, never DUNNO, for a
 * mailbox that fits or an address that is no mailbox, and the check comes last, so OK ends it).
 * Each gets 2 s (a healthy one answers in milliseconds; a frozen primary costs every hosted RCPT
 * this wait). Neither answering: DUNNO, the mail is accepted as before the check existed and LMTP's
 * own RCPT check (lmtp_rcpt_check_quota) decides at delivery: a temporary error would hold every
 * hosted message back while the pair is unreachable, though the queue keeps it safely. Only hosted
 * recipients are asked about: the policy request crosses sites (see README), and addresses
 * outside the platform have no business there.
 * `restriction` goes last in smtpd_recipient_restrictions.
 */
export function storeQuotaCheck(ctx: RenderContext): { table: Table; section: MainSection; restriction: string } {
  const table = hashTable("quota-checked-domains", "Hosted domains: their recipients' quota is checked at RCPT.",
    ctx.spec.domains.map((d): [string, string] => [d.name, QUOTA_CLASS]));
  return {
    table,
    restriction: `check_recipient_access ${table.ref}`,
    section: {
      why: "Quota at RCPT (shared/store-delivery.ts): the primary maildrop's quota-status, the backup's when the primary does not answer; neither: accepted, LMTP decides.",
      settings: {
        smtpd_restriction_classes: QUOTA_CLASS,
        [QUOTA_CLASS]: hostsOf(ctx.spec, "maildrop").map((h) => `check_policy_service inet:${h.fqdn}:${INTERNAL.quotaStatus}`),
        smtpd_policy_service_timeout: "2s",
        smtpd_policy_service_try_limit: 1,
        // Each quota-status connection holds a process on the maildrop: let idle ones go soon.
        smtpd_policy_service_max_idle: "10s",
        smtpd_policy_service_default_action: "DUNNO",
      },
    },
  };
}
