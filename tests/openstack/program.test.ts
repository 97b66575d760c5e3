// The stack program's edges: reading the stack config the way `pulumi up` hands it over, the
// OpenStack settings, SSH through a bastion, and Designate record sets.
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { loadStackSpec, parseSpec } from "../../components/core/src";
import { readStackConfig } from "../../components/core/src/spec/load";
import { dhcpPool, readStackInputs, recordSetKeys } from "../../components/openstack/src";
import { runUnderMocks, unwrapSecrets } from "../../scripts/resources";
import { ROOT, T } from "./helpers";

/**
 * The stack file's config as the engine passes it, once the operator has set each user's hash as a
 * secret (decrypted, its key listed in SECRET_KEYS): every value a string, objects as JSON.
 */
function engineConfig(stack: string, extra: Record<string, unknown> = {}): Record<string, string> {
  const doc = YAML.parse(fs.readFileSync(`${ROOT}/Pulumi.${stack}.yaml`, "utf8"));
  const users = (doc.config["mailplatform:users"] as object[]).map((u, i) => ({ ...u, passwordHash: `{BLF-CRYPT}$2y$10$operatorsHash${i}` }));
  return Object.fromEntries(Object.entries({ ...doc.config, "mailplatform:users": users, ...extra }).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}
const SECRET_KEYS = ["mailplatform:users"];

describe("stack program", () => {
  afterEach(() => pulumi.runtime.setAllConfig({}));

  const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJumpHostKeyOfTheOperatorsOwnJumpHost000";
  const engine = (stack: string) => pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: () => ({}) }, "mailplatform", stack);

  for (const stack of ["prod", "staging"]) {
    it(`reads ${stack}'s config into the same spec the offline render loads`, async () => {
      await engine(stack);
      pulumi.runtime.setAllConfig(engineConfig(stack, {
        "mailplatform-openstack:sshPrivateKey": "key",
        "mailplatform-openstack:keyPair": "ops",
        "mailplatform-openstack:jumpHosts": { ams: { host: "jump.ams.example.net", user: "jump", hostKey: HOST_KEY } },
        "openstack:password": "pw",
        "openstack:userName": "deployer",
      }), [...SECRET_KEYS, "mailplatform-openstack:sshPrivateKey", "openstack:password"]);
      const inputs = readStackInputs();
      assert.deepEqual(inputs.spec, loadStackSpec(ROOT, stack));
      assert.deepEqual([inputs.settings.externalNetwork, inputs.settings.ssh.user, inputs.settings.ssh.keyPair, inputs.settings.jumpHosts?.ams.host, inputs.settings.jumpHosts?.ams.user],
        ["public", "debian", "ops", "jump.ams.example.net", "jump"]);
      assert.equal(inputs.credentials.authUrl, "https://keystone.cloud.example.net:5000/v3");
      assert.equal(inputs.credentials.userName, "deployer");
      assert.ok(pulumi.Output.isInstance(inputs.credentials.password) && pulumi.Output.isInstance(inputs.settings.ssh.privateKey));
    });

    // What the pull request's preview has: the stack file and nothing else.
    it(`previews ${stack} as a fresh stack, with no mailplatform-openstack setting`, async () => {
      await engine(stack);
      pulumi.runtime.setAllConfig(engineConfig(stack), SECRET_KEYS);
      const inputs = readStackInputs();
      assert.equal(inputs.settings.ssh.privateKey, undefined);
      const run = await runUnderMocks(inputs.spec, { settings: inputs.settings });
      const deployKey = run.resources.find((r) => r.name === "mailplatform-deploy-key")!;
      assert.equal(deployKey.inputs.algorithm, "ED25519");
      const keyPairs = run.resources.filter((r) => r.type === "openstack:compute/keypair:Keypair").map((r) => unwrapSecrets(r.inputs) as Record<string, string>);
      assert.equal(keyPairs.length, new Set(inputs.spec.sites.map((s) => s.region)).size);
      assert.ok(keyPairs.every((k) => k.publicKey.startsWith("ssh-ed25519 ")));
    });
  }

  it("refuses replaced, unknown and incomplete settings, all at once, naming each key", async () => {
    await engine("staging");
    pulumi.runtime.setAllConfig(engineConfig("staging", {
      "mailplatform-openstack:bastion": { host: "bastion.example.net" },
      "mailplatform-openstack:sshKey": "x",
      "mailplatform-openstack:jumpHosts": { ams: { host: "jump.example.net", port: 70000 } },
      "mailplatform-openstack:protectMailStore": "yes",
    }), SECRET_KEYS);
    assert.throws(() => readStackInputs(), (e: Error) => {
      const lines = e.message.split("\n").slice(1).map((l) => l.replace(/^  - /, "").split(":").slice(0, 2).join(":"));
      assert.deepEqual(lines.sort(), [
        "mailplatform-openstack:bastion", "mailplatform-openstack:jumpHosts.ams.hostKey", "mailplatform-openstack:jumpHosts.ams.port",
        "mailplatform-openstack:protectMailStore", "mailplatform-openstack:sshKey",
      ]);
      assert.match(e.message, /bastion: no longer read; .*jumpHosts\.<site>/);
      return true;
    });
  });

  it("refuses an SSH key of the operator's without its public half, and a public half without the key", async () => {
    const spec = loadStackSpec(ROOT, "staging");
    await assert.rejects(runUnderMocks(spec, { settings: { externalNetwork: "public", ssh: { user: "debian", privateKey: "k" } } }), /with sshPrivateKey, set sshPublicKey .* or keyPair/);
    await assert.rejects(runUnderMocks(spec, { settings: { externalNetwork: "public", ssh: { user: "debian", keyPair: "ops" } } }), /mailplatform-openstack:sshPrivateKey: required with keyPair/);
  });

  it("reaches public hosts at their floating IP and the others through their site's jump host, host keys pinned", async () => {
    const spec = loadStackSpec(ROOT, "staging");
    const run = await runUnderMocks(spec, {
      settings: { externalNetwork: "ext", ssh: { user: "debian", privateKey: pulumi.secret("k"), keyPair: "ops" }, jumpHosts: { ams: { host: "192.0.2.130", port: 2222, hostKey: HOST_KEY } } },
    });
    const connectionOf = (host: string) => unwrapSecrets(run.resources.find((r) => r.name === `mailplatform-${host.replace(/-\w+$/, "")}-push-${host}-apply`)!.inputs.connection) as Record<string, any>;
    const hostKeyOf = (host: string) => {
      const server = run.resources.find((r) => r.type === T.instance && (unwrapSecrets(r.inputs) as Record<string, string>).name === host)!;
      return JSON.parse((unwrapSecrets(server.inputs.userData) as string).replace(/^#cloud-config\n/, "")).ssh_keys.ed25519_public as string;
    };
    const fipOf = (host: string) => run.resources.find((r) => r.type === T.fip && r.inputs.description === `${host}.staging.example.net`)!;
    // The configured jump host for ams, with its pinned key; the target's own key pinned too.
    const ams = connectionOf("maildrop-ams");
    assert.deepEqual([ams.host, ams.hostKey, ams.proxy.host, ams.proxy.port, ams.proxy.user, ams.proxy.hostKey], ["10.30.2.31", hostKeyOf("maildrop-ams"), "192.0.2.130", 2222, "debian", HOST_KEY]);
    // zrh has no jump host of its own: its frontend, at its floating IP.
    const zrh = connectionOf("smtp-out-zrh");
    assert.equal(zrh.host, "10.30.1.21");
    assert.equal(zrh.proxy.hostKey, hostKeyOf("frontend-zrh"));
    assert.match(zrh.proxy.host, /^198\.18\./);
    assert.ok(fipOf("frontend-zrh"));
    // Public hosts directly, no proxy.
    const smtpIn = connectionOf("smtp-in-zrh");
    assert.deepEqual([smtpIn.proxy, smtpIn.hostKey], [undefined, hostKeyOf("smtp-in-zrh")]);
    assert.match(smtpIn.host, /^198\.18\./);
    assert.ok(run.resources.filter((r) => r.type === T.instance).every((r) => r.inputs.keyPair === "ops"));
    assert.deepEqual(run.resources.filter((r) => r.type === "openstack:compute/keypair:Keypair"), []);
    assert.ok(run.resources.filter((r) => r.type === T.fip).every((r) => r.inputs.pool === "ext"));
  });

  it("refuses a site with hosts but no public host to jump through, naming the key", async () => {
    const raw = { ...readStackConfig(`${ROOT}/Pulumi.staging.yaml`), placement: { smtpIn: ["zrh"], frontend: ["zrh"], webmail: ["ams"] } };
    await assert.rejects(runUnderMocks(parseSpec(raw, "staging")), /mailplatform-openstack:jumpHosts\.ams: site ams has no frontend or smtp-in/);
  });

  it("creates the public records as Designate record sets in the configured zone", async () => {
    const raw = { ...readStackConfig(`${ROOT}/Pulumi.staging.yaml`) };
    raw.dns = { ...(raw.dns as object), provider: "designate", designateZone: "staging.example.com" };
    const spec = parseSpec(raw, "staging");
    const run = await runUnderMocks(spec);
    const sets = run.resources.filter((r) => r.type === T.recordSet).map((r) => unwrapSecrets(r.inputs) as Record<string, any>);
    const records = (run.outputs.dnsRecords as { name: string; type: string; value: string; scope: string; zone: string }[])
      .filter((r) => r.scope === "public" && r.zone === "staging.example.com");
    assert.deepEqual(sets.map((s) => `${s.type} ${s.name}`).sort(), [...new Set(records.map((r) => `${r.type} ${r.name}.`))].sort());
    assert.deepEqual(recordSetKeys(spec, "staging.example.com").length, sets.length);
    for (const s of sets) {
      assert.equal(s.zoneId, "zone-staging.example.com.");
      assert.equal(s.ttl, 300);
      const values = records.filter((r) => `${r.name}.` === s.name && r.type === s.type).map((r) => (r.type === "TXT" ? `"${r.value}"` : r.value));
      if (s.type === "TXT" && s.name.includes("-rsa._domainkey.")) {
        assert.ok(s.records[0].startsWith('"v=DKIM1; k=rsa; p=') && s.records[0].includes('" "'), "long TXT split into 255-byte strings");
      } else {
        assert.deepEqual(s.records, values, `${s.type} ${s.name}`);
      }
    }
    assert.ok(sets.some((s) => s.type === "MX") && sets.some((s) => s.type === "SRV"));
  });

  it("keeps DHCP away from the planned host addresses", () => {
    assert.deepEqual(dhcpPool("10.20.1.0/24"), { start: "10.20.1.64", end: "10.20.1.254" });
    assert.throws(() => dhcpPool("10.20.1.0/26"), /too small/);
  });
});

describe("stack program with tls.mode supplied", () => {
  it("puts the operator's certificate on every host instead of making a CA", async () => {
    const raw = { ...readStackConfig(`${ROOT}/Pulumi.staging.yaml`), tls: { mode: "supplied", certificate: "pem", key: "pem" } };
    const spec = parseSpec(raw, "staging");
    const certificatePem = "-----BEGIN CERTIFICATE-----\nsupplied\n-----END CERTIFICATE-----\n";
    const run = await runUnderMocks(spec, { suppliedCertificate: { certificatePem, privateKeyPem: pulumi.secret("-----BEGIN PRIVATE KEY-----\nsupplied\n-----END PRIVATE KEY-----\n") } });
    assert.deepEqual(run.resources.filter((r) => /^tls:index\/(selfSignedCert|locallySignedCert|certRequest)/.test(r.type)), []);
    assert.equal((run.outputs.endpoints as { caCertificatePem: string }).caCertificatePem, certificatePem);
    const bundle = unwrapSecrets(run.resources.find((r) => r.name === "mailplatform-frontend-push-frontend-zrh-apply")!.inputs.stdin) as string;
    assert.ok(bundle.includes("supplied\n-----END PRIVATE KEY-----"));
  });
});
