// Platform hosts are provisioned exactly like VMs: the core renders each host's bundle, and the very
// same files/provision.sh applies it inside the host (installing nothing: /usr is this machine's,
// where every package is already installed).
import * as fs from "fs";
import * as path from "path";
import { HostBundle, hostScriptPath, writeBundle } from "@mailplatform/core";
import { execInHostAsync } from "./hosts";
import { PROVISION_ENV } from "./packages";
import { bundleDir, hostDir } from "./paths";
import { PlatformLabHost } from "./plan";

export function writeBundles(bundles: HostBundle[]): void {
  for (const b of bundles) writeBundle(bundleDir(b.host.name), b);
}

export interface ProvisionResult {
  host: string;
  ok: boolean;
  seconds: number;
  /** provision.sh's last line ("done: ..." or "no changes"), or the error. */
  summary: string;
  log: string;
}

/** Runs `provision.sh apply` in the host (its current bundle unless told another); the whole output goes to .lab/hosts/<name>/provision.log. */
export async function provisionHost(host: PlatformLabHost, bundle = bundleDir(host.name)): Promise<ProvisionResult> {
  const name = host.name;
  const start = Date.now();
  const r = await execInHostAsync(host, ["env", ...PROVISION_ENV, "bash", hostScriptPath("provision.sh"), "apply", bundle], { timeoutMs: 900_000 });
  const log = path.join(hostDir(name), "provision.log");
  fs.writeFileSync(log, r.stdout + r.stderr);
  const lines = (r.status === 0 ? r.stdout : r.stderr || r.stdout).trim().split("\n");
  const summary = lines[lines.length - 1]?.replace(/^provision [^:]+: /, "") ?? "";
  return { host: name, ok: r.status === 0, seconds: (Date.now() - start) / 1000, summary, log };
}

/** Runs tasks with at most `limit` at a time (two cores: the daemons' first starts are CPU-bound). */
export async function inParallel<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
