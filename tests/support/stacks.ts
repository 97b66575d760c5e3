// The stacks' rendered bundles, made once per test run: loading a spec and generating its secrets
// (a CA, host certificates, DKIM keys) takes seconds, and many tests read the same hosts.
import * as path from "path";
import { HostBundle, loadStackSpec, PlatformSecrets, PlatformSpec, renderPlatform } from "../../components/core/src";
import { generateLocalSecrets } from "../../components/core/src/secrets/local";
import { machinePasswordHash } from "../../components/core/src/shared/passwords";

export const REPO = path.resolve(__dirname, "../..");
export const STACKS = ["prod", "staging"] as const;

export interface RenderedStack {
  spec: PlatformSpec;
  secrets: PlatformSecrets;
  bundles: HostBundle[];
}

const cache = new Map<string, RenderedStack>();

/**
 * The stack's spec from Pulumi.<name>.yaml, every user with a known password (the file holds no
 * hashes: they are Pulumi secrets), fresh local secrets, and every host's bundle.
 */
export function renderStack(name: string): RenderedStack {
  let stack = cache.get(name);
  if (!stack) {
    const spec = withKnownPasswords(loadStackSpec(REPO, name));
    const secrets = generateLocalSecrets(spec);
    stack = { spec, secrets, bundles: renderPlatform(spec, secrets) };
    cache.set(name, stack);
  }
  return stack;
}

/** Known passwords for tests that log in: pw-<local part>. */
export const passwordOf = (address: string) => `pw-${address.split("@")[0]}`;

/** The spec with every user's hash made from passwordOf. */
export function withKnownPasswords(spec: PlatformSpec): PlatformSpec {
  return { ...spec, users: spec.users.map((u) => ({ ...u, passwordHash: machinePasswordHash(u.address, passwordOf(u.address)) })) };
}
