// The host's TLS material, one copy per host, read by every daemon that terminates TLS on it.
import { file, Fragment, RenderContext, secretFile, Service } from "../files";
import { LdapDirectory, PlatformSpec } from "../spec/types";
import { Host, serviceNames } from "../topology";

export const TLS_DIR = "/etc/mailplatform/tls";
export const TLS_CERT = `${TLS_DIR}/host.crt`;
export const TLS_KEY = `${TLS_DIR}/host.key`;
/** The platform CA: clients inside the platform verify peers against it. */
export const TLS_CA = `${TLS_DIR}/ca.crt`;
/** The CA of the LDAP directory's certificate (mailplatform:directory.caCertificate), when one is set. */
export const DIRECTORY_CA = `${TLS_DIR}/directory-ca.crt`;

/**
 * How the LDAP clients (Dovecot, Postfix) reach the directory: always over TLS with the certificate
 * verified, since user passwords are checked by binding as the user. ldap:// URIs get StartTLS
 * (the validator refuses a mix); the CA is the configured one, else the system trust store.
 */
export function directoryTls(dir: LdapDirectory): { startTls: boolean; caFile?: string } {
  return { startTls: dir.uris.every((u) => u.startsWith("ldap://")), caFile: dir.caCertificate ? DIRECTORY_CA : undefined };
}

/** `directoryServices`: the host's services that look users up in the directory (they get its CA). */
export function tlsFiles(ctx: RenderContext, services: Service[], directoryServices: Service[] = []): Fragment {
  const cert = ctx.secrets.hostCertificates[ctx.host.name];
  if (!cert) throw new Error(`no TLS certificate for host ${ctx.host.name}`);
  return {
    packages: ["ca-certificates", "ssl-cert"],
    directories: [{ path: TLS_DIR, owner: "root", group: "root", mode: "0755" }],
    files: [
      // Certificates carry the chain so clients that know only the CA can verify.
      file(services, TLS_CERT, cert.certificatePem.trimEnd() + "\n" + ctx.secrets.caCertificatePem),
      file(services, TLS_CA, ctx.secrets.caCertificatePem),
      secretFile(services, TLS_KEY, cert.privateKeyPem, { mode: "0600" }),
      ...(ctx.spec.directory?.caCertificate && directoryServices.length > 0 ? [file(directoryServices, DIRECTORY_CA, ctx.spec.directory.caCertificate.trimEnd() + "\n")] : []),
    ],
  };
}

/** Names a host's certificate must cover: its own, and the service names its role answers for. */
export function certificateNames(spec: PlatformSpec, host: Host): string[] {
  const names = serviceNames(spec);
  const extra: Record<Host["role"], string[]> = {
    "smtp-in": [],
    "smtp-out": [names.submission, names.smtpOut],
    maildrop: [names.imap, names.pop3],
    frontend: [
      names.submission, names.imap, names.pop3, names.webmail,
      ...spec.domains.flatMap((d) => [`mta-sts.${d.name}`, `autoconfig.${d.name}`, `autodiscover.${d.name}`]),
    ],
    webmail: [names.webmail],
  };
  return [...new Set([host.fqdn, host.name, ...extra[host.role]])];
}
