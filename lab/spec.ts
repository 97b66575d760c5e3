// The lab's own inputs, derived from the stack's spec without special-casing any renderer: the
// hosts' resolvers forward to the lab DNS, every user gets a generated password (the stack file
// holds at most hashes, and in a real stack only encrypted ones, which only the Pulumi CLI can
// read), and a test user with a tiny quota joins. Secrets are generated once and kept
// in .lab/secrets.json (0600), so `up` twice renders the very same files; they serve the directory
// variant too (lab/directory.ts), so switching variants keeps every password and the CA.
import * as fs from "fs";
import * as path from "path";
import {
  allHosts, Certificate, generateCertificates, generateDkimKeys, generateLocalSecrets, parseSpec, PlatformSecrets, PlatformSpec, randomSecret, readStackConfig,
} from "@mailplatform/core";
import { DIRECTORY_FQDN, directoryContent, DirectoryContent, directorySpec, DISABLED_TEST_LOCAL_PART } from "./directory";
import { LAB_DIR, REPO, SECRETS_FILE } from "./paths";
import { OUTSIDE } from "./plan";
import { must } from "./system";

export interface LabUser {
  address: string;
  password: string;
  /** {BLF-CRYPT} hash of the password, as the stack file would hold it. */
  passwordHash: string;
  quotaBytes?: number;
  /**
   * The hash the stack file held when the lab made this password (null: none it could read, absent
   * or encrypted). While the stack still holds it, the lab's password replaces it; once the stack
   * has another (set through the portal), the stack's hash is the user's, as on a VM.
   */
  stackHash?: string | null;
  /** The lab's own user (the quota test), not in the stack. */
  labOnly?: true;
}

export interface LabSecrets {
  stack: string;
  users: LabUser[];
  platform: PlatformSecrets;
  /** The portal's certificate, from the lab's CA (portal.<platformDomain>, localhost, 127.0.0.1). */
  portal: Certificate;
  /**
   * The directory variant's: the directory's certificate (from the lab's CA), the platform's bind
   * password (also platform.ldapBindPassword) and its hash, and the directory's own users.
   */
  directory: { certificate: Certificate; bindPassword: string; bindPasswordHash: string; users: LabUser[] };
}

/** The lab's extra user: a mailbox that is over quota after one ordinary message. */
export const QUOTA_TEST_LOCAL_PART = "quota-test";
export const QUOTA_TEST_BYTES = 64 * 1024;

function hashPassword(password: string): string {
  return must(["doveadm", "pw", "-s", "BLF-CRYPT", "-p", password]).trim();
}

/** The stack config file the lab runs a stack from, unless told another (the portal's copy). */
export const stackConfigFile = (stack: string) => path.join(REPO, `Pulumi.${stack}.yaml`);

/** The lab's users still standing in for the stack's: their stack hash unchanged (and the lab's own). */
function labUsersInForce(stackSpec: PlatformSpec, users: LabUser[]): LabUser[] {
  const hashes = new Map(stackSpec.users.map((u) => [u.address, u.passwordHash ?? null]));
  return users.filter((u) => u.labOnly || hashes.get(u.address) === u.stackHash);
}

/** A generated password and its hash for a user. */
function labUser<T extends Omit<LabUser, "password" | "passwordHash">>(u: T): T & { password: string; passwordHash: string } {
  const password = randomSecret(12);
  return { ...u, password, passwordHash: hashPassword(password) };
}

/**
 * The stack's validated spec with the lab's changes. They are the lab's own values (its DNS
 * server's address, hashes of the lab's passwords from doveadm), so the stack file is read and
 * validated once. Quotas and states are the stack's.
 */
function labSpecFrom(stackSpec: PlatformSpec, users: LabUser[]): PlatformSpec {
  const lab = new Map(labUsersInForce(stackSpec, users).map((u) => [u.address, u]));
  const labOnly = users.filter((u) => u.labOnly).map((u) => ({ address: u.address, passwordHash: u.passwordHash, quotaBytes: u.quotaBytes }));
  return {
    ...stackSpec,
    dns: { ...stackSpec.dns, forwarders: [OUTSIDE.dns] },
    users: [...stackSpec.users.map((u) => ({ ...u, passwordHash: lab.get(u.address)?.passwordHash ?? u.passwordHash })), ...labOnly],
  };
}

function readSecrets(): LabSecrets | undefined {
  return fs.existsSync(SECRETS_FILE) ? (JSON.parse(fs.readFileSync(SECRETS_FILE, "utf8")) as LabSecrets) : undefined;
}

/** Do saved secrets still fit the stack's hosts (a new host needs a certificate from a new CA)? */
function covers(saved: LabSecrets, spec: PlatformSpec): boolean {
  return !!saved.portal && !!saved.directory && allHosts(spec).every((h) => saved.platform.hostCertificates[h.name]) && saved.users.every((u) => u.labOnly || u.stackHash !== undefined);
}

/** Passwords for stack users the saved secrets do not have and whose hash the lab cannot read (added since). */
function withUsers(saved: LabSecrets, spec: PlatformSpec): LabSecrets {
  const known = new Set(saved.users.map((u) => u.address));
  const added = spec.users.filter((u) => !known.has(u.address) && !u.passwordHash).map((u) => labUser({ address: u.address, quotaBytes: u.quotaBytes, stackHash: null }));
  return added.length > 0 ? save({ ...saved, users: [...saved.users, ...added] }) : saved;
}

/** DKIM keys for a domain or selector the saved secrets do not have yet (added through the portal); the rest is kept. */
function withDkimKeys(saved: LabSecrets, spec: PlatformSpec): LabSecrets {
  const dkim = { ...saved.platform.dkim };
  let added = false;
  for (const d of spec.domains) {
    for (const s of d.dkimSelectors) {
      if (dkim[d.name]?.[s.name]) continue;
      dkim[d.name] = { ...dkim[d.name], [s.name]: generateDkimKeys() };
      added = true;
    }
  }
  return added ? save({ ...saved, platform: { ...saved.platform, dkim } }) : saved;
}

function save(secrets: LabSecrets): LabSecrets {
  fs.mkdirSync(LAB_DIR, { recursive: true });
  fs.writeFileSync(SECRETS_FILE, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
  return secrets;
}

/**
 * The users' hashes as the renderers take them (PlatformSecrets.userPasswordHashes): the lab spec's,
 * which has one for every user, whatever users the saved secrets were made for (the portal adds some).
 */
function withSpecHashes(secrets: LabSecrets, spec: PlatformSpec): LabSecrets {
  return { ...secrets, platform: { ...secrets.platform, userPasswordHashes: Object.fromEntries(spec.users.map((u) => [u.address, u.passwordHash!])) } };
}

/** The lab's variants of a stack: as its config says, or with its users in an LDAP directory. */
export interface LabVariant {
  directory?: boolean;
}

export interface LabSpec {
  spec: PlatformSpec;
  secrets: LabSecrets;
  /** The directory variant's directory content. */
  directory?: DirectoryContent;
}

/** The lab's spec and secrets for a stack's raw config (its file's, unless given): the saved secrets while they still fit. */
export function labSpecAndSecrets(stack: string, raw = readStackConfig(stackConfigFile(stack)), variant: LabVariant = {}): LabSpec {
  const stackSpec = parseSpec(raw, stack);
  const saved = readSecrets();
  const kept = saved?.stack === stack && covers(saved, stackSpec) ? withUsers(withDkimKeys(saved, stackSpec), stackSpec) : generate(stack, stackSpec);
  const spec = labSpecFrom(stackSpec, kept.users);
  const secrets = withSpecHashes(kept, spec);
  if (!variant.directory) return { spec, secrets };
  return { spec: labSpecFrom(directorySpec(raw, stack, secrets), []), secrets, directory: directoryContent(spec, secrets) };
}

function generate(stack: string, stackSpec: PlatformSpec): LabSecrets {
  const users = [
    ...stackSpec.users.map((u) => ({ address: u.address, quotaBytes: u.quotaBytes, stackHash: u.passwordHash ?? null })),
    { address: `${QUOTA_TEST_LOCAL_PART}@${stackSpec.domains[0].name}`, quotaBytes: QUOTA_TEST_BYTES, labOnly: true as const },
  ].map(labUser);
  const spec = labSpecFrom(stackSpec, users);
  const certificates = generateCertificates(spec, allHosts(spec), [
    { name: "portal", dnsNames: [`portal.${spec.platformDomain}`, "localhost"], ips: ["127.0.0.1"] },
    { name: "directory", dnsNames: [DIRECTORY_FQDN], ips: [OUTSIDE.directory] },
  ]);
  const bind = labUser({ address: "mailplatform" });
  const directory = {
    certificate: certificates.extra.directory,
    bindPassword: bind.password,
    bindPasswordHash: bind.passwordHash,
    users: [labUser({ address: `${DISABLED_TEST_LOCAL_PART}@${stackSpec.domains[0].name}` })],
  };
  // The bind password is configured, not generated, in-stack: here the lab configures its own.
  const platform = { ...generateLocalSecrets(spec, certificates), ldapBindPassword: directory.bindPassword };
  return save({ stack, users, platform, portal: certificates.extra.portal, directory });
}
