// The platform's public DNS records as OpenStack Designate record sets (dns.provider `designate`).
// Which record sets exist follows from the spec alone; their values (floating IPs, DKIM keys) come
// from the stack, so previews show every record set before the cloud has assigned anything.
import { DnsRecord, dnsRecords, placeholderPublicAddresses, PlatformSpec, txtStrings } from "@mailplatform/core";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { outputsOf, rehydrationProps } from "./component";

/** One record set: every value of one name and type. */
export interface RecordSetKey {
  name: string;
  type: DnsRecord["type"];
}

const inZone = (zone: string) => (r: { name: string }) => r.name === zone || r.name.endsWith(`.${zone}`);

/** The public record sets of a zone, in record order, from the spec alone. */
export function recordSetKeys(spec: PlatformSpec, zone: string): RecordSetKey[] {
  const placeholderKeys = Object.fromEntries(spec.domains.map((d) => [d.name, Object.fromEntries(d.dkimSelectors.map((s) => [s.name, { rsa: "-", ed25519: "-" }]))]));
  const records = dnsRecords(spec, { publicAddresses: placeholderPublicAddresses(spec), dkim: placeholderKeys });
  const keys = new Map<string, RecordSetKey>();
  for (const r of records.filter((r) => r.scope === "public").filter(inZone(zone))) keys.set(`${r.type} ${r.name}`, { name: r.name, type: r.type });
  return [...keys.values()];
}

/** A record's data as Designate takes it: TXT quoted and split, the rest in presentation form. */
export function designateValue(r: DnsRecord): string {
  return r.type === "TXT" ? txtStrings(r.value) : r.value;
}

export interface DesignateRecordsArgs {
  /** Plain, not an Input: it decides which record sets exist. */
  spec: PlatformSpec;
  records: pulumi.Input<DnsRecord[]>;
  /** The Designate zone (without the trailing dot). */
  zone: string;
}

const OUTPUTS = ["recordSets"] as const;

export class DesignateRecords extends pulumi.ComponentResource {
  declare readonly recordSets: openstack.dns.RecordSet[];

  constructor(name: string, args: DesignateRecordsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailplatform:index:DesignateRecords", name, rehydrationProps(opts, OUTPUTS), opts);
    if (opts?.urn) return;
    const { spec, zone } = args;
    const o = { parent: this };
    const zoneId = openstack.dns.getDnsZoneOutput({ name: `${zone}.` }, o).apply((z) => z.id);
    const records = pulumi.output(args.records);
    this.recordSets = recordSetKeys(spec, zone).map((k) => new openstack.dns.RecordSet(`${name}-${k.type.toLowerCase()}-${k.name}`, {
      zoneId,
      name: `${k.name}.`,
      type: k.type,
      ttl: spec.dns.ttl,
      records: records.apply((rs) => rs.filter((r) => r.scope === "public" && r.name === k.name && r.type === k.type).map(designateValue)),
    }, o));
    this.registerOutputs(outputsOf(this, OUTPUTS));
  }
}
