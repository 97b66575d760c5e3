// What a renderer produces for one host: the complete set of files with owner, mode and secrecy,
// the Debian packages and services they belong to. Pure data; the provisioning script applies it.
import { PlatformSecrets } from "./secrets";
import { PlatformSpec } from "./spec/types";
import * as fs from "fs";
import * as path from "path";
import { Daemon, Service } from "./daemons";
import { Host } from "./topology";

export type { Service };

export interface HostFile {
  /** Absolute path on the host. */
  path: string;
  content: string;
  owner: string;
  group: string;
  /** Octal, e.g. "0640". */
  mode: string;
  /** True when the content holds a secret: masked in the offline render, never logged. */
  secret: boolean;
  /** The daemons that read the file: their checkers validate it and they reload when it changes. */
  services: Service[];
  /** A compile step the file needs after it is written: Postfix lookup tables, Sieve scripts, and
   * build scripts whose program is the path without `.build`. */
  compile?: "postmap" | "sievec" | "build";
}

export interface Account {
  /** System user (and group of the same name) that owns mail, with a fixed uid shared by every host. */
  name: string;
  uid: number;
  home: string;
}

/**
 * The environment variable a build script (compile "build") takes its downloaded sources from and
 * keeps them in; unset, a directory of the host's own. Set where hosts have no way out (the lab).
 */
export const BUILD_SOURCES_ENV = "MAILPLATFORM_SOURCES";

export interface HostBundle {
  host: Host;
  /** Debian packages the role needs: its daemons' first. */
  packages: string[];
  /** Daemons in start order (dependencies first). */
  services: Daemon[];
  accounts: Account[];
  /** Directories to create: path, owner, group, mode. */
  directories: { path: string; owner: string; group: string; mode: string }[];
  files: HostFile[];
  /**
   * The secret values the secret files hold (render.ts): provision.sh withholds every log line that
   * quotes one, whatever its length. Never installed on the host.
   */
  secretValues?: string[];
}

/** Everything a renderer may read: the validated spec, the host it renders, the secrets as inputs. */
export interface RenderContext {
  spec: PlatformSpec;
  host: Host;
  secrets: PlatformSecrets;
}

export type FileOptions = Partial<Pick<HostFile, "owner" | "group" | "mode" | "secret" | "compile">>;

/** A root-owned, world-readable config file unless told otherwise. */
export function file(service: Service | Service[], path: string, content: string, opts: FileOptions = {}): HostFile {
  if (!path.startsWith("/")) throw new Error(`file path must be absolute: ${path}`);
  return {
    path,
    content: content.endsWith("\n") ? content : content + "\n",
    owner: opts.owner ?? "root",
    group: opts.group ?? "root",
    mode: opts.mode ?? (opts.secret ? "0600" : "0644"),
    secret: opts.secret ?? false,
    services: Array.isArray(service) ? service : [service],
    compile: opts.compile,
  };
}

/** A file holding a secret: not world-readable, masked offline. */
export function secretFile(service: Service | Service[], path: string, content: string, opts: FileOptions = {}): HostFile {
  return file(service, path, content, { mode: "0640", ...opts, secret: true });
}

/** A file the package ships under static/ (Sieve scripts, init scripts), read as the renderers write it. */
export function staticFile(relative: string): string {
  return fs.readFileSync(path.join(__dirname, "..", "static", relative), "utf8");
}

/** Joins config lines, dropping undefined/false entries so optional directives read inline. */
export function lines(...parts: (string | undefined | false | (string | undefined | false)[])[]): string {
  return parts.flat().filter((l): l is string => typeof l === "string").join("\n") + "\n";
}

/** Part of a host's bundle, contributed by one daemon's renderer. */
export type Fragment = Partial<Omit<HostBundle, "host">>;

/** Combines fragments into one bundle; packages and services keep first-seen order. */
export function bundle(host: Host, ...fragments: Fragment[]): HostBundle {
  const uniq = <T>(xs: T[]) => [...new Set(xs)];
  const services = fragments.flatMap((f) => f.services ?? []);
  const b: HostBundle = {
    host,
    packages: uniq(fragments.flatMap((f) => [...(f.services ?? []).flatMap((d) => d.packages), ...(f.packages ?? [])])),
    services: services.filter((d, i) => services.findIndex((x) => x.service === d.service) === i),
    accounts: fragments.flatMap((f) => f.accounts ?? []).filter((a, i, all) => all.findIndex((x) => x.name === a.name) === i),
    directories: fragments.flatMap((f) => f.directories ?? []),
    files: fragments.flatMap((f) => f.files ?? []),
  };
  const seen = new Set<string>();
  for (const f of b.files) {
    if (seen.has(f.path)) throw new Error(`${host.name}: two renderers write ${f.path}`);
    seen.add(f.path);
  }
  return b;
}
