// What the end-to-end tests share: the lab brought up once per run, the inventory and the stack's
// spec read into one object, the mail client run from a lab host, and the few observations made
// inside hosts (doveadm on a maildrop, the Maildir of external-mx, Rspamd's statistics).
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { hostsOf, loadStackSpec, PlatformSpec, Role, serviceNames } from "../../components/core/src";
import { INTERNAL, PORTS } from "../../components/core/src/ports";
import { inNetns, Inventory, InventoryHost, labExec, labUp, readInventory } from "../../lab";
import type { Action, DialogueResult, FoundMessage, ImapOp, ImapResult, SendAction, SendResult } from "./clients/mail-client";

const REPO = path.resolve(__dirname, "../..");
const CLIENT = path.join(__dirname, "clients/mail-client.ts");
const TSX = require.resolve("tsx/cjs");

export interface Lab {
  inventory: Inventory;
  /** The stack's spec: its address space (aliases, lists, forwards...) and topology. */
  spec: PlatformSpec;
  names: ReturnType<typeof serviceNames>;
  /** The lab host of each platform role, in preference order (index 0: the primary). */
  role(role: Role): InventoryHost[];
  password(address: string): string;
  /** The internet host's stranger and office addresses. */
  stranger: string;
  office: string;
}

let up: Promise<Lab> | undefined;

/** The stack to test: LAB_STACK, else the one already up, else the lab's default. */
export function wantedStack(): string | undefined {
  if (process.env.LAB_STACK) return process.env.LAB_STACK;
  try {
    return readInventory().stack;
  } catch {
    return undefined;
  }
}

/** Brings the lab up (idempotent, once per test run) and describes it. */
export function setupLab(): Promise<Lab> {
  up ??= labUp(wantedStack()).then(describeLab).then((lab) => {
    // Rspamd greylists mail it would tag as spam: offer the spam test's sample now, so the greylisting
    // delay has passed, or nearly, when that test retries it.
    offerSpam(lab);
    return lab;
  });
  return up;
}

/** The running lab, from its inventory. */
export function describeLab(inventory: Inventory): Lab {
  const spec = loadStackSpec(REPO, inventory.stack);
  const byName = new Map(inventory.hosts.map((h) => [h.name, h]));
  const host = (name: string) => {
    const h = byName.get(name);
    if (!h) throw new Error(`the lab inventory has no host ${name}`);
    return h;
  };
  const internet = inventory.hosts.find((h) => h.role === "internet");
  if (!internet?.officeAddress) throw new Error("the lab inventory has no internet host with an office address");
  return {
    inventory,
    spec,
    names: serviceNames(spec),
    role: (role: Role) => hostsOf(spec, role).map((h) => host(h.name)),
    password: (address: string) => {
      const u = inventory.users.find((x) => x.address === address);
      if (!u) throw new Error(`the lab inventory has no password for ${address}`);
      return u.password;
    },
    stranger: internet.address,
    office: internet.officeAddress,
  };
}

/** Runs the mail client (one action) in a lab host's network namespace and returns its JSON answer. */
export function client<R>(host: string, action: Action, timeoutMs = 180_000): R {
  const r = inNetns(host, [process.execPath, "--require", TSX, CLIENT], { input: JSON.stringify(action), timeoutMs });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  let parsed: R & { fatal?: string };
  try {
    parsed = JSON.parse(last);
  } catch {
    throw new Error(`mail client in ${host}: exit ${r.status}, no JSON answer\n${r.stdout}\n${r.stderr}`);
  }
  if (parsed.fatal) throw new Error(`mail client in ${host} (${action.action}): ${parsed.fatal}\n${r.stderr}`);
  return parsed;
}

/** Runs a command inside a lab host and returns its stdout; throws on failure. */
export function inHost(host: string, argv: string[], input?: string): string {
  const r = labExec(host, argv, { input, timeoutMs: 120_000 });
  if (r.status !== 0) throw new Error(`${host}: ${argv.join(" ")}: exit ${r.status}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A subject no other test (or earlier run) uses: messages are found by it. */
export function subject(label: string): string {
  return `e2e ${label} ${randomBytes(5).toString("hex")}`;
}

/** Enough words for Bayes to learn from (Rspamd wants at least 11 tokens). */
export const BODY = [
  "Hello, this message was sent by the mail platform's end-to-end tests in the local lab.",
  "It travels through the same daemons and configuration files as production mail does,",
  "so the tests can check delivery, filtering, replication and failover for real.",
].join("\n");

/** An outside sender whose domain the lab's DNS knows (smtp-in refuses unknown sender domains). */
export const OUTSIDE_SENDER = "sender@outside.example";
export const OUTSIDE_RECIPIENT = (local: string) => `${local}@partner.example`;

export interface Delivery extends SendResult {
  /** When the client had the server's final reply (epoch ms). */
  at: number;
}

function sendFrom(host: string, action: SendAction): Delivery {
  const r = client<SendResult>(host, action);
  return { ...r, at: Date.now() };
}

export interface InboundMessage {
  to: string[];
  subject: string;
  text?: string;
  from?: string;
  headers?: Record<string, string>;
  mx?: string;
  raw?: string;
}

/** A stranger's MTA on the internet delivers to an MX (an smtp-in's public address) on port 25. */
export function deliverInbound(lab: Lab, m: InboundMessage): Delivery {
  return sendFrom("internet", inboundAction(lab, m));
}

export function inboundAction(lab: Lab, m: InboundMessage): SendAction {
  const from = m.from ?? OUTSIDE_SENDER;
  return {
    action: "send",
    host: m.mx ?? lab.inventory.endpoints.mx[0],
    port: PORTS.smtp,
    from: lab.stranger,
    tls: "none",
    helo: "client.outside.example",
    envelope: { from, to: m.to },
    message: m.raw !== undefined ? { raw: m.raw } : { from, to: m.to.join(", "), subject: m.subject, text: m.text ?? BODY, headers: m.headers },
  };
}

/** A message for the spam test, offered once when the lab comes up (see setupLab). */
export interface SpamSample {
  to: string;
  subject: string;
  raw: string;
  first: Delivery;
}

let spam: SpamSample | undefined;

export function spamSample(): SpamSample {
  if (!spam) throw new Error("setupLab() did not run");
  return spam;
}

/**
 * Content the stock Rspamd rules (offline: no RBL, no fuzzy) score between add_header (6) and reject
 * (15), about 11 in Rspamd 3.4: no Date and no Message-ID (MISSING_DATE, MISSING_MID), a shouted
 * subject with money in it (SUBJ_ALL_CAPS, SUBJECT_HAS_CURRENCY), HTML only, and a link whose
 * text names another site than its target, a bare IP address (PHISHING, HTTP_TO_IP). No lab-only rule.
 */
function spamRaw(from: string, to: string, subjectText: string): string {
  return [
    `From: "Prize Department" <${from}>`,
    `To: ${to}`,
    `Subject: ${subjectText}`,
    "MIME-Version: 1.0",
    "Content-Type: text/html; charset=us-ascii",
    "",
    "<html><body><p>CONGRATULATIONS!!! CLICK HERE TO CLAIM YOUR PRIZE</p>",
    '<a href="http://198.51.100.77/claim">https://www.paypal.com/claim</a></body></html>',
    "",
  ].join("\r\n");
}

/** The spam sample's own sender: Rspamd's greylisting keys on (sender, recipient, client network). */
const SPAM_SENDER = "winner@partner.example";

/** Offers the spam sample like a stranger's MTA would; Rspamd greylists what it would tag. */
function offerSpam(lab: Lab): void {
  const to = lab.spec.users[0].address;
  const s = `${subject("spam").toUpperCase()} URGENT!!! YOU HAVE WON $1,000,000 USD`;
  const raw = spamRaw(SPAM_SENDER, to, s);
  spam = { to, subject: s, raw, first: deliverInbound(lab, { to: [to], from: SPAM_SENDER, subject: s, raw }) };
}

/** Offers the sample again, as an MTA retries a temporary failure, until it is accepted, refused or the time is up. */
export async function retryGreylisted(lab: Lab, sample: SpamSample, timeoutMs: number): Promise<Delivery> {
  const deadline = Date.now() + timeoutMs;
  let sent = sample.first;
  while (!sent.ok && (sent.code ?? 0) >= 400 && (sent.code ?? 0) < 500 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 15_000));
    sent = deliverInbound(lab, { to: [sample.to], from: SPAM_SENDER, subject: sample.subject, raw: sample.raw });
  }
  return sent;
}

export interface Submission {
  user: string;
  to: string[];
  subject: string;
  text?: string;
  frontend?: string;
  from?: string;
  password?: string;
}

/** A user submits through a frontend's 587 (STARTTLS, then AUTH), from the internet. */
export function submit(lab: Lab, m: Submission): Delivery {
  return sendFrom("internet", submitAction(lab, m));
}

export function submitAction(lab: Lab, m: Submission): SendAction {
  const from = m.from ?? m.user;
  return {
    action: "send",
    host: m.frontend ?? lab.inventory.endpoints.submission[0],
    port: PORTS.submission,
    from: lab.stranger,
    servername: lab.names.submission,
    ca: lab.inventory.caCertificate,
    tls: "starttls",
    auth: { user: m.user, pass: m.password ?? lab.password(m.user) },
    envelope: { from, to: m.to },
    message: { from, to: m.to.join(", "), subject: m.subject, text: m.text ?? BODY },
  };
}

/** IMAPS through a frontend (the first one unless told), as the user, from the internet. */
export function imap(lab: Lab, user: string, ops: ImapOp[], frontend?: string): ImapResult & { at: number } {
  const r = client<ImapResult>("internet", {
    action: "imap",
    host: frontend ?? lab.inventory.endpoints.imap[0],
    port: PORTS.imaps,
    from: lab.stranger,
    servername: lab.names.imap,
    ca: lab.inventory.caCertificate,
    tls: "implicit",
    user,
    pass: lab.password(user),
    ops,
  });
  return { ...r, at: Date.now() };
}

/** Waits until the message is in the user's mailbox, read over IMAPS through a frontend. */
export function waitInMailbox(
  lab: Lab,
  user: string,
  subjectText: string,
  opts: { mailbox?: string; timeoutMs?: number; source?: boolean; frontend?: string } = {},
): { found: FoundMessage[] } {
  const r = imap(lab, user, [{ op: "find", mailbox: opts.mailbox ?? "INBOX", subject: subjectText, timeoutMs: opts.timeoutMs ?? 30_000, source: opts.source }], opts.frontend);
  if (!r.ok) throw new Error(`IMAP as ${user}: ${r.stage}: ${r.error}`);
  const find = r.results[0];
  if (find.op !== "find") throw new Error("unexpected IMAP answer");
  return { found: find.found };
}

/**
 * Sends while an IMAPS session (through a frontend) is open as the recipient, then waits for the
 * message there: latencyMs runs from the server's 250 to the message being visible over IMAP.
 */
export function sendAndRead(
  lab: Lab,
  send: SendAction,
  reader: { user: string; subject: string; mailbox?: string; frontend?: string; timeoutMs?: number },
): { sent: SendResult; found: FoundMessage[]; latencyMs?: number } {
  const r = imap(lab, reader.user, [
    { op: "send", send },
    { op: "find", mailbox: reader.mailbox ?? "INBOX", subject: reader.subject, timeoutMs: reader.timeoutMs ?? 30_000, source: true },
  ], reader.frontend);
  if (!r.ok) throw new Error(`IMAP as ${reader.user}: ${r.stage}: ${r.error}`);
  const [sent, find] = r.results;
  if (sent.op !== "send" || find?.op !== "find") throw new Error("unexpected IMAP answer");
  return { sent: sent.result, found: find.found, latencyMs: find.sinceSendMs };
}

/** Polls until probe() returns something, or the time is up (then undefined). */
export async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, intervalMs = 200): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface StoredMessage {
  user: string;
  mailbox: string;
  uid: string;
  /** Kept by dsync: the same message has the same GUID on both replicas. */
  guid: string;
  subject: string;
}

/** What a maildrop's Dovecot has for one user (or every user with "*"), read with doveadm. */
export function maildropMessages(maildrop: string, user: string): StoredMessage[] {
  const who = user === "*" ? ["-A"] : ["-u", user];
  const out = inHost(maildrop, ["doveadm", "-f", "json", "fetch", ...who, "mailbox uid guid hdr.subject", "ALL"]);
  const rows = out.trim() ? (JSON.parse(out) as Record<string, string>[]) : [];
  return rows.map((r) => ({ user: r.username ?? user, mailbox: r.mailbox, uid: r.uid, guid: r.guid, subject: r["hdr.subject"] ?? "" }));
}

export function storedWith(maildrop: string, user: string, subjectText: string): StoredMessage[] {
  return maildropMessages(maildrop, user).filter((m) => m.subject.includes(subjectText));
}

/** Messages external-mx received that contain the text, raw, with their file names. */
export function externalMessages(lab: Lab, text: string): { file: string; raw: string }[] {
  const dir = lab.inventory.externalMaildir;
  const files = labExec("external-mx", ["grep", "-rlF", "--", text, dir]).stdout.trim().split("\n").filter(Boolean);
  return files.map((file) => ({ file, raw: inHost("external-mx", ["cat", file]) }));
}

/** The value of a header (first occurrence, unfolded), or undefined. */
export function header(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, " ");
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, "im").exec(head);
  return m?.[1];
}

/** Every occurrence of a header, unfolded, top first. */
export function headers(raw: string, name: string): string[] {
  const head = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, " ");
  return [...head.matchAll(new RegExp(`^${name}:[ \\t]*(.*)$`, "gim"))].map((m) => m[1]);
}

/** A raw protocol session from a lab host (default: the internet's stranger address). */
export function dialogue(
  lab: Lab,
  target: { host: string; port: number; protocol: "smtp" | "imap" | "pop3" | "sieve"; tls?: "implicit" | "none"; servername?: string; from?: string; via?: string },
  steps: string[],
): DialogueResult {
  return client<DialogueResult>(target.via ?? "internet", {
    action: "dialogue",
    protocol: target.protocol,
    host: target.host,
    port: target.port,
    tls: target.tls ?? "none",
    servername: target.servername,
    ca: lab.inventory.caCertificate,
    from: target.from ?? (target.via ? undefined : lab.stranger),
    steps,
  });
}

export const authPlain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString("base64");

/** Rspamd's statistics on an smtp-in, from its controller on loopback (a trusted address there). */
export function rspamdStat(smtpIn: string): { statfiles: { symbol: string; revision: number }[] } {
  // revision of a Redis statfile: how many messages were learned into that class.
  return JSON.parse(inHost(smtpIn, ["curl", "--silent", "--fail", "--max-time", "10", `http://127.0.0.1:${INTERNAL.rspamdControllerLocal}/stat`]));
}

/** Measurements reported at the end of the run (and kept in .lab/e2e-timings.json). */
const timings: { what: string; ms: number }[] = [];

export function record(what: string, ms: number): void {
  timings.push({ what, ms: Math.round(ms) });
}

// A root hook when mocha loads this file; nothing when a script uses the helpers on their own.
if (typeof after === "function") after(function () {
  if (timings.length === 0) return;
  console.log("\n  lab timings (ms):");
  for (const t of timings) console.log(`    ${String(t.ms).padStart(7)}  ${t.what}`);
  try {
    fs.writeFileSync(path.join(REPO, ".lab", "e2e-timings.json"), JSON.stringify(timings, null, 2) + "\n");
  } catch {
    // the lab directory is gone: the console has them
  }
});
