// Every port the platform uses, in one place: renderers, network rules and tests read them here.

/** Public and client-facing ports. */
export const PORTS = {
  smtp: 25,
  submission: 587,
  submissions: 465,
  imap: 143,
  imaps: 993,
  pop3: 110,
  pop3s: 995,
  managesieve: 4190,
  http: 80,
  https: 443,
  ssh: 22,
} as const;

/**
 * Listeners that accept the PROXY protocol from the frontends, so smtp-out and Dovecot see (and
 * rate-limit, log, penalise) the real client address. The plain ports above stay for direct
 * site-local clients (relay servers on smtp-out; nothing direct on the maildrop's client ports).
 */
export const PROXIED = {
  submission: 10587,
  submissions: 10465,
  imap: 10143,
  imaps: 10993,
  pop3: 10110,
  pop3s: 10995,
  managesieve: 14190,
} as const;

/** Internal services. */
export const INTERNAL = {
  /** Dovecot LMTP on the maildrops: smtp-in and smtp-out deliver hosted mail here. */
  lmtp: 24,
  /** Dovecot's quota-status policy service on the maildrops: smtp-in and smtp-out ask it at RCPT. */
  quotaStatus: 12340,
  /** Dovecot doveadm (dsync replication) between the maildrop pair. */
  doveadm: 12345,
  /** Rspamd controller on smtp-in, behind NGINX's TLS: the maildrops report spam/ham here. */
  rspamdController: 11334,
  /** Rspamd controller itself, loopback only (NGINX passes the maildrops' reports on to it). */
  rspamdControllerLocal: 11335,
  /** Rspamd milter (proxy worker), loopback only. */
  rspamdMilter: 11332,
  /** Rspamd normal worker, loopback only. */
  rspamdNormal: 11333,
  /** OpenDKIM milter, loopback only. */
  opendkim: 8891,
  /** PostSRSd forward and reverse maps, loopback only. */
  srsForward: 10001,
  srsReverse: 10002,
  /** Roundcube's NGINX on the webmail host (HTTPS, for the frontends only). */
  webmailHttps: 443,
} as const;
