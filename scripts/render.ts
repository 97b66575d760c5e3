// npm run render -- --stack <name> --out <dir>
// Every host's files, the DNS records and the network rules from the core, and the resources the
// Pulumi program would create (run under mocks): no cloud, no Pulumi CLI.
import * as path from "path";
import { parseArgs } from "util";
import { loadStackSpec, SpecError } from "../components/core/src";
import { renderOffline } from "../components/core/src/offline";
import { writeResourcesJson } from "./resources";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { stack: { type: "string" }, out: { type: "string" } } });
  if (!values.stack || !values.out) {
    console.error("usage: npm run render -- --stack <name> --out <dir>");
    return 2;
  }
  let spec;
  try {
    spec = loadStackSpec(path.resolve(__dirname, ".."), values.stack);
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    console.error(e.message);
    return 1;
  }
  const outDir = path.resolve(values.out);
  const result = renderOffline(spec, outDir);
  console.log(`rendered ${result.hosts.length} hosts (${result.hosts.join(", ")}) and ${result.records} DNS records to ${values.out}`);
  const resources = await writeResourcesJson(spec, outDir);
  console.log(`recorded ${resources} resources the Pulumi program would create in ${path.join(values.out, "resources.json")}`);
  return 0;
}

main().then((code) => (process.exitCode = code));
