// The portal's staff: operators (every domain and the platform view) and domain administrators
// (their domains only), in <state>/accounts.json (0600) with {BLF-CRYPT} hashes. Mail users are
// not here: they sign in with the address and password the stack config holds.
import * as fs from "fs";
import { writeAtomically } from "./stack-config";

export interface StaffAccount {
  name: string;
  role: "operator" | "domain-admin";
  /** The domains a domain administrator manages. */
  domains: string[];
  passwordHash: string;
}

export class Accounts {
  constructor(readonly file: string) {}

  all(): StaffAccount[] {
    return fs.existsSync(this.file) ? (JSON.parse(fs.readFileSync(this.file, "utf8")) as StaffAccount[]) : [];
  }

  find(name: string): StaffAccount | undefined {
    return this.all().find((a) => a.name === name);
  }

  /** Adds or replaces an account. */
  put(account: StaffAccount): void {
    const rest = this.all().filter((a) => a.name !== account.name);
    writeAtomically(this.file, JSON.stringify([...rest, account], null, 2) + "\n", 0o600);
  }
}
