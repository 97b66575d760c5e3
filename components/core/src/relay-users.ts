// The SASL users of smtp-out that are not mailboxes: the webmail's own and the servers configured
// as relay clients. Their passwords are generated (in-stack, by the lab), smtp-out stores hashes.
import { PlatformSpec } from "./spec/types";

/** The webmail's own SASL user; a relay client may not take its name. */
export const WEBMAIL_RELAY_USER = "roundcube";

/** Every relay user's name, the webmail's first. */
export function relayUserNames(spec: PlatformSpec): string[] {
  return [WEBMAIL_RELAY_USER, ...spec.relayClients.map((c) => c.name)];
}
