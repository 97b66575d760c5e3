// The DNS records a hosted domain needs (from the core, with the target's addresses and keys) and
// whether what the platform's resolver answers now matches each of them.
import { DnsRecord } from "@mailplatform/core";
import { RawConfig } from "./stack-config";
import { Target } from "./target";

export interface RecordCheck extends Pick<DnsRecord, "name" | "type" | "ttl" | "value"> {
  published: string[];
  matches: boolean;
}

const normal = (v: string) => v.replace(/\s+/g, " ").trim().toLowerCase();

export function domainRecords(target: Target, raw: RawConfig, domain: string): DnsRecord[] {
  return target.dnsRecords(raw).filter((r) => r.zone === domain || r.name === domain || r.name.endsWith(`.${domain}`));
}

export async function checkRecords(target: Target, records: DnsRecord[]): Promise<RecordCheck[]> {
  return Promise.all(
    records.map(async (r) => {
      const published = await target.resolve(r.name, r.type).catch(() => []);
      return { name: r.name, type: r.type, ttl: r.ttl, value: r.value, published, matches: published.some((p) => normal(p) === normal(r.value)) };
    }),
  );
}
