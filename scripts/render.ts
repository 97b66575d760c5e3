// npm run render -- --stack <name> --out <dir>
// The offline render, for review: every host's bundle with masked secrets, the DNS records (JSON
// with every record, and a public zone file per zone), the network rules, and the resources the Pulumi program would create (run under
// mocks). No cloud, no Pulumi CLI.
import {
  dkimPublicKeys, dnsRecords, loadStackSpec, maskedSecrets, networkRules, placeholderPublicAddresses, renderPlatform, SpecError,
  writeBundle, zoneFiles,
} from "@mailplatform/core";
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { writeResourcesJson } from "./resources";

export const REPO = path.resolve(__dirname, "..");

/** The whole offline render of one stack (Pulumi.<stack>.yaml in projectDir) into outDir. */
export async function renderStackOffline(stack: string, outDir: string, projectDir = REPO) {
  const spec = loadStackSpec(projectDir, stack);
  const secrets = maskedSecrets(spec);
  const bundles = renderPlatform(spec, secrets);
  fs.rmSync(path.join(outDir, "hosts"), { recursive: true, force: true });
  for (const b of bundles) writeBundle(path.join(outDir, "hosts", b.host.name), b);
  const publicAddresses = placeholderPublicAddresses(spec);
  const records = dnsRecords(spec, { publicAddresses, dkim: dkimPublicKeys(secrets.dkim) });
  const note = "Public addresses are placeholders (203.0.113.0/24) until the cloud assigns floating IPs; DKIM keys are generated in-stack.";
  fs.writeFileSync(path.join(outDir, "dns.json"), JSON.stringify({ stack: spec.stack, note, publicAddresses, records }, null, 2) + "\n");
  // One file per zone, public records only: what a zone's DNS provider takes. dns.json has the internal ones too.
  fs.rmSync(path.join(outDir, "dns"), { recursive: true, force: true });
  fs.mkdirSync(path.join(outDir, "dns"));
  for (const [zone, text] of Object.entries(zoneFiles(records))) fs.writeFileSync(path.join(outDir, "dns", `${zone}.zone`), `; ${note}\n` + text);
  fs.writeFileSync(path.join(outDir, "network.json"), JSON.stringify(networkRules(spec), null, 2) + "\n");
  const resources = await writeResourcesJson(spec, outDir);
  return { hosts: bundles.map((b) => b.host.name), records: records.length, resources };
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
