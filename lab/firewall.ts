// Each platform host's firewall: the role's nftables ruleset from the core (the same rule model as
// the OpenStack security groups), loaded in the host's network namespace. The lab network itself
// lets everything through, so every trust zone a test sees is this ruleset's doing.
import { PlatformSpec, Role } from "@mailplatform/core";
import { execInNetns } from "./hosts";
import { nftablesRuleset } from "./nftables";
import { LabHost } from "./plan";

export function applyFirewall(spec: PlatformSpec, host: LabHost & { role: Role }): void {
  const r = execInNetns(host, ["nft", "-f", "-"], { input: nftablesRuleset(spec, host.role) });
  if (r.status !== 0) throw new Error(`${host.name}: nft refused the ruleset: ${r.stderr}`);
}
