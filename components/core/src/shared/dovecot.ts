// Pieces both Dovecots share: the smtp-out auth server and the maildrop. Users log in with their
// full address; their password hashes come from the secrets (passwd-file) or from LDAP (seed 003).
import { HostFile, RenderContext, secretFile } from "../files";
import { directoryTls } from "./tls";

export const DOVECOT_LDAP_CONF = "/etc/dovecot/dovecot-ldap.conf.ext";

/** One passwd-file line: user:password:uid:gid:gecos:home:shell:extra fields. */
export interface PasswdEntry {
  user: string;
  hash: string;
  /** userdb extra fields, e.g. `userdb_quota_rule=*:storage=1024B`. */
  extra?: string[];
}

/** A passwd-file of users and hashes, readable by the auth process (user dovecot) only. */
/** passdb extra field of a disabled user: the password may match, the login is refused all the same. */
export const DISABLED_LOGIN = "nologin=y";

/** A mailbox user's password hash: from the secrets, never the spec (in-stack it is a Pulumi secret). */
export function userPasswordHash(ctx: RenderContext, address: string): string {
  const hash = ctx.secrets.userPasswordHashes[address];
  if (hash === undefined) throw new Error(`no password hash for ${address} in the secrets`);
  return hash;
}

export function passwdFile(path: string, entries: PasswdEntry[]): HostFile {
  // Empty uid..shell fields: the userdb's defaults apply; a line without them has no userdb info at all.
  const line = (e: PasswdEntry) => `${e.user}:${e.hash}::::::${(e.extra ?? []).join(" ")}`;
  return secretFile("dovecot", path, entries.map(line).join("\n"), { group: "dovecot" });
}

/**
 * The LDAP lookup file (seed 003): found with the service account, then bound as the user to
 * check the password (auth_bind). `userAttrs` maps LDAP attributes to userdb fields.
 */
export function ldapConf(ctx: RenderContext, userAttrs?: string): HostFile {
  const dir = ctx.spec.directory;
  if (!dir) throw new Error("ldapConf: the spec has no directory");
  const password = ctx.secrets.ldapBindPassword;
  if (!password) throw new Error("the spec has a directory but the secrets hold no ldapBindPassword");
  const tls = directoryTls(dir);
  const content = `# LDAP directory: users are found with the service account, then bound as themselves.
uris = ${dir.uris.join(" ")}
dn = ${dir.bindDn}
dnpass = ${password}
ldap_version = 3
# TLS always (ldaps://, or StartTLS on ldap://), the directory's certificate verified.
tls = ${tls.startTls ? "yes" : "no"}
tls_require_cert = hard
${tls.caFile ? `tls_ca_cert_file = ${tls.caFile}\n` : ""}base = ${dir.baseDn}
scope = subtree
auth_bind = yes
# The directory's address is the canonical user name.
pass_filter = ${dir.passFilter}
pass_attrs = mail=user
user_filter = ${dir.userFilter}
${userAttrs ? `user_attrs = ${userAttrs}\n` : ""}# Listing every user (doveadm -A, replication's full sync).
iterate_filter = ${dir.mailboxFilter.replace(/%s/g, "*")}
iterate_attrs = mail=user
`;
  return secretFile("dovecot", DOVECOT_LDAP_CONF, content, { group: "dovecot" });
}

/** passdb blocks: the passwd-file first, then LDAP when a directory is configured. */
export function passdbs(passwdPath: string | undefined, ldap: boolean): string {
  return [
    passwdPath && `passdb {\n  driver = passwd-file\n  args = ${passwdPath}\n}`,
    ldap && `passdb {\n  driver = ldap\n  args = ${DOVECOT_LDAP_CONF}\n}`,
  ].filter(Boolean).join("\n");
}
