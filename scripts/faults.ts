// npm run faults [-- --stack prod|staging] [--short] [--only <text>] [--json <file>]
// Brings the stack's lab up (prod by default), runs every fault row under traffic and prints the
// table: what was sent, acknowledged and stored on each replica, what was lost or duplicated, how
// long the replicas took to agree and the longest time a client could not log in or submit.
// Exits 1 when a row missed a goal (a lost message, replicas apart too long, logins blocked too long).
import * as fs from "fs";
import { parseArgs } from "util";
import { labDown, labUp, readInventory } from "../lab";
import { inventoryExists } from "../lab/inventory";
import { FAULTS, FULL, missedGoals, platform, RowResult, runRow, SHORT, table } from "../tests/faults/suite";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { stack: { type: "string", default: "prod" }, short: { type: "boolean", default: false }, only: { type: "string" }, json: { type: "string" } },
  });
  // The lab runs one stack at a time.
  if (inventoryExists() && readInventory().stack !== values.stack) await labDown();
  await labUp(values.stack);
  const p = platform();
  const rows: RowResult[] = [];
  let missed = 0;
  for (const fault of FAULTS.filter((f) => (p.replicated || !f.replicatedOnly) && (!values.only || f.name.includes(values.only)))) {
    const row = await runRow(p, fault, values.short ? SHORT : FULL);
    rows.push(row);
    console.log(table([row]).split("\n").pop());
    for (const n of row.notes) console.log(`  note: ${n}`);
    for (const m of missedGoals(p, fault, row)) {
      console.log(`  MISSED: ${m}`);
      missed++;
    }
  }
  console.log(`\nfault suite, stack ${p.stack}, ${new Date().toISOString()}:\n\n${table(rows)}`);
  if (values.json) fs.writeFileSync(values.json, JSON.stringify({ stack: p.stack, at: new Date().toISOString(), rows }, null, 2) + "\n");
  return missed > 0 ? 1 : 0;
}

main().then((code) => (process.exitCode = code), (e) => { console.error(e); process.exitCode = 1; });
