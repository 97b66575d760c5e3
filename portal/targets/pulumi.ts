// A Pulumi stack as a target, through the Automation API: the repository's project directory as
// the workspace (Pulumi.<stack>.yaml is the config the portal edits), the program inline
// (mailPlatformProgram from components/openstack), `preview` and `up` with their event streams.
// Kept thin: the portal's logic is shared with the lab target; this file maps calls and events.
// It needs the Pulumi CLI and the OpenStack provider plugin, which these machines cannot install:
// its tests drive it with a stack double that emits real engine events (see the README).
import * as dns from "dns";
import * as fs from "fs";
import * as path from "path";
import { DnsRecord, parseSpec } from "@mailplatform/core";
import { mailPlatformProgram, readStackInputs } from "@mailplatform/openstack";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { changedHosts, filesOf, previewBundles } from "../changeset";
import { RawConfig, writeAtomically } from "../stack-config";
import { ApplyEvent, ApplyOutcome, ChangeSet, HostHealth, ResourceChange, Target } from "../target";

/** What the portal uses of an Automation API stack (a LocalWorkspace Stack has it). */
export interface AutomationStack {
  preview(opts: { onEvent: (e: EngineEvent) => void }): Promise<unknown>;
  up(opts: { onEvent: (e: EngineEvent) => void }): Promise<{ summary: { result?: string; message?: string }; outputs: Record<string, { value: unknown }> }>;
  outputs(): Promise<Record<string, { value: unknown }>>;
}

/** The real stack: the project directory's workspace with the inline program. */
export async function automationStack(projectDir: string, stackName: string): Promise<AutomationStack> {
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
  return LocalWorkspace.createOrSelectStack(
    {
      projectName: "mailplatform",
      stackName,
      program: async () => {
        const p = mailPlatformProgram(readStackInputs());
        return { endpoints: p.endpoints, inventory: p.inventory, dnsRecords: p.dnsRecords, zoneFiles: p.zoneFiles };
      },
    },
    { workDir: projectDir },
  );
}

/** The resource name at the end of a URN. */
const resourceName = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

/**
 * An engine event as per-host progress: ConfigPush names each host's commands
 * <cluster>-push-<host>-install|apply|health; the health check's outputs mean the host is done.
 */
export function progressOf(e: EngineEvent, hosts: string[]): ApplyEvent | undefined {
  const hostOf = (urn: string) => hosts.find((h) => new RegExp(`-push-${h}-(install|apply|health)$`).test(resourceName(urn)));
  const step = (name: string) => /-(install|apply|health)$/.exec(name)?.[1];
  if (e.resourcePreEvent) {
    const host = hostOf(e.resourcePreEvent.metadata.urn);
    if (host && step(resourceName(e.resourcePreEvent.metadata.urn)) === "apply") return { host, state: "pushing" };
  }
  if (e.resOutputsEvent) {
    const host = hostOf(e.resOutputsEvent.metadata.urn);
    if (host && step(resourceName(e.resOutputsEvent.metadata.urn)) === "health") return { host, state: "applied" };
  }
  if (e.resOpFailedEvent) {
    const host = hostOf(e.resOpFailedEvent.metadata.urn);
    return { host, state: "failed", message: `${e.resOpFailedEvent.metadata.op} ${resourceName(e.resOpFailedEvent.metadata.urn)} failed` };
  }
  if (e.diagnosticEvent && e.diagnosticEvent.severity === "error") return { state: "log", message: e.diagnosticEvent.message.trim() };
  return undefined;
}

/** The resource changes of a preview's events (sames left out). */
export function resourceChangeOf(e: EngineEvent): ResourceChange | undefined {
  const m = e.resourcePreEvent?.metadata;
  return m && m.op !== "same" ? { urn: m.urn, type: m.type, op: m.op } : undefined;
}

export class PulumiTarget implements Target {
  readonly kind = "pulumi";
  readonly configFile: string;
  private readonly appliedFile: string;

  constructor(
    readonly stack: string,
    readonly projectDir: string,
    stateDir: string,
    private readonly open: () => Promise<AutomationStack> = () => automationStack(projectDir, stack),
    private readonly resolver = new dns.promises.Resolver(),
  ) {
    this.configFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
    // The raw config and DNS records of the last successful up: what the hosts run (for the
    // renderer's half of the preview) and what DNS should publish (with the cloud's addresses and in-stack keys).
    // Named apart from the apply runner's record of the config (portal/apply.ts), in the same state directory.
    this.appliedFile = path.join(stateDir, `pulumi-up-${stack}.json`);
  }

  spec(raw: RawConfig) {
    return parseSpec(raw, this.stack);
  }

  private bundles(raw: RawConfig) {
    return previewBundles(this.spec(raw));
  }

  private applied(): { raw: RawConfig; dnsRecords: DnsRecord[] } | undefined {
    return fs.existsSync(this.appliedFile) ? JSON.parse(fs.readFileSync(this.appliedFile, "utf8")) : undefined;
  }

  async preview(raw: RawConfig): Promise<ChangeSet> {
    const last = this.applied();
    const applied = last && new Map(this.bundles(last.raw).map((b) => [b.host.name, filesOf(b)]));
    const hosts = changedHosts(this.bundles(raw), (h) => applied?.get(h));
    const resources: ResourceChange[] = [];
    await (await this.open()).preview({ onEvent: (e) => void (resourceChangeOf(e) && resources.push(resourceChangeOf(e)!)) });
    return { hosts, resources };
  }

  async apply(raw: RawConfig, progress: (e: ApplyEvent) => void): Promise<ApplyOutcome> {
    const hosts = this.bundles(raw).map((b) => b.host.name);
    const result = await (await this.open()).up({ onEvent: (e) => { const p = progressOf(e, hosts); if (p) progress(p); } });
    const ok = result.summary.result === "succeeded";
    if (ok) writeAtomically(this.appliedFile, JSON.stringify({ raw, dnsRecords: result.outputs.dnsRecords?.value ?? [] }), 0o600);
    return { ok, summary: result.summary.message ?? `pulumi up: ${result.summary.result}` };
  }

  async hosts(): Promise<HostHealth[]> {
    const inventory = ((await (await this.open()).outputs()).inventory?.value ?? []) as { name: string; role: string; publicAddress?: string }[];
    return inventory.map((h) => ({ name: h.name, role: h.role, state: "deployed", detail: h.publicAddress }));
  }

  /** The records of the last up (the stack's outputs): the cloud's addresses and keys exist only once it ran. */
  dnsRecords(): DnsRecord[] {
    return (this.applied()?.dnsRecords ?? []).filter((r) => r.scope === "public");
  }

  async resolve(name: string, type: DnsRecord["type"]): Promise<string[]> {
    switch (type) {
      case "TXT":
        return (await this.resolver.resolveTxt(name).catch(() => [])).map((parts) => parts.join(""));
      case "MX":
        return (await this.resolver.resolveMx(name).catch(() => [])).map((m) => `${m.priority} ${m.exchange}.`);
      case "SRV":
        return (await this.resolver.resolveSrv(name).catch(() => [])).map((r) => `${r.priority} ${r.weight} ${r.port} ${r.name}.`);
      case "A":
        return this.resolver.resolve4(name).catch(() => []);
      case "AAAA":
        return this.resolver.resolve6(name).catch(() => []);
      case "CNAME":
        return (await this.resolver.resolveCname(name).catch(() => [])).map((c) => `${c}.`);
    }
  }
}
