// The fault suite: real traffic through the lab while one cloud failure happens, then every message
// accounted for by Message-ID in the stores (doveadm on the maildrops), never by the senders' view.
// Inbound mail comes from external-mx's Postfix (a real queue that retries and uses every MX);
// submissions and IMAP logins from the load client (clients/load.ts) in the internet host.
// `npm run faults` runs every row on prod and prints the table; tests/lab/faults.test.ts runs a
// short form in CI.
import { hostScriptPath, hostsOf, PlatformSecrets, PlatformSpec, renderHost, Role, serviceNames, writeBundle } from "@mailplatform/core";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  labCrash, labExec, labFreeze, labHeal, labPartition, labReplace, labStart, labThaw, readInventory, startService, stopService,
} from "../../lab";
import { execInHostAsync, execInNetnsAsync } from "../../lab/hosts";
import { labSpecAndSecrets } from "../../lab/spec";
import { inHost } from "../lab/harness";
import type { LoadPlan, LoadResult } from "./clients/load";

const LOAD_CLIENT = path.join(__dirname, "clients/load.ts");
const TSX = require.resolve("tsx/cjs");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How much traffic a row sends; the CI form sends less. */
export interface Volume {
  inbound: number;
  /** Inbound messages injected per second. */
  inboundRate: number;
  submissions: number;
  submissionIntervalMs: number;
}

export const FULL: Volume = { inbound: 300, inboundRate: 10, submissions: 20, submissionIntervalMs: 1_500 };
export const SHORT: Volume = { inbound: 60, inboundRate: 6, submissions: 8, submissionIntervalMs: 1_500 };

/** What the platform looks like to a row: names of the hosts it picks its victims from. */
export interface Platform {
  stack: string;
  /** The lab's spec and secrets, read once: the renderers' inputs. */
  spec: PlatformSpec;
  secrets: PlatformSecrets;
  replicated: boolean;
  role(role: Role): string[];
  users: { address: string; password: string }[];
}

/** One fault: what to break mid-stream and how the cloud (or the operator) recovers. */
export interface Fault {
  name: string;
  /** Rows that need the replicated pair are skipped in shared mode. */
  replicatedOnly?: boolean;
  inject(p: Platform): Promise<void>;
  /** How long the fault lasts under traffic before recovery. */
  holdMs: number;
  /** What the recovery saw worth noting, if anything. */
  recover(p: Platform): Promise<string | void>;
  /** The goal for the longest time an IMAP login through a frontend may not get through. */
  loginWithinMs: number;
}

/** A backend that refuses moves clients on within 2 s; one that goes silent, within 5 s. */
const REFUSING_MS = 2_000;
const SILENT_MS = 5_000;

export interface RowResult {
  fault: string;
  sent: number;
  acknowledged: number;
  stored: { primary: number; backup: number | null };
  lost: string[];
  duplicates: string[];
  /** From recovery to both replicas holding every message either held then (null: shared mode, or never). */
  equalAfterMs: number | null;
  longestLoginOutageMs: number;
  longestSubmitOutageMs: number;
  notes: string[];
}

const quiet = () => undefined;

/** Both replicas hold everything within this long of a heal or start. */
const EQUAL_WITHIN_MS = 10_000;

/** The goals a row missed: a lost or unacknowledged message, replicas apart too long, logins blocked too long. */
export function missedGoals(p: Platform, fault: Fault, row: RowResult): string[] {
  return [
    row.lost.length > 0 && `${row.lost.length} acknowledged messages stored nowhere: ${row.lost.slice(0, 5).join(", ")}`,
    row.acknowledged < row.sent && `${row.sent - row.acknowledged} of ${row.sent} never acknowledged`,
    p.replicated && (row.equalAfterMs === null || row.equalAfterMs > EQUAL_WITHIN_MS) &&
      `replicas equal after ${row.equalAfterMs ?? "never"} ms (goal ${EQUAL_WITHIN_MS})`,
    p.replicated && row.stored.backup !== row.stored.primary && `the replicas differ at the end: ${row.stored.primary} / ${row.stored.backup}`,
    row.longestLoginOutageMs > fault.loginWithinMs && `no IMAP login for ${row.longestLoginOutageMs} ms (goal ${fault.loginWithinMs})`,
  ].filter((m): m is string => typeof m === "string");
}

export function platform(): Platform {
  const inventory = readInventory();
  const { spec, secrets } = labSpecAndSecrets(inventory.stack);
  return {
    stack: inventory.stack,
    spec,
    secrets: secrets.platform,
    replicated: spec.storage.mode === "replicated",
    role: (role) => hostsOf(spec, role).map((h) => h.name),
    users: inventory.users.filter((u) => !u.address.startsWith("quota-test@")),
  };
}

// --- traffic -----------------------------------------------------------------------------------

/** Injects `count` messages into external-mx's queue, paced, each with its own Message-ID. */
export async function injectInbound(p: Platform, run: string, v: Volume): Promise<string[]> {
  const ids = Array.from({ length: v.inbound }, (_, i) => `${run}-in-${i}@partner.example`);
  const recipients = p.users.map((u) => u.address);
  const body = "A message of the fault suite's inbound stream.\n".repeat(80);
  const script = String.raw`
set -e
while read -r id to; do
  printf 'From: sender@partner.example\nTo: %s\nSubject: fault inbound %s\nMessage-ID: <%s>\n\n%s\n' "$to" "$id" "$id" "$BODY" |
    sendmail -oi -f sender@partner.example "$to"
  sleep "$PAUSE"
done`;
  const lines = ids.map((id, i) => `${id} ${recipients[i % recipients.length]}`).join("\n") + "\n";
  const mx = readInventory().hosts.find((h) => h.role === "external-mx")!;
  const r = await execInHostAsync(mx, ["env", `BODY=${body}`, `PAUSE=${(1 / v.inboundRate).toFixed(3)}`, "bash", "-c", script], { input: lines, timeoutMs: 600_000 });
  if (r.status !== 0) throw new Error(`external-mx: injecting failed: ${r.stderr}`);
  return ids;
}

/** Runs the load client in the internet host for the submissions and the login probe. */
async function runLoad(p: Platform, run: string, v: Volume): Promise<LoadResult> {
  const inventory = readInventory();
  const internet = inventory.hosts.find((h) => h.role === "internet")!;
  const [user, other] = p.users;
  const endpoint = (port: number, servername: string) => ({
    hosts: inventory.endpoints.submission, port, servername, ca: inventory.caCertificate, from: internet.address,
  });
  const names = serviceNames(p.spec);
  const plan: LoadPlan = {
    submissions: {
      ...endpoint(587, names.submission), count: v.submissions, intervalMs: v.submissionIntervalMs, giveUpMs: 120_000,
      user: user.address, pass: user.password, to: [other.address], idPrefix: `${run}-sub`,
    },
    probe: { ...endpoint(993, names.imap), hosts: inventory.endpoints.imap, intervalMs: 500, user: other.address, pass: other.password },
  };
  const r = await execInNetnsAsync(internet, [process.execPath, "--require", TSX, LOAD_CLIENT], { input: JSON.stringify(plan), timeoutMs: 900_000 });
  if (r.status !== 0 && !r.stdout.trim()) throw new Error(`load client failed (${r.status}): ${r.stderr}`);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  const parsed = JSON.parse(last) as LoadResult & { fatal?: string };
  if (parsed.fatal) throw new Error(`load client: ${parsed.fatal}`);
  return parsed;
}

// --- accounting --------------------------------------------------------------------------------

/** Queue ids to Message-IDs and which of them a platform host took (250), from external-mx's log. */
function inboundAcknowledged(): Set<string> {
  const log = inHost("external-mx", ["cat", "/var/log/messages"]);
  const idOf = new Map<string, string>();
  const acked = new Set<string>();
  for (const m of log.matchAll(/postfix\/cleanup\[\d+\]: (\w+): message-id=<([^>]+)>/g)) idOf.set(m[1], m[2]);
  for (const m of log.matchAll(/postfix\/smtp\[\d+\]: (\w+): to=<[^>]+>, relay=smtp-in[^ ]*, .* status=sent \(250 /g)) {
    const id = idOf.get(m[1]);
    if (id) acked.add(id);
  }
  return acked;
}

/** A host's Postfix queue, one entry a message (postqueue -j). */
const queueOf = (host: string): { queue_name: string }[] =>
  labExec(host, ["postqueue", "-j"]).stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { queue_name: string });

/** Every queue of the platform and external-mx empty (or the deadline passed). */
async function drained(p: Platform, timeoutMs: number): Promise<string[]> {
  const mtas = ["external-mx", ...p.role("smtp-in"), ...p.role("smtp-out"), ...p.role("maildrop")];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const busy = mtas.filter((h) => queueOf(h).length > 0);
    if (busy.length === 0 || Date.now() > deadline) return busy;
    await sleep(2_000);
  }
}

/** Message-ID → how many copies one maildrop's Dovecot holds, over every user and mailbox. */
export function storedIds(maildrop: string, prefix: string): Map<string, number> {
  const out = inHost(maildrop, ["doveadm", "-f", "tab", "fetch", "-A", "hdr.message-id", "ALL"]);
  const counts = new Map<string, number>();
  for (const line of out.split("\n").slice(1)) {
    const id = /<([^>]+)>/.exec(line)?.[1];
    if (id?.startsWith(prefix)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

const sameKeys = (a: Map<string, number>, b: Map<string, number>) => a.size === b.size && [...a.keys()].every((k) => b.has(k));

/** Ms until both replicas hold every message of the run either held when called; null at the deadline. */
async function untilBothHold(primary: string, backup: string, run: string, timeoutMs: number): Promise<number | null> {
  const started = Date.now();
  const backlog = new Set([...storedIds(primary, run).keys(), ...storedIds(backup, run).keys()]);
  while (Date.now() - started < timeoutMs) {
    const [a, b] = [storedIds(primary, run), storedIds(backup, run)];
    if ([...backlog].every((id) => a.has(id) && b.has(id))) return Date.now() - started;
    await sleep(500);
  }
  return null;
}

// --- the faults ----------------------------------------------------------------------------------

/** The rolling push of a cluster, as the OpenStack push runs it: host by host, stopping at a failure. */
function rollingPush(hosts: string[], bundles: Map<string, string>): { applied: string[]; failedAt?: string } {
  const applied: string[] = [];
  for (const h of hosts) {
    const r = labExec(h, ["bash", hostScriptPath("provision.sh"), "apply", bundles.get(h)!], { timeoutMs: 300_000 });
    if (r.status !== 0) return { applied, failedAt: h };
    applied.push(h);
  }
  return { applied };
}

/** smtp-in bundles whose main.cf carries a parameter Postfix does not know: `postconf -n` warns, the check fails. */
function brokenSmtpInBundles(p: Platform, dir: string): Map<string, string> {
  const bundles = new Map<string, string>();
  for (const b of hostsOf(p.spec, "smtp-in").map((h) => renderHost(p.spec, h, p.secrets))) {
    const files = b.files.map((f) => (f.path === "/etc/postfix/main.cf" ? { ...f, content: f.content + "mailplatform_fault_injection = yes\n" } : f));
    const target = path.join(dir, b.host.name);
    writeBundle(target, { ...b, files });
    bundles.set(b.host.name, target);
  }
  return bundles;
}

/** A host crashes mid-stream; the cloud brings it back (start: its disk; replace: a new VM, its volumes). */
const crash = (role: Role, which: 0 | 1, then: "start" | "replace", label: string): Fault => ({
  name: `${label} crash, then ${then}`,
  holdMs: 15_000,
  // Its address stays, with nothing listening: connections are refused.
  loginWithinMs: REFUSING_MS,
  inject: (p) => labCrash(p.role(role)[which], quiet),
  recover: (p) => (then === "start" ? labStart : labReplace)(p.role(role)[which], quiet),
});

const first = (p: Platform, role: Role) => p.role(role)[0];

/** Flushes the hosts' queues once no delivery is in flight (one started during the cut ends deferred, past a flush). */
async function flushWhenSettled(hosts: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && hosts.some((h) => queueOf(h).some((m) => m.queue_name === "active"))) await sleep(500);
  for (const h of hosts) labExec(h, ["postqueue", "-f"]);
}

/**
 * The role's hosts cut off from both maildrops hold the mail they acknowledge; the one holding most
 * crashes and the cloud gives it a new VM on its volumes; the cut heals and the operator flushes the
 * queues once the deliveries in flight have ended (their retries would otherwise wait out the
 * backoff: 300 s on smtp-out). Every message acknowledged must reach a store. (Every host of the
 * role is cut off: senders keep reusing their open sessions, so which one gets mail is theirs.)
 */
const queuedReplace = (role: "smtp-in" | "smtp-out"): Fault => ({
  name: `${role}s cut off from the maildrops, the one holding most mail crashes, then replace`,
  holdMs: 15_000,
  loginWithinMs: REFUSING_MS,
  // The tables live in the maildrops' namespaces, so the new VM boots into the same cut.
  inject: async (p) => p.role("maildrop").forEach((m) => p.role(role).forEach((h) => labPartition(m, h, quiet))),
  recover: async (p) => {
    const [host, held] = p.role(role).map((h) => [h, queueOf(h).length] as const).sort((a, b) => b[1] - a[1])[0];
    if (held === 0) throw new Error(`no ${role} held mail when the row crashed one: it tests nothing`);
    await labCrash(host, quiet);
    await labReplace(host, quiet);
    labHeal(quiet);
    await flushWhenSettled(p.role(role), 30_000);
    return `${host} held ${held} messages when it crashed`;
  },
});

export const FAULTS: Fault[] = [
  crash("maildrop", 0, "start", "maildrop primary"),
  crash("maildrop", 0, "replace", "maildrop primary"),
  crash("maildrop", 1, "start", "maildrop backup"),
  {
    name: "replica partition 60 s, then heal",
    replicatedOnly: true,
    holdMs: 60_000,
    loginWithinMs: REFUSING_MS,
    inject: async (p) => labPartition(p.role("maildrop")[0], p.role("maildrop")[1], quiet),
    recover: async () => labHeal(quiet),
  },
  {
    name: "maildrop primary frozen, then thawed",
    holdMs: 15_000,
    loginWithinMs: SILENT_MS,
    inject: (p) => labFreeze(first(p, "maildrop"), quiet),
    recover: async (p) => labThaw(first(p, "maildrop"), quiet),
  },
  crash("smtp-in", 0, "start", "smtp-in"),
  queuedReplace("smtp-in"),
  crash("smtp-out", 0, "start", "smtp-out primary"),
  queuedReplace("smtp-out"),
  crash("frontend", 0, "start", "frontend"),
  {
    name: "Rspamd down on an smtp-in (4xx), then up",
    holdMs: 15_000,
    loginWithinMs: REFUSING_MS,
    inject: async (p) => stopService(first(p, "smtp-in"), "rspamd"),
    recover: async (p) => startService(first(p, "smtp-in"), "rspamd"),
  },
  {
    name: "config push fails its check on the first smtp-in",
    holdMs: 0,
    loginWithinMs: REFUSING_MS,
    inject: async (p) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faults-push-"));
      try {
        const hosts = p.role("smtp-in");
        const before = hosts.map((h) => inHost(h, ["cat", "/etc/postfix/main.cf"]));
        const push = rollingPush(hosts, brokenSmtpInBundles(p, dir));
        const after = hosts.map((h) => inHost(h, ["cat", "/etc/postfix/main.cf"]));
        if (push.failedAt !== hosts[0] || push.applied.length > 0) throw new Error(`the push did not stop at ${hosts[0]}: ${JSON.stringify(push)}`);
        if (after.some((c, i) => c !== before[i])) throw new Error("a host's main.cf changed although the push stopped at the first host");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    recover: async () => undefined,
  },
];

/** Runs one row: traffic starts, the fault hits a few seconds in, recovery, drain, then the count. */
export async function runRow(p: Platform, fault: Fault, v: Volume, log: (line: string) => void = console.log): Promise<RowResult> {
  const run = `f${Date.now().toString(36)}`;
  const notes: string[] = [];
  log(`${fault.name}: traffic (${v.inbound} inbound, ${v.submissions} submissions), run ${run}`);
  const inbound = injectInbound(p, run, v);
  const load = runLoad(p, run, v);
  await sleep(Math.min(5_000, (v.inbound / v.inboundRate) * 300));
  await fault.inject(p);
  log(`${fault.name}: injected`);
  await sleep(fault.holdMs);
  const seen = await fault.recover(p);
  if (seen) notes.push(seen);
  log(`${fault.name}: recovered${seen ? ` (${seen})` : ""}`);
  const [primary, backup] = p.replicated ? p.role("maildrop") : [p.role("maildrop")[0], undefined];
  // Measured while traffic goes on: how long until each replica holds what either held at recovery.
  const caughtUp = backup ? untilBothHold(primary, backup, run, 120_000) : Promise.resolve(null);
  const [ids, loadResult, equalAfterMs] = await Promise.all([inbound, load, caughtUp]);
  const busy = await drained(p, 240_000);
  if (busy.length > 0) notes.push(`queues not empty after 240 s: ${busy.join(", ")}`);
  if (backup && equalAfterMs === null) notes.push("a replica still missed messages of the fault 120 s after recovery");

  let onPrimary = storedIds(primary, run);
  let onBackup = backup ? storedIds(backup, run) : null;
  for (let i = 0; onBackup && i < 30 && !sameKeys(onPrimary, onBackup); i++) {
    await sleep(1_000);
    onPrimary = storedIds(primary, run);
    onBackup = storedIds(backup!, run);
  }
  if (onBackup && !sameKeys(onPrimary, onBackup)) notes.push("the replicas still differ 30 s after the queues drained");
  const acked = inboundAcknowledged();
  const acknowledged = [...ids.filter((id) => acked.has(id)), ...loadResult.submitted.filter((s) => s.acked).map((s) => s.id)];
  const stored = (id: string) => (onPrimary.get(id) ?? 0) + (onBackup?.get(id) ?? 0);
  const result: RowResult = {
    fault: fault.name,
    sent: ids.length + loadResult.submitted.length,
    acknowledged: acknowledged.length,
    stored: { primary: onPrimary.size, backup: onBackup ? onBackup.size : null },
    lost: acknowledged.filter((id) => stored(id) === 0),
    duplicates: [...new Set([...onPrimary, ...(onBackup ?? [])].filter(([, n]) => n > 1).map(([id]) => id))],
    equalAfterMs,
    longestLoginOutageMs: loadResult.longestLoginOutageMs,
    longestSubmitOutageMs: loadResult.longestSubmitOutageMs,
    notes,
  };
  const unacked = loadResult.submitted.filter((s) => !s.acked);
  if (unacked.length > 0) notes.push(`submissions never acknowledged: ${unacked.map((s) => `${s.id} (${s.error})`).join("; ")}`);
  return result;
}

const secondsOf = (ms: number | null) => (ms === null ? "-" : (ms / 1000).toFixed(1));

/** The rows as a Markdown table, as the README carries it. */
export function table(rows: RowResult[]): string {
  const head = "| fault | sent | acknowledged | stored (primary / backup) | lost | duplicates | replicas equal after (s) | longest no login (s) | longest no submission (s) |";
  return [
    head,
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.fault} | ${r.sent} | ${r.acknowledged} | ${r.stored.primary} / ${r.stored.backup ?? "(shared)"} | ${r.lost.length} | ${r.duplicates.length} | ${secondsOf(r.equalAfterMs)} | ${secondsOf(r.longestLoginOutageMs)} | ${secondsOf(r.longestSubmitOutageMs)} |`),
  ].join("\n");
}
