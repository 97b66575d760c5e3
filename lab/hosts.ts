// A lab host: its own network namespace (made by network.ts) and, inside it, its own mount, PID,
// UTS and IPC namespaces with tini as PID 1. The machine's /etc, /var, /root, /home and /srv are
// the lower layers of overlays whose upper layers live in .lab/hosts/<name>/, so a host starts as
// a copy of this machine (every package already installed) and diverges only in what it writes.
// /run, /tmp and /dev are fresh at every boot. The upper layers are the host's disk: kept when the
// host crashes and boots again, wiped only when it is replaced or the lab goes down. Hosts run
// detached: they outlive the command that started them.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { hostDir, REPO } from "./paths";
import { LabHost } from "./plan";
import { HOST_ENV, run, RunOptions, RunResult, runAsync, sleep } from "./system";

const SETUP = String.raw`
set -euo pipefail
# The machine's /run/netns mounts came along with the mount namespace; left here they would keep
# 'ip netns del' busy for as long as this host lives.
umount -l /run/netns 2>/dev/null || true
for d in /etc /var /root /home /srv; do
  mkdir -p "$LAB_STATE/upper$d" "$LAB_STATE/work$d"
  mount -t overlay overlay -o "lowerdir=$d,upperdir=$LAB_STATE/upper$d,workdir=$LAB_STATE/work$d" "$d"
done
# Volumes that outlive the root disk (a maildrop's mail store, a Postfix queue), mounted where the
# cloud mounts them: "source target" a line.
while read -r source target; do
  [ -n "$source" ] || continue
  mkdir -p "$target" && mount --bind "$source" "$target"
done <<<"$LAB_VOLUMES"
mount -t tmpfs -o mode=0755 lab-run /run
mkdir -p /run/lock
# A fresh /tmp; when the checkout itself lives under /tmp (a CI clone), it stays visible, writable
# in place, at its own path.
if [ -n "$LAB_KEEP_IN_TMP" ]; then mkdir /run/machine-tmp && mount --bind /tmp /run/machine-tmp; fi
mount -t tmpfs -o mode=1777 lab-tmp /tmp
if [ -n "$LAB_KEEP_IN_TMP" ]; then
  mkdir -p "/tmp/$LAB_KEEP_IN_TMP" && mount --bind "/run/machine-tmp/$LAB_KEEP_IN_TMP" "/tmp/$LAB_KEEP_IN_TMP"
  umount -l /run/machine-tmp && rmdir /run/machine-tmp
fi
# This network namespace's view of /sys (interfaces, their sysctls).
mount -t sysfs sysfs /sys
# A private /dev, so /dev/log and /dev/shm are this host's own.
dev=/tmp/.lab-dev
mkdir "$dev" && mount -t tmpfs -o mode=0755 lab-dev "$dev"
for n in null zero full random urandom tty; do touch "$dev/$n"; mount --bind "/dev/$n" "$dev/$n"; done
mkdir "$dev/pts" "$dev/shm" && mount --bind /dev/pts "$dev/pts" && mount -t tmpfs -o mode=1777 shm "$dev/shm"
ln -s /proc/self/fd "$dev/fd" && ln -s pts/ptmx "$dev/ptmx"
mount --move "$dev" /dev
rmdir "$dev"
# The lab's DNS root is signed with the lab's key: trust it instead of the real root's (/usr is shared).
mount --bind "$LAB_TRUST_ANCHOR" /usr/share/dns/root.key
# Identity: the lower /etc carries this machine's. Written on a fresh disk only, as a cloud image's
# first boot does: a reboot keeps what the host's own configuration made of them.
hostname "$LAB_HOSTNAME"
if [ -n "$LAB_FRESH_DISK" ]; then
  echo "$LAB_HOSTNAME" >/etc/hostname
  echo "$LAB_FQDN" >/etc/mailname
  printf '127.0.0.1 localhost\n%s %s %s\n::1 localhost ip6-localhost ip6-loopback\n' "$LAB_ADDRESS" "$LAB_FQDN" "$LAB_HOSTNAME" >/etc/hosts
  rm -f /etc/resolv.conf
  echo "nameserver $LAB_RESOLVER" >/etc/resolv.conf
fi
# Daemons log to /dev/log, as on a VM; 'lab logs <host>' reads the file.
busybox syslogd -O /var/log/messages </dev/null >/dev/null 2>&1
touch "$LAB_READY"
exec tini -- sleep infinity </dev/null >/dev/null 2>&1
`;

const pidFile = (name: string) => path.join(hostDir(name), "pid");
/** The host's root disk: the upper layers of its overlays, one directory per overlaid path. */
export const diskDir = (name: string) => path.join(hostDir(name), "upper");

/** Whether the host has a disk: it ran, and was not replaced or taken down since. */
export const hasDisk = (name: string) => fs.existsSync(diskDir(name));

/** Drops the host's root disk (upper and work layers); volumes live elsewhere. The host must not run. */
export function wipeDisk(name: string): void {
  for (const d of [diskDir(name), path.join(hostDir(name), "work")]) fs.rmSync(d, { recursive: true, force: true });
}

/** Inode of a network namespace, to tell our host's PID 1 from an unrelated process that reused its pid. */
function netnsInode(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}

/** PID (as this machine sees it) of the host's tini, or undefined when the host is not running. */
export function hostPid(host: Pick<LabHost, "name" | "netns">): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile(host.name), "utf8").trim());
  } catch {
    return undefined;
  }
  const ns = netnsInode(`/run/netns/${host.netns}`);
  if (!pid || ns === undefined || netnsInode(`/proc/${pid}/ns/net`) !== ns) return undefined;
  return pid;
}

export interface HostEnvironment {
  /** The DNS server in /etc/resolv.conf until the host's own configuration replaces it. */
  resolver: string;
  /** The DNS root's trust anchor, mounted over the real root's. */
  trustAnchor: string;
  /** Directories of this machine mounted into the host: volumes that outlive its root disk. */
  volumes: { source: string; target: string }[];
}

/**
 * Boots the host inside its (already made) network namespace, on its disk when it has one (it
 * crashed), else on a fresh copy of the machine. Its daemons are provisioning's business.
 */
export async function startHost(host: LabHost, env: HostEnvironment): Promise<number> {
  const dir = hostDir(host.name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ready = path.join(dir, "ready");
  fs.rmSync(ready, { force: true });
  const freshDisk = !hasDisk(host.name);
  // From a file, so `ps` on this machine shows a short command line rather than the whole script.
  const setup = path.join(dir, "setup.sh");
  fs.writeFileSync(setup, SETUP, { mode: 0o700 });
  const console = fs.openSync(path.join(dir, "console.log"), "a");
  const child = spawn(
    "nsenter",
    [`--net=/run/netns/${host.netns}`, "--", "unshare", "--mount", "--propagation", "private", "--uts", "--ipc", "--pid", "--fork", "--mount-proc", "--", "bash", setup],
    {
      detached: true,
      stdio: ["ignore", console, console],
      env: {
        ...HOST_ENV, LAB_STATE: dir, LAB_READY: ready, LAB_HOSTNAME: host.name, LAB_FQDN: host.fqdn, LAB_ADDRESS: host.address, LAB_RESOLVER: env.resolver, LAB_TRUST_ANCHOR: env.trustAnchor,
        LAB_KEEP_IN_TMP: REPO.startsWith("/tmp/") ? REPO.split("/")[2] : "",
        LAB_VOLUMES: env.volumes.map((v) => `${v.source} ${v.target}`).join("\n"), LAB_FRESH_DISK: freshDisk ? "1" : "",
      },
    },
  );
  fs.closeSync(console);
  child.unref();
  let exited = false;
  child.once("exit", () => (exited = true));
  for (let i = 0; i < 200 && !exited; i++) {
    if (fs.existsSync(ready)) {
      // nsenter execs unshare; unshare --fork has one child, the host's PID 1 (bash, then tini).
      const children = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim();
      const pid = Number(children.split(" ")[0]);
      fs.writeFileSync(pidFile(host.name), `${pid}\n`);
      return pid;
    }
    await sleep(50);
  }
  throw new Error(`${host.name}: the host did not start (see ${path.join(dir, "console.log")})`);
}

/**
 * Kills the host's PID 1, which takes every process of the host, and its mounts, with it (a crash:
 * the disk stays). Returns once the last process is gone, so the disk is free for the next boot.
 */
export async function stopHost(host: Pick<LabHost, "name" | "netns">): Promise<void> {
  const pid = hostPid(host);
  if (pid !== undefined) {
    const pidns = fs.readlinkSync(`/proc/${pid}/ns/pid`);
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 100 && pidsInNamespace(pidns).length > 0; i++) await sleep(50);
  }
  fs.rmSync(pidFile(host.name), { force: true });
}

/** Every process (pids as this machine sees them) in a PID namespace, given as its /proc/<pid>/ns/pid link. */
function pidsInNamespace(pidns: string): number[] {
  return fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((p) => {
    try {
      return fs.readlinkSync(`/proc/${p}/ns/pid`) === pidns;
    } catch {
      return false; // exited meanwhile
    }
  }).map(Number);
}

/** The running host's root as this machine sees it (its PID 1's: the host's mounts, overlays included). */
export function hostRoot(host: Pick<LabHost, "name" | "netns">): string {
  const pid = hostPid(host);
  if (pid === undefined) throw new Error(`lab host ${host.name} is not running (npm run lab -- up)`);
  return `/proc/${pid}/root`;
}

/** Every process of the host (its PID namespace: daemons and whatever entered with nsenter), or undefined when it is not running. */
export function hostProcesses(host: Pick<LabHost, "name" | "netns">): number[] | undefined {
  const pid = hostPid(host);
  return pid === undefined ? undefined : pidsInNamespace(fs.readlinkSync(`/proc/${pid}/ns/pid`));
}

/** The command line that runs argv in every namespace of the host (nsenter). */
export function enterArgv(host: Pick<LabHost, "name" | "netns">, argv: string[]): string[] {
  const pid = hostPid(host);
  if (pid === undefined) throw new Error(`lab host ${host.name} is not running (npm run lab -- up)`);
  return ["nsenter", "-t", String(pid), "-m", "-u", "-i", "-n", "-p", "--wd=/", "--", ...argv];
}

/** Runs a command inside the host (all its namespaces), as root. */
export function execInHost(host: Pick<LabHost, "name" | "netns">, argv: string[], opts: RunOptions = {}): RunResult {
  return run(enterArgv(host, argv), opts);
}

export function execInHostAsync(host: Pick<LabHost, "name" | "netns">, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runAsync(enterArgv(host, argv), opts);
}

const netnsArgv = (host: Pick<LabHost, "netns">, argv: string[]) => ["nsenter", `--net=/run/netns/${host.netns}`, "--", ...argv];

/** Runs a command in the host's network namespace only: this machine's files, the host's addresses. */
export function execInNetns(host: Pick<LabHost, "netns">, argv: string[], opts: RunOptions = {}): RunResult {
  return run(netnsArgv(host, argv), opts);
}

export function execInNetnsAsync(host: Pick<LabHost, "netns">, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runAsync(netnsArgv(host, argv), opts);
}

/** Writes a file inside the host if its content differs; true when it changed. */
export function writeHostFile(host: LabHost, file: string, content: string, mode = "0644"): boolean {
  const script = 'tmp=$(mktemp) && cat >"$tmp" && if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else install -D -m "$2" "$tmp" "$1" && rm -f "$tmp" && echo changed; fi';
  const r = execInHost(host, ["bash", "-c", script, "-", file, mode], { input: content });
  if (r.status !== 0) throw new Error(`${host.name}: cannot write ${file}: ${r.stderr}`);
  return r.stdout.includes("changed");
}

/** Processes of the host and the memory they hold (PSS: shared pages split between sharers). */
export function hostUsage(host: Pick<LabHost, "name" | "netns">): { processes: number; pssKiB: number } | undefined {
  const pids = hostProcesses(host);
  if (pids === undefined) return undefined;
  let processes = 0;
  let pssKiB = 0;
  for (const p of pids) {
    try {
      const rollup = fs.readFileSync(`/proc/${p}/smaps_rollup`, "utf8");
      processes++;
      pssKiB += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return { processes, pssKiB };
}
