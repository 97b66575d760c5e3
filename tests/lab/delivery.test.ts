// End-to-end mail flows in the lab, with real clients: inbound from the internet through every MX
// to a mailbox read over IMAPS through a frontend, the maildrop pair (replicated or shared),
// outbound submission judged by mailauth at external-mx, user to user, the hosted address space
// (aliases, lists, forwards with SRS, devnull, catch-all) and quota, refused at RCPT by smtp-in.
import * as assert from "assert";
import { PORTS } from "../../components/core/src/ports";
import { labHeal, labPartition } from "../../lab";
import type { VerifyResult } from "./clients/mail-client";
import {
  client, deliverInbound, dialogue, externalMessages, header, headers, inboundAction, inHost, Lab, maildropMessages, OUTSIDE_RECIPIENT, OUTSIDE_SENDER, record,
  sendAndRead, setupLab, storedWith, subject, submit, submitAction, waitFor, waitInMailbox,
} from "./harness";

describe("lab: mail flows", function () {
  this.timeout(180_000);
  let lab: Lab;

  before(async function () {
    this.timeout(30 * 60_000);
    lab = await setupLab();
  });

  const firstUser = () => lab.spec.users[0].address;
  const secondUser = () => lab.spec.users[1].address;

  it("inbound: every MX (smtp-in:25) accepts, Rspamd scans, the maildrop stores, IMAPS through every frontend reads", () => {
    const user = firstUser();
    const smtpIn = lab.role("smtp-in");
    const frontends = lab.role("frontend");
    assert.equal(lab.inventory.endpoints.mx.length, smtpIn.length, "one MX address per smtp-in");
    for (const [i, mx] of smtpIn.entries()) {
      const s = subject(`inbound via ${mx.name}`);
      // Each frontend in turn, so every NGINX stream proxy is exercised.
      const frontend = frontends[i % frontends.length];
      const got = sendAndRead(lab, inboundAction(lab, { to: [user], subject: s, mx: mx.publicAddress }), { user, subject: s, frontend: frontend.publicAddress });
      assert.ok(got.sent.ok, `${mx.name} refused: ${got.sent.code} ${got.sent.response ?? got.sent.error}`);
      assert.match(got.sent.response!, /^250 /);
      assert.equal(got.found.length, 1, `not in ${user}'s INBOX through ${frontend.name}`);
      record(`inbound: smtp-in 250 → visible over IMAP (${mx.name}, ${frontend.name})`, got.latencyMs!);
      const raw = got.found[0].source!;
      // Rspamd (the milter) added its verdict; the trace names this smtp-in.
      assert.ok(header(raw, "X-Spam-Status") ?? header(raw, "X-Spamd-Bar"), `no Rspamd header:\n${raw.slice(0, 2000)}`);
      assert.ok(headers(raw, "Received").some((r) => r.includes(mx.fqdn)), `no Received line from ${mx.fqdn}`);
      assert.equal(header(raw, "X-Spam"), undefined, "an ordinary message was tagged as spam");
    }
  });

  it("the maildrop pair: replicated, the message is on both maildrops; shared, both serve the one store", async () => {
    const user = firstUser();
    const [primary, backup] = lab.role("maildrop");
    assert.ok(backup, "the stack has a maildrop pair");
    const s = subject("pair");
    const sent = deliverInbound(lab, { to: [user], subject: s });
    assert.ok(sent.ok, `${sent.code} ${sent.response}`);
    const seen: Record<string, number> = {};
    await waitFor(() => {
      for (const m of [primary, backup]) if (!seen[m.name] && storedWith(m.name, user, s).length > 0) seen[m.name] = Date.now();
      return seen[primary.name] && seen[backup.name] ? true : undefined;
    }, 30_000, 50);
    assert.ok(seen[primary.name], `not on ${primary.name}`);
    assert.ok(seen[backup.name], `not on ${backup.name}`);
    const [first, second] = [seen[primary.name], seen[backup.name]].sort((a, b) => a - b);
    record(`${lab.spec.storage.mode}: first maildrop→second maildrop has it`, second - first);

    // A change made on one side is seen on the other: dsync carries it (replicated), or it is the same store (shared).
    const uid = storedWith(primary.name, user, s)[0].uid;
    const t0 = Date.now();
    const flagged = () => flagsOf(backup.name, user, s).includes("\\Flagged");
    inHost(primary.name, ["doveadm", "flags", "add", "-u", user, "\\Flagged", "mailbox", "INBOX", "uid", uid]);
    const converged = await waitFor(() => (flagged() ? true : undefined), 30_000, 50);
    assert.ok(converged, `a flag set on ${primary.name} never showed on ${backup.name}`);
    record(`${lab.spec.storage.mode}: flag change visible on the peer`, Date.now() - t0);
  });

  it("outbound: submission on a frontend's 587 (STARTTLS + AUTH) → smtp-out → external-mx, DKIM (RSA and Ed25519), SPF and DMARC pass", async () => {
    const user = firstUser();
    const domain = user.split("@")[1];
    const s = subject("outbound");
    const sent = submit(lab, { user, to: [OUTSIDE_RECIPIENT("dora")], subject: s });
    assert.ok(sent.ok, `submission refused: ${sent.code} ${sent.response ?? sent.error}`);
    const got = await waitFor(() => externalMessages(lab, s)[0], 60_000);
    assert.ok(got, "external-mx never received the message");
    record("outbound: submission 250 → in external-mx's Maildir (polled, ≤)", Date.now() - sent.at);

    // external-mx's own Received line says who connected: the IP SPF is checked against.
    const received = headers(got.raw, "Received")[0];
    const m = /^from (\S+) \((\S+) \[([0-9.]+)\]\)/.exec(received);
    assert.ok(m, `unexpected Received line at external-mx: ${received}`);
    const [, helo, , ip] = m;
    const egress = lab.spec.sites.flatMap((site) => site.egress);
    assert.ok(egress.includes(ip), `smtp-out connected from ${ip}, not from an egress address (${egress.join(", ")})`);
    const sender = (header(got.raw, "Return-Path") ?? "").replace(/[<>]/g, "");
    assert.equal(sender, user);

    const verdict = client<VerifyResult>("external-mx", {
      action: "verify",
      message: got.raw,
      ip,
      helo,
      sender,
      mta: "mx.partner.example",
      dns: lab.inventory.endpoints.dns,
    });
    const passing = verdict.dkim.filter((d) => d.result === "pass" && d.domain === domain);
    assert.ok(passing.some((d) => d.algo.startsWith("rsa-")), `no passing RSA signature: ${JSON.stringify(verdict.dkim)}`);
    assert.ok(passing.some((d) => d.algo.startsWith("ed25519-")), `no passing Ed25519 signature: ${JSON.stringify(verdict.dkim)}`);
    assert.equal(verdict.spf.result, "pass", verdict.headers);
    assert.equal(verdict.dmarc.result, "pass", verdict.headers);
    // Submission drops the client's Received line (privacy): the stranger's address is nowhere.
    assert.ok(!got.raw.includes(lab.stranger), "the submitting client's address leaked into the message");
  });

  it("internal: a user writes to another user on a hosted domain through submission", () => {
    const [from, to] = [firstUser(), secondUser()];
    const s = subject("internal");
    const got = sendAndRead(lab, submitAction(lab, { user: from, to: [to], subject: s }), { user: to, subject: s });
    assert.ok(got.sent.ok, `${got.sent.code} ${got.sent.response ?? got.sent.error}`);
    assert.equal(got.found.length, 1, `not in ${to}'s INBOX`);
    record("internal: submission 250 → visible over IMAP", got.latencyMs!);
    assert.match(got.found[0].source!, /^DKIM-Signature:/m, "hosted mail is signed too");
    assert.equal(externalMessages(lab, s).length, 0, "hosted mail went outside");
  });

  describe("the hosted address space", () => {
    it("an alias delivers to its target", () => {
      const alias = lab.spec.aliases[0];
      assert.ok(alias, "the stack defines an alias");
      const s = subject("alias");
      const sent = deliverInbound(lab, { to: [alias.address], subject: s });
      assert.ok(sent.ok, `${sent.code} ${sent.response}`);
      assert.equal(waitInMailbox(lab, alias.to, s).found.length, 1, `${alias.address} did not reach ${alias.to}`);
    });

    it("a distribution list delivers to every member, once each", async () => {
      const list = lab.spec.lists[0];
      assert.ok(list, "the stack defines a list");
      const s = subject("list");
      const sent = deliverInbound(lab, { to: [list.address], subject: s });
      assert.ok(sent.ok, `${sent.code} ${sent.response}`);
      const hosted = new Set(lab.spec.users.map((u) => u.address));
      for (const member of list.members) {
        if (hosted.has(member)) {
          assert.equal(waitInMailbox(lab, member, s).found.length, 1, `${member} did not get exactly one copy`);
        } else {
          assert.ok(await waitFor(() => externalMessages(lab, s).find((x) => header(x.raw, "Delivered-To") === member), 60_000), `${member} (outside) got nothing`);
        }
      }
    });

    it("a forward to an outside address leaves with an SRS-rewritten envelope sender", async () => {
      const forward = lab.spec.forwards[0];
      assert.ok(forward, "the stack defines a forward");
      const s = subject("forward");
      const sent = deliverInbound(lab, { to: [forward.address], subject: s });
      assert.ok(sent.ok, `${sent.code} ${sent.response}`);
      const got = await waitFor(() => externalMessages(lab, s)[0], 60_000);
      assert.ok(got, `nothing reached ${forward.to.join(", ")}`);
      assert.equal(header(got.raw, "Delivered-To"), forward.to[0]);
      const [local, domain] = OUTSIDE_SENDER.split("@");
      const returnPath = header(got.raw, "Return-Path") ?? "";
      assert.match(returnPath, /^<SRS0=/, `Return-Path ${returnPath}`);
      assert.ok(returnPath.endsWith(`=${domain}=${local}@${lab.spec.platformDomain}>`), `Return-Path ${returnPath} does not encode ${OUTSIDE_SENDER}`);
    });

    it("a devnull address accepts mail and delivers it nowhere", async () => {
      const devnull = lab.spec.devnull[0];
      assert.ok(devnull, "the stack defines a devnull address");
      const s = subject("devnull");
      const sent = deliverInbound(lab, { to: [devnull], subject: s });
      assert.ok(sent.ok, `${sent.code} ${sent.response}`);
      // A message sent after it through the same path arrives: by then the devnull one is gone too.
      const marker = subject("devnull marker");
      assert.ok(deliverInbound(lab, { to: [firstUser()], subject: marker }).ok);
      assert.equal(waitInMailbox(lab, firstUser(), marker).found.length, 1);
      await new Promise((r) => setTimeout(r, 2000));
      for (const m of lab.role("maildrop")) {
        assert.deepEqual(maildropMessages(m.name, "*").filter((x) => x.subject.includes(s)), [], `stored on ${m.name}`);
      }
      assert.deepEqual(externalMessages(lab, s), [], "sent outside");
      for (const h of [...lab.role("smtp-in"), ...lab.role("smtp-out"), ...lab.role("maildrop")]) {
        assert.ok(!queueHas(h.name, devnull), `still queued on ${h.name}`);
      }
    });

    it("a catch-all domain delivers unknown local parts to its catch-all mailbox; other domains refuse them", () => {
      const domain = lab.spec.domains.find((d) => d.catchAll);
      assert.ok(domain, `the ${lab.inventory.stack} stack has no catch-all domain (mailplatform:domains[].catchAll): nothing to test`);
      const s = subject("catch-all");
      const sent = deliverInbound(lab, { to: [`nobody-${Date.now()}@${domain.name}`], subject: s });
      assert.ok(sent.ok, `${sent.code} ${sent.response}`);
      assert.equal(waitInMailbox(lab, domain.catchAll!, s).found.length, 1);
      const strict = lab.spec.domains.find((d) => !d.catchAll);
      if (strict) {
        const refused = deliverInbound(lab, { to: [`nobody-${Date.now()}@${strict.name}`], subject: subject("no catch-all") });
        assert.equal(refused.ok, false);
        assert.equal(refused.code, 550, refused.response);
      }
    });
  });

  describe("quota", () => {
    const fullUser = () => {
      const u = lab.inventory.users.find((x) => x.address.startsWith("quota-test@"));
      assert.ok(u, "the lab has a small-quota test user");
      return u.address;
    };
    /** Puts the user over quota, unless an earlier run did: one message a little larger than the quota, saved straight into the store with the quota counted but not enforced. */
    function fill(user: string): void {
      const maildrop = lab.role("maildrop")[0].name;
      if (quotaOf(maildrop, user).value < quotaOf(maildrop, user).limit) {
        const filler = `From: ${OUTSIDE_SENDER}\nTo: ${user}\nSubject: ${subject("quota filler")}\n\n${"x".repeat(76).concat("\n").repeat(880)}`;
        inHost(maildrop, ["doveadm", "-o", "plugin/quota=count:User quota:noenforcing", "save", "-u", user], filler);
      }
      assert.ok(quotaOf(maildrop, user).value >= quotaOf(maildrop, user).limit, `not over quota: ${JSON.stringify(quotaOf(maildrop, user))}`);
    }
    /** One SMTP session from the internet to an MX: the RCPT replies for `to`, nothing sent. */
    const rcpts = (mx: string, to: string[]) => dialogue(lab, { host: mx, port: PORTS.smtp, protocol: "smtp" },
      ["EHLO client.outside.example", `MAIL FROM:<${OUTSIDE_SENDER}> SIZE=2000`, ...to.map((t) => `RCPT TO:<${t}>`), "QUIT"]).replies.slice(2, 2 + to.length);

    it("a mailbox over quota is refused at every MX's RCPT (552 5.2.2), in the sender's own session, so nothing bounces to a possibly forged sender; the other recipients still receive", () => {
      const full = fullUser();
      const other = firstUser();
      fill(full);
      for (const mx of lab.inventory.endpoints.mx) {
        const [refused, accepted] = rcpts(mx, [full, other]);
        assert.equal(refused.status, "552", `${mx}: ${refused.reply}`);
        assert.match(refused.reply, /^552 5\.2\.2 .*Mailbox full/);
        assert.equal(accepted.status, "250", `${mx}: ${accepted.reply}`);
      }
      const s = subject("quota");
      const sent = deliverInbound(lab, { to: [full, other], subject: s });
      assert.ok(sent.ok, `${sent.code} ${sent.response}`);
      assert.deepEqual([sent.accepted, sent.rejected], [[other], [full]]);
      assert.equal(waitInMailbox(lab, other, s).found.length, 1, "the other recipient did not receive");
      assert.equal(storedWith(lab.role("maildrop")[0].name, full, s).length, 0, "delivered over quota");
      for (const h of lab.role("smtp-in")) assert.ok(!queueHas(h.name, full), `${h.name} queued mail for ${full}`);
    });

    it("asks the backup maildrop when the primary does not answer; neither answering, accepts (the store's LMTP decides at delivery)", () => {
      const full = fullUser();
      fill(full);
      const [smtpIn] = lab.role("smtp-in");
      const [primary, backup] = lab.role("maildrop");
      try {
        labPartition(smtpIn.name, primary.name, () => {});
        const [viaBackup] = rcpts(smtpIn.publicAddress!, [full]);
        assert.equal(viaBackup.status, "552", `primary cut off: ${viaBackup.reply}`);
        labPartition(smtpIn.name, backup.name, () => {});
        const started = Date.now();
        const [unanswered] = rcpts(smtpIn.publicAddress!, [full]);
        assert.equal(unanswered.status, "250", `both cut off: ${unanswered.reply}`);
        // 5 s for each maildrop's silence, not Postfix's default of 100 s, twice.
        assert.ok(Date.now() - started < 15_000, `RCPT took ${Date.now() - started} ms`);
      } finally {
        labHeal(() => {});
      }
    });
  });

  /** Flags of the message on a maildrop, read with doveadm. */
  function flagsOf(maildrop: string, user: string, s: string): string {
    const found = storedWith(maildrop, user, s)[0];
    return found ? inHost(maildrop, ["doveadm", "-f", "flow", "fetch", "-u", user, "flags", "mailbox", found.mailbox, "uid", found.uid]) : "";
  }

  /** STORAGE quota of a user in KiB, as doveadm reports it. */
  function quotaOf(maildrop: string, user: string): { value: number; limit: number } {
    const rows = JSON.parse(inHost(maildrop, ["doveadm", "-f", "json", "quota", "get", "-u", user])) as { type: string; value: string; limit: string }[];
    const storage = rows.find((r) => r.type === "STORAGE");
    if (!storage) throw new Error(`no STORAGE quota for ${user}`);
    return { value: Number(storage.value), limit: Number(storage.limit) };
  }

  function queueHas(host: string, address: string): boolean {
    return inHost(host, ["postqueue", "-j"]).includes(address);
  }
});
