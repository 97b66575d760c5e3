// webmail: Roundcube (managesieve, threaded lists) behind the frontends; IMAP through the
// frontends, SMTP through smtp-out with its own SASL user.
import { bundle, HostBundle, RenderContext } from "../../files";
import { tlsFiles } from "../../shared/tls";
import { roundcube } from "./roundcube";

export function renderWebmail(ctx: RenderContext): HostBundle {
  return bundle(ctx.host, tlsFiles(ctx, ["nginx"]), roundcube(ctx));
}
