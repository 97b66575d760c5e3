// What of a host outlives its VM, and where it is mounted: the maildrop's mail store (its own Cinder
// volume, or the pair's Manila share) and each MTA's Postfix queue, which holds mail the MTA has
// acknowledged with 250 and not yet handed on. The OpenStack components create and attach these,
// the lab mounts a directory of its own in their place; both keep them when a VM is replaced.
import { Host } from "./topology";
import { mailRoot } from "./roles/maildrop/dovecot";
import { POSTFIX_QUEUE_DIRECTORY } from "./shared/spool-sockets";
import { PlatformSpec } from "./spec/types";

export interface HostVolume {
  /** What it holds; also its name beside the host's (`<host>-mail`, `<host>-queue`) and its filesystem label. */
  purpose: "mail" | "queue";
  mountPoint: string;
  sizeGb: number;
  /** One Manila share both maildrops mount (shared storage) rather than a volume of the host's own. */
  shared: boolean;
}

export function hostVolume(spec: PlatformSpec, host: Pick<Host, "role">): HostVolume | undefined {
  switch (host.role) {
    case "maildrop":
      return { purpose: "mail", mountPoint: mailRoot(spec), sizeGb: spec.storage.sizeGb, shared: spec.storage.mode === "shared" };
    case "smtp-in":
    case "smtp-out":
      return { purpose: "queue", mountPoint: POSTFIX_QUEUE_DIRECTORY, sizeGb: spec.storage.queueSizeGb, shared: false };
    default:
      return undefined;
  }
}
