// DKIM key rotation by selector, as the reference describes it (mailplatform:dkim.selectors):
// publish a new selector (DNS only), activate it once DNS shows it (the old one stays published
// while mail signed with it is in flight), then retire the old one. Selectors are platform-wide in
// the spec, so every step is an operator's.
import { DkimSelector } from "@mailplatform/core";
import { EditError } from "./edits";
import { RawConfig, versionOf } from "./stack-config";

export type RotationStep = "publish" | "activate" | "retire";

const DEFAULT: DkimSelector[] = [{ name: "s1", state: "active" }];

export function selectorsOf(raw: RawConfig): DkimSelector[] {
  const dkim = raw.dkim as { selectors?: DkimSelector[] } | undefined;
  return (dkim?.selectors ?? DEFAULT).map((s) => ({ name: s.name, state: s.state ?? "active" }));
}

export const selectorsVersion = (raw: RawConfig) => versionOf(selectorsOf(raw));

/** The config after one rotation step on `selector`; `version` is the selectors' version the step was chosen on. */
export function rotate(raw: RawConfig, step: RotationStep, selector: string, version: string): RawConfig {
  const selectors = selectorsOf(raw);
  if (versionOf(selectors) !== version) throw new EditError(409, "the DKIM selectors were changed by someone else meanwhile: reload and try again");
  const found = selectors.find((s) => s.name === selector);
  let next: DkimSelector[];
  switch (step) {
    case "publish":
      if (found) throw new EditError(409, `selector ${selector} exists already`);
      next = [...selectors, { name: selector, state: "published" }];
      break;
    case "activate":
      if (!found) throw new EditError(404, `no selector ${selector}`);
      // The new key signs; the old ones stay in DNS until retired.
      next = selectors.map((s) => ({ name: s.name, state: s.name === selector ? "active" : "published" }));
      break;
    case "retire":
      if (!found) throw new EditError(404, `no selector ${selector}`);
      next = selectors.filter((s) => s.name !== selector);
      break;
  }
  return { ...raw, dkim: { ...(raw.dkim as object | undefined), selectors: next } };
}
