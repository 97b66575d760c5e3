// The `external-mx` host: the rest of the world's mail servers in one plain Postfix. It accepts
// mail for any domain (the lab DNS points the outside domains here) and keeps every message as a
// file in one Maildir, for the tests to inspect (DKIM, SPF, DMARC, SRS envelopes). It also sends
// to the platform like any outside MTA: mail injected here for a hosted domain waits in its queue
// and goes to the hosted domain's MX hosts, retried until one takes it (the fault suite's inbound
// traffic), only sooner than the Internet's retries.
import { PlatformSpec } from "@mailplatform/core";
import { execInHostAsync, writeHostFile } from "./hosts";
import { EXTERNAL_MX_NAME, LabHost } from "./plan";

/** The Maildir's `new` directory, as a path inside the external-mx host. */
export const EXTERNAL_MAILDIR = "/var/mail/external/Maildir/new";
/** Debian's `mail` user and group own the Maildir. */
const MAIL_ID = 8;

const mainCf = (spec: PlatformSpec) => `# external-mx (lab/external-mx.ts): receives for every domain into one Maildir.
compatibility_level = 3.6
myhostname = ${EXTERNAL_MX_NAME}
myorigin = $myhostname
mydestination =
inet_interfaces = all
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
biff = no
alias_maps =
alias_database =
smtputf8_enable = no
message_size_limit = 104857600
virtual_mailbox_limit = 0
# Every domain is a mailbox domain, every address the same Maildir.
virtual_mailbox_domains = static:all
virtual_mailbox_base = /var/mail
virtual_mailbox_maps = static:external/Maildir/
virtual_uid_maps = static:${MAIL_ID}
virtual_gid_maps = static:${MAIL_ID}
virtual_minimum_uid = ${MAIL_ID}
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
# STARTTLS like any mail server today, with a self-signed certificate (senders verify nothing here).
smtpd_tls_security_level = may
smtpd_tls_cert_file = /etc/postfix/external-mx.crt
smtpd_tls_key_file = /etc/postfix/external-mx.key
smtp_tls_security_level = may
# Hosted domains are the platform's: out by MX (every smtp-in), as any sender would.
transport_maps = inline:{ ${spec.domains.map((d) => `${d.name}=smtp:`).join(", ")} }
# Real MTAs retry after minutes; the lab's tests cannot wait that long.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 20s
smtp_connect_timeout = 10s
# A well-behaved sender from one address stays within the MXes' connections per client
# (mailplatform:limits.clientConnections) for all hosted domains at once, even on one MX, counting
# the idle sessions its connection cache holds (one per delivering one). Above it the MX answers 421
# and Postfix suspends the whole destination until a retry.
smtp_destination_concurrency_limit = ${Math.max(1, Math.floor(spec.limits.clientConnections / (2 * spec.domains.length)))}
# ...and within their new connections per minute (clientConnectionRate): sessions are kept and reused,
# TLS ones too (through tlsproxy), as a big sender's are.
smtp_connection_cache_destinations = ${spec.domains.map((d) => d.name).join(", ")}
smtp_tls_connection_reuse = yes
`;

export async function startExternalMx(host: LabHost, spec: PlatformSpec): Promise<string> {
  const changed = writeHostFile(host, "/etc/postfix/main.cf", mainCf(spec));
  const script = String.raw`
set -e
if [ ! -f /etc/postfix/external-mx.key ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 -subj "/CN=$1" \
    -addext "subjectAltName=DNS:$1" -keyout /etc/postfix/external-mx.key -out /etc/postfix/external-mx.crt 2>/dev/null
  chmod 0600 /etc/postfix/external-mx.key
fi
install -d -o mail -g mail -m 0770 /var/mail/external
# Debian's master.cf leaves tlsproxy out: smtp_tls_connection_reuse needs it.
postconf -M tlsproxy/unix 2>/dev/null | grep -q . || { postconf -Me 'tlsproxy/unix=tlsproxy unix - - n - 0 tlsproxy'; set -- "$1" changed; }
postfix check
if postfix status 2>/dev/null; then
  [ "$2" = changed ] || { echo running; exit 0; }
  postfix reload 2>/dev/null; echo reloaded
else
  service postfix start </dev/null >/dev/null 2>&1; echo started
fi`;
  const r = await execInHostAsync(host, ["bash", "-c", script, "-", EXTERNAL_MX_NAME, changed ? "changed" : "same"]);
  if (r.status !== 0) throw new Error(`external-mx: Postfix did not start: ${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}
