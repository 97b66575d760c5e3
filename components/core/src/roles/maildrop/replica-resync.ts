// The replicating pair's catch-up: Dovecot retries a failed sync only after 5 minutes, so a peer
// that was down, frozen or cut off would lag that long. A small service on each maildrop queues
// every user whose sync failed as soon as the peer's doveadm port answers again (the script's
// header says how). Debian ships no unit for it: a systemd unit, and an init script for hosts
// without systemd (the lab).
import { daemons, REPLICA_RESYNC_SCRIPT } from "../../daemons";
import { file, Fragment, lines, RenderContext, staticFile } from "../../files";
import { INTERNAL } from "../../ports";
import { hostsOf } from "../../topology";

/** How often the replicator is asked for failed users. */
const INTERVAL_SECONDS = 2;

export function replicaResync(ctx: RenderContext): Fragment {
  const { spec, host } = ctx;
  if (spec.storage.mode !== "replicated") return {};
  const daemon = daemons(spec.debianRelease)["replica-resync"];
  const [peer] = hostsOf(spec, "maildrop").filter((h) => h.name !== host.name);
  const service = daemon.service;
  return {
    services: [daemon],
    files: [
      file(service, REPLICA_RESYNC_SCRIPT, staticFile("mailplatform/replica-resync"), { mode: "0755" }),
      file(service, `/etc/default/${service}`, lines(
        `# Read by ${REPLICA_RESYNC_SCRIPT}: the peer whose doveadm port tells it is back.`,
        `PEER_HOST=${peer.address}`,
        `PEER_PORT=${INTERNAL.doveadm}`,
        `INTERVAL=${INTERVAL_SECONDS}`,
      )),
      file(service, `/etc/init.d/${service}`, staticFile("mailplatform/replica-resync.init"), { mode: "0755" }),
      file(service, `/etc/systemd/system/${service}.service`, lines(
        "[Unit]",
        "Description=Resyncs the peer maildrop as soon as it answers again",
        "After=dovecot.service",
        "Requires=dovecot.service",
        "",
        "[Service]",
        `ExecStart=/bin/bash ${REPLICA_RESYNC_SCRIPT}`,
        "Restart=always",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
      )),
    ],
  };
}
