// Secrets for running without a cloud (the lab, the tests): random passwords, DKIM keys from Node's
// crypto, and a throw-away CA with host certificates from the openssl CLI. The Pulumi layer makes
// the same shapes in-stack instead.
import { execFileSync } from "child_process";
import { generateKeyPairSync, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Certificate, DkimKeys, PlatformSecrets } from "../secrets";
import { PlatformSpec } from "../spec/types";
import { WEBMAIL_RELAY_USER } from "../spec/validate";
import { allHosts } from "../topology";
import { certificateNames } from "../shared/tls";

export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString("base64url");
}

export function generateDkimKeys(): DkimKeys {
  const publicKeyEncoding = { type: "spki", format: "pem" } as const;
  const privateKeyEncoding = { type: "pkcs8", format: "pem" } as const;
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding, privateKeyEncoding });
  const ed25519 = generateKeyPairSync("ed25519", { publicKeyEncoding, privateKeyEncoding });
  return {
    rsa: { privateKeyPem: rsa.privateKey, publicKeyPem: rsa.publicKey },
    ed25519: { privateKeyPem: ed25519.privateKey, publicKeyPem: ed25519.publicKey },
  };
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA and one certificate per host, made with openssl in a temporary directory. */
export function generateCertificates(spec: PlatformSpec): { ca: string; hosts: Record<string, Certificate> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mailplatform-ca-"));
  try {
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "825",
      "-subj", `/CN=${spec.platformDomain} internal CA`, "-keyout", "ca.key", "-out", "ca.crt"], dir);
    const hosts: Record<string, Certificate> = {};
    for (const host of allHosts(spec)) {
      const san = [...certificateNames(spec, host).map((n) => `DNS:${n}`), `IP:${host.address}`].join(",");
      fs.writeFileSync(path.join(dir, "ext.cnf"),
        `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n`);
      openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-subj", `/CN=${host.fqdn}`, "-keyout", "host.key", "-out", "host.csr"], dir);
      openssl(["x509", "-req", "-in", "host.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "825", "-extfile", "ext.cnf", "-out", "host.crt"], dir);
      hosts[host.name] = {
        certificatePem: fs.readFileSync(path.join(dir, "host.crt"), "utf8"),
        privateKeyPem: fs.readFileSync(path.join(dir, "host.key"), "utf8"),
      };
    }
    return { ca: fs.readFileSync(path.join(dir, "ca.crt"), "utf8"), hosts };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function generateLocalSecrets(spec: PlatformSpec): PlatformSecrets {
  const certs = generateCertificates(spec);
  const dkim: PlatformSecrets["dkim"] = {};
  for (const d of spec.domains) {
    dkim[d.name] = Object.fromEntries(spec.dkimSelectors.map((s) => [s.name, generateDkimKeys()]));
  }
  return {
    replicationPassword: randomSecret(),
    srsSecret: randomSecret(),
    rspamdControllerPassword: randomSecret(),
    roundcubeDesKey: randomSecret(18), // 24 characters in base64url
    relayPasswords: Object.fromEntries([WEBMAIL_RELAY_USER, ...spec.relayClients.map((c) => c.name)].map((n) => [n, randomSecret()])),
    ldapBindPassword: spec.directory ? randomSecret() : undefined,
    dkim,
    caCertificatePem: certs.ca,
    hostCertificates: certs.hosts,
  };
}
