// The lab's firewall: each role's nftables ruleset, rendered from the network rules and accepted by
// nft itself. `nft -c` only parses and validates, and it runs in a network namespace of its own
// (`unshare --net`), so the machine's real firewall is never read or touched.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { nftablesRuleset } from "../lab/nftables";
import { INTERNAL, PORTS, PROXIED } from "../components/core/src/ports";
import { loadStackSpec } from "../components/core/src/spec/load";
import { ROLES } from "../components/core/src/spec/types";
import { hostsOf } from "../components/core/src/topology";

const root = path.join(__dirname, "..");

function nftCheck(ruleset: string): { status: number | null; stderr: string } {
  const r = spawnSync("unshare", ["--net", "nft", "-c", "-f", "-"], { input: ruleset, encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status, stderr: r.stderr };
}

describe("nftables rulesets (lab firewall)", () => {
  for (const stack of ["prod", "staging"]) {
    const spec = loadStackSpec(root, stack);
    for (const role of ROLES) {
      it(`${stack} ${role}: accepted by nft -c`, () => {
        const r = nftCheck(nftablesRuleset(spec, role));
        assert.equal(r.status, 0, r.stderr);
      });
    }
  }

  it("the checker catches a broken ruleset (so the checks above mean something)", () => {
    const spec = loadStackSpec(root, "staging");
    const broken = nftablesRuleset(spec, "maildrop").replace("tcp dport", "tcp dprot");
    assert.notEqual(nftCheck(broken).status, 0);
  });

  const prod = loadStackSpec(root, "prod");
  const rulesOf = (role: (typeof ROLES)[number]) => nftablesRuleset(prod, role).split("\n").map((l) => l.trim());

  it("drops by default and opens only the role's ports", () => {
    for (const role of ROLES) {
      const text = rulesOf(role);
      assert.ok(text.includes("type filter hook input priority filter; policy drop;"), role);
    }
    const maildrop = rulesOf("maildrop").filter((l) => l.includes(" accept comment "));
    // Nothing on the maildrop is open to every source.
    assert.deepEqual(maildrop.filter((l) => !/^ip6? saddr /.test(l)), []);
  });

  it("opens smtp-in's mail ports and the frontends' client ports to everyone", () => {
    assert.ok(rulesOf("smtp-in").some((l) => l.startsWith(`tcp dport { ${PORTS.smtp}, ${PORTS.submissions} } accept`)));
    assert.ok(rulesOf("frontend").some((l) => l.startsWith("tcp dport {") && l.includes(` ${PORTS.imaps},`)));
  });

  it("opens the maildrop's proxied ports only to the frontends' addresses", () => {
    const frontends = hostsOf(prod, "frontend").map((h) => `${h.address}/32`).join(", ");
    const line = rulesOf("maildrop").find((l) => l.includes(`${PROXIED.imaps}`));
    assert.ok(line?.startsWith(`ip saddr { ${frontends} } tcp dport {`), line);
  });

  it("opens dsync replication to the maildrop pair in replicated mode only", () => {
    const pair = hostsOf(prod, "maildrop").map((h) => `${h.address}/32`).join(", ");
    assert.ok(rulesOf("maildrop").some((l) => l.startsWith(`ip saddr { ${pair} } tcp dport ${INTERNAL.doveadm} accept`)));
    assert.ok(!nftablesRuleset(loadStackSpec(root, "staging"), "maildrop").includes(`${INTERNAL.doveadm}`));
  });

  it("splits IPv4 and IPv6 sources (nft refuses mixed sets)", () => {
    const sieve = rulesOf("frontend").filter((l) => l.includes(`dport ${PORTS.managesieve} `) && l.includes("allowed networks"));
    assert.deepEqual(sieve.map((l) => l.split(" saddr ")[0]), ["ip", "ip6"]);
  });
});
