// The fault suite's client side, run in the internet host's network namespace for the length of one
// fault: submissions through the frontends (587, STARTTLS, AUTH) paced and retried the way a real
// client retries (4xx and dropped connections: again, at the next frontend), and IMAP logins
// through the frontends as an availability probe. Reads a LoadPlan on stdin, prints a LoadResult.
// Usage: node --require tsx/cjs load.ts < plan.json
import * as fs from "fs";
import { ImapFlow } from "imapflow";
import * as nodemailer from "nodemailer";

export interface TlsEndpoint {
  /** Frontend addresses, in the order a client tries them. */
  hosts: string[];
  port: number;
  servername: string;
  ca: string;
  /** Local address to connect from. */
  from: string;
}

export interface LoadPlan {
  submissions: TlsEndpoint & {
    count: number;
    intervalMs: number;
    /** Gives up on a message after this long (a real client would tell its user). */
    giveUpMs: number;
    user: string;
    pass: string;
    to: string[];
    /** Message-IDs are <idPrefix-N@domain of the user>. */
    idPrefix: string;
  };
  probe: TlsEndpoint & { intervalMs: number; user: string; pass: string };
}

export interface Submitted {
  id: string;
  acked: boolean;
  attempts: number;
  /** The last error when not acknowledged. */
  error?: string;
}

export interface LoadResult {
  submitted: Submitted[];
  /** Longest stretch, in ms, in which no submission was acknowledged while one was being tried. */
  longestSubmitOutageMs: number;
  /** Longest stretch, in ms, between two successful IMAP logins through a frontend. */
  longestLoginOutageMs: number;
  logins: { ok: number; failed: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tls = (e: TlsEndpoint) => ({ ca: fs.readFileSync(e.ca), servername: e.servername, rejectUnauthorized: true });

/** 4xx, timeouts and dropped connections are worth another try; a 5xx is an answer. */
function retryable(e: Error & { responseCode?: number }): boolean {
  return e.responseCode === undefined || (e.responseCode >= 400 && e.responseCode < 500);
}

async function submitOne(p: LoadPlan["submissions"], n: number, gap: Gap): Promise<Submitted> {
  const domain = p.user.split("@")[1];
  const id = `${p.idPrefix}-${n}@${domain}`;
  const started = Date.now();
  let attempts = 0;
  let error = "";
  for (let i = 0; Date.now() - started < p.giveUpMs; i++) {
    const host = p.hosts[i % p.hosts.length];
    const attemptStarted = Date.now();
    attempts++;
    const transport = nodemailer.createTransport({
      host, port: p.port, requireTLS: true, localAddress: p.from, auth: { user: p.user, pass: p.pass }, tls: tls(p),
      connectionTimeout: 5_000, greetingTimeout: 5_000, socketTimeout: 30_000,
    });
    try {
      await transport.sendMail({
        envelope: { from: p.user, to: p.to },
        from: p.user, to: p.to.join(", "), subject: `fault load ${id}`, messageId: `<${id}>`,
        text: "A message of the fault suite's submission load.\n".repeat(80),
      });
      gap.ok(attemptStarted);
      return { id, acked: true, attempts };
    } catch (e) {
      const err = e as Error & { responseCode?: number };
      error = `${host}: ${err.message}`;
      gap.failed(attemptStarted);
      if (!retryable(err)) break;
      await sleep(1_000);
    } finally {
      transport.close();
    }
  }
  return { id, acked: false, attempts, error };
}

/**
 * The longest a client waited to get through: from the start of the first attempt that failed (or
 * of the attempt itself, when it went through at once but slowly) to the next success.
 */
class Gap {
  longest = 0;
  private since?: number;
  ok(attemptStarted: number): void {
    this.longest = Math.max(this.longest, Date.now() - (this.since ?? attemptStarted));
    this.since = undefined;
  }
  failed(attemptStarted: number): void {
    this.since ??= attemptStarted;
  }
  /** A stretch still open when the run ends counts too. */
  close(): number {
    if (this.since !== undefined) this.longest = Math.max(this.longest, Date.now() - this.since);
    return this.longest;
  }
}

/**
 * A client that gives a silent server 3 s at every step, then tries the next frontend. The socket
 * timeout was 5 s, the fault goal's own length: a freeze that caught a probe mid-login (after the
 * greeting; the frontends' watch moves new connections, not established ones) then missed the goal
 * by the client's patience alone (5.1 s in one CI run, 3.0 s in the others).
 */
const PROBE_TIMEOUT_MS = 3_000;

async function login(p: LoadPlan["probe"]): Promise<boolean> {
  for (const host of p.hosts) {
    const client = new ImapFlow({
      host, port: p.port, secure: true, auth: { user: p.user, pass: p.pass }, tls: tls(p), logger: false,
      connectionTimeout: PROBE_TIMEOUT_MS, greetingTimeout: PROBE_TIMEOUT_MS, socketTimeout: PROBE_TIMEOUT_MS,
    } as ConstructorParameters<typeof ImapFlow>[0]);
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.logout();
      return true;
    } catch {
      client.close();
    }
  }
  return false;
}

async function main(): Promise<void> {
  const plan = JSON.parse(fs.readFileSync(0, "utf8")) as LoadPlan;
  const submitGap = new Gap();
  const loginGap = new Gap();
  const logins = { ok: 0, failed: 0 };
  let done = false;
  const probing = (async () => {
    while (!done) {
      const started = Date.now();
      if (await login(plan.probe)) {
        logins.ok++;
        loginGap.ok(started);
      } else {
        logins.failed++;
        loginGap.failed(started);
      }
      await sleep(Math.max(0, plan.probe.intervalMs - (Date.now() - started)));
    }
  })();
  const submitted: Submitted[] = [];
  const s = plan.submissions;
  for (let n = 0; n < s.count; n++) {
    const started = Date.now();
    submitted.push(await submitOne(s, n, submitGap));
    await sleep(Math.max(0, s.intervalMs - (Date.now() - started)));
  }
  done = true;
  await probing;
  const result: LoadResult = { submitted, longestSubmitOutageMs: submitGap.close(), longestLoginOutageMs: loginGap.close(), logins };
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String(e) }) + "\n");
  process.exitCode = 1;
});
