// The world outside a frontend or webmail host that a test runs (provision.sh apply in a sandbox):
// fake TCP/HTTP backends that record what they receive, and clients, all in a sandbox linked to the
// host. Prints one JSON line of observations; the test judges them.
// Usage: tsx frontend-lab.ts <input.json>   (input: LabInput)
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";

export interface LabInput {
  /** The host's address: every client connects there. */
  target: string;
  /** Files the clients read (a CA), by path. */
  files?: Record<string, string>;
  /** Fake TCP backends: each answers `<name>\n` and records the PROXY header it got. */
  tcpBackends: { name: string; address: string; port: number }[];
  /**
   * Fake HTTP backends: each answers with the request's headers as JSON; over TLS given a certificate
   * and key (paths). Like Roundcube, each sends X-Frame-Options, and `downloadCsp` for `_download=1`.
   */
  httpBackends: { address: string; port: number; tls?: { cert: string; key: string }; downloadCsp?: string }[];
  /** Requests to make, in order; `stop` closes a TCP backend first. */
  steps: LabStep[];
}

export type LabStep =
  | { kind: "tcp"; label: string; port: number; from?: string }
  | { kind: "stop"; name: string; port: number }
  | { kind: "http"; label: string; url: string; host: string; method?: string; from?: string; ca?: string };

export interface TcpResult { reply: string; proxyHeader?: string; backend?: string }
export interface HttpResult { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function tcpBackend(name: string, address: string, port: number): Promise<net.Server> {
  const server = net.createServer((sock) => {
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      const eol = buf.indexOf("\r\n");
      if (eol >= 0) {
        sock.end(`${name}|${buf.slice(0, eol)}\n`);
      }
    });
    sock.on("error", () => undefined);
  });
  return new Promise((resolve) => server.listen(port, address, () => resolve(server)));
}

function httpBackend(b: LabInput["httpBackends"][number]): Promise<http.Server> {
  const { address, port } = b;
  const answer: http.RequestListener = (req, res) => {
    res.setHeader("content-type", "application/json");
    res.setHeader("x-frame-options", "sameorigin");
    if (b.downloadCsp && req.url?.includes("_download=1")) res.setHeader("content-security-policy", b.downloadCsp);
    res.end(JSON.stringify({ url: req.url, headers: req.headers, tls: "encrypted" in req.socket }));
  };
  const server = b.tls ? https.createServer({ cert: fs.readFileSync(b.tls.cert), key: fs.readFileSync(b.tls.key) }, answer) : http.createServer(answer);
  return new Promise((resolve) => server.listen(port, address, () => resolve(server)));
}

function tcpClient(target: string, port: number, from?: string): Promise<TcpResult> {
  return new Promise((resolve) => {
    let data = "";
    const sock = net.connect({ host: target, port, localAddress: from });
    sock.setTimeout(8000, () => sock.destroy());
    sock.on("data", (d) => (data += d.toString()));
    sock.on("error", () => undefined);
    sock.on("close", () => {
      const [backend, proxyHeader] = data.trim().split("|");
      resolve(data ? { reply: data, backend, proxyHeader } : { reply: "" });
    });
  });
}

function httpClient(target: string, step: Extract<LabStep, { kind: "http" }>): Promise<HttpResult> {
  const url = new URL(step.url);
  const secure = url.protocol === "https:";
  const options: https.RequestOptions = {
    host: target,
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

async function main(): Promise<void> {
  const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as LabInput;
  const results: Record<string, unknown> = {};
  for (const [p, content] of Object.entries(input.files ?? {})) fs.writeFileSync(p, content);
  const tcp = new Map<string, net.Server>();
  for (const b of input.tcpBackends) tcp.set(`${b.name}:${b.port}`, await tcpBackend(b.name, b.address, b.port));
  for (const b of input.httpBackends) await httpBackend(b);
  for (const step of input.steps) {
    if (step.kind === "stop") {
      await new Promise((r) => tcp.get(`${step.name}:${step.port}`)!.close(r));
    } else if (step.kind === "tcp") {
      results[step.label] = await tcpClient(input.target, step.port, step.from);
    } else {
      results[step.label] = await httpClient(input.target, step);
    }
  }
  process.stdout.write(`\nLAB ${JSON.stringify(results)}\n`);
  process.exit(0); // the backends would keep it running
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
