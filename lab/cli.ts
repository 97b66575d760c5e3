// npm run lab -- <command>: the local lab from the command line.
import { spawnSync } from "child_process";
import {
  DEFAULT_STACK, labCrash, labDown, labFaults, labFreeze, labHeal, labPartition, labReplace, labStart, labStatus, labThaw, labUp, readInventory,
} from ".";
import { enterArgv } from "./hosts";
import { HOST_ENV } from "./system";

const USAGE = `usage: npm run lab -- <command>
  up [--stack staging|prod] [--directory]
                              start the lab (default ${DEFAULT_STACK}) or complete it; safe to repeat.
                              --directory: the stack's users and lists in an LDAP directory (host
                              directory, slapd); without it a running directory variant switches back
  down                        stop every lab host; removes namespaces, links and the bridge
  status                      every host: state, processes, memory, addresses; partitions
  exec <host> <command...>    run a command inside a host (no command: a shell)
  logs <host> [-f]            the host's syslog (/var/log/messages)
faults (the cloud's, one host at a time):
  crash <host>                kill every process of the host at once; its disk stays
  start <host>                boot it on its disk, then provision.sh apply (starts its daemons)
  replace <host>              a new VM: fresh root disk, same volumes, provisioned from scratch
  freeze <host>               SIGSTOP every process of the host: it accepts, then never answers
  thaw <host>                 SIGCONT them
  partition <host> <host>     packets between the two hosts vanish
  heal                        remove every partition`;

/** Runs an interactive command inside a host, on this terminal. */
function interactive(host: string, argv: string[]): number {
  const entry = readInventory().hosts.find((h) => h.name === host);
  if (!entry) throw new Error(`no lab host ${host} (hosts: ${readInventory().hosts.map((h) => h.name).join(", ")})`);
  const cmd = enterArgv(entry, argv);
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: "inherit", env: HOST_ENV });
  return r.status ?? 1;
}

function printStatus(): void {
  const rows = labStatus();
  console.log(`stack ${readInventory().stack}`);
  console.log(`${"host".padEnd(14)} ${"role".padEnd(11)} ${"state".padEnd(7)} ${"procs".padStart(5)} ${"MiB".padStart(5)}  addresses`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(14)} ${r.role.padEnd(11)} ${r.state.padEnd(7)} ${String(r.processes).padStart(5)} ${String(r.memoryMiB).padStart(5)}  ${r.addresses.join(", ")}`);
  }
  const total = rows.reduce((sum, r) => sum + r.memoryMiB, 0);
  console.log(`${"total".padEnd(34)} ${String(total).padStart(5)}`);
  for (const [a, b] of labFaults().partitions) console.log(`partition ${a} <-> ${b}`);
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "up": {
      const i = rest.indexOf("--stack");
      await labUp(i >= 0 ? rest[i + 1] : DEFAULT_STACK, console.log, { directory: rest.includes("--directory") });
      return 0;
    }
    case "down":
      await labDown();
      return 0;
    case "status":
      printStatus();
      return 0;
    case "exec":
      if (!rest[0]) break;
      return interactive(rest[0], rest.length > 1 ? rest.slice(1) : ["bash", "-l"]);
    case "logs":
      if (!rest[0]) break;
      return interactive(rest[0], ["tail", "-n", "200", ...(rest.includes("-f") ? ["-F"] : []), "/var/log/messages"]);
    case "crash":
    case "start":
    case "replace":
    case "freeze":
    case "thaw":
      if (rest.length !== 1) break;
      await { crash: labCrash, start: labStart, replace: labReplace, freeze: labFreeze, thaw: labThaw }[command](rest[0]);
      return 0;
    case "partition":
      if (rest.length !== 2) break;
      labPartition(rest[0], rest[1]);
      return 0;
    case "heal":
      labHeal();
      return 0;
  }
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`lab: ${e.message}`);
    process.exit(1);
  },
);
