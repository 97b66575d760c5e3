// Where a lab host's CPU goes: every process of the host read from /proc/<pid>/stat before and after
// a run, user and system time per program. A process that exits during the run is counted through
// its parent's reaped-children times (cutime/cstime), under "<parent> (exited children)": Postfix's
// master and Dovecot's master reap their workers, the host's tini the rest.
import * as fs from "fs";
import { execSync } from "child_process";
import { hostProcesses } from "../hosts";
import { LabHost } from "../plan";

const TICKS = Number(execSync("getconf CLK_TCK", { encoding: "utf8" }).trim()) || 100;

interface Proc {
  comm: string;
  parent: string;
  /** Clock ticks: own user and system time, and that of its reaped children. */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
}

/** pid:starttime → the process's times, for every process of the host. */
export type Snapshot = Map<string, Proc & { ppid: number }>;

function stat(pid: number): (Proc & { ppid: number; start: string }) | undefined {
  let line: string;
  try {
    line = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // exited meanwhile
  }
  // comm is in parentheses and may hold spaces: the fields after the last ')'.
  const close = line.lastIndexOf(")");
  const comm = line.slice(line.indexOf("(") + 1, close);
  const f = line.slice(close + 2).split(" ");
  // After comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14) ... starttime(19)
  return { comm, parent: "", ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), cutime: Number(f[13]), cstime: Number(f[14]), start: f[19] };
}

export function snapshot(host: Pick<LabHost, "name" | "netns">): Snapshot {
  const snap: Snapshot = new Map();
  const byPid = new Map<number, string>();
  for (const pid of hostProcesses(host) ?? []) {
    const s = stat(pid);
    if (!s) continue;
    byPid.set(pid, s.comm);
    snap.set(`${pid}:${s.start}`, s);
  }
  for (const p of snap.values()) p.parent = byPid.get(p.ppid) ?? "?";
  return snap;
}

/** Seconds of CPU per program name, user and system. */
export type CpuUse = Map<string, { user: number; system: number }>;

/** What the host's processes used between two snapshots, by program. */
export function cpuBetween(before: Snapshot, after: Snapshot): CpuUse {
  const use: CpuUse = new Map();
  const add = (name: string, user: number, system: number) => {
    const u = use.get(name) ?? { user: 0, system: 0 };
    use.set(name, { user: u.user + user / TICKS, system: u.system + system / TICKS });
  };
  for (const [key, a] of after) {
    const b = before.get(key);
    add(a.comm, a.utime - (b?.utime ?? 0), a.stime - (b?.stime ?? 0));
    // Children reaped during the run: their whole lives, less what the first snapshot already saw of them.
    add(`${a.comm} (exited children)`, a.cutime - (b?.cutime ?? 0), a.cstime - (b?.cstime ?? 0));
  }
  for (const [key, b] of before) {
    if (after.has(key)) continue;
    add(`${b.parent} (exited children)`, -b.utime, -b.stime);
  }
  for (const [name, u] of use) if (u.user + u.system <= 0) use.delete(name);
  return use;
}

/** Sums CPU uses (several runs of the same host). */
export function addUse(into: CpuUse, more: CpuUse): CpuUse {
  for (const [name, u] of more) {
    const v = into.get(name) ?? { user: 0, system: 0 };
    into.set(name, { user: v.user + u.user, system: v.system + u.system });
  }
  return into;
}
