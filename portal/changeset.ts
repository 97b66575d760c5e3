// A change set from the renderer: each host's new bundle against what the host has now (its
// current files, path → content), and the services its changed files belong to, reloaded or
// restarted as the core's daemon table says. Contents never leave this module: only paths.
import { createHash } from "crypto";
import { DnsRecord, HostBundle, maskedSecrets, PlatformSpec, renderPlatform } from "@mailplatform/core";
import { DnsChange, HostChange } from "./target";

/**
 * The bundles a target without the real secrets previews (the Pulumi target's stack holds them):
 * masked, but each readable password hash stands as a digest of itself, so a password change
 * shows as the files it changes while no hash is written anywhere.
 */
export function previewBundles(spec: PlatformSpec): HostBundle[] {
  const masked = maskedSecrets(spec);
  const digest = (hash: string) => `<password hash ${createHash("sha256").update(hash).digest("hex").slice(0, 16)}>`;
  const userPasswordHashes = Object.fromEntries(spec.users.map((u) => [u.address, u.passwordHash ? digest(u.passwordHash) : masked.userPasswordHashes[u.address]]));
  return renderPlatform(spec, { ...masked, userPasswordHashes });
}

/** The files a host has now; undefined for a host that has none yet (everything is added). */
export type CurrentFiles = Map<string, string> | undefined;

export function hostChange(bundle: HostBundle, current: CurrentFiles): HostChange {
  const now = current ?? new Map<string, string>();
  const wanted = new Map(bundle.files.map((f) => [f.path, f]));
  const files: HostChange["files"] = [
    ...bundle.files.filter((f) => now.get(f.path) !== f.content).map((f) => ({ path: f.path, change: now.has(f.path) ? ("changed" as const) : ("added" as const) })),
    ...[...now.keys()].filter((p) => !wanted.has(p)).map((path) => ({ path, change: "removed" as const })),
  ];
  const touched = new Set(files.flatMap((f) => wanted.get(f.path)?.services ?? []));
  // A removed file's daemon reloads too, but the bundle no longer says whose it was: every daemon of the host.
  if (files.some((f) => f.change === "removed")) bundle.services.forEach((d) => touched.add(d.service));
  return {
    host: bundle.host.name,
    role: bundle.host.role,
    files,
    services: bundle.services.filter((d) => touched.has(d.service)).map((d) => ({ service: d.service, action: d.reload })),
  };
}

/** Only the hosts that change, in the order of the bundles (the push's order). */
export function changedHosts(bundles: HostBundle[], currentOf: (host: string) => CurrentFiles): HostChange[] {
  return bundles.map((b) => hostChange(b, currentOf(b.host.name))).filter((c) => c.files.length > 0);
}

/** A host's files as a rendered bundle has them (for a target whose "now" is a render of the applied config). */
export function filesOf(bundle: HostBundle): Map<string, string> {
  return new Map(bundle.files.map((f) => [f.path, f.content]));
}

/** The records of `after` that `before` lacks, and those it has that `after` lacks. */
export function recordChanges(before: DnsRecord[], after: DnsRecord[]): DnsChange[] {
  const key = (r: DnsRecord) => `${r.name} ${r.type} ${r.value}`;
  const had = new Set(before.map(key));
  const has = new Set(after.map(key));
  const change = (r: DnsRecord, c: DnsChange["change"]): DnsChange => ({ name: r.name, type: r.type, value: r.value, change: c });
  return [...after.filter((r) => !had.has(key(r))).map((r) => change(r, "added")), ...before.filter((r) => !has.has(key(r))).map((r) => change(r, "removed"))];
}
