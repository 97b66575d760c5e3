// Debian's Chromium as the guide prescribes it for playwright-core (which never downloads a browser).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

/**
 * A HOME for Chromium whose NSS database (~/.pki/nssdb, where Chromium on Linux reads the
 * certificates the user trusts) trusts this CA to identify web sites, and nothing else: the browser
 * then checks every certificate it is shown, as it would for a user. certutil: libnss3-tools.
 */
export function homeTrusting(caFile: string): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "chromium-home-"));
  const db = path.join(home, ".pki", "nssdb");
  fs.mkdirSync(db, { recursive: true, mode: 0o700 });
  execFileSync("certutil", ["-N", "-d", `sql:${db}`, "--empty-password"], { stdio: "pipe" });
  execFileSync("certutil", ["-A", "-d", `sql:${db}`, "-n", "platform CA", "-t", "C,,", "-i", caFile], { stdio: "pipe" });
  return home;
}
