// Secrets for running without a cloud (the lab, the tests): random passwords, DKIM keys from Node's
// crypto, and a throw-away CA with host certificates from the openssl CLI. The Pulumi layer makes
// the same shapes in-stack instead.
import { execFileSync } from "child_process";
import { generateKeyPairSync, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DkimAlgorithm } from "../dkim";
import { Certificate, DkimKeys, KeyPair, platformSecrets, PlatformSecrets } from "../secrets";
import { PlatformSpec } from "../spec/types";
import { Host } from "../topology";
import { machinePasswordHash } from "../shared/passwords";
import { certificateNames } from "../shared/tls";

export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString("base64url");
}

/** A password of exactly `length` characters (base64url: 6 bits each). */
const randomPassword = (length: number) => randomSecret(Math.ceil((length * 3) / 4)).slice(0, length);

function generateKeyPair(algorithm: DkimAlgorithm): KeyPair {
  const encoding = { publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } } as const;
  const { privateKey, publicKey } = algorithm === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: 2048, ...encoding })
    : generateKeyPairSync("ed25519", encoding);
  // PEM encodings make strings; @types/node picks the KeyObject overload for the union.
  return { privateKeyPem: privateKey as unknown as string, publicKeyPem: publicKey as unknown as string };
}

/** RSA-2048 and Ed25519, as one DKIM selector has them. */
export function generateDkimKeys(): DkimKeys {
  return { rsa: generateKeyPair("rsa"), ed25519: generateKeyPair("ed25519") };
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A certificate besides the hosts' from the same CA (the lab's portal): its names and addresses. */
export interface ExtraCertificate {
  name: string;
  dnsNames: string[];
  ips: string[];
}

export interface LocalCertificates {
  ca: string;
  hosts: Record<string, Certificate>;
  extra: Record<string, Certificate>;
}

/** A CA and one certificate per host (and per extra), made with openssl in a temporary directory; the CA's key is not kept. */
export function generateCertificates(spec: PlatformSpec, hostList: Host[], extras: ExtraCertificate[] = []): LocalCertificates {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mailplatform-ca-"));
  try {
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "825",
      "-subj", `/CN=${spec.platformDomain} internal CA`, "-keyout", "ca.key", "-out", "ca.crt"], dir);
    const issue = (subject: string, dnsNames: string[], ips: string[]): Certificate => {
      const san = [...dnsNames.map((n) => `DNS:${n}`), ...ips.map((ip) => `IP:${ip}`)].join(",");
      fs.writeFileSync(path.join(dir, "ext.cnf"),
        `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n`);
      openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-subj", `/CN=${subject}`, "-keyout", "host.key", "-out", "host.csr"], dir);
      openssl(["x509", "-req", "-in", "host.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "825", "-extfile", "ext.cnf", "-out", "host.crt"], dir);
      return {
        certificatePem: fs.readFileSync(path.join(dir, "host.crt"), "utf8"),
        privateKeyPem: fs.readFileSync(path.join(dir, "host.key"), "utf8"),
      };
    };
    const hosts = Object.fromEntries(hostList.map((h) => [h.name, issue(h.fqdn, certificateNames(spec, h), [h.address])]));
    const extra = Object.fromEntries(extras.map((e) => [e.name, issue(e.dnsNames[0], e.dnsNames, e.ips)]));
    return { ca: fs.readFileSync(path.join(dir, "ca.crt"), "utf8"), hosts, extra };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Local secrets; `certificates` when the caller made them (with extras) already. */
export function generateLocalSecrets(spec: PlatformSpec, certificates?: LocalCertificates): PlatformSecrets {
  return platformSecrets(spec, {
    password: (_id, length) => randomPassword(length),
    ldapBindPassword: () => randomPassword(32),
    // The spec's hash (the lab puts the hashes of its own passwords there); else that of a random
    // password nobody knows, as a stack file without hashes gives (they are Pulumi secrets).
    passwordHash: (u) => u.passwordHash ?? machinePasswordHash(u.address, randomPassword(32)),
    dkimKey: (_domain, _selector, algorithm) => generateKeyPair(algorithm),
    certificates: (hosts) => certificates ?? generateCertificates(spec, hosts),
  });
}
