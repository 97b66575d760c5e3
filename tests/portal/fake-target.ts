// A target for the portal's own logic (API, authorisation, applies) without a lab: the renderer's
// real bundles, with masked secrets, "pushed" to hosts that are JSON files of path → content, one
// host at a time, each written whole. The end-to-end tests (portal-lab.test.ts) use the real lab.
import * as fs from "fs";
import * as path from "path";
import { dkimPublicKeys, DkimKeys, DnsRecord, dnsRecords, generateDkimKeys, parseSpec, placeholderPublicAddresses } from "../../components/core/src";
import { changedHosts, filesOf, previewBundles } from "../../portal/changeset";
import { RawConfig, writeAtomically } from "../../portal/stack-config";
import { ApplyEvent, ApplyOutcome, ChangeSet, HostHealth, Target } from "../../portal/target";

export class FakeTarget implements Target {
  readonly kind = "fake";
  /** Published DNS answers, by "name type". */
  readonly published = new Map<string, string[]>();

  constructor(
    readonly stack: string,
    readonly configFile: string,
    readonly hostsDir: string,
    readonly delayMs = 0,
  ) {
    fs.mkdirSync(hostsDir, { recursive: true });
  }

  spec(raw: RawConfig) {
    return parseSpec(raw, this.stack);
  }

  private bundles(raw: RawConfig) {
    return previewBundles(this.spec(raw));
  }

  hostFiles(host: string): Map<string, string> | undefined {
    const file = path.join(this.hostsDir, `${host}.json`);
    return fs.existsSync(file) ? new Map(Object.entries(JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, string>)) : undefined;
  }

  async preview(raw: RawConfig): Promise<ChangeSet> {
    return { hosts: changedHosts(this.bundles(raw), (h) => this.hostFiles(h)), resources: [] };
  }

  async apply(raw: RawConfig, progress: (e: ApplyEvent) => void): Promise<ApplyOutcome> {
    const changes = await this.preview(raw);
    const bundles = new Map(this.bundles(raw).map((b) => [b.host.name, b]));
    for (const c of changes.hosts) {
      progress({ host: c.host, state: "pushing" });
      await new Promise((r) => setTimeout(r, this.delayMs));
      writeAtomically(path.join(this.hostsDir, `${c.host}.json`), JSON.stringify(Object.fromEntries(filesOf(bundles.get(c.host)!))));
      progress({ host: c.host, state: "applied" });
    }
    return { ok: true, summary: `${changes.hosts.length} host(s) changed` };
  }

  async hosts(): Promise<HostHealth[]> {
    return fs.readdirSync(this.hostsDir).map((f) => ({ name: path.basename(f, ".json"), role: "?", state: "up" }));
  }

  private readonly keys = new Map<string, DkimKeys>();

  dnsRecords(raw: RawConfig): DnsRecord[] {
    const spec = this.spec(raw);
    const key = (d: string, s: string) => this.keys.get(`${d} ${s}`) ?? this.keys.set(`${d} ${s}`, generateDkimKeys()).get(`${d} ${s}`)!;
    const dkim = Object.fromEntries(spec.domains.map((d) => [d.name, Object.fromEntries(d.dkimSelectors.map((s) => [s.name, key(d.name, s.name)]))]));
    return dnsRecords(spec, { publicAddresses: placeholderPublicAddresses(spec), dkim: dkimPublicKeys(dkim) }).filter((r) => r.scope === "public");
  }

  async resolve(name: string, type: DnsRecord["type"]): Promise<string[]> {
    return this.published.get(`${name} ${type}`) ?? [];
  }
}
