// The host's TLS material, one copy per host, read by every daemon that terminates TLS on it.
import { file, Fragment, RenderContext, secretFile, Service } from "../files";
import { PlatformSpec } from "../spec/types";
import { Host, serviceNames } from "../topology";

export const TLS_DIR = "/etc/mailplatform/tls";
export const TLS_CERT = `${TLS_DIR}/host.crt`;
export const TLS_KEY = `${TLS_DIR}/host.key`;
/** The platform CA: clients inside the platform verify peers against it. */
export const TLS_CA = `${TLS_DIR}/ca.crt`;

export function tlsFiles(ctx: RenderContext, services: Service[]): Fragment {
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
