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

    it("refuses a floating IP made for a maildrop, smtp-out or webmail host, or without a role, or as an association", () => {
      const fip = find(resources, T.fip, () => true);
      for (const r of ["maildrop", "smtp-out", "webmail"]) {
        const tagged = { ...fip, name: "extra-fip", props: { ...fip.props, tags: [`mailplatform-role=${r}`] } } as PolicyResource;
        assert.deepEqual(violations([...resources, tagged]), [`extra-fip is a public address for a ${r} host; only smtp-in and frontend may have one`]);
      }
      const untagged = { ...fip, name: "bare-fip", props: { ...fip.props, tags: undefined } } as PolicyResource;
      assert.deepEqual(violations([untagged]), ["bare-fip is a public address for a host without a mailplatform-role tag; only smtp-in and frontend may have one"]);
      const associate = { ...fip, type: "openstack:networking/floatingIpAssociate:FloatingIpAssociate", name: "assoc", props: { floatingIp: "198.51.100.1" }, propertyDependencies: {} } as PolicyResource;
      assert.deepEqual(violations([associate]), ["assoc: a floating IP association's target is unknown until apply; give the FloatingIp its portId and the host's mailplatform-role tag"]);
    });

    it("refuses, once ports are known, a floating IP on a maildrop, smtp-out or webmail port", () => {
      for (const r of ["maildrop", "smtp-out", "webmail"]) {
        const port = find(resources, T.port, (p) => role(p) === r);
        const fip = { ...find(resources, T.fip, () => true), name: "extra-fip", propertyDependencies: { portId: [port] } } as PolicyResource;
        assert.deepEqual(violations([...resources, fip]), [`extra-fip gives a public address to a ${r} host; only smtp-in and frontend may have one`]);
      }
    });

    it("refuses Internet ingress beyond the public ports of smtp-in and the frontends", () => {
      const world = find(resources, T.rule, (r) => r.props.remoteIpPrefix === "0.0.0.0/0");
      // As the engine hands inputs over: an input left out is absent, not undefined.
      const rule = (name: string, r: string, props: Record<string, unknown>) => ({
        ...world,
        name,
        props: Object.fromEntries(Object.entries({ ...world.props, description: `[mailplatform-role=${r}] test`, ...props }).filter(([, v]) => v !== undefined)),
      }) as PolicyResource;
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

// In a preview of a fresh stack, every id of another resource is unknown; a check that reads one is
// only advisory then. The gating checks must decide from what the preview knows. The analyzer's own
// proxy and sentinels stand for the unknowns (its typings do not export them).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const analyzer = require("@pulumi/policy/proxy") as { unknownCheckingProxy: <T>(o: T) => T; unknownStringValue: unknown; UnknownValueError: new () => Error };

describe("policy pack in a preview of a fresh stack", () => {
  /** The resources' props as a preview hands them over: inputs fed by another resource are unknown. */
  function previewed(run: MockRun): PolicyResource[] {
    const custom = new Set(run.resources.filter((r) => r.custom).map((r) => r.urn));
    return policyResources(run).map((p, i) => {
      const unknown = Object.entries(run.resources[i].propertyDependencies).filter(([, urns]) => urns.some((u) => custom.has(u))).map(([k]) => k);
      return { ...p, props: { ...p.props, ...Object.fromEntries(unknown.map((k) => [k, analyzer.unknownStringValue])) } } as PolicyResource;
    });
  }

  /** Runs the resource policies as the analyzer does: reading an unknown is a note, not a verdict. */
  function resourceVerdicts(resources: PolicyResource[]): { violations: string[]; undecided: string[] } {
    const out = { violations: [] as string[], undecided: [] as string[] };
    for (const policy of POLICIES) {
      if (!("validateResource" in policy)) continue;
      for (const v of [policy.validateResource ?? []].flat()) {
        for (const r of resources) {
          try {
            v({ ...r, props: analyzer.unknownCheckingProxy(r.props), stackTags: new Map() } as unknown as ResourceValidationArgs, (m) => out.violations.push(m));
          } catch (e) {
            if (!(e instanceof analyzer.UnknownValueError)) throw e;
            out.undecided.push(`${policy.name} on ${r.name}: ${e.message}`);
          }
        }
      }
    }
    return out;
  }

  it("decides every floating IP and rule of prod, and fails the preview of a rule opening a maildrop to the Internet", async () => {
    const resources = previewed((await stackRun("prod")).run);
    assert.ok(resources.some((r) => r.type === T.rule && r.props.remoteGroupId === analyzer.unknownStringValue), "unknown ids are in the picture");
    // Commands whose text is computed (a volume id, the bundle) are judged at `up`, before each is created.
    const verdicts = resourceVerdicts(resources);
    assert.deepEqual({ ...verdicts, undecided: verdicts.undecided.filter((u) => !u.startsWith(`${noPlaintextSecretsInCommands.name} on `)) }, { violations: [], undecided: [] });
    const world = resources.find((r) => r.type === T.rule && r.props.remoteIpPrefix === "0.0.0.0/0")!;
    const bad = { ...world, name: "md-imap", props: { ...world.props, portRangeMin: 143, portRangeMax: 143, description: "[mailplatform-role=maildrop] x" } } as PolicyResource;
    assert.deepEqual(resourceVerdicts([bad]), { violations: ["md-imap opens port 143 of maildrop to the whole Internet (0.0.0.0/0); allowed: nothing"], undecided: [] });
  });
});
