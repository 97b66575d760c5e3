// Runs a rendered frontend or webmail host for real, inside the private network and mount namespace
// frontend.test.ts starts it in (`unshare --net --mount`): overlays over /etc, /var and a tmpfs /run,
// the bundle's files written there, backend addresses on loopback, fake TCP/HTTP backends that
// record what they receive. Prints one JSON line of observations; the test judges them.
// Usage: tsx frontend-lab.ts <dir>/input.json   (input: LabInput; <dir> is scratch space)
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import type { HostBundle } from "../../components/core/src/files";

export interface LabInput {
  role: "frontend" | "webmail";
  bundle: HostBundle;
  /** Addresses to put on loopback (backends, test clients). */
  addresses: string[];
  /** Fake TCP backends: each answers `<name>\n` and records the PROXY header it got. */
  tcpBackends: { name: string; address: string; port: number }[];
  /** Fake HTTP backends: each answers with the request's headers as JSON. */
  httpBackends: { address: string; port: number }[];
  /** Requests to make, in order; `stop` closes a TCP backend first. */
  steps: LabStep[];
}

export type LabStep =
  | { kind: "tcp"; label: string; port: number; from?: string }
  | { kind: "stop"; name: string; port: number }
  | { kind: "http"; label: string; url: string; host: string; method?: string; from?: string; ca?: string };

export interface TcpResult { reply: string; proxyHeader?: string; backend?: string }
export interface HttpResult { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
}

/** `tmp`: an empty directory the caller removes afterwards; the overlays' upper layers live in a tmpfs there. */
function isolate(bundle: HostBundle, addresses: string[], tmp: string): void {
  fs.mkdirSync(tmp);
  sh("mount", ["-t", "tmpfs", "tmpfs", tmp]);
  for (const dir of ["etc", "var"]) {
    fs.mkdirSync(`${tmp}/up/${dir}`, { recursive: true });
    fs.mkdirSync(`${tmp}/work/${dir}`, { recursive: true });
    sh("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=/${dir},upperdir=${tmp}/up/${dir},workdir=${tmp}/work/${dir}`, `/${dir}`]);
  }
  sh("mount", ["-t", "tmpfs", "tmpfs", "/run"]);
  fs.mkdirSync("/run/php");
  // Nothing reaches the host's syslog, and the logs start empty.
  if (fs.existsSync("/dev/log")) sh("mount", ["--bind", "/dev/null", "/dev/log"]);
  fs.writeFileSync("/var/log/nginx/error.log", "");
  for (const d of bundle.directories) {
    fs.mkdirSync(d.path, { recursive: true });
    sh("chown", [`${d.owner}:${d.group}`, d.path]);
    fs.chmodSync(d.path, parseInt(d.mode, 8));
  }
  for (const f of bundle.files) {
    fs.mkdirSync(path.dirname(f.path), { recursive: true });
    fs.writeFileSync(f.path, f.content);
    sh("chown", [`${f.owner}:${f.group}`, f.path]);
    fs.chmodSync(f.path, parseInt(f.mode, 8));
  }
  sh("ip", ["link", "set", "lo", "up"]);
  for (const a of addresses) sh("ip", ["addr", "add", a.includes(":") ? `${a}/128` : `${a}/32`, "dev", "lo"]);
}

function tcpBackend(name: string, address: string, port: number, seen: Map<net.Socket, string>): Promise<net.Server> {
  const server = net.createServer((sock) => {
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      const eol = buf.indexOf("\r\n");
      if (eol >= 0) {
        seen.set(sock, buf.slice(0, eol));
        sock.end(`${name}|${buf.slice(0, eol)}\n`);
      }
    });
    sock.on("error", () => undefined);
  });
  return new Promise((resolve) => server.listen(port, address, () => resolve(server)));
}

function httpBackend(address: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  });
  return new Promise((resolve) => server.listen(port, address, () => resolve(server)));
}

function tcpClient(port: number, from?: string): Promise<TcpResult> {
  return new Promise((resolve) => {
    let data = "";
    const sock = net.connect({ host: "127.0.0.1", port, localAddress: from });
    sock.setTimeout(8000, () => sock.destroy());
    sock.on("data", (d) => (data += d.toString()));
    sock.on("error", () => undefined);
    sock.on("close", () => {
      const [backend, proxyHeader] = data.trim().split("|");
      resolve(data ? { reply: data, backend, proxyHeader } : { reply: "" });
    });
  });
}

function httpClient(step: Extract<LabStep, { kind: "http" }>): Promise<HttpResult> {
  const url = new URL(step.url);
  const secure = url.protocol === "https:";
  const options: https.RequestOptions = {
    host: "127.0.0.1",
    port: url.port || (secure ? 443 : 80),
    path: url.pathname + url.search,
    method: step.method ?? "GET",
    headers: { host: step.host },
    localAddress: step.from,
    servername: step.host,
    ca: step.ca ? fs.readFileSync(step.ca) : undefined,
  };
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(options, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(step.method === "POST" ? "<Autodiscover/>" : undefined);
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => { s.destroy(); resolve(true); });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

async function main(): Promise<void> {
  const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as LabInput;
  isolate(input.bundle, input.addresses, path.join(path.dirname(process.argv[2]), "ns"));
  const daemons: ChildProcess[] = [];
  const servers: (net.Server | http.Server)[] = [];
  const results: Record<string, unknown> = {};
  try {
    const seen = new Map<net.Socket, string>();
    const tcp = new Map<string, net.Server>();
    for (const b of input.tcpBackends) tcp.set(`${b.name}:${b.port}`, await tcpBackend(b.name, b.address, b.port, seen));
    servers.push(...tcp.values());
    for (const b of input.httpBackends) servers.push(await httpBackend(b.address, b.port));

    if (input.role === "webmail") {
      const fpm = input.bundle.services.find((d) => d.service.startsWith("php"))!;
      daemons.push(spawn(fpm.process, ["--nodaemonize"], { stdio: "inherit" }));
    }
    daemons.push(spawn("nginx", ["-g", "daemon off;"], { stdio: "inherit" }));
    await waitForPort(input.role === "frontend" ? 443 : 80);
    if (input.role === "webmail") await new Promise((r) => setTimeout(r, 500)); // php-fpm's socket

    for (const step of input.steps) {
      if (step.kind === "stop") {
        await new Promise((r) => tcp.get(`${step.name}:${step.port}`)!.close(r));
      } else if (step.kind === "tcp") {
        results[step.label] = await tcpClient(step.port, step.from);
      } else {
        results[step.label] = await httpClient(step);
      }
    }
    if (input.role === "webmail") {
      results.sqliteTables = execFileSync("sqlite3", ["/var/lib/roundcube/db/roundcube.sqlite", ".tables"]).toString();
    }
    results.errorLog = fs.readFileSync("/var/log/nginx/error.log", "utf8");
  } finally {
    for (const d of daemons) d.kill("SIGTERM");
    await Promise.all(daemons.map((d) => new Promise((r) => (d.exitCode !== null ? r(null) : d.on("exit", r)))));
    for (const s of servers) s.close();
  }
  process.stdout.write(`\nLAB ${JSON.stringify(results)}\n`);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
