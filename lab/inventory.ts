// .lab/inventory.json: what is up, where, and how to log in; for the tests and for people.
import * as fs from "fs";
import { PlatformSpec, serviceNames } from "@mailplatform/core";
import { EXTERNAL_MAILDIR } from "./external-mx";
import { outsideDomains } from "./dns";
import { DirectoryContent } from "./directory";
import { CA_FILE, INVENTORY_FILE } from "./paths";
import { isPlatformHost, LabHost, LabRole, OUTSIDE } from "./plan";
import { LabSecrets } from "./spec";

export interface InventoryHost {
  name: string;
  role: LabRole;
  site?: string;
  address: string;
  publicAddress?: string;
  egressAddress?: string;
  officeAddress?: string;
  fqdn: string;
  netns: string;
}

export interface Inventory {
  stack: string;
  platformDomain: string;
  hosts: InventoryHost[];
  endpoints: {
    /** smtp-in public addresses (the MX). */
    mx: string[];
    /** Frontend public addresses: submission (587/465), IMAP, POP3, ManageSieve, HTTP(S). */
    submission: string[];
    imap: string[];
    webmail: string;
    dns: string;
  };
  /** The internal CA every platform certificate chains to. */
  caCertificate: string;
  /** Who can log in (in the directory variant also a disabled account, which cannot). */
  users: { address: string; password: string; quotaBytes?: number; disabled?: true }[];
  /** The directory variant's LDAP directory (its users are in `users`). */
  directory?: { uri: string; baseDn: string; groups: { address: string; members: string[] }[] };
  relayClients: { name: string; password: string }[];
  /** Domains outside the platform whose mail goes to external-mx. */
  outsideDomains: string[];
  /** Where external-mx keeps every message it receives (a path inside the external-mx host). */
  externalMaildir: string;
}

export function buildInventory(spec: PlatformSpec, hosts: LabHost[], secrets: LabSecrets, directory?: DirectoryContent): Inventory {
  const publicOf = (role: string) => hosts.filter((h) => h.role === role && h.publicAddress).map((h) => h.publicAddress!);
  return {
    stack: spec.stack,
    platformDomain: spec.platformDomain,
    hosts: hosts.map((h) => ({
      name: h.name,
      role: h.role,
      ...(isPlatformHost(h) ? { site: h.site } : {}),
      address: h.address,
      ...(h.publicAddress ? { publicAddress: h.publicAddress } : {}),
      ...(h.egressAddress ? { egressAddress: h.egressAddress } : {}),
      ...(h.officeAddress ? { officeAddress: h.officeAddress } : {}),
      fqdn: h.fqdn,
      netns: h.netns,
    })),
    endpoints: {
      mx: publicOf("smtp-in"),
      submission: publicOf("frontend"),
      imap: publicOf("frontend"),
      webmail: `https://${serviceNames(spec).webmail}/`,
      dns: OUTSIDE.dns,
    },
    caCertificate: CA_FILE,
    // Only the lab's passwords still in force: a user whose password was set through the portal has the stack's hash.
    // In the directory variant: the directory's users whose password the lab made.
    users: (directory
      ? directory.users.filter((u) => u.password !== undefined)
      : secrets.users.filter((u) => spec.users.some((x) => x.address === u.address && x.passwordHash === u.passwordHash))
    ).map((u: { address: string; password?: string; quotaBytes?: number; disabled?: boolean }) => ({
      address: u.address, password: u.password!, ...(u.quotaBytes !== undefined ? { quotaBytes: u.quotaBytes } : {}), ...(u.disabled ? { disabled: true as const } : {}),
    })),
    ...(directory && spec.directory ? { directory: { uri: spec.directory.uris[0], baseDn: spec.directory.baseDn, groups: directory.groups } } : {}),
    relayClients: Object.entries(secrets.platform.relayPasswords).map(([name, password]) => ({ name, password })),
    outsideDomains: outsideDomains(spec),
    externalMaildir: EXTERNAL_MAILDIR,
  };
}

export function writeInventory(inventory: Inventory, caPem: string): void {
  fs.writeFileSync(CA_FILE, caPem, { mode: 0o644 });
  // Passwords inside: readable by root only.
  fs.writeFileSync(INVENTORY_FILE, JSON.stringify(inventory, null, 2) + "\n", { mode: 0o600 });
}

export function readInventory(): Inventory {
  if (!fs.existsSync(INVENTORY_FILE)) throw new Error(`the lab is not up (no ${INVENTORY_FILE}): npm run lab -- up`);
  return JSON.parse(fs.readFileSync(INVENTORY_FILE, "utf8")) as Inventory;
}

export function inventoryExists(): boolean {
  return fs.existsSync(INVENTORY_FILE);
}
