// The change set from the renderer (which hosts and files change, which services reload) and the
// Pulumi target driven through a double of the Automation API's stack that emits real engine
// event shapes: the Pulumi CLI cannot run on these machines (see the README).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { loadStackSpec, maskedSecrets, parseSpec, readStackConfig, renderPlatform } from "../../components/core/src";
import { ApplyRunner } from "../../portal/apply";
import { AuditLog } from "../../portal/audit";
import { changedHosts, filesOf } from "../../portal/changeset";
import { versionOf } from "../../portal/stack-config";
import { AutomationStack, progressOf, PulumiTarget } from "../../portal/targets/pulumi";
import { presentation } from "../../portal/targets/lab";

const REPO = path.resolve(__dirname, "../..");
const raw = () => readStackConfig(path.join(REPO, "Pulumi.staging.yaml"));
const withMailbox = (r: Record<string, unknown>) => ({ ...r, users: [...(r.users as object[]), { address: "new@staging.example.com", passwordHash: "{BLF-CRYPT}$2y$10$abcdefghijklmnopqrstuu" }] });
const bundles = (r: Record<string, unknown>) => {
  const spec = parseSpec(r, "staging");
  return renderPlatform(spec, maskedSecrets(spec));
};

describe("portal change sets", () => {
  it("a new mailbox changes smtp-in's recipients (Postfix reloads) and the users of smtp-out and the maildrops (Dovecot reloads), nothing else", () => {
    const now = new Map(bundles(raw()).map((b) => [b.host.name, filesOf(b)]));
    const changes = changedHosts(bundles(withMailbox(raw())), (h) => now.get(h));
    const spec = loadStackSpec(REPO, "staging");
    const of = (role: "smtp-in" | "smtp-out" | "maildrop") => spec.placement.sites[role].map((s) => `${role}-${s}`);
    assert.deepEqual(changes.map((c) => c.host), [...of("smtp-in"), ...of("smtp-out"), ...of("maildrop")]);
    for (const c of changes) {
      assert.ok(c.files.every((f) => f.change === "changed"), JSON.stringify(c.files));
      const [file, service] = c.role === "smtp-in" ? ["/etc/postfix/", "postfix"] : ["/etc/dovecot/", "dovecot"];
      assert.ok(c.files.some((f) => f.path.startsWith(file)), JSON.stringify(c.files));
      assert.ok(c.services.some((s) => s.service === service && s.action === "reload"), JSON.stringify(c.services));
      assert.ok(!c.services.some((s) => s.service === "nginx" || s.service === "rspamd"), JSON.stringify(c.services));
    }
  });

  it("a host with no files yet gets every file added; a file no longer rendered is removed and its host's daemons reload", () => {
    const [first] = bundles(raw());
    assert.equal(changedHosts([first], () => undefined)[0].files.length, first.files.length);
    const extra = new Map([...filesOf(first), ["/etc/obsolete.conf", "x"]]);
    const c = changedHosts([first], () => extra)[0];
    assert.deepEqual(c.files, [{ path: "/etc/obsolete.conf", change: "removed" }]);
    assert.deepEqual(c.services.map((s) => s.service), first.services.map((d) => d.service));
  });

  it("reads dig's TXT answers as one value", () => {
    assert.equal(presentation('"v=DKIM1; k=rsa; p=abc" "def\\"g"'), 'v=DKIM1; k=rsa; p=abcdef"g');
    assert.equal(presentation("10 smtp-in-zrh.staging.example.net."), "10 smtp-in-zrh.staging.example.net.");
  });
});

const urn = (name: string, type = "command:remote:Command") => `urn:pulumi:staging::mailplatform::mailplatform:index:MailPlatform$${type}::${name}`;
const event = (e: Partial<EngineEvent>): EngineEvent => ({ sequence: 0, timestamp: 0, ...e }) as EngineEvent;
const meta = (name: string, op = "update") => ({ metadata: { op, urn: urn(name), type: "command:remote:Command" } }) as NonNullable<EngineEvent["resourcePreEvent"]>;

describe("portal Pulumi target (Automation API, without the CLI)", () => {
  const hosts = ["smtp-in-zrh", "maildrop-zrh"];

  it("maps ConfigPush's engine events to per-host progress", () => {
    assert.deepEqual(progressOf(event({ resourcePreEvent: meta("mailplatform-smtp-in-push-smtp-in-zrh-apply") }), hosts), { host: "smtp-in-zrh", state: "pushing" });
    assert.equal(progressOf(event({ resourcePreEvent: meta("mailplatform-smtp-in-push-smtp-in-zrh-install") }), hosts), undefined);
    assert.deepEqual(progressOf(event({ resOutputsEvent: meta("mailplatform-maildrop-push-maildrop-zrh-health") }), hosts), { host: "maildrop-zrh", state: "applied" });
    assert.deepEqual(progressOf(event({ resOpFailedEvent: { ...meta("mailplatform-maildrop-push-maildrop-zrh-apply"), status: 1, steps: 1 } }), hosts), {
      host: "maildrop-zrh", state: "failed", message: "update mailplatform-maildrop-push-maildrop-zrh-apply failed",
    });
    assert.deepEqual(progressOf(event({ diagnosticEvent: { message: "boom\n", color: "never", severity: "error" } }), hosts), { state: "log", message: "boom" });
  });

  it("previews the renderer's change set and the engine's resource changes, and records what up applied", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "portal-pulumi-"));
    try {
      const calls: string[] = [];
      const stack: AutomationStack = {
        async preview({ onEvent }) {
          calls.push("preview");
          onEvent(event({ resourcePreEvent: meta("mailplatform-maildrop-push-maildrop-zrh-apply", "replace") }));
          onEvent(event({ resourcePreEvent: meta("mailplatform-net", "same") }));
          return {};
        },
        async up({ onEvent }) {
          calls.push("up");
          onEvent(event({ resourcePreEvent: meta("mailplatform-maildrop-push-maildrop-zrh-apply") }));
          onEvent(event({ resOutputsEvent: meta("mailplatform-maildrop-push-maildrop-zrh-health") }));
          return { summary: { result: "succeeded" }, outputs: { dnsRecords: { value: [{ name: "x.example", type: "A", ttl: 60, value: "192.0.2.1", scope: "public", zone: "x.example" }] } } };
        },
        async outputs() {
          return { inventory: { value: [{ name: "maildrop-zrh", role: "maildrop" }] } };
        },
      };
      const target = new PulumiTarget("staging", REPO, dir, async () => stack);
      const first = await target.preview(raw());
      assert.equal(first.hosts.length, bundles(raw()).length, "nothing applied yet: every host is new");
      assert.deepEqual(first.resources, [{ urn: urn("mailplatform-maildrop-push-maildrop-zrh-apply"), type: "command:remote:Command", op: "replace" }]);
      const progress: unknown[] = [];
      assert.deepEqual(await target.apply(raw(), (e) => progress.push(e)), { ok: true, summary: "pulumi up: succeeded" });
      assert.deepEqual(progress, [{ host: "maildrop-zrh", state: "pushing" }, { host: "maildrop-zrh", state: "applied" }]);
      assert.deepEqual((await target.preview(raw())).hosts, []);
      assert.deepEqual((await target.preview(withMailbox(raw()))).hosts.map((h) => h.role), ["smtp-in", "smtp-in", "smtp-out", "smtp-out", "maildrop", "maildrop"]);
      assert.deepEqual(target.dnsRecords().map((r) => r.name), ["x.example"]);
      assert.deepEqual(await target.hosts(), [{ name: "maildrop-zrh", role: "maildrop", state: "deployed", detail: undefined }]);
      assert.deepEqual(calls, ["preview", "up", "preview", "preview"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps its record of the last up apart from the apply runner's, in the portal's one state directory", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "portal-pulumi-"));
    try {
      const dnsRecords = [{ name: "x.example", type: "A", ttl: 60, value: "192.0.2.1", scope: "public", zone: "x.example" }];
      const stack: AutomationStack = {
        async preview() {
          return {};
        },
        async up() {
          return { summary: { result: "succeeded" }, outputs: { dnsRecords: { value: dnsRecords } } };
        },
        async outputs() {
          return {};
        },
      };
      // As portal/cli.ts builds them: the target and the runner share the state directory.
      const target = new PulumiTarget("staging", REPO, dir, async () => stack);
      const runner = new ApplyRunner(target, dir, new AuditLog(path.join(dir, "audit.log")), raw);
      runner.start("adam", versionOf(raw()));
      await runner.idle();
      assert.deepEqual((await target.preview(raw())).hosts, [], "what up applied is what the hosts run");
      assert.deepEqual(target.dnsRecords().map((r) => r.name), ["x.example"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
