// The lab's hosts share this machine's /usr: every package a host needs is installed here, before
// any host starts (installing later would change the lower layers of running hosts' overlays).
// Package scripts must not start daemons on this machine: a policy-rc.d that refuses covers the
// install when none is there.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BUILD_SOURCES_ENV, HostBundle } from "@mailplatform/core";
import { LAB_DIR } from "./paths";
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

/** The sources the bundles' build steps download, fetched by this machine: lab hosts have no way out. */
export const SOURCES_DIR = path.join(LAB_DIR, "sources");

/** The environment a host's provision.sh runs with, so its build steps find SOURCES_DIR. */
export const PROVISION_ENV = [`${BUILD_SOURCES_ENV}=${SOURCES_DIR}`];

const built = new Set<string>();

/**
 * Every distinct build script of the bundles run once here, into a throw-away program: that fills
 * SOURCES_DIR for the hosts (and shows the build works before any host tries).
 */
export function ensureSources(bundles: Pick<HostBundle, "files">[], log: (line: string) => void): void {
  for (const f of bundles.flatMap((b) => b.files).filter((f) => f.compile === "build")) {
    if (built.has(f.content)) continue;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-build-"));
    try {
      fs.writeFileSync(path.join(dir, "build"), f.content, { mode: 0o755 });
      log(`building ${f.path} on this machine (fills ${SOURCES_DIR})`);
      must(["env", ...PROVISION_ENV, path.join(dir, "build"), path.join(dir, "program")], { timeoutMs: 600_000 });
      built.add(f.content);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
