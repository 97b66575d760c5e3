// The directory variant end to end (seeds 001 and 003): the stack's users, their quotas and its
// distribution lists live in a real LDAP directory (the lab's `directory` host, OpenLDAP in Active
// Directory's shape, over ldaps:// verified against the lab's CA), and the platform finds them
// there: logins bind as the user, smtp-in validates recipients and expands groups by LDAP, the
// maildrop takes the quota from `info`. The directory down: logins and inbound mail fail
// temporarily (what users and senders see), and queued mail arrives once it is back.
// The lab switches to the variant in place and back to the plain stack afterwards.
import { strict as assert } from "assert";
import { randomBytes } from "crypto";
import { PORTS } from "../../components/core/src/ports";
import { DEFAULT_STACK, Inventory, labCrash, labDown, labExec, labStart, labUp, readInventory } from "../../lab";
import { inventoryExists } from "../../lab/inventory";
import {
  authPlain, deliverInbound, describeLab, dialogue, externalMessages, inHost, Lab, record, storedWith, subject, submit, waitFor, waitInMailbox, wantedStack,
} from "./harness";

describe("lab: directory variant (users, quotas and groups in LDAP)", function () {
  this.timeout(180_000);
  let lab: Lab;
  let before_: Inventory | undefined;
  const quiet = () => undefined;

  before(async function () {
    this.timeout(30 * 60_000);
    before_ = inventoryExists() ? readInventory() : undefined;
    lab = describeLab(await labUp(wantedStack() ?? DEFAULT_STACK, quiet, { directory: true }));
    // Right after the switch an MTA's first LDAP lookups can fail for a few seconds ("Can't contact
    // LDAP server", seen in CI), and a Dovecot auth that failed backs off before it reconnects: the
    // tests start once every MTA finds a user in the directory and smtp-out's Dovecot logs one in.
    const user = alice();
    const ok = (host: string, argv: string[]) => labExec(host, argv).status === 0 || undefined;
    // What the host answered and logged, for a failure's message.
    const why = (host: string, argv: string[], log: string) => {
      const r = labExec(host, argv);
      return `${r.stdout}${r.stderr}\n${labExec(host, ["bash", "-c", `grep -E '${log}' /var/log/messages | tail -n 25`]).stdout}`;
    };
    for (const h of [...lab.role("smtp-in"), ...lab.role("smtp-out")]) {
      const lookup = ["postmap", "-q", user, "ldap:/etc/postfix/ldap-mailboxes.cf"];
      if (!(await waitFor(() => ok(h.name, lookup), 60_000, 1000))) assert.fail(`${h.name} never reached the directory:\n${why(h.name, lookup, "postfix|ldap")}`);
    }
    for (const h of lab.role("smtp-out")) {
      const login = ["doveadm", "auth", "test", "-x", "service=smtp", user, lab.password(user)];
      // Longer: an auth process whose first connection failed waits before it tries again.
      if (!(await waitFor(() => ok(h.name, login), 120_000, 1000))) assert.fail(`${h.name}: Dovecot never authenticated against the directory:\n${why(h.name, login, "dovecot")}`);
    }
  });

  after(async function () {
    this.timeout(30 * 60_000);
    // Back to what ran before: the plain stack (mail stores kept), or nothing.
    if (!before_) await labDown(quiet);
    else if (!before_.directory) await labUp(before_.stack, quiet);
  });

  const users = () => lab.inventory.users;
  /** A directory user who can log in (a stack user, moved into the directory). */
  const alice = () => users().find((u) => !u.disabled && !u.address.startsWith("quota-test@"))!.address;
  const disabled = () => users().find((u) => u.disabled)!.address;
  const groups = () => lab.inventory.directory!.groups;
  const maildrop = () => lab.role("maildrop")[0].name;
  /** A hosted domain without a catch-all: unknown addresses there are refused. */
  const strictDomain = () => lab.spec.domains.find((d) => !d.catchAll)!.name;

  /** An IMAPS session through the first frontend: AUTHENTICATE PLAIN, then the given commands. */
  function imapSession(user: string, password: string, commands: string[] = []) {
    return dialogue(lab, { host: lab.inventory.endpoints.imap[0], port: PORTS.imaps, protocol: "imap", tls: "implicit", servername: lab.names.imap }, [
      `a1 AUTHENTICATE PLAIN ${authPlain(user, password)}`,
      ...commands.map((c, i) => `a${i + 2} ${c}`),
      "z LOGOUT",
    ]);
  }

  it("runs the stack in directory mode: no user in the stack's files, the directory reached over ldaps:// with its certificate verified", () => {
    assert.equal(lab.inventory.directory?.uri, "ldaps://ldap.corp.example");
    const conf = inHost(maildrop(), ["cat", "/etc/dovecot/dovecot-ldap.conf.ext"]);
    assert.match(conf, /^tls_require_cert = hard$/m);
    assert.match(conf, /^tls_ca_cert_file = \/etc\/mailplatform\/tls\/directory-ca\.crt$/m);
    const running = inHost(maildrop(), ["doveconf", "-n"]);
    assert.match(running, /passdb \{\s*args = \S+dovecot-ldap\.conf\.ext\s*driver = ldap/);
    assert.doesNotMatch(running, /driver = passwd-file/, "users from a file too");
    // The directory answers the platform's service account over TLS, and nobody anonymously.
    const smtpIn = lab.role("smtp-in")[0].name;
    const mailboxes = inHost(smtpIn, ["postmap", "-q", alice(), "ldap:/etc/postfix/ldap-mailboxes.cf"]).trim();
    assert.equal(mailboxes, alice());
    const anon = inHost("directory", ["bash", "-c", `LDAPTLS_CACERT=/etc/ldap/lab/directory.crt ldapsearch -x -H ldaps://ldap.corp.example -b dc=corp,dc=example '(mail=${alice()})' mail; echo "exit $?"`]);
    assert.doesNotMatch(anon, /^mail: /m, "an anonymous search reads users");
  });

  it("an LDAP user logs in over IMAPS through a frontend (checked by binding as them); a wrong password is refused", () => {
    const ok = imapSession(alice(), lab.password(alice()));
    assert.equal(ok.replies[0].status, "OK", ok.replies[0].reply);
    const bad = imapSession(alice(), `${lab.password(alice())}x`);
    assert.equal(bad.replies[0].status, "NO", bad.replies[0].reply);
    assert.match(bad.replies[0].reply, /AUTHENTICATIONFAILED/);
  });

  it("inbound mail to an LDAP user is accepted by smtp-in's LDAP recipient lookup and delivered", () => {
    const s = subject("directory inbound");
    const sent = deliverInbound(lab, { to: [alice()], subject: s });
    assert.ok(sent.ok, `refused: ${sent.code} ${sent.response}`);
    assert.equal(waitInMailbox(lab, alice(), s).found.length, 1);
  });

  it("an address the directory does not know is refused at RCPT on smtp-in (550 5.1.1)", () => {
    const s = subject("directory unknown");
    const sent = deliverInbound(lab, { to: [`nobody-${randomBytes(3).toString("hex")}@${strictDomain()}`], subject: s });
    assert.equal(sent.ok, false);
    assert.equal(sent.code, 550, sent.response);
    assert.match(sent.response ?? "", /5\.1\.1/);
  });

  it("an LDAP user submits through a frontend as themselves (SASL against the directory, sender owned by the login)", () => {
    const s = subject("directory submission");
    const sent = submit(lab, { user: alice(), to: [`directory-${randomBytes(3).toString("hex")}@partner.example`], subject: s });
    assert.ok(sent.ok, `refused: ${sent.code} ${sent.response ?? sent.error}`);
  });

  it("takes each user's quota from the directory's info attribute, the platform default without one", () => {
    const limitKiB = (user: string) => {
      const rows = JSON.parse(inHost(maildrop(), ["doveadm", "-f", "json", "quota", "get", "-u", user])) as { type: string; limit: string }[];
      return Number(rows.find((r) => r.type === "STORAGE")?.limit);
    };
    for (const u of users().filter((x) => !x.disabled)) {
      assert.equal(limitKiB(u.address), (u.quotaBytes ?? lab.spec.defaultQuotaBytes) / 1024, u.address);
    }
    // What the user's client sees: the quota-test user's 64 KiB.
    const small = users().find((u) => u.address.startsWith("quota-test@"))!;
    const r = imapSession(small.address, small.password, ["GETQUOTAROOT INBOX"]);
    assert.match(r.replies[1].reply, new RegExp(`\\(STORAGE \\d+ ${small.quotaBytes! / 1024}\\)`), r.replies[1].reply);
  });

  it("a disabled account cannot log in (IMAPS, submission) with its right password; its mail is still delivered", async () => {
    const who = disabled();
    const password = lab.password(who);
    const login = imapSession(who, password);
    assert.equal(login.replies[0].status, "NO", login.replies[0].reply);
    assert.match(login.replies[0].reply, /AUTHENTICATIONFAILED/);
    const sent = submit(lab, { user: who, password, to: ["someone@partner.example"], subject: subject("disabled submission") });
    assert.equal(sent.ok, false);
    assert.equal(sent.code, 535, sent.response ?? sent.error);
    const s = subject("to a disabled account");
    assert.ok(deliverInbound(lab, { to: [who], subject: s }).ok);
    assert.ok(await stored(who, s), "not stored");
  });

  it("a group delivers to its members; a group nested in another reaches the inner group's members", async () => {
    const [team, nested] = [groups()[0], groups().find((g) => g.members.includes(groups()[0].address))!];
    for (const g of [team, nested]) {
      const s = subject(`directory group ${g.address.split("@")[0]}`);
      const sent = deliverInbound(lab, { to: [g.address], subject: s });
      assert.ok(sent.ok, `${g.address}: ${sent.code} ${sent.response}`);
      const expected = [...new Set(g.members.flatMap((m) => groups().find((x) => x.address === m)?.members ?? [m]))];
      for (const m of expected) assert.ok(await stored(m, s), `${g.address}: not delivered to ${m}`);
    }
  });

  describe("with the directory down", () => {
    const s = subject("directory down");

    before(async function () {
      this.timeout(120_000);
      await labCrash("directory", quiet);
    });

    after(async function () {
      this.timeout(120_000);
      if (readInventory().hosts.some((h) => h.name === "directory")) await labStart("directory", quiet);
    });

    it("a login fails within seconds: IMAPS as a temporary failure (UNAVAILABLE), submission refused at AUTH", () => {
      const t0 = Date.now();
      const r = imapSession(alice(), lab.password(alice()));
      record("directory down: IMAP login answered", Date.now() - t0);
      assert.equal(r.replies[0].status, "NO", r.replies[0].reply);
      assert.match(r.replies[0].reply, /\[UNAVAILABLE\]/);
      assert.ok(Date.now() - t0 < 30_000, "the login hung");
      // Dovecot reports a temporary failure here too, but Postfix's Dovecot SASL client (3.7) turns
      // every FAIL into 535; RFC 4954's 454 would tell the client not to ask for a new password.
      const sent = submit(lab, { user: alice(), to: ["someone@partner.example"], subject: subject("directory down submission") });
      assert.equal(sent.ok, false);
      assert.equal(sent.code, 535, sent.response ?? sent.error);
    });

    it("inbound mail is deferred with a 4xx, queued at the sender and not bounced", async () => {
      const direct = deliverInbound(lab, { to: [alice()], subject: s });
      assert.ok((direct.code ?? 0) >= 400 && (direct.code ?? 0) < 500, `smtp-in answered ${direct.code} ${direct.response}`);
      // A real sending MTA (external-mx's Postfix) keeps it in its queue, deferred.
      inHost("external-mx", ["bash", "-c", 'printf "From: sender@partner.example\\nTo: %s\\nSubject: %s\\n\\nqueued while the directory is down\\n" "$1" "$2" | sendmail -oi -f sender@partner.example "$1"', "-", alice(), s]);
      const deferred = await waitFor(() => {
        const queue = inHost("external-mx", ["postqueue", "-j"]);
        return /"delay_reason":\s*"[^"]*\b4\d\d\b/.test(queue) && queue.includes(alice()) ? queue : undefined;
      }, 60_000, 1_000);
      assert.ok(deferred, "external-mx has no deferred message for the directory user");
      assert.deepEqual(externalMessages(lab, s).map((m) => m.file), [], "the sender got something back (a bounce)");
    });

    it("once the directory is back, logins work again and the queued message is delivered", async function () {
      this.timeout(240_000);
      await labStart("directory", quiet);
      const t0 = Date.now();
      const login = await waitFor(() => {
        const r = imapSession(alice(), lab.password(alice()));
        return r.replies[0]?.status === "OK" ? r : undefined;
      }, 60_000, 1_000);
      record("directory back: first IMAP login through", Date.now() - t0);
      assert.ok(login, "logins still fail after the directory came back");
      inHost("external-mx", ["postqueue", "-f"]);
      assert.ok(await stored(alice(), s, 120_000), "the queued message never arrived");
      assert.deepEqual(externalMessages(lab, s).map((m) => m.file), [], "the sender got a bounce");
    });
  });

  /** Whether the user's store on the primary maildrop holds a message with the subject within the time. */
  async function stored(user: string, s: string, timeoutMs = 30_000): Promise<boolean> {
    return (await waitFor(() => storedWith(maildrop(), user, s).length > 0 || undefined, timeoutMs, 500)) === true;
  }
});
