// A throw-away "host" on this machine, made of namespaces like a lab host: its own mounts (overlays
// over /etc /var /root /home /srv /tmp with upper layers on a tmpfs, so it sees the machine's files,
// a checkout under /tmp included, but its writes stay in it; fresh /run and /dev), network (loopback,
// and veth links to other sandboxes), processes (tini as PID 1), hostname and IPC. Daemons run in
// it for real and die with it; nothing it writes reaches the machine. Needs root, unshare, nsenter, tini.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface SandboxOptions {
  hostname?: string;
  /** Run busybox syslogd so daemons' logs land in /var/log/messages. */
  syslog?: boolean;
  /** Addresses (IPv4) on loopback: the host's own, and any a test's clients send from. */
  addresses?: string[];
}

const SETUP = String.raw`
set -euo pipefail
mount -t tmpfs -o mode=0755 sandbox-run /run
mkdir -p /run/lock
layers=/run/sandbox-layers
mkdir -m 0700 $layers
for d in /etc /var /root /home /srv /tmp; do
  mkdir -p $layers/upper$d $layers/work$d
  # The merged directory takes the upper one's mode: keep /tmp's 1777.
  chmod --reference=$d $layers/upper$d
  mount -t overlay overlay -o lowerdir=$d,upperdir=$layers/upper$d,workdir=$layers/work$d $d
done
# A private /dev, so /dev/log and /dev/shm are this host's own.
dev=$layers/dev
mkdir $dev && mount -t tmpfs -o mode=0755 sandbox-dev $dev
for n in null zero full random urandom tty; do touch $dev/$n; mount --bind /dev/$n $dev/$n; done
mkdir $dev/pts $dev/shm && mount --bind /dev/pts $dev/pts && mount -t tmpfs -o mode=1777 shm $dev/shm
ln -s /proc/self/fd $dev/fd && ln -s pts/ptmx $dev/ptmx
mount --move $dev /dev
ip link set lo up
for a in $SANDBOX_ADDRESSES; do ip addr add "$a/32" dev lo; done
hostname "$SANDBOX_HOSTNAME"
echo "$SANDBOX_HOSTNAME" >/etc/hostname
echo "$SANDBOX_HOSTNAME" >/etc/mailname
printf '127.0.0.1 localhost\n127.0.1.1 %s\n::1 localhost\n' "$SANDBOX_HOSTNAME" >/etc/hosts
if [ "$SANDBOX_SYSLOG" = 1 ]; then busybox syslogd -O /var/log/messages </dev/null >/dev/null 2>&1; fi
echo ready
exec tini -- sleep infinity </dev/null >/dev/null 2>&1
`;

export class Sandbox {
  private static links = 0;
  private static live = new Set<Sandbox>();
  static {
    // Also when the test run ends without calling stop() (an interrupted run, a failing hook).
    process.once("exit", () => Sandbox.live.forEach((s) => s.kill()));
  }

  private constructor(
    private readonly unshare: ChildProcess,
    /** PID 1 of the sandbox, as seen from this machine. */
    readonly pid: number,
    readonly addresses: string[],
  ) {}

  static async start(opts: SandboxOptions = {}): Promise<Sandbox> {
    const unshare = spawn(
      "unshare",
      ["--mount", "--propagation", "private", "--uts", "--ipc", "--net", "--pid", "--fork", "--mount-proc", "bash", "-c", SETUP],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          SANDBOX_HOSTNAME: opts.hostname ?? "sandbox",
          SANDBOX_SYSLOG: opts.syslog ? "1" : "0",
          SANDBOX_ADDRESSES: (opts.addresses ?? []).join(" "),
        },
      },
    );
    let stderr = "";
    unshare.stderr!.on("data", (d) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      unshare.stdout!.on("data", (d) => String(d).includes("ready") && resolve());
      unshare.on("exit", (code) => reject(new Error(`sandbox setup failed (exit ${code}): ${stderr}`)));
    });
    // unshare --fork: the sandbox's PID 1 is unshare's only child.
    const children = fs.readFileSync(`/proc/${unshare.pid}/task/${unshare.pid}/children`, "utf8").trim();
    const sandbox = new Sandbox(unshare, Number(children.split(" ")[0]), opts.addresses ?? []);
    Sandbox.live.add(sandbox);
    unshare.once("exit", () => Sandbox.live.delete(sandbox));
    return sandbox;
  }

  /**
   * Connects two sandboxes with a veth pair, as a site network would: each routes the other's
   * addresses over it, from its own first address.
   */
  static link(a: Sandbox, b: Sandbox): void {
    const dev = `sbx${Sandbox.links++}`;
    // Only the network namespace is entered: the peer's PID is this machine's.
    const r = spawnSync("nsenter", ["-t", String(a.pid), "-n", "--", "ip", "link", "add", dev, "type", "veth", "peer", "name", dev, "netns", String(b.pid)], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`sandbox: cannot link: ${r.stderr}`);
    for (const [self, peer] of [[a, b], [b, a]]) {
      self.ok([`ip link set ${dev} up`, ...peer.addresses.map((x) => `ip route add ${x}/32 dev ${dev} src ${self.addresses[0]}`)].join("\n"));
    }
  }

  /** Where this machine reaches a path of the sandbox's own file system. */
  path(p: string): string {
    return `/proc/${this.pid}/root${p}`;
  }

  private nsenter(script: string): string[] {
    return ["-t", String(this.pid), "-m", "-u", "-i", "-n", "-p", "--", "bash", "-c", script];
  }

  /** Runs a bash script inside the sandbox, as root. */
  run(script: string, opts: { input?: string | Buffer; timeoutMs?: number } = {}): RunResult {
    const r = spawnSync("nsenter", this.nsenter(script), {
      input: opts.input,
      encoding: "utf8",
      timeout: opts.timeoutMs ?? 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Like run(), without blocking this process: sandboxes can work side by side. */
  runAsync(script: string): Promise<RunResult> {
    const child = spawn("nsenter", this.nsenter(script), { stdio: ["ignore", "pipe", "pipe"] });
    let [stdout, stderr] = ["", ""];
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    return new Promise((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
    });
  }

  /** Like run(), but throws with the output when the script fails. */
  ok(script: string, opts: { input?: string | Buffer; timeoutMs?: number } = {}): string {
    const r = this.run(script, opts);
    if (r.status !== 0) throw new Error(`sandbox: exit ${r.status} from ${script}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** Kills PID 1, which takes every process of the sandbox with it; its mounts go with them. */
  async stop(): Promise<void> {
    if (this.unshare.exitCode !== null) return;
    const exited = new Promise((resolve) => this.unshare.once("exit", resolve));
    this.kill();
    await exited;
  }

  private kill(): void {
    try {
      process.kill(this.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
