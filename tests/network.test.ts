// The trust zones as data: the rule model the security groups and the lab firewall are made from.
import { strict as assert } from "assert";
import * as path from "path";
import { networkRules, sourceCidrs } from "../components/core/src/network/rules";
import { INTERNAL, PORTS, PROXIED } from "../components/core/src/ports";
import { loadStackSpec } from "../components/core/src/spec/load";
import { hostsOf } from "../components/core/src/topology";

const root = path.join(__dirname, "..");

describe("network rules", () => {
  const prod = loadStackSpec(root, "prod");
  const staging = loadStackSpec(root, "staging");
  const rules = networkRules(prod);
  const open = (role: string, kind: string) => rules.filter((r) => r.role === role && r.from.kind === kind).map((r) => r.port).sort((a, b) => a - b);

  it("opens only smtp-in and the frontends to the Internet, on their public ports", () => {
    assert.deepEqual(open("smtp-in", "anywhere"), [PORTS.smtp, PORTS.submissions]);
    assert.deepEqual(open("frontend", "anywhere"), [PORTS.pop3, PORTS.imap, PORTS.https, PORTS.submissions, PORTS.submission, PORTS.imaps, PORTS.pop3s, PORTS.http].sort((a, b) => a - b));
    for (const role of ["smtp-out", "maildrop", "webmail"]) assert.deepEqual(open(role, "anywhere"), [], role);
  });

  it("lets ManageSieve on the frontends in only from the sieve networks and the webmail", () => {
    const sieve = rules.filter((r) => r.role === "frontend" && r.port === PORTS.managesieve);
    assert.deepEqual(sieve.map((r) => sourceCidrs(prod, r.from)), [prod.access.sieveNetworks, hostsOf(prod, "webmail").map((h) => `${h.address}/32`)]);
  });

  it("lets mail into the store (LMTP) only from smtp-in and smtp-out, nothing onto the maildrop's port 25, and proxied clients only from the frontends", () => {
    const lmtp = rules.filter((r) => r.role === "maildrop" && r.port === INTERNAL.lmtp).map((r) => r.from);
    assert.deepEqual(lmtp, [{ kind: "role", role: "smtp-in" }, { kind: "role", role: "smtp-out" }]);
    assert.deepEqual(rules.filter((r) => r.role === "maildrop" && r.port === PORTS.smtp), []);
    for (const port of [PROXIED.imaps, PROXIED.imap, PROXIED.pop3, PROXIED.pop3s, PROXIED.managesieve]) {
      assert.deepEqual(rules.filter((r) => r.role === "maildrop" && r.port === port).map((r) => r.from), [{ kind: "role", role: "frontend" }], String(port));
    }
  });

  it("lets only smtp-in and smtp-out ask the maildrops' quota-status service", () => {
    assert.deepEqual(rules.filter((r) => r.port === INTERNAL.quotaStatus).map((r) => [r.role, r.from]),
      [["maildrop", { kind: "role", role: "smtp-in" }], ["maildrop", { kind: "role", role: "smtp-out" }]]);
  });

  it("opens the replication port between the pair only in replicated mode", () => {
    assert.deepEqual(rules.filter((r) => r.port === INTERNAL.doveadm).map((r) => [r.role, r.from]), [["maildrop", { kind: "role", role: "maildrop" }]]);
    assert.equal(networkRules(staging).filter((r) => r.port === INTERNAL.doveadm).length, 0);
  });

  it("allows SSH to every role from the admin networks, and to the site-local roles from the sites' jump hosts (the frontends)", () => {
    const ssh = rules.filter((r) => r.port === PORTS.ssh);
    const admin = ssh.filter((r) => r.from.kind === "networks");
    assert.deepEqual(admin.map((r) => r.role), ["smtp-in", "smtp-out", "maildrop", "frontend", "webmail"]);
    for (const r of admin) assert.deepEqual(sourceCidrs(prod, r.from), prod.access.adminNetworks);
    const jump = ssh.filter((r) => r.from.kind === "jump");
    assert.deepEqual(jump.map((r) => r.role), ["smtp-out", "maildrop", "webmail"]);
    for (const r of jump) assert.deepEqual(sourceCidrs(prod, r.from), ["10.20.1.41/32", "10.20.2.41/32", "10.20.3.41/32"]);
    assert.equal(ssh.length, admin.length + jump.length);
  });

  it("expands role sources to the hosts' planned addresses", () => {
    assert.deepEqual(sourceCidrs(prod, { kind: "role", role: "smtp-in" }), ["10.20.1.11/32", "10.20.2.11/32", "10.20.3.11/32"]);
  });
});
