// The local lab: the whole platform of a stack on this machine, with the real daemons, one lab host
// per VM plus the outside world (internet, external-mx, dns). The library the CLI (lab/cli.ts) and
// the end-to-end tests (tests/lab/) use. Needs root.
import * as fs from "fs";
import * as path from "path";
import { mailRoot, PlatformSpec, renderPlatform } from "@mailplatform/core";
import { ensureTrustAnchor, startDns } from "./dns";
import { startExternalMx } from "./external-mx";
import { applyFirewall } from "./firewall";
import { execInHost, execInNetns, HostEnvironment, hostPid, hostUsage, startHost, stopHost } from "./hosts";
import { buildInventory, Inventory, InventoryHost, inventoryExists, readInventory, writeInventory } from "./inventory";
import { ensureBridge, labNetnsNames, NETNS_PREFIX, removeBridge, removeNetns, waitForLinksGone, wireHost } from "./network";
import { BUNDLES_DIR, HOSTS_DIR, INVENTORY_FILE, VOLUMES_DIR } from "./paths";
import { isPlatformHost, labHosts, LabHost, OUTSIDE } from "./plan";
import { ensurePackages, LAB_PACKAGES } from "./packages";
import { inParallel, provisionHost, writeBundles } from "./provision";
import { labSpecAndSecrets } from "./spec";
import { run, RunOptions, RunResult } from "./system";

export { Inventory, InventoryHost, readInventory } from "./inventory";
export { RunResult } from "./system";

export const DEFAULT_STACK = "staging";
/** Hosts provisioned at once: two cores, and Rspamd's first start alone takes one for ~10 s. */
const PROVISION_CONCURRENCY = 3;

type Log = (line: string) => void;

function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error("the lab needs root (namespaces, mounts, a bridge, packages)");
}

/**
 * Brings the stack's lab up, or completes it: hosts that run are kept, the others start fresh;
 * every platform host is (re)provisioned, which changes nothing when nothing changed.
 */
export async function labUp(stack = DEFAULT_STACK, log: Log = console.log): Promise<Inventory> {
  requireRoot();
  if (inventoryExists() && readInventory().stack !== stack) {
    throw new Error(`the lab runs stack ${readInventory().stack}: take it down first (npm run lab -- down)`);
  }
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  ensurePackages(LAB_PACKAGES, log); // doveadm hashes the lab users' passwords
  const { spec, secrets } = labSpecAndSecrets(stack);
  const bundles = renderPlatform(spec, secrets.platform);
  // Before any host starts: a host's overlays sit on this machine's /usr.
  ensurePackages(bundles.flatMap((b) => b.packages), log);
  const hosts = labHosts(spec);
  log(`lab ${stack}: ${hosts.length} hosts on bridge mplab0`);

  const trustAnchor = ensureTrustAnchor();
  ensureBridge();
  for (const host of hosts) {
    wireHost(spec, hosts, host);
    if (isPlatformHost(host)) applyFirewall(spec, host);
    const running = hostPid(host) !== undefined;
    if (!running) await startHost(host, { resolver: OUTSIDE.dns, trustAnchor, sharedVolume: sharedVolumeOf(spec, host) });
    log(`  ${host.name.padEnd(14)} ${running ? "running" : "started"}  ${[host.address, host.publicAddress, host.egressAddress, host.officeAddress].filter(Boolean).join(", ")}`);
  }
  const byRole = (role: LabHost["role"]) => hosts.find((h) => h.role === role)!;
  log(`  dns            unbound ${startDns(spec, hosts, secrets, byRole("dns"))}`);
  log(`  external-mx    postfix ${startExternalMx(byRole("external-mx"), spec)}`);

  const platform = hosts.filter(isPlatformHost);
  writeBundles(bundles);
  log(`provisioning ${platform.length} platform hosts (files/provision.sh apply, ${PROVISION_CONCURRENCY} at a time)`);
  const results = await inParallel(platform, PROVISION_CONCURRENCY, async (h) => {
    const r = await provisionHost(h);
    log(`  ${h.name.padEnd(14)} ${r.ok ? "ok" : "FAILED"} in ${r.seconds.toFixed(1)} s: ${r.summary}`);
    return r;
  });
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) {
    throw new Error(`provisioning failed on ${failed.map((r) => r.host).join(", ")}: see ${failed.map((r) => r.log).join(", ")}`);
  }

  const inventory = buildInventory(spec, hosts, secrets);
  writeInventory(inventory, secrets.platform.caCertificatePem);
  log(`lab ${stack} up in ${elapsed()}: ${INVENTORY_FILE}`);
  return inventory;
}

/**
 * In shared storage mode the cloud mounts one Manila share on both maildrops; the lab mounts one
 * directory of this machine on both (a local filesystem: active/passive needs no more).
 */
function sharedVolumeOf(spec: PlatformSpec, host: LabHost): HostEnvironment["sharedVolume"] {
  if (host.role !== "maildrop" || spec.storage.mode !== "shared") return undefined;
  const source = path.join(VOLUMES_DIR, "maildrop-share");
  fs.mkdirSync(source, { recursive: true, mode: 0o755 });
  return { source, target: mailRoot(spec) };
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
  await Promise.all(hosts.map((h) => stopHost(h)));
  for (const h of hosts) {
    // Whatever else runs in the namespace (a client a test started with inNetns) goes too.
    for (const pid of run(["ip", "netns", "pids", h.netns]).stdout.split("\n").filter(Boolean)) run(["kill", "-KILL", pid]);
    await removeNetns(h.netns);
  }
  await waitForLinksGone();
  removeBridge();
  for (const p of [HOSTS_DIR, BUNDLES_DIR, VOLUMES_DIR, INVENTORY_FILE]) fs.rmSync(p, { recursive: true, force: true });
  log(`lab down: ${hosts.length} hosts stopped in ${((Date.now() - started) / 1000).toFixed(1)} s`);
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

function serviceAction(host: string, service: string, action: "start" | "stop"): void {
  // A daemon started from a piped command keeps the pipe open (LAB-NOTES): no descriptors to hold.
  const r = labExec(host, ["bash", "-c", 'service "$1" "$2" </dev/null >/tmp/service.log 2>&1 || { cat /tmp/service.log; exit 1; }', "-", service, action], { timeoutMs: 120_000 });
  if (r.status !== 0) throw new Error(`${host}: service ${service} ${action} failed: ${r.stderr}${r.stdout}`);
}

export const stopService = (host: string, service: string) => serviceAction(host, service, "stop");
export const startService = (host: string, service: string) => serviceAction(host, service, "start");

export interface HostStatus {
  name: string;
  role: string;
  addresses: string[];
  running: boolean;
  processes: number;
  memoryMiB: number;
}

export function labStatus(): HostStatus[] {
  return readInventory().hosts.map((h) => {
    const usage = hostUsage(h);
    return {
      name: h.name,
      role: h.role,
      addresses: [h.address, h.publicAddress, h.egressAddress, h.officeAddress].filter((a): a is string => !!a),
      running: usage !== undefined,
      processes: usage?.processes ?? 0,
      memoryMiB: Math.round((usage?.pssKiB ?? 0) / 1024),
    };
  });
}
