// `npm run bench`: what a message costs on the platform, against a one-host server (baseline.ts)
// measured in the same run on the same machine. Baseline and platform runs alternate, medians of
// each; every message is counted where it lands (the maildrop's or the baseline's store, external-mx's
// Maildir), never at the sender. Also latencies, the lab's up times, the offline render's time, and
// where the CPU goes on each inbound hop (profile.ts).
import { hostsOf, Role, serviceNames } from "@mailplatform/core";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_STACK, labDown, labUp, readInventory } from "..";
import { execInHostAsync, execInNetnsAsync } from "../hosts";
import { inventoryExists, InventoryHost } from "../inventory";
import { REPO } from "../paths";
import { withoutKeptDatabases } from "../rspamd-cache";
import { labSpecAndSecrets } from "../spec";
import { run, sleep } from "../system";
import { Baseline, startBaseline, stopBaseline } from "./baseline";
import type { Plan, SamplesResult, Server, SubmitResult } from "./client";
import { addUse, cpuBetween, CpuUse, snapshot } from "./profile";

const CLIENT = path.join(__dirname, "client.ts");
const TSX = require.resolve("tsx/cjs");

export interface BenchOptions {
  /** Rounds: each one baseline run and one platform run of every path. */
  runs: number;
  /** Inbound messages per run. */
  inbound: number;
  /** Submitted messages per run (submission and internal paths); kept under the product's per-client and per-user limits. */
  submissions: number;
  /** Samples per latency. */
  samples: number;
  /** Bring the prod lab up from nothing first (and time it); otherwise use the running lab. */
  cold: boolean;
  /** Only the inbound rates and the profile (to try a change quickly): no other path, latency or lab timing. */
  inboundOnly?: boolean;
  log: (line: string) => void;
}

export const FULL: Omit<BenchOptions, "log"> = { runs: 3, inbound: 1000, submissions: 16, samples: 40, cold: true };
export const SHORT: Omit<BenchOptions, "log"> = { runs: 2, inbound: 100, submissions: 4, samples: 5, cold: false };

export interface Figures {
  runs: number[];
  median: number;
}

export interface Percentiles {
  samples: number;
  p50: number;
  p99: number;
}

export interface Rate {
  baseline: Figures;
  platform: Figures;
  ratio: number;
}

export interface ProfileRow {
  host: string;
  program: string;
  /** CPU milliseconds per delivered message. */
  userMs: number;
  systemMs: number;
}

export interface BenchResult {
  date: string;
  machine: { cores: number; memoryGiB: number };
  stack: string;
  options: Omit<BenchOptions, "log">;
  /** Delivered messages per second (inbound only: no submission and internal). */
  rates: { inbound: Rate; submission?: Rate; internal?: Rate };
  latencies: null | {
    visibleMs: { baseline: Percentiles; platform: Percentiles };
    replicationLagMs: Percentiles | null;
    imapLoginSelectMs: { baseline: Percentiles; maildropDirect: Percentiles; throughFrontend: Percentiles };
  };
  /** Seconds. */
  lab: null | { upFreshMachine: number | null; upFromNothing: number | null; upNoChanges: number; renderProd: number };
  profile: ProfileRow[];
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

const percentiles = (ms: number[]): Percentiles => ({ samples: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99) });
const figures = (runs: number[]): Figures => ({ runs, median: percentile(runs, 50) });

/** Where one path's messages go and how they are counted, for the baseline or the platform. */
interface Target {
  name: "baseline" | "platform";
  /** The MX the inbound load goes to. */
  mx: string;
  /** The inbound recipient and the host whose store counts it. */
  inboundUser: string;
  store: Pick<InventoryHost, "name" | "netns">;
  /** Stores that replicate `store`'s mailboxes (the backup maildrop). */
  replicas: Pick<InventoryHost, "name" | "netns">[];
  submission: Server;
  logins: { user: string; pass: string; from: string }[];
  /** The internal path's recipient (in `store`). */
  internalUser: string;
  imap: Server;
  /** Hosts whose CPU the inbound profile reads (the baseline's too, for comparison). */
  profiled: Pick<InventoryHost, "name" | "netns">[];
}

async function client<R>(host: Pick<InventoryHost, "netns">, plan: Plan): Promise<R> {
  const r = await execInNetnsAsync(host, [process.execPath, "--require", TSX, CLIENT], { input: JSON.stringify(plan), timeoutMs: 600_000 });
  const parsed = JSON.parse(r.stdout.trim().split("\n").pop() || "{}") as R & { fatal?: string };
  if (parsed.fatal || r.status !== 0) throw new Error(`bench client (${plan.action}): ${parsed.fatal ?? r.stderr}`);
  return parsed;
}

/** A doveadm command in a store host; its output, or throws with its error. */
async function doveadm(host: Pick<InventoryHost, "netns" | "name">, argv: string[]): Promise<string> {
  const r = await execInHostAsync(host, ["doveadm", ...argv]);
  if (r.status !== 0) throw new Error(`${host.name}: doveadm ${argv.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** The user's messages in the mailboxes `mailbox` matches; by default every mailbox (Rspamd's tag may send some to Junk). */
async function storedCount(host: Pick<InventoryHost, "netns" | "name">, user: string, mailbox = "*"): Promise<number> {
  const rows = (await doveadm(host, ["-f", "tab", "mailbox", "status", "-u", user, "messages", mailbox])).trim().split("\n").slice(1);
  return rows.reduce((sum, line) => sum + Number(line.split("\t").pop()), 0);
}

/**
 * Empties the inbound recipient's INBOX on every store before a run, so that each run on either
 * side starts from the same empty mailbox: Dovecot's index files grow with a mailbox, and the
 * platform's recipient otherwise carries every earlier run's and test's mail into the comparison.
 */
async function emptyInbox(t: Target): Promise<void> {
  const inbox = (host: Target["store"]) => storedCount(host, t.inboundUser, "INBOX");
  await doveadm(t.store, ["expunge", "-u", t.inboundUser, "mailbox", "INBOX", "all"]);
  // The expunge goes to the peer now (dsync to mail_replica, waited for), not during the run.
  if (t.replicas.length > 0) await doveadm(t.store, ["sync", "-u", t.inboundUser, "-d"]);
  for (const r of t.replicas) await until(async () => Number(await inbox(r) === 0), 1, `${r.name}: the emptied INBOX replicated`, 10_000);
  for (const host of [t.store, ...t.replicas]) await doveadm(host, ["purge", "-u", t.inboundUser]);
}

/** Polls `count` until it reaches `target`; the time it did (ms since epoch), or throws after `stallMs` without progress. */
async function until(count: () => Promise<number>, target: number, what: string, stallMs = 60_000): Promise<number> {
  let last = -1;
  let progressed = Date.now();
  for (;;) {
    const n = await count();
    if (n >= target) return Date.now();
    if (n !== last) [last, progressed] = [n, Date.now()];
    if (Date.now() - progressed > stallMs) throw new Error(`${what}: ${n} of ${target} after ${stallMs / 1000} s without progress`);
    await sleep(200);
  }
}

/** A 4 KB message as smtp-source sends it (-F: headers and body as they are). */
function messageFile(tag: string, to: string): string {
  const file = path.join(os.tmpdir(), `bench-${tag}.eml`);
  const body = "A message of the benchmark's inbound load, four kilobytes in all with its headers.\n".repeat(48);
  fs.writeFileSync(file, `From: Sender <sender@partner.example>\nTo: <${to}>\nSubject: bench ${tag}\nDate: ${new Date().toUTCString()}\nMessage-ID: <${tag}@partner.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n${body}`);
  return file;
}

/**
 * Inbound: `count` messages from the internet host to one MX over 8 SMTP sessions that stay open
 * (smtp-source -d): a well-behaved big sender, within the MX's 10 connections per client and its
 * connections per minute. Delivered per second, from the first connection to the last message in the store.
 */
async function inbound(internet: InventoryHost, t: Target, count: number, tag: string): Promise<number> {
  const file = messageFile(tag, t.inboundUser);
  const before = await storedCount(t.store, t.inboundUser);
  const started = Date.now();
  const r = await execInNetnsAsync(internet, [
    "smtp-source", "-d", "-s", "8", "-m", String(count), "-F", file, "-f", "sender@partner.example", "-t", t.inboundUser,
    "-M", internet.fqdn, `${t.mx}:25`,
  ], { timeoutMs: 600_000 });
  fs.rmSync(file, { force: true });
  if (r.status !== 0) throw new Error(`smtp-source to ${t.name} (${t.mx}): ${r.stderr}${r.stdout}`);
  const done = await until(() => storedCount(t.store, t.inboundUser), before + count, `${t.name} inbound`);
  return count / ((done - started) / 1000);
}

/** Submission: `count` messages through the submission service to `to`, counted where they land. */
async function submitted(internet: InventoryHost, t: Target, count: number, tag: string, to: string, landed: () => Promise<number>): Promise<number> {
  const before = await landed();
  const started = Date.now();
  const r = await client<SubmitResult>(internet, { action: "submit", server: t.submission, logins: t.logins, to: [to], count, tag });
  if (r.accepted !== count) throw new Error(`${t.name} submission: ${r.accepted} of ${count} accepted: ${r.errors.join("; ")}`);
  const done = await until(landed, before + count, `${t.name} submission to ${to}`);
  return count / ((done - started) / 1000);
}

/** Messages external-mx holds whose Subject carries this tag prefix. */
async function externalCount(mx: InventoryHost, tag: string): Promise<number> {
  const r = await execInHostAsync(mx, ["bash", "-c", 'grep -rlF -- "$1" "$2" | wc -l', "-", `bench ${tag}`, readInventory().externalMaildir]);
  return Number(r.stdout.trim());
}

/** Seconds a command takes. */
function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  return fn().then(() => (Date.now() - started) / 1000);
}

/** Replication lag: each sample sent to the MX, then the time between it showing on the primary and on the backup (doveadm polls, ~30 ms apart). */
async function replicationLag(internet: InventoryHost, t: Target, backup: InventoryHost, samples: number, tag: string): Promise<number[]> {
  const seen = async (host: Pick<InventoryHost, "name" | "netns">, id: string): Promise<number> => {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const r = await execInHostAsync(host, ["doveadm", "search", "-u", t.inboundUser, "mailbox", "*", "header", "message-id", id]);
      if (r.stdout.trim()) return Date.now();
    }
    throw new Error(`${id} not on ${host.name} after 60 s`);
  };
  const lags: number[] = [];
  for (let n = 0; n < samples; n++) {
    const id = `${tag}-${n}`;
    const file = messageFile(id, t.inboundUser);
    const polls = Promise.all([seen(t.store, `${id}@partner.example`), seen(backup, `${id}@partner.example`)]);
    const r = await execInNetnsAsync(internet, ["smtp-source", "-F", file, "-f", "sender@partner.example", "-t", t.inboundUser, "-M", internet.fqdn, `${t.mx}:25`]);
    fs.rmSync(file, { force: true });
    if (r.status !== 0) throw new Error(`smtp-source: ${r.stderr}${r.stdout}`);
    const [a, b] = await polls;
    lags.push(Math.max(0, b - a));
  }
  return lags;
}

/** The profile's rows: CPU per delivered message by host and program, busiest first. */
function profileRows(use: Map<string, CpuUse>, messages: number): ProfileRow[] {
  const rows: ProfileRow[] = [];
  for (const [host, programs] of use) {
    for (const [program, u] of programs) rows.push({ host, program, userMs: (u.user * 1000) / messages, systemMs: (u.system * 1000) / messages });
  }
  return rows.filter((r) => r.userMs + r.systemMs >= 0.05).sort((a, b) => b.userMs + b.systemMs - (a.userMs + a.systemMs));
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "-");

/** The result as Markdown tables, as the README carries them. */
export function table(r: BenchResult): string {
  const rate = (label: string, x: Rate | undefined) => (x ? [`| ${label} | ${fmt(x.baseline.median)} | ${fmt(x.platform.median)} | ${fmt(x.ratio, 2)} |`] : []);
  const pct = (p: Percentiles) => `${fmt(p.p50, 0)} / ${fmt(p.p99, 0)}`;
  const l = r.latencies;
  return [
    `bench, ${r.stack} lab, ${r.date}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB; ${r.options.runs} alternating runs each, medians`,
    "",
    "| measure | baseline (one host) | platform | platform / baseline |",
    "|---|---|---|---|",
    ...rate(`inbound, delivered/s (${r.options.inbound} msgs of 4 KB, 8 sessions, to one MX)`, r.rates.inbound),
    ...rate(`submission → external MX, delivered/s (${r.options.submissions} msgs)`, r.rates.submission),
    ...rate(`internal: submission → mailbox, delivered/s (${r.options.submissions} msgs)`, r.rates.internal),
    ...(l ? [
      `| 250 at the MX → visible over IMAP, p50 / p99 (ms) | ${pct(l.visibleMs.baseline)} | ${pct(l.visibleMs.platform)} | ${fmt(l.visibleMs.platform.p50 / l.visibleMs.baseline.p50, 2)} |`,
      `| replication lag, p50 / p99 (ms) | - | ${l.replicationLagMs ? pct(l.replicationLagMs) : "- (shared store)"} | - |`,
      `| IMAP login + SELECT on the store, p50 / p99 (ms) | ${pct(l.imapLoginSelectMs.baseline)} | ${pct(l.imapLoginSelectMs.maildropDirect)} | ${fmt(l.imapLoginSelectMs.maildropDirect.p50 / l.imapLoginSelectMs.baseline.p50, 2)} |`,
      `| IMAP login + SELECT through a frontend, p50 / p99 (ms) | - | ${pct(l.imapLoginSelectMs.throughFrontend)} | - |`,
    ] : []),
    ...(r.lab ? [
      `| lab up from nothing on a fresh machine (no Rspamd databases kept), prod (s) | - | ${r.lab.upFreshMachine === null ? "- (not run)" : fmt(r.lab.upFreshMachine)} | - |`,
      `| lab up from nothing, prod (s) | - | ${r.lab.upFromNothing === null ? "- (not run)" : fmt(r.lab.upFromNothing)} | - |`,
      `| lab up, no changes, ${r.stack} (s) | - | ${fmt(r.lab.upNoChanges)} | - |`,
      `| offline render of prod (s) | - | ${fmt(r.lab.renderProd)} | - |`,
    ] : []),
    "",
    "CPU per inbound message (ms), by host and program:",
    "",
    "| host | program | user | system |",
    "|---|---|---|---|",
    ...r.profile.map((p) => `| ${p.host} | ${p.program} | ${fmt(p.userMs, 2)} | ${fmt(p.systemMs, 2)} |`),
  ].join("\n");
}

/** The lab's up times and the offline render's (seconds). */
async function labTimes(cold: boolean, log: BenchOptions["log"]): Promise<NonNullable<BenchResult["lab"]>> {
  let upFreshMachine: number | null = null;
  let upFromNothing: number | null = null;
  if (cold) {
    if (inventoryExists()) await labDown(() => undefined);
    log("lab up from nothing on a fresh machine (prod, no Rspamd databases kept)");
    upFreshMachine = await withoutKeptDatabases(async () => {
      const seconds = await timed(() => labUp("prod", () => undefined));
      await labDown(() => undefined);
      return seconds;
    });
    log("lab up from nothing (prod)");
    upFromNothing = await timed(() => labUp("prod", () => undefined));
  }
  const stack = inventoryExists() ? readInventory().stack : DEFAULT_STACK;
  log(`lab up, no changes (${stack})`);
  const upNoChanges = await timed(() => labUp(stack, () => undefined));
  log("offline render of prod");
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "bench-render-"));
  const renderProd = await timed(async () => {
    const r = run([process.execPath, "--require", TSX, path.join(REPO, "scripts/render.ts"), "--stack", "prod", "--out", out], { timeoutMs: 600_000 });
    if (r.status !== 0) throw new Error(`offline render: ${r.stderr}`);
  });
  fs.rmSync(out, { recursive: true, force: true });
  return { upFreshMachine, upFromNothing, upNoChanges, renderProd };
}

/** Runs the benchmark on the lab (brought up first as the options say) and returns its figures. */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const { log } = options;
  const lab = options.inboundOnly ? null : await labTimes(options.cold, log);
  const stack = readInventory().stack;
  const inventory = readInventory();
  const { spec } = labSpecAndSecrets(stack);
  const names = serviceNames(spec);
  const host = (name: string) => inventory.hosts.find((h) => h.name === name)!;
  const role = (r: Role) => hostsOf(spec, r).map((h) => host(h.name));
  const internet = inventory.hosts.find((h) => h.role === "internet")!;
  const externalMx = inventory.hosts.find((h) => h.role === "external-mx")!;
  const [alice, bob] = inventory.users.filter((u) => !u.address.startsWith("quota-test@"));
  const [primary, backup] = role("maildrop");
  const replicated = spec.storage.mode === "replicated";

  log("baseline host: Postfix -> Dovecot LMTP");
  const baseline: Baseline = await startBaseline(spec);
  try {
    const [b1, b2] = baseline.users;
    const targets: Target[] = [
      {
        name: "baseline", mx: baseline.address, inboundUser: b1.address, store: baseline.host, replicas: [],
        submission: { host: baseline.address, port: 587 },
        logins: [{ user: b1.address, pass: b1.password, from: internet.address }, { user: b2.address, pass: b2.password, from: internet.officeAddress! }],
        internalUser: b2.address, imap: { host: baseline.address, port: 993 }, profiled: [baseline.host],
      },
      {
        name: "platform", mx: inventory.endpoints.mx[0], inboundUser: alice.address, store: primary, replicas: replicated ? [backup] : [],
        submission: { host: inventory.endpoints.submission[0], port: 587, servername: names.submission, ca: inventory.caCertificate },
        // Each login from its own address: the frontends pass the client's address on, and smtp-out limits each.
        logins: [{ user: alice.address, pass: alice.password, from: internet.address }, { user: bob.address, pass: bob.password, from: internet.officeAddress! }],
        internalUser: bob.address, imap: { host: inventory.endpoints.imap[0], port: 993, servername: names.imap, ca: inventory.caCertificate },
        profiled: [role("smtp-in")[0], ...(replicated ? [primary, backup] : [primary])],
      },
    ];
    const run36 = Date.now().toString(36);
    // Warm-up, not measured: postscreen admits a new client after its greeting test; TLS session caches fill.
    for (const t of targets) await inbound(internet, t, 1, `w${run36}${t.name}`);

    const rates: Record<"inbound" | "submission" | "internal", [number[], number[]]> = { inbound: [[], []], submission: [[], []], internal: [[], []] };
    const cpu = new Map<string, CpuUse>();
    for (let i = 0; i < options.runs; i++) {
      for (const [k, t] of targets.entries()) {
        const tag = `b${run36}r${i}${t.name}`;
        await emptyInbox(t);
        const before = t.profiled.map((h) => snapshot(h));
        const rate = await inbound(internet, t, options.inbound, `${tag}in`);
        t.profiled.forEach((h, j) => cpu.set(h.name, addUse(cpu.get(h.name) ?? new Map(), cpuBetween(before[j], snapshot(h)))));
        rates.inbound[k].push(rate);
        log(`round ${i + 1}, ${t.name}: inbound ${fmt(rate)}/s`);
        if (options.inboundOnly) continue;
        rates.submission[k].push(await submitted(internet, t, options.submissions, `${tag}sub`, "bench@partner.example", () => externalCount(externalMx, `${tag}sub`)));
        rates.internal[k].push(await submitted(internet, t, options.submissions, `${tag}int`, t.internalUser, () => storedCount(t.store, t.internalUser)));
        log(`round ${i + 1}, ${t.name}: submission ${fmt(rates.submission[k][i])}/s, internal ${fmt(rates.internal[k][i])}/s`);
      }
    }

    async function measureLatencies(): Promise<NonNullable<BenchResult["latencies"]>> {
      log("latencies");
      const [bt, pt] = targets;
      const visible = async (t: Target, user: { address: string; password: string }) => (await client<SamplesResult>(internet, {
        action: "visible", samples: options.samples, tag: `v${run36}${t.name}`,
        smtp: { host: t.mx, port: 25, from: internet.address, helo: internet.fqdn, mailFrom: "sender@partner.example" },
        imap: { ...t.imap, user: user.address, pass: user.password },
      })).ms;
      const login = async (from: Pick<InventoryHost, "netns">, imap: Server, user: { address: string; password: string }) =>
        (await client<SamplesResult>(from, { action: "login", samples: options.samples, imap: { ...imap, user: user.address, pass: user.password } })).ms;
      const visibleMs = { baseline: percentiles(await visible(bt, b2)), platform: percentiles(await visible(pt, bob)) };
      const replicationLagMs = replicated ? percentiles(await replicationLag(internet, pt, backup, options.samples, `l${run36}`)) : null;
      const imapLoginSelectMs = {
        baseline: percentiles(await login(internet, bt.imap, b1)),
        // From the maildrop's own namespace to its own address: the store without the proxy.
        maildropDirect: percentiles(await login(primary, { host: primary.address, port: 993, servername: primary.fqdn, ca: inventory.caCertificate }, alice)),
        throughFrontend: percentiles(await login(internet, pt.imap, alice)),
      };
      return { visibleMs, replicationLagMs, imapLoginSelectMs };
    }
    const latencies = options.inboundOnly ? null : await measureLatencies();
    const delivered = options.runs * options.inbound;
    const result: BenchResult = {
      date: new Date().toISOString(),
      machine: { cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30) },
      stack,
      options: { runs: options.runs, inbound: options.inbound, submissions: options.submissions, samples: options.samples, cold: options.cold, inboundOnly: options.inboundOnly },
      rates: Object.fromEntries(Object.entries(rates).filter(([, [b]]) => b.length > 0).map(([k, [b, p]]) => {
        const [fb, fp] = [figures(b), figures(p)];
        return [k, { baseline: fb, platform: fp, ratio: fp.median / fb.median }];
      })) as BenchResult["rates"],
      latencies,
      lab,
      profile: profileRows(cpu, delivered),
    };
    return result;
  } finally {
    await stopBaseline();
  }
}
