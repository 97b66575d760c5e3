// DKIM key rotation by selector for one hosted domain, as the reference describes it
// (mailplatform:domains[].dkim.selectors): publish a new selector (DNS only), activate it once the
// platform's resolver shows it (the old one stays published while mail signed with it is in
// flight), then retire the old one. A domain without its own list follows the platform's
// (mailplatform:dkim.selectors); its first step copies that list into the domain, so its keys stay.
import { DKIM_ALGORITHMS, dkimRecordName, DkimSelector } from "@mailplatform/core";
import { domainEntry, Edited, EditError, withDomainEntry } from "./edits";
import { RawConfig, versionOf } from "./stack-config";

export type RotationStep = "publish" | "activate" | "retire";

const PLATFORM_DEFAULT: DkimSelector[] = [{ name: "s1", state: "active" }];

type Selectors = { selectors?: DkimSelector[] } | undefined;

const normal = (list: DkimSelector[]) => list.map((s) => ({ name: s.name, state: s.state ?? "active" }));

export interface DomainSelectors {
  selectors: DkimSelector[];
  /** The domain has its own list; false: it follows the platform's. */
  own: boolean;
  version: string;
}

export function domainSelectors(raw: RawConfig, domain: string): DomainSelectors {
  const own = (domainEntry(raw, domain).entry.dkim as Selectors)?.selectors;
  const selectors = normal(own ?? (raw.dkim as Selectors)?.selectors ?? PLATFORM_DEFAULT);
  return { selectors, own: !!own, version: versionOf(selectors) };
}

/** The DNS names of a selector's keys in a domain (what must resolve before it may sign). */
export const selectorRecordNames = (domain: string, selector: string) => DKIM_ALGORITHMS.map((a) => dkimRecordName(domain, selector, a));

/**
 * The config after one rotation step on `selector` of `domain`, and the config key of the selector
 * it touched (for the validator's messages); `version` is the selectors' version the step was chosen on.
 */
export function rotate(raw: RawConfig, domain: string, step: RotationStep, selector: string, version: string): Edited {
  const current = domainSelectors(raw, domain);
  if (current.version !== version) throw new EditError(409, `the DKIM selectors of ${domain} were changed by someone else meanwhile: reload and try again`);
  const { selectors } = current;
  const index = selectors.findIndex((s) => s.name === selector);
  if (step !== "publish" && index < 0) throw new EditError(404, `${domain} has no selector ${selector}`);
  let next: DkimSelector[];
  switch (step) {
    case "publish":
      if (index >= 0) throw new EditError(409, `${domain} has a selector ${selector} already`);
      next = [...selectors, { name: selector, state: "published" }];
      break;
    case "activate":
      // The new key signs; the old ones stay in DNS until retired.
      next = selectors.map((s) => ({ name: s.name, state: s.name === selector ? "active" : "published" }));
      break;
    case "retire":
      next = selectors.filter((s) => s.name !== selector);
      break;
  }
  const { index: i, entry } = domainEntry(raw, domain);
  return { raw: withDomainEntry(raw, i, { ...entry, dkim: { ...(entry.dkim as object | undefined), selectors: next } }), key: `domains[${i}].dkim.selectors[${step === "publish" ? selectors.length : index}]` };
}
