// One mail client action per run, for the end-to-end tests: the test runs this script inside a lab
// host's network namespace (lab inNetns), hands it a JSON action on stdin and reads one JSON result
// from stdout. Real clients do the work: nodemailer (SMTP), imapflow (IMAP), mailauth (DKIM, SPF,
// DMARC); protocol dialogues (open-relay tricks, AUTH before STARTTLS, plaintext logins,
// ManageSieve) are spoken line by line here so every server reply reaches the test.
// Usage: node --require tsx/cjs mail-client.ts < action.json
import * as dns from "dns";
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as tls from "tls";
import { ImapFlow } from "imapflow";
import { authenticate } from "mailauth";
import * as nodemailer from "nodemailer";

/** Where to connect and how: `from` is the local address to send from, `servername` the TLS name to verify. */
export interface Endpoint {
  host: string;
  port: number;
  from?: string;
  servername?: string;
  /** PEM file the server certificate must chain to. */
  ca?: string;
}

export interface SendAction extends Endpoint {
  action: "send";
  tls: "implicit" | "starttls" | "none";
  /** HELO name; a stranger's client says something fully qualified. */
  helo?: string;
  auth?: { user: string; pass: string };
  envelope: { from: string; to: string[] };
  message: { from: string; to: string; subject: string; text: string; headers?: Record<string, string> } | { raw: string };
}

export type Protocol = "smtp" | "imap" | "pop3" | "sieve";

/** A line-by-line session: each step is sent with CRLF and answered by one complete server reply. */
export interface DialogueAction extends Endpoint {
  action: "dialogue";
  protocol: Protocol;
  tls: "implicit" | "none";
  steps: string[];
}

export type ImapOp =
  | { op: "list" }
  /** Waits (polling) until a message whose Subject contains `subject` is in `mailbox`. */
  | { op: "find"; mailbox: string; subject: string; timeoutMs?: number; source?: boolean }
  | { op: "move"; mailbox: string; subject: string; to: string }
  /** Sends a message while the IMAP session is open, so a later find measures delivery from its acceptance. */
  | { op: "send"; send: SendAction };

export interface ImapAction extends Endpoint {
  action: "imap";
  tls: "implicit" | "starttls";
  user: string;
  pass: string;
  ops: ImapOp[];
}

/** TCP connects to each port; `open` is true when the three-way handshake completed. */
export interface ProbeAction {
  action: "probe";
  from?: string;
  targets: { host: string; port: number }[];
  timeoutMs?: number;
}

export interface HttpAction extends Endpoint {
  action: "http";
  /** Host header and path; the connection goes to `host`:`port`. */
  hostHeader: string;
  path: string;
}

/** mailauth's verdict on a stored message, DNS answered by the lab's DNS host. */
export interface VerifyAction {
  action: "verify";
  message: string;
  ip: string;
  helo: string;
  sender: string;
  mta: string;
  dns: string;
  from?: string;
}

export type Action = SendAction | DialogueAction | ImapAction | ProbeAction | HttpAction | VerifyAction;

export interface Reply {
  send: string;
  /** The whole reply, lines joined with "\n". */
  reply: string;
  /** SMTP code, IMAP tagged status (OK/NO/BAD), POP3 +OK/-ERR, ManageSieve OK/NO/BYE; "closed" if the server hung up. */
  status: string;
  tls: boolean;
}

export interface DialogueResult {
  greeting: string;
  replies: Reply[];
  /** Set when no session could be opened (refused, timed out, TLS failed). */
  error?: string;
}

export interface SendResult {
  ok: boolean;
  ms: number;
  response?: string;
  accepted?: string[];
  rejected?: string[];
  code?: number;
  command?: string;
  error?: string;
}

/** TLS (and TCP) options: tls.connect passes net.connect's localAddress on. */
const tlsOptions = (e: Endpoint): tls.ConnectionOptions & { localAddress?: string } => ({
  ca: e.ca ? fs.readFileSync(e.ca) : undefined,
  servername: e.servername,
  localAddress: e.from,
});

async function send(a: SendAction): Promise<SendResult> {
  const started = Date.now();
  const transport = nodemailer.createTransport({
    host: a.host,
    port: a.port,
    secure: a.tls === "implicit",
    requireTLS: a.tls === "starttls",
    ignoreTLS: a.tls === "none",
    name: a.helo ?? "client.lab.example",
    localAddress: a.from,
    auth: a.auth,
    tls: { ...tlsOptions(a), rejectUnauthorized: true },
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
  });
  const m = a.message;
  try {
    const info = await transport.sendMail(
      "raw" in m
        ? { envelope: a.envelope, raw: m.raw }
        : { envelope: a.envelope, from: m.from, to: m.to, subject: m.subject, text: m.text, headers: m.headers },
    );
    return { ok: true, ms: Date.now() - started, response: info.response, accepted: info.accepted.map(String), rejected: info.rejected.map(String) };
  } catch (e) {
    const err = e as Error & { responseCode?: number; response?: string; command?: string };
    return { ok: false, ms: Date.now() - started, code: err.responseCode, response: err.response, command: err.command, error: err.message };
  } finally {
    transport.close();
  }
}

/** Reads whole replies off a socket: the protocol decides where one reply ends. */
class LineReader {
  private buffer = "";
  private waiting?: () => void;
  closed = false;

  constructor(public socket: net.Socket) {
    this.attach(socket);
  }

  attach(socket: net.Socket): void {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      this.buffer += d;
      this.waiting?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.waiting?.();
    });
    socket.on("error", () => {
      this.closed = true;
      this.waiting?.();
    });
  }

  /** Stops reading the plain socket before a TLS upgrade takes it over. */
  detach(): void {
    this.socket.removeAllListeners("data");
    this.socket.removeAllListeners("close");
    this.socket.removeAllListeners("error");
  }

  async reply(complete: (lines: string[]) => boolean, timeoutMs = 20_000): Promise<{ lines: string[]; closed: boolean }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.buffer.split("\r\n");
      const full = lines.slice(0, -1);
      if (full.length > 0 && complete(full)) {
        this.buffer = "";
        return { lines: full, closed: false };
      }
      if (this.closed || Date.now() > deadline) {
        const rest = this.buffer;
        this.buffer = "";
        return { lines: rest ? rest.split("\r\n").filter(Boolean) : [], closed: true };
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiting = undefined;
    }
  }
}

/** POP3 commands whose +OK answer goes on until a line with a single dot (RFC 1939). */
function pop3MultiLine(command: string): boolean {
  const [verb, argument] = command.toUpperCase().split(" ");
  return ["CAPA", "RETR", "TOP"].includes(verb) || (["LIST", "UIDL"].includes(verb) && !argument);
}

function replyEnd(protocol: Protocol, sent: string | undefined): (lines: string[]) => boolean {
  const last = (lines: string[]) => lines[lines.length - 1];
  switch (protocol) {
    case "smtp":
      return (lines) => /^\d{3}( |$)/.test(last(lines));
    case "pop3":
      return (lines) => (sent && pop3MultiLine(sent) && lines[0].startsWith("+OK") ? last(lines) === "." : true);
    case "imap": {
      const tag = sent?.split(" ")[0];
      return (lines) => (tag ? last(lines).startsWith(`${tag} `) : lines[0].startsWith("* "));
    }
    case "sieve":
      return (lines) => /^(OK|NO|BYE)\b/.test(last(lines));
  }
}

function replyStatus(protocol: Protocol, lines: string[]): string {
  const last = lines[lines.length - 1] ?? "";
  switch (protocol) {
    case "smtp":
      return last.slice(0, 3);
    case "pop3":
      return lines[0]?.split(" ")[0] ?? "";
    case "imap":
      // "a1 OK ...", or the greeting's "* OK ...".
      return last.split(" ")[1] ?? "";
    case "sieve":
      return last.split(" ")[0];
  }
}

/** Whether a step, once answered positively, switches the connection to TLS. */
function isStartTls(protocol: Protocol, step: string, status: string): boolean {
  const verb = protocol === "imap" ? step.split(" ")[1] : step.split(" ")[0];
  const ok = protocol === "smtp" ? status === "220" : protocol === "pop3" ? status === "+OK" : status === "OK";
  return ok && /^(STARTTLS|STLS)$/i.test(verb ?? "");
}

function connect(e: Endpoint, implicitTls: boolean): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const connected = () => {
      // From here on, LineReader's deadlines apply.
      socket.setTimeout(0);
      resolve(socket);
    };
    const socket = implicitTls
      ? tls.connect({ host: e.host, port: e.port, ...tlsOptions(e) }, connected)
      : net.connect({ host: e.host, port: e.port, localAddress: e.from }, connected);
    // A dropped SYN (a firewall) gives up after 5 s.
    socket.setTimeout(5_000, () => socket.destroy(new Error("timeout")));
    socket.once("error", reject);
  });
}

function upgrade(socket: net.Socket, e: Endpoint): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ socket, ...tlsOptions(e) }, () => resolve(secure));
    secure.once("error", reject);
  });
}

async function dialogue(a: DialogueAction): Promise<DialogueResult> {
  let socket: net.Socket;
  try {
    socket = await connect(a, a.tls === "implicit");
  } catch (e) {
    return { greeting: "", replies: [], error: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
  }
  let secure = a.tls === "implicit";
  const reader = new LineReader(socket);
  const greeting = await reader.reply(replyEnd(a.protocol, undefined));
  const replies: Reply[] = [];
  for (const step of a.steps) {
    if (reader.closed) {
      replies.push({ send: step, reply: "", status: "closed", tls: secure });
      continue;
    }
    socket.write(step + "\r\n");
    const r = await reader.reply(replyEnd(a.protocol, step));
    const status = r.closed && r.lines.length === 0 ? "closed" : replyStatus(a.protocol, r.lines);
    replies.push({ send: step, reply: r.lines.join("\n"), status, tls: secure });
    if (isStartTls(a.protocol, step, status)) {
      reader.detach();
      socket = await upgrade(socket, a);
      secure = true;
      reader.attach(socket);
      // ManageSieve greets again with its capabilities after the handshake (RFC 5804 §2.2).
      if (a.protocol === "sieve") await reader.reply(replyEnd("sieve", undefined));
    }
  }
  socket.destroy();
  return { greeting: greeting.lines.join("\n"), replies };
}

export interface FoundMessage {
  uid: number;
  subject: string;
  flags: string[];
  /** The raw message, when asked for. */
  source?: string;
}

export type ImapOpResult =
  | { op: "list"; mailboxes: { path: string; specialUse?: string; messages: number }[] }
  /** ms: time spent looking; sinceSendMs: from the last send op's acceptance to the message being seen. */
  | { op: "find"; found: FoundMessage[]; ms: number; sinceSendMs?: number }
  | { op: "send"; result: SendResult }
  | { op: "move"; moved: number };

export interface ImapResult {
  ok: boolean;
  stage?: string;
  error?: string;
  /** Connect + TLS + LOGIN, in ms. */
  loginMs?: number;
  results: ImapOpResult[];
}

async function findIn(client: ImapFlow, mailbox: string, subject: string, source: boolean): Promise<FoundMessage[]> {
  const lock = await client.getMailboxLock(mailbox);
  try {
    // Lets the server announce messages that arrived since the last command.
    await client.noop();
    const found: FoundMessage[] = [];
    if ((client.mailbox && client.mailbox.exists) === 0) return found;
    for await (const m of client.fetch("1:*", { uid: true, envelope: true, flags: true, source })) {
      if (m.envelope?.subject?.includes(subject)) {
        found.push({ uid: m.uid, subject: m.envelope.subject, flags: [...(m.flags ?? [])], source: source ? m.source?.toString() : undefined });
      }
    }
    return found;
  } finally {
    lock.release();
  }
}

async function imap(a: ImapAction): Promise<ImapResult> {
  const started = Date.now();
  const client = new ImapFlow({
    host: a.host,
    port: a.port,
    secure: a.tls === "implicit",
    doSTARTTLS: a.tls === "starttls" ? true : undefined,
    servername: a.servername,
    auth: { user: a.user, pass: a.pass },
    tls: { ca: a.ca ? fs.readFileSync(a.ca) : undefined, localAddress: a.from } as tls.ConnectionOptions,
    logger: false,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
  });
  client.on("error", () => undefined);
  const results: ImapOpResult[] = [];
  let stage = "login";
  try {
    await client.connect();
    const loginMs = Date.now() - started;
    let acceptedAt: number | undefined;
    for (const op of a.ops) {
      stage = op.op;
      if (op.op === "list") {
        const boxes = await client.list({ statusQuery: { messages: true } });
        results.push({ op: "list", mailboxes: boxes.map((b) => ({ path: b.path, specialUse: b.specialUse, messages: b.status?.messages ?? 0 })) });
      } else if (op.op === "find") {
        const t0 = Date.now();
        const deadline = t0 + (op.timeoutMs ?? 0);
        let found = await findIn(client, op.mailbox, op.subject, !!op.source);
        while (found.length === 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
          found = await findIn(client, op.mailbox, op.subject, !!op.source);
        }
        const now = Date.now();
        results.push({ op: "find", found, ms: now - t0, sinceSendMs: acceptedAt && found.length > 0 ? now - acceptedAt : undefined });
      } else if (op.op === "send") {
        const result = await send(op.send);
        acceptedAt = Date.now();
        results.push({ op: "send", result });
      } else {
        const found = await findIn(client, op.mailbox, op.subject, false);
        const lock = await client.getMailboxLock(op.mailbox);
        try {
          if (found.length > 0) await client.messageMove(found.map((m) => m.uid).join(","), op.to, { uid: true });
        } finally {
          lock.release();
        }
        results.push({ op: "move", moved: found.length });
      }
    }
    await client.logout();
    return { ok: true, loginMs, results };
  } catch (e) {
    const err = e as Error & { responseText?: string; authenticationFailed?: boolean };
    client.close();
    return { ok: false, stage, error: err.responseText ?? err.message, results };
  }
}

async function probe(a: ProbeAction): Promise<{ targets: { host: string; port: number; open: boolean; error?: string }[] }> {
  const one = (host: string, port: number) =>
    new Promise<{ host: string; port: number; open: boolean; error?: string }>((resolve) => {
      const socket = net.connect({ host, port, localAddress: a.from });
      const done = (open: boolean, error?: string) => {
        socket.destroy();
        resolve({ host, port, open, error });
      };
      socket.setTimeout(a.timeoutMs ?? 3000, () => done(false, "timeout"));
      socket.once("connect", () => done(true));
      socket.once("error", (e: NodeJS.ErrnoException) => done(false, e.code ?? e.message));
    });
  return { targets: await Promise.all(a.targets.map((t) => one(t.host, t.port))) };
}

function http(a: HttpAction): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: a.host, port: a.port, path: a.path, headers: { host: a.hostHeader }, ...tlsOptions(a), timeout: 15_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body.slice(0, 20_000) }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

export interface VerifyResult {
  dkim: { domain: string; selector: string; algo: string; result: string; comment?: string }[];
  spf: { result: string; domain?: string };
  dmarc: { result: string; policy?: string; domain?: string };
  headers: string;
}

async function verify(a: VerifyAction): Promise<VerifyResult> {
  const resolver = new dns.promises.Resolver({ timeout: 3000, tries: 2 });
  resolver.setServers([a.dns]);
  if (a.from) resolver.setLocalAddress(a.from);
  const r = await authenticate(Buffer.from(a.message), {
    ip: a.ip,
    helo: a.helo,
    sender: a.sender,
    mta: a.mta,
    resolver: (name, type) => resolver.resolve(name, type) as Promise<string[][] | string[]>,
    disableArc: true,
    disableBimi: true,
  });
  return {
    dkim: r.dkim.results.map((d) => ({
      domain: d.signingDomain,
      selector: d.selector ?? "",
      // mailauth 4 reports the a= tag as `algo` (its typings say `algorithm`).
      algo: (d as typeof d & { algo?: string }).algo ?? d.algorithm ?? "",
      result: d.status.result,
      comment: d.status.comment,
    })),
    spf: r.spf ? { result: r.spf.status.result, domain: r.spf.domain } : { result: "none" },
    dmarc: r.dmarc ? { result: r.dmarc.status.result, policy: r.dmarc.policy, domain: r.dmarc.domain } : { result: "none" },
    headers: r.headers,
  };
}

const ACTIONS: { [K in Action["action"]]: (a: Extract<Action, { action: K }>) => Promise<unknown> } = {
  send,
  dialogue,
  imap,
  probe,
  http,
  verify,
};

async function main(): Promise<void> {
  const action = JSON.parse(fs.readFileSync(0, "utf8")) as Action;
  const run = ACTIONS[action.action] as (a: Action) => Promise<unknown>;
  if (!run) throw new Error(`unknown action ${action.action}`);
  process.stdout.write(JSON.stringify(await run(action)) + "\n");
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e: Error) => {
      process.stdout.write(JSON.stringify({ fatal: e.message }) + "\n");
      process.exit(1);
    },
  );
}
