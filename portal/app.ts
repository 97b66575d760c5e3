// The portal's HTTP side: the pages (public/) and the JSON API under /api they use, described by
// /api/openapi.json. Sessions (encrypted cookies), CSRF tokens, sign-in rate limits and security
// headers come from Fastify's own plugins. Every API route but sign-in and the OpenAPI document
// needs a session (401 without), checks what the principal may do (auth.ts), and every change is
// validated by the core as a whole config before it is written (validation.ts) and audited.
import * as fs from "fs";
import * as path from "path";
import Fastify, { FastifyInstance, FastifyRequest } from "fastify";
import helmet from "@fastify/helmet";
import secureSession from "@fastify/secure-session";
import csrf from "@fastify/csrf-protection";
import rateLimit from "@fastify/rate-limit";
import { domainOf } from "@mailplatform/core";
import { Accounts } from "./accounts";
import { ApplyRecord, ApplyRunner } from "./apply";
import { AuditLog } from "./audit";
import { AccessError, mayManageDomain, Principal, principalName, requireAddress, requireDomain, requireOperator, requireStaff, signIn } from "./auth";
import { domainSelectors, rotate, RotationStep, selectorRecordNames } from "./dkim";
import { checkRecords, domainRecords } from "./dns-check";
import { changedMailbox, Collection, currentObject, domainView, Edited, editObject, EditError, forwardView, hostedDomains, MailboxChange, quotaValue, setCatchAll } from "./edits";
import { OPENAPI } from "./openapi";
import { hashPassword, passwordProblem, verifyPassword } from "./passwords";
import { RawConfig, readRaw, versionOf, writeRaw } from "./stack-config";
import { PortalChangeSet, Target } from "./target";
import { ValidationError, validate } from "./validation";

declare module "@fastify/secure-session" {
  interface SessionData {
    principal: Principal;
  }
}

export interface PortalOptions {
  target: Target;
  /** The portal's own state: accounts, session key, audit log, apply journal and history. */
  stateDir: string;
  https?: { key: string; cert: string };
  /** Sign-in attempts per minute per client address and login. */
  signInLimit?: number;
}

export interface Portal {
  app: FastifyInstance;
  runner: ApplyRunner;
  audit: AuditLog;
  accounts: Accounts;
}

const PUBLIC_DIR = path.join(__dirname, "public");
const PAGES: Record<string, string> = { "/": "index.html", "/app.js": "app.js", "/style.css": "style.css" };
const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };

function sessionKey(stateDir: string): Buffer {
  const file = path.join(stateDir, "session.key");
  if (!fs.existsSync(file)) fs.writeFileSync(file, require("crypto").randomBytes(32), { mode: 0o600, flag: "wx" });
  return fs.readFileSync(file);
}

/** A list from a form: one string (comma, space or newline separated) or a list. */
const addressList = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(String) : typeof v === "string" ? v.split(/[\s,]+/).filter(Boolean) : [];

/** The forward settings a request sets, as they go into the config (keepCopy unchecked: the core refuses a non-boolean). */
function forwardChange(body: { forwardTo?: unknown; keepCopy?: unknown }): MailboxChange {
  return {
    ...(body.forwardTo !== undefined ? { forwardTo: addressList(body.forwardTo) } : {}),
    ...(body.keepCopy !== undefined ? { keepCopy: body.keepCopy } : {}),
  };
}

export async function buildPortal(opts: PortalOptions): Promise<Portal> {
  const { target, stateDir } = opts;
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const audit = new AuditLog(path.join(stateDir, "audit.log"));
  const accounts = new Accounts(path.join(stateDir, "accounts.json"));
  const config = () => readRaw(target.configFile);
  const runner = new ApplyRunner(target, stateDir, audit, config);

  const app = Fastify({ logger: false, ...(opts.https ? { https: opts.https } : {}) });
  await app.register(helmet, {
    contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'", "data:"], connectSrc: ["'self'"] } },
  });
  await app.register(secureSession, {
    key: sessionKey(stateDir),
    cookieName: "portal-session",
    cookie: { path: "/", httpOnly: true, secure: !!opts.https, sameSite: "strict", maxAge: 8 * 3600 },
    expiry: 8 * 3600,
  });
  await app.register(csrf, { sessionPlugin: "@fastify/secure-session" });
  await app.register(rateLimit, { global: false });

  for (const [url, file] of Object.entries(PAGES)) {
    app.get(url, (_req, reply) => reply.type(TYPES[path.extname(file)]).send(fs.readFileSync(path.join(PUBLIC_DIR, file))));
  }
  app.get("/api/openapi.json", async () => OPENAPI);

  /** The session's principal, or 401. */
  const principal = (req: FastifyRequest): Principal => {
    const p = req.session.get("principal");
    if (!p) throw new AccessError(401, "sign in first");
    return p;
  };

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err instanceof AccessError) {
      if (err.status === 403) audit.record({ who: req.session.get("principal") ? principalName(req.session.get("principal")!) : "-", action: `${req.method} ${req.url}`, outcome: "denied", detail: err.message });
      return reply.code(err.status).send({ error: err.message });
    }
    if (err instanceof ValidationError) return reply.code(422).send({ error: "the change was refused: nothing was changed", errors: err.errors });
    if (err instanceof EditError) return reply.code(err.status).send({ error: err.message });
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    req.log.error(err);
    return reply.code(500).send({ error: "internal error" });
  });

  // Every /api route but these needs a session; every state-changing one a CSRF token as well.
  const OPEN = new Set(["POST /api/session", "GET /api/openapi.json"]);
  app.addHook("onRequest", async (req, reply) => {
    if (!req.url.startsWith("/api")) return;
    if (OPEN.has(`${req.method} ${req.routeOptions.url}`)) return;
    principal(req);
    if (req.method !== "GET" && req.method !== "HEAD") await new Promise<void>((resolve, reject) => app.csrfProtection(req, reply, (e?: Error) => (e ? reject(new AccessError(403, "missing or invalid CSRF token: reload the page")) : resolve())));
  });

  /**
   * Validates an edit of the current config with the core and writes it, or changes nothing.
   * Read, edit, validate and write run without awaiting, so no other request interleaves.
   */
  const commit = (p: Principal, action: string, object: string, edit: (raw: RawConfig) => Edited | RawConfig, objectKey?: string): void => {
    try {
      const result = edit(config());
      const [next, key] = "raw" in result && "key" in result ? [result.raw as RawConfig, result.key as string] : [result as RawConfig, objectKey ?? ""];
      validate((raw) => target.spec(raw), next, key);
      writeRaw(target.configFile, next);
      audit.record({ who: principalName(p), action, object, outcome: "ok" });
    } catch (e) {
      const outcome = e instanceof EditError && e.status === 409 ? "conflict" : "refused";
      audit.record({ who: principalName(p), action, object, outcome, detail: (e as Error).message });
      throw e;
    }
  };

  // --- session ----------------------------------------------------------------------------------
  app.post<{ Body: { login?: string; password?: string } }>(
    "/api/session",
    { config: { rateLimit: { hook: "preHandler", max: opts.signInLimit ?? 5, timeWindow: "1 minute", keyGenerator: (req: FastifyRequest) => `${req.ip} ${String((req.body as { login?: string })?.login ?? "").toLowerCase()}` } } },
    async (req, reply) => {
      const login = String(req.body?.login ?? "").trim().toLowerCase();
      const p = await signIn(accounts, config(), login, String(req.body?.password ?? ""));
      audit.record({ who: login || "-", action: "sign in", outcome: p ? "ok" : "denied" });
      if (!p) return reply.code(401).send({ error: "wrong name or password" });
      req.session.set("principal", p);
      return { principal: p, csrfToken: reply.generateCsrf() };
    },
  );
  app.get("/api/session", async (req, reply) => ({ principal: principal(req), csrfToken: reply.generateCsrf(), target: { kind: target.kind, stack: target.stack } }));
  app.delete("/api/session", async (req) => {
    req.session.delete();
    return { ok: true };
  });

  // --- domains --------------------------------------------------------------------------------
  app.get("/api/domains", async (req) => {
    const p = principal(req);
    requireStaff(p);
    return hostedDomains(config()).filter((d) => mayManageDomain(p, d));
  });
  app.get<{ Params: { domain: string } }>("/api/domains/:domain", async (req) => {
    requireDomain(principal(req), req.params.domain);
    return domainView(config(), req.params.domain);
  });
  app.put<{ Params: { domain: string }; Body: { version?: string; catchAll?: string | null } }>("/api/domains/:domain/catch-all", async (req) => {
    const p = principal(req);
    const { domain } = req.params;
    requireDomain(p, domain);
    const catchAll = typeof req.body?.catchAll === "string" && req.body.catchAll.trim() ? req.body.catchAll.trim() : null;
    commit(p, "set catch-all", domain, (raw) => setCatchAll(raw, domain, String(req.body?.version ?? ""), catchAll));
    return domainView(config(), domain);
  });
  app.get<{ Params: { domain: string } }>("/api/domains/:domain/dns", async (req) => {
    requireDomain(principal(req), req.params.domain);
    return checkRecords(target, domainRecords(target, config(), req.params.domain));
  });

  // --- mailboxes ------------------------------------------------------------------------------
  const quotaOf = (q: unknown) => quotaValue(q);
  app.post<{ Params: { domain: string }; Body: { address?: string; password?: string; quota?: string } }>("/api/domains/:domain/mailboxes", async (req, reply) => {
    const p = principal(req);
    const { domain } = req.params;
    requireDomain(p, domain);
    const address = `${String(req.body?.address ?? "").trim()}@${domain}`;
    const problem = passwordProblem(req.body?.password);
    if (problem) throw new ValidationError([{ field: "password", message: `password: ${problem}` }]);
    const passwordHash = await hashPassword(String(req.body.password));
    const quota = quotaOf(req.body?.quota);
    commit(p, "create mailbox", address, (raw) => editObject(raw, "mailboxes", address, undefined, { address, passwordHash, ...(quota ? { quota } : {}) }));
    return reply.code(201).send(domainView(config(), domain));
  });
  app.patch<{ Params: { address: string }; Body: { version?: string; password?: string; quota?: string; state?: string; forwardTo?: unknown; keepCopy?: unknown } }>("/api/mailboxes/:address", async (req) => {
    const p = principal(req);
    requireStaff(p);
    const { address } = req.params;
    requireAddress(p, address);
    const body = req.body ?? {};
    if (body.password !== undefined) {
      const problem = passwordProblem(body.password);
      if (problem) throw new ValidationError([{ field: "password", message: `password: ${problem}` }]);
    }
    const passwordHash = body.password !== undefined ? await hashPassword(body.password) : undefined;
    const change: MailboxChange = {
      ...(passwordHash ? { passwordHash } : {}),
      ...(body.quota !== undefined ? { quota: quotaOf(body.quota) } : {}),
      ...(body.state !== undefined ? { state: body.state || undefined } : {}),
      ...forwardChange(body),
    };
    commit(p, passwordHash ? "reset password" : "change mailbox", address, (raw) =>
      editObject(raw, "mailboxes", address, String(body.version ?? ""), changedMailbox(currentObject(raw, "mailboxes", address) ?? { address }, change)));
    return domainView(config(), domainOf(address));
  });

  // --- aliases, lists, forwards, and deleting any of them or a mailbox ---------------------------
  const valueOf = (c: Exclude<Collection, "mailboxes">, address: string, body: Record<string, unknown>) =>
    c === "aliases" ? { address, to: String(body.to ?? "").trim() } : c === "lists" ? { address, members: addressList(body.members) } : { address, to: addressList(body.to) };
  const collection = (name: string): Exclude<Collection, "mailboxes"> => {
    if (name === "aliases" || name === "lists" || name === "forwards") return name;
    throw new EditError(404, `no such collection ${name}`);
  };
  app.post<{ Params: { domain: string; collection: string }; Body: Record<string, unknown> }>("/api/domains/:domain/:collection", async (req, reply) => {
    const p = principal(req);
    const { domain } = req.params;
    const c = collection(req.params.collection);
    requireDomain(p, domain);
    const address = `${String(req.body?.address ?? "").trim()}@${domain}`;
    commit(p, `create ${c}`, address, (raw) => editObject(raw, c, address, undefined, valueOf(c, address, req.body ?? {})));
    return reply.code(201).send(domainView(config(), domain));
  });
  app.put<{ Params: { collection: string; address: string }; Body: Record<string, unknown> }>("/api/:collection/:address", async (req) => {
    const p = principal(req);
    requireStaff(p);
    const c = collection(req.params.collection);
    const { address } = req.params;
    requireAddress(p, address);
    commit(p, `change ${c}`, address, (raw) => editObject(raw, c, address, String(req.body?.version ?? ""), valueOf(c, address, req.body ?? {})));
    return domainView(config(), domainOf(address));
  });
  app.delete<{ Params: { collection: string; address: string }; Querystring: { version?: string } }>("/api/:collection/:address", async (req) => {
    const p = principal(req);
    requireStaff(p);
    const c = req.params.collection === "mailboxes" ? "mailboxes" : collection(req.params.collection);
    const { address } = req.params;
    requireAddress(p, address);
    commit(p, `delete ${c}`, address, (raw) => editObject(raw, c, address, String(req.query.version ?? ""), null));
    return domainView(config(), domainOf(address));
  });

  // --- DKIM rotation, per domain: its administrators and operators ---------------------------------
  app.get<{ Params: { domain: string } }>("/api/domains/:domain/dkim", async (req) => {
    requireDomain(principal(req), req.params.domain);
    return domainSelectors(config(), req.params.domain);
  });
  app.post<{ Params: { domain: string }; Body: { step?: RotationStep; selector?: string; version?: string } }>("/api/domains/:domain/dkim/rotate", async (req) => {
    const p = principal(req);
    const { domain } = req.params;
    requireDomain(p, domain);
    const step = req.body?.step;
    const selector = String(req.body?.selector ?? "").trim();
    if (step !== "publish" && step !== "activate" && step !== "retire") throw new ValidationError([{ field: "step", message: "step: must be publish, activate or retire" }]);
    if (step === "activate") {
      // Signing with a key that receivers cannot look up yet would fail their DKIM checks.
      const names = selectorRecordNames(domain, selector);
      const missing = (await checkRecords(target, target.dnsRecords(config()).filter((r) => names.includes(r.name)))).filter((r) => !r.matches);
      if (missing.length > 0) throw new EditError(409, `DNS does not show selector ${selector} of ${domain} yet (${missing.map((r) => r.name).join(", ")}): apply its publication and wait for DNS`);
    }
    commit(p, `dkim ${step}`, `${selector} of ${domain}`, (raw) => rotate(raw, domain, step, selector, String(req.body?.version ?? "")));
    return domainSelectors(config(), domain);
  });

  // --- change sets and applies ------------------------------------------------------------------
  /** The last change set shown, kept with the apply of that config version. */
  let previewed: { configVersion: string; changes: PortalChangeSet } | undefined;
  app.get("/api/changes", async (req) => {
    requireStaff(principal(req));
    const raw = config();
    previewed = { configVersion: versionOf(raw), changes: await runner.preview(raw) };
    return { configVersion: previewed.configVersion, ...previewed.changes };
  });
  app.post<{ Body: { configVersion?: string } }>("/api/applies", async (req, reply) => {
    const p = principal(req);
    requireStaff(p);
    const configVersion = String(req.body?.configVersion ?? "");
    const record = runner.start(principalName(p), configVersion, previewed?.configVersion === configVersion ? previewed.changes : undefined);
    return reply.code(202).send({ id: record.id });
  });
  app.get("/api/applies", async (req) => {
    requireStaff(principal(req));
    return { current: runner.current() ?? null, recent: runner.recent() };
  });
  app.get<{ Params: { id: string } }>("/api/applies/:id/events", async (req, reply) => {
    requireStaff(principal(req));
    const send = (data: unknown) => reply.raw.write(`data: ${JSON.stringify(data)}\n\n`);
    reply.hijack();
    reply.raw.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
    const followed = runner.follow(req.params.id, (e) => {
      send(e);
      if ("done" in e) reply.raw.end();
    });
    if (!followed) {
      const finished = runner.recent().find((r) => r.id === req.params.id);
      if (finished) finished.events.forEach(send);
      send({ done: finished ?? { id: req.params.id, outcome: "unknown" } });
      return reply.raw.end();
    }
    followed.events.forEach(send);
    req.raw.on("close", followed.stop);
    return reply;
  });

  // --- operators' platform view ------------------------------------------------------------------
  app.get("/api/platform", async (req) => {
    requireOperator(principal(req));
    return { target: { kind: target.kind, stack: target.stack }, hosts: await target.hosts(), current: runner.current() ?? null, applies: runner.recent(10).map(({ events: _e, ...r }) => r) };
  });
  app.get("/api/audit", async (req) => {
    requireOperator(principal(req));
    return audit.recent();
  });

  // --- a mail user's own mailbox ------------------------------------------------------------------
  const me = (req: FastifyRequest) => {
    const p = principal(req);
    if (p.kind !== "user") throw new AccessError(403, "this is a mail user's page");
    return p;
  };
  /** What a user is told of the apply of their change: which hosts it updates, not their files. */
  const applying = (r: ApplyRecord | "queued") => ({ ok: true, applying: true, ...(r === "queued" ? { queued: true } : { hosts: r.changes?.hosts.map((h) => h.host) ?? [] }) });
  app.get("/api/me", async (req) => {
    const p = me(req);
    const mailbox = currentObject(config(), "mailboxes", p.address) ?? {};
    return { address: p.address, ...forwardView(mailbox), version: versionOf(mailbox) };
  });
  app.put<{ Body: { current?: string; password?: string } }>("/api/me/password", async (req, reply) => {
    const p = me(req);
    const stored = currentObject(config(), "mailboxes", p.address);
    if (!stored || !(await verifyPassword(String(req.body?.current ?? ""), String(stored.passwordHash)))) {
      throw new ValidationError([{ field: "current", message: "current: is not your current password" }]);
    }
    const problem = passwordProblem(req.body?.password);
    if (problem) throw new ValidationError([{ field: "password", message: `password: ${problem}` }]);
    const passwordHash = await hashPassword(String(req.body.password));
    commit(p, "change own password", p.address, (raw) => {
      const current = currentObject(raw, "mailboxes", p.address)!;
      return editObject(raw, "mailboxes", p.address, versionOf(stored), { ...current, passwordHash });
    });
    return reply.code(202).send(applying(await runner.applySoon(p.address)));
  });
  // The own mailbox's forwards: only the signed-in user's, applied at once like their password.
  app.put<{ Body: { version?: string; forwardTo?: unknown; keepCopy?: unknown } }>("/api/me/forwards", async (req, reply) => {
    const p = me(req);
    const change = forwardChange(req.body ?? {});
    commit(p, "change own forwards", p.address, (raw) =>
      editObject(raw, "mailboxes", p.address, String(req.body?.version ?? ""), changedMailbox(currentObject(raw, "mailboxes", p.address) ?? { address: p.address }, change)));
    return reply.code(202).send(applying(await runner.applySoon(p.address)));
  });

  return { app, runner, audit, accounts };
}
