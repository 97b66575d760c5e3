// What of a host outlives its VM, and where it is mounted: the maildrop's mail store (its own Cinder
// volume, or the pair's Manila share) and the Postfix queue of every host that runs Postfix, which
// holds mail the host has acknowledged and not yet handed on (on a maildrop: Sieve redirects and
// vacation replies, made while LMTP's 250 for the original waits). The OpenStack components create
// and attach them, the lab mounts a directory of its own in their place; both keep them when a VM is
// replaced.
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

export function hostVolumes(spec: PlatformSpec, host: Pick<Host, "role">): HostVolume[] {
  const queue: HostVolume = { purpose: "queue", mountPoint: POSTFIX_QUEUE_DIRECTORY, sizeGb: spec.storage.queueSizeGb, shared: false };
  switch (host.role) {
    case "maildrop":
      return [{ purpose: "mail", mountPoint: mailRoot(spec), sizeGb: spec.storage.sizeGb, shared: spec.storage.mode === "shared" }, queue];
    case "smtp-in":
    case "smtp-out":
      return [queue];
    default:
      return [];
  }
}
