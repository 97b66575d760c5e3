// Rspamd compiles its regular expressions and URL patterns into hyperscan databases at its first
// start: about 15 s of CPU on one core, on each of the six MTAs of prod, which made most of a lab up
// from nothing. It keeps them in /var/lib/rspamd under names that are hashes of what they compile,
// and checks each one when it loads it (a database that no longer matches is compiled again). A lab
// host's /var is an overlay on this machine's, so databases kept in this machine's /var/lib/rspamd
// are what a cloud image baked with them would carry: every new host starts with them. They are
// taken from the hosts' disks once every host has stopped (an overlay's lower layer must not change
// under it), and only added: a name already kept holds the same database. Each lab run adds a few
// (maps whose content differs between stacks and runs): one kept longer than KEEP_DAYS goes, and
// comes back from the next host that still compiles it.
import * as fs from "fs";
import * as path from "path";

const RSPAMD_DB = "/var/lib/rspamd";
const COMPILED = /\.(hs|hsmp|hsmc)(\.unser)?$/;
const KEEP_DAYS = 14;

/** Copies the compiled databases on the given root disks (upper layers) that `into` lacks; how many. */
export function keepRspamdDatabases(disks: string[], into = RSPAMD_DB, now = Date.now()): number {
  if (!fs.existsSync(into)) return 0;
  for (const name of fs.readdirSync(into).filter((n) => COMPILED.test(n))) {
    const file = path.join(into, name);
    if (now - fs.statSync(file).mtimeMs > KEEP_DAYS * 86_400_000) fs.rmSync(file);
  }
  let kept = 0;
  for (const disk of disks) {
    const dir = path.join(disk, RSPAMD_DB);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir).filter((n) => COMPILED.test(n))) {
      const target = path.join(into, name);
      if (fs.existsSync(target)) continue;
      const source = fs.statSync(path.join(dir, name));
      const partial = `${target}.lab-partial`;
      fs.copyFileSync(path.join(dir, name), partial);
      fs.chownSync(partial, source.uid, source.gid);
      fs.chmodSync(partial, source.mode & 0o7777);
      fs.renameSync(partial, target);
      kept++;
    }
  }
  return kept;
}
