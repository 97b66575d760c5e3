// A host's bundle on disk and on the wire, in the one shape files/provision.sh reads: every file at
// <dir>/<absolute path>, plus <dir>/.manifest, a line-oriented list the script parses with `read`:
//
//   host <name>
//   package <name>
//   service <name> <process> <pid file|-> <reload|restart>       (start order)
//   check <service> <file suffix|-> <ok ERE> <label> -- <bash command line>
//   prepare <service> <label> -- <bash command line>             (run live before the check)
//   account <name> <uid> <home>                                  (group of the same name, gid = uid)
//   dir <mode> <owner> <group> <path>
//   file <mode> <owner> <group> <services,...|-> <compile|-> <secret|-> <path>
//   remove <services,...|-> <path>                               (package defaults that conflict)
//
// Beside it, <dir>/.secrets (0600, never installed): the secret values the files hold, one a line,
// which the script withholds from every message it prints.
//
// Fields never contain spaces, but for a check's label and command: the label has no " -- ", and
// the command is the rest of the line. Everything is validated here so the script can split safely.
// A check runs in the script's private namespace; with a file suffix, once per file of its service
// with that suffix, the file's path as $1 (see Checker in daemons.ts).
import * as fs from "fs";
import * as path from "path";
import { Daemon } from "./daemons";
import { HostBundle, Service } from "./files";

/** A package default the bundle deletes (e.g. Debian's /etc/nginx/sites-enabled/default). */
export interface Removal {
  path: string;
  /** The daemons that read it: checked and reloaded when it goes. */
  services: Service[];
}

/** What the provisioning script applies. `remove` is optional until HostBundle carries it. */
export type ProvisionBundle = HostBundle & { remove?: Removal[] };

export const MANIFEST = ".manifest";
export const SECRET_VALUES = ".secrets";

/** The .secrets text, or undefined for a bundle without secret values. */
function secretValuesText(b: ProvisionBundle): string | undefined {
  const values = b.secretValues ?? [];
  for (const v of values) check(v !== "" && !/[\r\n]/.test(v), "secret value (one non-empty line)", "<withheld>");
  return values.length > 0 ? values.join("\n") + "\n" : undefined;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;
const MODE = /^[0-7]{3,4}$/;
// Absolute, no empty/"."/".." segments, no spaces or shell-special characters.
const PATH = /^(\/[A-Za-z0-9_@%+=,:.-]+)+$/;
/** Printable ASCII, no leading or trailing space: one line the script's `read` keeps whole. */
const TEXT = /^[!-~]([ -~]*[!-~])?$/;
const WORD = /^[!-~]+$/;
const SUFFIX = /^\.[A-Za-z0-9]+$/;
/** Trees the script never writes: kernel and runtime state. */
const FORBIDDEN = ["/proc", "/sys", "/dev", "/run", "/tmp"];

function check(ok: boolean, what: string, value: unknown): void {
  if (!ok) throw new Error(`bundle: invalid ${what}: ${JSON.stringify(value)}`);
}

function absolutePath(p: string): string {
  check(PATH.test(p) && !p.split("/").some((s) => s === "." || s === ".."), "path (absolute, no spaces)", p);
  return p;
}

function checkPath(p: string): string {
  absolutePath(p);
  check(!FORBIDDEN.some((f) => p === f || p.startsWith(f + "/")), `path (not under ${FORBIDDEN.join(", ")})`, p);
  return p;
}

/** Comma-separated, or "-" for a file no daemon reads. */
function checkServices(services: Service[], run: Daemon[], what: string): string {
  for (const s of services) check(run.some((d) => d.service === s), `service of ${what} (the bundle does not run it)`, s);
  return services.join(",") || "-";
}

/** The daemon's service line, then one line per check. */
function daemonLines(d: Daemon): string[] {
  check(NAME.test(d.service), "service", d.service);
  check(NAME.test(d.process), `process name of ${d.service}`, d.process);
  check(d.reload === "reload" || d.reload === "restart", `reload of ${d.service}`, d.reload);
  return [
    `service ${d.service} ${d.process} ${d.pidFile === undefined ? "-" : absolutePath(d.pidFile)} ${d.reload}`,
    ...d.checks.map((c) => {
      check(c.eachFile === undefined || SUFFIX.test(c.eachFile), `file suffix of a ${d.service} check`, c.eachFile);
      check(WORD.test(c.ok), `ok pattern of a ${d.service} check (no spaces)`, c.ok);
      check(TEXT.test(c.label) && !c.label.includes(" -- "), `label of a ${d.service} check`, c.label);
      check(TEXT.test(c.command), `command of a ${d.service} check (one line)`, c.command);
      return `check ${d.service} ${c.eachFile ?? "-"} ${c.ok} ${c.label} -- ${c.command}`;
    }),
    ...(d.prepare ? [d.prepare].map((p) => {
      check(TEXT.test(p.label) && !p.label.includes(" -- "), `label of ${d.service}'s prepare`, p.label);
      check(TEXT.test(p.command), `command of ${d.service}'s prepare (one line)`, p.command);
      return `prepare ${d.service} ${p.label} -- ${p.command}`;
    }) : []),
  ];
}

const owner = (o: { mode: string; owner: string; group: string }) => {
  check(MODE.test(o.mode), "mode", o.mode);
  check(NAME.test(o.owner), "owner", o.owner);
  check(NAME.test(o.group), "group", o.group);
  return `${o.mode} ${o.owner} ${o.group}`;
};

/** The .manifest text; throws on anything the script could not split safely. */
export function manifest(b: ProvisionBundle): string {
  check(NAME.test(b.host.name), "host name", b.host.name);
  const written = new Set(b.files.map((f) => f.path));
  for (const r of b.remove ?? []) check(!written.has(r.path), "removal of a file the bundle writes", r.path);
  return [
    `# mailplatform bundle: read by files/provision.sh`,
    `host ${b.host.name}`,
    ...b.packages.map((p) => (check(PACKAGE.test(p), "package", p), `package ${p}`)),
    ...b.services.flatMap(daemonLines),
    ...b.accounts.map((a) => {
      check(NAME.test(a.name), "account", a.name);
      check(Number.isInteger(a.uid) && a.uid > 0 && a.uid < 65534, "uid", a.uid);
      return `account ${a.name} ${a.uid} ${checkPath(a.home)}`;
    }),
    ...b.directories.map((d) => `dir ${owner(d)} ${checkPath(d.path)}`),
    ...b.files.map((f) =>
      `file ${owner(f)} ${checkServices(f.services, b.services, f.path)} ${f.compile ?? "-"} ${f.secret ? "secret" : "-"} ${checkPath(f.path)}`),
    ...(b.remove ?? []).map((r) => `remove ${checkServices(r.services, b.services, r.path)} ${checkPath(r.path)}`),
  ].join("\n") + "\n";
}

/**
 * Writes the bundle as a browsable tree (the offline render, the lab). The directory is replaced
 * whole, so a file the renderers stopped writing does not linger; refuses to replace a directory
 * that is not a bundle. Secret files are 0600 in the tree, whatever they hold.
 */
export function writeBundle(dir: string, b: ProvisionBundle): void {
  const text = manifest(b);
  if (fs.existsSync(dir)) {
    if (fs.readdirSync(dir).length > 0 && !fs.existsSync(path.join(dir, MANIFEST))) {
      throw new Error(`${dir} exists and is not a bundle: not replacing it`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const f of b.files) {
    const target = path.join(dir, f.path);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    fs.writeFileSync(target, f.content, { mode: f.secret ? 0o600 : 0o644 });
  }
  fs.writeFileSync(path.join(dir, MANIFEST), text, { mode: 0o644 });
  const secrets = secretValuesText(b);
  if (secrets !== undefined) fs.writeFileSync(path.join(dir, SECRET_VALUES), secrets, { mode: 0o600 });
}

/**
 * The bundle as a tar the Pulumi layer sends over stdin (`provision.sh apply -`). A plain POSIX
 * ustar writer rather than a library: it is synchronous (usable inside an apply), deterministic
 * (bundle order, mtime 0, uid 0: the same bundle always packs to the same bytes, so its hash is a
 * stable trigger) and headers are ASCII, so the archive survives a round trip through a UTF-8 string.
 */
export function packBundle(b: ProvisionBundle): Buffer {
  const secrets = secretValuesText(b);
  const entries: [string, string, number][] = [
    [MANIFEST, manifest(b), 0o644],
    ...(secrets === undefined ? [] : [[SECRET_VALUES, secrets, 0o600] as [string, string, number]]),
    ...b.files.map((f): [string, string, number] => [f.path.slice(1), f.content, f.secret ? 0o600 : 0o644]),
  ];
  const blocks = entries.flatMap(([name, content, mode]) => {
    const data = Buffer.from(content, "utf8");
    const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
    return [ustarHeader(name, data.length, mode), data, padding];
  });
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

function ustarHeader(name: string, size: number, mode: number): Buffer {
  // Names longer than 100 bytes go into the 155-byte prefix, split at a slash.
  let prefix = "";
  if (name.length > 100) {
    const cut = name.lastIndexOf("/", 155);
    check(cut > 0 && name.length - cut - 1 <= 100, "path (too long for ustar)", name);
    [prefix, name] = [name.slice(0, cut), name.slice(cut + 1)];
  }
  const h = Buffer.alloc(512);
  const put = (offset: number, length: number, value: string) => h.write(value, offset, length, "ascii");
  const octal = (offset: number, length: number, value: number) => put(offset, length, value.toString(8).padStart(length - 1, "0"));
  put(0, 100, name);
  octal(100, 8, mode);
  octal(108, 8, 0); // uid
  octal(116, 8, 0); // gid
  octal(124, 12, size);
  octal(136, 12, 0); // mtime
  put(148, 8, "        "); // checksum field counts as spaces while summing
  put(156, 1, "0"); // regular file
  put(257, 8, "ustar\u000000");
  put(265, 32, "root");
  put(297, 32, "root");
  put(345, 155, prefix);
  const sum = h.reduce((a, byte) => a + byte, 0);
  put(148, 8, sum.toString(8).padStart(6, "0") + "\u0000 ");
  return h;
}
