// The MTA-STS policy (RFC 8461), one for every hosted domain: the frontends serve it at
// https://mta-sts.<domain>/.well-known/mta-sts.txt and DNS publishes `_mta-sts` TXT "v=STSv1; id=<id>".
// The id is a hash of the text, so any change of the policy announces itself to senders.
import { createHash } from "crypto";
import { PlatformSpec } from "../spec/types";
import { hostsOf } from "../topology";

/** How long senders cache the policy: short while testing (easy to change or retract), a week when enforced. */
export const MTA_STS_MAX_AGE: Record<PlatformSpec["dns"]["mtaStsMode"], number> = {
  testing: 86400,
  none: 86400,
  enforce: 604800,
};

export interface MtaStsPolicy {
  /** The policy document, as served. */
  text: string;
  /** Policy id for the `_mta-sts` TXT record (RFC 8461: 1-32 alphanumerics). */
  id: string;
}

export function mtaStsPolicy(spec: PlatformSpec): MtaStsPolicy {
  const mode = spec.dns.mtaStsMode;
  const text = [
    "version: STSv1",
    `mode: ${mode}`,
    // Exactly the MX targets: every smtp-in host (equal-preference MX records).
    ...hostsOf(spec, "smtp-in").map((h) => `mx: ${h.fqdn}`),
    `max_age: ${MTA_STS_MAX_AGE[mode]}`,
  ].join("\n") + "\n";
  return { text, id: createHash("sha256").update(text).digest("hex").slice(0, 16) };
}
