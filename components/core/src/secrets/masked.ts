// Secrets for the offline render: every value is the marker, so rendered files show where a
// secret goes without holding one. Key shapes match real secrets so every renderer runs.
import { PlatformSecrets, SECRET_MARKER } from "../secrets";
import { PlatformSpec } from "../spec/types";
import { WEBMAIL_RELAY_USER } from "../spec/validate";
import { allHosts } from "../topology";

export function maskedSecrets(spec: PlatformSpec): PlatformSecrets {
  const pair = { privateKeyPem: SECRET_MARKER, publicKeyPem: SECRET_MARKER };
  return {
    replicationPassword: SECRET_MARKER,
    srsSecret: SECRET_MARKER,
    rspamdControllerPassword: SECRET_MARKER,
    roundcubeDesKey: SECRET_MARKER,
    relayPasswords: Object.fromEntries([WEBMAIL_RELAY_USER, ...spec.relayClients.map((c) => c.name)].map((n) => [n, SECRET_MARKER])),
    ldapBindPassword: spec.directory ? SECRET_MARKER : undefined,
    dkim: Object.fromEntries(spec.domains.map((d) => [d.name, Object.fromEntries(spec.dkimSelectors.map((s) => [s.name, { rsa: pair, ed25519: pair }]))])),
    caCertificatePem: "<certificate: generated in-stack>",
    hostCertificates: Object.fromEntries(allHosts(spec).map((h) => [h.name, { certificatePem: "<certificate: generated in-stack>", privateKeyPem: SECRET_MARKER }])),
  };
}
