// How smtp-in and smtp-out hand hosted mail to the maildrop pair: Postfix's LMTP client straight to
// Dovecot's LMTP on the primary maildrop, the backup when the primary does not answer. Dovecot
// answers 250 only once the message is stored, and, with replication, once the peer holds it too
// (replication_sync_timeout), so a message leaves the MTA's queue only when it is safe. An SMTP hop
// into a Postfix queue on the maildrop would acknowledge mail that sits on the maildrop's root
// disk, which a replaced VM does not keep.
import { INTERNAL } from "../ports";
import { RenderContext } from "../files";
import { hostsOf } from "../topology";
import { MasterService } from "./postfix";
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
