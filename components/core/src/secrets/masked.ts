// Secrets for the offline render: every value is the marker, so rendered files show where a
// secret goes without holding one. Key shapes match real secrets so every renderer runs.
import { platformSecrets, PlatformSecrets, SECRET_MARKER } from "../secrets";
import { PlatformSpec } from "../spec/types";

const CERTIFICATE_MARKER = "<certificate: generated in-stack>";
/** Where a user's password hash goes: a Pulumi secret of the stack config. */
export const PASSWORD_HASH_MARKER = "<secret: password hash from the stack config>";

export function maskedSecrets(spec: PlatformSpec): PlatformSecrets {
  return platformSecrets(spec, {
    password: () => SECRET_MARKER,
    ldapBindPassword: () => SECRET_MARKER,
    passwordHash: () => PASSWORD_HASH_MARKER,
    dkimKey: () => ({ privateKeyPem: SECRET_MARKER, publicKeyPem: SECRET_MARKER }),
    certificates: (hosts) => ({
      ca: CERTIFICATE_MARKER,
      hosts: Object.fromEntries(hosts.map((h) => [h.name, { certificatePem: CERTIFICATE_MARKER, privateKeyPem: SECRET_MARKER }])),
    }),
  });
}
