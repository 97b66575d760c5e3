// npm run store-cost [-- --messages 200]
// What replica-confirmed delivery costs, on the prod lab (replicated pair): the same inbound burst
// (external-mx → every MX → LMTP into the primary maildrop) with Dovecot waiting for the peer
// (replication_sync_timeout = 5, as rendered) and without (0, Dovecot 2.3's default). Prints delivered
// messages per second (first injection → every message on both replicas) and the LMTP hop's time to
// its 250 (Postfix's delays=a/b/c/d: d, the transmission, holds the wait), p50 and p99.
// The maildrops get their rendered configuration back at the end.
import { parseArgs } from "util";
import { labDown, labUp, readInventory } from "../lab";
import { percentile } from "../lab/bench";
import { inventoryExists } from "../lab/inventory";
import { injectInbound, platform, storedIds } from "../tests/faults/suite";
import { inHost } from "../tests/lab/harness";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CONF = "/etc/dovecot/dovecot.conf";

/** The LMTP hop's transmission times (seconds) of this run's messages, from every smtp-in's log. */
function lmtpSeconds(smtpIns: string[], run: string): number[] {
  return smtpIns.flatMap((h) => {
    const log = inHost(h, ["cat", "/var/log/messages"]);
    const ids = new Set([...log.matchAll(/cleanup\[\d+\]: (\w+): message-id=<([^>]+)>/g)].filter((m) => m[2].startsWith(run)).map((m) => m[1]));
    return [...log.matchAll(/postfix\/maildrop\/lmtp\[\d+\]: (\w+): to=.* delays=[\d.]+\/[\d.]+\/[\d.]+\/([\d.]+), .*status=sent/g)]
      .filter((m) => ids.has(m[1])).map((m) => Number(m[2]));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { messages: { type: "string", default: "200" } } });
  const count = Number(values.messages);
  if (inventoryExists() && readInventory().stack !== "prod") await labDown();
  await labUp("prod", () => undefined);
  const p = platform();
  const maildrops = p.role("maildrop");
  const rows: string[] = [];
  try {
    for (const [mode, timeout] of [["waits for the peer (rendered)", 5], ["asynchronous (2.3's default)", 0]] as const) {
      for (const m of maildrops) {
        inHost(m, ["sed", "-i", `s/^  replication_sync_timeout = .*/  replication_sync_timeout = ${timeout}/`, CONF]);
        inHost(m, ["doveadm", "reload"]);
      }
      await sleep(2_000);
      const run = `cost${timeout}x${Date.now().toString(36)}`;
      const started = Date.now();
      const ids = await injectInbound(p, run, { inbound: count, inboundRate: 100, submissions: 0, submissionIntervalMs: 0 });
      let seconds = NaN;
      for (let i = 0; i < 600; i++) {
        const a = storedIds(maildrops[0], run);
        const b = storedIds(maildrops[1], run);
        if (ids.every((id) => a.has(id) && b.has(id))) {
          seconds = (Date.now() - started) / 1000;
          break;
        }
        await sleep(500);
      }
      const lmtp = lmtpSeconds(p.role("smtp-in"), run);
      rows.push(`| ${mode} | ${count} | ${seconds.toFixed(1)} | ${(count / seconds).toFixed(1)} | ${(percentile(lmtp, 50) * 1000).toFixed(0)} | ${(percentile(lmtp, 99) * 1000).toFixed(0)} |`);
      console.log(rows[rows.length - 1]);
    }
  } finally {
    // The rendered configuration back: provision.sh rewrites what differs from the bundle and reloads.
    await labUp("prod", () => undefined);
  }
  console.log(`\nstore cost, prod lab, ${new Date().toISOString()}, ${readInventory().hosts.length} hosts:\n`);
  console.log("| replication | messages | first injected → all on both replicas (s) | delivered/s | LMTP 250 p50 (ms) | LMTP 250 p99 (ms) |");
  console.log("|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
