// The cloud's failures that leave a host running, as the lab plays them: a silent host (every process
// of it stopped) and a network partition between two hosts (an nftables table of the lab's own in
// one host's network namespace, beside the platform's firewall table and never touching it). What
// is in force is kept in .lab/faults.json, so `status` in another process sees it.
import * as fs from "fs";
import { execInNetns, hostProcesses } from "./hosts";
import { InventoryHost } from "./inventory";
import { FAULTS_FILE } from "./paths";
import { addressesOf, LabHost } from "./plan";
import { sleep } from "./system";

export interface Faults {
  frozen: string[];
  /** Unordered pairs of host names; the table lives in the first one's namespace. */
  partitions: [string, string][];
}

export function readFaults(): Faults {
  return fs.existsSync(FAULTS_FILE) ? (JSON.parse(fs.readFileSync(FAULTS_FILE, "utf8")) as Faults) : { frozen: [], partitions: [] };
}

export function writeFaults(faults: Faults): void {
  fs.writeFileSync(FAULTS_FILE, JSON.stringify(faults, null, 2) + "\n");
}

const stopped = (pid: number) => {
  try {
    // The state follows the parenthesised command name, which may itself hold spaces. A zombie (a
    // child that exited as its parent was stopped) runs nothing, and no signal changes its state.
    return "TtZX".includes(fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0]);
  } catch {
    return true; // gone
  }
};

/**
 * SIGSTOP to every process of the host; again until none is left running, since a process may fork
 * between the listing and its signal. The kernel still completes TCP handshakes on listening
 * sockets (up to the backlog): clients connect, and then nothing answers.
 */
export async function freezeHost(host: Pick<LabHost, "name" | "netns">): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const running = (hostProcesses(host) ?? []).filter((p) => !stopped(p));
    if (running.length === 0) return;
    for (const p of running) signal(p, "SIGSTOP");
    await sleep(20);
  }
  throw new Error(`${host.name}: processes keep running after SIGSTOP`);
}

export function thawHost(host: Pick<LabHost, "name" | "netns">): void {
  for (const p of hostProcesses(host) ?? []) signal(p, "SIGCONT");
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

/** The lab's own table in a host's namespace: the platform's firewall is table inet mailplatform. */
const PARTITION_TABLE = "lab_partition";

/**
 * The host's partition table, cutting it off from every address of the peers (lab addresses are
 * IPv4), or only its deletion when it has none. Loaded as one transaction, like the firewall.
 * Priority -10: before the firewall's input chain, whose accepts cannot undo a drop here anyway.
 */
function partitionRuleset(peers: InventoryHost[]): string {
  const reset = [`table inet ${PARTITION_TABLE}`, `delete table inet ${PARTITION_TABLE}`];
  if (peers.length === 0) return reset.join("\n") + "\n";
  const set = `{ ${peers.flatMap(addressesOf).join(", ")} }`;
  return [
    ...reset,
    `table inet ${PARTITION_TABLE} {`,
    `  # Partitioned from ${peers.map((p) => p.name).join(", ")}: their packets vanish both ways.`,
    "  chain input {",
    "    type filter hook input priority -10; policy accept;",
    `    ip saddr ${set} drop`,
    "  }",
    "  chain output {",
    "    type filter hook output priority -10; policy accept;",
    `    ip daddr ${set} drop`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** Loads each listed host's partition table as the partitions say (none: the table goes). */
export function applyPartitions(hosts: InventoryHost[], partitions: Faults["partitions"], all: InventoryHost[]): void {
  const byName = (n: string) => all.find((h) => h.name === n)!;
  for (const host of hosts) {
    const peers = partitions.filter(([a]) => a === host.name).map(([, b]) => byName(b));
    const r = execInNetns(host, ["nft", "-f", "-"], { input: partitionRuleset(peers) });
    if (r.status !== 0) throw new Error(`${host.name}: nft refused the partition table: ${r.stderr}`);
  }
}
