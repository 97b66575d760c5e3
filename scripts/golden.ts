// npm run golden: refreshes tests/golden/<stack>/, the masked offline render of every stack, so a
// change to any rendered config shows up in review as a diff. tests/golden.test.ts fails on any
// difference between these copies and a fresh render.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO, renderStackOffline } from "./render";

export const GOLDEN = path.join(REPO, "tests", "golden");
export const GOLDEN_STACKS = ["prod", "staging"];

// The mocks' stand-in keys are random, so the bundle hashes that trigger each push differ per run.
const normalize = (text: string) => text.replace(/"[0-9a-f]{64}"/g, '"<sha256 of the bundle>"');

/** Renders the stack offline into dir, in the form the golden copies are kept. */
export async function renderGolden(stack: string, dir: string): Promise<void> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  await renderStackOffline(stack, dir);
  const resources = path.join(dir, "resources.json");
  fs.writeFileSync(resources, normalize(fs.readFileSync(resources, "utf8")));
}

/** `diff -ru` of the golden copy against a fresh render: empty when they agree. */
export async function goldenDiff(stack: string): Promise<string> {
  const fresh = fs.mkdtempSync(path.join(os.tmpdir(), `golden-${stack}-`));
  try {
    await renderGolden(stack, fresh);
    try {
      execFileSync("diff", ["-ru", path.join(GOLDEN, stack), fresh], { encoding: "utf8" });
      return "";
    } catch (e) {
      const out = (e as { stdout?: string }).stdout;
      if (out === undefined) throw e;
      return out.split(fresh).join("<fresh render>").split(GOLDEN + "/").join("tests/golden/");
    }
  } finally {
    fs.rmSync(fresh, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  for (const stack of GOLDEN_STACKS) {
    await renderGolden(stack, path.join(GOLDEN, stack));
    console.log(`tests/golden/${stack} refreshed`);
  }
}

if (require.main === module) main().catch((e) => { console.error(e); process.exitCode = 1; });
