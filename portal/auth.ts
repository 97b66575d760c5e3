// Who is signed in and what they may touch. Checked on the server for every request: operators
// manage every domain and see the platform; a domain administrator only the domains of their
// account; a mail user only their own mailbox's password and forwards.
import { domainOf } from "@mailplatform/core";
import { Accounts } from "./accounts";
import { verifyPassword } from "./passwords";
import { RawConfig } from "./stack-config";

export type Principal =
  | { kind: "operator"; name: string }
  | { kind: "domain-admin"; name: string; domains: string[] }
  | { kind: "user"; address: string };

export const principalName = (p: Principal) => (p.kind === "user" ? p.address : p.name);

/** A refused request: 401 without a session, 403 with one that may not do this. */
export class AccessError extends Error {
  constructor(readonly status: 401 | 403, message: string) {
    super(message);
  }
}

export function mayManageDomain(p: Principal, domain: string): boolean {
  return p.kind === "operator" || (p.kind === "domain-admin" && p.domains.includes(domain));
}

export function requireDomain(p: Principal, domain: string): void {
  if (!mayManageDomain(p, domain)) throw new AccessError(403, `${principalName(p)} does not manage ${domain}`);
}

/** Staff may manage an address of their domains; a user only their own address. */
export function requireAddress(p: Principal, address: string): void {
  if (p.kind === "user" ? p.address !== address : !mayManageDomain(p, domainOf(address))) {
    throw new AccessError(403, `${principalName(p)} may not change ${address}`);
  }
}

export function requireStaff(p: Principal): void {
  if (p.kind === "user") throw new AccessError(403, "only operators and domain administrators may do this");
}

export function requireOperator(p: Principal): void {
  if (p.kind !== "operator") throw new AccessError(403, "only operators may do this");
}

/**
 * A staff account by name, else a mailbox by address with the hash the stack config holds (a
 * disabled mailbox cannot sign in). Undefined for a wrong name or password alike.
 */
export async function signIn(accounts: Accounts, raw: RawConfig, login: string, password: string): Promise<Principal | undefined> {
  const staff = accounts.find(login);
  if (staff) {
    if (!(await verifyPassword(password, staff.passwordHash))) return undefined;
    return staff.role === "operator" ? { kind: "operator", name: staff.name } : { kind: "domain-admin", name: staff.name, domains: staff.domains };
  }
  const users = Array.isArray(raw.users) ? (raw.users as Record<string, unknown>[]) : [];
  const user = users.find((u) => u.address === login && u.state !== "disabled");
  if (!user || !(await verifyPassword(password, String(user.passwordHash)))) return undefined;
  return { kind: "user", address: login };
}
