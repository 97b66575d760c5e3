// smtp-in: the platform's MX hosts. Public, one per site, no proxy in front (DNSBL needs the
// client's real address). Postfix with postscreen, Rspamd milter with local Redis (its controller
// behind NGINX's TLS for the maildrops), Unbound, PostSRSd.
import { bundle, HostBundle, RenderContext } from "../../files";
import { tlsFiles } from "../../shared/tls";
import { unbound } from "../../shared/unbound";
import { rspamd } from "../../shared/rspamd";
import { postsrsd } from "./postsrsd";
import { postfixSmtpIn } from "./postfix";
import { rspamdControllerTls } from "./controller-tls";

export function renderSmtpIn(ctx: RenderContext): HostBundle {
  return bundle(ctx.host, tlsFiles(ctx, ["postfix", "nginx"], ["postfix"]), unbound(ctx), rspamd(ctx, "inbound"), rspamdControllerTls(ctx), postsrsd(ctx), postfixSmtpIn(ctx));
}
