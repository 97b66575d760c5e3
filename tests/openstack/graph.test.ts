// The resource graph's contract for prod and staging, from the program run under mocks: what is
// built where, what is open from where, what stays secret, and in which order configs roll out.
// Expectations are written out here (not derived from the code under test), so a change to the
// platform's shape shows up as a reviewed change to this file.
import * as assert from "node:assert/strict";
import { createPublicKey } from "crypto";
import { dnsRecords } from "../../components/core/src/dns/records";
import { txtStrings } from "../../components/core/src/dns/zone";
import { machinePasswordHash, rspamdPasswordHash } from "../../components/core/src/shared/passwords";
import { MockRun, containsSecret, isSecretValue, mapSecrets, mockPassword } from "../../scripts/resources";
import { byId, byName, dependsOn, ofType, plain, stackRun, T } from "./helpers";

type Role = "smtp-in" | "smtp-out" | "maildrop" | "frontend" | "webmail";

interface Expected {
  regions: Record<string, string>;
  /** Host → planned address, in each role's rollout order (primary first). */
  hosts: Record<Role, Record<string, string>>;
  flavors: Record<Role, string>;
  siteLocal: string[];
  admin: string[];
  sieve: string[];
  storage: { mode: "replicated" | "shared"; sizeGb: number };
}

const EXPECTED: Record<string, Expected> = {
  prod: {
    regions: { zrh: "ch-zrh-1", ams: "nl-ams-1", lil: "fr-lil-1" },
    hosts: {
      "smtp-in": { "smtp-in-zrh": "10.20.1.11", "smtp-in-ams": "10.20.2.11", "smtp-in-lil": "10.20.3.11" },
      "smtp-out": { "smtp-out-zrh": "10.20.1.21", "smtp-out-ams": "10.20.2.21", "smtp-out-lil": "10.20.3.21" },
      maildrop: { "maildrop-zrh": "10.20.1.31", "maildrop-ams": "10.20.2.31" },
      frontend: { "frontend-zrh": "10.20.1.41", "frontend-ams": "10.20.2.41", "frontend-lil": "10.20.3.41" },
      webmail: { "webmail-lil": "10.20.3.51" },
    },
    flavors: { "smtp-in": "m1.medium", "smtp-out": "m1.small", maildrop: "m1.xlarge", frontend: "m1.small", webmail: "m1.small" },
    siteLocal: ["10.20.1.0/24", "10.20.2.0/24", "10.20.3.0/24"],
    admin: ["192.0.2.128/25"],
    sieve: ["192.0.2.0/24", "2001:db8:ffff::/48"],
    storage: { mode: "replicated", sizeGb: 500 },
  },
  staging: {
    regions: { zrh: "ch-zrh-1", ams: "nl-ams-1" },
    hosts: {
      "smtp-in": { "smtp-in-zrh": "10.30.1.11", "smtp-in-ams": "10.30.2.11" },
      "smtp-out": { "smtp-out-zrh": "10.30.1.21", "smtp-out-ams": "10.30.2.21" },
      maildrop: { "maildrop-zrh": "10.30.1.31", "maildrop-ams": "10.30.2.31" },
      frontend: { "frontend-zrh": "10.30.1.41", "frontend-ams": "10.30.2.41" },
      webmail: { "webmail-ams": "10.30.2.51" },
    },
    flavors: { "smtp-in": "m1.medium", "smtp-out": "m1.small", maildrop: "m1.large", frontend: "m1.small", webmail: "m1.small" },
    siteLocal: ["10.30.1.0/24", "10.30.2.0/24"],
    admin: ["192.0.2.128/25"],
    sieve: ["192.0.2.0/24"],
    storage: { mode: "shared", sizeGb: 50 },
  },
};

const ROLES: Role[] = ["smtp-in", "smtp-out", "maildrop", "frontend", "webmail"];
const PUBLIC: Role[] = ["smtp-in", "frontend"];
const siteOf = (host: string) => host.split("-").pop()!;
const ethertype = (cidr: string) => (cidr.includes(":") ? "IPv6" : "IPv4");

type From = { world: true } | { nets: string[] } | { role: Role } | { jump: true };

/** What is open from where, per role: the trust zones of DESIGN.md. */
function openings(e: Expected): [Role, number[], From][] {
  const world = { world: true } as const;
  return [
    ["smtp-in", [25, 465], world],
    ["smtp-in", [11334], { role: "maildrop" }],
    ["smtp-out", [587, 465], { nets: e.siteLocal }],
    ["smtp-out", [10587, 10465], { role: "frontend" }],
    ["maildrop", [24], { role: "smtp-in" }],
    ["maildrop", [24], { role: "smtp-out" }],
    ["maildrop", [12340], { role: "smtp-in" }],
    ["maildrop", [12340], { role: "smtp-out" }],
    ["maildrop", [143, 993, 110, 995, 4190], { nets: e.siteLocal }],
    ["maildrop", [10143, 10993, 10110, 10995, 14190], { role: "frontend" }],
    ...(e.storage.mode === "replicated" ? [["maildrop", [12345], { role: "maildrop" }] as [Role, number[], From]] : []),
    ["frontend", [587, 465, 993, 143, 995, 110, 80, 443], world],
    ["frontend", [4190], { nets: e.sieve }],
    ["frontend", [4190], { role: "webmail" }],
    ["webmail", [443], { role: "frontend" }],
    ...ROLES.map((r): [Role, number[], From] => [r, [22], { nets: e.admin }]),
    // The push reaches the site-local hosts through their site's frontend.
    ...(["smtp-out", "maildrop", "webmail"] as Role[]).map((r): [Role, number[], From] => [r, [22], { jump: true }]),
  ];
}

/**
 * The expected rules as "role@region port ethertype remote". A role source is its group in the same
 * region, its hosts elsewhere by address; the jump source the frontends of the region's sites. The
 * site networks are IPv4, so no rule is for IPv6.
 */
function expectedRules(e: Expected): string[] {
  const regionsOf = (role: Role) => [...new Set(Object.keys(e.hosts[role]).map((h) => e.regions[siteOf(h)]))];
  const out = new Set<string>();
  for (const [role, ports, from] of openings(e)) {
    for (const region of regionsOf(role)) {
      const remotes: string[] = "world" in from
        ? ["IPv4 0.0.0.0/0"]
        : "nets" in from
          ? from.nets.filter((n) => ethertype(n) === "IPv4").map((n) => `IPv4 ${n}`)
          : "jump" in from
            ? Object.entries(e.hosts.frontend).filter(([h]) => e.regions[siteOf(h)] === region).map(([, a]) => `IPv4 ${a}/32`)
            : Object.entries(e.hosts[from.role]).map(([h, a]) => (e.regions[siteOf(h)] === region ? `IPv4 group:${from.role}` : `IPv4 ${a}/32`));
      for (const port of ports) for (const r of remotes) out.add(`${role}@${region} ${port} ${r}`);
    }
  }
  return [...out].sort();
}

const roleTagOf = (tags: string[]) => tags.find((t) => t.startsWith("mailplatform-role="))!.split("=")[1];

for (const stack of ["prod", "staging"]) {
  describe(`OpenStack resource graph: ${stack}`, function () {
    const e = EXPECTED[stack];
    let run: MockRun;
    before(async () => {
      run = (await stackRun(stack)).run;
    });

    it("has one provider per region, and every OpenStack resource names one", () => {
      assert.deepEqual(ofType(run, T.provider).map((p) => plain(p).region).sort(), [...new Set(Object.values(e.regions))].sort());
      const unbound = run.resources.filter((r) => r.custom && r.type.startsWith("openstack:") && !r.provider);
      assert.deepEqual(unbound.map((r) => r.name), []);
    });

    it("builds exactly the planned hosts per role, each in its site's region, with its flavor and image", () => {
      const servers = ofType(run, T.instance).map(plain);
      for (const role of ROLES) {
        const got = servers.filter((s) => s.metadata.role === role);
        assert.deepEqual(got.map((s) => s.name), Object.keys(e.hosts[role]), `${role} hosts`);
        for (const s of got) assert.equal(s.flavorName, e.flavors[role], `${s.name} flavor`);
      }
      assert.equal(servers.length, ROLES.reduce((n, r) => n + Object.keys(e.hosts[r]).length, 0));
      for (const s of ofType(run, T.instance)) {
        const name = plain(s).name as string;
        assert.equal(s.provider, `mailplatform-${e.regions[siteOf(name)]}`, `${name} region`);
      }
    });

    it("places every VM of a region with more than one in that region's soft-anti-affinity group, and only those", () => {
      const perRegion = new Map<string, string[]>();
      for (const s of ofType(run, T.instance)) {
        const p = plain(s);
        const region = e.regions[siteOf(p.name)];
        perRegion.set(region, [...(perRegion.get(region) ?? []), p.name]);
      }
      for (const s of ofType(run, T.instance)) {
        const p = plain(s);
        if (perRegion.get(e.regions[siteOf(p.name)])!.length < 2) {
          assert.equal(p.schedulerHints, undefined, `${p.name} is alone in its region`);
          continue;
        }
        const group = byId(run, p.schedulerHints[0].group)!;
        assert.equal(group.type, T.serverGroup);
        assert.deepEqual(plain(group).policies, ["soft-anti-affinity"]);
        assert.equal(plain(group).name, `mailplatform-${stack}`);
        assert.equal(group.provider, s.provider, `${p.name}'s server group is in its region`);
      }
      assert.equal(ofType(run, T.serverGroup).length, [...perRegion.values()].filter((vms) => vms.length > 1).length);
    });

    it("gives every host one port with its planned address on its site's network, in its role's group", () => {
      for (const role of ROLES) {
        for (const [host, address] of Object.entries(e.hosts[role])) {
          const server = ofType(run, T.instance).find((s) => plain(s).name === host)!;
          const port = byId(run, plain(server).networks[0].port)!;
          const p = plain(port);
          assert.deepEqual(p.fixedIps.map((f: { ipAddress: string }) => f.ipAddress), [address], `${host} address`);
          assert.equal(byId(run, p.networkId)!.name, `mailplatform-${siteOf(host)}-net`);
          const group = byId(run, p.securityGroupIds[0])!;
          assert.deepEqual([p.securityGroupIds.length, roleTagOf(plain(group).tags), group.provider], [1, role, server.provider]);
        }
      }
    });

    it("gives floating IPs to smtp-in and frontend hosts only", () => {
      const withFip = ofType(run, T.fip).map((f) => plain(byId(run, plain(f).portId)!).name).sort();
      assert.deepEqual(withFip, PUBLIC.flatMap((r) => Object.keys(e.hosts[r])).sort());
      for (const f of ofType(run, T.fip)) assert.equal(plain(f).pool, "public");
    });

    it("opens exactly the rule model's ports, from exactly its sources", () => {
      const actual = ofType(run, T.rule).map((r) => {
        const p = plain(r);
        const group = byId(run, p.securityGroupId)!;
        assert.deepEqual([p.direction, p.protocol, p.portRangeMin], ["ingress", "tcp", p.portRangeMax]);
        const remote = p.remoteGroupId ? `group:${roleTagOf(plain(byId(run, p.remoteGroupId)!).tags)}` : p.remoteIpPrefix;
        if (p.remoteGroupId) assert.equal(byId(run, p.remoteGroupId)!.provider, r.provider, `${r.name}: remote group in the same region`);
        return `${roleTagOf(plain(group).tags)}@${r.provider!.replace("mailplatform-", "")} ${p.portRangeMin} ${p.ethertype} ${remote}`;
      }).sort();
      assert.deepEqual(actual, expectedRules(e));
    });

    it(`stores mailboxes as ${e.storage.mode} storage`, () => {
      const maildrops = Object.entries(e.hosts.maildrop);
      const mailVolumes = ofType(run, T.volume).filter((v) => plain(v).name.endsWith("-mail"));
      if (e.storage.mode === "replicated") {
        assert.deepEqual(ofType(run, T.share), []);
        assert.deepEqual(mailVolumes.map((v) => [plain(v).name, plain(v).size, v.protect, v.provider]),
          maildrops.map(([h]) => [`${h}-mail`, e.storage.sizeGb, true, `mailplatform-${e.regions[siteOf(h)]}`]));
        for (const v of mailVolumes) {
          const attach = ofType(run, T.attach).find((a) => plain(a).volumeId === v.id)!;
          assert.equal(plain(byId(run, plain(attach).instanceId)!).metadata.role, "maildrop");
        }
      } else {
        assert.deepEqual(mailVolumes, []);
        const [share] = ofType(run, T.share);
        assert.deepEqual([plain(share).shareProto, plain(share).size, share.protect], ["NFS", e.storage.sizeGb, true]);
        const rules = ofType(run, T.shareAccess).map(plain);
        assert.deepEqual(rules.map((r) => [r.shareId, r.accessType, r.accessLevel, r.accessTo]),
          maildrops.map(([, address]) => [share.id, "ip", "rw", address]), "access for exactly the two maildrops");
      }
      // The store is mounted before the first config push, at the path the renderers use.
      for (const [host] of maildrops) {
        const mount = byName(run, `mailplatform-maildrop-${siteOf(host)}-mail-mount`);
        // Its name before hosts had several volumes: an existing stack finds it under the new one.
        assert.deepEqual(mount.aliases, [{ name: `mailplatform-maildrop-${siteOf(host)}-mount`, type: undefined }]);
        assert.match(plain(mount).create, e.storage.mode === "replicated" ? /^sudo sh -s -- volume \S+ \/var\/vmail mail .*\bdovecot\b/ : /^sudo sh -s -- nfs 192\.0\.2\.250:\/shares\/share-\w+ \/srv\/mail$/);
        assert.ok(dependsOn(byName(run, `mailplatform-maildrop-push-${host}-install`)).includes(mount.name));
      }
    });

    it("keeps every Postfix queue on a volume of its own, attached to its VM and mounted before its first push", () => {
      const mtas = (["smtp-in", "smtp-out", "maildrop"] as const).flatMap((role) => Object.keys(e.hosts[role]).map((host) => ({ role, host })));
      const queues = ofType(run, T.volume).filter((v) => plain(v).name.endsWith("-queue"));
      assert.deepEqual(queues.map((v) => [plain(v).name, plain(v).size, v.protect, v.provider]).sort(),
        mtas.map(({ host }) => [`${host}-queue`, 10, true, `mailplatform-${e.regions[siteOf(host)]}`]).sort());
      for (const { role, host } of mtas) {
        const volume = queues.find((v) => plain(v).name === `${host}-queue`)!;
        const attach = ofType(run, T.attach).find((a) => plain(a).volumeId === volume.id)!;
        assert.equal(plain(byId(run, plain(attach).instanceId)!).name, host);
        const mount = byName(run, `mailplatform-${role}-${siteOf(host)}-queue-mount`);
        assert.match(plain(mount).create, new RegExp(`^sudo sh -s -- volume ${volume.id} /var/spool/postfix queue .*\\bpostfix(\\s|$)`));
        assert.ok(dependsOn(mount).includes(attach.name));
        assert.ok(dependsOn(byName(run, `mailplatform-${role}-push-${host}-install`)).includes(mount.name), `${host}: push before its queue is mounted`);
      }
      // Nothing else keeps state: the frontends and the webmail get no volume.
      assert.equal(ofType(run, T.attach).length, queues.length + (e.storage.mode === "replicated" ? 2 : 0));
    });

    it("replaces a VM and a volume's attachment by deleting the old one first (a port and a volume belong to one VM at a time)", () => {
      for (const r of [...ofType(run, T.instance), ...ofType(run, T.attach)]) assert.ok(r.deleteBeforeReplace, `${r.name} would be created beside the old one`);
    });

    it("rolls each cluster out host by host, primary first, clusters in parallel", () => {
      for (const role of ROLES) {
        const push = `mailplatform-${role}-push`;
        const hosts = Object.keys(e.hosts[role]);
        hosts.forEach((host, i) => {
          const [install, apply, health] = ["install", "apply", "health"].map((s) => byName(run, `${push}-${host}-${s}`));
          const pushDeps = dependsOn(apply).filter((d) => d.startsWith("mailplatform-") && d.includes("-push-"));
          const expected = [install.name, ...(i > 0 ? [`${push}-${hosts[i - 1]}-health`] : [])];
          assert.deepEqual(pushDeps.sort(), expected.sort(), `${host} apply waits for its install and the previous host's health check only`);
          assert.ok(dependsOn(health).includes(apply.name), `${host} health check follows its apply`);
          const server = ofType(run, T.instance).find((s) => plain(s).name === host)!;
          assert.equal(plain(apply).triggers[1], server.id, "a replaced VM is pushed again");
          assert.equal(plain(health).triggers[0], plain(apply).triggers[0], "health re-runs with every new content");
          assert.match(plain(health).create, /^sudo sh -s -- \S+ [0-9,]+$/);
        });
      }
    });

    it("keeps secrets out of outputs, command lines and logs", () => {
      assert.deepEqual(run.secretOutputs, { endpoints: false, inventory: false, dnsRecords: false, zoneFiles: false });
      for (const c of ofType(run, T.command)) {
        assert.ok(isSecretValue(c.inputs.connection), `${c.name}: connection (SSH key) is secret`);
        for (const f of ["create", "update", "triggers", "logging"]) assert.ok(!containsSecret(c.inputs[f]), `${c.name}: ${f} is not secret`);
        assert.equal(c.inputs.addPreviousOutputInEnv, false);
      }
      for (const a of ofType(run, T.command).filter((c) => c.name.endsWith("-apply"))) {
        assert.ok(isSecretValue(a.inputs.stdin), `${a.name}: the bundle is secret`);
        assert.equal(a.inputs.logging, "stderr");
        for (const o of ["stdin", "stdout", "stderr"]) assert.ok(a.additionalSecretOutputs.includes(o), `${a.name}: ${o} secret in state`);
        assert.equal(a.inputs.create, "sudo /usr/local/sbin/mailplatform-provision apply -");
      }
      // The health check prints only its own findings, and keeps even those secret in state.
      for (const h of ofType(run, T.command).filter((c) => c.name.endsWith("-health"))) {
        for (const o of ["stdout", "stderr"]) assert.ok(h.additionalSecretOutputs.includes(o), `${h.name}: ${o} secret in state`);
      }
      // No generated secret appears outside a secret wrapper, in any input or output; each does reach a host.
      const masked = JSON.stringify({ inputs: run.resources.map((r) => mapSecrets(r.inputs, () => "<secret>")), outputs: run.outputs });
      const bundles = ofType(run, T.command).filter((c) => c.name.endsWith("-apply")).map((c) => plain(c).stdin as string).join("");
      const passwords = ofType(run, T.password);
      assert.equal(passwords.length, 5 + (stack === "prod" ? 2 : 1), "replication, SRS, Rspamd's two, Roundcube key, one per relay client (none for the webmail)");
      for (const p of passwords) {
        const value = mockPassword(p.name, plain(p).length);
        assert.ok(!masked.includes(value), `${p.name} leaks`);
        // Servers' relay users reach smtp-out only as a hash, and so does Rspamd's read password;
        // every other secret is used in plain.
        const relayClient = /-relay-(.+)$/.exec(p.name)?.[1];
        if (relayClient) {
          assert.ok(!bundles.includes(value) && bundles.includes(machinePasswordHash(relayClient, value)), `${p.name} reaches smtp-out hashed`);
        } else if (p.name.endsWith("-rspamd-controller")) {
          assert.ok(!bundles.includes(value) && bundles.includes(rspamdPasswordHash("rspamd-controller", value)), `${p.name} reaches the MTAs hashed`);
        } else if (p.name.endsWith("-replication")) {
          assert.equal(bundles.includes(value), e.storage.mode === "replicated", `${p.name} reaches the maildrops when they replicate`);
        } else {
          assert.ok(bundles.includes(value), `${p.name} reaches the hosts`);
        }
      }
      // Key material, not a script that mentions the header.
      assert.doesNotMatch(masked, /PRIVATE KEY-----\\n[A-Za-z0-9+/]{20}/);
      assert.match(bundles, /PRIVATE KEY-----\n[A-Za-z0-9+/]{20}/);
      for (const host of Object.values(e.hosts).flatMap(Object.keys)) {
        assert.ok(run.resources.some((r) => r.name === `mailplatform-secrets-${host}-cert`), `${host} has a certificate`);
      }
    });

    it("exports the platform's DNS records, built from the floating IPs and the DKIM keys of the stack", () => {
      const records = run.outputs.dnsRecords as ReturnType<typeof dnsRecords>;
      const fipOf = (host: string) => plain(ofType(run, T.fip).find((f) => plain(byId(run, plain(f).portId)!).name === host)!);
      const inventory = run.outputs.inventory as { name: string; publicAddress?: string }[];
      for (const host of PUBLIC.flatMap((r) => Object.keys(e.hosts[r]))) {
        const address = inventory.find((i) => i.name === host)!.publicAddress!;
        assert.ok(address && fipOf(host), `${host} has a public address`);
        assert.ok(records.some((r) => r.type === "A" && r.name.startsWith(`${host}.`) && r.value === address), `A record of ${host}`);
      }
      // DKIM: the published p= is the stack's key of that domain and selector.
      for (const key of ofType(run, T.privateKey).filter((k) => k.name.includes("-dkim-"))) {
        const [, domain, selector, kind] = /^mailplatform-secrets-dkim-(.+)-([a-z0-9]+)-(rsa|ed25519)$/.exec(key.name)!;
        assert.equal(key.inputs.algorithm, kind === "rsa" ? "RSA" : "ED25519");
        const record = records.find((r) => r.name === `${selector}-${kind}._domainkey.${domain}`)!;
        assert.ok(record, `DKIM record ${selector}-${kind} of ${domain}`);
        assert.match(record.value, new RegExp(`^v=DKIM1; k=${kind}; p=[A-Za-z0-9+/=]{40,}$`));
      }
      const mx = records.filter((r) => r.type === "MX" && r.scope === "public");
      for (const r of mx) assert.match(r.value, /^10 smtp-in-\w+\./);
      // The MTAs reach the store by the maildrops' host names, which only the inside resolves.
      for (const h of Object.keys(e.hosts.maildrop)) {
        assert.ok(records.some((r) => r.scope === "internal" && r.type === "A" && r.name === `${h}.${stack === "prod" ? "mail" : "staging"}.example.net`), `internal A of ${h}`);
      }
      for (const type of ["A", "MX", "TXT", "SRV", "CNAME"]) assert.ok(records.some((r) => r.type === type), `has ${type} records`);
      assert.ok(records.every((r) => typeof r.value === "string" && !r.value.includes("secret")));
      // One zone file per zone, with every public record in its own zone's file and no internal one.
      const zones = run.outputs.zoneFiles as Record<string, string>;
      assert.deepEqual(Object.keys(zones).sort(), [...new Set(records.filter((r) => r.scope === "public").map((r) => r.zone))].sort());
      for (const r of records) {
        const line = `${r.name}.\t${r.ttl}\tIN\t${r.type}\t${r.type === "TXT" ? txtStrings(r.value) : r.value}`;
        const holders = Object.keys(zones).filter((z) => zones[z].split("\n").includes(line));
        assert.deepEqual(holders, r.scope === "public" ? [r.zone] : [], `${r.scope} ${r.type} ${r.name}`);
      }
    });

    it("creates no Designate record sets unless dns.provider is designate", () => {
      assert.deepEqual(ofType(run, T.recordSet), []);
    });
  });
}

// Keys are real in the mocks, so the records can be checked against them like a resolver would.
describe("OpenStack resource graph: DKIM values", () => {
  it("publishes the Ed25519 key raw (RFC 8463) and the RSA key as SPKI", async () => {
    const { run } = await stackRun("staging");
    const records = run.outputs.dnsRecords as ReturnType<typeof dnsRecords>;
    const ed = records.find((r) => r.name.startsWith("s1-ed25519._domainkey."))!;
    const raw = Buffer.from(ed.value.split("p=")[1], "base64");
    assert.equal(raw.length, 32);
    const rsa = records.find((r) => r.name.startsWith("s1-rsa._domainkey."))!;
    const key = createPublicKey({ key: Buffer.from(rsa.value.split("p=")[1], "base64"), format: "der", type: "spki" });
    assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
  });
});
