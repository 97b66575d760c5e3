// smtp-out's Postfix: submission for users (the webmail's included, as themselves) and servers. 587 (STARTTLS required) and
// 465 (implicit TLS) for site-local clients, the same two behind the frontends with the PROXY
// protocol. SASL via Dovecot, only after TLS; each login may send only as the addresses it owns.
// The smtp-in and maildrop hosts relay here without SASL (forwards, bounces, vacation replies).
// Mail is scanned by Rspamd, DKIM-signed by OpenDKIM, then delivered: hosted recipients straight
// to the maildrop pair, everything else to the recipient's MX (DANE where published, else
// opportunistic TLS).
import { file, Fragment, RenderContext } from "../../files";
import { INTERNAL, PORTS, PROXIED } from "../../ports";
import { relayUserNames } from "../../relay-users";
import { SASL_AUTH_SOCKET } from "../../shared/spool-sockets";
import { devnullTransports, hashTable, hostedRelaySection, ldapFiles, ldapMaps, MasterService, postfix, virtualAliases } from "../../shared/postfix";
import { storeNexthop, storeQuotaCheck, storeTransport } from "../../shared/store-delivery";
import { hostsOf } from "../../topology";
import { SIGNERS } from "./opendkim";

/** Addresses whose SASL login may use them as envelope sender (login names = mailbox addresses). */
export function senderLogins(ctx: RenderContext): [string, string][] {
  const { spec } = ctx;
  const users = new Set(spec.users.map((u) => u.address));
  const aliases = new Map(spec.aliases.map((a) => [a.address, [a.to]]));
  const lists = new Map(spec.lists.map((l) => [l.address, l.members]));
  // Users own their address, and every alias or list that reaches them.
  const owners = (a: string): string[] =>
    users.has(a) ? [a] : [...new Set([...(aliases.get(a) ?? []), ...(lists.get(a) ?? [])].flatMap(owners))];
  // The webmail submits as the logged-in user, so it owns nothing of its own.
  const owned = [...users, ...aliases.keys(), ...lists.keys()]
    .map((a): [string, string[]] => [a, owners(a)])
    .filter(([, o]) => o.length > 0)
    .map(([a, o]): [string, string] => [a, o.join(", ")]);
  // Servers (relay clients) send as any other address of the hosted and platform domains
  // (noreply@, cron@, root@host...), never as a user's own address.
  const servers = relayUserNames(spec);
  const domains = [...spec.domains.map((d) => d.name), spec.platformDomain];
  const wildcard = servers.length === 0 ? [] : domains.map((d): [string, string] => [`@${d}`, servers.join(", ")]);
  return [...owned, ...wildcard];
}

const SUBMISSION_HEADER_CHECKS = "/etc/postfix/submission-header-checks.regexp";

/** A submission listener; `frontends`: behind them, with the PROXY protocol. */
function submission(port: number, name: string, implicitTls: boolean, frontends?: string[]): MasterService {
  return {
    name: String(port),
    type: "inet",
    private: "n",
    command: "smtpd",
    options: {
      syslog_name: `postfix/${name}`,
      ...(implicitTls ? { smtpd_tls_wrappermode: "yes" } : {}),
      // Behind the frontends, the client's address comes from a header: trust no address there
      // (a forged PROXY header naming an smtp-in would otherwise relay), only a SASL login.
      ...(frontends
        ? {
            smtpd_upstream_proxy_protocol: "haproxy",
            mynetworks: "127.0.0.0/8",
            // A frontend's own address is the client only for its health probes (upstream-watch,
            // twice a second): outside the per-client connection limits real clients have.
            smtpd_client_event_limit_exceptions: ["127.0.0.0/8", ...frontends].join(","),
            smtpd_client_restrictions: "permit_sasl_authenticated,reject",
            smtpd_relay_restrictions: "permit_sasl_authenticated,reject",
          }
        : {}),
      // Tells the milters (OpenDKIM) this is outgoing mail.
      milter_macro_daemon_name: "ORIGINATING",
      cleanup_service_name: "submission-cleanup",
    },
  };
}

export function postfixSmtpOut(ctx: RenderContext): Fragment {
  const { spec } = ctx;
  const limits = spec.limits;
  const virtual = virtualAliases(ctx);
  const transport = hashTable("transport", "Hosted mail straight into the store (LMTP, primary maildrop first); devnull addresses discarded.", [
    ...devnullTransports(ctx),
    ...spec.domains.map((d): [string, string] => [d.name, storeNexthop(ctx)]),
  ]);
  const logins = hashTable("sender-logins", "Envelope sender → SASL logins allowed to use it.", senderLogins(ctx));
  // Bounces come only from the platform's own MTAs ($mynetworks); a login has no business sending one.
  const nullSender = hashTable("null-sender", "The null sender (smtpd_null_access_lookup_key), for clients outside $mynetworks.", [
    ["<>", "REJECT 5.7.1 Submitted mail needs a sender address; the null sender is for bounces"],
  ]);
  const ldap = ldapMaps(ctx);
  const quota = storeQuotaCheck(ctx);
  const relayingHosts = [...hostsOf(spec, "smtp-in"), ...hostsOf(spec, "maildrop")].map((h) => `${h.address}/32`);
  const frontends = hostsOf(spec, "frontend").map((h) => `${h.address}/32`);
  return postfix(ctx, {
    listeners: [
      submission(PORTS.submission, "submission", false),
      submission(PORTS.submissions, "submissions", true),
      submission(PROXIED.submission, "submission-proxied", false, frontends),
      submission(PROXIED.submissions, "submissions-proxied", true, frontends),
      // Submitted mail only: drop the Received: line naming the client's address and host (privacy;
      // its "with ESMTPSA" marks an authenticated submission). Relayed mail keeps its trace.
      { name: "submission-cleanup", type: "unix", private: "n", maxproc: "0", command: "cleanup", options: { header_checks: `regexp:${SUBMISSION_HEADER_CHECKS}` } },
      storeTransport(ctx),
    ],
    files: [
      virtual.file, transport.file, logins.file, nullSender.file, quota.table.file, ...ldapFiles(ctx),
      file("postfix", SUBMISSION_HEADER_CHECKS, "/^Received: .*with ESMTPSA/ IGNORE\n"),
    ],
    sections: [
      {
        why: "Who may submit: SASL users over TLS, and the smtp-in and maildrop hosts (forwards, bounces).",
        settings: {
          mynetworks: ["127.0.0.0/8", "[::1]/128", ...relayingHosts],
          smtpd_tls_security_level: "encrypt",
          smtpd_tls_auth_only: "yes",
          smtpd_sasl_auth_enable: "yes",
          smtpd_sasl_type: "dovecot",
          smtpd_sasl_path: SASL_AUTH_SOCKET.postfix,
          smtpd_sasl_security_options: "noanonymous",
          smtpd_sasl_authenticated_header: "no",
          smtpd_client_restrictions: ["permit_sasl_authenticated", "permit_mynetworks", "reject"],
          smtpd_sender_login_maps: [logins.ref, ...(ldap ? [ldap.mailboxes.ref] : [])],
          smtpd_sender_restrictions: ["reject_non_fqdn_sender", "reject_authenticated_sender_login_mismatch", "permit_mynetworks", `check_sender_access ${nullSender.ref}`],
          smtpd_relay_restrictions: ["permit_sasl_authenticated", "permit_mynetworks", "reject_unauth_destination"],
          smtpd_recipient_restrictions: ["reject_non_fqdn_recipient", "reject_unknown_recipient_domain", quota.restriction],
        },
      },
      quota.section,
      {
        why: "Per-client rate limits (anvil), from mailplatform:limits; $mynetworks (smtp-in, maildrop) is exempt; Rspamd also limits each SASL user.",
        settings: {
          smtpd_client_message_rate_limit: limits.submissionMessageRate,
          smtpd_client_recipient_rate_limit: limits.submissionRecipientRate,
        },
      },
      hostedRelaySection(ctx, virtual, transport),
      {
        why: "Rspamd (outbound scan, per-user rate limit), then OpenDKIM signs (RSA, Ed25519); mail waits, never leaves unsigned, if a milter is down.",
        settings: {
          smtpd_milters: [`inet:127.0.0.1:${INTERNAL.rspamdMilter}`, SIGNERS.rsa.milter, SIGNERS.ed25519.milter],
          milter_default_action: "tempfail",
          milter_protocol: 6,
          milter_mail_macros: "i {mail_addr} {client_addr} {client_name} {auth_type} {auth_authen}",
        },
      },
      {
        why: "Delivery: DANE where the recipient publishes TLSA (the local Unbound validates), else opportunistic TLS.",
        settings: {
          smtp_dns_support_level: "dnssec",
          smtp_tls_security_level: "dane",
          smtp_tls_note_starttls_offer: "yes",
          smtp_address_preference: "any",
        },
      },
      {
        why: "Retries: back off from busy receivers; the queue lifetime is in the base settings.",
        settings: {
          minimal_backoff_time: "300s",
          maximal_backoff_time: "4000s",
          queue_run_delay: "300s",
        },
      },
    ],
  });
}
