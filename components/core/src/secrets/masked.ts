// Secrets for the offline render: every value is the marker, so rendered files show where a
// secret goes without holding one. Key shapes match real secrets so every renderer runs.
import { platformSecrets, PlatformSecrets, SECRET_MARKER } from "../secrets";
import { PlatformSpec } from "../spec/types";

const CERTIFICATE_MARKER = "<certificate: generated in-stack>";

export function maskedSecrets(spec: PlatformSpec): PlatformSecrets {
  return platformSecrets(spec, {
    password: () => SECRET_MARKER,
    ldapBindPassword: () => SECRET_MARKER,
    passwordHash: () => SECRET_MARKER,
    dkimKey: () => ({ privateKeyPem: SECRET_MARKER, publicKeyPem: SECRET_MARKER }),
    certificates: (hosts) => ({
      ca: CERTIFICATE_MARKER,
      hosts: Object.fromEntries(hosts.map((h) => [h.name, { certificatePem: CERTIFICATE_MARKER, privateKeyPem: SECRET_MARKER }])),
    }),
  });
}
