// PostSRSd: Sender Rewriting Scheme for mail smtp-in forwards outside, so the forward passes the
// original sender's SPF, and bounces to SRS0=...@<platform domain> can be reversed by any smtp-in
// (they all share one secret).
import { daemons } from "../../daemons";
import { file, Fragment, lines, RenderContext, secretFile } from "../../files";
import { INTERNAL } from "../../ports";

export const POSTSRSD_SECRET = "/etc/postsrsd.secret";

export function postsrsd(ctx: RenderContext): Fragment {
  const { spec, secrets } = ctx;
  return {
    services: [daemons(spec.debianRelease).postsrsd],
    files: [
      file("postsrsd", "/etc/default/postsrsd", lines(
        "# Rewritten senders live under the platform domain; its MX is the smtp-in hosts.",
        `SRS_DOMAIN=${spec.platformDomain}`,
        "# Hosted senders pass SPF from our own egress: never rewrite them.",
        `SRS_EXCLUDE_DOMAINS=${spec.domains.map((d) => d.name).join(",")}`,
        "SRS_SEPARATOR==",
        `SRS_SECRET=${POSTSRSD_SECRET}`,
        "SRS_HASHLENGTH=4",
        "SRS_HASHMIN=4",
        `SRS_FORWARD_PORT=${INTERNAL.srsForward}`,
        `SRS_REVERSE_PORT=${INTERNAL.srsReverse}`,
        "SRS_LISTEN_ADDR=127.0.0.1",
        "RUN_AS=postsrsd",
        "CHROOT=/var/lib/postsrsd",
      )),
      // Read once by postsrsd as root, before it drops privileges.
      secretFile("postsrsd", POSTSRSD_SECRET, secrets.srsSecret, { mode: "0600" }),
    ],
  };
}
