// The spec model: sizes, addresses, the stacks' topology and planned addressing.
import { strict as assert } from "assert";
import * as path from "path";
import { loadStackSpec } from "../components/core/src/spec/load";
import { cidrProblem, formatSize, nthAddress, parseSize, addressProblem } from "../components/core/src/spec/syntax";
import { referenceMarkdown, REFERENCE } from "../components/core/src/spec/reference";
import { allHosts, hostsOf } from "../components/core/src/topology";
import { ROLES } from "../components/core/src/spec/types";
import { hostVolumes, mailRoot, maskedSecrets, renderPlatform } from "../components/core/src";

const root = path.join(__dirname, "..");

describe("spec syntax", () => {
  it("parses Dovecot-style sizes and prints them back", () => {
    assert.equal(parseSize("2G"), 2 * 1024 ** 3);
    assert.equal(parseSize("500M"), 500 * 1024 ** 2);
    assert.equal(parseSize(1000), 1000);
    for (const bad of ["2 GB", "2g", "-1", "0", "", "1.5G", 1.5]) assert.equal(parseSize(bad), undefined, String(bad));
    assert.equal(formatSize(10 * 1024 ** 3), "10G");
    assert.equal(formatSize(1536 * 1024), "1536K");
  });

  it("refuses quoted, routed and percent-hack addresses", () => {
    assert.equal(addressProblem("alice@example.com"), undefined);
    for (const bad of ['"a b"@example.com', "a%b@example.com@x.example", "@relay:a@example.com", "a!b@example.com", "a..b@example.com", "a@example"]) {
      assert.ok(addressProblem(bad), bad);
    }
  });

  it("plans addresses inside a CIDR and checks host bits", () => {
    assert.equal(nthAddress("10.20.1.0/24", 31), "10.20.1.31");
    assert.equal(nthAddress("10.20.0.0/16", 300), "10.20.1.44");
    assert.equal(nthAddress("2001:db8::/64", 17), "2001:db8::11");
    assert.equal(cidrProblem("10.0.0.0/8"), undefined);
    assert.match(cidrProblem("10.0.0.1/8")!, /host bits/);
  });
});

describe("stack topology", () => {
  const prod = loadStackSpec(root, "prod");
  const staging = loadStackSpec(root, "staging");

  it("prod has three smtp-in, three smtp-out, three frontends, a maildrop pair and a webmail", () => {
    const count = (role: (typeof ROLES)[number]) => hostsOf(prod, role).length;
    assert.deepEqual(ROLES.map(count), [3, 3, 2, 3, 1]);
    assert.deepEqual(new Set(hostsOf(prod, "smtp-in").map((h) => h.site.region)).size, 3);
  });

  it("staging still has every role and a maildrop pair in two sites", () => {
    for (const role of ROLES) assert.ok(hostsOf(staging, role).length >= 1, role);
    const pair = hostsOf(staging, "maildrop");
    assert.equal(pair.length, 2);
    assert.notEqual(pair[0].site.name, pair[1].site.name);
    assert.equal(staging.storage.mode, "shared");
  });

  it("names hosts after their role and gives each a unique address in its site's network", () => {
    for (const spec of [prod, staging]) {
      const hosts = allHosts(spec);
      for (const h of hosts) {
        assert.ok(h.name.startsWith(h.role + "-"), h.name);
        assert.equal(h.fqdn, `${h.name}.${spec.platformDomain}`);
        assert.ok(h.address.startsWith(h.site.cidr.split(".").slice(0, 3).join(".") + "."), `${h.name} ${h.address}`);
      }
      assert.equal(new Set(hosts.map((h) => h.address)).size, hosts.length);
      assert.equal(new Set(hosts.map((h) => h.name)).size, hosts.length);
    }
  });

  it("puts the primary maildrop first, as placed", () => {
    assert.deepEqual(hostsOf(prod, "maildrop").map((h) => [h.name, h.index]), [["maildrop-zrh", 0], ["maildrop-ams", 1]]);
  });
});

describe("spec reference", () => {
  it("gives every setting a meaning and renders its type, default and range", () => {
    for (const [p, settings] of Object.entries(REFERENCE)) {
      for (const [key, s] of Object.entries(settings)) assert.ok(s.doc.length > 5, `${p}.${key}`);
    }
    const md = referenceMarkdown("mailplatform");
    assert.match(md, /\| `adminNetworks` \| list of CIDR \| — \| — \|/);
    assert.match(md, /\| `ttl` \| integer \| `3600` \| 60 to 604800 \|/);
    assert.match(md, /\| `dmarcPolicy` \| string \| `quarantine` \| `none`, `quarantine`, `reject` \|/);
  });
});

describe("README", () => {
  it("carries the current spec reference (npm run docs)", () => {
    const { withReference } = require("../scripts/docs") as typeof import("../scripts/docs");
    const readme = require("fs").readFileSync(path.join(root, "README.md"), "utf8") as string;
    assert.equal(withReference(readme), readme, "README.md is stale: run npm run docs");
  });

  it("and docs/openstack.md the current mailplatform-openstack settings (npm run docs)", () => {
    const { withSettings } = require("../scripts/docs") as typeof import("../scripts/docs");
    const doc = require("fs").readFileSync(path.join(root, "docs", "openstack.md"), "utf8") as string;
    assert.equal(withSettings(doc), doc, "docs/openstack.md is stale: run npm run docs");
    assert.match(doc, /\| `jumpHosts` \| mapping \| — \| — \|/);
  });
});

describe("what outlives a VM", () => {
  for (const stack of ["prod", "staging"]) {
    it(`gives every ${stack} host that runs Postfix a queue volume, and the maildrops their store at the mail root`, () => {
      const spec = loadStackSpec(root, stack);
      for (const bundle of renderPlatform(spec, maskedSecrets(spec))) {
        const volumes = hostVolumes(spec, bundle.host);
        const runsPostfix = bundle.services.some((d) => d.service === "postfix");
        assert.equal(volumes.some((v) => v.mountPoint === "/var/spool/postfix" && !v.shared), runsPostfix, bundle.host.name);
        assert.equal(volumes.some((v) => v.mountPoint === mailRoot(spec) && v.shared === (spec.storage.mode === "shared")), bundle.host.role === "maildrop", bundle.host.name);
        assert.equal(new Set(volumes.map((v) => v.purpose)).size, volumes.length, `${bundle.host.name}: two volumes of one name`);
      }
    });
  }
});
