// The replicating pair's catch-up: Dovecot retries a failed sync only after 5 minutes, so a peer
// that was down, frozen or cut off would lag that long. A small service on each maildrop queues
// every user whose sync failed as soon as the peer's doveadm port answers again (the script's
// header says how).
import { daemons } from "../../daemons";
import { Fragment, RenderContext } from "../../files";
import { INTERNAL } from "../../ports";
import { loopServiceFiles } from "../../shared/loop-service";
import { hostsOf } from "../../topology";

/** How often the replicator is asked for failed users. */
const INTERVAL_SECONDS = 2;
/** A sync exchanges data every few milliseconds; this long without any (a lock wait of -l 30 included), it is ended and retried. */
const STALL_SECONDS = 5;

export function replicaResync(ctx: RenderContext): Fragment {
  const { spec, host } = ctx;
  if (spec.storage.mode !== "replicated") return {};
  const daemon = daemons(spec.debianRelease)["replica-resync"];
  const [peer] = hostsOf(spec, "maildrop").filter((h) => h.name !== host.name);
  return {
    services: [daemon],
    files: loopServiceFiles({
      daemon,
      script: "replica-resync",
      description: "Resyncs the peer maildrop as soon as it answers again",
      after: "dovecot",
      settings: [
        "# The peer whose doveadm port tells it is back.",
        `PEER_HOST=${peer.address}`,
        `PEER_PORT=${INTERNAL.doveadm}`,
        `INTERVAL=${INTERVAL_SECONDS}`,
        `STALL=${STALL_SECONDS}`,
      ],
    }),
  };
}
