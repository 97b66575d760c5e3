// A mailbox's own forward (users[].forwardTo, keepCopy): how the virtual table renders it on every
// MTA, and on the real daemons: an smtp-in and the primary maildrop, both applied by provision.sh
// in linked sandboxes. A message to two forwarding mailboxes is expanded by Postfix's cleanup on
// smtp-in; the one that keeps a copy gets it in its mailbox (Dovecot, over LMTP), the other does
// not, and both outside copies wait for smtp-out (not started) with PostSRSd's SRS envelope sender.
import { strict as assert } from "assert";
import * as path from "path";
import { renderHost, renderPlatform } from "../../components/core/src";
import { readStackConfig } from "../../components/core/src/spec/load";
import { PlatformSpec } from "../../components/core/src/spec/types";
import { parseSpec } from "../../components/core/src/spec/validate";
import { hostsOf } from "../../components/core/src/topology";
import { startHosts } from "../support/provision";
import { Sandbox } from "../support/sandbox";
import { REPO, renderStack } from "../support/stacks";

const STACK = "staging";
const OUTSIDE = { keeps: "carol@partner.example", only: "dave@partner.example" };

/** The staging stack with its first mailbox forwarding and keeping a copy, the second forwarding only, read through the validator. */
function forwardingSpec(): PlatformSpec {
  const raw = readStackConfig(path.join(REPO, `Pulumi.${STACK}.yaml`));
  const [keeps, only, ...rest] = raw.users as Record<string, unknown>[];
  const users = [{ ...keeps, forwardTo: [OUTSIDE.keeps] }, { ...only, forwardTo: [OUTSIDE.only], keepCopy: false }, ...rest];
  return parseSpec({ ...raw, users }, STACK);
}

/** Rows of the rendered virtual table: address → its expansion. */
function virtualRows(content: string): Map<string, string[]> {
  return new Map(content.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => {
    const [key, ...value] = l.split(/[\s,]+/);
    return [key, value];
  }));
}

describe("a mailbox's own forward", function () {
  this.timeout(300_000);
  const spec = forwardingSpec();
  const secrets = renderStack(STACK).secrets;
  const [keeps, only] = spec.users.map((u) => u.address);

  it("is read from users[].forwardTo and keepCopy", () => {
    assert.deepEqual(spec.users[0].forward, { to: [OUTSIDE.keeps], keepCopy: true });
    assert.deepEqual(spec.users[1].forward, { to: [OUTSIDE.only], keepCopy: false });
    assert.equal(spec.users[2]?.forward, undefined);
  });

  it("expands, on every MTA, to the mailbox itself first when it keeps a copy, then its targets", () => {
    const mtas = renderPlatform(spec, secrets).filter((b) => ["smtp-in", "smtp-out", "maildrop"].includes(b.host.role));
    assert.deepEqual(new Set(mtas.map((b) => b.host.role)), new Set(["smtp-in", "smtp-out", "maildrop"]));
    for (const b of mtas) {
      const rows = virtualRows(b.files.find((f) => f.path === "/etc/postfix/virtual")!.content);
      assert.deepEqual(rows.get(keeps), [keeps, OUTSIDE.keeps], b.host.name);
      assert.deepEqual(rows.get(only), [OUTSIDE.only], b.host.name);
    }
  });

  describe("on a running smtp-in and maildrop", () => {
    let smtpIn: Sandbox;
    let maildrop: Sandbox;
    before(async () => {
      const hosts = [hostsOf(spec, "smtp-in")[0], hostsOf(spec, "maildrop")[0]];
      [smtpIn, maildrop] = await startHosts(hosts.map((h) => renderHost(spec, h, secrets)));
    });
    after(() => Promise.all([smtpIn, maildrop].filter(Boolean).map((box) => box.stop())));

    it("delivers a copy to the mailbox that keeps one, none to the other, and queues both forwards for smtp-out with an SRS sender", () => {
      const subject = `forwarded ${Date.now()}`;
      const sender = "someone@sender.example";
      smtpIn.ok(`printf 'From: ${sender}\\nTo: ${keeps}, ${only}\\nSubject: ${subject}\\n\\nhello\\n' | sendmail -f ${sender} -- ${keeps} ${only}`);
      // Dovecot answers LMTP only once the message is stored; poll the mailbox until it is there.
      const search = (user: string) => `doveadm search -u ${user} mailbox INBOX header subject '${subject}'`;
      maildrop.ok(`for _ in $(seq 120); do [ -n "$(${search(keeps)})" ] && exit 0; sleep 0.5; done; exit 1`, { timeoutMs: 90_000 });
      assert.equal(maildrop.ok(search(only)).trim(), "", `${only} keeps no copy`);
      const delivered = maildrop.ok(`doveadm fetch -u ${keeps} hdr.return-path mailbox INBOX header subject '${subject}'`);
      assert.match(delivered, /<SRS0=[^>]+@staging\.example\.net>/, "the stored copy's Return-Path");

      // What is left in smtp-in's queue: the two outside copies, waiting for the relayhost (smtp-out).
      const queued = smtpIn.ok(`for _ in $(seq 60); do postqueue -j | grep -q '"queue_name": *"deferred"' && break; sleep 0.5; done; postqueue -j`).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { sender: string; recipients: { address: string; delay_reason?: string }[] });
      assert.equal(queued.length, 1, JSON.stringify(queued));
      assert.match(queued[0].sender, /^SRS0=[^@]+=sender\.example=someone@staging\.example\.net$/);
      assert.deepEqual(queued[0].recipients.map((r) => r.address).sort(), [OUTSIDE.keeps, OUTSIDE.only]);
      for (const r of queued[0].recipients) assert.match(r.delay_reason ?? "", /smtp-out/, `${r.address} waits for smtp-out`);
    });
  });
});
