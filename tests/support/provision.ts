// Hosts in tests are installed the way VMs and the lab install them: a rendered bundle, written by
// writeBundle, checked or applied by files/provision.sh, here inside a Sandbox.
import { ProvisionBundle, writeBundle } from "../../components/core/src/bundle";
import { hostScriptPath } from "../../components/core/src/host-scripts";
import { ensureSources, PROVISION_ENV } from "../../lab/packages";
import { Sandbox, SandboxOptions } from "./sandbox";

const SCRIPT = hostScriptPath("provision.sh");
let bundles = 0;

/** `provision.sh <command> <bundle dir>` in the sandbox: resolves to its output, rejects with its stderr. */
export async function provision(box: Sandbox, command: "check" | "apply", b: ProvisionBundle): Promise<string> {
  const dir = `/tmp/bundle-${bundles++}-${b.host.name}`;
  writeBundle(box.path(dir), b);
  // Sandboxes have no way out either: their build steps (which check runs too) take the sources
  // this machine fetched.
  ensureSources([b], () => undefined);
  const r = await box.runAsync(`env ${PROVISION_ENV.join(" ")} bash ${SCRIPT} ${command} ${dir}`);
  if (r.status !== 0) throw new Error(`provision.sh ${command} ${b.host.name}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

// Checks run side by side, a few at a time: much of a check is waiting (fsync, daemons starting).
const MAX_CHECKS = 4;
let checking = 0;
const queued: (() => void)[] = [];
const checked = new WeakMap<ProvisionBundle, Promise<string>>();

async function checkAlone(b: ProvisionBundle): Promise<string> {
  while (checking >= MAX_CHECKS) await new Promise<void>((resolve) => queued.push(resolve));
  checking++;
  try {
    const box = await Sandbox.start({ hostname: b.host.name });
    try {
      return await provision(box, "check", b);
    } finally {
      await box.stop();
    }
  } finally {
    checking--;
    queued.shift()?.();
  }
}

/**
 * `provision.sh check` of the bundle in a throw-away sandbox: every daemon's own checker on the
 * whole bundle. Once per bundle object (the stacks' bundles are shared), so a suite can start its
 * checks together in a hook and each test await its own.
 */
export function check(b: ProvisionBundle): Promise<string> {
  let p = checked.get(b);
  if (!p) {
    p = checkAlone(b);
    p.catch(() => undefined); // the test that awaits it reports the failure
    checked.set(b, p);
  }
  return p;
}

export interface HostOptions extends Omit<SandboxOptions, "hostname"> {
  /** Sandboxes (say, a test's fake backends and clients) linked to every host before it is applied. */
  peers?: Sandbox[];
}

/**
 * Sandboxes running the hosts: each named after its host with its address on loopback (and
 * opts.addresses), all linked to one another and to opts.peers, then `provision.sh apply` of each
 * bundle, side by side. Stop them with stop().
 */
export async function startHosts(bs: ProvisionBundle[], opts: HostOptions = {}): Promise<Sandbox[]> {
  const boxes = await Promise.all(bs.map((b) =>
    Sandbox.start({ ...opts, hostname: b.host.name, addresses: [b.host.address, ...(opts.addresses ?? [])] })));
  try {
    boxes.forEach((box, i) => [...boxes.slice(i + 1), ...(opts.peers ?? [])].forEach((peer) => Sandbox.link(box, peer)));
    await Promise.all(boxes.map((box, i) => provision(box, "apply", bs[i])));
    return boxes;
  } catch (e) {
    await Promise.all(boxes.map((box) => box.stop()));
    throw e;
  }
}

/**
 * Awaits hosts started side by side; when one fails, stops the others once they are up, so that a
 * failed hook leaves no sandbox running.
 */
export async function together(starts: Promise<Sandbox[]>[]): Promise<Sandbox[][]> {
  const results = await Promise.allSettled(starts);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (!failed) return results.map((r) => (r as PromiseFulfilledResult<Sandbox[]>).value);
  await Promise.all(results.flatMap((r) => (r.status === "fulfilled" ? r.value : [])).map((box) => box.stop()));
  throw failed.reason;
}
