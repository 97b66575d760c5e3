// frontend: NGINX stream proxies (primary + backup members) for submission, IMAP, POP3 and
// ManageSieve, and HTTPS for the webmail, the MTA-STS policy and mail-client autoconfig.
import { bundle, HostBundle, RenderContext } from "../../files";
import { tlsFiles } from "../../shared/tls";
import { nginxFrontend } from "./nginx";
import { upstreamWatch } from "./upstream-watch";

export function renderFrontend(ctx: RenderContext): HostBundle {
  return bundle(ctx.host, tlsFiles(ctx, ["nginx"]), nginxFrontend(ctx), upstreamWatch(ctx));
}
