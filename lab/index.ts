// The local lab: the whole platform of a stack on this machine, with the real daemons, one lab host
// per VM plus the outside world (internet, external-mx, dns). The library the CLI (lab/cli.ts) and
// the end-to-end tests (tests/lab/) use. Needs root.
import * as fs from "fs";
import * as path from "path";
import { HostBundle, hostVolumes, MANIFEST, ROLES, PlatformSpec, renderPlatform, SECRET_VALUES, writeBundle } from "@mailplatform/core";
import { DIRECTORY_FQDN, DIRECTORY_PACKAGES, DirectoryContent, startDirectory } from "./directory";
import { ensureTrustAnchor, startDns } from "./dns";
import { startExternalMx } from "./external-mx";
import { applyFirewall } from "./firewall";
import { applyPartitions, Faults, freezeHost, readFaults, thawHost, writeFaults } from "./faults";
import { diskDir, execInHost, execInNetns, execInNetnsAsync, hasDisk, HostEnvironment, hostPid, hostRoot, hostUsage, startHost, stopHost, wipeDisk } from "./hosts";
import { buildInventory, Inventory, InventoryHost, inventoryExists, readInventory, writeInventory } from "./inventory";
import { ensureBridge, labNetnsNames, NETNS_PREFIX, removeBridge, removeNetns, waitForLinksGone, wireHost } from "./network";
import { bundleDir, BUNDLES_DIR, FAULTS_FILE, hostDir, HOSTS_DIR, INVENTORY_FILE, VOLUMES_DIR } from "./paths";
import { addressesOf, isPlatformHost, labHosts, LabHost, OUTSIDE, PlatformLabHost } from "./plan";
import { ensurePackages, ensureSources, LAB_PACKAGES } from "./packages";
import { inParallel, provisionHost, writeBundles } from "./provision";
import { keepRspamdDatabases, rspamdLogMark, shareRspamdDatabases } from "./rspamd-cache";
import { labSpecAndSecrets, LabSecrets, LabVariant } from "./spec";
import { run, RunOptions, RunResult } from "./system";

export { Faults } from "./faults";
export { Inventory, InventoryHost, readInventory } from "./inventory";
export { RunResult } from "./system";
export { inParallel } from "./provision";
export { LabSecrets, labSpecAndSecrets, LabVariant, stackConfigFile } from "./spec";

export const DEFAULT_STACK = "staging";
/** Hosts provisioned at once: two cores, and an Rspamd compiling its databases takes one for ~15 s. */
const PROVISION_CONCURRENCY = 3;
/**
 * Rspamd hosts provisioned at once with the first one's databases: then each takes a few seconds
 * of CPU and waits for the others' (prod on 2 cores: 5 at once 20.7 s, 3 at a time 27.5 s).
 */
const SHARED_RSPAMD_CONCURRENCY = 6;

type Log = (line: string) => void;

function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error("the lab needs root (namespaces, mounts, a bridge, packages)");
}

/** What booting and provisioning hosts needs, derived from the stack. */
interface LabContext {
  spec: PlatformSpec;
  secrets: LabSecrets;
  hosts: LabHost[];
  trustAnchor: string;
  /** The directory variant's directory content. */
  directory?: DirectoryContent;
}

function labContext(stack: string, raw?: Record<string, unknown>, variant: LabVariant = {}): LabContext {
  const { spec, secrets, directory } = labSpecAndSecrets(stack, raw, variant);
  return { spec, secrets, directory, hosts: labHosts(spec, directory && DIRECTORY_FQDN), trustAnchor: ensureTrustAnchor() };
}

/** The variant of the lab that runs. */
const runningVariant = (): LabVariant => ({ directory: !!readInventory().directory });

/**
 * Wires and firewalls the host, thaws it when frozen (provisioning needs its daemons to answer) and
 * boots it on its disk when it does not run. True when it was running.
 */
async function bootHost(ctx: LabContext, host: LabHost): Promise<boolean> {
  ensureBridge();
  wireHost(ctx.spec, ctx.hosts, host);
  if (isPlatformHost(host)) applyFirewall(ctx.spec, host);
  if (readFaults().frozen.includes(host.name)) {
    thawHost(host);
    forgetFrozen(host.name);
  }
  if (hostPid(host) !== undefined) return true;
  await startHost(host, { resolver: OUTSIDE.dns, trustAnchor: ctx.trustAnchor, volumes: volumesOf(ctx.spec, host) });
  return false;
}

/** The daemon the lab itself runs on an outside host, started unless it runs ("" for internet: none). */
async function startOutsideDaemon(ctx: LabContext, host: LabHost): Promise<string> {
  if (host.role === "dns") return `unbound ${startDns(ctx.spec, ctx.hosts, ctx.secrets, host)}`;
  if (host.role === "external-mx") return `postfix ${await startExternalMx(host, ctx.spec)}`;
  if (host.role === "directory") return `slapd ${startDirectory(host, ctx.directory!, ctx.secrets)}`;
  return "";
}

interface ProvisionOptions {
  /** Hosts at once. */
  concurrency?: number;
  /** Runs after a host's apply succeeded, in the same slot; given provision.sh's summary. */
  then?: (h: PlatformLabHost, summary: string) => Promise<void>;
}

/** Applies each host's current bundle (.lab/bundles), which also starts every daemon not running. */
async function provision(hosts: PlatformLabHost[], log: Log, { concurrency = PROVISION_CONCURRENCY, then }: ProvisionOptions = {}): Promise<void> {
  log(`provisioning ${hosts.length} platform hosts (files/provision.sh apply, ${concurrency} at a time)`);
  const results = await inParallel(hosts, concurrency, async (h) => {
    const r = await provisionHost(h);
    log(`  ${h.name.padEnd(14)} ${r.ok ? "ok" : "FAILED"} in ${r.seconds.toFixed(1)} s: ${r.summary}`);
    if (r.ok && then) await then(h, r.summary);
    return r;
  });
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) {
    throw new Error(`provisioning failed on ${failed.map((r) => r.host).join(", ")}: see ${failed.map((r) => r.log).join(", ")}`);
  }
}

/**
 * Provisions the hosts with the first Rspamd host before the other Rspamd hosts, beside those
 * without Rspamd, and the databases it compiled copied into the others (rspamd-cache.ts): on a
 * machine that kept none, six MTAs compiling the same databases at once made most of a lab up.
 * What the first compiled before it answered (its URL and TLD patterns, most of the work) is
 * copied before the others start; what its hs_helper compiles after (regular expressions, a few
 * seconds) as soon as it is done, while the others check their bundles. One of them that starts
 * its Rspamd before compiles what it lacks itself.
 */
async function provisionSharingRspamd(hosts: PlatformLabHost[], bundles: HostBundle[], log: Log): Promise<void> {
  const runsRspamd = (h: PlatformLabHost) => bundles.some((b) => b.host.name === h.name && b.services.some((d) => d.service === "rspamd"));
  const [first, ...rest] = hosts.filter(runsRspamd);
  if (!first || rest.length === 0) return provision(hosts, log);
  const mark = rspamdLogMark(hostRoot(first));
  let shared: Promise<number> = Promise.resolve(0);
  const then = async (h: PlatformLabHost, summary: string) => {
    if (h !== first) return;
    const from = hostRoot(first);
    const into = rest.map(hostRoot);
    const before = await shareRspamdDatabases(from, into);
    // Where the apply left a running Rspamd alone, no hs_helper is at work to wait for.
    const started = /\b(start|restart|reload) rspamd\b/.test(summary);
    shared = started ? shareRspamdDatabases(from, into, mark).then((after) => before + after) : Promise.resolve(before);
  };
  await provision(hosts.filter((h) => !rest.includes(h)), log, { then });
  const [copied] = await Promise.all([shared, provision(rest, log, { concurrency: SHARED_RSPAMD_CONCURRENCY })]);
  if (copied > 0) log(`  ${first.name.padEnd(14)} its compiled Rspamd databases copied into ${rest.map((r) => r.name).join(", ")} (${copied} files)`);
}

/**
 * Brings the stack's lab up, or completes it: hosts that run are kept (frozen ones thawed), stopped
 * ones boot on their disks, missing ones start fresh; every platform host is (re)provisioned, which
 * changes nothing when nothing changed. Partitions stay until `heal`. A running lab of the other
 * variant becomes this one in place: its platform hosts are provisioned with the variant's bundles
 * (their mail stores stay), and a host the variant does not have (the directory) goes.
 */
export async function labUp(stack = DEFAULT_STACK, log: Log = console.log, variant: LabVariant = {}): Promise<Inventory> {
  requireRoot();
  if (inventoryExists() && readInventory().stack !== stack) {
    throw new Error(`the lab runs stack ${readInventory().stack}: take it down first (npm run lab -- down)`);
  }
  const started = Date.now();
  ensurePackages([...LAB_PACKAGES, ...(variant.directory ? DIRECTORY_PACKAGES : [])], log); // doveadm hashes the lab users' passwords
  const ctx = labContext(stack, undefined, variant);
  const { spec, secrets, hosts } = ctx;
  const bundles = renderPlatform(spec, secrets.platform);
  // Before any host starts: a host's overlays sit on this machine's /usr.
  ensurePackages(bundles.flatMap((b) => b.packages), log);
  ensureSources(bundles, log);
  log(`lab ${stack}${variant.directory ? " (directory variant)" : ""}: ${hosts.length} hosts on bridge mplab0`);
  if (inventoryExists()) {
    for (const gone of readInventory().hosts.filter((h) => !hosts.some((x) => x.name === h.name))) {
      await retireHost(gone);
      log(`  ${gone.name.padEnd(14)} removed (not in this variant)`);
    }
  }

  // At once: a boot is mostly waiting for the host's own mounts.
  const booted = hosts.map((h) => (hasDisk(h.name) ? "booted on its disk" : "started"));
  const running = await Promise.all(hosts.map((h) => bootHost(ctx, h)));
  hosts.forEach((h, i) => log(`  ${h.name.padEnd(14)} ${running[i] ? "running" : booted[i]}  ${addressesOf(h).join(", ")}`));
  // The DNS root (and the directory variant's LDAP) before the platform's hosts start, which use
  // them; the external MX, which only receives mail, beside their provisioning.
  const outside = hosts.filter((h) => !isPlatformHost(h));
  const startOutside = async (host: LabHost) => {
    const daemon = await startOutsideDaemon(ctx, host);
    if (daemon) log(`  ${host.name.padEnd(14)} ${daemon}`);
  };
  for (const host of outside.filter((h) => h.role !== "external-mx")) await startOutside(host);
  writeBundles(bundles);
  await Promise.all([
    provisionSharingRspamd(hosts.filter(isPlatformHost), bundles, log),
    ...outside.filter((h) => h.role === "external-mx").map(startOutside),
  ]);

  const inventory = buildInventory(spec, hosts, secrets, ctx.directory);
  writeInventory(inventory, secrets.platform.caCertificatePem);
  log(`lab ${stack} up in ${seconds(started)}: ${INVENTORY_FILE}`);
  return inventory;
}

/** One host's part of a push: its new bundle applied, unchanged, failed (the push stops), or not reached. */
export interface PushStep {
  host: string;
  state: "pushing" | "applied" | "unchanged" | "failed" | "not reached";
  summary?: string;
}

/**
 * Pushes a stack config to the running lab as the cloud's push does: the DNS records first (the
 * lab's DNS host stands in for the DNS provider, so a new DKIM selector is published before it can
 * sign), then host by host in role order, each by provision.sh apply of its new bundle, stopping
 * at the first failure. A host's current bundle is replaced only once provision.sh applied the new
 * one, so a push cut short anywhere leaves every host on a whole bundle, and the next push redoes
 * exactly the hosts whose current bundle differs.
 */
export async function labPush(raw: Record<string, unknown>, progress: (step: PushStep) => void = () => {}): Promise<PushStep[]> {
  requireRoot();
  const ctx = labContext(readInventory().stack, raw, runningVariant());
  const running = new Set(readInventory().hosts.map((h) => h.name));
  const missing = ctx.hosts.filter((h) => !running.has(h.name)).map((h) => h.name);
  if (missing.length > 0) throw new Error(`the lab has no host ${missing.join(", ")}: a change of topology needs npm run lab -- up`);
  await startOutsideDaemon(ctx, ctx.hosts.find((h) => h.role === "dns")!);

  const steps: PushStep[] = [];
  const report = (step: PushStep) => {
    steps.push(step);
    progress(step);
  };
  let failed = false;
  const bundles = renderPlatform(ctx.spec, ctx.secrets.platform);
  // As at up: the hosts have no way out, so their build steps take the sources this machine fetched.
  ensureSources(bundles, () => undefined);
  for (const b of bundles) {
    const name = b.host.name;
    if (failed) {
      report({ host: name, state: "not reached" });
      continue;
    }
    const next = `${bundleDir(name)}.next`;
    writeBundle(next, b);
    if (run(["diff", "-rq", bundleDir(name), next]).status === 0) {
      fs.rmSync(next, { recursive: true, force: true });
      report({ host: name, state: "unchanged" });
      continue;
    }
    progress({ host: name, state: "pushing" });
    const r = await provisionHost(ctx.hosts.find((h): h is PlatformLabHost => h.name === name && isPlatformHost(h))!, next);
    if (r.ok) {
      fs.rmSync(bundleDir(name), { recursive: true, force: true });
      fs.renameSync(next, bundleDir(name));
    }
    failed = !r.ok;
    report({ host: name, state: r.ok ? "applied" : "failed", summary: r.summary });
  }
  writeInventory(buildInventory(ctx.spec, ctx.hosts, ctx.secrets, ctx.directory), ctx.secrets.platform.caCertificatePem);
  return steps;
}

/** The files of a host's current bundle (path on the host → content), not its manifest or secret list; undefined when it has none. */
export function labBundleFiles(host: string): Map<string, string> | undefined {
  const dir = bundleDir(host);
  if (!fs.existsSync(dir)) return undefined;
  const files = new Map<string, string>();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = path.join(rel, e.name);
      if (e.isDirectory()) walk(p);
      else if (p !== `/${MANIFEST}` && p !== `/${SECRET_VALUES}`) files.set(p, fs.readFileSync(path.join(dir, p), "utf8"));
    }
  };
  walk("/");
  return files;
}

/**
 * The host's volumes (core's hostVolumes: a maildrop's mail store, every Postfix queue), mounted
 * where the OpenStack layer mounts them: a directory of this machine per volume (`<host>-<purpose>`),
 * and for shared storage one directory on both maildrops (the Manila share: a local filesystem,
 * active/passive needs no more). Each outlives the host's root disk. A new one is what a freshly
 * formatted volume's root is, root's and 0755: provisioning and Postfix take it from there.
 */
export function volumesOf(spec: PlatformSpec, host: Pick<LabHost, "name" | "role">): HostEnvironment["volumes"] {
  const role = ROLES.find((r) => r === host.role);
  return (role ? hostVolumes(spec, { role }) : []).map((v) => {
    const source = path.join(VOLUMES_DIR, v.shared ? `${host.role}-share` : `${host.name}-${v.purpose}`);
    fs.mkdirSync(source, { recursive: true, mode: 0o755 });
    return { source, target: v.mountPoint };
  });
}

/** A stopped host's namespace removed, with whatever else runs in it (a client a test started with inNetns). */
async function removeHostNetns(host: Pick<LabHost, "netns">): Promise<void> {
  for (const pid of run(["ip", "netns", "pids", host.netns]).stdout.split("\n").filter(Boolean)) run(["kill", "-KILL", pid]);
  await removeNetns(host.netns);
}

/** A host gone for good: its processes, namespace and disk. */
async function retireHost(host: Pick<LabHost, "name" | "netns">): Promise<void> {
  await stopHost(host);
  await removeHostNetns(host);
  fs.rmSync(hostDir(host.name), { recursive: true, force: true });
}

/** Stops every lab host and removes namespaces, links and the bridge. Safe when nothing is up. */
export async function labDown(log: Log = console.log): Promise<void> {
  requireRoot();
  const started = Date.now();
  const names = new Set([
    ...(fs.existsSync(HOSTS_DIR) ? fs.readdirSync(HOSTS_DIR) : []),
    ...labNetnsNames().map((n) => n.slice(NETNS_PREFIX.length)),
  ]);
  const hosts = [...names].map((name) => ({ name, netns: `${NETNS_PREFIX}${name}` }));
  // Stopped processes die of SIGKILL too, but nothing of the lab is to stay stopped, even briefly.
  for (const h of hosts.filter((x) => readFaults().frozen.includes(x.name))) thawHost(h);
  await Promise.all(hosts.map((h) => stopHost(h)));
  for (const h of hosts) await removeHostNetns(h);
  await waitForLinksGone();
  removeBridge();
  const kept = keepRspamdDatabases(hosts.map((h) => diskDir(h.name)));
  // Partition tables went with the namespaces; disks, volumes and the record of faults go here.
  for (const p of [HOSTS_DIR, BUNDLES_DIR, VOLUMES_DIR, INVENTORY_FILE, FAULTS_FILE]) fs.rmSync(p, { recursive: true, force: true });
  const keptNote = kept > 0 ? `; ${kept} compiled Rspamd databases kept for the next hosts` : "";
  log(`lab down: ${hosts.length} hosts stopped in ${((Date.now() - started) / 1000).toFixed(1)} s${keptNote}`);
}

function findHost(name: string): InventoryHost {
  const host = readInventory().hosts.find((h) => h.name === name);
  if (!host) throw new Error(`no lab host ${name} (hosts: ${readInventory().hosts.map((h) => h.name).join(", ")})`);
  return host;
}

/** Runs a command inside a lab host (all its namespaces), as root. */
export function labExec(host: string, argv: string[], opts: RunOptions = {}): RunResult {
  return execInHost(findHost(host), argv, opts);
}

/** Runs a command in a lab host's network namespace only: real clients "from" that host. */
export function inNetns(host: string, argv: string[], opts: RunOptions = {}): RunResult {
  return execInNetns(findHost(host), argv, opts);
}

/** inNetns, without blocking: several clients at once. */
export function inNetnsAsync(host: string, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return execInNetnsAsync(findHost(host), argv, opts);
}

function serviceAction(host: string, service: string, action: "start" | "stop"): void {
  // A daemon started from a piped command keeps the pipe open (LAB-NOTES): no descriptors to hold.
  const r = labExec(host, ["bash", "-c", 'service "$1" "$2" </dev/null >/tmp/service.log 2>&1 || { cat /tmp/service.log; exit 1; }', "-", service, action], { timeoutMs: 120_000 });
  if (r.status !== 0) throw new Error(`${host}: service ${service} ${action} failed: ${r.stderr}${r.stdout}`);
}

export const stopService = (host: string, service: string) => serviceAction(host, service, "stop");
export const startService = (host: string, service: string) => serviceAction(host, service, "start");

/** up: running; frozen: running, every process stopped; crashed: not running, disk kept; absent: no disk either. */
export type HostState = "up" | "frozen" | "crashed" | "absent";

export interface HostStatus {
  name: string;
  role: string;
  addresses: string[];
  state: HostState;
  running: boolean;
  processes: number;
  memoryMiB: number;
}

export function labStatus(): HostStatus[] {
  const { frozen } = readFaults();
  return readInventory().hosts.map((h) => {
    const usage = hostUsage(h);
    const running = usage !== undefined;
    return {
      name: h.name,
      role: h.role,
      addresses: addressesOf(h),
      state: running ? (frozen.includes(h.name) ? "frozen" : "up") : hasDisk(h.name) ? "crashed" : "absent",
      running,
      processes: usage?.processes ?? 0,
      memoryMiB: Math.round((usage?.pssKiB ?? 0) / 1024),
    };
  });
}

/** The faults in force: frozen hosts and partitions. */
export const labFaults = (): Faults => readFaults();

// --- The cloud's failures, one host at a time (the lab must be up) ---------------------------------

/** The lab's plan for one host of the running stack, with what booting it needs. */
function plannedHost(name: string): { ctx: LabContext; host: LabHost } {
  requireRoot();
  findHost(name);
  const ctx = labContext(readInventory().stack, undefined, runningVariant());
  return { ctx, host: ctx.hosts.find((h) => h.name === name)! };
}

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** A hypervisor crash: every process of the host killed at once; its disk and volumes stay. */
export async function labCrash(name: string, log: Log = console.log): Promise<void> {
  requireRoot();
  const host = findHost(name);
  if (hostPid(host) === undefined) throw new Error(`${name} is not running`);
  await stopHost(host);
  forgetFrozen(name);
  log(`${name}: crashed (disk kept)`);
}

/** Boots the host on its disk, then its daemons as a VM's init would (provision.sh apply on its current bundle). */
export async function labStart(name: string, log: Log = console.log): Promise<void> {
  const { ctx, host } = plannedHost(name);
  const started = Date.now();
  const running = await bootHost(ctx, host);
  log(`${name}: ${running ? "running" : "booted on its disk"} in ${seconds(started)}`);
  await startDaemons(ctx, host, log);
  log(`${name}: daemons up in ${seconds(started)}`);
}

/** A new VM for the host: a fresh root disk, the same volumes, provisioned from scratch. */
export async function labReplace(name: string, log: Log = console.log): Promise<void> {
  const { ctx, host } = plannedHost(name);
  const started = Date.now();
  await stopHost(host);
  forgetFrozen(name);
  wipeDisk(name);
  await bootHost(ctx, host);
  await startDaemons(ctx, host, log);
  log(`${name}: replaced in ${seconds(started)}`);
}

async function startDaemons(ctx: LabContext, host: LabHost, log: Log): Promise<void> {
  if (isPlatformHost(host)) await provision([host], log);
  else {
    const daemon = await startOutsideDaemon(ctx, host);
    if (daemon) log(`  ${host.name.padEnd(14)} ${daemon}`);
  }
}

function forgetFrozen(name: string): void {
  const faults = readFaults();
  if (faults.frozen.includes(name)) writeFaults({ ...faults, frozen: faults.frozen.filter((n) => n !== name) });
}

/** A silent host: every process of it stopped (SIGSTOP), its kernel still there. */
export async function labFreeze(name: string, log: Log = console.log): Promise<void> {
  requireRoot();
  const host = findHost(name);
  if (hostPid(host) === undefined) throw new Error(`${name} is not running`);
  await freezeHost(host);
  const faults = readFaults();
  if (!faults.frozen.includes(name)) writeFaults({ ...faults, frozen: [...faults.frozen, name] });
  log(`${name}: frozen`);
}

export function labThaw(name: string, log: Log = console.log): void {
  requireRoot();
  thawHost(findHost(name));
  forgetFrozen(name);
  log(`${name}: thawed`);
}

/** Packets between the two hosts vanish, both ways (a table in the first one's namespace). */
export function labPartition(a: string, b: string, log: Log = console.log): void {
  requireRoot();
  if (a === b) throw new Error("a partition needs two different hosts");
  const hostA = findHost(a);
  findHost(b);
  const faults = readFaults();
  if (!faults.partitions.some((p) => p.includes(a) && p.includes(b))) {
    const partitions: Faults["partitions"] = [...faults.partitions, [a, b]];
    applyPartitions([hostA], partitions, readInventory().hosts);
    writeFaults({ ...faults, partitions });
  }
  log(`${a} and ${b}: partitioned`);
}

/** Removes every partition (from every host, whatever the record says). */
export function labHeal(log: Log = console.log): void {
  requireRoot();
  const hosts = readInventory().hosts;
  applyPartitions(hosts, [], hosts);
  writeFaults({ ...readFaults(), partitions: [] });
  log("every partition healed");
}
