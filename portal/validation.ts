// Every change goes through the core's validation before it is saved. The core names each problem
// by its config key (mailplatform:users[3].address: ...); the portal shows it next to the field
// of the object being edited that the key names, or above the form when it names something else.
import { NAMESPACE, PlatformSpec, SpecError } from "@mailplatform/core";
import { RawConfig } from "./stack-config";

export interface FieldError {
  /** The edited object's field (address, to, members, quota, password...), or "" for the whole form. */
  field: string;
  message: string;
}

/** Refused input: every problem, none saved. */
export class ValidationError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => e.message).join("; "));
  }
}

/** The field of the object at config key `objectKey` (users[3]) that a problem names. */
export function fieldOf(problem: string, objectKey: string): string {
  const prefix = `${NAMESPACE}:${objectKey}`;
  if (!problem.startsWith(prefix)) return "";
  const rest = problem.slice(prefix.length);
  const m = /^\.([A-Za-z]+)/.exec(rest);
  const field = m?.[1] ?? "";
  // The form asks for a password; the config holds its hash.
  return field === "passwordHash" ? "password" : field;
}

/** Validates the whole config with the core; throws ValidationError with the problems placed on fields. */
export function validate(spec: (raw: RawConfig) => PlatformSpec, raw: RawConfig, objectKey: string): PlatformSpec {
  try {
    return spec(raw);
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    throw new ValidationError(e.problems.map((message) => ({ field: fieldOf(message, objectKey), message })));
  }
}
