// The components' contract with an existing stack and with the engine: RoleCluster answers to each
// role's old type, so a deployed stack finds every resource again; every component registers exactly
// its public output properties; a component constructed with an existing URN rehydrates from them
// without building anything; the operator's secrets are read as secrets and stay secret wherever
// they are carried.
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { loadStackSpec, parseSpec, PlatformSpec } from "../../components/core/src";
import { readStackConfig } from "../../components/core/src/spec/load";
import { LEGACY_CLUSTER_TYPES, MailPlatform, readStackInputs, regionalProviders, RoleCluster, StatelessRole } from "../../components/openstack/src";
import { containsSecret, isSecretValue, mockSettings, MockRun, mockUserPasswordHashes, runProgramUnderMocks, runUnderMocks } from "../../scripts/resources";
import { ROOT, stackRun, T } from "./helpers";
import before from "./fixtures/prod-urns.json";

/**
 * The URNs the engine knows each resource by: every ancestor's type in the qualified type and, with
 * aliases, also each old type of it or of an ancestor (children inherit their parent's aliases).
 */
function engineUrns(run: MockRun, stack: string, aliases: boolean): Set<string> {
  const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
  const chains = (r: MockRun["resources"][number]): string[] => {
    const types = [r.type, ...(aliases ? r.aliases.map((a) => a.type ?? r.type) : [])];
    const parent = byUrn.get(r.parent);
    return (parent ? chains(parent) : [""]).flatMap((p) => types.map((t) => (p ? `${p}$${t}` : t)));
  };
  const names = (r: MockRun["resources"][number]) => [r.name, ...(aliases ? r.aliases.flatMap((a) => (a.name ? [a.name] : [])) : [])];
  return new Set(run.resources.flatMap((r) => chains(r).flatMap((c) => names(r).map((n) => `urn:pulumi:${stack}::mailplatform::${c}::${n}`))));
}

/** Every component reachable from `root` through its properties, root included. */
function componentsIn(root: pulumi.ComponentResource): pulumi.ComponentResource[] {
  const seen = new Set<unknown>();
  const found: pulumi.ComponentResource[] = [];
  const visit = (v: unknown): void => {
    if (typeof v !== "object" || v === null || seen.has(v) || pulumi.Output.isInstance(v) || pulumi.CustomResource.isInstance(v)) return;
    seen.add(v);
    if (pulumi.ComponentResource.isInstance(v)) found.push(v);
    Object.entries(v).filter(([k]) => !k.startsWith("__")).forEach(([, x]) => visit(x));
  };
  visit(root);
  return found;
}

/** A component's public properties that hold something. */
const publicProperties = (c: pulumi.ComponentResource) =>
  Object.entries(c).filter(([k, v]) => !k.startsWith("__") && k !== "urn" && v !== undefined).map(([k]) => k).sort();

const platformOf = (spec: PlatformSpec) => new MailPlatform("mailplatform", {
  spec,
  providers: regionalProviders("mailplatform", spec.sites.map((s) => s.region), {}),
  settings: mockSettings(),
  userPasswordHashes: mockUserPasswordHashes(spec),
});

const urnOf = (c: pulumi.Resource) => (c.urn as unknown as { promise: () => Promise<string> }).promise();

describe("OpenStack components", () => {
  it("registers each RoleCluster with its role's old type as an alias", async () => {
    const { run } = await stackRun("prod");
    const clusters = run.resources.filter((r) => r.type === RoleCluster.TYPE);
    assert.deepEqual(clusters.map((c) => c.name).sort(), ["mailplatform-frontend", "mailplatform-smtp-in", "mailplatform-smtp-out", "mailplatform-webmail"]);
    for (const c of clusters) assert.deepEqual(c.aliases, [{ type: LEGACY_CLUSTER_TYPES[c.name.replace("mailplatform-", "") as StatelessRole], name: undefined }], c.name);
  });

  it("finds every resource of a prod stack deployed before RoleCluster, through the aliases, but the ones replaced or removed on purpose since", async () => {
    const { run } = await stackRun("prod");
    // The per-role server groups (one per region now), the webmail's shared SASL password and the
    // frontends' plain-HTTP rules to it (issue 9: Roundcube submits as each user, over TLS on 443).
    const replaced = (urn: string) => urn.includes(`$${T.serverGroup}::`) || urn.endsWith("::mailplatform-secrets-relay-roundcube") ||
      /::mailplatform-sg-webmail-[^:]*-80-frontend-/.test(urn);
    const known = engineUrns(run, "prod", true);
    assert.deepEqual(before.urns.filter((u) => !known.has(u) && !replaced(u)), []);
    assert.equal(before.urns.filter(replaced).length, 12 + 1 + 3);
    // Without the aliases, the four clusters and everything under them would be new resources, and
    // the maildrops' store mounts (renamed `-mail-mount` when hosts got a queue volume too) would run again.
    const lost = before.urns.filter((u) => !engineUrns(run, "prod", false).has(u) && !replaced(u));
    const renamedMount = (u: string) => /\$command:remote:Command::mailplatform-maildrop-\w+-mount$/.test(u);
    assert.equal(lost.filter(renamedMount).length, 2);
    assert.ok(lost.length > 40 && lost.every((u) => renamedMount(u) || Object.values(LEGACY_CLUSTER_TYPES).some((t) => u.includes(`$${t}`))), lost.join("\n"));
  });

  for (const stack of ["prod", "staging"]) {
    it(`registers exactly each component's public output properties (${stack}, Designate records included)`, async () => {
      const raw = readStackConfig(`${ROOT}/Pulumi.${stack}.yaml`);
      const spec = parseSpec({ ...raw, dns: { ...(raw.dns as object), provider: "designate", designateZone: loadStackSpec(ROOT, stack).domains[0].name } }, stack);
      let components: pulumi.ComponentResource[] = [];
      const run = await runProgramUnderMocks(stack, () => {
        components = componentsIn(platformOf(spec));
        return { urns: pulumi.all(components.map((c) => c.urn)) };
      });
      const urns = run.outputs.urns as string[];
      // Every component the run registered is reached from the platform, so none is left unchecked.
      assert.deepEqual([...new Set(run.resources.filter((r) => !r.custom).map((r) => r.type))].sort(),
        [...new Set(run.resources.filter((r) => urns.includes(r.urn)).map((r) => r.type))].sort());
      components.forEach((c, i) => {
        const registered = run.resources.find((r) => r.urn === urns[i])!;
        assert.deepEqual(Object.keys(registered.outputs ?? {}).sort(), publicProperties(c), registered.name);
      });
    });
  }

  it("rehydrates a RoleCluster and the MailPlatform from their URNs, building nothing, their outputs as registered and still secret", async () => {
    const spec = loadStackSpec(ROOT, "staging");
    let rehydrated: { cluster?: RoleCluster; platform?: MailPlatform } = {};
    const run = await runProgramUnderMocks("staging", async (mocks) => {
      const platform = platformOf(spec);
      const [clusterUrn, platformUrn] = await Promise.all([urnOf(platform.smtpIn), urnOf(platform)]);
      await Promise.all([mocks.outputsRegistered(clusterUrn), mocks.outputsRegistered(platformUrn)]);
      const registeredBefore = (await mocks.outputsRegistered(clusterUrn)).hosts;
      rehydrated = {
        cluster: new RoleCluster("mailplatform-smtp-in", undefined as never, { urn: clusterUrn }),
        platform: new MailPlatform("mailplatform", undefined as never, { urn: platformUrn }),
      };
      assert.ok(containsSecret(registeredBefore), "the hosts' connections carry the push's key as a secret");
      return {
        hosts: rehydrated.cluster!.hosts as unknown as pulumi.Output<unknown>,
        dnsRecords: rehydrated.platform!.dnsRecords,
        originalRecords: platform.dnsRecords,
      };
    });
    assert.ok(pulumi.Output.isInstance(rehydrated.cluster!.hosts) && pulumi.Output.isInstance(rehydrated.cluster!.push), "read back, not built");
    assert.equal(run.resources.filter((r) => r.type === RoleCluster.TYPE).length, 4);
    const hosts = run.outputs.hosts as { host: { name: string } }[];
    assert.deepEqual(hosts.map((h) => h.host.name), spec.placement.sites["smtp-in"].map((site) => `smtp-in-${site}`));
    assert.equal(run.secretOutputs.hosts, true);
    assert.deepEqual(run.outputs.dnsRecords, run.outputs.originalRecords);
    assert.equal(run.secretOutputs.dnsRecords, false);
  });

  describe("the operator's secrets", () => {
    afterEach(() => pulumi.runtime.setAllConfig({}));

    it("are read as secrets from the stack config and stay secret in every resource and output that carries them", async () => {
      await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: () => ({}) }, "mailplatform", "staging");
      const doc = YAML.parse(fs.readFileSync(`${ROOT}/Pulumi.staging.yaml`, "utf8"));
      const tlsKey = "-----BEGIN PRIVATE KEY-----\noperator\n-----END PRIVATE KEY-----\n";
      const sshKey = "-----BEGIN OPENSSH PRIVATE KEY-----\noperator\n-----END OPENSSH PRIVATE KEY-----\n";
      // As the engine hands a stack file's `secure:` values to the program: decrypted, their keys listed as secret.
      const userHashes = (doc.config["mailplatform:users"] as { address: string }[]).map((u, i) => ({ ...u, passwordHash: `{BLF-CRYPT}$2y$10$operatorsOwnHash${i}abcdefghijklmnopqrstuvwxyz0123456` }));
      const config = {
        ...doc.config,
        "mailplatform:users": userHashes,
        "mailplatform:tls": { mode: "supplied", certificate: "-----BEGIN CERTIFICATE-----\noperator\n-----END CERTIFICATE-----\n", key: tlsKey },
        "mailplatform-openstack:sshPrivateKey": sshKey,
        "mailplatform-openstack:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorsOwnKey0000000000000000000000000",
        "openstack:password": "cloud-password",
      };
      pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
        ["mailplatform:users", "mailplatform:tls", "mailplatform-openstack:sshPrivateKey", "openstack:password"]);
      const inputs = readStackInputs();
      const isSecret = (v: unknown) => pulumi.Output.isInstance(v) && (v as unknown as { isSecret: Promise<boolean> }).isSecret;
      assert.deepEqual(await Promise.all([inputs.suppliedCertificate!.privateKeyPem, inputs.settings.ssh.privateKey, inputs.credentials.password, inputs.userPasswordHashes].map(isSecret)), [true, true, true, true]);
      // The spec the components get carries no hash: they come only through the secret.
      assert.ok(inputs.spec.users.length > 0 && inputs.spec.users.every((u) => u.passwordHash === undefined));

      const { spec, ...rest } = inputs;
      const run = await runUnderMocks(spec, rest);
      const commands = run.resources.filter((r) => r.type === T.command);
      assert.ok(commands.length > 0 && commands.every((c) => isSecretValue(c.inputs.connection)), "every push's connection, with its SSH key");
      assert.ok(run.resources.filter((r) => r.type === T.provider).every((p) => isSecretValue(p.inputs.password)), "the providers' password");
      for (const c of run.resources.filter((r) => r.type === RoleCluster.TYPE)) assert.ok(containsSecret(c.outputs!.hosts), `${c.name}'s registered hosts`);
      // Nothing carries them in the clear: not a resource's inputs outside a secret, not a registered or stack output.
      const operatorSecrets = [tlsKey, sshKey, "cloud-password", ...userHashes.map((u) => u.passwordHash)];
      const inTheClear = (v: unknown): boolean => !isSecretValue(v) && (typeof v === "string" ? operatorSecrets.some((s) => v.includes(s.trim()))
        : typeof v === "object" && v !== null && Object.values(v).some(inTheClear));
      assert.deepEqual(run.resources.filter((r) => inTheClear(r.inputs) || inTheClear(r.outputs ?? {})).map((r) => r.name), []);
      assert.ok(!inTheClear(run.outputs));
      // ...and the hashes do reach the hosts: inside the (secret) bundles the pushes send.
      const stdins = run.resources.filter((r) => r.type === T.command && r.name.endsWith("-apply")).map((c) => JSON.stringify(c.inputs.stdin));
      for (const u of userHashes) assert.ok(stdins.some((s) => s.includes(u.passwordHash)), `${u.address}'s hash pushed`);
    });

    it("refuses users without a password hash, naming each key and the command that sets it as a secret", async () => {
      await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: () => ({}) }, "mailplatform", "staging");
      const doc = YAML.parse(fs.readFileSync(`${ROOT}/Pulumi.staging.yaml`, "utf8"));
      pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])));
      const users = doc.config["mailplatform:users"] as { address: string }[];
      assert.throws(() => readStackInputs(), (e: Error) => {
        assert.deepEqual(e.message.split("\n").slice(1).map((l) => l.trim()), users.map((u, i) =>
          `- mailplatform:users[${i}].passwordHash: ${u.address} has none; set it as a secret: pulumi config set --secret --path 'mailplatform:users[${i}].passwordHash' "$(doveadm pw -s BLF-CRYPT)"`));
        return true;
      });
    });
  });
});
