// The lab keeps Rspamd's compiled hyperscan databases from the hosts' disks for the next hosts
// (lab/rspamd-cache.ts): only the databases, with their owner and mode, never over one it has.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { keepRspamdDatabases } from "../lab/rspamd-cache";

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

  it("keeps nothing where this machine has no Rspamd directory", () => {
    const a = disk("smtp-in", { "a1.hs": "re" });
    assert.equal(keepRspamdDatabases([a], path.join(root, "absent")), 0);
  });
});
