// npm run render -- --stack <name> --out <dir>
// Every host's files, the DNS records and the network rules from the core, and the resources the
// Pulumi program would create (run under mocks): no cloud, no Pulumi CLI.
import * as path from "path";
import { parseArgs } from "util";
import { loadStackSpec, SpecError } from "../components/core/src";
import { renderOffline } from "../components/core/src/offline";
import { writeResourcesJson } from "./resources";

export const REPO = path.resolve(__dirname, "..");

/** The whole offline render of one stack into outDir. */
export async function renderStackOffline(stack: string, outDir: string) {
  const spec = loadStackSpec(REPO, stack);
  const result = renderOffline(spec, outDir);
  const resources = await writeResourcesJson(spec, outDir);
  return { ...result, resources };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { stack: { type: "string" }, out: { type: "string" } } });
  if (!values.stack || !values.out) {
    console.error("usage: npm run render -- --stack <name> --out <dir>");
    return 2;
  }
  try {
    const result = await renderStackOffline(values.stack, path.resolve(values.out));
    console.log(`rendered ${result.hosts.length} hosts (${result.hosts.join(", ")}) and ${result.records} DNS records to ${values.out}`);
    console.log(`recorded ${result.resources} resources the Pulumi program would create in ${path.join(values.out, "resources.json")}`);
    return 0;
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    console.error(e.message);
    return 1;
  }
}

if (require.main === module) main().then((code) => (process.exitCode = code));
