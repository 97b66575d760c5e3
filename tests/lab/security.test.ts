// The trust zones and the protocol rules, tried from the internet host: no open relay on smtp-in
// whatever the address trick, no AUTH before STARTTLS and no wrong password on submission, no
// plaintext logins on IMAP and POP3, and no direct way to the maildrops and smtp-out.
import * as assert from "assert";
import { INTERNAL, PORTS, PROXIED } from "../../components/core/src/ports";
import type { DialogueResult } from "./clients/mail-client";
import { authPlain, client, dialogue, externalMessages, Lab, OUTSIDE_SENDER, setupLab, submit, subject } from "./harness";

/** Classic ways of asking an MX to relay to partner.example, given a hosted domain and the MX's own names. */
function relayTricks(hosted: string, mxName: string, mxAddress: string): string[] {
  const victim = "relaytest@partner.example";
  return [
    `<${victim}>`, // plain relaying
    `<relaytest%partner.example@${hosted}>`, // percent hack through a hosted domain
    `<relaytest%partner.example@${mxName}>`, // percent hack through the MX's own name
    `<relaytest%partner.example@[${mxAddress}]>`, // percent hack through the MX's address literal
    `<partner.example!relaytest@${hosted}>`, // bang path through a hosted domain
    `<partner.example!relaytest>`, // bare UUCP bang path
    `<@${hosted}:${victim}>`, // source route through a hosted domain
    `<@${mxName},@${hosted}:${victim}>`, // source route, two hops
    `<"${victim}">`, // quoted local part holding the whole address
    `<"${victim}"@${hosted}>`, // quoted address inside a hosted domain
    `<"relaytest%partner.example"@${hosted}>`, // quoted percent hack
    `<${victim}@${hosted}>`, // two @ signs
    `<relaytest@partner.example.>`, // trailing dot
    `<RelayTest@PARTNER.EXAMPLE>`, // case games
    `<relaytest@[198.18.0.25]>`, // address literal of an outside host
    `<relaytest@partner.example@[${mxAddress}]>`, // two @ signs ending at the MX's literal
  ];
}

const statusOf = (r: DialogueResult, command: string) => r.replies.find((x) => x.send === command);

describe("lab: security", function () {
  this.timeout(180_000);
  let lab: Lab;

  before(async function () {
    this.timeout(30 * 60_000);
    lab = await setupLab();
  });

  const user = () => lab.spec.users[0].address;

  it("smtp-in refuses to relay to outside domains, whatever the address trick, on every MX", () => {
    const hosted = lab.spec.domains[0].name;
    for (const mx of lab.role("smtp-in")) {
      const tricks = relayTricks(hosted, mx.fqdn, mx.publicAddress!);
      assert.ok(tricks.length >= 10);
      for (const sender of [OUTSIDE_SENDER, user(), ""]) {
        const steps = ["EHLO client.outside.example", `MAIL FROM:<${sender}>`, ...tricks.map((t) => `RCPT TO:${t}`), `RCPT TO:<${user()}>`, "QUIT"];
        const r = dialogue(lab, { host: mx.publicAddress!, port: PORTS.smtp, protocol: "smtp" }, steps);
        // postscreen may greet in two lines ("220-" first) to catch clients that talk too early.
        assert.match(r.greeting, /^220[ -]/, `${mx.name}: greeting ${r.greeting}`);
        assert.equal(statusOf(r, `MAIL FROM:<${sender}>`)?.status, "250");
        for (const t of tricks) {
          const reply = statusOf(r, `RCPT TO:${t}`)!;
          assert.match(reply.status, /^5\d\d$/, `${mx.name} (MAIL FROM:<${sender}>) did not refuse RCPT TO:${t}: ${reply.reply}`);
        }
        // The session is still healthy: a hosted recipient is accepted after all those refusals.
        assert.equal(statusOf(r, `RCPT TO:<${user()}>`)?.status, "250", `${mx.name}: ${JSON.stringify(r.replies.slice(-2))}`);
      }
    }
    assert.deepEqual(externalMessages(lab, "relaytest@"), []);
  });

  it("submission refuses AUTH (and mail) before STARTTLS, and takes the same login after it", () => {
    const frontend = lab.inventory.endpoints.submission[0];
    const auth = `AUTH PLAIN ${authPlain(user(), lab.password(user()))}`;
    const r = dialogue(lab, { host: frontend, port: PORTS.submission, protocol: "smtp", servername: lab.names.submission }, [
      "EHLO client.outside.example",
      auth,
      `MAIL FROM:<${user()}>`,
      "STARTTLS",
      "EHLO client.outside.example",
      auth,
      "QUIT",
    ]);
    const [ehlo, authPlainText, mail, starttls, ehloTls, authTls] = r.replies;
    assert.doesNotMatch(ehlo.reply, /^250[- ]AUTH/m, "AUTH offered before STARTTLS");
    assert.match(ehlo.reply, /^250[- ]STARTTLS/m);
    assert.match(authPlainText.status, /^5\d\d$/, `AUTH before STARTTLS: ${authPlainText.reply}`);
    assert.match(mail.status, /^5\d\d$/, `MAIL before STARTTLS: ${mail.reply}`);
    assert.equal(starttls.status, "220");
    assert.match(ehloTls.reply, /^250[- ]AUTH PLAIN/m);
    assert.equal(authTls.status, "235", `the same login after STARTTLS: ${authTls.reply}`);
  });

  it("submission refuses a wrong password", () => {
    const r = dialogue(lab, { host: lab.inventory.endpoints.submission[0], port: PORTS.submission, protocol: "smtp", servername: lab.names.submission }, [
      "EHLO client.outside.example",
      "STARTTLS",
      "EHLO client.outside.example",
      `AUTH PLAIN ${authPlain(user(), "not-the-password")}`,
      `MAIL FROM:<${user()}>`,
      "RCPT TO:<dora@partner.example>",
      "QUIT",
    ]);
    assert.equal(r.replies[3].status, "535", r.replies[3].reply);
    // Postfix decides at RCPT (smtpd_delay_reject): without a login nothing is relayed.
    assert.match(r.replies[5].status, /^5\d\d$/, `relaying without a login: ${r.replies[5].reply}`);
    // And with a real client, as a mail program would see it.
    const sent = submit(lab, { user: user(), to: [user()], subject: subject("wrong password"), password: "not-the-password" });
    assert.equal(sent.ok, false);
    assert.equal(sent.code, 535, sent.response);
  });

  it("IMAP refuses a plaintext login without TLS (143 through a frontend), and takes it after STARTTLS", () => {
    const login = `LOGIN "${user()}" "${lab.password(user())}"`;
    const r = dialogue(lab, { host: lab.inventory.endpoints.imap[0], port: PORTS.imap, protocol: "imap", servername: lab.names.imap }, [
      `a1 ${login}`,
      `a2 AUTHENTICATE PLAIN ${authPlain(user(), lab.password(user()))}`,
      "a3 STARTTLS",
      `a4 ${login}`,
      "a5 LOGOUT",
    ]);
    assert.match(r.greeting, /LOGINDISABLED/, `greeting: ${r.greeting}`);
    assert.notEqual(r.replies[0].status, "OK", `plaintext LOGIN: ${r.replies[0].reply}`);
    assert.notEqual(r.replies[1].status, "OK", `plaintext AUTHENTICATE: ${r.replies[1].reply}`);
    assert.equal(r.replies[2].status, "OK");
    assert.equal(r.replies[3].status, "OK", `LOGIN after STARTTLS: ${r.replies[3].reply}`);
  });

  it("POP3 refuses a plaintext login without TLS (110 through a frontend), and takes it after STLS", () => {
    const r = dialogue(lab, { host: lab.inventory.endpoints.imap[0], port: PORTS.pop3, protocol: "pop3", servername: lab.names.pop3 }, [
      `USER ${user()}`,
      `PASS ${lab.password(user())}`,
      "STLS",
      `USER ${user()}`,
      `PASS ${lab.password(user())}`,
      "QUIT",
    ]);
    assert.match(r.greeting, /^\+OK/);
    assert.equal(r.replies[1].status, "-ERR", `plaintext PASS: ${r.replies[1].reply}`);
    assert.equal(r.replies[2].status, "+OK");
    assert.equal(r.replies[4].status, "+OK", `PASS after STLS: ${r.replies[4].reply}`);
  });

  it("from the internet, the maildrops, smtp-out and webmail cannot be reached; the frontends reach their backends", () => {
    const maildropPorts = [PORTS.smtp, PORTS.imap, PORTS.imaps, PORTS.pop3, PORTS.pop3s, PORTS.managesieve, ...Object.values(PROXIED), INTERNAL.doveadm];
    const smtpOutPorts = [PORTS.smtp, PORTS.submission, PORTS.submissions, PROXIED.submission, PROXIED.submissions];
    const targets = [
      ...lab.role("maildrop").flatMap((h) => maildropPorts.map((port) => ({ host: h.address, port }))),
      ...lab.role("smtp-out").flatMap((h) => smtpOutPorts.map((port) => ({ host: h.address, port }))),
      ...lab.role("webmail").map((h) => ({ host: h.address, port: INTERNAL.webmailHttps })),
    ];
    for (const from of [lab.stranger, lab.office]) {
      const r = client<{ targets: { host: string; port: number; open: boolean }[] }>("internet", { action: "probe", from, targets, timeoutMs: 2000 });
      const open = r.targets.filter((t) => t.open).map((t) => `${t.host}:${t.port}`);
      assert.deepEqual(open, [], `reachable from ${from}`);
    }
    // The same hosts are up and answer their clients: the firewall, not a dead host, said no.
    const frontend = lab.role("frontend")[0];
    const inside = client<{ targets: { host: string; port: number; open: boolean }[] }>(frontend.name, {
      action: "probe",
      targets: [
        ...lab.role("maildrop").map((h) => ({ host: h.address, port: PROXIED.imaps })),
        ...lab.role("smtp-out").map((h) => ({ host: h.address, port: PROXIED.submission })),
      ],
    });
    assert.deepEqual(inside.targets.filter((t) => !t.open), [], `${frontend.name} cannot reach its backends`);
    // And from the internet, the public services answer.
    const outside = client<{ targets: { host: string; port: number; open: boolean }[] }>("internet", {
      action: "probe",
      from: lab.stranger,
      targets: [
        ...lab.inventory.endpoints.mx.map((host) => ({ host, port: PORTS.smtp })),
        ...lab.inventory.endpoints.submission.flatMap((host) => [PORTS.submission, PORTS.imaps, PORTS.https].map((port) => ({ host, port }))),
      ],
    });
    assert.deepEqual(outside.targets.filter((t) => !t.open), []);
  });

  it("the webmail answers the office network and refuses strangers", () => {
    const fetch = (from: string) =>
      client<{ status: number; body: string }>("internet", {
        action: "http",
        host: lab.inventory.endpoints.submission[0],
        port: PORTS.https,
        from,
        servername: lab.names.webmail,
        hostHeader: lab.names.webmail,
        ca: lab.inventory.caCertificate,
        path: "/",
      });
    assert.equal(fetch(lab.stranger).status, 403);
    const office = fetch(lab.office);
    assert.equal(office.status, 200, office.body.slice(0, 500));
    assert.match(office.body, /roundcube/i);
  });
});
