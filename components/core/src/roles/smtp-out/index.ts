// smtp-out: submission for users and servers, behind the frontends. TLS + SASL (Dovecot auth),
// rate limits, Rspamd outbound scan, DKIM signing (OpenDKIM), queue and retry.
import { bundle, HostBundle, RenderContext } from "../../files";
import { tlsFiles } from "../../shared/tls";
import { unbound } from "../../shared/unbound";
import { rspamd } from "../../shared/rspamd";
import { opendkim } from "./opendkim";
import { dovecotAuth } from "./dovecot-auth";
import { postfixSmtpOut } from "./postfix";

export function renderSmtpOut(ctx: RenderContext): HostBundle {
  return bundle(
    ctx.host,
    // Its Dovecot checks passwords against the directory, if any; it terminates no TLS itself.
    tlsFiles(ctx, ["postfix"], ["postfix", "dovecot"]),
    unbound(ctx),
    rspamd(ctx, "outbound"),
    opendkim(ctx),
    dovecotAuth(ctx),
    postfixSmtpOut(ctx),
  );
}
