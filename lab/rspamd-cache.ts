// Rspamd compiles its regular expressions and URL patterns into hyperscan databases at its first
// start: about 15 s of CPU on one core, on each of the six MTAs of prod, which made most of a lab up
// from nothing. It keeps them in /var/lib/rspamd under names that are hashes of what they compile,
// and checks each one when it loads it (a database that no longer matches is compiled again, one
// its configuration does not use is removed). Two ways the lab saves that work:
// - Within one `up`: the first Rspamd host starts alone and what it compiled is copied into the
//   other Rspamd hosts before they start theirs (through each running host's own view of its
//   files), so a fresh machine compiles once instead of six times.
// - Between `up`s: a lab host's /var is an overlay on this machine's, so databases kept in this
//   machine's /var/lib/rspamd are what a cloud image baked with them would carry: every new host
//   starts with them. They are taken from the hosts' disks once every host has stopped (an
//   overlay's lower layer must not change under it), and only added: a name already kept holds the
//   same database. Each lab run adds a few (maps whose content differs between stacks and runs):
//   one kept longer than KEEP_DAYS goes, and comes back from the next host that still compiles it.
// The cloud path is unchanged: each VM compiles its own at its first start.
import * as fs from "fs";
import * as path from "path";
import { sleep } from "./system";

const RSPAMD_DB = "/var/lib/rspamd";
const RSPAMD_LOG = "/var/log/rspamd/rspamd.log";
const COMPILED = /\.(hs|hsmp|hsmc)(\.unser)?$/;
const KEEP_DAYS = 14;
/** Logged by Rspamd's hs_helper once every database of its configuration is compiled or loaded. */
const HS_HELPER_DONE = /rspamd_rs_compile_cb: compiled \d+ regular expressions/;

/** Copies the compiled databases of `from` that `into` lacks, each whole or not at all, with its owner and mode; how many. */
function copyAbsent(from: string, into: string): number {
  if (!fs.existsSync(from) || !fs.existsSync(into)) return 0;
  let copied = 0;
  for (const name of fs.readdirSync(from).filter((n) => COMPILED.test(n))) {
    const target = path.join(into, name);
    if (fs.existsSync(target)) continue;
    const source = fs.statSync(path.join(from, name));
    const partial = `${target}.lab-partial`;
    fs.copyFileSync(path.join(from, name), partial);
    fs.chownSync(partial, source.uid, source.gid);
    fs.chmodSync(partial, source.mode & 0o7777);
    fs.renameSync(partial, target);
    copied++;
  }
  return copied;
}

/** Copies the compiled databases on the given root disks (upper layers) that `into` lacks; how many. */
export function keepRspamdDatabases(disks: string[], into = RSPAMD_DB, now = Date.now()): number {
  if (!fs.existsSync(into)) return 0;
  restoreAbandoned(into);
  for (const name of fs.readdirSync(into).filter((n) => COMPILED.test(n))) {
    const file = path.join(into, name);
    if (now - fs.statSync(file).mtimeMs > KEEP_DAYS * 86_400_000) fs.rmSync(file);
  }
  return disks.reduce((n, disk) => n + copyAbsent(path.join(disk, RSPAMD_DB), into), 0);
}

// A running host is given by its root as this machine sees it (hosts.ts's hostRoot: its own mounts,
// overlays included), never by its disk's layers, which must not change under it.

/** Where the host's Rspamd log ends now: what it logs from here on is the next start's. */
export function rspamdLogMark(root: string): number {
  const log = path.join(root, RSPAMD_LOG);
  return fs.existsSync(log) ? fs.statSync(log).size : 0;
}

/** Whether the host's Rspamd logged, after the mark, that its hs_helper has every database. */
export function rspamdCompiled(root: string, mark: number): boolean {
  const log = path.join(root, RSPAMD_LOG);
  if (!fs.existsSync(log)) return false;
  const fd = fs.openSync(log, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const tail = Buffer.alloc(Math.max(0, size - mark));
    fs.readSync(fd, tail, 0, tail.length, Math.min(mark, size));
    return HS_HELPER_DONE.test(tail.toString("utf8"));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Copies the compiled databases of host `from` that the other hosts lack into theirs; how many
 * files in all. Given the mark of an Rspamd start, first waits (up to `timeoutMs`) for that start's
 * hs_helper to have every database. Rspamd must not yet run on the others, or runs already with
 * what it needs: a database is read at start.
 */
export async function shareRspamdDatabases(from: string, to: string[], startMark?: number, timeoutMs = 180_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (startMark !== undefined && !rspamdCompiled(from, startMark) && Date.now() < deadline) await sleep(250);
  return to.reduce((n, root) => n + copyAbsent(path.join(from, RSPAMD_DB), path.join(root, RSPAMD_DB)), 0);
}

/** Where withoutKeptDatabases keeps `kept`'s databases: this prefix, then the pid of the process that runs it. */
const asidePrefix = (kept: string) => path.join(path.dirname(kept), `.${path.basename(kept)}-aside-`);

/** Moves the databases of `from` that `into` lacks into it, and drops `from`. */
function moveBack(from: string, into: string): void {
  for (const name of fs.readdirSync(from).filter((n) => !fs.existsSync(path.join(into, n)))) fs.renameSync(path.join(from, name), path.join(into, name));
  fs.rmSync(from, { recursive: true, force: true });
}

/** Puts back what a withoutKeptDatabases of a process that no longer runs (an interrupted bench) left aside. */
function restoreAbandoned(kept: string): void {
  const prefix = asidePrefix(kept);
  for (const dir of fs.readdirSync(path.dirname(kept)).map((n) => path.join(path.dirname(kept), n)).filter((d) => d.startsWith(prefix))) {
    if (!alive(Number(dir.slice(prefix.length)))) moveBack(dir, kept);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Runs `fn` as on a fresh machine: the databases this machine keeps moved aside meanwhile (no lab
 * host may run: they are its hosts' lower layer), then put back where `fn` kept none of the name.
 * Interrupted, it leaves them aside; the next `lab down` puts them back.
 */
export async function withoutKeptDatabases<T>(fn: () => Promise<T>, kept = RSPAMD_DB): Promise<T> {
  if (!fs.existsSync(kept)) return fn();
  const aside = `${asidePrefix(kept)}${process.pid}`;
  fs.mkdirSync(aside);
  for (const name of fs.readdirSync(kept).filter((n) => COMPILED.test(n))) fs.renameSync(path.join(kept, name), path.join(aside, name));
  try {
    return await fn();
  } finally {
    moveBack(aside, kept);
  }
}
