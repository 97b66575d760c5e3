// Dovecot on smtp-out: only the SASL authentication server behind Postfix submission (seed 004).
// Mail users log in with their address and mailbox password (the webmail too, as the user whose
// session it serves); relay clients (servers) with their own name and a machine password.
import { daemons } from "../../daemons";
import { file, Fragment, RenderContext } from "../../files";
import { relayUserNames } from "../../relay-users";
import { DISABLED_LOGIN, ldapConf, passdbs, passwdFile, userPasswordHash } from "../../shared/dovecot";
import { SASL_AUTH_SOCKET, SPOOL_SOCKET_DIRECTORY } from "../../shared/spool-sockets";
import { machinePasswordHash } from "../../shared/passwords";

export const SASL_USERS = "/etc/dovecot/sasl-users";

/** The SASL users that are not mailboxes: the configured relay clients. */
export function relayUsers(ctx: RenderContext): { user: string; hash: string }[] {
  return relayUserNames(ctx.spec).map((user) => {
    const password = ctx.secrets.relayPasswords[user];
    if (!password) throw new Error(`no relay password for SASL user ${user} in the secrets`);
    return { user, hash: machinePasswordHash(user, password) };
  });
}

export function dovecotAuth(ctx: RenderContext): Fragment {
  const { spec } = ctx;
  const ldap = !!spec.directory;
  // Users of the stack config and relay clients from the file; a directory's users from LDAP.
  const entries = [...spec.users.map((u) => ({ user: u.address, hash: userPasswordHash(ctx, u.address), extra: u.disabled ? [DISABLED_LOGIN] : [] })), ...relayUsers(ctx)];
  const conf = `# Dovecot on ${ctx.host.name}: SASL authentication for Postfix only, no mail protocols.
protocols = none
# Postfix reaches it over a local socket. TLS towards clients is Postfix's, and so is refusing
# AUTH before STARTTLS (smtpd_tls_auth_only): this auth server does not see the TLS state.
ssl = no
auth_mechanisms = plain login
# Log failed logins (never the passwords).
auth_verbose = yes

service auth {
  unix_listener ${SASL_AUTH_SOCKET.path} {
    mode = 0660
    user = postfix
    group = postfix
  }
}

${passdbs(SASL_USERS, ldap)}
`;
  return {
    packages: ldap ? ["dovecot-ldap"] : [],
    services: [daemons(ctx.spec.debianRelease).dovecot],
    directories: [SPOOL_SOCKET_DIRECTORY],
    files: [
      file("dovecot", "/etc/dovecot/dovecot.conf", conf),
      passwdFile(SASL_USERS, entries),
      ...(ldap ? [ldapConf(ctx)] : []),
    ],
  };
}
