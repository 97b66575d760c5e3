// A small typed reader over the raw stack config that collects every problem instead of stopping
// at the first: each problem names the full config key (mailplatform:users[2].address) and what is wrong.

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

/** Typed access to one object of the raw config, reporting type errors under its path. */
export class Reader {
  constructor(
    readonly problems: Problems,
    readonly path: string,
    readonly value: Obj,
  ) {}

  static root(problems: Problems, raw: Obj): Reader {
    return new Reader(problems, "", raw);
  }

  child(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** Reports keys this object does not know, so a typo is never silently ignored. */
  known(keys: string[]): void {
    for (const k of Object.keys(this.value)) {
      if (!keys.includes(k)) this.problems.add(this.child(k), `is not a known setting (known here: ${keys.join(", ")})`);
    }
  }

  has(key: string): boolean {
    return this.value[key] !== undefined && this.value[key] !== null;
  }

  string(key: string, fallback?: string): string | undefined {
    const v = this.value[key];
    if (v === undefined || v === null) {
      if (fallback === undefined) this.problems.add(this.child(key), "is required");
      return fallback;
    }
    if (typeof v !== "string" || v.trim() === "") {
      this.problems.add(this.child(key), `must be a non-empty string, not ${show(v)}`);
      return undefined;
    }
    return v.trim();
  }

  optionalString(key: string): string | undefined {
    return this.has(key) ? this.string(key) : undefined;
  }

  integer(key: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.value[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.problems.add(this.child(key), `must be a whole number from ${min} to ${max}, not ${show(v)}`);
      return fallback;
    }
    return v;
  }

  oneOf<T extends string | number>(key: string, choices: readonly T[], fallback: T): T {
    const v = this.value[key];
    if (v === undefined || v === null) return fallback;
    if (!choices.includes(v as T)) {
      this.problems.add(this.child(key), `must be one of ${choices.map((c) => JSON.stringify(c)).join(", ")}, not ${show(v)}`);
      return fallback;
    }
    return v as T;
  }

  /** A list of strings; each item is passed to `check`, which returns a reason or undefined. */
  strings(key: string, check?: (v: string) => string | undefined, fallback: string[] = []): string[] {
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
      const reason = check?.(item);
      if (reason) return this.problems.add(p, `${JSON.stringify(item)} ${reason}`);
      out.push(item);
    });
    return out;
  }

  /** A nested object (absent means empty). */
  object(key: string): Reader {
    const v = this.value[key];
    if (v !== undefined && v !== null && !isObject(v)) {
      this.problems.add(this.child(key), `must be a mapping of settings, not ${show(v)}`);
    }
    return new Reader(this.problems, this.child(key), isObject(v) ? v : {});
  }

  /** A list of objects, each read by `item`; items that are not objects are reported. */
  list<T>(key: string, item: (r: Reader, index: number) => T | undefined, required = false): T[] {
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
      const t = item(new Reader(this.problems, p, raw), i);
      if (t !== undefined) out.push(t);
    });
    return out;
  }

  /** Reports a problem with the value at `key` (or this object when key is empty). */
  fail(key: string, message: string): void {
    this.problems.add(key ? this.child(key) : this.path, message);
  }
}

export function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return "a list";
  if (isObject(v)) return "a mapping";
  return String(v);
}
