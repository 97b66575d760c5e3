// A minimal milter client (protocol version 6) for the MTA checker test: it plays Postfix's part
// towards a running OpenDKIM and returns the headers the milter adds. Run as a script inside the
// test's private namespace: tsx mta-milter.ts <port|socket path> <client address> <sasl login or "-">
import * as net from "net";

export interface MilterMessage {
  client: string;
  auth?: string;
  from: string;
  to: string;
  headers: [string, string][];
  body: string;
}

export async function milterRun(target: number | string, msg: MilterMessage): Promise<{ added: [string, string][]; final: string }> {
  const sock = typeof target === "string" ? net.connect(target) : net.connect(target, "127.0.0.1");
  await new Promise<void>((ok, fail) => sock.once("connect", () => ok()).once("error", fail));
  let buf = Buffer.alloc(0);
  const queue: { cmd: string; data: Buffer }[] = [];
  const waiting: ((p: { cmd: string; data: Buffer }) => void)[] = [];
  sock.on("data", (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const n = buf.readUInt32BE(0);
      const p = { cmd: String.fromCharCode(buf[4]), data: buf.subarray(5, 4 + n) };
      buf = buf.subarray(4 + n);
      const w = waiting.shift();
      if (w) w(p);
      else queue.push(p);
    }
  });
  const next = () => new Promise<{ cmd: string; data: Buffer }>((ok) => (queue.length ? ok(queue.shift()!) : waiting.push(ok)));
  const z = (s: string) => Buffer.from(s + "\0", "binary");
  const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n, 0); return b; };
  const send = (cmd: string, ...parts: Buffer[]) => {
    const data = Buffer.concat(parts);
    const head = Buffer.alloc(5);
    head.writeUInt32BE(data.length + 1, 0);
    head[4] = cmd.charCodeAt(0);
    sock.write(Buffer.concat([head, data]));
  };
  const added: [string, string][] = [];
  // Collects header modifications until a verdict ('c' continue, 'a' accept, 'y' reply code, ...).
  const verdict = async (): Promise<string> => {
    for (;;) {
      const p = await next();
      if (p.cmd === "h" || p.cmd === "i") {
        const [name, value] = (p.cmd === "i" ? p.data.subarray(4) : p.data).toString("binary").split("\0");
        added.push([name, value]);
      } else if (p.cmd === "y") return `y ${p.data.toString("binary").replace(/\0/g, "")}`;
      else if (!"mepbfo".includes(p.cmd)) return p.cmd;
    }
  };
  send("O", u32(6), u32(0x1ff), u32(0));
  if ((await next()).cmd !== "O") throw new Error("milter option negotiation failed");
  let accepted = false;
  const step = async (cmd: string, ...parts: Buffer[]) => {
    if (accepted) return;
    send(cmd, ...parts);
    const v = await verdict();
    if (v === "a") accepted = true;
    else if (v !== "c") throw new Error(`milter answered ${v} to ${cmd}`);
  };
  const port = Buffer.alloc(2);
  port.writeUInt16BE(40000, 0);
  send("D", Buffer.from("C"), z("j"), z("smtp-out.test"), z("{daemon_name}"), z("ORIGINATING"));
  await step("C", z("client.test"), Buffer.from("4"), port, z(msg.client));
  await step("H", z("client.test"));
  send("D", Buffer.from("M"), z("i"), z("4ABC123"), ...(msg.auth ? [z("{auth_type}"), z("PLAIN"), z("{auth_authen}"), z(msg.auth)] : []));
  await step("M", z(`<${msg.from}>`));
  await step("R", z(`<${msg.to}>`));
  for (const [name, value] of msg.headers) await step("L", z(name), z(value));
  await step("N");
  await step("B", Buffer.from(msg.body, "binary"));
  let final = "a";
  if (!accepted) {
    send("E");
    final = await verdict();
  }
  send("Q");
  sock.end();
  return { added, final };
}

/** The message the checker test signs. */
export function testMessage(from: string, client: string, auth?: string): MilterMessage {
  return {
    client,
    auth,
    from,
    to: "someone@example.net",
    headers: [["From", from], ["To", "someone@example.net"], ["Subject", "signing test"], ["Date", "Mon, 1 Jan 2024 00:00:00 +0000"], ["Message-ID", "<test@mta.test>"]],
    body: "Hello,\r\n\r\nthis is a   test.\r\n",
  };
}

if (require.main === module) {
  const [target, client, auth, from] = process.argv.slice(2);
  milterRun(/^\d+$/.test(target) ? Number(target) : target, testMessage(from, client, auth === "-" ? undefined : auth))
    .then((r) => console.log(JSON.stringify(r)))
    .catch((e) => {
      console.log(JSON.stringify({ error: String(e) }));
    });
}
