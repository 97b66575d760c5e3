// Secrets and keys are inputs to the renderers, never made by them: the Pulumi layer generates them
// in-stack, the lab and the tests generate their own (secrets/local.ts), the offline render masks them.

export interface KeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

export interface DkimKeys {
  rsa: KeyPair;
  ed25519: KeyPair;
}

export interface Certificate {
  certificatePem: string;
  privateKeyPem: string;
}

export interface PlatformSecrets {
  /** doveadm password of the replicating maildrop pair. */
  replicationPassword: string;
  /** PostSRSd secret, shared by every smtp-in so any of them can reverse another's rewrite. */
  srsSecret: string;
  /** Password of Rspamd's controller (web UI, learning). */
  rspamdControllerPassword: string;
  /** Roundcube's des_key (24 characters). */
  roundcubeDesKey: string;
  /** Plain passwords of the relay SASL users, including the webmail's own; smtp-out stores only hashes. */
  relayPasswords: Record<string, string>;
  /** Bind password of the LDAP directory, when one is configured. */
  ldapBindPassword?: string;
  /** DKIM keys per hosted domain and selector name. */
  dkim: Record<string, Record<string, DkimKeys>>;
  /** CA that signs the hosts' certificates (internal-ca) or the supplied chain. */
  caCertificatePem: string;
  /** Certificate per host name. */
  hostCertificates: Record<string, Certificate>;
}

/** The marker that replaces every secret in the offline render. */
export const SECRET_MARKER = "<secret: generated in-stack>";
