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

/** The stack file's config as the engine passes it: every value a string, objects as JSON. */
function engineConfig(stack: string, extra: Record<string, unknown> = {}): Record<string, string> {
  const doc = YAML.parse(fs.readFileSync(`${ROOT}/Pulumi.${stack}.yaml`, "utf8"));
  return Object.fromEntries(Object.entries({ ...doc.config, ...extra }).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

describe("stack program", () => {
  afterEach(() => pulumi.runtime.setAllConfig({}));

  for (const stack of ["prod", "staging"]) {
    it(`reads ${stack}'s config into the same spec the offline render loads`, async () => {
      await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: () => ({}) }, "mailplatform", stack);
      pulumi.runtime.setAllConfig(engineConfig(stack, {
        "mailplatform-openstack:sshPrivateKey": "key",
        "mailplatform-openstack:keyPair": "ops",
        "mailplatform-openstack:bastion": { host: "bastion.example.net", user: "jump" },
        "openstack:password": "pw",
        "openstack:userName": "deployer",
      }), ["mailplatform-openstack:sshPrivateKey", "openstack:password"]);
      const inputs = readStackInputs();
      assert.deepEqual(inputs.spec, loadStackSpec(ROOT, stack));
      assert.deepEqual([inputs.settings.externalNetwork, inputs.settings.ssh.user, inputs.settings.ssh.keyPair, inputs.settings.bastion?.host, inputs.settings.bastion?.user],
        ["public", "debian", "ops", "bastion.example.net", "jump"]);
      assert.equal(inputs.credentials.authUrl, "https://keystone.cloud.example.net:5000/v3");
      assert.equal(inputs.credentials.userName, "deployer");
      assert.ok(pulumi.Output.isInstance(inputs.credentials.password) && pulumi.Output.isInstance(inputs.settings.ssh.privateKey));
    });
  }

  it("refuses a stack without an SSH key pair setting", async () => {
    const spec = loadStackSpec(ROOT, "staging");
    await assert.rejects(runUnderMocks(spec, { settings: { externalNetwork: "public", ssh: { user: "debian", privateKey: "k" } } }), /sshPublicKey .* or keyPair/);
  });

  it("connects through the bastion when one is configured", async () => {
    const spec = loadStackSpec(ROOT, "staging");
    const run = await runUnderMocks(spec, {
      settings: { externalNetwork: "ext", ssh: { user: "debian", privateKey: pulumi.secret("k"), keyPair: "ops" }, bastion: { host: "192.0.2.130", port: 2222 } },
    });
    const apply = run.resources.find((r) => r.name === "mailplatform-maildrop-push-maildrop-ams-apply")!;
    const connection = unwrapSecrets(apply.inputs.connection) as Record<string, any>;
    assert.equal(connection.host, "10.30.2.31");
    assert.deepEqual([connection.proxy.host, connection.proxy.port, connection.proxy.user], ["192.0.2.130", 2222, "debian"]);
    assert.ok(run.resources.filter((r) => r.type === T.instance).every((r) => r.inputs.keyPair === "ops"));
    assert.deepEqual(run.resources.filter((r) => r.type === "openstack:compute/keypair:Keypair"), []);
    assert.ok(run.resources.filter((r) => r.type === T.fip).every((r) => r.inputs.pool === "ext"));
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
