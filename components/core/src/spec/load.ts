// Reads a stack's config from Pulumi.<stack>.yaml without the Pulumi CLI (offline render, lab).
// The Pulumi program reads the same keys through pulumi.Config; both end in parseSpec.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { PlatformSpec } from "./types";
import { NAMESPACE, parseSpec } from "./validate";
import { SpecError, isObject } from "./reader";

/** The `mailplatform:*` keys of a stack file, namespace stripped. Other namespaces are ignored. */
export function readStackConfig(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new SpecError([`${file}: ${(e as Error).message}`]);
  }
  const config = isObject(doc) && isObject(doc.config) ? doc.config : {};
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith(`${NAMESPACE}:`)) raw[key.slice(NAMESPACE.length + 1)] = value;
  }
  return raw;
}

export function loadStackSpec(projectDir: string, stack: string): PlatformSpec {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new SpecError([`no stack config for "${stack}": ${file} does not exist`]);
  return parseSpec(readStackConfig(file), stack);
}
