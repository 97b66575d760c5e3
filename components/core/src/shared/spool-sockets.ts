// Dovecot's sockets inside Postfix's queue directory, where Postfix's chrooted services reach them.
// Each is declared once here: Dovecot is given the absolute path, Postfix the same socket relative
// to its queue directory.
export const POSTFIX_QUEUE_DIRECTORY = "/var/spool/postfix";

/**
 * Their directory, as Postfix makes it (postfix-files). Declared by the role that puts a socket in
 * it: the queue directory is a volume of its own (volumes.ts), empty until Postfix first starts,
 * and Dovecot starts before Postfix.
 */
export const SPOOL_SOCKET_DIRECTORY = { path: `${POSTFIX_QUEUE_DIRECTORY}/private`, owner: "postfix", group: "root", mode: "0700" };

export interface SpoolSocket {
  /** Absolute, for Dovecot's unix_listener. */
  path: string;
  /** Relative to the queue directory, for Postfix (lmtp:unix:…, smtpd_sasl_path). */
  postfix: string;
}

const spoolSocket = (name: string): SpoolSocket => ({ path: `${POSTFIX_QUEUE_DIRECTORY}/${name}`, postfix: name });

/** The maildrop's Dovecot LMTP: Postfix hands every hosted message to it. */
export const LMTP_SOCKET = spoolSocket("private/dovecot-lmtp");
/** smtp-out's Dovecot auth: Postfix's SASL. */
export const SASL_AUTH_SOCKET = spoolSocket("private/auth");
