// smtp-in's Postfix: the public MX. postscreen with weighted DNSBLs in front of smtpd on 25,
// implicit TLS on 465, no SASL and no relaying for anyone. Accepted mail is checked by Rspamd,
// expanded through the hosted address space, and handed on: hosted mailboxes into the store (LMTP to
// the maildrop pair, shared/store-delivery.ts), everything else (forwards, list members outside) to smtp-out with an SRS sender.
import { Fragment, RenderContext } from "../../files";
import { INTERNAL, PORTS } from "../../ports";
import { devnullTransports, hashTable, hostedRelaySection, ldapFiles, MasterService, postfix, virtualAliases } from "../../shared/postfix";
import { storeNexthop, storeQuotaCheck, storeTransport } from "../../shared/store-delivery";
import { serviceNames } from "../../topology";

export function postfixSmtpIn(ctx: RenderContext): Fragment {
  const { spec } = ctx;
  const names = serviceNames(spec);
  const virtual = virtualAliases(ctx);
  const transport = hashTable("transport", "Hosted mail into the store (LMTP, primary maildrop first); devnull addresses discarded.", [
    ...devnullTransports(ctx),
    ...spec.domains.map((d): [string, string] => [d.name, storeNexthop(ctx)]),
  ]);
  const quota = storeQuotaCheck(ctx);
  const dnsbl = spec.dnsbl.map((z) => `${z.zone}*${z.weight}`);
  const listeners: MasterService[] = [
    { name: String(PORTS.smtp), type: "inet", private: "n", maxproc: "1", command: "postscreen", options: { syslog_name: "postfix/smtp" } },
    { name: "smtpd", type: "pass", command: "smtpd", options: { syslog_name: "postfix/smtp" } },
    { name: "dnsblog", type: "unix", maxproc: "0", command: "dnsblog" },
    // Implicit TLS for senders that prefer it (seed 004); the same checks as port 25 minus postscreen.
    { name: String(PORTS.submissions), type: "inet", private: "n", command: "smtpd", options: { syslog_name: "postfix/smtps", smtpd_tls_wrappermode: "yes" } },
    storeTransport(ctx),
  ];
  return postfix(ctx, {
    listeners,
    files: [virtual.file, transport.file, quota.table.file, ...ldapFiles(ctx)],
    sections: [
      {
        why: "postscreen: weighted DNSBL score (mailplatform:dnsbl) and pregreet test before smtpd sees a client.",
        settings: {
          postscreen_access_list: "permit_mynetworks",
          postscreen_denylist_action: "drop",
          postscreen_greet_action: "enforce",
          postscreen_dnsbl_sites: dnsbl,
          postscreen_dnsbl_threshold: spec.dnsblThreshold,
          postscreen_dnsbl_action: "enforce",
          // Clients that only score on allow lists (negative weights) skip the remaining tests.
          ...(spec.dnsbl.some((z) => z.weight < 0) ? { postscreen_dnsbl_allowlist_threshold: -1 } : {}),
        },
      },
      {
        why: "smtpd: a public MX. No SASL, no relaying: only hosted recipients (and SRS bounces) are accepted.",
        settings: {
          mynetworks: ["127.0.0.0/8", "[::1]/128"],
          smtpd_sasl_auth_enable: "no",
          smtpd_tls_security_level: "may",
          smtpd_helo_restrictions: ["permit_mynetworks", "reject_invalid_helo_hostname", "reject_non_fqdn_helo_hostname"],
          smtpd_sender_restrictions: ["reject_non_fqdn_sender", "reject_unknown_sender_domain"],
          smtpd_relay_restrictions: ["permit_mynetworks", "reject_unauth_destination"],
          smtpd_recipient_restrictions: ["reject_non_fqdn_recipient", "reject_unlisted_recipient", quota.restriction],
          smtpd_data_restrictions: "reject_unauth_pipelining",
        },
      },
      quota.section,
      // The platform domain is a relay domain for SRS0=/SRS1= bounces (valid when PostSRSd can
      // reverse them: smtpd checks recipient_canonical_maps) and its RFC 2142 addresses.
      hostedRelaySection(ctx, virtual, transport, [spec.platformDomain]),
      {
        why: "Rspamd (inbound): reject, greylist or tag. Rspamd down: 4xx, and the sender retries, at another MX (all have equal preference) rather than mail passing unscanned.",
        settings: {
          smtpd_milters: `inet:127.0.0.1:${INTERNAL.rspamdMilter}`,
          milter_default_action: "tempfail",
          milter_protocol: 6,
          milter_mail_macros: "i {mail_addr} {client_addr} {client_name} {auth_authen}",
        },
      },
      {
        why: "PostSRSd: rewrite outside senders (forwards keep passing SPF), reverse SRS bounces.",
        settings: {
          sender_canonical_maps: `tcp:127.0.0.1:${INTERNAL.srsForward}`,
          sender_canonical_classes: "envelope_sender",
          recipient_canonical_maps: `tcp:127.0.0.1:${INTERNAL.srsReverse}`,
          recipient_canonical_classes: ["envelope_recipient", "header_recipient"],
        },
      },
      {
        why: "Everything not hosted leaves through smtp-out (equal-preference MX), which trusts this host's address.",
        settings: {
          relayhost: `${names.smtpOut}:${PORTS.submission}`,
          // This host only ever talks SMTP to platform hosts: verify them against the platform CA.
          smtp_tls_security_level: "secure",
          smtp_tls_secure_cert_match: "nexthop",
        },
      },
      {
        why: "Retries: every next hop is a platform host, back within a minute of a restart, not a busy stranger to spare.",
        settings: {
          queue_run_delay: "30s",
          minimal_backoff_time: "30s",
          maximal_backoff_time: "300s",
        },
      },
    ],
  });
}
