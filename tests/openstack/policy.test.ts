// The CrossGuard pack: silent on what prod and staging build, and it catches each of the mistakes
// it exists for. Resources come from the program run under mocks, shaped as the engine hands them
// to policies (secrets unwrapped, dependencies as resources).
import * as assert from "node:assert/strict";
import { PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import {
  noPlaintextSecretsInCommands,
  POLICIES,
  publicAddressOnlyOnPublicRoles,
  worldOpenOnlyOnPublicPorts,
} from "../../components/openstack/src/policy/policies";
import { MockRun, RecordedResource, unwrapSecrets } from "../../scripts/resources";
import { stackRun, T } from "./helpers";

function policyResources(run: MockRun): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  for (const r of run.resources) {
    byUrn.set(r.urn, {
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: unwrapSecrets(r.inputs) as Record<string, any>,
      opts: { protect: r.protect, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: r.additionalSecretOutputs },
      dependencies: [],
      propertyDependencies: {},
    } as unknown as PolicyResource);
  }
  for (const r of run.resources) {
    const p = byUrn.get(r.urn)!;
    p.dependencies.push(...r.dependencies.map((u) => byUrn.get(u)!).filter(Boolean));
    for (const [prop, urns] of Object.entries(r.propertyDependencies)) p.propertyDependencies[prop] = urns.map((u) => byUrn.get(u)!).filter(Boolean);
  }
  return [...byUrn.values()];
}

/** Every violation the pack reports on these resources. */
function violations(resources: PolicyResource[]): string[] {
  const out: string[] = [];
  const report: ReportViolation = (message) => out.push(message);
  for (const policy of POLICIES) {
    if ("validateStack" in policy) {
      policy.validateStack({ resources } as unknown as StackValidationArgs, report);
    } else {
      const validate = [policy.validateResource ?? []].flat();
      for (const r of resources) for (const v of validate) v({ ...r, stackTags: new Map() } as unknown as ResourceValidationArgs, report);
    }
  }
  return out;
}

const find = (rs: PolicyResource[], type: string, test: (r: PolicyResource) => boolean) => rs.find((r) => r.type === type && test(r))!;
const role = (r: PolicyResource) => (r.props.tags as string[]).find((t) => t.startsWith("mailplatform-role="))!.split("=")[1];

for (const stack of ["prod", "staging"]) {
  describe(`policy pack on ${stack}`, () => {
    let resources: PolicyResource[];
    before(async () => {
      resources = policyResources((await stackRun(stack)).run);
    });

    it("reports nothing on what the program builds", () => {
      assert.deepEqual(violations(resources), []);
    });

    it("refuses a floating IP on a maildrop, smtp-out or webmail port", () => {
      for (const r of ["maildrop", "smtp-out", "webmail"]) {
        const port = find(resources, T.port, (p) => role(p) === r);
        const fip = { ...find(resources, T.fip, () => true), name: "extra-fip", propertyDependencies: { portId: [port] } } as PolicyResource;
        assert.deepEqual(violations([...resources, fip]), [`extra-fip gives a public address to a ${r} host; only smtp-in and frontend may have one`]);
      }
    });

    it("refuses Internet ingress beyond the public ports of smtp-in and the frontends", () => {
      const world = find(resources, T.rule, (r) => r.props.remoteIpPrefix === "0.0.0.0/0");
      const groupOf = (r: string) => find(resources, T.secGroup, (g) => role(g) === r);
      const rule = (name: string, r: string, props: Record<string, unknown>) =>
        ({ ...world, name, props: { ...world.props, ...props }, propertyDependencies: { securityGroupId: [groupOf(r)] } }) as PolicyResource;
      const cases: [PolicyResource, string][] = [
        [rule("md-25", "maildrop", { portRangeMin: 25, portRangeMax: 25 }), "md-25 opens port 25 of maildrop to the whole Internet (0.0.0.0/0); allowed: nothing"],
        [rule("fe-sieve", "frontend", { portRangeMin: 4190, portRangeMax: 4190, remoteIpPrefix: "::/0" }), "fe-sieve opens port 4190 of frontend to the whole Internet (::/0); allowed: 587, 465, 993, 143, 995, 110, 80, 443"],
        [rule("in-ssh", "smtp-in", { portRangeMin: 22, portRangeMax: 22 }), "in-ssh opens port 22 of smtp-in to the whole Internet (0.0.0.0/0); allowed: 25, 465"],
        [rule("in-range", "smtp-in", { portRangeMin: 1, portRangeMax: 65535 }), "in-range opens ports 1-65535 of smtp-in to the whole Internet (0.0.0.0/0); allowed: 25, 465"],
        [rule("out-any", "smtp-out", { portRangeMin: 587, portRangeMax: 587, remoteIpPrefix: undefined, remoteGroupId: undefined }), "out-any opens port 587 of smtp-out to the whole Internet (no remote); allowed: nothing"],
      ];
      for (const [r, message] of cases) assert.deepEqual(violations([...resources, r]), [message]);
    });

    it("refuses secrets on a command line, in the environment, or on a logged stdin", () => {
      const apply = find(resources, T.command, (c) => c.name.endsWith("-apply"));
      const variant = (name: string, props: Record<string, unknown>, additionalSecretOutputs = apply.opts.additionalSecretOutputs) =>
        ({ ...apply, name, props: { ...apply.props, ...props }, opts: { ...apply.opts, additionalSecretOutputs } }) as PolicyResource;
      const cases: [PolicyResource, string[]][] = [
        [variant("inline-key", { create: "echo '-----BEGIN PRIVATE KEY-----' > /etc/key" }), ["inline-key: the create command line holds a secret; pass it on stdin"]],
        [variant("inline-pw", { update: "doveadm pw password=hunter2" }), ["inline-pw: the update command line holds a secret; pass it on stdin"]],
        [variant("env", { environment: { SRS_SECRET: "x" } }), ["env: environment variable SRS_SECRET looks like a secret; pass it on stdin"]],
        [variant("plain-stdin", {}, ["stdout", "stderr"]), ["plain-stdin: stdin holds secrets but is not kept secret in state (additionalSecretOutputs: stdin)"]],
        [variant("logged", { logging: undefined }), ['logged: stdin holds secrets and stdout is logged (logging: stdoutAndStderr); use "stderr" or "none"']],
      ];
      for (const [r, messages] of cases) assert.deepEqual(violations([r]), messages);
      assert.ok(noPlaintextSecretsInCommands.enforcementLevel === "mandatory" && publicAddressOnlyOnPublicRoles.enforcementLevel === "mandatory" && worldOpenOnlyOnPublicPorts.enforcementLevel === "mandatory");
    });
  });
}

// The recording keeps what the policies need.
describe("policy pack inputs", () => {
  it("sees each floating IP's port and each rule's group through property dependencies", async () => {
    const { run } = await stackRun("staging");
    const fip = run.resources.find((r) => r.type === T.fip) as RecordedResource;
    assert.equal(fip.propertyDependencies.portId.length, 1);
  });
});
