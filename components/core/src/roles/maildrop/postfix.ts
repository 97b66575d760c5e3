// maildrop's Postfix: mail made here (Sieve vacation replies and redirects, DSNs). Hosted
// recipients go to the local Dovecot LMTP, the rest leaves through smtp-out. Mail from outside the
// host never passes here: smtp-in and smtp-out deliver into the store over LMTP directly.
import { Fragment, RenderContext } from "../../files";
import { PORTS } from "../../ports";
import { LMTP_SOCKET } from "../../shared/spool-sockets";
import { devnullTransports, hashTable, ldapFiles, ldapMaps, postfix, virtualAliases } from "../../shared/postfix";
import { serviceNames } from "../../topology";

export function postfixMaildrop(ctx: RenderContext): Fragment {
  const { spec } = ctx;
  const names = serviceNames(spec);
  const ldap = ldapMaps(ctx);
  // Mail arrives expanded, but mail made here (a Sieve redirect to a list) is expanded the same way.
  const virtual = virtualAliases(ctx);
  const mailboxes = hashTable("mailboxes", "Hosted mailboxes, delivered over LMTP.", spec.users.map((u): [string, string] => [u.address, "OK"]));
  const transport = hashTable("transport", "Devnull addresses discarded.", devnullTransports(ctx));
  // No listener: the MTAs deliver into the store over LMTP (shared/store-delivery.ts); only what
  // is made here (sendmail, pickup) passes through this Postfix.
  return postfix(ctx, {
    listeners: [],
    files: [virtual.file, mailboxes.file, transport.file, ...ldapFiles(ctx)],
    sections: [
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
