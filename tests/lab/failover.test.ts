// Failover end to end: the primary maildrop's services stop (IMAP through a frontend moves to the
// backup, mail sent meanwhile is delivered there, and when the primary returns both sides hold
// the same messages), then the primary smtp-out's Postfix stops (submission goes on). The
// frontends' watch of their backends neither trips the backends' client limits nor outlives itself.
import * as assert from "assert";
import { PROXIED } from "../../components/core/src/ports";
import { startService, stopService } from "../../lab";
import {
  deliverInbound, externalMessages, imap, inboundAction, inHost, Lab, maildropMessages, OUTSIDE_RECIPIENT, record, sendAndRead, setupLab,
  storedWith, subject, submit, submitAction, waitFor, waitInMailbox,
} from "./harness";

/** Starts every service (in order) even when one fails, then reports the failures. */
function restart(host: string, services: string[]): void {
  const errors = services.flatMap((service) => {
    try {
      startService(host, service);
      return [];
    } catch (e) {
      return [(e as Error).message];
    }
  });
  if (errors.length > 0) throw new Error(errors.join("\n"));
}

/** How long clients may be without IMAP after the primary maildrop stops. */
const IMAP_FAILOVER_BOUND_MS = 15_000;

describe("lab: failover", function () {
  this.timeout(10 * 60_000);
  let lab: Lab;

  before(async function () {
    this.timeout(30 * 60_000);
    lab = await setupLab();
  });

  it("primary maildrop down: IMAP moves to the backup in bounded time, mail sent meanwhile arrives, and both sides converge after", async () => {
    const [primary, backup] = lab.role("maildrop");
    const [user, other] = lab.spec.users.map((u) => u.address);
    const before = subject("before outage");
    assert.ok(deliverInbound(lab, { to: [user], subject: before }).ok);
    assert.equal(waitInMailbox(lab, user, before).found.length, 1);
    await waitFor(() => (storedWith(backup.name, user, before).length > 0 ? true : undefined), 30_000);

    // Postfix first, so nothing is accepted there that Dovecot can no longer store.
    stopService(primary.name, "postfix");
    stopService(primary.name, "dovecot");
    const down = Date.now();
    const during = [subject("during outage inbound"), subject("during outage submitted")];
    try {
      const served = await waitFor(() => {
        const r = imap(lab, user, [{ op: "find", mailbox: "INBOX", subject: before }]);
        return r.ok && r.results[0].op === "find" && r.results[0].found.length === 1 ? r : undefined;
      }, 60_000, 100);
      assert.ok(served, "IMAP through the frontend never worked with the primary maildrop down");
      const failover = served.at - down;
      record("IMAP failover: primary maildrop stopped → first good IMAPS session (incl. ~0.4 s client start)", failover);
      assert.ok(failover <= IMAP_FAILOVER_BOUND_MS, `IMAP came back after ${failover} ms (bound ${IMAP_FAILOVER_BOUND_MS} ms)`);

      const sends = [inboundAction(lab, { to: [user], subject: during[0] }), submitAction(lab, { user: other, to: [user], subject: during[1] })];
      for (const [i, send] of sends.entries()) {
        const got = sendAndRead(lab, send, { user, subject: during[i], timeoutMs: 60_000 });
        assert.ok(got.sent.ok, `${got.sent.code} ${got.sent.response ?? got.sent.error}`);
        assert.equal(got.found.length, 1, `"${during[i]}" not delivered while the primary was down`);
        record(`outage: ${i === 0 ? "inbound" : "submitted"} 250 → visible over IMAP (backup maildrop)`, got.latencyMs!);
      }
      assert.equal(storedWith(backup.name, user, during[0]).length, 1, `not stored on ${backup.name}`);
    } finally {
      restart(primary.name, ["dovecot", "postfix"]);
    }

    const back = Date.now();
    if (lab.spec.storage.mode === "replicated") {
      // A user whose sync failed waits minutes for the next try; ask both replicators now (LAB-NOTES).
      for (const m of [backup, primary]) inHost(m.name, ["doveadm", "replicator", "replicate", "-f", user]);
    }
    const key = (x: { mailbox: string; guid: string }) => `${x.mailbox}/${x.guid}`;
    const converged = await waitFor(() => {
      const [a, b] = [primary, backup].map((m) => maildropMessages(m.name, user).map(key).sort());
      return a.length > 0 && JSON.stringify(a) === JSON.stringify(b) ? a : undefined;
    }, 120_000, 500);
    assert.ok(converged, `${primary.name} and ${backup.name} still differ for ${user}`);
    record(`${lab.spec.storage.mode}: primary back→both maildrops hold the same messages`, Date.now() - back);
    for (const s of [before, ...during]) {
      for (const m of [primary, backup]) assert.equal(storedWith(m.name, user, s).length, 1, `"${s}" on ${m.name}`);
    }
  });

  it("primary smtp-out down: submission through the frontend still works and mail still leaves", async () => {
    const [primary] = lab.role("smtp-out");
    const user = lab.spec.users[0].address;
    stopService(primary.name, "postfix");
    try {
      const s = subject("smtp-out failover");
      const t0 = Date.now();
      const sent = submit(lab, { user, to: [OUTSIDE_RECIPIENT("dora")], subject: s });
      assert.ok(sent.ok, `submission with ${primary.name} down: ${sent.code} ${sent.response ?? sent.error}`);
      record(`submission with ${primary.name} down: client start → 250 (incl. ~0.4 s client start)`, sent.at - t0);
      const got = await waitFor(() => externalMessages(lab, s)[0], 60_000);
      assert.ok(got, "the message never left");
      assert.ok(!got.raw.includes(primary.fqdn), `${primary.name} handled it while down?`);
    } finally {
      restart(primary.name, ["postfix"]);
    }
  });

  describe("the frontends' watch of their backends (upstream-watch)", () => {
    const WATCH = "mailplatform-upstream-watch";
    const TABLE = "inet mailplatform_upstream_watch";

    /** Greeting codes of `count` connections from the frontend to smtp-out's proxied submission port, each with a PROXY header naming `client`. */
    function greetings(frontend: string, smtpOut: string, client: string, count: number): string[] {
      const out = inHost(frontend, ["bash", "-c", `for i in $(seq "$1"); do
        exec 3<>"/dev/tcp/$2/$3"
        printf "PROXY TCP4 %s %s 1 %s\r\n" "$4" "$2" "$3" >&3
        read -r -t 10 line <&3; echo "\${line:0:3}"; exec 3<&-
      done`, "-", String(count), smtpOut, String(PROXIED.submission), client]);
      const codes = out.trim().split("\n");
      // A refused connection ends the loop (a failed exec ends the shell): every one must answer.
      assert.equal(codes.length, count, `only ${codes.length} of ${count} connections answered: ${codes.join(" ")}`);
      return codes;
    }

    it("its probes (a PROXY header naming the frontend) are outside smtp-out's per-client connection limit, which still holds for clients", () => {
      const [frontend] = lab.role("frontend");
      const [smtpOut] = lab.role("smtp-out");
      const over = lab.spec.limits.clientConnectionRate + 5;
      const own = greetings(frontend.name, smtpOut.address, frontend.address, over);
      assert.deepEqual([...new Set(own)], ["220"], `the frontend's own connections: ${own.join(" ")}`);
      // A client address of its own (TEST-NET-1, never routed): its count starts at zero.
      const client = `192.0.2.${1 + Math.floor(Math.random() * 254)}`;
      const theirs = greetings(frontend.name, smtpOut.address, client, over);
      assert.ok(theirs.includes("421"), `a client's ${over} connections within a minute were all let in: ${theirs.join(" ")}`);
    });

    it("holds backends out only while it runs: stopping it lets them back, and it starts from an empty set", () => {
      const [frontend] = lab.role("frontend");
      const [smtpOut] = lab.role("smtp-out");
      const tableExists = () => inHost(frontend.name, ["bash", "-c", `nft list table ${TABLE} >/dev/null 2>&1 && echo yes || echo no`]).trim() === "yes";
      stopService(frontend.name, WATCH);
      try {
        assert.equal(tableExists(), false, "the stopped watch still filters NGINX's connections");
        // What a watch killed without its cleanup leaves behind: smtp-out held out.
        inHost(frontend.name, ["nft", "-f", "-"], `table ${TABLE} {
          set silent4 { type ipv4_addr; elements = { ${smtpOut.address} } }
        }\n`);
      } finally {
        startService(frontend.name, WATCH);
      }
      const held = inHost(frontend.name, ["bash", "-c", `sleep 1; nft list set ${TABLE} silent4 2>/dev/null || true`]);
      assert.ok(!held.includes(smtpOut.address), `${smtpOut.name} still held out after the watch started:\n${held}`);
      const s = subject("after the watch restarted");
      const sent = submit(lab, { user: lab.spec.users[0].address, to: [OUTSIDE_RECIPIENT("dora")], subject: s, frontend: frontend.publicAddress });
      assert.ok(sent.ok, `submission through ${frontend.name}: ${sent.code} ${sent.response ?? sent.error}`);
    });
  });
});
