// The benchmark's short form runs on the lab and produces its table and JSON. Speeds are the
// benchmark's results, not this test's business: it checks that every figure was measured (a
// number, in its range) and that the baseline host is gone afterwards.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run } from "../../lab/system";
import type { BenchResult, Percentiles } from "../../lab/bench";
import { baselineHost } from "../../lab/bench/baseline";
import { netnsExists } from "../../lab/network";
import { setupLab } from "./harness";

const REPO = path.resolve(__dirname, "../..");

describe("lab: npm run bench (short form)", function () {
  this.timeout(1_200_000);
  let stdout = "";
  let result: BenchResult;
  const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-test-")), "bench.json");

  before(async () => {
    await setupLab();
    const r = run([process.execPath, "--require", require.resolve("tsx/cjs"), path.join(REPO, "scripts/bench.ts"), "--short", "--json", json], { timeoutMs: 1_100_000 });
    stdout = r.stdout;
    assert.equal(r.status, 0, `bench failed:\n${r.stderr}\n${r.stdout}`);
    result = JSON.parse(fs.readFileSync(json, "utf8")) as BenchResult;
  });

  it("prints the table with every measure", () => {
    for (const row of ["| inbound, delivered/s", "| submission → external MX", "| internal: submission → mailbox", "| 250 at the MX → visible over IMAP",
      "| replication lag", "| IMAP login + SELECT on the store", "| IMAP login + SELECT through a frontend", "| lab up, no changes", "| offline render of prod",
      "| host | program | user | system |"]) {
      assert.ok(stdout.includes(row), `no row ${row} in:\n${stdout}`);
    }
  });

  it("writes the JSON: a rate per run for each path and side, and their ratio", () => {
    assert.equal(result.options.runs, 2);
    assert.deepEqual(Object.keys(result.rates).sort(), ["inbound", "internal", "submission"]);
    for (const [k, r] of Object.entries(result.rates)) {
      for (const side of [r.baseline, r.platform]) {
        assert.equal(side.runs.length, result.options.runs, k);
        assert.ok(side.runs.every((x) => Number.isFinite(x) && x > 0), `${k}: ${side.runs}`);
        assert.ok(side.runs.includes(side.median), k);
      }
      assert.ok(Math.abs(r.ratio - r.platform.median / r.baseline.median) < 1e-9, k);
    }
  });

  it("writes the latencies and times, in their ranges", () => {
    const sane = (p: Percentiles | null, what: string) => {
      assert.ok(p, what);
      assert.equal(p.samples, result.options.samples, what);
      assert.ok(p.p50 >= 0 && p.p50 <= p.p99 && p.p99 < 60_000, `${what}: ${JSON.stringify(p)}`);
    };
    const l = result.latencies;
    assert.ok(l && result.lab, "latencies and lab times measured");
    sane(l.visibleMs.baseline, "visible, baseline");
    sane(l.visibleMs.platform, "visible, platform");
    if (result.stack === "prod" || l.replicationLagMs) sane(l.replicationLagMs, "replication lag");
    sane(l.imapLoginSelectMs.baseline, "login, baseline");
    sane(l.imapLoginSelectMs.maildropDirect, "login, maildrop");
    sane(l.imapLoginSelectMs.throughFrontend, "login, frontend");
    assert.equal(result.lab.upFromNothing, null);
    assert.equal(result.lab.upFreshMachine, null);
    assert.ok(result.lab.upNoChanges > 0 && result.lab.renderProd > 0);
  });

  it("profiles the inbound hops: CPU per message on smtp-in and the maildrop, and on the baseline", () => {
    const hosts = new Set(result.profile.map((p) => p.host));
    for (const h of ["baseline", "smtp-in", "maildrop"]) assert.ok([...hosts].some((x) => x.startsWith(h)), `no ${h} in ${[...hosts]}`);
    assert.ok(result.profile.some((p) => p.host.startsWith("smtp-in") && p.program === "rspamd"), "Rspamd's CPU on smtp-in");
    assert.ok(result.profile.every((p) => p.userMs >= 0 && p.systemMs >= 0));
  });

  it("takes the baseline host down again", () => {
    assert.equal(netnsExists(baselineHost), false);
  });
});
