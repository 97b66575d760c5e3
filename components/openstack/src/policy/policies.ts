// The platform's security rules as CrossGuard policies, independent of the code that builds the
// resources: they check what would be deployed, whatever produced it. Roles are read from the
// `mailplatform-role=<role>` tag every port, server, floating IP and security group carries, and
// that security group rules (which have no tags) carry at the start of their description.
// The gating checks read only each resource's own inputs, which a preview knows even for new
// resources; ids of other resources are unknown until apply, and a check reading one is only
// advisory in a preview, so those serve as a second look at `up`.
import { PORTS } from "@mailplatform/core";
import { PolicyResource, ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

/** Roles that may have a public address, and the ports they may open to the whole Internet. */
export const PUBLIC_PORTS: Record<string, number[]> = {
  "smtp-in": [PORTS.smtp, PORTS.submissions],
  frontend: [PORTS.submission, PORTS.submissions, PORTS.imaps, PORTS.imap, PORTS.pop3s, PORTS.pop3, PORTS.http, PORTS.https],
};

const WORLD = ["0.0.0.0/0", "::/0"];
const ROLE_TAG = /^mailplatform-role=(.+)$/;

/** How a security group rule names its group's role: `[mailplatform-role=<role>] <description>`. */
const RULE_ROLE = /^\[mailplatform-role=([^\]]+)\]/;

export function roleOf(r: { props: Record<string, any> } | undefined): string | undefined {
  const tags: unknown = r?.props.tags;
  if (!Array.isArray(tags)) return undefined;
  for (const t of tags) {
    const m = typeof t === "string" ? ROLE_TAG.exec(t) : null;
    if (m) return m[1];
  }
  return undefined;
}

/** The resource an input property points at (a port id, a group id), through the engine's dependencies. */
const target = (r: PolicyResource, prop: string, type: string) => (r.propertyDependencies[prop] ?? []).find((d) => d.type === type);

const FLOATING_IPS: Record<string, { prop: string; target: string }> = {
  "openstack:networking/floatingIp:FloatingIp": { prop: "portId", target: "openstack:networking/port:Port" },
  "openstack:networking/floatingIpAssociate:FloatingIpAssociate": { prop: "portId", target: "openstack:networking/port:Port" },
  "openstack:compute/floatingIpAssociate:FloatingIpAssociate": { prop: "instanceId", target: "openstack:compute/instance:Instance" },
};

const onlyPublic = Object.keys(PUBLIC_PORTS).join(" and ");

export const publicAddressOnlyOnPublicRoles: ResourceValidationPolicy = {
  name: "public-address-only-on-smtp-in-and-frontends",
  description: "Floating IPs are made for smtp-in and frontend hosts only (their role tag): maildrop, smtp-out and webmail stay site-local.",
  enforcementLevel: "mandatory",
  validateResource: (args, report: ReportViolation) => {
    if (!(args.type in FLOATING_IPS)) return;
    if (args.type !== "openstack:networking/floatingIp:FloatingIp") {
      report(`${args.name}: a floating IP association's target is unknown until apply; give the FloatingIp its portId and the host's mailplatform-role tag`);
      return;
    }
    const role = roleOf(args);
    if (!role || !(role in PUBLIC_PORTS)) report(`${args.name} is a public address for ${role ? `a ${role} host` : "a host without a mailplatform-role tag"}; only ${onlyPublic} may have one`);
  },
};

export const floatingIpOnItsRolesPort: StackValidationPolicy = {
  name: "floating-ip-on-a-public-roles-port",
  description: "Once ports are known (up): every floating IP's port belongs to smtp-in or a frontend.",
  enforcementLevel: "mandatory",
  validateStack: (args, report: ReportViolation) => {
    for (const r of args.resources) {
      const kind = FLOATING_IPS[r.type];
      if (!kind || !r.props[kind.prop]) continue;
      const role = roleOf(target(r, kind.prop, kind.target));
      if (!role || !(role in PUBLIC_PORTS)) {
        report(`${r.name} gives a public address to ${role ? `a ${role} host` : "a host without a mailplatform-role tag"}; only ${onlyPublic} may have one`, r.urn);
      }
    }
  },
};

export const worldOpenOnlyOnPublicPorts: ResourceValidationPolicy = {
  name: "internet-only-on-public-ports",
  description: "Ingress from 0.0.0.0/0 or ::/0 only on the public ports of smtp-in and the frontends; 4190, webmail backends, SSH and everything internal are restricted.",
  enforcementLevel: "mandatory",
  validateResource: (args, report: ReportViolation) => {
    const p = args.props;
    if (args.type !== "openstack:networking/secGroupRule:SecGroupRule" || p.direction !== "ingress") return;
    // A remote group's id is unknown in a preview; whether there is one is not.
    const prefix: string | undefined = p.remoteIpPrefix;
    const open = prefix ? WORLD.includes(prefix) : !("remoteGroupId" in p);
    if (!open) return;
    const role = typeof p.description === "string" ? RULE_ROLE.exec(p.description)?.[1] : undefined;
    const allowed = (role && PUBLIC_PORTS[role]) || [];
    const single = p.portRangeMin !== undefined && p.portRangeMin === p.portRangeMax;
    if (!single || !allowed.includes(p.portRangeMin)) {
      const ports = p.portRangeMin === undefined ? "every port" : single ? `port ${p.portRangeMin}` : `ports ${p.portRangeMin}-${p.portRangeMax}`;
      report(`${args.name} opens ${ports} of ${role ?? "an untagged group"} to the whole Internet (${prefix ?? "no remote"}); allowed: ${allowed.join(", ") || "nothing"}`);
    }
  },
};

const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
/** Actual key material (a script may well mention the header). */
const PRIVATE_KEY_BLOCK = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\s+[A-Za-z0-9+/=\s]{40,}-----END [A-Z0-9 ]*PRIVATE KEY-----/;
const ASSIGNED_SECRET = /\b(pass(word|wd)?|secret|token|api[-_]?key)\s*[=:]\s*\S/i;
const SECRET_NAME = /PASS|SECRET|TOKEN|KEY/i;

export const noPlaintextSecretsInCommands: ResourceValidationPolicy = {
  name: "no-plaintext-secrets-in-commands",
  description: "Remote and local commands carry secrets only on stdin, kept secret in state and left out of the logs; never in the command line or the environment.",
  enforcementLevel: "mandatory",
  validateResource: (args, report: ReportViolation) => {
    if (args.type !== "command:remote:Command" && args.type !== "command:local:Command") return;
    for (const field of ["create", "update", "delete"]) {
      const text = args.props[field];
      if (typeof text === "string" && (PRIVATE_KEY.test(text) || ASSIGNED_SECRET.test(text))) {
        report(`${args.name}: the ${field} command line holds a secret; pass it on stdin`);
      }
    }
    for (const key of Object.keys(args.props.environment ?? {})) {
      if (SECRET_NAME.test(key)) report(`${args.name}: environment variable ${key} looks like a secret; pass it on stdin`);
    }
    const stdin = args.props.stdin;
    if (typeof stdin === "string" && PRIVATE_KEY_BLOCK.test(stdin)) {
      if (!args.opts.additionalSecretOutputs.includes("stdin")) report(`${args.name}: stdin holds secrets but is not kept secret in state (additionalSecretOutputs: stdin)`);
      if (!["none", "stderr"].includes(args.props.logging)) report(`${args.name}: stdin holds secrets and stdout is logged (logging: ${args.props.logging ?? "stdoutAndStderr"}); use "stderr" or "none"`);
    }
  },
};

export const POLICIES = [publicAddressOnlyOnPublicRoles, floatingIpOnItsRolesPort, worldOpenOnlyOnPublicPorts, noPlaintextSecretsInCommands];
