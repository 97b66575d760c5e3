// BIND master-file text for the records. Written here rather than with a zone-file library: the
// ones on npm stamp the export time into the file, and a zone that changes on every render would
// re-push on every run. `named-checkzone` (bind9-utils) checks the output in the tests.
import { DnsRecord } from "./records";

/** TXT data as quoted character-strings of at most 255 bytes (RFC 1035 §3.3.14). */
export function txtStrings(text: string): string {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += 255) chunks.push(text.slice(i, i + 255));
  return chunks.map((c) => `"${c.replace(/[\\"]/g, (m) => `\\${m}`)}"`).join(" ");
}

function line(r: DnsRecord): string {
  const value = r.type === "TXT" ? txtStrings(r.value) : r.value;
  return `${r.name}.\t${r.ttl}\tIN\t${r.type}\t${value}`;
}

/** The zones the records fall in, in first-seen order. */
export function zonesOf(records: DnsRecord[]): string[] {
  return [...new Set(records.map((r) => r.zone))];
}

/** One zone's records of the given scopes (no SOA/NS: those belong to whoever serves the zone). */
export function zoneFile(records: DnsRecord[], zone: string, scopes: DnsRecord["scope"][] = ["public"]): string {
  const rs = records.filter((r) => r.zone === zone && scopes.includes(r.scope));
  return [`; records of the mail platform for ${zone}`, `$ORIGIN ${zone}.`, ...rs.map(line), ""].join("\n");
}

/**
 * Zone name → its file, one per zone, for the zones with records of the given scopes. Public records
 * only unless asked: internal ones name site-local addresses and belong in an internal view only.
 */
export function zoneFiles(records: DnsRecord[], scopes: DnsRecord["scope"][] = ["public"]): Record<string, string> {
  const zones = zonesOf(records.filter((r) => scopes.includes(r.scope)));
  return Object.fromEntries(zones.map((z) => [z, zoneFile(records, z, scopes)]));
}
