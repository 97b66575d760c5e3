// The platform's secrets and keys, generated in-stack in the exact shape the core's renderers read
// (PlatformSecrets). Every value is wrapped secret here, whatever the provider declares, so state,
// outputs and everything derived from them stay encrypted.
import { certificateNames, DkimPublicKeys, dkimPublicKeys, Host, platformSecrets, PlatformSecrets, PlatformSpec } from "@mailplatform/core";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { outputsOf, rehydrationProps } from "./component";

export interface SuppliedCertificate {
  /** The certificate chain every host presents (tls.mode `supplied`). */
  certificatePem: pulumi.Input<string>;
  privateKeyPem: pulumi.Input<string>;
}

export interface SecretsArgs {
  /** Plain, not an Input: it decides how many keys there are. */
  spec: PlatformSpec;
  /** The directory's bind password, when the spec has a directory. */
  ldapBindPassword?: pulumi.Input<string>;
  /** Address → password hash of the spec's users, read as a secret; else the spec's own hashes. */
  userPasswordHashes?: pulumi.Input<Record<string, string>>;
  /** With tls.mode `supplied`: the operator's certificate instead of the internal CA. */
  suppliedCertificate?: SuppliedCertificate;
}

function missingHash(address: string): never {
  throw new Error(`no password hash for ${address}: pulumi config set --secret --path 'mailplatform:users[N].passwordHash' "$(doveadm pw -s BLF-CRYPT)"`);
}

/** Internal CA lifetime; host certificates renew a month before they expire (and re-push). */
export const CA_VALIDITY_HOURS = 10 * 365 * 24;
export const HOST_CERT_VALIDITY_HOURS = 825 * 24;
export const HOST_CERT_RENEWAL_HOURS = 30 * 24;

const OUTPUTS = ["values", "dkimPublicKeys", "caCertificatePem"] as const;

export class Secrets extends pulumi.ComponentResource {
  /** Everything the renderers need; secret. */
  declare readonly values: pulumi.Output<PlatformSecrets>;
  /** DKIM public keys per domain and selector, for DNS; not secret. */
  declare readonly dkimPublicKeys: pulumi.Output<DkimPublicKeys>;
  /** The CA clients inside the platform trust; not secret. */
  declare readonly caCertificatePem: pulumi.Output<string>;

  constructor(name: string, args: SecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailplatform:index:Secrets", name, rehydrationProps(opts, OUTPUTS), opts);
    if (opts?.urn) return;
    const spec = args.spec;
    const parent = { parent: this };
    const shape = platformSecrets(spec, {
      password: (id, length) => pulumi.secret(new random.RandomPassword(`${name}-${id}`, { length, special: false }, parent).result),
      ldapBindPassword: () => pulumi.secret(pulumi.output(args.ldapBindPassword ?? "")),
      passwordHash: (user) => pulumi.secret(args.userPasswordHashes
        ? pulumi.output(args.userPasswordHashes).apply((hashes) => hashes[user.address] ?? missingHash(user.address))
        : pulumi.output(user.passwordHash ?? missingHash(user.address))),
      // RSA-2048 and Ed25519 per domain and selector: a new selector is published before it signs.
      dkimKey: (domain, selector, algorithm) => {
        const key = new tls.PrivateKey(`${name}-dkim-${domain}-${selector}-${algorithm}`,
          algorithm === "rsa" ? { algorithm: "RSA", rsaBits: 2048 } : { algorithm: "ED25519" }, parent);
        return { privateKeyPem: key.privateKeyPemPkcs8, publicKeyPem: key.publicKeyPem };
      },
      certificates: (hosts) => args.suppliedCertificate ? this.supplied(hosts, args.suppliedCertificate) : this.internalCa(name, spec, hosts),
    });

    this.caCertificatePem = shape.caCertificatePem;
    this.dkimPublicKeys = pulumi.output(dkimPublicKeys(shape.dkim)) as pulumi.Output<DkimPublicKeys>;
    this.values = pulumi.secret(pulumi.output(shape)) as pulumi.Output<PlatformSecrets>;
    this.registerOutputs(outputsOf(this, OUTPUTS));
  }

  /** An internal CA signing one certificate per host, for the names the host answers to. */
  private internalCa(name: string, spec: PlatformSpec, hostList: Host[]) {
    const parent = { parent: this };
    const ecdsa: tls.PrivateKeyArgs = { algorithm: "ECDSA", ecdsaCurve: "P256" };
    const caKey = new tls.PrivateKey(`${name}-ca-key`, ecdsa, parent);
    const caPrivateKeyPem = pulumi.secret(caKey.privateKeyPem);
    const ca = new tls.SelfSignedCert(`${name}-ca`, {
      privateKeyPem: caPrivateKeyPem,
      isCaCertificate: true,
      subject: { commonName: `${spec.platformDomain} internal CA` },
      allowedUses: ["cert_signing", "crl_signing"],
      validityPeriodHours: CA_VALIDITY_HOURS,
    }, parent);
    const hosts = Object.fromEntries(hostList.map((host) => {
      const key = new tls.PrivateKey(`${name}-${host.name}-key`, ecdsa, parent);
      const privateKeyPem = pulumi.secret(key.privateKeyPem);
      const csr = new tls.CertRequest(`${name}-${host.name}-csr`, {
        privateKeyPem,
        subject: { commonName: host.fqdn },
        dnsNames: certificateNames(spec, host),
        ipAddresses: [host.address],
      }, parent);
      const cert = new tls.LocallySignedCert(`${name}-${host.name}-cert`, {
        certRequestPem: csr.certRequestPem,
        caCertPem: ca.certPem,
        caPrivateKeyPem,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
        validityPeriodHours: HOST_CERT_VALIDITY_HOURS,
        earlyRenewalHours: HOST_CERT_RENEWAL_HOURS,
      }, parent);
      return [host.name, { certificatePem: cert.certPem, privateKeyPem }];
    }));
    return { ca: ca.certPem, hosts };
  }

  /** The operator's certificate on every host; its chain is what clients inside verify against. */
  private supplied(hostList: Host[], cert: SuppliedCertificate) {
    const hosts = Object.fromEntries(hostList.map((h) => [h.name, { certificatePem: cert.certificatePem, privateKeyPem: pulumi.secret(cert.privateKeyPem) }]));
    return { ca: pulumi.output(cert.certificatePem), hosts };
  }
}
