// The lab's own machinery: hosts up, provisioned by the one script, firewalled by the core's
// rules; `up` again changes nothing; `down` leaves nothing behind. Needs root, like the lab. Ends
// with the lab up again when it was up before, for the mail tests that follow.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { inNetns, Inventory, InventoryHost, labBundleFiles, labDown, labExec, labSpecAndSecrets, labStatus, labUp, readInventory } from "../../lab";
import { filesOf } from "../../portal/changeset";
import { hostPid } from "../../lab/hosts";
import { labLinks, labNetnsNames } from "../../lab/network";
import { bundleDir, LAB_DIR } from "../../lab/paths";
import { PORTS, PROXIED } from "../../components/core/src/ports";
import { allHosts, hostScriptPath, loadStackSpec, renderPlatform } from "../../components/core/src";
import { run } from "../../lab/system";

const REPO = path.join(__dirname, "..", "..");

function stackInUse(): { stack: string; wasUp: boolean } {
  try {
    return { stack: process.env.LAB_STACK ?? readInventory().stack, wasUp: true };
  } catch {
    return { stack: process.env.LAB_STACK ?? "staging", wasUp: false };
  }
}

/** Whether a TCP connection from a host's network namespace is accepted within 3 s. */
function connects(from: InventoryHost, address: string, port: number): boolean {
  return inNetns(from.name, ["timeout", "3", "bash", "-c", `exec 3<>/dev/tcp/${address}/${port}`]).status === 0;
}

describe("lab: hosts, provisioning, firewall, up twice, down", function () {
  this.timeout(15 * 60_000);
  // Read when the suite starts, not when the file loads: suites before this one may have brought it up.
  let stack: string;
  let wasUp: boolean;
  let inventory: Inventory;
  const log: string[] = [];
  const host = (name: string) => inventory.hosts.find((h) => h.name === name)!;
  const ofRole = (role: string) => inventory.hosts.filter((h) => h.role === role);

  before(async () => {
    ({ stack, wasUp } = stackInUse());
    inventory = await labUp(stack, (l) => log.push(l));
  });

  it("runs one host per VM of the stack plus internet, external-mx and dns, each up", () => {
    const expected = [...allHosts(loadStackSpec(REPO, stack)).map((h) => h.name), "internet", "external-mx", "dns"].sort();
    assert.deepEqual(inventory.hosts.map((h) => h.name).sort(), expected);
    const status = labStatus();
    assert.deepEqual(status.map((s) => s.name).sort(), expected);
    for (const s of status) {
      assert.ok(s.running, `${s.name} is not running`);
      assert.ok(s.processes >= 2, `${s.name}: only ${s.processes} processes (tini and sleep at least)`);
    }
  });

  it("applied each platform host's bundle with files/provision.sh (its plan now shows no change)", () => {
    for (const h of inventory.hosts.filter((x) => fs.existsSync(bundleDir(x.name)))) {
      const r = labExec(h.name, ["bash", hostScriptPath("provision.sh"), "plan", bundleDir(h.name)]);
      assert.equal(r.status, 0, `${h.name}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^provision ${h.name}: no changes$`, "m"), `${h.name}:\n${r.stdout}`);
    }
    assert.equal(fs.readdirSync(path.join(LAB_DIR, "bundles")).length, inventory.hosts.filter((h) => h.site).length);
    // What the portal compares a preview with: the applied files, and only those (not the manifest or the secret list).
    const { spec, secrets } = labSpecAndSecrets(stack);
    for (const b of renderPlatform(spec, secrets.platform)) assert.deepEqual(labBundleFiles(b.host.name), filesOf(b), b.host.name);
  });

  it("enforces the trust zones with each host's nftables (the lab network itself allows everything)", () => {
    const internet = host("internet");
    const [maildrop] = ofRole("maildrop");
    const [smtpOut] = ofRole("smtp-out");
    const [frontend] = ofRole("frontend");
    for (const smtpIn of ofRole("smtp-in")) assert.ok(connects(internet, smtpIn.publicAddress!, PORTS.smtp), `internet → ${smtpIn.name}:25`);
    for (const f of ofRole("frontend")) assert.ok(connects(internet, f.publicAddress!, PORTS.imaps), `internet → ${f.name}:993`);
    assert.ok(!connects(internet, maildrop.address, PORTS.imaps), `internet → ${maildrop.name}:993 must fail`);
    assert.ok(!connects(internet, maildrop.address, PROXIED.imaps), `internet → ${maildrop.name}:${PROXIED.imaps} must fail`);
    assert.ok(!connects(internet, smtpOut.address, PORTS.submission), `internet → ${smtpOut.name}:587 must fail`);
    // The same ports answer where the rules allow: the refusals above are the firewall's doing.
    assert.ok(connects(frontend, maildrop.address, PROXIED.imaps), `${frontend.name} → ${maildrop.name}:${PROXIED.imaps}`);
    assert.ok(connects(frontend, smtpOut.address, PORTS.submission), `${frontend.name} → ${smtpOut.name}:587 (site-local)`);
    const rules = inNetns(maildrop.name, ["nft", "list", "table", "inet", "mailplatform"]);
    assert.match(rules.stdout, /policy drop;/);
  });

  it("answers DNS from the lab's signed root through the hosts' validating resolvers", () => {
    const [smtpOut] = ofRole("smtp-out");
    const lookup = "require('dns').promises.resolveMx('partner.example').then((r) => console.log(r[0].exchange))";
    const r = labExec(smtpOut.name, ["node", "-e", lookup]);
    assert.equal(r.stdout.trim(), "mx.partner.example", r.stderr);
  });

  it("changes nothing when brought up again", async () => {
    const pids = inventory.hosts.map((h) => hostPid(h));
    const again: string[] = [];
    await labUp(stack, (l) => again.push(l));
    assert.deepEqual(inventory.hosts.map((h) => hostPid(h)), pids, "hosts were restarted");
    const provisioned = again.filter((l) => / ok in [\d.]+ s: /.test(l));
    assert.equal(provisioned.length, inventory.hosts.filter((h) => h.site).length, again.join("\n"));
    for (const l of provisioned) assert.match(l, /: no changes$/);
    assert.ok(again.some((l) => /dns +unbound running/.test(l)) && again.some((l) => /external-mx +postfix running/.test(l)), again.join("\n"));
  });

  it("leaves no namespace, mount, process or link behind when taken down", async () => {
    const pidNamespaces = inventory.hosts.map((h) => fs.readlinkSync(`/proc/${hostPid(h)}/ns/pid`));
    await labDown(() => undefined);
    assert.deepEqual(labNetnsNames(), []);
    const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(LAB_DIR) || l.includes("/run/netns/mplab-"));
    assert.deepEqual(mounts, []);
    const left = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return pidNamespaces.includes(fs.readlinkSync(`/proc/${p}/ns/pid`));
      } catch {
        return false;
      }
    });
    assert.deepEqual(left, [], "processes of lab hosts still run");
    assert.notEqual(run(["ip", "link", "show", "mplab0"]).status, 0, "the bridge is still there");
    assert.deepEqual(labLinks(), [], "veth links left");
  });

  after(async () => {
    if (wasUp) await labUp(stack, () => undefined);
  });
});
