// Applies of one stack: one at a time, recorded, resumable. Before an apply starts, a journal file
// is created exclusively (a second apply, from this portal or another on the same state, is
// refused while it exists) and the audit log says who started what; the journal goes only when the
// outcome is recorded. A portal that dies mid-apply leaves the journal: the next start records that
// apply as interrupted, and the next apply pushes whatever the hosts still lack (the targets'
// apply is resumable). The config itself is only ever replaced whole (stack-config.ts).
import * as fs from "fs";
import * as path from "path";
import { randomBytes } from "crypto";
import { AuditLog } from "./audit";
import { EditError } from "./edits";
import { RawConfig, versionOf, writeAtomically } from "./stack-config";
import { recordChanges } from "./changeset";
import { checkRecords } from "./dns-check";
import { ApplyEvent, PortalChangeSet, Target } from "./target";

export interface ApplyRecord {
  id: string;
  stack: string;
  who: string;
  configVersion: string;
  startedAt: string;
  pid: number;
  /** This portal process's random id: a pid can be reused after a crash, this cannot. */
  instance: string;
  finishedAt?: string;
  outcome?: "ok" | "failed" | "interrupted";
  summary?: string;
  /** The change set this apply was previewed as: which hosts, files and services (no contents). */
  changes?: PortalChangeSet;
  events: ApplyEvent[];
}

/** A change set in a line of the audit log. */
const inBrief = (c: PortalChangeSet) =>
  [...c.hosts.map((h) => `${h.host}: ${h.files.length} file(s)`), ...(c.resources.length ? [`${c.resources.length} resource(s)`] : []), ...(c.dns.length ? [`${c.dns.length} DNS record(s)`] : [])].join(", ") || "no changes";

const INSTANCE = randomBytes(8).toString("hex");

type Listener = (e: ApplyEvent | { done: ApplyRecord }) => void;

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export class ApplyRunner {
  private readonly journal: string;
  private readonly history: string;
  /** The config of the last apply that succeeded: what the DNS records of a change set are compared with. */
  private readonly applied: string;
  private running?: { record: ApplyRecord; listeners: Set<Listener>; done: Promise<ApplyRecord> };
  /** Someone's change waits for the running apply to end (users' own changes apply themselves). */
  private queued?: string;

  constructor(
    private readonly target: Target,
    stateDir: string,
    private readonly audit: AuditLog,
    private readonly readConfig: () => RawConfig,
  ) {
    this.journal = path.join(stateDir, `apply-${target.stack}.json`);
    this.history = path.join(stateDir, `applies-${target.stack}.jsonl`);
    this.applied = path.join(stateDir, `applied-${target.stack}.json`);
    this.recover();
  }

  /** An apply that a dead portal left behind is recorded as interrupted; the next apply finishes it. */
  private recover(): void {
    if (!fs.existsSync(this.journal)) return;
    const left = JSON.parse(fs.readFileSync(this.journal, "utf8")) as ApplyRecord;
    const running = left.instance === INSTANCE || (left.pid !== process.pid && isAlive(left.pid));
    if (running) return; // this or another live portal's apply
    this.finish({ ...left, outcome: "interrupted", summary: "the portal stopped during this apply; the next apply completes it" });
  }

  private finish(record: ApplyRecord): ApplyRecord {
    const done = { ...record, finishedAt: new Date().toISOString() };
    fs.appendFileSync(this.history, JSON.stringify(done) + "\n", { mode: 0o600 });
    this.audit.record({ who: done.who, action: "apply", object: `stack ${done.stack}`, outcome: done.outcome!, detail: `${done.id}: ${done.summary}` });
    fs.rmSync(this.journal, { force: true });
    return done;
  }

  /** Starts an apply of the config the caller previewed (as `changes`); refused while another runs or when the config changed since. */
  start(who: string, configVersion: string, changes?: PortalChangeSet): ApplyRecord {
    this.recover();
    const busy = this.running?.record ?? (fs.existsSync(this.journal) ? (JSON.parse(fs.readFileSync(this.journal, "utf8")) as ApplyRecord) : undefined);
    if (busy) throw new EditError(409, `an apply of stack ${this.target.stack} is running (started by ${busy.who} at ${busy.startedAt}): wait for it to finish`);
    const raw = this.readConfig();
    if (versionOf(raw) !== configVersion) throw new EditError(409, "the stack config changed since this preview: preview again");
    const record: ApplyRecord = {
      id: randomBytes(6).toString("hex"), stack: this.target.stack, who, configVersion, startedAt: new Date().toISOString(), pid: process.pid, instance: INSTANCE, ...(changes ? { changes } : {}), events: [],
    };
    try {
      fs.writeFileSync(this.journal, JSON.stringify(record), { flag: "wx", mode: 0o600 });
    } catch {
      throw new EditError(409, `an apply of stack ${this.target.stack} is running: wait for it to finish`);
    }
    this.audit.record({ who, action: "apply", object: `stack ${record.stack}`, outcome: "started", detail: changes ? `${record.id}: ${inBrief(changes)}` : record.id });
    const listeners = new Set<Listener>();
    const done = this.target
      .apply(raw, (e) => {
        record.events.push(e);
        listeners.forEach((l) => l(e));
      })
      .then(
        (o) => ({ outcome: o.ok ? ("ok" as const) : ("failed" as const), summary: o.summary }),
        (e: Error) => ({ outcome: "failed" as const, summary: e.message }),
      )
      .then((result) => {
        if (result.outcome === "ok") writeAtomically(this.applied, JSON.stringify(raw), 0o600);
        const finished = this.finish({ ...record, ...result });
        this.running = undefined;
        listeners.forEach((l) => l({ done: finished }));
        this.startQueued();
        return finished;
      });
    this.running = { record, listeners, done };
    return record;
  }

  /**
   * What applying `raw` changes: the target's change set, and the public DNS records against the
   * last config applied from here (before any: against what the platform's resolver shows, which
   * cannot tell records to withdraw).
   */
  async preview(raw: RawConfig): Promise<PortalChangeSet> {
    const after = this.target.dnsRecords(raw);
    const before = fs.existsSync(this.applied) ? this.target.dnsRecords(JSON.parse(fs.readFileSync(this.applied, "utf8")) as RawConfig) : undefined;
    const dns = before
      ? recordChanges(before, after)
      : (await checkRecords(this.target, after)).filter((r) => !r.matches).map((r) => ({ name: r.name, type: r.type, value: r.value, change: "added" as const }));
    return { ...(await this.target.preview(raw)), dns };
  }

  /**
   * Applies the current config for a mail user's own change (password, forwards): previewed here,
   * not by the user, and recorded with the apply like every other; now, or after the running apply.
   */
  async applySoon(who: string): Promise<ApplyRecord | "queued"> {
    for (;;) {
      if (this.running) {
        this.queued = who;
        return "queued";
      }
      const raw = this.readConfig();
      const changes = await this.preview(raw);
      if (this.running || versionOf(this.readConfig()) !== versionOf(raw)) continue; // someone was quicker: preview again
      return this.start(who, versionOf(raw), changes);
    }
  }

  private startQueued(): void {
    const who = this.queued;
    this.queued = undefined;
    // The queued change was saved already; a failure here is the next apply's to finish.
    if (who) this.applySoon(who).catch((e: Error) => this.audit.record({ who, action: "apply", object: `stack ${this.target.stack}`, outcome: "failed", detail: e.message }));
  }

  /** The running apply's events so far and a subscription to the rest; undefined when it is not running. */
  follow(id: string, listener: Listener): { events: ApplyEvent[]; stop: () => void } | undefined {
    const r = this.running;
    if (!r || r.record.id !== id) return undefined;
    r.listeners.add(listener);
    return { events: [...r.record.events], stop: () => r.listeners.delete(listener) };
  }

  /** Resolves once nothing runs or waits (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running.done;
  }

  current(): ApplyRecord | undefined {
    return this.running?.record;
  }

  /** Finished applies, newest first. */
  recent(limit = 20): ApplyRecord[] {
    if (!fs.existsSync(this.history)) return [];
    return fs.readFileSync(this.history, "utf8").trim().split("\n").filter(Boolean).slice(-limit).reverse().map((l) => JSON.parse(l) as ApplyRecord);
  }
}
