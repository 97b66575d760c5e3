// maildrop: the mailbox store, a pair. Postfix accepts from smtp-in/smtp-out only and hands to
// Dovecot LMTP; Dovecot serves IMAP, POP3, ManageSieve, and replicates (or shares NFS storage).
import { bundle, HostBundle, RenderContext } from "../../files";
import { tlsFiles } from "../../shared/tls";
import { unbound } from "../../shared/unbound";
import { dovecotMaildrop } from "./dovecot";
import { postfixMaildrop } from "./postfix";

export function renderMaildrop(ctx: RenderContext): HostBundle {
  return bundle(ctx.host, tlsFiles(ctx, ["postfix", "dovecot"]), unbound(ctx), dovecotMaildrop(ctx), postfixMaildrop(ctx));
}
