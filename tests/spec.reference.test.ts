// The reference against the validator: every declared default is what parseSpec gives when the key
// is left out, and every declared range and value list is what parseSpec enforces, under the key's name.
import { strict as assert } from "assert";
import * as path from "path";
import { SpecError } from "../components/core/src/spec/reader";
import { ConfigValue, REFERENCE, Setting } from "../components/core/src/spec/reference";
import { readStackConfig } from "../components/core/src/spec/load";
import { parseSpec } from "../components/core/src/spec/validate";
import { PlatformSpec } from "../components/core/src/spec/types";

const base = readStackConfig(path.join(__dirname, "specs", "base.yaml"));

// What base.yaml lacks for a path's settings to be read: the directory, and one item of the lists
// whose items have defaults.
const CONTEXT: Record<string, Record<string, unknown>> = {
  directory: { directory: { uris: ["ldaps://ldap.example.com"], baseDn: "dc=example,dc=com", bindDn: "cn=mail,dc=example,dc=com", bindPassword: "x" } },
  "dnsbl.zones[]": { dnsbl: { zones: [{ zone: "zen.spamhaus.org" }] } },
  "dkim.selectors[]": { dkim: { selectors: [{ name: "s1" }] } },
  // A second, active selector, so that the first one's state can change alone.
  "domains[].dkim.selectors[]": { domains: [{ name: "example.com", dkim: { selectors: [{ name: "s1" }, { name: "s2" }] } }, "example.org"] },
};

function configFor(refPath: string): Record<string, unknown> {
  return structuredClone({ ...base, ...CONTEXT[refPath] });
}

/** Sets key in the object at refPath of raw ("a.b[]" is the first item of a's list b); returns the config key. */
function setAt(raw: Record<string, unknown>, refPath: string, key: string, value: unknown): string {
  let obj = raw;
  const parts: string[] = [];
  for (const segment of refPath ? refPath.split(".") : []) {
    const name = segment.replace(/\[\]$/, "");
    obj[name] ??= segment.endsWith("[]") ? [{}] : {};
    obj = segment.endsWith("[]") ? (obj[name] as Record<string, unknown>[])[0] : (obj[name] as Record<string, unknown>);
    parts.push(segment.endsWith("[]") ? `${name}[0]` : name);
  }
  obj[key] = value;
  return `mailplatform:${[...parts, key].join(".")}`;
}

function outcome(raw: Record<string, unknown>): PlatformSpec | string[] {
  try {
    return parseSpec(raw, "test");
  } catch (e) {
    if (e instanceof SpecError) return e.problems;
    throw e;
  }
}

/** A valid value other than the default, to show the setting is read at all. */
function another(s: Setting & { default: ConfigValue }): ConfigValue | undefined {
  switch (s.kind) {
    case "integer":
      return s.default === s.max ? s.default - 1 : s.default + 1;
    case "enum":
      return s.values.find((v) => v !== s.default);
    case "boolean":
      return !s.default;
    case "list":
      return s.of === "ip" ? ["192.0.2.53"] : s.of === "address" ? ["someone@partner.example"] : ["10.9.0.0/24"];
    case "objects":
      return [];
    case "size":
      return "1G";
    case "duration":
      return "1w";
    case "ldapFilter":
      return "(uid=%n)";
    default:
      return `${s.default}x`;
  }
}

const settings = Object.entries(REFERENCE).flatMap(([refPath, s]) => Object.entries(s as Record<string, Setting>).map(([key, setting]) => ({ refPath, key, setting })));
const name = (refPath: string, key: string) => (refPath ? `${refPath}.${key}` : key);

describe("spec reference against the validator", () => {
  const defaulted = settings.filter((x) => "default" in x.setting && x.setting.default !== undefined);
  it("declares defaults for the limits, flavors, dnsbl, dkim, dns, storage and directory", () => assert.ok(defaulted.length >= 30, `${defaulted.length}`));

  for (const { refPath, key, setting } of defaulted) {
    const s = setting as Setting & { default: ConfigValue };
    it(`${name(refPath, key)}: leaving it out is writing its default, and another value is read`, () => {
      const implicit = outcome(configFor(refPath));
      assert.ok(!Array.isArray(implicit), `problems: ${implicit}`);
      const explicit = configFor(refPath);
      setAt(explicit, refPath, key, s.default);
      assert.deepEqual(outcome(explicit), implicit);
      const other = another(s);
      if (other === undefined) return; // an enum of one value (directory.type) has no other
      const changed = configFor(refPath);
      setAt(changed, refPath, key, other);
      assert.notDeepEqual(outcome(changed), implicit);
    });
  }

  for (const { refPath, key, setting } of settings) {
    if (setting.kind === "integer") {
      const { min, max } = setting;
      it(`${name(refPath, key)}: refuses whole numbers outside ${min} to ${max}, and fractions`, () => {
        for (const bad of [min - 1, max + 1, min + 0.5]) {
          const raw = configFor(refPath);
          const configKey = setAt(raw, refPath, key, bad);
          assert.deepEqual(outcome(raw), [`${configKey}: must be a whole number from ${min} to ${max}, not ${bad}`]);
        }
      });
    }
    if (setting.kind === "enum") {
      it(`${name(refPath, key)}: refuses values other than ${setting.values.join(", ")}`, () => {
        const raw = configFor(refPath);
        const configKey = setAt(raw, refPath, key, "bogus");
        const problems = outcome(raw);
        assert.ok(Array.isArray(problems), "accepted");
        assert.ok(problems.includes(`${configKey}: must be one of ${setting.values.map((v) => JSON.stringify(v)).join(", ")}, not "bogus"`), problems.join("\n"));
      });
    }
  }
});
