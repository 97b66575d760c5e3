// The validation corpus: each file in tests/specs/invalid replaces some keys of base.yaml and lists
// exactly the problems the validator must report, all at once.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { SpecError } from "../components/core/src/spec/reader";
import { parseSpec } from "../components/core/src/spec/validate";
import { readStackConfig } from "../components/core/src/spec/load";

const dir = path.join(__dirname, "specs");
const base = readStackConfig(path.join(dir, "base.yaml"));

function withChanges(config: Record<string, unknown>): Record<string, unknown> {
  const raw = { ...base };
  for (const [key, value] of Object.entries(config)) {
    const k = key.replace(/^mailplatform:/, "");
    if (value === null) delete raw[k];
    else raw[k] = value;
  }
  return raw;
}

function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    parseSpec(raw, "test");
  } catch (e) {
    if (e instanceof SpecError) return e.problems;
    throw e;
  }
  return [];
}

describe("spec validation", () => {
  it("accepts the base config", () => {
    assert.deepEqual(problemsOf(base), []);
  });

  const cases = fs.readdirSync(path.join(dir, "invalid")).filter((f) => f.endsWith(".yaml")).sort();
  it("has a corpus of at least 30 bad specs", () => assert.ok(cases.length >= 30, `${cases.length} cases`));

  for (const name of cases) {
    it(`reports exactly the problems of ${name}`, () => {
      const doc = YAML.parse(fs.readFileSync(path.join(dir, "invalid", name), "utf8"));
      assert.deepEqual([...problemsOf(withChanges(doc.config))].sort(), [...doc.expect].sort());
    });
  }

  it("names every problem in the error message, one a line", () => {
    const err = (() => {
      try {
        parseSpec(withChanges({ "mailplatform:platformDomain": "x", "mailplatform:domains": ["a..b"] }), "t");
      } catch (e) {
        return e as SpecError;
      }
      throw new Error("no error");
    })();
    assert.match(err.message, /has \d+ problem\(s\):/);
    for (const p of err.problems) assert.ok(err.message.includes(`  - ${p}`));
    assert.ok(err.problems.length >= 3);
  });

  it("gives a domain its own DKIM selectors, and the platform's to the domains without", () => {
    const spec = parseSpec(withChanges({
      "mailplatform:dkim": { selectors: [{ name: "s1" }] },
      "mailplatform:domains": ["example.com", { name: "example.org", dkim: { selectors: [{ name: "s1", state: "published" }, { name: "s2" }] } }],
    }), "t");
    assert.deepEqual(spec.domains.map((d) => [d.name, d.dkimSelectors]), [
      ["example.com", [{ name: "s1", state: "active" }]],
      ["example.org", [{ name: "s1", state: "published" }, { name: "s2", state: "active" }]],
    ]);
  });
});
