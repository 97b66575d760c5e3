// The scripts that run on the hosts themselves: provision.sh applies a bundle, health-check.sh and
// mount-mailstore.sh serve the cloud's push. The repository's files/ is their one source; a packed
// @mailplatform/core carries a copy under its own files/ (made by prepack), so this package, the
// OpenStack components and the lab all take them from here.
import * as fs from "fs";
import * as path from "path";

export type HostScript = "provision.sh" | "health-check.sh" | "mount-mailstore.sh";

const PACKAGED = path.resolve(__dirname, "..", "files");
const REPOSITORY = path.resolve(__dirname, "..", "..", "..", "files");

/** Where the script is on this machine: the packaged copy, else the checkout's files/. */
export function hostScriptPath(name: HostScript): string {
  const packaged = path.join(PACKAGED, name);
  return fs.existsSync(packaged) ? packaged : path.join(REPOSITORY, name);
}

export const hostScript = (name: HostScript): string => fs.readFileSync(hostScriptPath(name), "utf8");
