// Syntax checks for the values a mail platform config is made of. Each returns a reason, or
// undefined when the value is fine, so the validator can word the error around the config key.
import * as ipaddr from "ipaddr.js";

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function domainProblem(value: string): string | undefined {
  if (value.length > 253) return "is longer than 253 characters";
  if (value !== value.toLowerCase()) return "must be lower case";
  const labels = value.split(".");
  if (labels.length < 2) return "is not a fully qualified domain name";
  if (!labels.every((l) => LABEL.test(l))) return "is not a valid domain name";
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return "is not a valid domain name";
  return undefined;
}

// RFC 5321 dot-atom local parts, less the characters Postfix treats as routing (% ! @) and quoting:
// configured addresses never need them, and open-relay tricks do.
const LOCAL_PART = /^[a-z0-9#$&'*+/=?^_`{|}~-]+(\.[a-z0-9#$&'*+/=?^_`{|}~-]+)*$/;

export function addressProblem(value: string): string | undefined {
  const at = value.lastIndexOf("@");
  if (at <= 0 || value.indexOf("@") !== at) return "is not an e-mail address (local@domain)";
  const local = value.slice(0, at);
  if (local.length > 64) return "has a local part longer than 64 characters";
  if (!LOCAL_PART.test(local)) return "is not an e-mail address (bad local part)";
  const d = domainProblem(value.slice(at + 1));
  return d ? `is not an e-mail address (its domain ${d})` : undefined;
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1);
}

export function ipProblem(value: string): string | undefined {
  return ipaddr.isValid(value) && !value.includes("/") ? undefined : "is not an IPv4 or IPv6 address";
}

export function cidrProblem(value: string): string | undefined {
  try {
    const [addr, bits] = ipaddr.parseCIDR(value);
    const base = networkAddress(value);
    if (base !== addr.toString()) return `has host bits set (the network is ${base}/${bits})`;
    return undefined;
  } catch {
    return "is not a CIDR (address/prefix, e.g. 10.1.0.0/24)";
  }
}

/** The network address of a CIDR, as a string. */
export function networkAddress(cidr: string): string {
  const [addr, bits] = ipaddr.parseCIDR(cidr);
  const bytes = addr.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** The n-th address of a CIDR (n = 0 is the network address). */
export function nthAddress(cidr: string, n: number): string {
  const [addr] = ipaddr.parseCIDR(networkAddress(cidr) + "/" + cidr.split("/")[1]);
  const bytes = addr.toByteArray();
  let carry = n;
  for (let i = bytes.length - 1; i >= 0 && carry > 0; i--) {
    const sum = bytes[i] + (carry & 0xff);
    bytes[i] = sum & 0xff;
    carry = (carry >>> 8) + (sum >> 8);
  }
  return ipaddr.fromByteArray(bytes).toString();
}

export function cidrSize(cidr: string): number {
  const [addr, bits] = ipaddr.parseCIDR(cidr);
  const hostBits = (addr.kind() === "ipv4" ? 32 : 128) - bits;
  return hostBits >= 31 ? Number.MAX_SAFE_INTEGER : 2 ** hostBits;
}

export function cidrsOverlap(a: string, b: string): boolean {
  const [aa, ab] = ipaddr.parseCIDR(a);
  const [ba, bb] = ipaddr.parseCIDR(b);
  if (aa.kind() !== ba.kind()) return false;
  return ab <= bb ? ba.match(aa, ab) : aa.match(ba, bb);
}

export function isIPv6(value: string): boolean {
  return ipaddr.parse(value.split("/")[0]).kind() === "ipv6";
}

export function durationProblem(value: string): string | undefined {
  return /^[1-9][0-9]*[smhdw]$/.test(value) ? undefined : "is not a duration (a number and s, m, h, d or w, e.g. 5d)";
}

export function ldapUriProblem(value: string): string | undefined {
  return /^ldaps?:\/\/[^\s/]+\/?$/.test(value) ? undefined : "is not an LDAP URI (ldap://host or ldaps://host)";
}

export function ldapFilterProblem(value: string): string | undefined {
  return /^\(.*\)$/.test(value) ? undefined : "is not an LDAP filter (it must be in parentheses)";
}

const SIZE = /^([0-9]+)([KMGT]?)$/;
const UNIT: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parses Dovecot-style sizes (2G, 500M, 1024K, or plain bytes). */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  if (typeof value !== "string") return undefined;
  const m = SIZE.exec(value.trim());
  if (!m) return undefined;
  const bytes = Number(m[1]) * UNIT[m[2]];
  return bytes > 0 ? bytes : undefined;
}

/** Renders bytes back in the largest whole unit (Dovecot quota_rule syntax). */
export function formatSize(bytes: number): string {
  for (const unit of ["T", "G", "M", "K"]) {
    if (bytes % UNIT[unit] === 0) return `${bytes / UNIT[unit]}${unit}`;
  }
  return String(bytes);
}

export const PASSWORD_SCHEMES = ["BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", "ARGON2ID", "ARGON2I", "SSHA512", "PBKDF2"];

export function passwordHashProblem(value: string): string | undefined {
  const m = /^\{([A-Z0-9-]+)\}(.+)$/.exec(value);
  if (!m) return "is not a password hash ({SCHEME}hash, e.g. from `doveadm pw -s BLF-CRYPT`)";
  if (!PASSWORD_SCHEMES.includes(m[1])) {
    return `uses scheme {${m[1]}}; use one of ${PASSWORD_SCHEMES.map((s) => `{${s}}`).join(", ")}`;
  }
  return undefined;
}
