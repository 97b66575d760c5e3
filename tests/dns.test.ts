// The platform's DNS records: what a DNS provider receives, and a zone file BIND accepts.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { createPublicKey, sign, verify } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { dkimPublicKeys } from "../components/core/src/dkim";
import { dnsRecords, DnsRecord, placeholderPublicAddresses } from "../components/core/src/dns/records";
import { zonesOf, zoneFiles } from "../components/core/src/dns/zone";

import { generateDkimKeys } from "../components/core/src/secrets/local";
import { mtaStsPolicy } from "../components/core/src/shared/mta-sts";
import { loadStackSpec } from "../components/core/src/spec/load";
import { PlatformSpec } from "../components/core/src/spec/types";
import { hostsOf, serviceNames } from "../components/core/src/topology";

const root = path.join(__dirname, "..");

function recordsFor(spec: PlatformSpec) {
  const keys = Object.fromEntries(spec.domains.map((d) => [d.name, Object.fromEntries(d.dkimSelectors.map((s) => [s.name, generateDkimKeys()]))]));
  const records = dnsRecords(spec, { publicAddresses: placeholderPublicAddresses(spec), dkim: dkimPublicKeys(keys) });
  return { keys, records };
}

const values = (records: DnsRecord[], name: string, type: string) =>
  records.filter((r) => r.name === name && r.type === type).map((r) => r.value).sort();

describe("DNS records", () => {
  for (const stack of ["prod", "staging"]) {
    describe(stack, () => {
      const spec = loadStackSpec(root, stack);
      const { keys, records } = recordsFor(spec);
      const smtpIn = hostsOf(spec, "smtp-in");

      it("gives every hosted domain and the SRS domain an equal-preference MX on every smtp-in", () => {
        for (const zone of [...spec.domains.map((d) => d.name), spec.platformDomain]) {
          assert.deepEqual(values(records, zone, "MX"), smtpIn.map((h) => `10 ${h.fqdn}.`).sort(), zone);
        }
      });

      it("publishes SPF with exactly the sites' egress addresses, DMARC and TLS-RPT", () => {
        const d = spec.domains[0].name;
        const [spf] = values(records, d, "TXT");
        const egress = spec.sites.flatMap((s) => s.egress);
        assert.deepEqual(spf.split(" ").filter((t) => /^ip[46]:/.test(t)).map((t) => t.slice(4)).sort(), [...egress].sort());
        assert.match(spf, /^v=spf1 .* -all$/);
        assert.deepEqual(values(records, `_dmarc.${d}`, "TXT"), [`v=DMARC1; p=${spec.dns.dmarcPolicy}; rua=mailto:${spec.dns.reportAddress}; adkim=r; aspf=r`]);
        assert.deepEqual(values(records, `_smtp._tls.${d}`, "TXT"), [`v=TLSRPTv1; rua=mailto:${spec.dns.reportAddress}`]);
      });

      it("publishes both DKIM keys of every selector, in a form that verifies the private key's signatures", () => {
        for (const { name: d, dkimSelectors } of spec.domains) {
          for (const sel of dkimSelectors) {
            for (const kind of ["rsa", "ed25519"] as const) {
              const [txt] = values(records, `${sel.name}-${kind}._domainkey.${d}`, "TXT");
              const p = /p=([A-Za-z0-9+/=]+)$/.exec(txt)![1];
              assert.ok(txt.startsWith(`v=DKIM1; k=${kind}; `));
              const pub = kind === "rsa"
                ? createPublicKey({ key: Buffer.from(p, "base64"), format: "der", type: "spki" })
                : createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(p, "base64").toString("base64url") }, format: "jwk" });
              const priv = keys[d][sel.name][kind].privateKeyPem;
              const data = Buffer.from("dkim");
              const algo = kind === "rsa" ? "sha256" : null;
              assert.ok(verify(algo, data, pub, sign(algo, data, priv)), `${sel.name}-${kind} ${d}`);
            }
          }
        }
        assert.ok(!JSON.stringify(records).includes("PRIVATE KEY"));
      });

      it("announces the MTA-STS policy the frontends serve, and RFC 6186 services", () => {
        const d = spec.domains[0].name;
        assert.deepEqual(values(records, `_mta-sts.${d}`, "TXT"), [`v=STSv1; id=${mtaStsPolicy(spec).id}`]);
        const names = serviceNames(spec);
        assert.deepEqual(values(records, `_submissions._tcp.${d}`, "SRV"), [`0 1 465 ${names.submission}.`]);
        assert.deepEqual(values(records, `_imaps._tcp.${d}`, "SRV"), [`0 1 993 ${names.imap}.`]);
        for (const s of ["_submission", "_imap", "_pop3s"]) assert.equal(values(records, `${s}._tcp.${d}`, "SRV").length, 1, s);
        assert.equal(values(records, names.imap, "A").length, hostsOf(spec, "frontend").length);
      });

      it("names the maildrops internally only (the MTAs reach the store by host name) and publishes no maildrop MX", () => {
        for (const h of hostsOf(spec, "maildrop")) {
          assert.deepEqual(records.filter((r) => r.name === h.fqdn).map((r) => [r.type, r.value, r.scope]), [["A", h.address, "internal"]]);
        }
        assert.ok(!records.some((r) => r.type === "MX" && r.name.startsWith("maildrop.")), "no MX for the store");
      });

      it("writes one zone file per zone with its public records only; internal records only when asked for", () => {
        const files = zoneFiles(records);
        const publicZones = zonesOf(records.filter((r) => r.scope === "public"));
        assert.deepEqual(Object.keys(files), publicZones);
        const origins = (text: string) => [...text.matchAll(/^\$ORIGIN (\S+)\.$/gm)].map((m) => m[1]);
        for (const [zone, text] of Object.entries(files)) {
          assert.deepEqual(origins(text), [zone]);
          const lines = text.split("\n").filter((l) => l.includes("\tIN\t"));
          assert.equal(lines.length, records.filter((r) => r.zone === zone && r.scope === "public").length, zone);
        }
        const internal = records.filter((r) => r.scope === "internal");
        assert.ok(internal.length > 0);
        for (const r of internal) {
          assert.ok(!Object.values(files).some((t) => t.includes(`${r.name}.\t${r.ttl}\tIN\t${r.type}\t${r.value}`)), `internal ${r.type} ${r.name} in a public zone file`);
        }
        const internalFiles = zoneFiles(records, ["internal"]);
        assert.deepEqual(Object.keys(internalFiles), [spec.platformDomain]);
        for (const r of internal) assert.ok(internalFiles[r.zone].includes(`${r.name}.\t${r.ttl}\tIN\t${r.type}\t${r.value}`), `${r.type} ${r.name}`);
      });

      it("writes zones that named-checkzone accepts: every public zone, and the internal view", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zone-"));
        try {
          const views = [{ scopes: ["public" as const], files: zoneFiles(records) }, { scopes: ["public" as const, "internal" as const], files: zoneFiles(records, ["public", "internal"]) }];
          for (const { scopes, files } of views) {
            for (const [zone, text] of Object.entries(files)) {
              const file = path.join(dir, `${zone}.${scopes.join("+")}.zone`);
              // The zone's SOA and NS belong to whoever serves it; the check needs some.
              fs.writeFileSync(file, `$TTL 3600\n${zone}. IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 300\n${zone}. IN NS ns.${zone}.\nns.${zone}. IN A 192.0.2.53\n` + text);
              const out = execFileSync("named-checkzone", ["-k", "fail", "-n", "ignore", zone, file], { encoding: "utf8" });
              assert.match(out, /OK/, `${zone} (${scopes.join(", ")})`);
            }
          }
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  }
});
