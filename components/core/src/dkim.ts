// DKIM naming and DNS values, in one place for the signer (roles/smtp-out/opendkim.ts) and the DNS
// records. Every selector of the spec has one key per algorithm, published as <selector>-<algorithm>
// so a new key can be published before the old one retires.
import { createPublicKey } from "crypto";

export type DkimAlgorithm = "rsa" | "ed25519";
export const DKIM_ALGORITHMS: readonly DkimAlgorithm[] = ["rsa", "ed25519"];

/** Both keys of one selector, in whatever form the caller holds them (PEM text, Pulumi outputs). */
export type PerAlgorithm<T> = Record<DkimAlgorithm, T>;
/** Per hosted domain, per selector name. */
export type PerDomainSelector<T> = Record<string, Record<string, T>>;

/** Public DKIM keys (PEM) per domain and selector name; secrets never enter here. */
export type DkimPublicKeys = PerDomainSelector<PerAlgorithm<string>>;

/** The DNS selector of one key: `<selector>-rsa`, `<selector>-ed25519`. */
export const dkimSelector = (selector: string, algorithm: DkimAlgorithm) => `${selector}-${algorithm}`;

/** The DNS name a key is published under (and OpenDKIM's KeyTable names it by). */
export const dkimRecordName = (domain: string, selector: string, algorithm: DkimAlgorithm) =>
  `${dkimSelector(selector, algorithm)}._domainkey.${domain}`;

/** The public halves of key pairs, keeping the domain/selector/algorithm shape. */
export function dkimPublicKeys<T>(dkim: PerDomainSelector<PerAlgorithm<{ publicKeyPem: T }>>): PerDomainSelector<PerAlgorithm<T>> {
  const pick = (k: PerAlgorithm<{ publicKeyPem: T }>) => ({ rsa: k.rsa.publicKeyPem, ed25519: k.ed25519.publicKeyPem });
  return Object.fromEntries(Object.entries(dkim).map(([domain, selectors]) =>
    [domain, Object.fromEntries(Object.entries(selectors).map(([s, k]) => [s, pick(k)]))]));
}

/** The p= value of a DKIM key record: RSA as SubjectPublicKeyInfo, Ed25519 as the raw key (RFC 8463). */
export function dkimKeyValue(publicKeyPem: string, algorithm: DkimAlgorithm): string {
  if (!publicKeyPem.includes("BEGIN PUBLIC KEY")) return publicKeyPem; // masked in the offline render
  const der = createPublicKey(publicKeyPem).export({ type: "spki", format: "der" });
  return (algorithm === "ed25519" ? der.subarray(der.length - 32) : der).toString("base64");
}

/** The TXT record of one key: its name and value. */
export function dkimRecord(domain: string, selector: string, algorithm: DkimAlgorithm, publicKeyPem: string): { name: string; value: string } {
  return {
    name: dkimRecordName(domain, selector, algorithm),
    value: `v=DKIM1; k=${algorithm}; p=${dkimKeyValue(publicKeyPem, algorithm)}`,
  };
}
