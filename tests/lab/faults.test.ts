// The fault suite's short form (npm run faults runs the whole of it on prod): each row sends real
// traffic while one cloud failure happens, then counts the stores. No acknowledged message may be
// lost, the replicas must agree within 10 s of the recovery, and IMAP logins get through within the
// row's bound (missedGoals).
import { strict as assert } from "assert";
import * as path from "path";
import { loadStackSpec } from "@mailplatform/core";
import { DEFAULT_STACK } from "../../lab";
import { FAULTS, missedGoals, platform, RowResult, runRow, SHORT, table } from "../faults/suite";
import { setupLab, wantedStack } from "./harness";

// The shared store has no replica pair to partition: such rows belong to replicated stacks only.
const replicated = loadStackSpec(path.resolve(__dirname, "../.."), wantedStack() ?? DEFAULT_STACK).storage.mode === "replicated";

describe("lab: faults under traffic (short form)", function () {
  this.timeout(900_000);
  const rows: RowResult[] = [];
  before(async () => {
    await setupLab();
  });
  after(() => {
    if (rows.length > 0) console.log(`\n${table(rows)}\n`);
  });

  for (const fault of FAULTS.filter((f) => replicated || !f.replicatedOnly)) {
    it(`${fault.name}: nothing acknowledged is lost`, async function () {
      const p = platform();
      const row = await runRow(p, fault, SHORT, () => undefined);
      rows.push(row);
      assert.ok(row.acknowledged > 0, `nothing was acknowledged: ${row.notes.join("; ")}`);
      assert.deepEqual(missedGoals(p, fault, row), [], row.notes.join("; "));
    });
  }
});
