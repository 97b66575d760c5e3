// What the portal needs from wherever the platform runs: the stack's config, the secrets-free
// preview of a config's effect, applying it with progress, the hosts' health, and the platform's
// resolver. The local lab and a Pulumi stack (Automation API) implement it; nothing else in the
// portal knows which one runs.
import { DnsRecord, PlatformSpec } from "@mailplatform/core";

/** One host's part of a change: which files change and which services reload or restart. */
export interface HostChange {
  host: string;
  role: string;
  files: { path: string; change: "added" | "changed" | "removed" }[];
  services: { service: string; action: "reload" | "restart" }[];
}

/** A resource change from the Pulumi preview (the lab has none). */
export interface ResourceChange {
  urn: string;
  type: string;
  op: string;
}

export interface ChangeSet {
  hosts: HostChange[];
  resources: ResourceChange[];
}

/** A public DNS record an apply publishes or withdraws. */
export interface DnsChange extends Pick<DnsRecord, "name" | "type" | "value"> {
  change: "added" | "removed";
}

/** What an apply changes, as the portal shows it: the target's change set and the DNS records. */
export interface PortalChangeSet extends ChangeSet {
  dns: DnsChange[];
}

/** Progress of an apply: one host's state, or a line of the engine's log. */
export interface ApplyEvent {
  host?: string;
  state: "pushing" | "applied" | "unchanged" | "failed" | "not reached" | "log";
  message?: string;
}

export interface ApplyOutcome {
  ok: boolean;
  summary: string;
}

export interface HostHealth {
  name: string;
  role: string;
  state: string;
  detail?: string;
}

export interface Target {
  /** "lab" or "pulumi", shown to operators. */
  readonly kind: string;
  readonly stack: string;
  /** The stack config file the portal edits (Pulumi.<stack>.yaml). */
  readonly configFile: string;
  /** The spec as the target would deploy it from this raw config (throws SpecError). */
  spec(raw: Record<string, unknown>): PlatformSpec;
  /** What applying this raw config would change, from the renderer (and the engine's preview). */
  preview(raw: Record<string, unknown>): Promise<ChangeSet>;
  /** Applies this raw config; resumable: applying again after an interruption finishes the job. */
  apply(raw: Record<string, unknown>, progress: (e: ApplyEvent) => void): Promise<ApplyOutcome>;
  hosts(): Promise<HostHealth[]>;
  /** The public DNS records the platform needs for this raw config. */
  dnsRecords(raw: Record<string, unknown>): DnsRecord[];
  /** Asks the platform's resolver; the values found (TXT strings joined), empty when none. */
  resolve(name: string, type: DnsRecord["type"]): Promise<string[]>;
}
