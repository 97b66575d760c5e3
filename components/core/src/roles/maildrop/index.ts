// maildrop: the mailbox store, a pair. smtp-in and smtp-out deliver into Dovecot's LMTP; Dovecot
// serves IMAP, POP3, ManageSieve, and replicates (or shares NFS storage); Postfix sends what is
// made here (vacation replies, redirects) out through smtp-out.
import { bundle, HostBundle, RenderContext } from "../../files";
import { tlsFiles } from "../../shared/tls";
import { unbound } from "../../shared/unbound";
import { dovecotMaildrop } from "./dovecot";
import { postfixMaildrop } from "./postfix";
import { replicaResync } from "./replica-resync";

export function renderMaildrop(ctx: RenderContext): HostBundle {
  return bundle(ctx.host, tlsFiles(ctx, ["postfix", "dovecot"], ["postfix", "dovecot"]), unbound(ctx), dovecotMaildrop(ctx), replicaResync(ctx), postfixMaildrop(ctx));
}
