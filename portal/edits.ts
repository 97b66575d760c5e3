// The objects a domain is made of in the stack config (mailboxes with their own forwards, aliases,
// distribution lists, forwards, the catch-all) as the portal shows and edits them: pure functions from a raw config to
// a raw config. Every object carries a version (a hash of its raw value); an edit names the version
// it was made on, and a different one is a conflict: two editors never silently overwrite.
import { domainOf } from "@mailplatform/core";
import { RawConfig, versionOf } from "./stack-config";

export const COLLECTIONS = { mailboxes: "users", aliases: "aliases", lists: "lists", forwards: "forwards" } as const;
export type Collection = keyof typeof COLLECTIONS;

type Obj = Record<string, unknown>;

/** An edit refused before validation: the HTTP status says which kind. */
export class EditError extends Error {
  constructor(readonly status: 404 | 409, message: string) {
    super(message);
  }
}

const listOf = (raw: RawConfig, key: string): Obj[] => (Array.isArray(raw[key]) ? (raw[key] as Obj[]) : []);

/** A mailbox's own forward as the pages show it, defaults filled in. */
export function forwardView(mailbox: Obj): { forwardTo: unknown[]; keepCopy: unknown } {
  return { forwardTo: Array.isArray(mailbox.forwardTo) ? mailbox.forwardTo : [], keepCopy: mailbox.keepCopy ?? true };
}

/** What the browser may see of an object: never a password hash. */
function view(collection: Collection, o: Obj): Obj {
  if (collection !== "mailboxes") return o;
  return { address: o.address, quota: o.quota ?? null, state: o.state ?? "active", ...forwardView(o) };
}

export interface DomainView {
  domain: string;
  catchAll: string | null;
  version: string;
  mailboxes: Obj[];
  aliases: Obj[];
  lists: Obj[];
  forwards: Obj[];
}

export function hostedDomains(raw: RawConfig): string[] {
  return listOf(raw, "domains").map((d) => (typeof d === "string" ? d : String(d.name)));
}

function domainIndex(raw: RawConfig, domain: string): number {
  const i = hostedDomains(raw).indexOf(domain);
  if (i < 0) throw new EditError(404, `${domain} is not a hosted domain`);
  return i;
}

export function domainView(raw: RawConfig, domain: string): DomainView {
  const entry = listOf(raw, "domains")[domainIndex(raw, domain)] as unknown;
  const of = (c: Collection) =>
    listOf(raw, COLLECTIONS[c]).filter((o) => domainOf(String(o.address)) === domain).map((o) => ({ ...view(c, o), version: versionOf(o) }));
  return {
    domain,
    catchAll: typeof entry === "object" && entry !== null ? (((entry as Obj).catchAll as string) ?? null) : null,
    version: versionOf(entry),
    mailboxes: of("mailboxes"),
    aliases: of("aliases"),
    lists: of("lists"),
    forwards: of("forwards"),
  };
}

/** The result of an edit: the new raw config and the config key of the object (users[3]) for field messages. */
export interface Edited {
  raw: RawConfig;
  key: string;
}

/**
 * Creates (version undefined), replaces or deletes (value null) the object with this address.
 * `version` must be the object's current version: an object changed or deleted meanwhile is a
 * conflict, and so is creating an address that exists.
 */
export function editObject(raw: RawConfig, collection: Collection, address: string, version: string | undefined, value: Obj | null): Edited {
  const key = COLLECTIONS[collection];
  const list = [...listOf(raw, key)];
  const i = list.findIndex((o) => o.address === address);
  if (version === undefined) {
    if (i >= 0) throw new EditError(409, `${address} exists already`);
    if (value === null) throw new EditError(404, `no ${address} to delete`);
    list.push(value);
    return { raw: { ...raw, [key]: list }, key: `${key}[${list.length - 1}]` };
  }
  if (i < 0) throw new EditError(409, `${address} was deleted by someone else meanwhile`);
  if (versionOf(list[i]) !== version) throw new EditError(409, `${address} was changed by someone else meanwhile: reload it and edit again`);
  if (value === null) list.splice(i, 1);
  else list[i] = value;
  return { raw: { ...raw, [key]: list.length > 0 || key === "users" ? list : undefined }, key: `${key}[${i}]` };
}

export function currentObject(raw: RawConfig, collection: Collection, address: string): Obj | undefined {
  return listOf(raw, COLLECTIONS[collection]).find((o) => o.address === address);
}

/** A hosted domain's entry as a mapping (a plain name in the config is `{ name }`), and where it is. */
export function domainEntry(raw: RawConfig, domain: string): { index: number; entry: Obj } {
  const index = domainIndex(raw, domain);
  const entry = listOf(raw, "domains")[index] as unknown;
  return { index, entry: typeof entry === "string" ? { name: entry } : (entry as Obj) };
}

/** The config with the domain entry at `index` replaced; settings left undefined go, and an entry of just its name is written as the name. */
export function withDomainEntry(raw: RawConfig, index: number, entry: Obj): RawConfig {
  const set = Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined));
  const domains = [...listOf(raw, "domains")] as unknown[];
  domains[index] = Object.keys(set).length === 1 ? set.name : set;
  return { ...raw, domains };
}

/** Sets or clears a domain's catch-all; `version` is the domain entry's. */
export function setCatchAll(raw: RawConfig, domain: string, version: string, catchAll: string | null): Edited {
  const { index, entry } = domainEntry(raw, domain);
  if (versionOf(listOf(raw, "domains")[index]) !== version) throw new EditError(409, `${domain}'s settings were changed by someone else meanwhile: reload and edit again`);
  return { raw: withDomainEntry(raw, index, { ...entry, catchAll: catchAll ?? undefined }), key: `domains[${index}]` };
}

/** Settings of a mailbox a change may set; a key that is present is set, even to undefined (the default). */
export type MailboxChange = Partial<Record<"passwordHash" | "quota" | "state" | "forwardTo" | "keepCopy", unknown>>;

/**
 * The mailbox's raw value with the change made. Settings at their default are left out, so the
 * config says only what differs; keepCopy goes with the last forward target, without which it
 * means nothing. Values are not checked here: the core's validation does that.
 */
export function changedMailbox(current: Obj, change: MailboxChange): Obj {
  const next: Obj = { ...current, ...change };
  if (next.quota === undefined) delete next.quota;
  if (next.state === undefined || next.state === "active") delete next.state;
  if (Array.isArray(next.forwardTo) && next.forwardTo.length === 0) delete next.forwardTo;
  if (next.keepCopy === true || next.forwardTo === undefined) delete next.keepCopy;
  return next;
}

/** A quota as the form sends it: empty for the default, else a size (2G). */
export function quotaValue(quota: unknown): string | undefined {
  return typeof quota === "string" && quota.trim() !== "" ? quota.trim() : undefined;
}
