// The local lab as a target: the stack's config pushed to the running lab by the lab's own rolling
// push (provision.sh apply host by host); the change set is each host's new bundle against the
// bundle it runs now, so an interrupted push shows, and the next apply redoes, what is missing.
import { dkimPublicKeys, DnsRecord, dnsRecords, parseSpec, placeholderPublicAddresses, renderPlatform, hostsOf } from "@mailplatform/core";
import { labBundleFiles, labExec, labPush, labSpecAndSecrets, labStatus, readInventory, stackConfigFile } from "../../lab";
import { changedHosts } from "../changeset";
import { RawConfig } from "../stack-config";
import { ApplyEvent, ApplyOutcome, ChangeSet, HostHealth, Target } from "../target";

export class LabTarget implements Target {
  readonly kind = "lab";

  constructor(
    readonly stack: string,
    readonly configFile = stackConfigFile(stack),
  ) {}

  spec(raw: RawConfig) {
    return parseSpec(raw, this.stack);
  }

  async preview(raw: RawConfig): Promise<ChangeSet> {
    const { spec, secrets } = labSpecAndSecrets(this.stack, raw);
    return { hosts: changedHosts(renderPlatform(spec, secrets.platform), labBundleFiles), resources: [] };
  }

  async apply(raw: RawConfig, progress: (e: ApplyEvent) => void): Promise<ApplyOutcome> {
    if (readInventory().stack !== this.stack) throw new Error(`the lab runs stack ${readInventory().stack}, not ${this.stack}`);
    const steps = await labPush(raw, progress);
    const failed = steps.find((s) => s.state === "failed");
    const applied = steps.filter((s) => s.state === "applied").length;
    return failed
      ? { ok: false, summary: `${failed.host} refused its new configuration (${failed.summary}); the push stopped there` }
      : { ok: true, summary: `${applied} host(s) changed, ${steps.length - applied} unchanged` };
  }

  async hosts(): Promise<HostHealth[]> {
    return labStatus().map((h) => ({ name: h.name, role: h.role, state: h.state, detail: `${h.processes} processes, ${h.memoryMiB} MiB` }));
  }

  dnsRecords(raw: RawConfig): DnsRecord[] {
    const { spec, secrets } = labSpecAndSecrets(this.stack, raw);
    return dnsRecords(spec, { publicAddresses: placeholderPublicAddresses(spec), dkim: dkimPublicKeys(secrets.platform.dkim) }).filter((r) => r.scope === "public");
  }

  /** Asked of the platform's own resolver: the Unbound of the first smtp-in host. */
  async resolve(name: string, type: DnsRecord["type"]): Promise<string[]> {
    const { spec } = labSpecAndSecrets(this.stack);
    const r = labExec(hostsOf(spec, "smtp-in")[0].name, ["dig", "+short", "@127.0.0.1", name, type], { timeoutMs: 15_000 });
    if (r.status !== 0) throw new Error(`the platform resolver did not answer: ${r.stderr}`);
    return r.stdout.trim().split("\n").filter(Boolean).map(presentation);
  }
}

/** dig's TXT answers are quoted strings, several per record: one value, as the core writes it. */
export function presentation(line: string): string {
  const strings = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, "$1"));
  return strings.length > 0 ? strings.join("") : line;
}
