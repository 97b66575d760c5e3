// The trust zones as an nftables ruleset, one per role, from the core's rule model (the same one
// the OpenStack security groups are made from): what a security group does for a VM, this does
// inside a lab host, which has no cloud around it. Pure: returns the text `nft -f` loads.
import { isIPv6, networkRules, NetworkRule, PlatformSpec, Role, sourceCidrs } from "@mailplatform/core";

/** The table the ruleset owns; nothing else on the host is touched. */
export const NFT_TABLE = "mailplatform";

/**
 * The ruleset for every host of a role. Loading it replaces the previous version atomically (the
 * table is declared, deleted and declared again in one transaction), so re-applying is safe.
 */
export function nftablesRuleset(spec: PlatformSpec, role: Role): string {
  const accepts = groupBySource(networkRules(spec).filter((r) => r.role === role)).flatMap(({ rule, ports }) =>
    acceptLines(spec, rule, ports),
  );
  return [
    `# ${role} hosts of stack ${spec.stack}: generated from the platform's network rules.`,
    `table inet ${NFT_TABLE}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
    "  chain input {",
    "    type filter hook input priority filter; policy drop;",
    "    # What a security group always allows: the host itself, replies, and ICMP (PMTU discovery, ND).",
    '    iif "lo" accept',
    "    ct state established,related accept",
    "    ct state invalid drop",
    "    meta l4proto { icmp, ipv6-icmp } accept",
    ...accepts.map((l) => `    ${l}`),
    "  }",
    "}",
    "",
  ].join("\n");
}

/** Rules of one role that share a source and a purpose become one line with a port set. */
function groupBySource(rules: NetworkRule[]): { rule: NetworkRule; ports: number[] }[] {
  const groups: { rule: NetworkRule; ports: number[] }[] = [];
  for (const rule of rules) {
    const same = groups.find((g) => g.rule.description === rule.description && JSON.stringify(g.rule.from) === JSON.stringify(rule.from));
    if (same) same.ports.push(rule.port);
    else groups.push({ rule, ports: [rule.port] });
  }
  return groups;
}

function acceptLines(spec: PlatformSpec, rule: NetworkRule, ports: number[]): string[] {
  const dport = ports.length === 1 ? `${ports[0]}` : `{ ${ports.join(", ")} }`;
  const comment = `comment "${rule.description.replace(/"/g, "'")}"`;
  const match = `${rule.protocol} dport ${dport} accept ${comment}`;
  if (rule.from.kind === "anywhere") return [match];
  const cidrs = sourceCidrs(spec, rule.from);
  const set = (xs: string[]) => (xs.length === 1 ? xs[0] : `{ ${xs.join(", ")} }`);
  const v4 = cidrs.filter((c) => !isIPv6(c));
  const v6 = cidrs.filter(isIPv6);
  // An empty source list (e.g. no admin networks) opens nothing.
  return [v4.length > 0 && `ip saddr ${set(v4)} ${match}`, v6.length > 0 && `ip6 saddr ${set(v6)} ${match}`].filter(
    (l): l is string => typeof l === "string",
  );
}
