// The audit log: one JSON line per event (who, what, when, outcome), appended and fsynced before
// the portal answers, so what the log says happened did.
import * as fs from "fs";

export interface AuditEntry {
  at: string;
  who: string;
  action: string;
  object?: string;
  outcome: "ok" | "refused" | "conflict" | "started" | "failed" | "interrupted" | "denied";
  detail?: string;
}

export class AuditLog {
  constructor(readonly file: string) {}

  record(entry: Omit<AuditEntry, "at">): AuditEntry {
    const full = { at: new Date().toISOString(), ...entry };
    const fd = fs.openSync(this.file, "a", 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(full) + "\n");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return full;
  }

  /** The newest entries first. */
  recent(limit = 200): AuditEntry[] {
    if (!fs.existsSync(this.file)) return [];
    const lines = fs.readFileSync(this.file, "utf8").trim().split("\n").filter(Boolean);
    return lines.slice(-limit).reverse().map((l) => JSON.parse(l) as AuditEntry);
  }
}
