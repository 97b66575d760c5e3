// The lab's hosts share this machine's /usr: every package a host needs is installed here, before
// any host starts (installing later would change the lower layers of running hosts' overlays).
// Package scripts must not start daemons on this machine: a policy-rc.d that refuses covers the
// install when none is there.
import * as fs from "fs";
import { must, run } from "./system";

/** What the lab itself runs, besides the platform's daemons. */
export const LAB_PACKAGES = [
  "iproute2", "util-linux", "nftables", "tini", "busybox", "openssl",
  // The lab DNS (Unbound, its zone signed with dnssec-signzone) and external-mx (Postfix).
  "unbound", "bind9-utils", "postfix",
  // doveadm pw hashes the lab users' passwords.
  "dovecot-core",
];

const POLICY_RC_D = "/usr/sbin/policy-rc.d";

const installed = (p: string) => run(["dpkg-query", "-W", "-f=${db:Status-Status}", p]).stdout === "installed";

/** Every one of the packages that this machine lacks, installed. */
export function ensurePackages(packages: string[], log: (line: string) => void): void {
  const missing = [...new Set(packages)].filter((p) => !installed(p)).sort();
  if (missing.length === 0) return;
  log(`installing on this machine: ${missing.join(" ")}`);
  const ownPolicy = !fs.existsSync(POLICY_RC_D);
  if (ownPolicy) fs.writeFileSync(POLICY_RC_D, "#!/bin/sh\n# mailplatform lab: no daemon starts while packages install\nexit 101\n", { mode: 0o755 });
  try {
    const apt = (args: string[]) => must(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", "-y", ...args], { timeoutMs: 1_800_000 });
    const install = () => apt(["install", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", ...missing]);
    try {
      install();
    } catch {
      apt(["update"]); // the package lists may be stale
      install();
    }
  } finally {
    if (ownPolicy) fs.rmSync(POLICY_RC_D, { force: true });
  }
}
