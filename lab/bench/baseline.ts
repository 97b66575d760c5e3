// The benchmark's yardstick: one extra lab host, `baseline`, that is the mail server a small shop
// runs on one machine: Debian's Postfix handing to Dovecot's LMTP (mdbox, passwd-file users), no
// filter, no replication, no proxy. Submission on 587 (STARTTLS + SASL via Dovecot), IMAP on 993,
// self-signed certificate. It sits on the lab bridge beside the internet host, so the benchmark's
// clients reach it and the platform the same way. `npm run lab -- down` removes it with the rest.
import { randomBytes } from "crypto";
import { PlatformSpec } from "@mailplatform/core";
import { execInHost, hostPid, startHost, stopHost, wipeDisk, writeHostFile } from "../hosts";
import { readInventory } from "../inventory";
import { removeNetns, wireHost } from "../network";
import { LabHost, labHosts, netnsOf, OUTSIDE } from "../plan";
import { ensureTrustAnchor } from "../dns";

export const BASELINE_DOMAIN = "bench.example";
export const BASELINE_NAME = `mx.${BASELINE_DOMAIN}`;

export const baselineHost: LabHost = {
  name: "baseline",
  role: "baseline",
  fqdn: BASELINE_NAME,
  address: OUTSIDE.baseline,
  netns: netnsOf("baseline"),
};

export interface Baseline {
  host: LabHost;
  address: string;
  users: { address: string; password: string }[];
}

/** Debian's `mail` user owns the mailboxes (as external-mx's Maildir). */
const MAIL_ID = 8;

const mainCf = (users: string[]) => `# baseline (lab/bench/baseline.ts): a one-host Postfix -> Dovecot LMTP, no filter.
compatibility_level = 3.6
myhostname = ${BASELINE_NAME}
myorigin = $myhostname
mydestination =
inet_interfaces = all
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
biff = no
alias_maps =
alias_database =
smtpd_tls_cert_file = /etc/postfix/bench.crt
smtpd_tls_key_file = /etc/postfix/bench.key
smtpd_tls_security_level = may
smtp_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
virtual_mailbox_domains = ${BASELINE_DOMAIN}
virtual_mailbox_maps = inline:{ ${users.map((u) => `${u}=ok`).join(", ")} }
virtual_transport = lmtp:unix:private/dovecot-lmtp
`;

const dovecotConf = `# baseline (lab/bench/baseline.ts): mdbox, passwd-file users, LMTP for Postfix, IMAP.
protocols = imap lmtp
listen = *
log_path = syslog
ssl = yes
ssl_cert = </etc/dovecot/bench.crt
ssl_key = </etc/dovecot/bench.key
auth_mechanisms = plain login
mail_location = mdbox:~/mdbox
first_valid_uid = ${MAIL_ID}
passdb {
  driver = passwd-file
  args = /etc/dovecot/bench-users
}
userdb {
  driver = passwd-file
  args = /etc/dovecot/bench-users
  default_fields = uid=${MAIL_ID} gid=${MAIL_ID} home=/var/vmail/%d/%n
}
service lmtp {
  unix_listener /var/spool/postfix/private/dovecot-lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
service auth {
  unix_listener /var/spool/postfix/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
protocol lmtp {
  postmaster_address = postmaster@${BASELINE_DOMAIN}
}
`;

const START = String.raw`
set -e
if [ ! -f /etc/postfix/bench.key ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=$1" \
    -addext "subjectAltName=DNS:$1" -keyout /etc/postfix/bench.key -out /etc/postfix/bench.crt 2>/dev/null
  install -m 0600 /etc/postfix/bench.key /etc/dovecot/bench.key && install -m 0644 /etc/postfix/bench.crt /etc/dovecot/bench.crt
  chmod 0600 /etc/postfix/bench.key
fi
install -d -o mail -g mail -m 0770 /var/vmail
postconf -Me 'submission/inet=submission inet n - y - - smtpd'
postconf -P 'submission/inet/smtpd_tls_security_level=encrypt' 'submission/inet/smtpd_sasl_auth_enable=yes'
postfix check
doveconf -n >/dev/null
dovecot </dev/null >/dev/null 2>&1
service postfix start </dev/null >/dev/null 2>&1`;

/** Boots the baseline host (or boots it again, fresh) on the running lab; returns its users and their passwords. */
export async function startBaseline(spec: PlatformSpec, users = 2): Promise<Baseline> {
  const host = baselineHost;
  await stopBaseline();
  const lab = labHosts(spec);
  readInventory(); // the lab must be up: its bridge, DNS and the other hosts' routes
  wireHost(spec, [...lab, host], host);
  await startHost(host, { resolver: OUTSIDE.dns, trustAnchor: ensureTrustAnchor(), volumes: [] });
  const accounts = Array.from({ length: users }, (_, i) => ({ address: `bench${i + 1}@${BASELINE_DOMAIN}`, password: randomBytes(12).toString("base64url") }));
  // Hashed as the platform stores its users' (BLF-CRYPT), so a login costs the same on both.
  const lines = accounts.map((u) => {
    const hash = execInHost(host, ["doveadm", "pw", "-s", "BLF-CRYPT", "-p", u.password]).stdout.trim();
    return `${u.address}:${hash}::::::`;
  });
  writeHostFile(host, "/etc/postfix/main.cf", mainCf(accounts.map((u) => u.address)));
  writeHostFile(host, "/etc/dovecot/dovecot.conf", dovecotConf);
  writeHostFile(host, "/etc/dovecot/bench-users", lines.join("\n") + "\n", "0640");
  execInHost(host, ["chgrp", "dovecot", "/etc/dovecot/bench-users"]);
  const r = execInHost(host, ["bash", "-c", START, "-", BASELINE_NAME]);
  if (r.status !== 0) throw new Error(`baseline: Postfix or Dovecot did not start: ${r.stderr}${r.stdout}`);
  return { host, address: host.address, users: accounts };
}

/** Stops the baseline host, drops its disk and removes its namespace (safe when it does not run). */
export async function stopBaseline(): Promise<void> {
  if (hostPid(baselineHost) !== undefined) await stopHost(baselineHost);
  wipeDisk(baselineHost.name);
  await removeNetns(baselineHost.netns);
}
