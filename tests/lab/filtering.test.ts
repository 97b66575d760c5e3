// Filtering end to end: GTUBE refused at smtp-in, a hosted From without its DKIM signature refused
// there too, a message Rspamd tags as spam filed into Junk
// by the global Sieve script, a user's own Sieve script uploaded over ManageSieve through a
// frontend, and Bayes training when a user moves a message into Junk.
import * as assert from "assert";
import { PORTS } from "../../components/core/src/ports";
import {
  authPlain, BODY, deliverInbound, dialogue, externalMessages, imap, Lab, OUTSIDE_RECIPIENT, record, retryGreylisted, rspamdStat, setupLab, spamSample,
  storedWith, subject, submit, waitFor, waitInMailbox,
} from "./harness";

const GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

describe("lab: filtering", function () {
  this.timeout(180_000);
  let lab: Lab;

  before(async function () {
    this.timeout(30 * 60_000);
    lab = await setupLab();
  });

  const user = () => lab.spec.users[0].address;

  it("GTUBE is refused at smtp-in with 554 5.7.1 and stored nowhere", () => {
    const s = subject("gtube");
    const sent = deliverInbound(lab, { to: [user()], subject: s, text: `This is the GTUBE test.\n${GTUBE}\n` });
    assert.equal(sent.ok, false, "GTUBE was accepted");
    assert.equal(sent.code, 554, sent.response);
    assert.match(sent.response ?? "", /5\.7\.1/);
    for (const m of lab.role("maildrop")) assert.deepEqual(storedWith(m.name, user(), s), []);
  });

  it("a hosted From without its domain's DKIM signature is refused at smtp-in (so no Sieve redirect gets it signed); the platform's own signed mail coming back is accepted", async () => {
    const [alice, bob] = [0, 1].map((i) => lab.spec.users[i].address);
    const forged = subject("forged hosted from");
    const message = (from: string, s: string) => `From: ${from}\r\nTo: ${bob}\r\nSubject: ${s}\r\nMessage-ID: <${s.replace(/ /g, ".")}@outside.example>\r\n\r\n${BODY}\r\n`;
    const refused = deliverInbound(lab, { to: [bob], subject: forged, raw: message(alice, forged) });
    assert.equal(refused.ok, false, "the forged From was accepted");
    assert.equal(refused.code, 554, refused.response);
    assert.match(refused.response ?? "", new RegExp(`From ${alice.split("@")[1].replace(/\./g, "\\.")} without its DKIM signature`));
    for (const m of lab.role("maildrop")) assert.deepEqual(storedWith(m.name, bob, forged), []);

    // alice's real mail, signed by smtp-out, as an outside list that keeps the message would send it back.
    const genuine = subject("signed hosted from");
    assert.ok(submit(lab, { user: alice, to: [OUTSIDE_RECIPIENT("dora")], subject: genuine }).ok);
    const out = await waitFor(() => externalMessages(lab, genuine)[0], 60_000);
    assert.ok(out, "alice's message did not reach external-mx");
    const back = deliverInbound(lab, { to: [bob], subject: genuine, raw: out.raw.replace(/\r?\n/g, "\r\n") });
    assert.ok(back.ok, `${back.code} ${back.response}`);
    assert.equal(waitInMailbox(lab, bob, genuine).found.length, 1, "the signed message was not delivered");
  });

  it("a message Rspamd tags as spam (add header) is filed into Junk, not the INBOX", async function () {
    // Rspamd greylists what it would tag: the sample was first offered when the lab came up, and is
    // retried here as a sending MTA would until the greylisting delay is over.
    this.timeout(10 * 60_000);
    const sample = spamSample();
    const sent = await retryGreylisted(lab, sample, 8 * 60_000);
    assert.ok(sent.ok, `the spam sample was refused: ${sent.code} ${sent.response ?? sent.error}`);
    const got = waitInMailbox(lab, sample.to, sample.subject, { mailbox: "Junk", source: true });
    assert.equal(got.found.length, 1, "not in Junk");
    assert.match(got.found[0].source!, /^X-Spam: Yes/m);
    const inbox = waitInMailbox(lab, sample.to, sample.subject, { timeoutMs: 0 });
    assert.equal(inbox.found.length, 0, "also in the INBOX");
  });

  it("a user's Sieve script, uploaded over ManageSieve (4190) through a frontend from the office network, files mail into a folder", () => {
    const frontend = lab.inventory.endpoints.submission[0];
    const folder = "Filed by e2e";
    const tag = "[e2e-sieve]";
    const script = `require ["fileinto", "mailbox"];\nif header :contains "subject" "${tag}" {\n  fileinto :create "${folder}";\n  stop;\n}\n`;
    const session = dialogue(
      lab,
      { host: frontend, port: PORTS.managesieve, protocol: "sieve", from: lab.office, servername: lab.names.sieve },
      [
        "STARTTLS",
        `AUTHENTICATE "PLAIN" "${authPlain(user(), lab.password(user()))}"`,
        `PUTSCRIPT "e2e" {${Buffer.byteLength(script)}+}\r\n${script}`,
        `SETACTIVE "e2e"`,
        "LISTSCRIPTS",
        "LOGOUT",
      ],
    );
    assert.match(session.greeting, /"SIEVE"/, `no ManageSieve greeting: ${session.greeting}`);
    for (const r of session.replies.slice(0, 5)) assert.equal(r.status, "OK", `${r.send.split("\r\n")[0]}: ${r.reply}`);
    assert.match(session.replies[4].reply, /"e2e" ACTIVE/);

    const s = subject(`${tag} sieve`);
    assert.ok(deliverInbound(lab, { to: [user()], subject: s }).ok);
    assert.equal(waitInMailbox(lab, user(), s, { mailbox: folder }).found.length, 1, `not filed into "${folder}"`);
    assert.equal(waitInMailbox(lab, user(), s, { timeoutMs: 0 }).found.length, 0, "also in the INBOX");
  });

  it("ManageSieve is closed to addresses outside the sieve networks", () => {
    for (const frontend of lab.inventory.endpoints.submission) {
      const session = dialogue(lab, { host: frontend, port: PORTS.managesieve, protocol: "sieve" }, ["LOGOUT"]);
      // The frontend's firewall drops the connection (or NGINX closes it): no greeting either way.
      assert.ok(session.error || session.greeting === "", `a stranger got a ManageSieve greeting from ${frontend}: ${session.greeting}`);
    }
  });

  it("moving a message into Junk trains Rspamd's Bayes classifier on every smtp-in", async () => {
    const smtpIn = lab.role("smtp-in").map((h) => h.name);
    const s = subject("learn");
    // Rspamd remembers what it learned by a digest of the text: this body is new.
    assert.ok(deliverInbound(lab, { to: [user()], subject: s, text: `${BODY}\nReference: ${s}.\n` }).ok);
    assert.equal(waitInMailbox(lab, user(), s).found.length, 1);
    // Counted after delivery: the receiving smtp-in may have auto-learned it as ham meanwhile.
    const spamLearns = (h: string) => rspamdStat(h).statfiles.find((f) => f.symbol === "BAYES_SPAM")?.revision ?? 0;
    const learnsBefore = new Map(smtpIn.map((h) => [h, spamLearns(h)]));
    const t0 = Date.now();
    const moved = imap(lab, user(), [{ op: "move", mailbox: "INBOX", subject: s, to: "Junk" }]);
    assert.ok(moved.ok, moved.error);
    assert.deepEqual(moved.results, [{ op: "move", moved: 1 }]);
    for (const h of smtpIn) {
      // The controller refreshes its Redis statistics every few tens of seconds; the learning itself is at once.
      const learned = await waitFor(() => (spamLearns(h) > learnsBefore.get(h)! ? true : undefined), 90_000, 500);
      assert.ok(learned, `${h}: BAYES_SPAM did not grow (${learnsBefore.get(h)} learns)`);
    }
    record("Junk move → BAYES_SPAM grows in every smtp-in's /stat (incl. stat refresh)", Date.now() - t0);
  });
});
