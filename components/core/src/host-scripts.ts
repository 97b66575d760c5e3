// The scripts that run on the hosts themselves: provision.sh applies a bundle, health-check.sh and
// mount-volume.sh serve the cloud's push. The repository's files/ is their one source; the built
// package carries a copy beside its code (dist/files, made by `npm run build`), so this package, the
// OpenStack components and the lab all take them from here, in the checkout or installed.
import * as fs from "fs";
import * as path from "path";

export type HostScript = "provision.sh" | "health-check.sh" | "mount-volume.sh";

const PACKAGED = path.resolve(__dirname, "files");
const REPOSITORY = path.resolve(__dirname, "..", "..", "..", "files");

/** Where the script is on this machine: the built package's copy, else (running from src/) the checkout's files/. */
export function hostScriptPath(name: HostScript): string {
  const packaged = path.join(PACKAGED, name);
  return fs.existsSync(packaged) ? packaged : path.join(REPOSITORY, name);
}

export const hostScript = (name: HostScript): string => fs.readFileSync(hostScriptPath(name), "utf8");
