// Secrets and keys are inputs to the renderers, never made by them: the Pulumi layer generates them
// in-stack, the lab and the tests generate their own (secrets/local.ts), the offline render masks
// them (secrets/masked.ts). All three build the one shape below with platformSecrets(), each with
// its own way of making a value.
import { HostFile } from "./files";
import { DKIM_ALGORITHMS, DkimAlgorithm, PerAlgorithm, PerDomainSelector } from "./dkim";
import { relayUserNames } from "./relay-users";
import { PlatformSpec, User } from "./spec/types";
import { allHosts, Host } from "./topology";

export interface KeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

export interface Certificate {
  certificatePem: string;
  privateKeyPem: string;
}

/** The secrets' shape, over the kinds of value a maker holds (text here, Pulumi outputs in-stack). */
export interface SecretsShape<Secret, Pair, Cert, CaCert> {
  /** doveadm password of the replicating maildrop pair. */
  replicationPassword: Secret;
  /** PostSRSd secret, shared by every smtp-in so any of them can reverse another's rewrite. */
  srsSecret: Secret;
  /** Password of Rspamd's controller for reading (web UI, statistics). */
  rspamdControllerPassword: Secret;
  /** Rspamd controller's enable_password (learning): the maildrops hold it, not the read password. */
  rspamdEnablePassword: Secret;
  /** Roundcube's des_key (24 characters). */
  roundcubeDesKey: Secret;
  /** Plain passwords of the relay SASL users, including the webmail's own; smtp-out stores only hashes. */
  relayPasswords: Record<string, Secret>;
  /** Bind password of the LDAP directory, when one is configured. */
  ldapBindPassword?: Secret;
  /** Each mailbox user's password hash ({SCHEME}hash), by address. */
  userPasswordHashes: Record<string, Secret>;
  /** DKIM keys per hosted domain and selector name. */
  dkim: PerDomainSelector<PerAlgorithm<Pair>>;
  /** CA that signs the hosts' certificates (internal-ca) or the supplied chain. */
  caCertificatePem: CaCert;
  /** Certificate per host name. */
  hostCertificates: Record<string, Cert>;
}

export type PlatformSecrets = SecretsShape<string, KeyPair, Certificate, string>;
export type DkimKeys = PerAlgorithm<KeyPair>;

/** How one kind of secrets makes each value. */
export interface SecretMaker<Secret, Pair, Cert, CaCert> {
  /** A random password of `length` characters; `id` names it (the in-stack resource's name). */
  password(id: string, length: number): Secret;
  /** The directory's bind password (configured, not generated, in-stack). */
  ldapBindPassword(): Secret;
  /** A user's password hash (configured as a secret in-stack, made by the lab). */
  passwordHash(user: User): Secret;
  dkimKey(domain: string, selector: string, algorithm: DkimAlgorithm): Pair;
  /** The CA and one certificate per host, for the names each host answers to. */
  certificates(hosts: Host[]): { ca: CaCert; hosts: Record<string, Cert> };
}

/** Every secret the spec needs, made by `make`. */
export function platformSecrets<S, P, C, A>(spec: PlatformSpec, make: SecretMaker<S, P, C, A>): SecretsShape<S, P, C, A> {
  // The order values are made in is the order in-stack resources register: keep it stable.
  const relayPasswords = Object.fromEntries(relayUserNames(spec).map((user) => [user, make.password(`relay-${user}`, 32)]));
  const dkim = Object.fromEntries(spec.domains.map((d) => [d.name, Object.fromEntries(d.dkimSelectors.map((s) =>
    [s.name, Object.fromEntries(DKIM_ALGORITHMS.map((a) => [a, make.dkimKey(d.name, s.name, a)])) as PerAlgorithm<P>]))]));
  const certs = make.certificates(allHosts(spec));
  return {
    replicationPassword: make.password("replication", 32),
    // One SRS secret for the whole smtp-in cluster: any of them must reverse another's rewrite.
    srsSecret: make.password("srs", 32),
    rspamdControllerPassword: make.password("rspamd-controller", 32),
    rspamdEnablePassword: make.password("rspamd-enable", 32),
    roundcubeDesKey: make.password("roundcube-des-key", 24),
    relayPasswords,
    ldapBindPassword: spec.directory ? make.ldapBindPassword() : undefined,
    userPasswordHashes: Object.fromEntries(spec.users.map((u) => [u.address, make.passwordHash(u)])),
    dkim,
    caCertificatePem: certs.ca,
    hostCertificates: certs.hosts,
  };
}

/** The marker that replaces every secret in the offline render. */
export const SECRET_MARKER = "<secret: generated in-stack>";

/**
 * The secret values (each line of a multi-line one, PEM armour aside) that the bundle's secret
 * files hold verbatim, for provision.sh's log redaction. Values derived from a secret (the hashes
 * of passwd-files and Rspamd's controller) are long, and its word rule withholds them.
 */
export function secretValuesIn(files: HostFile[], secrets: PlatformSecrets): string[] {
  const leaves = (v: unknown): string[] =>
    typeof v === "string" ? [v] : v !== null && typeof v === "object" ? Object.values(v).flatMap(leaves) : [];
  const held = files.filter((f) => f.secret).map((f) => f.content);
  const values = new Set(leaves(secrets).flatMap((s) => s.split("\n")).map((l) => l.trim()).filter((l) => l !== "" && !/^-----(BEGIN|END) /.test(l)));
  return [...values].filter((v) => held.some((c) => c.includes(v))).sort();
}
