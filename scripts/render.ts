// npm run render -- --stack <name> --out <dir>
import * as path from "path";
import { parseArgs } from "util";
import { loadStackSpec, SpecError } from "../components/core/src";
import { renderOffline } from "../components/core/src/offline";

function main(): number {
  const { values } = parseArgs({ options: { stack: { type: "string" }, out: { type: "string" } } });
  if (!values.stack || !values.out) {
    console.error("usage: npm run render -- --stack <name> --out <dir>");
    return 2;
  }
  try {
    const spec = loadStackSpec(path.resolve(__dirname, ".."), values.stack);
    const result = renderOffline(spec, path.resolve(values.out));
    console.log(`rendered ${result.hosts.length} hosts (${result.hosts.join(", ")}) and ${result.records} DNS records to ${values.out}`);
    return 0;
  } catch (e) {
    if (e instanceof SpecError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
}

process.exitCode = main();
