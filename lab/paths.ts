// Where the lab keeps its state: everything under .lab/ at the repository root (git-ignored).
import * as path from "path";

export const REPO = path.resolve(__dirname, "..");
export const LAB_DIR = path.join(REPO, ".lab");
/** Generated secrets, user passwords and hashes: reused so `up` twice renders the same files. */
export const SECRETS_FILE = path.join(LAB_DIR, "secrets.json");
export const INVENTORY_FILE = path.join(LAB_DIR, "inventory.json");
export const CA_FILE = path.join(LAB_DIR, "ca.crt");
/** The lab DNS root's signing key and the trust anchor (a DS record) every lab host validates with. */
export const DNSSEC_DIR = path.join(LAB_DIR, "dnssec");
export const TRUST_ANCHOR_FILE = path.join(DNSSEC_DIR, "root.ds");
export const BUNDLES_DIR = path.join(LAB_DIR, "bundles");
export const HOSTS_DIR = path.join(LAB_DIR, "hosts");
/** Volumes that outlive a host's root disk: the maildrops' share or each maildrop's own mail store. */
export const VOLUMES_DIR = path.join(LAB_DIR, "volumes");
/** The faults in force (frozen hosts, partitions), for `status` in another process. */
export const FAULTS_FILE = path.join(LAB_DIR, "faults.json");

/** Per-host state: pid file, console log, overlay upper layers (the host's disk). */
export const hostDir = (name: string) => path.join(HOSTS_DIR, name);
export const bundleDir = (name: string) => path.join(BUNDLES_DIR, name);
