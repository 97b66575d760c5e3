// maildrop's Postfix: the door into the mailbox store. Port 25 only, and only for the smtp-in and
// smtp-out hosts; hosted mailboxes go to Dovecot LMTP. Both maildrops accept (the backup is MX 20,
// and in shared-storage mode it delivers into the same share). Mail made here (DSNs, Sieve
// vacation replies and redirects) leaves through smtp-out.
import { Fragment, RenderContext } from "../../files";
import { PORTS } from "../../ports";
import { LMTP_SOCKET } from "../../shared/spool-sockets";
import { devnullTransports, hashTable, ldapFiles, ldapMaps, postfix, virtualAliases } from "../../shared/postfix";
import { hostsOf, serviceNames } from "../../topology";

export function postfixMaildrop(ctx: RenderContext): Fragment {
  const { spec } = ctx;
  const names = serviceNames(spec);
  const ldap = ldapMaps(ctx);
  // Mail arrives expanded, but mail made here (a Sieve redirect to a list) is expanded the same way.
  const virtual = virtualAliases(ctx);
  const mailboxes = hashTable("mailboxes", "Hosted mailboxes, delivered over LMTP.", spec.users.map((u): [string, string] => [u.address, "OK"]));
  const transport = hashTable("transport", "Devnull addresses discarded.", devnullTransports(ctx));
  const senders = [...hostsOf(spec, "smtp-in"), ...hostsOf(spec, "smtp-out")].map((h) => `${h.address}/32`);
  return postfix(ctx, {
    listeners: [{ name: String(PORTS.smtp), type: "inet", private: "n", command: "smtpd", options: { syslog_name: "postfix/smtp" } }],
    files: [virtual.file, mailboxes.file, transport.file, ...ldapFiles(ctx)],
    sections: [
      {
        why: "Only the platform's MTAs deliver here; everyone else is refused at connect.",
        settings: {
          mynetworks: ["127.0.0.0/8", "[::1]/128", ...senders],
          smtpd_client_restrictions: ["permit_mynetworks", "reject"],
          smtpd_relay_restrictions: ["permit_mynetworks", "reject"],
          smtpd_recipient_restrictions: "reject_unlisted_recipient",
          smtpd_tls_security_level: "may",
        },
      },
      {
        why: "Hosted mailboxes to Dovecot LMTP; unknown recipients are refused at RCPT.",
        settings: {
          virtual_mailbox_domains: spec.domains.map((d) => d.name),
          virtual_mailbox_maps: [mailboxes.ref, ...(ldap ? [ldap.mailboxes.ref] : [])],
          virtual_alias_maps: [virtual.ref, ...(ldap ? [ldap.groups.ref] : [])],
          virtual_transport: `lmtp:unix:${LMTP_SOCKET.postfix}`,
          transport_maps: transport.ref,
        },
      },
      {
        why: "Everything else (DSNs, vacation replies, redirects) through smtp-out, verified against the platform CA.",
        settings: {
          relayhost: `${names.smtpOut}:${PORTS.submission}`,
          smtp_tls_security_level: "secure",
          smtp_tls_secure_cert_match: "nexthop",
        },
      },
    ],
  });
}
