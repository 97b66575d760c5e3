// The stack program as a function: typed inputs in, typed outputs out, no prompts and no process
// exit, so a portal can run it as an Automation API inline program. index.ts at the repository root
// is this function fed from the stack config.
import { DnsRecord, NAMESPACE, parseSpec, PlatformSpec, SpecError, TOP_LEVEL_KEYS } from "@mailplatform/core";
import * as pulumi from "@pulumi/pulumi";
import { Endpoints, InventoryEntry, MailPlatform } from "./mail-platform";
import { credentialsFromConfig, OpenStackCredentials, regionalProviders } from "./providers";
import { SuppliedCertificate } from "./secrets";
import { OpenStackSettings, readSettings } from "./settings";

export interface ProgramInputs {
  spec: PlatformSpec;
  settings: OpenStackSettings;
  /** Shared by every region's provider. */
  credentials: OpenStackCredentials;
  ldapBindPassword?: pulumi.Input<string>;
  /** Address → password hash of the spec's users (secret); without it, the spec's own hashes. */
  userPasswordHashes?: pulumi.Input<Record<string, string>>;
  suppliedCertificate?: SuppliedCertificate;
  /** Text of the provisioning script; defaults to the repository's files/provision.sh. */
  provisionScript?: pulumi.Input<string>;
}

/** The stack outputs; none of them is secret. */
export interface ProgramOutputs {
  endpoints: pulumi.Output<Endpoints>;
  inventory: pulumi.Output<InventoryEntry[]>;
  dnsRecords: pulumi.Output<DnsRecord[]>;
  /** Zone → BIND text of its public records. */
  zoneFiles: pulumi.Output<Record<string, string>>;
}

/** Builds the platform; call it inside a Pulumi program (stack or Automation API inline). */
export function mailPlatformProgram(inputs: ProgramInputs): ProgramOutputs {
  const providers = regionalProviders("mailplatform", inputs.spec.sites.map((s) => s.region), inputs.credentials);
  const platform = new MailPlatform("mailplatform", {
    spec: inputs.spec,
    providers,
    settings: inputs.settings,
    ldapBindPassword: inputs.ldapBindPassword,
    userPasswordHashes: inputs.userPasswordHashes,
    suppliedCertificate: inputs.suppliedCertificate,
    provisionScript: inputs.provisionScript,
  });
  return { endpoints: platform.endpoints, inventory: platform.inventory, dnsRecords: platform.dnsRecords, zoneFiles: platform.zoneFiles };
}

/** A config value as Pulumi stores it: objects, lists and numbers as JSON, strings as they are. */
function configValue(text: string): unknown {
  if (!/^\s*[[{]|^-?[0-9.]+$|^(true|false|null)$/.test(text)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The `mailplatform:*` keys of the running stack, namespace stripped (what parseSpec reads). */
export function readRawConfig(): Record<string, unknown> {
  const config = new pulumi.Config(NAMESPACE);
  const raw: Record<string, unknown> = {};
  for (const key of TOP_LEVEL_KEYS) {
    const text = config.get(key);
    if (text !== undefined) raw[key] = configValue(text);
  }
  return raw;
}

/** A secret field of a `mailplatform:*` object key, read as a secret so it stays one in state. */
function secretField(key: string, field: string): pulumi.Output<string> {
  return new pulumi.Config(NAMESPACE).requireSecretObject<Record<string, unknown>>(key).apply((o) => String(o[field]));
}

/**
 * The users' password hashes, read as a secret (`secure:` values in the stack file: `pulumi config set
 * --secret --path 'mailplatform:users[0].passwordHash' …`), and the spec without them, so no hash
 * travels outside a secret. Every user without a hash is refused, all at once.
 */
function userPasswordHashes(spec: PlatformSpec): { spec: PlatformSpec; hashes?: pulumi.Output<Record<string, string>> } {
  const missing = spec.users.flatMap((u, i) => (u.passwordHash ? [] : [
    `${NAMESPACE}:users[${i}].passwordHash: ${u.address} has none; set it as a secret: pulumi config set --secret --path '${NAMESPACE}:users[${i}].passwordHash' "$(doveadm pw -s BLF-CRYPT)"`,
  ]));
  if (missing.length > 0) throw new SpecError(missing);
  if (spec.users.length === 0) return { spec };
  const hashes = new pulumi.Config(NAMESPACE).requireSecretObject<{ address: string; passwordHash: string }[]>("users")
    .apply((users) => Object.fromEntries(users.map((u) => [u.address, u.passwordHash])));
  return { spec: { ...spec, users: spec.users.map(({ passwordHash: _hash, ...u }) => u) }, hashes };
}

/**
 * The program's inputs from the running stack's config: the spec from `mailplatform:*`, the
 * OpenStack settings from `mailplatform-openstack:*`, credentials from `openstack:*`. The secrets the
 * operator supplies (users' password hashes, directory bind password, supplied TLS key, the push's
 * SSH key, the cloud password) are read with getSecret*, never as plain config.
 */
export function readStackInputs(): ProgramInputs {
  const raw = readRawConfig();
  const { spec, hashes } = userPasswordHashes(parseSpec(raw, pulumi.getStack()));
  const tls = raw.tls as Record<string, unknown> | undefined;
  return {
    spec,
    userPasswordHashes: hashes,
    settings: readSettings(),
    credentials: credentialsFromConfig(),
    ldapBindPassword: spec.directory ? secretField("directory", "bindPassword") : undefined,
    suppliedCertificate: spec.tls.mode === "supplied"
      ? { certificatePem: String(tls?.certificate), privateKeyPem: secretField("tls", "key") }
      : undefined,
  };
}
