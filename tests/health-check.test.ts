// files/health-check.sh, the last step of every host's push: its output goes to Pulumi's log, so it
// names what is down and where to look, never the services' own log lines (they may quote secrets).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SCRIPT = path.join(__dirname, "..", "files", "health-check.sh");

/** Runs the script with stand-ins for systemctl, ss and journalctl: `down` services inactive, no port listening. */
function healthCheck(down: string[], services: string[], ports: string[]) {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "health-"));
  const tool = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  tool("systemctl", `for a; do :; done; case " ${down.join(" ")} " in *" $a "*) exit 3;; esac; exit 0`);
  tool("journalctl", `echo "fatal: bad config line: password = hunter2-secret"`);
  tool("ss", "exit 0");
  try {
    return spawnSync("sh", [SCRIPT, services.join(","), ports.join(",")], {
      encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, HEALTH_WAIT_SECONDS: "0" },
    });
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
}

describe("health-check.sh", () => {
  it("passes when every service is active and every port listens", () => {
    const r = healthCheck([], ["postfix", "dovecot"], []);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^healthy: postfix dovecot/);
  });

  it("names the services down and where their logs are, without copying a log line", () => {
    const r = healthCheck(["dovecot"], ["postfix", "dovecot"], ["993"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unhealthy after 0s: service:dovecot port:993/);
    assert.match(r.stderr, /dovecot: see journalctl -u dovecot on /);
    assert.doesNotMatch(r.stdout + r.stderr, /hunter2|postfix: see/);
  });
});
