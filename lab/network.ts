// The lab's wire: one bridge with no address in the machine's namespace, a veth per host, every
// lab network on-link in every host and no default route anywhere, so nothing can leave the lab and
// everything inside can reach everything: the trust zones are left to the hosts' firewalls.
import { createHash } from "crypto";
import { cidrsOverlap, PlatformSpec } from "@mailplatform/core";
import { hostAddresses, LabHost, labNetworks } from "./plan";
import { must, run } from "./system";

export const BRIDGE = "mplab0";
export const NETNS_PREFIX = "mplab-";

/** The machine-side end of a host's veth: interface names are at most 15 characters. */
const vethName = (host: Pick<LabHost, "name">) => `mplv${createHash("sha1").update(host.name).digest("hex").slice(0, 8)}`;

const exists = (argv: string[]) => run(argv).status === 0;

export function ensureBridge(): void {
  if (exists(["ip", "link", "show", BRIDGE])) return;
  must(["ip", "link", "add", BRIDGE, "type", "bridge"]);
  // Not even an IPv6 link-local address: the machine itself is not on the lab network.
  must(["ip", "link", "set", BRIDGE, "addrgenmode", "none"]);
  must(["ip", "link", "set", BRIDGE, "up"]);
}

export function removeBridge(): void {
  if (exists(["ip", "link", "show", BRIDGE])) must(["ip", "link", "del", BRIDGE]);
}

export function netnsExists(host: Pick<LabHost, "netns">): boolean {
  return run(["ip", "netns", "list"]).stdout.split("\n").some((l) => l.split(" ")[0] === host.netns);
}

/** Every mplab-* namespace, including those of a lab whose inventory is gone. */
export function labNetnsNames(): string[] {
  return run(["ip", "netns", "list"]).stdout.split("\n").map((l) => l.split(" ")[0]).filter((n) => n.startsWith(NETNS_PREFIX));
}

/** The host's namespace, wired to the bridge, with its addresses and routes. Safe to repeat. */
export function wireHost(spec: PlatformSpec, hosts: LabHost[], host: LabHost): void {
  const ns = host.netns;
  const inNs = (argv: string[]) => must(["ip", "-n", ns, ...argv]);
  if (!netnsExists(host)) must(["ip", "netns", "add", ns]);
  if (!exists(["ip", "-n", ns, "link", "show", "eth0"])) {
    const veth = vethName(host);
    run(["ip", "link", "del", veth]); // a leftover of an interrupted run
    must(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    must(["ip", "link", "set", veth, "master", BRIDGE, "up"]);
  }
  inNs(["link", "set", "lo", "up"]);
  const addresses = hostAddresses(spec, host);
  for (const a of addresses) inNs(["addr", "replace", a, "dev", "eth0"]);
  inNs(["link", "set", "eth0", "up"]);
  // Networks the host has no address in: on-link too. smtp-out reaches the outside from its site's
  // egress address, the one SPF publishes; every other host from its own (first) address.
  const { siteLocal, outside } = labNetworks(spec, hosts);
  const own = (cidr: string) => addresses.some((a) => cidrsOverlap(a, cidr));
  for (const cidr of [...siteLocal, ...outside].filter((c) => !own(c))) {
    const src = host.egressAddress && outside.includes(cidr) ? host.egressAddress : host.address;
    inNs(["route", "replace", cidr, "dev", "eth0", "src", src]);
  }
}

/** The machine-side veth ends of lab hosts that still exist. */
export function labLinks(): string[] {
  return run(["ip", "-o", "link", "show"]).stdout.split("\n").map((l) => l.split(": ")[1]?.split("@")[0]).filter((n) => n?.startsWith("mplv"));
}

/**
 * The kernel dismantles a deleted namespace, and the veth pairs in it, in the background: wait for
 * that, so `down` returns with nothing left and a following `up` can reuse the names. A namespace
 * the kernel keeps past that (seen once, minutes after its last process had gone, nothing mounting
 * it) still holds its end of the pair: deleting this machine's end takes both.
 */
export async function waitForLinksGone(): Promise<void> {
  for (let i = 0; i < 100 && labLinks().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  for (const link of labLinks()) run(["ip", "link", "del", link]);
  const left = labLinks();
  if (left.length > 0) throw new Error(`veth links still there after 10 s and deleting them: ${left.join(", ")}`);
}

/** Deletes a host's namespace (and with it the veth pair). The last host process may take a moment to let go. */
export async function removeNetns(netns: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if (!labNetnsNames().includes(netns)) return;
    if (run(["ip", "netns", "del", netns]).status === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  must(["ip", "netns", "del", netns]);
}
