// The lab's own inputs, derived from the stack's spec without special-casing any renderer: the
// hosts' resolvers forward to the lab DNS, every user gets a generated password (the stack file
// holds only hashes), and a test user with a tiny quota joins. Secrets are generated once and kept
// in .lab/secrets.json (0600), so `up` twice renders the very same files.
import * as fs from "fs";
import { allHosts, generateLocalSecrets, loadStackSpec, PlatformSecrets, PlatformSpec, randomSecret } from "@mailplatform/core";
import { LAB_DIR, REPO, SECRETS_FILE } from "./paths";
import { OUTSIDE } from "./plan";
import { must } from "./system";

export interface LabUser {
  address: string;
  password: string;
  /** {BLF-CRYPT} hash of the password, as the stack file would hold it. */
  passwordHash: string;
  quotaBytes?: number;
}

export interface LabSecrets {
  stack: string;
  users: LabUser[];
  platform: PlatformSecrets;
}

/** The lab's extra user: a mailbox that is over quota after one ordinary message. */
export const QUOTA_TEST_LOCAL_PART = "quota-test";
export const QUOTA_TEST_BYTES = 64 * 1024;

function hashPassword(password: string): string {
  return must(["doveadm", "pw", "-s", "BLF-CRYPT", "-p", password]).trim();
}

/**
 * The stack's validated spec with the lab's changes. They are the lab's own values (its DNS
 * server's address, users of validated addresses with hashes from doveadm), so the stack file is
 * read and validated once.
 */
function labSpecFrom(stackSpec: PlatformSpec, users: LabUser[]): PlatformSpec {
  return {
    ...stackSpec,
    dns: { ...stackSpec.dns, forwarders: [OUTSIDE.dns] },
    users: users.map((u) => ({ address: u.address, passwordHash: u.passwordHash, quotaBytes: u.quotaBytes })),
  };
}

function readSecrets(): LabSecrets | undefined {
  return fs.existsSync(SECRETS_FILE) ? (JSON.parse(fs.readFileSync(SECRETS_FILE, "utf8")) as LabSecrets) : undefined;
}

/** Do saved secrets still fit the stack: every user, every domain's DKIM selectors, every host? */
function covers(saved: LabSecrets, spec: PlatformSpec): boolean {
  const users = new Set(saved.users.map((u) => u.address));
  const keys = saved.platform.dkim;
  return (
    spec.users.every((u) => users.has(u.address)) &&
    spec.domains.every((d) => spec.dkimSelectors.every((s) => keys[d.name]?.[s.name])) &&
    allHosts(spec).every((h) => saved.platform.hostCertificates[h.name])
  );
}

/** The lab's spec and secrets for a stack: the saved ones while they still fit its config. */
export function labSpecAndSecrets(stack: string): { spec: PlatformSpec; secrets: LabSecrets } {
  const stackSpec = loadStackSpec(REPO, stack);
  const saved = readSecrets();
  if (saved?.stack === stack && covers(saved, stackSpec)) return { spec: labSpecFrom(stackSpec, saved.users), secrets: saved };

  const wanted = [
    ...stackSpec.users.map((u) => ({ address: u.address, quotaBytes: u.quotaBytes })),
    { address: `${QUOTA_TEST_LOCAL_PART}@${stackSpec.domains[0].name}`, quotaBytes: QUOTA_TEST_BYTES },
  ];
  const users = wanted.map((u) => {
    const password = randomSecret(12);
    return { ...u, password, passwordHash: hashPassword(password) };
  });
  const spec = labSpecFrom(stackSpec, users);
  const secrets: LabSecrets = { stack, users, platform: generateLocalSecrets(spec) };
  fs.mkdirSync(LAB_DIR, { recursive: true });
  fs.writeFileSync(SECRETS_FILE, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
  return { spec, secrets };
}
