// The stack config file the portal edits (Pulumi.<stack>.yaml, the very file `pulumi up` and the
// lab read): its `mailplatform:*` keys as a raw object, written back with the file's comments and
// other namespaces kept, atomically (temporary file, fsync, rename): a crash leaves the old or
// the new file, never half of one.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { NAMESPACE, readStackConfig } from "@mailplatform/core";

export type RawConfig = Record<string, unknown>;

/** A short content hash: the version of a config or of one object in it (optimistic concurrency). */
export function versionOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value ?? null)).digest("hex").slice(0, 16);
}

export function readRaw(file: string): RawConfig {
  return readStackConfig(file);
}

export function writeRaw(file: string, raw: RawConfig): void {
  const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
  const before = readRaw(file);
  for (const key of new Set([...Object.keys(before), ...Object.keys(raw)])) {
    const name = `${NAMESPACE}:${key}`;
    if (raw[key] === undefined) doc.deleteIn(["config", name]);
    else if (JSON.stringify(raw[key]) !== JSON.stringify(before[key])) doc.setIn(["config", name], doc.createNode(raw[key]));
  }
  writeAtomically(file, doc.toString({ lineWidth: 0 }));
}

/** Writes a file so that a crash leaves either the old or the new content. */
export function writeAtomically(file: string, content: string, mode = 0o644): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, "w", mode);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
