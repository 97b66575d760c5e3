// Runs the stack program under Pulumi's mocks (no CLI, no cloud, no credentials) and records every
// resource it would register: type, name, parent, provider, dependencies and inputs, with secrets
// still marked. The offline render writes the masked inventory as resources.json; the tests assert
// the resource graph's contract on the same recording.
import { PlatformSpec } from "@mailplatform/core";
import { mailPlatformProgram, OpenStackSettings, ProgramInputs } from "@mailplatform/openstack";
import * as pulumi from "@pulumi/pulumi";
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from "crypto";
import * as fs from "fs";
import * as path from "path";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** One registered resource, as the engine would see it. */
export interface RecordedResource {
  type: string;
  name: string;
  urn: string;
  /** Parent's URN ("" at the top). */
  parent: string;
  custom: boolean;
  /** Name of the explicit provider resource, if any. */
  provider?: string;
  /** URNs of explicit dependsOn and of resources the inputs came from. */
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  additionalSecretOutputs: string[];
  protect: boolean;
  /** Replaced by deleting the old one first (a port or a volume that one VM at a time may hold). */
  deleteBeforeReplace: boolean;
  /** Inputs with secrets still wrapped (see isSecretValue). */
  inputs: Record<string, unknown>;
  id: string;
  /** Aliases the resource was registered with (a renamed type or name). */
  aliases: { type?: string; name?: string }[];
  /** A component's registerOutputs, secrets still wrapped, resources as references ({urn}). */
  outputs?: Record<string, unknown>;
}

export interface MockRun {
  resources: RecordedResource[];
  /** Stack outputs, resolved, secrets unwrapped. */
  outputs: Record<string, unknown>;
  /** Which stack outputs are secret. */
  secretOutputs: Record<string, boolean>;
}

export function isSecretValue(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG] === SECRET_SIG;
}

/** Secrets replaced by `mask(value)`, recursively. */
export function mapSecrets(v: unknown, mask: (secret: unknown) => unknown): unknown {
  if (isSecretValue(v)) return mask(v.value);
  if (Array.isArray(v)) return v.map((x) => mapSecrets(x, mask));
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapSecrets(x, mask)]));
  return v;
}

export const unwrapSecrets = (v: unknown): unknown => mapSecrets(v, (s) => unwrapSecrets(s));

/** Does the value hold a secret anywhere inside? */
export function containsSecret(v: unknown): boolean {
  let found = false;
  mapSecrets(v, () => (found = true));
  return found;
}

const digest = (s: string) => createHash("sha256").update(s).digest("hex");

/** Stand-in keys per resource name, real PEM so DKIM records and renderers get what they parse. */
const keyCache = new Map<string, Record<string, string>>();
function mockKey(name: string, inputs: Record<string, unknown>): Record<string, string> {
  const cached = keyCache.get(name);
  if (cached) return cached;
  const pem = { publicKeyEncoding: { type: "spki" as const, format: "pem" as const }, privateKeyEncoding: { type: "pkcs8" as const, format: "pem" as const } };
  const kp =
    inputs.algorithm === "RSA" ? generateKeyPairSync("rsa", { modulusLength: Number(inputs.rsaBits ?? 2048), ...pem })
      : inputs.algorithm === "ED25519" ? ed25519FromName(name)
        : generateKeyPairSync("ec", { namedCurve: "P-256", ...pem });
  // PEM encodings make strings; @types/node picks the KeyObject overload for the union.
  const { privateKey, publicKey } = kp as unknown as { privateKey: string; publicKey: string };
  const key = { privateKeyPem: privateKey, privateKeyPemPkcs8: privateKey, publicKeyPem: publicKey, ...openssh(name, publicKey) };
  keyCache.set(name, key);
  return key;
}

/** An Ed25519 key seeded by the resource's name: the same on every run, so rendered inputs stay reviewable. */
function ed25519FromName(name: string): { privateKey: string; publicKey: string } {
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.from(digest(`ed25519 ${name}`), "hex")]);
  const key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  return { privateKey: key.export({ format: "pem", type: "pkcs8" }).toString(), publicKey: createPublicKey(key).export({ format: "pem", type: "spki" }).toString() };
}

/** OpenSSH forms as the tls provider gives them: a real public key line, a stand-in private key block. */
function openssh(name: string, publicKeyPem: string): { publicKeyOpenssh: string; privateKeyOpenssh: string } {
  const spki = createPublicKey(publicKeyPem).export({ format: "der", type: "spki" });
  const field = (b: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(b.length);
    return Buffer.concat([length, b]);
  };
  const wire = spki.length === 44 ? Buffer.concat([field(Buffer.from("ssh-ed25519")), field(spki.subarray(12))]) : undefined;
  return {
    publicKeyOpenssh: wire ? `ssh-ed25519 ${wire.toString("base64")}\n` : "",
    privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\n${Buffer.from(`mock openssh key of ${name}`).toString("base64")}\n-----END OPENSSH PRIVATE KEY-----\n`,
  };
}

const fakeCert = (name: string) => `-----BEGIN CERTIFICATE-----\nmock certificate of ${name}\n-----END CERTIFICATE-----\n`;

/** The mock's RandomPassword result: deterministic, so tests can look for it. */
export const mockPassword = (name: string, length: number) => digest(`password ${name}`).slice(0, length);

/**
 * The users' hashes as readStackInputs hands them on, a secret: the spec's, else stand-ins as an
 * operator would set them (deterministic, so tests can look for them). Call it inside a program.
 */
export function mockUserPasswordHashes(spec: PlatformSpec): pulumi.Output<Record<string, string>> {
  return pulumi.secret(Object.fromEntries(spec.users.map((u) => [u.address, u.passwordHash ?? `{BLF-CRYPT}$2y$10$${digest(`hash ${u.address}`).slice(0, 53)}`])));
}

/** What the providers would compute, deterministic per resource name. */
function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const h = parseInt(digest(name).slice(0, 8), 16);
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
      return { result: mockPassword(name, Number(inputs.length ?? 32)) };
    case "tls:index/privateKey:PrivateKey":
      return mockKey(name, inputs);
    case "tls:index/selfSignedCert:SelfSignedCert":
    case "tls:index/locallySignedCert:LocallySignedCert":
      return { certPem: fakeCert(name) };
    case "tls:index/certRequest:CertRequest":
      return { certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\n${name}\n-----END CERTIFICATE REQUEST-----\n` };
    case "openstack:networking/floatingIp:FloatingIp":
      return { address: `198.18.${(h >>> 8) % 250}.${(h % 250) + 1}` };
    case "openstack:networking/router:Router":
      return { externalFixedIps: [{ ipAddress: `198.19.${(h >>> 8) % 250}.${(h % 250) + 1}`, subnetId: "external-subnet" }] };
    case "openstack:sharedfilesystem/share:Share":
      return { exportLocations: [{ path: `192.0.2.250:/shares/share-${digest(name).slice(0, 8)}`, preferred: "true" }] };
    default:
      return {};
  }
}

/** Settings of a fresh stack: nothing set, so the stack makes its own SSH key. */
export function mockSettings(overrides: Partial<OpenStackSettings> = {}): OpenStackSettings {
  return { externalNetwork: "public", ssh: { user: "debian" }, ...overrides };
}

/** The id the mocks give the network `getNetwork` finds by name. */
export const mockNetworkId = (name: string) => `network-${name}`;

/** One resource as the cloud receives it: inputs with secrets unwrapped, and the state the mock returns. */
export interface CloudRequest {
  type: string;
  name: string;
  /** Region of the explicit provider, if any. */
  region?: string;
  inputs: Record<string, any>;
  id: string;
  state: Record<string, any>;
}

/** A stand-in for the cloud's own checks: throws to refuse a resource, as the API would. */
export type CloudModel = (request: CloudRequest) => void;

/** Runs the program for `spec` under mocks and returns what it registered and output. */
export function runUnderMocks(spec: PlatformSpec, inputs: Partial<Omit<ProgramInputs, "spec">> = {}, cloud?: CloudModel): Promise<MockRun> {
  return runProgramUnderMocks(spec.stack, () => ({
    ...mailPlatformProgram({
      spec, settings: mockSettings(), credentials: { authUrl: "https://keystone.invalid:5000/v3" }, userPasswordHashes: mockUserPasswordHashes(spec), ...inputs,
    }),
  }), cloud);
}

/** What a program run by runProgramUnderMocks can wait for. */
export interface MockContext {
  /** Resolves once the component's registerOutputs has reached the engine (the mock), with what it registered. */
  outputsRegistered(urn: string): Promise<Record<string, unknown>>;
}

type Program = (context: MockContext) => Record<string, pulumi.Output<unknown>> | Promise<Record<string, pulumi.Output<unknown>>>;

/** Runs any program of the project under mocks: what it registered, and its outputs. */
export async function runProgramUnderMocks(stack: string, program: Program, cloud?: CloudModel): Promise<MockRun> {
  const recorded = new Map<string, RecordedResource>();
  const meta = new Map<string, Omit<RecordedResource, "inputs" | "id">>();
  const registeredOutputs = new Map<string, Record<string, unknown>>();
  const waiting = new Map<string, (outputs: Record<string, unknown>) => void>();
  const context: MockContext = {
    outputsRegistered: (urn) => registeredOutputs.has(urn) ? Promise.resolve(registeredOutputs.get(urn)!) : new Promise((resolve) => waiting.set(urn, resolve)),
  };
  const regions = new Map<string, string>();
  // A resource the cloud refuses never resolves its outputs, so the run stops at the first refusal.
  let refuse: (e: unknown) => void = () => undefined;
  const refused = new Promise<never>((_, reject) => (refuse = reject));
  refused.catch(() => undefined);
  await pulumi.runtime.setMocks({
    newResource: (a) => {
      const id = a.custom ? `${a.name}-id` : "";
      const m = meta.get(`${a.type}::${a.name}`)!;
      recorded.set(m.urn, { ...m, inputs: a.inputs, id });
      const state = { ...a.inputs, ...mockState(a.type, a.name, a.inputs) };
      if (a.type === "pulumi:providers:openstack") regions.set(id, String(a.inputs.region));
      try {
        cloud?.({ type: a.type, name: a.name, region: regions.get(a.provider?.split("::").pop() ?? ""), inputs: unwrapSecrets(a.inputs) as Record<string, any>, id, state: unwrapSecrets(state) as Record<string, any> });
      } catch (e) {
        refuse(e);
        throw e;
      }
      return { id, state };
    },
    call: (a) => {
      if (a.token === "openstack:networking/getNetwork:getNetwork") return { id: mockNetworkId(a.inputs.name), name: a.inputs.name };
      if (a.token === "openstack:dns/getDnsZone:getDnsZone") return { id: `zone-${a.inputs.name}`, name: a.inputs.name };
      throw new Error(`unexpected invoke ${a.token}`);
    },
  }, "mailplatform", stack, false);

  // The mocks see inputs only; parents and dependencies are read off the requests.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource: (req: any, cb: unknown) => unknown;
    registerResourceOutputs: (req: any, cb: (err: unknown, res: unknown) => void) => unknown;
    newUrn: (p: string, t: string, n: string) => string;
  };
  const register = monitor.registerResource.bind(monitor);
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  // The mock keeps a component's registered outputs as a protobuf Struct, which its own getResource
  // (rehydration) cannot send back: keep them as plain values, as the engine's state does.
  const resources = (monitor as unknown as { resources: Map<string, { state: unknown }> }).resources;
  monitor.registerResourceOutputs = (req: any, cb: (err: unknown, res: unknown) => void) => registerOutputs(req, (err: unknown, res: unknown) => {
    const outputs = req.getOutputs()?.toJavaScript() ?? {};
    const stored = resources.get(req.getUrn());
    if (stored) stored.state = outputs;
    registeredOutputs.set(req.getUrn(), outputs);
    waiting.get(req.getUrn())?.(outputs);
    cb(err, res);
  });
  monitor.registerResource = (req: any, cb: unknown) => {
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((v: any, k: string) => (propertyDependencies[k] = v.getUrnsList()));
    const provider = req.getProvider() ? req.getProvider().split("::")[3] : undefined;
    meta.set(`${req.getType()}::${req.getName()}`, {
      type: req.getType(),
      name: req.getName(),
      urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()),
      parent: req.getParent(),
      custom: req.getCustom(),
      provider,
      dependencies: req.getDependenciesList(),
      propertyDependencies,
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      protect: req.getProtect(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
      aliases: req.getAliasesList().map((a: any) => a.getSpec()).filter((spec: any) => spec).map((spec: any) => ({ type: spec.getType() || undefined, name: spec.getName() || undefined })),
    });
    return register(req, cb);
  };

  // A failed registration (a renderer throwing inside an apply) only surfaces as an unhandled rejection.
  const failures: unknown[] = [];
  const onFailure = (e: unknown) => failures.push(e);
  process.on("unhandledRejection", onFailure);
  try {
    const entries = Object.entries(await program(context));
    // isSecret is internal to Output; read it the way the SDK does.
    const resolved = await Promise.race([refused, Promise.all(entries.map(([, o]) => {
      const internal = o as unknown as { promise: () => Promise<unknown>; isSecret: Promise<boolean> };
      return Promise.all([internal.promise(), internal.isSecret]);
    }))]);
    await Promise.race([refused, pulumi.runtime.disconnect()]);
    // Failed registrations reject after the RPC queue drains.
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (failures.length > 0) throw failures[0];
    return {
      resources: [...recorded.values()].map((r) => (registeredOutputs.has(r.urn) ? { ...r, outputs: registeredOutputs.get(r.urn) } : r)),
      outputs: Object.fromEntries(entries.map(([k], i) => [k, resolved[i][0]])),
      secretOutputs: Object.fromEntries(entries.map(([k], i) => [k, resolved[i][1]])),
    };
  } finally {
    process.off("unhandledRejection", onFailure);
  }
}

const LONG = 240;

/** Inputs for review: secrets masked, long texts (scripts) replaced by their size and hash. */
export function reviewInputs(inputs: Record<string, unknown>): unknown {
  const shorten = (v: unknown): unknown => {
    if (typeof v === "string" && v.length > LONG) return `<${v.length} characters, sha256 ${digest(v).slice(0, 16)}>`;
    if (Array.isArray(v)) return v.map(shorten);
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shorten(x)]));
    return v;
  };
  return shorten(mapSecrets(inputs, () => "<secret>"));
}

/** The reviewer's inventory: every resource with its parent, provider and key inputs, secrets masked. */
export function resourceInventory(run: MockRun) {
  const nameOf = (urn: string) => urn.split("::").pop() ?? urn;
  return run.resources.map((r) => ({
    type: r.type,
    name: r.name,
    parent: r.parent ? nameOf(r.parent) : null,
    provider: r.provider ?? null,
    dependsOn: r.dependencies.map(nameOf),
    ...(r.protect ? { protect: true } : {}),
    ...(r.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
    inputs: reviewInputs(r.inputs),
  }));
}

/**
 * For the offline render (`npm run render -- --stack <s> --out <dir>`): writes <dir>/resources.json.
 * Returns the number of resources.
 */
export async function writeResourcesJson(spec: PlatformSpec, outDir: string): Promise<number> {
  const run = await runUnderMocks(spec);
  const inventory = resourceInventory(run);
  const note = "What `pulumi up` would build, from the program run under mocks: ids, floating IPs and keys are stand-ins; secrets are masked.";
  fs.writeFileSync(path.join(outDir, "resources.json"), JSON.stringify({ stack: spec.stack, note, resources: inventory }, null, 2) + "\n");
  return inventory.length;
}
