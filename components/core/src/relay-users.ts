// The SASL users of smtp-out that are not mailboxes: the servers configured as relay clients. Their
// passwords are generated (in-stack, by the lab), smtp-out stores hashes. The webmail has none: it
// submits as the logged-in user (roles/webmail/roundcube.ts).
import { PlatformSpec } from "./spec/types";

/** Every relay user's name. */
export function relayUserNames(spec: PlatformSpec): string[] {
  return spec.relayClients.map((c) => c.name);
}
