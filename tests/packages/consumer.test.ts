// The two packages used from outside this repository: `npm pack` both (which builds them), install
// the tarballs into an empty project in a temporary directory with nothing but registry packages
// beside them, and run a small program there that builds MailPlatform under Pulumi's mocks. The
// resource graph must be the one the checkout builds, every file the packages read at run time
// must come from the installed packages (never from this checkout), and `pulumi package add` must
// find the plugin's component in what was installed.
import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStackConfig } from "../../components/core/src/spec/load";
import { REPO } from "../support/stacks";
import { stackRun } from "../openstack/helpers";

const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });

/** The consumer's program: the repository's mock runner, resolving @mailplatform/* from the installed tarballs. */
const RECORD_READS = `
// Every file the program reads, to show where the packages take their runtime files from. Loaded
// first, before any module copies fs's functions.
import * as fs from "fs";
import * as path from "path";
export const read: string[] = [];
const readFileSync = fs.readFileSync;
(require("fs") as { readFileSync: unknown }).readFileSync = (file: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
  if (typeof file === "string") read.push(path.resolve(file));
  return (readFileSync as (...a: unknown[]) => unknown)(file, ...rest);
};
`;

const PROGRAM = `
import { read } from "./record-reads";
import * as fs from "fs";
import { hostScriptPath, parseSpec } from "@mailplatform/core";
import { runUnderMocks } from "./resources";

const spec = parseSpec(JSON.parse(fs.readFileSync("config.json", "utf8")), "staging");
runUnderMocks(spec).then((run) => {
  const scripts = Object.fromEntries((["provision.sh", "health-check.sh", "mount-volume.sh"] as const).map((s) => [s, hostScriptPath(s)]));
  fs.writeFileSync("result.json", JSON.stringify({ resources: run.resources.map((r) => ({ type: r.type, name: r.name, parent: r.parent })), outputs: run.outputs, scripts, read }));
});
`;

describe("packages used outside the repository", function () {
  this.timeout(15 * 60 * 1000);
  let dir: string;
  let app: string;
  let result: { resources: { type: string; name: string; parent: string }[]; outputs: Record<string, unknown>; scripts: Record<string, string>; read: string[] };
  let tarballs: Record<string, string[]>;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mailplatform-consumer-"));
    app = path.join(dir, "app");
    fs.mkdirSync(app);
    const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", dir, "-w", "@mailplatform/core", "-w", "@mailplatform/openstack"], REPO)) as { name: string; filename: string; files: { path: string }[] }[];
    tarballs = Object.fromEntries(packed.map((p) => [p.name, p.files.map((f) => f.path)]));
    const file = (name: string) => `file:../${packed.find((p) => p.name === name)!.filename}`;
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, dependencies: { "@mailplatform/core": file("@mailplatform/core"), "@mailplatform/openstack": file("@mailplatform/openstack") } }, null, 2));
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], app);
    fs.copyFileSync(path.join(REPO, "scripts", "resources.ts"), path.join(app, "resources.ts"));
    fs.writeFileSync(path.join(app, "record-reads.ts"), RECORD_READS);
    fs.writeFileSync(path.join(app, "program.ts"), PROGRAM);
    fs.writeFileSync(path.join(app, "config.json"), JSON.stringify(readStackConfig(path.join(REPO, "Pulumi.staging.yaml"))));
    run(path.join(REPO, "node_modules", ".bin", "tsx"), ["program.ts"], app);
    result = JSON.parse(fs.readFileSync(path.join(app, "result.json"), "utf8"));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("installs both tarballs and only registry packages besides", () => {
    const lock = JSON.parse(fs.readFileSync(path.join(app, "package-lock.json"), "utf8")) as { packages: Record<string, { resolved?: string; link?: boolean; integrity?: string }> };
    const installed = Object.entries(lock.packages).filter(([p]) => p !== "");
    assert.deepEqual(installed.filter(([p]) => p.includes("@mailplatform/")).map(([p, meta]) => [p, meta.resolved]).sort(), [
      ["node_modules/@mailplatform/core", "file:../mailplatform-core-0.1.0.tgz"],
      ["node_modules/@mailplatform/openstack", "file:../mailplatform-openstack-0.1.0.tgz"],
    ]);
    for (const [p, meta] of installed.filter(([p]) => !p.includes("@mailplatform/"))) {
      // npm leaves `resolved` out where it is the configured registry's; the integrity is the registry's then.
      assert.ok(!meta.link && (meta.resolved === undefined ? /^sha512-/.test(meta.integrity ?? "") : meta.resolved.startsWith("https://registry.npmjs.org/")), `${p} comes from the registry`);
    }
  });

  it("ships JavaScript with type declarations, the host scripts and the static files", () => {
    const core = tarballs["@mailplatform/core"];
    const openstack = tarballs["@mailplatform/openstack"];
    for (const f of ["dist/index.js", "dist/index.d.ts", "dist/files/provision.sh", "dist/files/health-check.sh", "dist/files/mount-volume.sh", "static/dovecot/sieve/spam-to-junk.sieve"]) assert.ok(core.includes(f), `core ships ${f}`);
    for (const f of ["dist/index.js", "dist/index.d.ts", "dist/policy/index.js", "dist/policy/PulumiPolicy.yaml", "PulumiPlugin.yaml", "plugin/index.ts", "plugin/package.json"]) assert.ok(openstack.includes(f), `openstack ships ${f}`);
    assert.deepEqual([...core, ...openstack].filter((f) => f.startsWith("src/") || (f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.startsWith("plugin/"))), [], "no TypeScript source to compile");
    // The shipped scripts are files/'s, byte for byte.
    for (const s of ["provision.sh", "health-check.sh", "mount-volume.sh"]) {
      assert.equal(fs.readFileSync(result.scripts[s], "utf8"), fs.readFileSync(path.join(REPO, "files", s), "utf8"), s);
    }
  });

  it("reads every runtime file from the installed packages, never from the checkout", () => {
    const installed = path.join(app, "node_modules", "@mailplatform", "core", "dist", "files");
    for (const [s, p] of Object.entries(result.scripts)) assert.equal(p, path.join(installed, s));
    const packages = path.join(app, "node_modules", "@mailplatform");
    const read = [...new Set(result.read)];
    assert.deepEqual(read.filter((f) => f.startsWith(REPO)), [], "nothing read from the checkout");
    for (const f of ["core/dist/files/provision.sh", "core/dist/files/health-check.sh", "core/dist/files/mount-volume.sh", "core/static/dovecot/sieve/spam-to-junk.sieve", "core/static/dovecot/sieve/report-spam.sieve"]) {
      assert.ok(read.includes(path.join(packages, f)), `read ${f} from the installed package`);
    }
  });

  it("builds the same resource graph as the checkout", async () => {
    const { run: repo } = await stackRun("staging");
    const shape = (rs: { type: string; name: string; parent: string }[]) => rs.map((r) => `${r.type} ${r.name} < ${r.parent.split("::").pop()}`).sort();
    assert.deepEqual(shape(result.resources), shape(repo.resources));
    assert.deepEqual(Object.keys(result.outputs).sort(), ["dnsRecords", "endpoints", "inventory", "zoneFiles"]);
    assert.equal(result.resources.filter((r) => r.type === "openstack:compute/instance:Instance").length, 9);
  });

  it("lets `pulumi package add` find MailPlatformStack in the installed package (its schema, as Pulumi's analyzer makes it)", () => {
    const pluginDir = path.join(app, "node_modules", "@mailplatform", "openstack", "plugin");
    assert.match(fs.readFileSync(path.join(pluginDir, "..", "PulumiPlugin.yaml"), "utf8"), /^runtime: nodejs$/m);
    const script = `
      const { Analyzer } = require("@pulumi/pulumi/provider/experimental/analyzer");
      const pkg = require("./package.json");
      const { components } = new Analyzer(__dirname, pkg.name, pkg, new Set(["MailPlatformStack"])).analyze();
      const c = components.MailPlatformStack;
      console.log(JSON.stringify({ name: pkg.name, outputs: Object.keys(c.outputs).sort(), configPlain: c.inputs.config.plain, keyOptional: c.inputs.sshPrivateKey.optional }));`;
    fs.writeFileSync(path.join(pluginDir, "analyze.js"), script);
    const schema = JSON.parse(run("node", ["analyze.js"], pluginDir));
    assert.deepEqual(schema, { name: "mailplatform", outputs: ["dnsRecords", "endpoints", "inventory", "zoneFiles"], configPlain: true, keyOptional: true });
  });
});
