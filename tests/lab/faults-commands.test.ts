// The lab's fault commands do what they say, with the real daemons: crash (every process gone, the
// disk kept), start (booted on that disk, daemons back, nothing to change), replace (a fresh root
// disk; the mail store and Postfix queue volumes, and the mail in them, kept), freeze/thaw (nothing answers, then it does)
// and partition/heal (two hosts lose each other, and only each other). Ends with the lab healthy.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { hostScriptPath, mailRoot } from "../../components/core/src";
import { PORTS } from "../../components/core/src/ports";
import {
  inNetns, InventoryHost, labCrash, labExec, labFaults, labFreeze, labHeal, labPartition, labReplace, labStart, labStatus, labThaw, labUp, volumesOf,
} from "../../lab";
import { hostProcesses } from "../../lab/hosts";
import { bundleDir, hostDir } from "../../lab/paths";
import { deliverInbound, inHost, Lab, record, setupLab, storedWith, subject, waitFor, waitInMailbox } from "./harness";

const quiet = () => undefined;
const stateOf = (host: string) => labStatus().find((s) => s.name === host)?.state;

/** Whether a TCP connection from a host's network namespace to address:port is accepted within 3 s. */
function connects(from: string, address: string, port: number): boolean {
  return inNetns(from, ["timeout", "3", "bash", "-c", 'exec 3<>"/dev/tcp/$1/$2"', "-", address, `${port}`]).status === 0;
}

/** The first bytes of the server's greeting within 3 s ("220" for SMTP), or "" when none comes. */
function greeting(from: string, address: string, port: number): string {
  return inNetns(from, ["timeout", "3", "bash", "-c", 'exec 3<>"/dev/tcp/$1/$2" && head -c 3 <&3', "-", address, `${port}`]).stdout;
}

/** The process name of each daemon the host's bundle declares (manifest lines `service NAME PROCESS PIDFILE RELOAD`). */
function daemonProcesses(host: string): string[] {
  const manifest = fs.readFileSync(path.join(bundleDir(host), ".manifest"), "utf8");
  return manifest.split("\n").filter((l) => l.startsWith("service ")).map((l) => l.split(" ")[2]);
}

const runs = (host: string, processName: string) => labExec(host, ["pgrep", "-x", processName]).status === 0;
const exists = (host: string, file: string) => labExec(host, ["test", "-e", file]).status === 0;

describe("lab: fault commands", function () {
  this.timeout(10 * 60_000);
  let lab: Lab;
  const marker = `/var/lib/lab-fault-marker-${process.pid}`;

  before(async function () {
    this.timeout(30 * 60_000);
    lab = await setupLab();
  });

  it("crash kills every process of the host at once and keeps its disk; start boots it on that disk with its daemons and nothing to change", async () => {
    const [maildrop] = lab.role("maildrop");
    const user = lab.spec.users[0].address;
    const s = subject("before crash");
    assert.ok(deliverInbound(lab, { to: [user], subject: s }).ok);
    assert.ok(await waitFor(() => (storedWith(maildrop.name, user, s).length > 0 ? true : undefined), 30_000), `"${s}" never reached ${maildrop.name}`);
    inHost(maildrop.name, ["bash", "-c", 'echo "$1" >"$2"', "-", s, marker]);
    const pids = hostProcesses(maildrop)!;
    const pidns = fs.readlinkSync(`/proc/${pids[0]}/ns/pid`);

    await labCrash(maildrop.name, quiet);
    const crashed = Date.now();
    const left = pids.filter((p) => {
      try {
        return fs.readlinkSync(`/proc/${p}/ns/pid`) === pidns;
      } catch {
        return false;
      }
    });
    assert.deepEqual(left, [], `processes of ${maildrop.name} survived the crash`);
    assert.equal(stateOf(maildrop.name), "crashed");
    // The disk is the host's overlay upper layer on this machine.
    assert.equal(fs.readFileSync(path.join(hostDir(maildrop.name), "upper", marker), "utf8").trim(), s);

    await labStart(maildrop.name, quiet);
    record(`crash → start → ${maildrop.name} booted on its disk, daemons running`, Date.now() - crashed);
    assert.equal(stateOf(maildrop.name), "up");
    assert.equal(inHost(maildrop.name, ["cat", marker]).trim(), s, "the file under /var is not on the disk after start");
    for (const p of daemonProcesses(maildrop.name)) assert.ok(runs(maildrop.name, p), `${p} does not run on ${maildrop.name} after start`);
    const plan = inHost(maildrop.name, ["bash", hostScriptPath("provision.sh"), "plan", bundleDir(maildrop.name)]);
    assert.match(plan, new RegExp(`^provision ${maildrop.name}: no changes$`, "m"), plan);
    assert.equal(storedWith(maildrop.name, user, s).length, 1, `"${s}" is gone from ${maildrop.name}`);
  });

  it("replace gives the host a fresh root disk and keeps its mail store volume: mail delivered before is still readable over IMAP", async () => {
    const [maildrop] = lab.role("maildrop");
    const user = lab.spec.users[0].address;
    const s = subject("before replace");
    assert.ok(deliverInbound(lab, { to: [user], subject: s }).ok);
    assert.equal(waitInMailbox(lab, user, s).found.length, 1);
    assert.ok(await waitFor(() => (storedWith(maildrop.name, user, s).length > 0 ? true : undefined), 30_000), `"${s}" never reached ${maildrop.name}`);
    const onVolume = `${mailRoot(lab.spec)}/.lab-volume-marker`;
    inHost(maildrop.name, ["bash", "-c", 'echo "$1" >"$2" && echo "$1" >"$3"', "-", s, marker, onVolume]);

    const t0 = Date.now();
    await labReplace(maildrop.name, quiet);
    record(`replace ${maildrop.name} (stop, fresh disk, boot, provision from scratch)`, Date.now() - t0);
    assert.equal(stateOf(maildrop.name), "up");
    assert.ok(!exists(maildrop.name, marker), `${marker} survived the replace: the root disk was not fresh`);
    assert.equal(inHost(maildrop.name, ["cat", onVolume]).trim(), s, "the mail store volume was not kept");
    // The volume is this machine's directory, owned as provisioning leaves a mounted store: vmail's.
    const volume = volumesOf(lab.spec, maildrop).find((v) => v.target === mailRoot(lab.spec))!;
    assert.equal(fs.readFileSync(path.join(volume.source, path.basename(onVolume)), "utf8").trim(), s);
    assert.equal(inHost(maildrop.name, ["stat", "-c", "%U %a", mailRoot(lab.spec)]).trim(), "vmail 750");
    assert.equal(storedWith(maildrop.name, user, s).length, 1, `"${s}" is not in ${maildrop.name}'s store after the replace`);
    assert.equal(waitInMailbox(lab, user, s).found.length, 1, `"${s}" is not readable over IMAP after the replace`);
    inHost(maildrop.name, ["rm", "-f", onVolume]);
  });

  // A maildrop's queue holds what Sieve made there (a redirect, a vacation reply) after LMTP's 250.
  for (const role of ["smtp-in", "smtp-out", "maildrop"] as const) {
    it(`replace keeps ${role}'s Postfix queue volume: mail queued before is delivered, its files given to the new VM's postfix first`, async () => {
      const [host] = lab.role(role);
      const user = lab.spec.users[0].address;
      const s = subject(`queued on ${role} across replace`);
      // Postfix stopped: the message waits in the queue's maildrop directory, on the volume.
      inHost(host.name, ["postfix", "stop"]);
      inHost(host.name, ["bash", "-c", 'printf "Subject: %s\\n\\nqueued\\n" "$1" | sendmail -f "postmaster@$3" "$2"', "-", s, user, lab.spec.domains[0].name]);
      await labCrash(host.name, quiet);
      const queue = volumesOf(lab.spec, host).find((v) => v.target === "/var/spool/postfix")!;
      assert.equal(fs.readdirSync(path.join(queue.source, "maildrop")).length, 1, "the message is not in the queue volume's maildrop directory");
      // The old VM's package gave postfix another uid than this one's.
      for (const d of ["active", "deferred", "incoming", "maildrop"]) fs.chownSync(path.join(queue.source, d), 54321, 54321);

      await labReplace(host.name, quiet);
      assert.match(fs.readFileSync(path.join(hostDir(host.name), "provision.log"), "utf8"), /prepare: postfix queue ownership:\n\s+postfix set-permissions/);
      assert.equal(inHost(host.name, ["stat", "-c", "%U", "/var/spool/postfix/active"]).trim(), "postfix");
      assert.equal(waitInMailbox(lab, user, s).found.length, 1, `"${s}", queued on ${host.name} before the replace, was not delivered`);
    });
  }

  it("freeze silences the host (connections get no answer) and thaw makes it answer again", async () => {
    const [smtpIn] = lab.role("smtp-in");
    const [frontend] = lab.role("frontend");
    const mx = smtpIn.publicAddress!;
    assert.equal(greeting("internet", mx, PORTS.smtp), "220");
    await labFreeze(smtpIn.name, quiet);
    try {
      assert.equal(stateOf(smtpIn.name), "frozen");
      assert.deepEqual(labFaults().frozen, [smtpIn.name]);
      // Its kernel still completes the TCP handshake; the greeting never comes.
      assert.equal(greeting("internet", mx, PORTS.smtp), "", "the frozen host answered from the internet");
      assert.equal(greeting(frontend.name, smtpIn.address, PORTS.smtp), "", "the frozen host answered a peer");
    } finally {
      labThaw(smtpIn.name, quiet);
    }
    const thawed = Date.now();
    assert.equal(greeting("internet", mx, PORTS.smtp), "220", "no greeting after thaw");
    record(`thaw ${smtpIn.name} → SMTP greeting from the internet`, Date.now() - thawed);
    assert.equal(stateOf(smtpIn.name), "up");
    assert.deepEqual(labFaults().frozen, []);
  });

  it("partition cuts two hosts off from each other while each still reaches a third; heal restores it", () => {
    const [a] = lab.role("smtp-in");
    const [b] = lab.role("frontend");
    const c = lab.inventory.hosts.find((h) => h.role === "external-mx")!;
    // Ports each side's firewall opens to anyone: a refusal would be the firewall's, not the partition's.
    const paths: [InventoryHost, string, number][] = [[a, b.publicAddress!, PORTS.imaps], [b, a.publicAddress!, PORTS.smtp], [b, a.address, PORTS.smtp]];
    const reach = () => paths.map(([from, to, port]) => connects(from.name, to, port));
    const third = () => [a, b].map((from) => connects(from.name, c.address, PORTS.smtp));
    assert.deepEqual(reach(), [true, true, true], "the hosts do not reach each other before the partition");

    labPartition(a.name, b.name, quiet);
    try {
      assert.deepEqual(labFaults().partitions, [[a.name, b.name]]);
      assert.deepEqual(reach(), [false, false, false], `${a.name} and ${b.name} still reach each other`);
      assert.deepEqual(third(), [true, true], `${a.name} or ${b.name} lost ${c.name} too`);
      // Beside the platform's firewall, not instead of it.
      assert.match(inNetns(a.name, ["nft", "list", "table", "inet", "mailplatform"]).stdout, /policy drop;/);
    } finally {
      labHeal(quiet);
    }
    assert.deepEqual(labFaults().partitions, []);
    assert.deepEqual(reach(), [true, true, true], "heal did not restore the path");
  });

  after(async function () {
    this.timeout(15 * 60_000);
    if (!lab) return;
    // Whatever a failed test left: no partition, nothing frozen, every host up and provisioned.
    labHeal(quiet);
    for (const h of labFaults().frozen) labThaw(h, quiet);
    await labUp(lab.inventory.stack, quiet);
    const unhealthy = labStatus().filter((s) => s.state !== "up");
    assert.deepEqual(unhealthy.map((s) => `${s.name} ${s.state}`), []);
  });
});
