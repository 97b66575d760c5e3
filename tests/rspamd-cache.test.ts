// The lab keeps Rspamd's compiled hyperscan databases from the hosts' disks for the next hosts, and
// within one `up` copies the first Rspamd host's into the others once its hs_helper is done
// (lab/rspamd-cache.ts): only the databases, with their owner and mode, never over one it has.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { keepRspamdDatabases, rspamdCompiled, rspamdLogMark, shareRspamdDatabases, withoutKeptDatabases } from "../lab/rspamd-cache";

describe("lab: Rspamd's compiled databases kept from the hosts' disks", () => {
  let root: string;
  let into: string;
  const disk = (name: string, files: Record<string, string>) => {
    const dir = path.join(root, name, "var/lib/rspamd");
    fs.mkdirSync(dir, { recursive: true });
    for (const [f, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), content, { mode: 0o600 });
    return path.join(root, name);
  };
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "rspamd-cache-"));
    into = path.join(root, "machine");
    fs.mkdirSync(into);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("copies the hyperscan databases of every disk, and nothing else of Rspamd's state", () => {
    const a = disk("smtp-in", { "a1.hs": "re", "a1.hs.unser": "re-u", "b2.hsmp": "mp", "rspamd.rrd": "rrd", "stats.ucl": "st" });
    const b = disk("smtp-out", { "c3.hsmc": "mc", "b2.hsmp": "mp" });
    const c = path.join(root, "webmail"); // no Rspamd on it
    assert.equal(keepRspamdDatabases([a, b, c], into), 4);
    assert.deepEqual(fs.readdirSync(into).sort(), ["a1.hs", "a1.hs.unser", "b2.hsmp", "c3.hsmc"]);
    assert.equal(fs.statSync(path.join(into, "a1.hs")).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(path.join(into, "c3.hsmc"), "utf8"), "mc");
  });

  it("leaves a database it already has as it is", () => {
    fs.writeFileSync(path.join(into, "a1.hs"), "kept before");
    const a = disk("smtp-in", { "a1.hs": "from the disk" });
    assert.equal(keepRspamdDatabases([a], into), 0);
    assert.equal(fs.readFileSync(path.join(into, "a1.hs"), "utf8"), "kept before");
  });

  it("lets a database kept for more than two weeks go, and takes it again from a disk that has it", () => {
    const old = (Date.now() - 15 * 86_400_000) / 1000;
    for (const f of ["gone.hsmp", "back.hs"]) {
      fs.writeFileSync(path.join(into, f), "old");
      fs.utimesSync(path.join(into, f), old, old);
    }
    fs.writeFileSync(path.join(into, "recent.hs"), "recent");
    const a = disk("smtp-in", { "back.hs": "compiled again" });
    assert.equal(keepRspamdDatabases([a], into), 1);
    assert.deepEqual(fs.readdirSync(into).sort(), ["back.hs", "recent.hs"]);
    assert.equal(fs.readFileSync(path.join(into, "back.hs"), "utf8"), "compiled again");
  });

  it("runs a lab as on a fresh machine: the kept databases aside meanwhile, back after where none of the name was kept since", async () => {
    fs.writeFileSync(path.join(into, "a1.hs"), "kept");
    fs.writeFileSync(path.join(into, "b2.hsmp"), "kept");
    fs.writeFileSync(path.join(into, "rspamd.rrd"), "not a database");
    const seen = await withoutKeptDatabases(async () => {
      const during = fs.readdirSync(into).sort();
      fs.writeFileSync(path.join(into, "a1.hs"), "kept by the run");
      return during;
    }, into);
    assert.deepEqual(seen, ["rspamd.rrd"]);
    assert.deepEqual(fs.readdirSync(into).sort(), ["a1.hs", "b2.hsmp", "rspamd.rrd"]);
    assert.equal(fs.readFileSync(path.join(into, "a1.hs"), "utf8"), "kept by the run");
    assert.equal(fs.readFileSync(path.join(into, "b2.hsmp"), "utf8"), "kept");
    assert.deepEqual(fs.readdirSync(root).filter((n) => n.includes("-aside-")), [], "the aside directory left behind");
  });

  it("puts back at the next keep what an interrupted run left aside, never what a running one holds", () => {
    // A pid that ran and exited: the child of a finished command.
    const gone = spawnSync("true").pid!;
    const abandoned = path.join(root, `.machine-aside-${gone}`);
    const held = path.join(root, `.machine-aside-${process.pid}`);
    for (const [dir, name] of [[abandoned, "a1.hs"], [held, "b2.hsmp"]]) {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, name), "aside");
    }
    fs.writeFileSync(path.join(into, "c3.hsmc"), "kept");
    assert.equal(keepRspamdDatabases([], into), 0);
    assert.deepEqual(fs.readdirSync(into).sort(), ["a1.hs", "c3.hsmc"]);
    assert.equal(fs.existsSync(abandoned), false);
    assert.deepEqual(fs.readdirSync(held), ["b2.hsmp"]);
  });

  it("keeps nothing where this machine has no Rspamd directory", () => {
    const a = disk("smtp-in", { "a1.hs": "re" });
    assert.equal(keepRspamdDatabases([a], path.join(root, "absent")), 0);
  });
});

describe("lab: the first Rspamd host's databases shared with the others within one up", () => {
  let root: string;
  const DONE = "2026-12-03 13:10:26 #1375(hs_helper) rspamd_rs_compile_cb: compiled 172 regular expressions to the hyperscan tree, postpone loaded notification for 1 seconds to avoid races\n";
  const host = (name: string, files: Record<string, string> = {}) => {
    const h = path.join(root, name);
    fs.mkdirSync(path.join(h, "var/lib/rspamd"), { recursive: true });
    fs.mkdirSync(path.join(h, "var/log/rspamd"), { recursive: true });
    for (const [f, content] of Object.entries(files)) fs.writeFileSync(path.join(h, "var/lib/rspamd", f), content, { mode: 0o640 });
    return h;
  };
  const log = (h: string, line: string) => fs.appendFileSync(path.join(h, "var/log/rspamd/rspamd.log"), line);
  const databases = (h: string) => fs.readdirSync(path.join(h, "var/lib/rspamd")).sort();
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "rspamd-share-"))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("tells the hs_helper of the start after the mark from an earlier start's", () => {
    const first = host("smtp-in-zrh");
    assert.equal(rspamdLogMark(first), 0, "no log yet");
    log(first, DONE);
    const mark = rspamdLogMark(first);
    assert.equal(rspamdCompiled(first, mark), false, "the earlier start's line counted");
    log(first, "2026-12-03 13:11:00 #2000(main) rspamd_url_init: start compiling of 9628 TLD suffixes\n");
    assert.equal(rspamdCompiled(first, mark), false);
    log(first, DONE);
    assert.equal(rspamdCompiled(first, mark), true);
  });

  it("waits for the first host's hs_helper, then copies what each other host lacks, and nothing else", async () => {
    const first = host("smtp-in-zrh", { "tld.hsmp": "tld", "rspamd.rrd": "rrd" });
    const other = host("smtp-out-zrh", { "tld.hsmp": "its own" });
    const third = host("smtp-in-ams");
    const mark = rspamdLogMark(first);
    setTimeout(() => {
      fs.writeFileSync(path.join(first, "var/lib/rspamd/re.hs"), "regexps", { mode: 0o640 });
      log(first, DONE);
    }, 300);
    const copied = await shareRspamdDatabases(first, [other, third], mark, 10_000);
    assert.equal(copied, 3, "re.hs into both, tld.hsmp into the third");
    assert.deepEqual(databases(other), ["re.hs", "tld.hsmp"]);
    assert.equal(fs.readFileSync(path.join(other, "var/lib/rspamd/tld.hsmp"), "utf8"), "its own");
    assert.deepEqual(databases(third), ["re.hs", "tld.hsmp"]);
    assert.equal(fs.statSync(path.join(third, "var/lib/rspamd/re.hs")).mode & 0o777, 0o640);
  });

  it("copies without waiting where no Rspamd started, and gives up waiting on an hs_helper that never finishes", async () => {
    const first = host("smtp-in-zrh", { "tld.hsmp": "tld" });
    const other = host("smtp-out-zrh");
    assert.equal(await shareRspamdDatabases(first, [other]), 1);
    const late = host("smtp-in-ams");
    const t0 = Date.now();
    assert.equal(await shareRspamdDatabases(first, [late], rspamdLogMark(first), 500), 1);
    assert.ok(Date.now() - t0 >= 500, "did not wait");
  });
});
