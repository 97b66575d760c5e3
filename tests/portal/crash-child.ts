// A portal process that dies (SIGKILL) in the middle of an apply, after its second host: for the
// crash-recovery test in apply.test.ts. argv: <stack config> <hosts dir> <state dir>.
import { ApplyRunner } from "../../portal/apply";
import { AuditLog } from "../../portal/audit";
import { readRaw, versionOf } from "../../portal/stack-config";
import { FakeTarget } from "./fake-target";
import * as path from "path";

const [configFile, hostsDir, stateDir] = process.argv.slice(2);
const target = new FakeTarget("staging", configFile, hostsDir, 50);
const runner = new ApplyRunner(target, stateDir, new AuditLog(path.join(stateDir, "audit.log")), () => readRaw(configFile));
let applied = 0;
runner.follow(runner.start("crashing-admin", versionOf(readRaw(configFile))).id, (e) => {
  if ("state" in e && e.state === "applied" && ++applied === 2) process.kill(process.pid, "SIGKILL");
});
