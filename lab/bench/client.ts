// The benchmark's clients, run in a lab host's network namespace (the internet host, or a maildrop
// for its own IMAP): reads one JSON plan on stdin, prints one JSON result. Real clients: nodemailer
// for SMTP submission, imapflow for IMAP.
// Usage: node --require tsx/cjs client.ts < plan.json
import * as fs from "fs";
import { ImapFlow } from "imapflow";
import * as nodemailer from "nodemailer";

export interface Server {
  host: string;
  port: number;
  /** TLS name to verify against `ca`; without `ca` the certificate is not verified (the baseline's is self-signed). */
  servername?: string;
  ca?: string;
  /** Local address to connect from. */
  from?: string;
}

export interface Login {
  user: string;
  pass: string;
  /** Local address this login's connections come from (each its own client to the server's limits). */
  from?: string;
}

/** `count` messages submitted (587, STARTTLS, AUTH) over the logins in turn, a pooled session per login. */
export interface SubmitPlan {
  action: "submit";
  server: Server;
  logins: Login[];
  to: string[];
  count: number;
  /** In the Subject and Message-ID of every message, to count them where they land. */
  tag: string;
}

/** `samples` times: one message to `smtp` (port 25, no auth) and the time from its 250 until IMAP shows it in INBOX. */
export interface VisiblePlan {
  action: "visible";
  smtp: Server & { helo: string; mailFrom: string };
  imap: Server & Login;
  samples: number;
  tag: string;
}

/** `samples` times: connect, log in, SELECT INBOX. */
export interface LoginPlan {
  action: "login";
  imap: Server & Login;
  samples: number;
}

export type Plan = SubmitPlan | VisiblePlan | LoginPlan;

export interface SubmitResult {
  accepted: number;
  /** Per message, from its first attempt to its 250 (ms). */
  acceptMs: number[];
  errors: string[];
}

/** Milliseconds, one per sample. */
export interface SamplesResult {
  ms: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tlsOf = (s: Server) => (s.ca ? { ca: fs.readFileSync(s.ca), servername: s.servername, rejectUnauthorized: true } : { rejectUnauthorized: false });
const body = "A message of the benchmark, about four kilobytes long in all with its headers.\n".repeat(50);

async function submit(p: SubmitPlan): Promise<SubmitResult> {
  const transports = p.logins.map((l) => nodemailer.createTransport({
    host: p.server.host, port: p.server.port, requireTLS: true, localAddress: l.from, auth: { user: l.user, pass: l.pass },
    tls: tlsOf(p.server), pool: true, maxConnections: 2, maxMessages: Infinity, connectionTimeout: 10_000, socketTimeout: 60_000,
  }));
  const acceptMs: number[] = [];
  const errors: string[] = [];
  await Promise.all(Array.from({ length: p.count }, async (_, n) => {
    const login = p.logins[n % p.logins.length];
    const started = Date.now();
    // A 4xx (a rate limit, a busy server) is tried again, as a mail client does; a 5xx is an answer.
    for (;;) {
      try {
        await transports[n % p.logins.length].sendMail({
          envelope: { from: login.user, to: p.to }, from: login.user, to: p.to.join(", "),
          subject: `bench ${p.tag} ${n}`, messageId: `<${p.tag}-${n}@bench.invalid>`, text: body,
        });
        acceptMs.push(Date.now() - started);
        return;
      } catch (e) {
        const err = e as Error & { responseCode?: number };
        if ((err.responseCode !== undefined && err.responseCode >= 500) || Date.now() - started > 120_000) {
          errors.push(err.message);
          return;
        }
        await sleep(1_000);
      }
    }
  }));
  for (const t of transports) t.close();
  return { accepted: acceptMs.length, acceptMs, errors };
}

function imapClient(s: Server & Login): ImapFlow {
  const client = new ImapFlow({
    host: s.host, port: s.port, secure: true, auth: { user: s.user, pass: s.pass }, tls: tlsOf(s), logger: false,
    ...(s.from ? { localAddress: s.from } : {}),
  } as ConstructorParameters<typeof ImapFlow>[0]);
  client.on("error", () => undefined);
  return client;
}

async function visible(p: VisiblePlan): Promise<SamplesResult> {
  const imap = imapClient(p.imap);
  await imap.connect();
  await imap.mailboxOpen("INBOX");
  const smtp = nodemailer.createTransport({
    host: p.smtp.host, port: p.smtp.port, name: p.smtp.helo, localAddress: p.smtp.from, tls: tlsOf(p.smtp), pool: true, maxConnections: 1,
  });
  const ms: number[] = [];
  for (let n = 0; n < p.samples; n++) {
    const messageId = `${p.tag}-${n}@bench.invalid`;
    await smtp.sendMail({
      envelope: { from: p.smtp.mailFrom, to: [p.imap.user] }, from: p.smtp.mailFrom, to: p.imap.user,
      subject: `bench ${p.tag} ${n}`, messageId: `<${messageId}>`, text: body,
    });
    const accepted = Date.now();
    // NOOP until the new message's Message-ID is there: what a client that polls sees, no sooner.
    for (;;) {
      await imap.noop();
      const found = await imap.search({ header: { "message-id": messageId } });
      if (Array.isArray(found) && found.length > 0) break;
      if (Date.now() - accepted > 60_000) throw new Error(`${messageId} not visible over IMAP after 60 s`);
      await sleep(5);
    }
    ms.push(Date.now() - accepted);
  }
  smtp.close();
  await imap.logout();
  return { ms };
}

async function login(p: LoginPlan): Promise<SamplesResult> {
  const ms: number[] = [];
  for (let n = 0; n < p.samples; n++) {
    const started = Date.now();
    const imap = imapClient(p.imap);
    await imap.connect();
    await imap.mailboxOpen("INBOX");
    ms.push(Date.now() - started);
    await imap.logout();
  }
  return { ms };
}

async function main(): Promise<void> {
  const plan = JSON.parse(fs.readFileSync(0, "utf8")) as Plan;
  const result = plan.action === "submit" ? await submit(plan) : plan.action === "visible" ? await visible(plan) : await login(plan);
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String(e) }) + "\n");
  process.exitCode = 1;
});
