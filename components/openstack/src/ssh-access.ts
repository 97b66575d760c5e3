// How the config push reaches each host from the deploying machine: smtp-in and the frontends at
// their floating IPs, every other host through its own site's jump host (the site-local networks
// have no route from outside). Every connection pins the host key cloud-init installed on that VM
// (userData), so nothing on the way can answer in a host's place.
import { Host, jumpHostOf, PlatformSpec, PUBLIC_ROLES } from "@mailplatform/core";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { JumpHostSettings, SETTINGS_NAMESPACE } from "./settings";

/** Where an SSH hop goes, with the host key it must present. */
export interface SshEndpoint {
  host: pulumi.Input<string>;
  port?: number;
  user?: string;
  privateKey?: pulumi.Input<string>;
  hostKey: pulumi.Input<string>;
}

export interface SshAccess {
  user: string;
  /** The push's key (secret). */
  privateKey: pulumi.Input<string>;
  /** Site → its jump host; only sites with hosts without a public address need one. */
  jumps: Record<string, SshEndpoint>;
}

/** A host as the push sees it: its public address when it has one, and its pinned host key. */
export interface SshTarget {
  host: Host;
  hostKey: pulumi.Input<string>;
  publicAddress?: pulumi.Input<string>;
}

/** A fresh VM takes a while to boot and start sshd. */
const DIAL_ERROR_LIMIT = 60;

export function connectionTo(target: SshTarget, access: SshAccess): command.types.input.remote.ConnectionArgs {
  const base = { user: access.user, privateKey: access.privateKey, hostKey: target.hostKey, dialErrorLimit: DIAL_ERROR_LIMIT };
  if (target.publicAddress) return { ...base, host: target.publicAddress };
  const site = target.host.site.name;
  const jump = access.jumps[site];
  if (!jump) throw new Error(`${target.host.name}: no jump host for site ${site}; set ${SETTINGS_NAMESPACE}:jumpHosts.${site}`);
  return {
    ...base,
    host: target.host.address,
    proxy: {
      host: jump.host,
      port: jump.port ?? 22,
      user: jump.user ?? access.user,
      privateKey: jump.privateKey ?? access.privateKey,
      hostKey: jump.hostKey,
      dialErrorLimit: DIAL_ERROR_LIMIT,
    },
  };
}

/**
 * The jump host of every site that has hosts without a public address: the configured one, else
 * the site's frontend (or smtp-in) at its floating IP. A site with neither is an error naming the key.
 */
export function siteJumps(spec: PlatformSpec, configured: Record<string, JumpHostSettings>, publicHosts: SshTarget[]): Record<string, SshEndpoint> {
  const unknown = Object.keys(configured).filter((site) => !spec.sites.some((s) => s.name === site));
  if (unknown.length > 0) throw new Error(`${SETTINGS_NAMESPACE}:jumpHosts: ${unknown.join(", ")} ${unknown.length > 1 ? "are not sites" : "is not a site"} (sites: ${spec.sites.map((s) => s.name).join(", ")})`);
  const jumps: Record<string, SshEndpoint> = {};
  const missing: string[] = [];
  for (const site of spec.sites) {
    const own = configured[site.name];
    const jump = jumpHostOf(spec, site.name);
    const target = jump && publicHosts.find((t) => t.host.name === jump.name);
    if (own) jumps[site.name] = own;
    else if (target?.publicAddress) jumps[site.name] = { host: target.publicAddress, hostKey: target.hostKey };
    else if (hasPrivateHosts(spec, site.name)) missing.push(site.name);
  }
  if (missing.length > 0) {
    throw new Error(missing.map((s) => `${SETTINGS_NAMESPACE}:jumpHosts.${s}: site ${s} has no frontend or smtp-in to reach its other hosts through; name a jump host`).join("\n"));
  }
  return jumps;
}

function hasPrivateHosts(spec: PlatformSpec, site: string): boolean {
  return Object.entries(spec.placement.sites).some(([role, sites]) => !PUBLIC_ROLES.includes(role as Host["role"]) && sites.includes(site));
}
