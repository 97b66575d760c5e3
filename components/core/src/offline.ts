// The offline render: every host's bundle with masked secrets, the DNS records and the network
// rules, written to a directory for review. No cloud, no Pulumi CLI.
import * as fs from "fs";
import * as path from "path";
import { writeBundle } from "./bundle";
import { dkimPublicKeys } from "./dkim";
import { dnsRecords, placeholderPublicAddresses } from "./dns/records";
import { zoneFiles } from "./dns/zone";
import { networkRules } from "./network/rules";
import { renderPlatform } from "./render";
import { maskedSecrets } from "./secrets/masked";
import { PlatformSpec } from "./spec/types";

export function renderOffline(spec: PlatformSpec, outDir: string): { hosts: string[]; records: number } {
  const secrets = maskedSecrets(spec);
  const bundles = renderPlatform(spec, secrets);
  fs.rmSync(path.join(outDir, "hosts"), { recursive: true, force: true });
  for (const b of bundles) writeBundle(path.join(outDir, "hosts", b.host.name), b);
  const publicAddresses = placeholderPublicAddresses(spec);
  const records = dnsRecords(spec, { publicAddresses, dkim: dkimPublicKeys(secrets.dkim) });
  const note = "Public addresses are placeholders (203.0.113.0/24) until the cloud assigns floating IPs; DKIM keys are generated in-stack.";
  fs.writeFileSync(path.join(outDir, "dns.json"), JSON.stringify({ stack: spec.stack, note, publicAddresses, records }, null, 2) + "\n");
  fs.writeFileSync(path.join(outDir, "dns.zone"), `; ${note}\n` + zoneFiles(records));
  fs.writeFileSync(path.join(outDir, "network.json"), JSON.stringify(networkRules(spec), null, 2) + "\n");
  return { hosts: bundles.map((b) => b.host.name), records: records.length };
}
