// Applies: one per stack at a time, only of the config that was previewed, and a portal killed in
// the middle of one leaves the config, the audit log and the hosts consistent, the next apply
// finishing the job. The fake target's hosts are files written whole, one host after the other.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ApplyRunner } from "../../portal/apply";
import { AuditLog } from "../../portal/audit";
import { readRaw, versionOf, writeRaw } from "../../portal/stack-config";
import { FakeTarget } from "./fake-target";

const REPO = path.resolve(__dirname, "../..");

describe("portal applies", function () {
  this.timeout(120_000);
  let dir: string;
  let configFile: string;
  let target: FakeTarget;
  const stateDir = () => path.join(dir, "state");
  const runner = () => new ApplyRunner(target, stateDir(), new AuditLog(path.join(stateDir(), "audit.log")), () => readRaw(configFile));
  const addMailbox = (local: string) => {
    const raw = readRaw(configFile);
    writeRaw(configFile, { ...raw, users: [...(raw.users as object[]), { address: `${local}@staging.example.com`, passwordHash: "{BLF-CRYPT}$2y$10$abcdefghijklmnopqrstuu" }] });
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "portal-apply-"));
    fs.mkdirSync(path.join(dir, "state"));
    configFile = path.join(dir, "Pulumi.staging.yaml");
    fs.copyFileSync(path.join(REPO, "Pulumi.staging.yaml"), configFile);
    target = new FakeTarget("staging", configFile, path.join(dir, "hosts"), 20);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("runs one apply per stack at a time and refuses the others with a clear message", async () => {
    const a = runner();
    a.start("adam", versionOf(readRaw(configFile)));
    assert.throws(() => a.start("oscar", versionOf(readRaw(configFile))), /an apply of stack staging is running \(started by adam/);
    // Another portal on the same state (a second process) is refused too.
    assert.throws(() => runner().start("olga", versionOf(readRaw(configFile))), /an apply of stack staging is running/);
    await a.idle();
    assert.equal(a.recent()[0].outcome, "ok");
    addMailbox("hank");
    a.start("oscar", versionOf(readRaw(configFile)));
    await a.idle();
    assert.deepEqual(a.recent().map((r) => r.who), ["oscar", "adam"]);
  });

  it("applies only the config that was previewed", async () => {
    const a = runner();
    const previewed = versionOf(readRaw(configFile));
    addMailbox("ivy");
    assert.throws(() => a.start("adam", previewed), /changed since this preview/);
    assert.equal(a.recent().length, 0);
  });

  it("queues a user's change behind a running apply, then applies it", async () => {
    const a = runner();
    a.start("adam", versionOf(readRaw(configFile)));
    addMailbox("jay");
    a.applySoon("jay@staging.example.com");
    await a.idle();
    await new Promise((r) => setImmediate(r));
    await a.idle();
    assert.deepEqual(a.recent().map((r) => [r.who, r.outcome]), [["jay@staging.example.com", "ok"], ["adam", "ok"]]);
    assert.deepEqual((await target.preview(readRaw(configFile))).hosts, []);
  });

  it("after a portal dies mid-apply: hosts whole, the apply recorded as interrupted, the next apply finishes the job", async () => {
    addMailbox("kim");
    const total = (await target.preview(readRaw(configFile))).hosts.length;
    const configBefore = fs.readFileSync(configFile, "utf8");
    const child = spawnSync(process.execPath, ["--require", require.resolve("tsx/cjs"), path.join(__dirname, "crash-child.ts"), configFile, target.hostsDir, stateDir()], { encoding: "utf8" });
    assert.equal(child.signal, "SIGKILL", child.stderr);
    // Every host file is a whole bundle, old or new: two hosts got the new one, the rest nothing yet.
    const left = (await target.preview(readRaw(configFile))).hosts.map((h) => h.host);
    assert.equal(left.length, total - 2);
    assert.equal(fs.readFileSync(configFile, "utf8"), configBefore);
    const audit = new AuditLog(path.join(stateDir(), "audit.log"));
    assert.deepEqual(audit.recent().map((e) => e.outcome), ["started"]);

    const next = runner();
    assert.deepEqual(next.recent().map((r) => [r.who, r.outcome]), [["crashing-admin", "interrupted"]]);
    assert.deepEqual(audit.recent().map((e) => e.outcome), ["interrupted", "started"]);
    const events: string[] = [];
    const id = next.start("adam", versionOf(readRaw(configFile))).id;
    next.follow(id, (e) => "state" in e && e.state === "applied" && events.push(e.host!));
    await next.idle();
    assert.deepEqual(events, left);
    assert.deepEqual((await target.preview(readRaw(configFile))).hosts, []);
    assert.deepEqual(next.recent().map((r) => r.outcome), ["ok", "interrupted"]);
  });
});
