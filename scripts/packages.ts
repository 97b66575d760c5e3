// npx tsx scripts/packages.ts [stack...]: every Debian package the stacks' hosts need (all stacks by
// default), one per line, sorted. CI installs them so the tests run the real daemons' checkers.
import * as fs from "fs";
import * as path from "path";
import { loadStackSpec, maskedSecrets, renderPlatform } from "@mailplatform/core";

const root = path.resolve(__dirname, "..");
const stacks = process.argv.length > 2
  ? process.argv.slice(2)
  : fs.readdirSync(root).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []);
const packages = new Set(stacks.flatMap((stack) => {
  const spec = loadStackSpec(root, stack);
  return renderPlatform(spec, maskedSecrets(spec)).flatMap((b) => b.packages);
}));
console.log([...packages].sort().join("\n"));
