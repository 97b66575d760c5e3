// A small typed reader over the raw stack config that collects every problem instead of stopping
// at the first: each problem names the full config key (mailplatform:users[2].address) and what is wrong.
import { EnumValue, ItemPath, itemPath, Kind, KeyOfKind, keysOf, MappingPath, mappingPath, RefPath, Setting, settingsAt, ValueKind } from "./reference";
import {
  addressProblem,
  cidrProblem,
  domainProblem,
  durationProblem,
  ipProblem,
  ldapFilterProblem,
  ldapUriProblem,
  parseSize,
  passwordHashProblem,
} from "./syntax";

export class SpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`the platform config has ${problems.length} problem(s):\n` + problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "SpecError";
  }
}

export class Problems {
  readonly list: string[] = [];
  constructor(readonly namespace: string) {}

  key(path: string): string {
    return `${this.namespace}:${path}`;
  }

  add(path: string, message: string): void {
    this.list.push(`${this.key(path)}: ${message}`);
  }
}

type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Syntax checks of the value kinds that have one. */
const SYNTAX: Partial<Record<ValueKind, (v: string) => string | undefined>> = {
  domain: domainProblem,
  address: addressProblem,
  cidr: cidrProblem,
  ip: ipProblem,
  passwordHash: passwordHashProblem,
  duration: durationProblem,
  ldapUri: ldapUriProblem,
  ldapFilter: ldapFilterProblem,
};

/**
 * Typed access to one object of the raw config at reference path P, reporting problems under its
 * config path. Keys, their kinds, defaults, ranges and allowed values come from REFERENCE.
 */
export class Reader<P extends RefPath> {
  readonly value: Obj;

  constructor(
    readonly problems: Problems,
    readonly path: string,
    value: Obj,
    readonly refPath: P,
  ) {
    const settings = settingsAt(refPath);
    // A typo is never silently ignored.
    for (const k of Object.keys(value)) {
      if (!(k in settings)) problems.add(this.child(k), `is not a known setting (known here: ${keysOf(refPath).join(", ")})`);
    }
    // A declared default is read as if the config had written it, through the same checks.
    this.value = { ...value };
    for (const [k, s] of Object.entries(settings)) {
      if (!this.has(k) && "default" in s && s.default !== undefined) this.value[k] = s.default;
    }
  }

  static root(problems: Problems, raw: Obj): Reader<""> {
    return new Reader(problems, "", raw, "");
  }

  child(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** The declaration of key, whose kind the key's type (KeyOfKind) already guarantees. */
  private setting<K extends Kind>(key: string): Extract<Setting, { kind: K }> {
    return settingsAt(this.refPath)[key] as Extract<Setting, { kind: K }>;
  }

  has(key: string): boolean {
    return this.value[key] !== undefined && this.value[key] !== null;
  }

  /** A string, checked by its kind's syntax; without a value or default it is required unless `computed` is given. */
  string(key: KeyOfKind<P, ValueKind>, computed?: string): string | undefined {
    const v = this.value[key];
    if (v === undefined || v === null) {
      if (computed === undefined) this.problems.add(this.child(key), "is required");
      return computed;
    }
    if (typeof v !== "string" || v.trim() === "") {
      this.problems.add(this.child(key), `must be a non-empty string, not ${show(v)}`);
      return undefined;
    }
    const text = v.trim();
    const setting = this.setting<ValueKind>(key);
    const reason = SYNTAX[setting.kind]?.(text);
    if (reason) {
      // A secret is never echoed: messages reach logs.
      this.problems.add(this.child(key), `${"secret" in setting && setting.secret ? "the secret value" : JSON.stringify(text)} ${reason}`);
      return undefined;
    }
    return text;
  }

  optionalString(key: KeyOfKind<P, ValueKind>): string | undefined {
    return this.has(key) ? this.string(key) : undefined;
  }

  /**
   * A secret: its text, checked like a string, when it is readable here; undefined when absent or
   * encrypted (a Pulumi `secure:` value of a stack file read without the Pulumi CLI, which decrypts
   * it for the program).
   */
  secretString(key: KeyOfKind<P, ValueKind>): string | undefined {
    return isPulumiSecure(this.value[key]) ? undefined : this.optionalString(key);
  }

  /** A whole number in the setting's range; a refused one reads as its default. */
  integer(key: KeyOfKind<P, "integer">): number {
    const { min, max, default: fallback } = this.setting<"integer">(key);
    const v = this.value[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.problems.add(this.child(key), `must be a whole number from ${min} to ${max}, not ${show(v)}`);
      return fallback;
    }
    return v;
  }

  /** true or false; a refused value reads as its default. */
  boolean(key: KeyOfKind<P, "boolean">): boolean {
    const fallback = this.setting<"boolean">(key).default;
    const v = this.value[key];
    if (typeof v !== "boolean") {
      this.problems.add(this.child(key), `must be true or false, not ${show(v)}`);
      return fallback;
    }
    return v;
  }

  /** A size in bytes (2G, 500M, or plain bytes). */
  size(key: KeyOfKind<P, "size">): number | undefined {
    const bytes = parseSize(this.value[key]);
    if (bytes === undefined) {
      this.problems.add(this.child(key), `${JSON.stringify(this.value[key])} is not a size: use a whole number with an optional K, M, G or T (e.g. 2G)`);
    }
    return bytes;
  }

  /** One of the setting's values; without one, its default or the `computed` one. */
  oneOf<K extends KeyOfKind<P, "enum">>(key: K, computed?: EnumValue<P, K>): EnumValue<P, K> {
    const s = this.setting<"enum">(key);
    const fallback = ("default" in s ? s.default : computed) as EnumValue<P, K>;
    const v = this.value[key];
    if (v === undefined || v === null) return fallback;
    if (!s.values.includes(v as string | number)) {
      this.problems.add(this.child(key), `must be one of ${s.values.map((c) => JSON.stringify(c)).join(", ")}, not ${show(v)}`);
      return fallback;
    }
    return v as EnumValue<P, K>;
  }

  /** A list of strings, each checked by the item kind's syntax and then by `check`, which returns a reason or undefined. */
  strings(key: KeyOfKind<P, "list">, check?: (v: string) => string | undefined, fallback: string[] = []): string[] {
    const syntax = SYNTAX[this.setting<"list">(key).of];
    const v = this.value[key];
    if (v === undefined || v === null) return fallback;
    if (!Array.isArray(v)) {
      this.problems.add(this.child(key), `must be a list, not ${show(v)}`);
      return fallback;
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      const p = `${this.child(key)}[${i}]`;
      if (typeof item !== "string") return this.problems.add(p, `must be a string, not ${show(item)}`);
      const reason = syntax?.(item) ?? check?.(item);
      if (reason) return this.problems.add(p, `${JSON.stringify(item)} ${reason}`);
      out.push(item);
    });
    return out;
  }

  /** A nested object (absent means empty). */
  object<K extends KeyOfKind<P, "mapping">>(key: K): Reader<MappingPath<P, K>> {
    const v = this.value[key];
    if (v !== undefined && v !== null && !isObject(v)) {
      this.problems.add(this.child(key), `must be a mapping of settings, not ${show(v)}`);
    }
    return new Reader(this.problems, this.child(key), isObject(v) ? v : {}, mappingPath(this.refPath, key) as MappingPath<P, K>);
  }

  /** A list of objects, each read by `item`; items that are not objects are reported. */
  list<K extends KeyOfKind<P, "objects">, T>(key: K, item: (r: Reader<ItemPath<P, K>>, index: number) => T | undefined, required = false): T[] {
    const v = this.value[key];
    if (v === undefined || v === null) {
      if (required) this.problems.add(this.child(key), "is required");
      return [];
    }
    if (!Array.isArray(v)) {
      this.problems.add(this.child(key), `must be a list, not ${show(v)}`);
      return [];
    }
    const out: T[] = [];
    v.forEach((raw, i) => {
      const p = `${this.child(key)}[${i}]`;
      if (!isObject(raw)) return this.problems.add(p, `must be a mapping, not ${show(raw)}`);
      const t = item(new Reader(this.problems, p, raw, itemPath(this.refPath, key) as ItemPath<P, K>), i);
      if (t !== undefined) out.push(t);
    });
    return out;
  }

  /** Reports a problem with the value at `key` (or this object when key is empty). */
  fail(key: string, message: string): void {
    this.problems.add(key ? this.child(key) : this.path, message);
  }
}

/** `{ secure: "v1:…" }`: how a stack file holds a value set with `pulumi config set --secret`. */
export function isPulumiSecure(v: unknown): boolean {
  return isObject(v) && Object.keys(v).length === 1 && typeof v.secure === "string";
}

export function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return "a list";
  if (isObject(v)) return "a mapping";
  return String(v);
}
