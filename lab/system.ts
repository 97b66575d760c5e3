// Running commands on this machine: the lab's only way of touching it (ip, nft, nsenter, unshare).
import { spawn, spawnSync } from "child_process";

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
}

/** A clean environment: nothing of the caller's (npm, tsx, secrets in variables) leaks into hosts. */
export const HOST_ENV = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C.UTF-8",
  HOME: "/root",
  TERM: process.env.TERM ?? "dumb",
};

export function run(argv: string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(argv[0], argv.slice(1), {
    input: opts.input,
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
    env: HOST_ENV,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Like run(), but throws with the command's output when it fails. */
export function must(argv: string[], opts: RunOptions = {}): string {
  const r = run(argv, opts);
  if (r.status !== 0) throw new Error(`${argv.join(" ")}: exit ${r.status}\n${r.stderr || r.stdout}`);
  return r.stdout;
}

/** run() without blocking the event loop, so hosts can be provisioned side by side. */
export function runAsync(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env: HOST_ENV, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 600_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr });
    });
    // A command that exits without reading its input (doveadm, polled often) would make the write fail with EPIPE.
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
