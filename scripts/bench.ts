// npm run bench [-- --short] [--inbound-only] [--runs N] [--messages N] [--json FILE]
// The platform against a one-host Postfix + Dovecot in the same run (lab/bench). The full form brings
// the prod lab up from nothing first (and times it); --short (or BENCH_SHORT=1), for CI, uses the
// running lab (or brings the default stack up) and sends less; --inbound-only, to try a change, measures
// the inbound rates and profile on the running lab and nothing else. Prints the tables, writes the JSON.
// Needs root and the machine-wide lab lock, like every lab use:
//   flock /tmp/lab.lock bash -c 'npm run bench; npm run lab -- down'
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { FULL, runBench, SHORT, table } from "../lab/bench";
import { REPO } from "../lab/paths";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      short: { type: "boolean", default: process.env.BENCH_SHORT === "1" },
      "inbound-only": { type: "boolean", default: false },
      runs: { type: "string" },
      messages: { type: "string" },
      json: { type: "string", default: path.join(REPO, "test-artifacts/bench.json") },
    },
  });
  const base = values.short ? SHORT : FULL;
  const options = {
    ...base,
    runs: values.runs ? Number(values.runs) : base.runs,
    inbound: values.messages ? Number(values.messages) : base.inbound,
    inboundOnly: values["inbound-only"],
    log: (line: string) => console.log(`bench: ${line}`),
  };
  const result = await runBench(options);
  fs.mkdirSync(path.dirname(values.json!), { recursive: true });
  fs.writeFileSync(values.json!, JSON.stringify(result, null, 2) + "\n");
  console.log(`\n${table(result)}\n\n(JSON: ${values.json})`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
