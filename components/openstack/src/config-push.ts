// The rolling config push of one cluster. Per host: install the provisioning script, apply the
// host's bundle (a tar on stdin, never on the command line), then a health check. Each host waits
// for the previous host's health check, so a failed validation stops the cluster's rollout at that
// host while the others keep serving with their current config; clusters roll in parallel.
import { Host, HostBundle, hostScript, networkRules, packBundle, PlatformSpec, Role } from "@mailplatform/core";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { outputsOf, rehydrationProps } from "./component";
import { createHash } from "crypto";

/** Where the provisioning script is installed on every host. */
export const PROVISION_PATH = "/usr/local/sbin/mailplatform-provision";
/** The commands, fixed strings: everything variable travels on stdin. */
export const INSTALL_COMMAND = `cloud-init status --wait >/dev/null 2>&1; sudo install -D -m 0755 /dev/stdin ${PROVISION_PATH}`;
export const APPLY_COMMAND = `sudo ${PROVISION_PATH} apply -`;

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The ports a role's host must listen on: every port the rule model opens to it, but SSH. */
export function listeningPorts(spec: PlatformSpec, role: Role): number[] {
  return [...new Set(networkRules(spec).filter((r) => r.role === role && r.port !== 22).map((r) => r.port))].sort((a, b) => a - b);
}

export interface PushTarget {
  host: Host;
  /** How the deploying machine reaches it (ssh-access.ts). */
  connection: command.types.input.remote.ConnectionArgs;
  /** The server's id: a replaced VM gets its config again. */
  serverId: pulumi.Input<string>;
  /** The host's rendered bundle (secret). */
  bundle: pulumi.Input<HostBundle>;
  /** What must be in place before the first push (the maildrops' mail store). */
  dependsOn?: pulumi.Resource[];
}

export interface ConfigPushArgs {
  /** Plain, in rollout order (the role's preference order: the primary first). */
  targets: PushTarget[];
  spec: PlatformSpec;
  /** Text of the provisioning script. */
  provisionScript: pulumi.Input<string>;
}

export interface HostPush {
  host: Host;
  install: command.remote.Command;
  apply: command.remote.Command;
  health: command.remote.Command;
  /** Exactly what `apply` sends on stdin (secret) and its hash (the trigger, not secret). */
  stdin: pulumi.Output<string>;
  contentHash: pulumi.Output<string>;
}

const OUTPUTS = ["hosts"] as const;

export class ConfigPush extends pulumi.ComponentResource {
  declare readonly hosts: HostPush[];

  constructor(name: string, args: ConfigPushArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailplatform:index:ConfigPush", name, rehydrationProps(opts, OUTPUTS), opts);
    if (opts?.urn) return;
    const healthScript = hostScript("health-check.sh");
    let previous: command.remote.Command | undefined;
    this.hosts = args.targets.map((t) => {
      const id = `${name}-${t.host.name}`;
      const install = new command.remote.Command(`${id}-install`, {
        connection: t.connection,
        create: INSTALL_COMMAND,
        update: INSTALL_COMMAND,
        stdin: args.provisionScript,
        triggers: [t.serverId],
        addPreviousOutputInEnv: false,
      }, { parent: this, dependsOn: t.dependsOn });

      const bundle = pulumi.output(t.bundle);
      // The tar's bytes are ASCII headers and UTF-8 content, so it travels as a string.
      const stdin = pulumi.secret(bundle.apply((b) => packBundle(b).toString("utf8")));
      const contentHash = pulumi.unsecret(stdin.apply(sha256));
      const triggers = [contentHash, t.serverId];
      const apply = new command.remote.Command(`${id}-apply`, {
        connection: t.connection,
        create: APPLY_COMMAND,
        update: APPLY_COMMAND,
        stdin,
        triggers,
        // The script prints progress and the checker's message on stderr, never file content;
        // stdout is not logged, and both are kept secret in state.
        logging: "stderr",
        addPreviousOutputInEnv: false,
      }, { parent: this, dependsOn: [install, ...(previous ? [previous] : [])], additionalSecretOutputs: ["stdin", "stdout", "stderr"] });

      const services = pulumi.unsecret(bundle.apply((b) => b.services.map((d) => d.service).join(",")));
      const healthCommand = pulumi.interpolate`sudo sh -s -- ${services} ${listeningPorts(args.spec, t.host.role).join(",")}`;
      const health = new command.remote.Command(`${id}-health`, {
        connection: t.connection,
        create: healthCommand,
        update: healthCommand,
        stdin: healthScript,
        triggers,
        addPreviousOutputInEnv: false,
      }, { parent: this, dependsOn: [apply], additionalSecretOutputs: ["stdout", "stderr"] });
      previous = health;
      return { host: t.host, install, apply, health, stdin, contentHash };
    });
    this.registerOutputs(outputsOf(this, OUTPUTS));
  }
}
