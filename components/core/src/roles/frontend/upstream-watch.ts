// A frontend notices a backend that accepts connections but never answers (hung, frozen) within
// seconds and takes it out of NGINX's pool until it greets again: the script's header says how.
import { daemons } from "../../daemons";
import { Fragment, RenderContext } from "../../files";
import { PROXIED } from "../../ports";
import { loopServiceFiles } from "../../shared/loop-service";
import { NGINX_USER } from "../../shared/nginx";
import { hostPort, hostsOf } from "../../topology";

/** One plaintext port per backend role: its daemon speaks first, so its greeting shows it is alive. */
const GREETING_PORTS = { "smtp-out": PROXIED.submission, maildrop: PROXIED.imap } as const;
/** A hang is noticed within INTERVAL + TIMEOUT: 2 s, well inside a client's own timeouts. */
const INTERVAL_SECONDS = 0.5;
/** A healthy backend greets in milliseconds; a loaded one well within this. */
const TIMEOUT_SECONDS = 1.5;

export function upstreamWatch(ctx: RenderContext): Fragment {
  const { spec, host } = ctx;
  const daemon = daemons(spec.debianRelease)["upstream-watch"];
  const targets = Object.entries(GREETING_PORTS).flatMap(([role, port]) =>
    hostsOf(spec, role as keyof typeof GREETING_PORTS).map((h) => hostPort(h.address, port)));
  return {
    services: [daemon],
    files: loopServiceFiles({
      daemon,
      script: "upstream-watch",
      description: "Takes backends that accept but never answer out of NGINX's pool",
      after: "nginx",
      settings: [
        "# Each backend's plaintext port, probed as NGINX connects (PROXY header from this host).",
        `TARGETS="${targets.join(" ")}"`,
        `SOURCE=${host.address}`,
        `INTERVAL=${INTERVAL_SECONDS}`,
        `TIMEOUT=${TIMEOUT_SECONDS}`,
        `PROXY_USER=${NGINX_USER}`, // its connections to a silent backend are reset
      ],
    }),
  };
}
