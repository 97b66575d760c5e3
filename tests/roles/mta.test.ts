// The mail transfer agents (smtp-in, smtp-out, maildrop): Postfix, Unbound, Rspamd, PostSRSd and
// OpenDKIM. Unit tests read the rendered files against the spec; every MTA host passes
// `provision.sh check`; a running smtp-out (`provision.sh apply` in a sandbox) signs real messages
// with both OpenDKIM instances, verified with the published keys, and its Dovecot authenticates SASL.
import * as assert from "assert";
import { execFileSync } from "child_process";
import { createHash, verify } from "crypto";
import * as path from "path";
import * as fs from "fs";
import { daemons, HostBundle, HostFile, PlatformSecrets, PlatformSpec, renderHost, Role } from "../../components/core/src";
import { INTERNAL, PORTS } from "../../components/core/src/ports";
import { TLS_CA } from "../../components/core/src/shared/tls";
import { hostsOf, serviceNames } from "../../components/core/src/topology";
import { SIGNERS } from "../../components/core/src/roles/smtp-out/opendkim";
import { SASL_AUTH_SOCKET } from "../../components/core/src/shared/spool-sockets";
import { check, startHosts, together } from "../support/provision";
import { Sandbox } from "../support/sandbox";
import { passwordOf, renderStack, REPO, STACKS, withKnownPasswords } from "../support/stacks";
import { testMessage } from "./mta-milter";

const MTA_ROLES: Role[] = ["smtp-in", "smtp-out", "maildrop"];
const DOVECOT_CLIENT = path.join(__dirname, "dovecot-client.py");

function bundleOf(stack: string, role: Role, index = 0): HostBundle {
  const b = renderStack(stack).bundles.filter((x) => x.host.role === role)[index];
  assert.ok(b, `${stack} has no ${role} #${index}`);
  return b;
}

function fileOf(b: HostBundle, path: string): HostFile {
  const f = b.files.find((x) => x.path === path);
  assert.ok(f, `${b.host.name} has no ${path}`);
  return f;
}

/** main.cf as key → value, continuation lines joined. */
function mainCf(b: HostBundle): Map<string, string> {
  const text = fileOf(b, "/etc/postfix/main.cf").content.replace(/\n[ \t]+/g, " ");
  return new Map(
    text.split("\n").filter((l) => /^[a-z]/.test(l)).map((l) => {
      const i = l.indexOf("=");
      return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    }),
  );
}

const list = (v: string | undefined) => (v ?? "").split(/[,\s]+/).filter(Boolean);

/** Rows of a Postfix table: key → value. */
function table(b: HostBundle, path: string): Map<string, string> {
  return new Map(
    fileOf(b, path).content.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => {
      const m = /^(\S+)\s+(.*)$/.exec(l)!;
      return [m[1], m[2]];
    }),
  );
}

function hostedAddresses(spec: PlatformSpec): string[] {
  return [
    ...spec.users.map((u) => u.address),
    ...spec.aliases.map((a) => a.address),
    ...spec.lists.map((l) => l.address),
    ...spec.forwards.map((f) => f.address),
    ...spec.devnull,
  ];
}

for (const stack of STACKS) {
  describe(`MTA configuration (${stack})`, () => {
    it("lists every hosted address in the virtual table, catch-alls last and only for their own domain", () => {
      const { spec } = renderStack(stack);
      for (const role of MTA_ROLES) {
        const virtual = table(bundleOf(stack, role), "/etc/postfix/virtual");
        for (const a of hostedAddresses(spec)) assert.ok(virtual.has(a), `${role}: ${a} missing from virtual`);
        for (const u of [...spec.users.map((x) => x.address), ...spec.devnull]) assert.strictEqual(virtual.get(u), u);
        for (const a of spec.aliases) assert.strictEqual(virtual.get(a.address), a.to);
        for (const l of spec.lists) assert.deepStrictEqual(list(virtual.get(l.address)), l.members);
        for (const f of spec.forwards) assert.deepStrictEqual(list(virtual.get(f.address)), f.to);
        const keys = [...virtual.keys()];
        const firstCatchAll = keys.findIndex((k) => k.startsWith("@"));
        const catchAlls = spec.domains.filter((d) => d.catchAll);
        assert.deepStrictEqual(keys.filter((k) => k.startsWith("@")), catchAlls.map((d) => `@${d.name}`));
        if (firstCatchAll >= 0) assert.ok(keys.slice(firstCatchAll).every((k) => k.startsWith("@")), "catch-alls must come last");
        // RFC 2142: every hosted domain and the platform domain answer postmaster@ and abuse@.
        for (const d of [...spec.domains.map((x) => x.name), spec.platformDomain]) {
          for (const r of ["postmaster", "abuse"]) assert.ok(virtual.has(`${r}@${d}`) || spec.postmaster === `${r}@${d}`, `${r}@${d}`);
        }
      }
    });

    it("smtp-in: weighted DNSBLs, no relaying, hosted mail to the maildrop name, the rest via smtp-out with verified TLS", () => {
      const { spec } = renderStack(stack);
      const b = bundleOf(stack, "smtp-in");
      const cf = mainCf(b);
      const names = serviceNames(spec);
      assert.deepStrictEqual(list(cf.get("postscreen_dnsbl_sites")), spec.dnsbl.map((z) => `${z.zone}*${z.weight}`));
      assert.strictEqual(cf.get("postscreen_dnsbl_threshold"), String(spec.dnsblThreshold));
      assert.strictEqual(cf.get("postscreen_greet_action"), "enforce");
      assert.strictEqual(cf.get("smtpd_sasl_auth_enable"), "no");
      assert.deepStrictEqual(list(cf.get("mynetworks")), ["127.0.0.0/8", "[::1]/128"]);
      assert.ok(list(cf.get("smtpd_relay_restrictions")).includes("reject_unauth_destination"));
      assert.deepStrictEqual(list(cf.get("relay_domains")), [...spec.domains.map((d) => d.name), spec.platformDomain]);
      assert.strictEqual(cf.get("relay_recipient_maps"), "$virtual_alias_maps");
      assert.strictEqual(cf.get("relayhost"), `${names.smtpOut}:587`);
      assert.strictEqual(cf.get("smtp_tls_security_level"), "secure");
      // Rspamd down: 4xx, the sender retries at another MX.
      assert.strictEqual(cf.get("milter_default_action"), "tempfail");
      assert.strictEqual(cf.get("message_size_limit"), String(spec.limits.messageSizeBytes));
      assert.strictEqual(cf.get("smtpd_recipient_limit"), String(spec.limits.recipientsPerMessage));
      assert.strictEqual(cf.get("smtpd_client_connection_count_limit"), String(spec.limits.clientConnections));
      assert.strictEqual(cf.get("maximal_queue_lifetime"), spec.limits.queueLifetime);
      const transport = table(b, "/etc/postfix/transport");
      const [primary, backup] = hostsOf(spec, "maildrop");
      for (const d of spec.domains) assert.strictEqual(transport.get(d.name), `maildrop:inet:${primary.fqdn}:24`);
      for (const a of spec.devnull) assert.strictEqual(transport.get(a), "discard:");
      const master = fileOf(b, "/etc/postfix/master.cf").content;
      assert.match(master, /^25 +inet .* postscreen$/m);
      assert.match(master, /^465 +inet .* smtpd\n(  -o .*\n)*  -o smtpd_tls_wrappermode=yes/m);
      // Into the store over LMTP: TLS verified by host name, the backup maildrop when the primary does not answer.
      assert.match(master, new RegExp(`^maildrop +unix .* lmtp\n(  -o .*\n)*  -o lmtp_tls_security_level=secure\n(  -o .*\n)*  -o lmtp_fallback_relay=${backup.fqdn}:24$`, "m"));
      // ...over sessions kept and reused, TLS ones through tlsproxy (the benchmark's first gain).
      assert.match(master, /^maildrop +unix .* lmtp\n(  -o .*\n)*  -o lmtp_tls_connection_reuse=yes$/m);
      assert.match(master, /^tlsproxy +unix .* tlsproxy$/m);
    });

    it("smtp-in and smtp-out: a hosted recipient's quota is asked at RCPT, last, of the primary maildrop then the backup; no answer is no verdict", () => {
      const { spec } = renderStack(stack);
      const [primary, backup] = hostsOf(spec, "maildrop");
      for (const role of ["smtp-in", "smtp-out"] as Role[]) {
        const b = bundleOf(stack, role);
        const cf = mainCf(b);
        const restrictions = list(cf.get("smtpd_recipient_restrictions"));
        assert.deepStrictEqual(restrictions.slice(-2), ["check_recipient_access", "hash:/etc/postfix/quota-checked-domains"], role);
        // Only hosted domains: outside recipients' addresses never go to the maildrops.
        assert.deepStrictEqual([...table(b, "/etc/postfix/quota-checked-domains")], spec.domains.map((d) => [d.name, "store_quota"]), role);
        assert.strictEqual(cf.get("smtpd_restriction_classes"), "store_quota", role);
        assert.deepStrictEqual(cf.get("store_quota")!.split(/,\s*/),
          [primary, backup].map((h) => `check_policy_service inet:${h.fqdn}:${INTERNAL.quotaStatus}`), role);
        assert.deepStrictEqual(["smtpd_policy_service_default_action", "smtpd_policy_service_timeout", "smtpd_policy_service_try_limit"].map((k) => cf.get(k)),
          ["DUNNO", "2s", "1"], role);
      }
    });

    it("every MTA speaks TLS 1.2 or later only, as server and client, on every listener and hop (LMTP into the store too)", () => {
      for (const role of MTA_ROLES) {
        const b = bundleOf(stack, role);
        const cf = mainCf(b);
        for (const key of ["smtpd_tls_protocols", "smtpd_tls_mandatory_protocols", "smtp_tls_protocols", "smtp_tls_mandatory_protocols"]) {
          assert.strictEqual(cf.get(key), ">=TLSv1.2", `${role}: ${key}`);
        }
        // No listener or transport lowers it again.
        assert.doesNotMatch(fileOf(b, "/etc/postfix/master.cf").content, /_tls_(mandatory_)?protocols=(?!>=TLSv1\.2$)/m);
        if (role !== "maildrop") assert.match(fileOf(b, "/etc/postfix/master.cf").content, /^  -o lmtp_tls_protocols=>=TLSv1\.2$/m);
      }
    });

    it("smtp-in: PostSRSd rewrites into the platform domain and keeps hosted senders", () => {
      const { spec, secrets } = renderStack(stack);
      const b = bundleOf(stack, "smtp-in");
      const defaults = fileOf(b, "/etc/default/postsrsd").content;
      assert.match(defaults, new RegExp(`^SRS_DOMAIN=${spec.platformDomain.replace(/\./g, "\\.")}$`, "m"));
      assert.match(defaults, new RegExp(`^SRS_EXCLUDE_DOMAINS=${spec.domains.map((d) => d.name).join(",")}$`, "m"));
      const secret = fileOf(b, "/etc/postsrsd.secret");
      assert.strictEqual(secret.content.trim(), secrets.srsSecret);
      assert.deepStrictEqual([secret.secret, secret.owner, secret.mode], [true, "root", "0600"]);
    });

    it("smtp-out: SASL only after TLS, proxied listeners, relaying MTAs in mynetworks, sender ownership", () => {
      const { spec } = renderStack(stack);
      const b = bundleOf(stack, "smtp-out");
      const cf = mainCf(b);
      assert.strictEqual(cf.get("smtpd_tls_security_level"), "encrypt");
      assert.strictEqual(cf.get("smtpd_tls_auth_only"), "yes");
      assert.strictEqual(cf.get("smtpd_sasl_path"), "private/auth");
      assert.deepStrictEqual(list(cf.get("smtpd_client_restrictions")), ["permit_sasl_authenticated", "permit_mynetworks", "reject"]);
      const relaying = [...hostsOf(spec, "smtp-in"), ...hostsOf(spec, "maildrop")].map((h) => `${h.address}/32`);
      assert.deepStrictEqual(list(cf.get("mynetworks")), ["127.0.0.0/8", "[::1]/128", ...relaying]);
      assert.strictEqual(cf.get("smtpd_client_message_rate_limit"), String(spec.limits.submissionMessageRate));
      assert.strictEqual(cf.get("smtpd_client_recipient_rate_limit"), String(spec.limits.submissionRecipientRate));
      assert.deepStrictEqual(list(cf.get("smtpd_milters")), ["inet:127.0.0.1:11332", SIGNERS.rsa.milter, SIGNERS.ed25519.milter]);
      const master = fileOf(b, "/etc/postfix/master.cf").content;
      for (const port of [10587, 10465]) {
        const service = new RegExp(`^${port} +inet .* smtpd\\n((?:  -o .*\\n)*)`, "m").exec(master)?.[1] ?? "";
        assert.match(service, /^  -o smtpd_upstream_proxy_protocol=haproxy$/m, `${port}`);
        // Only a SASL login submits there: the client address comes from the PROXY header.
        assert.match(service, /^  -o mynetworks=127\.0\.0\.0\/8$/m, `${port}`);
        assert.match(service, /^  -o smtpd_client_restrictions=permit_sasl_authenticated,reject$/m, `${port}`);
        assert.match(service, /^  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject$/m, `${port}`);
      }
      for (const port of [587, 465]) assert.match(master, new RegExp(`^${port} +inet .* smtpd$`, "m"));
      assert.doesNotMatch(master, /^25 /m);

      // Each address is owned by logins that receive its mail, and nobody else: no shared webmail login.
      const logins = table(b, "/etc/postfix/sender-logins");
      for (const u of spec.users) assert.deepStrictEqual(list(logins.get(u.address)), [u.address]);
      // An alias belongs to the user it reaches; a list to its hosted member users.
      for (const a of spec.aliases.filter((x) => spec.users.some((u) => u.address === x.to))) {
        assert.deepStrictEqual(list(logins.get(a.address)), [a.to]);
      }
      for (const l of spec.lists) {
        const users = l.members.filter((m) => spec.users.some((u) => u.address === m));
        assert.deepStrictEqual(list(logins.get(l.address)), users);
      }
      // Relay clients (servers) send as other addresses of the hosted domains, never a user's own.
      for (const d of spec.domains) {
        assert.deepStrictEqual(list(logins.get(`@${d.name}`)), spec.relayClients.map((c) => c.name));
      }
      // The null sender only from $mynetworks (smtp-in's and the maildrops' bounces), never from a login.
      assert.deepStrictEqual(list(cf.get("smtpd_sender_restrictions")), [
        "reject_non_fqdn_sender", "reject_authenticated_sender_login_mismatch", "permit_mynetworks", "check_sender_access", "hash:/etc/postfix/null-sender",
      ]);
      assert.match(table(b, "/etc/postfix/null-sender").get("<>")!, /^REJECT /);
      const owners = [...logins.values()].flatMap(list);
      assert.ok(!owners.includes("roundcube"), "the webmail has no login of its own");
      for (const u of spec.users) for (const c of spec.relayClients) assert.ok(!list(logins.get(u.address)).includes(c.name));
    });

    it("maildrop: Postfix listens nowhere (mail arrives over LMTP), delivers what is made here to hosted mailboxes over LMTP, the rest through smtp-out", () => {
      const { spec } = renderStack(stack);
      for (const b of renderStack(stack).bundles.filter((x) => x.host.role === "maildrop")) {
        const cf = mainCf(b);
        assert.doesNotMatch(fileOf(b, "/etc/postfix/master.cf").content, /^\S+ +inet /m);
        assert.deepStrictEqual(list(cf.get("virtual_mailbox_domains")), spec.domains.map((d) => d.name));
        assert.strictEqual(cf.get("virtual_transport"), "lmtp:unix:private/dovecot-lmtp");
        assert.strictEqual(cf.get("relayhost"), `${serviceNames(spec).smtpOut}:587`);
        assert.deepStrictEqual([...table(b, "/etc/postfix/mailboxes").keys()], spec.users.map((u) => u.address));
      }
    });

    it("OpenDKIM: both keys of every active selector for every domain, none for published ones, keys 0600", () => {
      const { spec, secrets } = renderStack(stack);
      const b = bundleOf(stack, "smtp-out");
      const active = (d: (typeof spec.domains)[number]) => d.dkimSelectors.filter((s) => s.state === "active").length;
      for (const alg of ["rsa", "ed25519"] as const) {
        const keyTable = fileOf(b, `/etc/opendkim/KeyTable-${alg}`).content.trim().split("\n");
        assert.strictEqual(keyTable.length, spec.domains.reduce((n, d) => n + active(d), 0));
        const signing = fileOf(b, `/etc/opendkim/SigningTable-${alg}`).content;
        for (const d of spec.domains) {
          for (const s of d.dkimSelectors) {
            const name = `${s.name}-${alg}._domainkey.${d.name}`;
            assert.strictEqual(signing.includes(`*@${d.name} ${name}\n`), s.state === "active", name);
            const key = b.files.find((f) => f.path === `/etc/opendkim/keys/${d.name}/${s.name}-${alg}.pem`);
            assert.strictEqual(!!key, s.state === "active");
            if (key) {
              assert.strictEqual(key.content, secrets.dkim[d.name][s.name][alg].privateKeyPem);
              assert.deepStrictEqual([key.secret, key.owner, key.mode], [true, "opendkim", "0600"]);
            }
          }
        }
        assert.match(fileOf(b, SIGNERS[alg].conf).content, new RegExp(`^SignatureAlgorithm +${SIGNERS[alg].signatureAlgorithm}$`, "m"));
      }
    });

    it("OpenDKIM: each signer is its own service, startable with systemd and without", () => {
      const b = bundleOf(stack, "smtp-out");
      const signer = (alg: "rsa" | "ed25519") => daemons(renderStack(stack).spec.debianRelease)[SIGNERS[alg].daemon];
      assert.deepStrictEqual(b.services.map((d) => d.service).filter((s) => s.startsWith("opendkim")), ["opendkim", "opendkim-ed25519"]);
      for (const alg of ["rsa", "ed25519"] as const) {
        assert.deepStrictEqual(fileOf(b, SIGNERS[alg].conf).services, [signer(alg).service]);
        assert.match(fileOf(b, SIGNERS[alg].conf).content, new RegExp(`^PidFile +${signer(alg).pidFile}$`, "m"));
      }
      const init = fileOf(b, "/etc/init.d/opendkim-ed25519");
      const unit = fileOf(b, "/etc/systemd/system/opendkim-ed25519.service").content;
      assert.strictEqual(init.mode, "0755");
      for (const text of [init.content, unit]) {
        assert.ok(text.includes(SIGNERS.ed25519.conf) && text.includes(signer("ed25519").pidFile!), text);
      }
    });

    it("Rspamd: milter on loopback, controller secret readable by _rspamd only, offline modules off", () => {
      const { spec, secrets } = renderStack(stack);
      const inbound = bundleOf(stack, "smtp-in");
      const outbound = bundleOf(stack, "smtp-out");
      for (const b of [inbound, outbound]) {
        const controller = fileOf(b, "/etc/rspamd/local.d/worker-controller.inc");
        assert.deepStrictEqual([controller.secret, controller.owner, controller.mode], [true, "_rspamd", "0600"]);
        // Hashes only: neither clear password is on the host.
        assert.match(controller.content, /^password = "\$1\$[a-z0-9]{32}\$[a-z0-9]{52}";$/m);
        for (const clear of [secrets.rspamdControllerPassword, secrets.rspamdEnablePassword]) assert.ok(!b.files.some((f) => f.content.includes(clear)), b.host.name);
        assert.match(fileOf(b, "/etc/rspamd/local.d/worker-proxy.inc").content, /bind_socket = "127\.0\.0\.1:11332";\nmilter = yes;/);
        assert.match(fileOf(b, "/etc/rspamd/override.d/fuzzy_check.conf").content, /enabled = false/);
        // Redis on a local socket only, and Rspamd on that socket.
        const redis = fileOf(b, "/etc/redis/redis.conf").content;
        assert.match(redis, /^port 0$/m);
        const socket = /^unixsocket (\/\S+)$/m.exec(redis)?.[1];
        assert.ok(socket, redis);
        assert.equal(fileOf(b, "/etc/rspamd/local.d/redis.conf").content.trim(), `servers = "${socket}";`);
        for (const f of b.files.filter((x) => x.path.startsWith("/etc/rspamd/"))) assert.doesNotMatch(f.content, /https?:\/\//, f.path);
      }
      // Separate read and learning passwords; without one only from 127.0.0.1 and ::1.
      for (const b of [inbound, outbound]) {
        const controller = fileOf(b, "/etc/rspamd/local.d/worker-controller.inc").content;
        const hash = (key: string) => new RegExp(`^${key} = "(.*)";$`, "m").exec(controller)![1];
        assert.notEqual(secrets.rspamdEnablePassword, secrets.rspamdControllerPassword);
        // Each hash is its own password's, as Rspamd checks it. rspamadm pw reads the password from a
        // terminal (script's), and flushes what was typed before its prompt: hence the pause.
        const verdict = (encrypted: string, password: string) => execFileSync("sh", ["-c",
          `(sleep 0.5; printf '%s\\n' "$PASSWORD") | script -qc "rspamadm pw --check -p '$ENCRYPTED'" /dev/null`],
        { env: { ...process.env, PASSWORD: password, ENCRYPTED: encrypted }, encoding: "utf8" });
        assert.match(verdict(hash("password"), secrets.rspamdControllerPassword), /password correct/);
        assert.match(verdict(hash("enable_password"), secrets.rspamdEnablePassword), /password correct/);
        assert.match(verdict(hash("enable_password"), secrets.rspamdControllerPassword), /password incorrect/);
        assert.match(controller, /^secure_ip = \["127\.0\.0\.1", "::1"\];$/m);
        // The controller itself listens on loopback only.
        assert.deepStrictEqual([...controller.matchAll(/bind_socket = "([^"]+)";/g)].map((m) => m[1]), ["127.0.0.1:11335"]);
      }
      // The maildrops reach the inbound controller through NGINX's TLS on 11334, and only they.
      const door = fileOf(inbound, "/etc/nginx/mailplatform/http.conf").content;
      assert.match(door, /listen 11334 ssl;/);
      assert.deepStrictEqual([...door.matchAll(/allow (\S+);/g)].map((m) => m[1]), hostsOf(spec, "maildrop").map((h) => h.address));
      assert.match(door, /deny all;/);
      assert.match(door, /proxy_pass http:\/\/127\.0\.0\.1:11335;\s*proxy_bind 127\.0\.0\.2;/);
      assert.match(door, /ssl_protocols TLSv1\.2 TLSv1\.3;/);
      assert.ok(!outbound.files.some((f) => f.path === "/etc/nginx/mailplatform/http.conf"));
      assert.match(fileOf(inbound, "/etc/rspamd/local.d/actions.conf").content, /greylist = 4;/);
      assert.match(fileOf(outbound, "/etc/rspamd/local.d/greylist.conf").content, /enabled = false;/);
      assert.match(fileOf(outbound, "/etc/rspamd/local.d/ratelimit.conf").content, new RegExp(`rate = "${spec.limits.submissionMessageRate} / 1min"`));
    });

    it("Unbound: every host's address, equal MX for smtp-out, no MX for the store (reached by host name)", () => {
      const { spec } = renderStack(stack);
      const names = serviceNames(spec);
      const conf = fileOf(bundleOf(stack, "maildrop"), "/etc/unbound/unbound.conf").content;
      for (const b of renderStack(stack).bundles) assert.ok(conf.includes(`"${b.host.fqdn}. 300 IN A ${b.host.address}"`), b.host.fqdn);
      assert.ok(!/"maildrop\.[^"]* IN MX /.test(conf), "no MX for the store");
      for (const h of hostsOf(spec, "smtp-out")) assert.ok(conf.includes(`"${names.smtpOut}. 300 IN MX 10 ${h.fqdn}."`));
      assert.strictEqual(conf.includes("forward-zone:"), spec.dns.forwarders.length > 0);
      for (const role of MTA_ROLES) assert.match(fileOf(bundleOf(stack, role), "/etc/resolv.conf").content, /^nameserver 127\.0\.0\.1$/m);
    });
  });
}

/** Verifies one relaxed/relaxed DKIM signature over a message (RFC 6376, RFC 8463 for Ed25519). */
function dkimValid(headers: [string, string][], body: string, signature: string, publicKeyPem: string): boolean {
  const tags = new Map(signature.replace(/\s+/g, "").split(";").filter(Boolean).map((t): [string, string] => [t.slice(0, t.indexOf("=")), t.slice(t.indexOf("=") + 1)]));
  const lines = body.split("\r\n").map((l) => l.replace(/[ \t]+/g, " ").replace(/ $/, ""));
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  const canonBody = lines.length ? lines.join("\r\n") + "\r\n" : "";
  if (createHash("sha256").update(canonBody).digest("base64") !== tags.get("bh")) return false;
  const relaxed = (n: string, v: string) => `${n.toLowerCase()}:${v.replace(/\r?\n/g, "").replace(/[ \t]+/g, " ").trim()}`;
  const remaining = [...headers];
  let data = "";
  for (const name of tags.get("h")!.split(":")) {
    const i = remaining.map(([n]) => n.toLowerCase()).lastIndexOf(name.toLowerCase());
    if (i < 0) continue; // over-signed: a header that is absent
    data += relaxed(...remaining[i]) + "\r\n";
    remaining.splice(i, 1);
  }
  data += relaxed("DKIM-Signature", signature.replace(/(^|;)(\s*b=)[^;]*/, "$1$2"));
  const sig = Buffer.from(tags.get("b")!, "base64");
  return tags.get("a") === "ed25519-sha256"
    ? verify(null, createHash("sha256").update(data).digest(), publicKeyPem, sig)
    : verify("sha256", Buffer.from(data), publicKeyPem, sig);
}

// What `provision.sh check` must report for each role: every checker of the daemons it runs.
const CHECKERS: Record<string, string[]> = {
  "smtp-in": ["postfix check", "postconf -n", "postconf -M", "unbound-checkconf", "rspamadm configtest", "nginx -t"],
  "smtp-out": ["postfix check", "postconf -n", "postconf -M", "unbound-checkconf", "rspamadm configtest", "opendkim -n", `opendkim -n -x ${SIGNERS.ed25519.conf}`],
  maildrop: ["postfix check", "postconf -n", "postconf -M", "unbound-checkconf"],
};
// A checker's line may name the file it read: "check: postconf -n (main.cf) ok".
const reported = (checker: string) => new RegExp(`check: ${checker.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}( \\(.*\\))? ok$`, "m");

describe("MTA hosts, through provision.sh", function () {
  this.timeout(300_000);
  const checked = STACKS.flatMap((stack) => MTA_ROLES.map((role) => ({ stack, role })));
  const live = new Map<string, { spec: PlatformSpec; secrets: PlatformSecrets; box: Sandbox }>();
  // The checks run while the smtp-out hosts start, most of which is Rspamd compiling its URL matcher.
  before(async () => {
    for (const { stack, role } of checked) check(bundleOf(stack, role));
    const specs = STACKS.map((stack) => withKnownPasswords(renderStack(stack).spec));
    const boxes = await together(specs.map((spec, i) => startHosts([renderHost(spec, hostsOf(spec, "smtp-out")[0], renderStack(STACKS[i]).secrets)])));
    STACKS.forEach((stack, i) => live.set(stack, { spec: specs[i], secrets: renderStack(stack).secrets, box: boxes[i][0] }));
  });
  after(() => Promise.all([...live.values()].map(({ box }) => box.stop())));

  for (const { stack, role } of checked) {
    it(`${stack} ${role} passes provision.sh check: ${CHECKERS[role].join(", ")}`, async () => {
      const out = await check(bundleOf(stack, role));
      for (const c of CHECKERS[role]) assert.match(out, reported(c));
    });
  }

  for (const stack of STACKS) {
    it(`${stack} smtp-out, running: OpenDKIM signs authenticated mail with both keys of the active selector; not third-party mail`, () => {
      const { spec, secrets, box } = live.get(stack)!;
      const sign = (alg: "rsa" | "ed25519", client: string, auth: string, from: string) => {
        const target = SIGNERS[alg].milter.replace(/^inet:127\.0\.0\.1:/, "").replace(/^unix:/, "");
        const out = box.ok(`su -s /bin/sh postfix -c '${REPO}/node_modules/.bin/tsx ${REPO}/tests/roles/mta-milter.ts ${target} ${client} ${auth} ${from}'`);
        const r = JSON.parse(out.trim().split("\n").pop()!);
        assert.ok(!r.error, r.error);
        return r as { added: [string, string][]; final: string };
      };
      for (const d of spec.domains) {
        const selector = d.dkimSelectors.find((s) => s.state === "active")!;
        const from = `someone@${d.name}`;
        const msg = testMessage(from, "192.0.2.7");
        for (const alg of ["rsa", "ed25519"] as const) {
          // An authenticated submission from outside the platform: signed.
          const signed = sign(alg, "192.0.2.7", from, from);
          const sigs = signed.added.filter(([n]) => n === "DKIM-Signature").map(([, v]) => v);
          assert.strictEqual(sigs.length, 1, `${alg} ${d.name}: ${JSON.stringify(signed)}`);
          assert.match(sigs[0], new RegExp(`s=${selector.name}-${alg};`));
          assert.match(sigs[0], new RegExp(`a=${SIGNERS[alg].signatureAlgorithm};`));
          assert.ok(dkimValid(msg.headers, msg.body, sigs[0], secrets.dkim[d.name][selector.name][alg].publicKeyPem), `${alg} signature of ${d.name} does not verify`);
          // Relayed by smtp-in (a forward), not authenticated: never signed.
          const relayed = sign(alg, hostsOf(spec, "smtp-in")[0].address, "-", from);
          assert.deepStrictEqual(relayed.added, []);
        }
      }
    });

    it(`${stack} smtp-out, running: a login may not send with the null sender, nor with a From header other than its envelope sender`, () => {
      const { spec, box } = live.get(stack)!;
      const [alice, bob] = spec.users.map((u) => u.address);
      const host = hostsOf(spec, "smtp-out")[0];
      // To a domain the sandbox's Unbound resolves (the platform's smtp-out name); the message waits in the queue.
      const submit = (envelope: string, headerFrom: string) =>
        JSON.parse(box.ok(`python3 ${DOVECOT_CLIENT} submit ${host.fqdn} ${PORTS.submission} ${TLS_CA} ${alice} '${passwordOf(alice)}' '${envelope}' '${headerFrom}' someone@${serviceNames(spec).smtpOut}`).trim().split("\n").pop()!);
      const own = submit(alice, alice);
      assert.equal(own.code, 250, JSON.stringify(own));
      for (const other of [bob, "someone@partner.example"]) {
        const r = submit(alice, other);
        assert.equal(r.code, 554, `From: ${other}: ${JSON.stringify(r)}`);
        assert.match(r.message, /From header must be the envelope sender/);
      }
      const bounce = submit("", alice);
      assert.equal(bounce.code, 554, `null sender: ${JSON.stringify(bounce)}`);
      assert.match(bounce.message, /null sender is for bounces/);
    });

    it(`${stack} smtp-out, running: Dovecot authenticates relay clients and mailbox users over Postfix's socket`, () => {
      const { spec, secrets, box } = live.get(stack)!;
      const auth = (user: string, password: string) => `python3 ${DOVECOT_CLIENT} sasl ${SASL_AUTH_SOCKET.path} ${user} '${password}'`;
      const machines = spec.relayClients.map((c) => c.name);
      const alice = spec.users[0].address;
      const [mode, ...results] = box.ok([
        `stat -c '%a %U %G' ${SASL_AUTH_SOCKET.path}`,
        ...machines.map((m) => auth(m, secrets.relayPasswords[m])),
        auth(machines[0], "wrong"),
        auth(alice, passwordOf(alice)),
        // The webmail's former shared login is gone: it submits as each user.
        auth("roundcube", "any-password"),
      ].join("\n")).trim().split("\n");
      assert.equal(mode, "660 postfix postfix");
      assert.deepEqual(results.map((l) => JSON.parse(l).result), [...machines.map(() => "OK"), "FAIL", "OK", "FAIL"]);
    });
  }
});

describe("smtp-in, running (staging)", function () {
  this.timeout(300_000);
  const { spec, secrets } = renderStack("staging");
  const smtpIn = hostsOf(spec, "smtp-in")[0];
  const maildrop = hostsOf(spec, "maildrop")[0].address;
  const stranger = "192.0.2.99";
  let host: Sandbox;
  let peer: Sandbox;
  before(async () => {
    peer = await Sandbox.start({ hostname: "maildrop", addresses: [maildrop, stranger] });
    try {
      [host] = await startHosts([bundleOf("staging", "smtp-in")], { peers: [peer] });
    } catch (e) {
      await peer.stop();
      throw e;
    }
    fs.writeFileSync(peer.path("/tmp/ca.crt"), secrets.caCertificatePem);
  });
  after(() => Promise.all([host, peer].filter(Boolean).map((b) => b.stop())));

  /** A request to the controller's TLS door from the peer: the HTTP status, 0 when no HTTPS answer. */
  const controller = (path: string, opts: { password?: string; from?: string; scheme?: string } = {}) =>
    Number(peer.ok([
      "curl --silent --output /dev/null --write-out '%{http_code}' --max-time 10 --cacert /tmp/ca.crt",
      `--resolve ${smtpIn.fqdn}:11334:${smtpIn.address} --interface ${opts.from ?? maildrop}`,
      opts.password ? `--header 'Password: ${opts.password}'` : "",
      path.startsWith("/learn") ? "--data-binary 'Subject: x'" : "",
      `${opts.scheme ?? "https"}://${smtpIn.fqdn}:11334${path} || true`,
    ].join(" ")).trim() || "0");

  it("Rspamd's controller: TLS only, the maildrops only, the read password reads, only the learning password learns", () => {
    const refused = [401, 403];
    assert.equal(controller("/stat", { password: secrets.rspamdControllerPassword }), 200);
    // NGINX's loopback address is not in secure_ip: no password, no answer.
    assert.ok(refused.includes(controller("/stat")), "read without a password");
    assert.ok(refused.includes(controller("/learnspam", { password: secrets.rspamdControllerPassword })), "learning with the read password");
    assert.ok(!refused.includes(controller("/learnspam", { password: secrets.rspamdEnablePassword })), "learning with the learning password");
    assert.equal(controller("/stat", { password: secrets.rspamdControllerPassword, from: stranger }), 403);
    assert.equal(controller("/stat", { password: secrets.rspamdControllerPassword, scheme: "http" }), 400);
  });

  it("Rspamd refuses a hosted From that does not pass its DMARC (here: no DNS to check it, so 4xx), and lets an outside From be", () => {
    const scan = (from: string) => JSON.parse(host.ok([
      `printf 'From: ${from}\\nTo: ${spec.users[0].address}\\nSubject: hello\\nMessage-ID: <t@outside.example>\\n\\nhello\\n'`,
      `| rspamc --json -h 127.0.0.1:${INTERNAL.rspamdNormal} --ip 198.18.0.10 --from sender@outside.example --rcpt ${spec.users[0].address}`,
    ].join(" ")).replace(/^[^{]*/, ""));
    const forged = scan(spec.users[1].address);
    assert.ok(forged.symbols.MAILPLATFORM_HOSTED_FROM_FORGED, JSON.stringify(forged.symbols));
    assert.equal(forged.action, "soft reject");
    assert.match(forged.messages?.smtp_message ?? "", new RegExp(`DKIM signature of ${spec.domains[0].name}`));
    const outside = scan("someone@outside.example");
    assert.equal(outside.symbols.MAILPLATFORM_HOSTED_FROM_FORGED, undefined);
  });

  it("the MX refuses TLS 1.1 and completes TLS 1.2 on 25 (STARTTLS) and 465", () => {
    const handshake = (port: number, version: string) => peer.ok([
      `echo | openssl s_client -connect ${smtpIn.address}:${port} -${version} -cipher DEFAULT@SECLEVEL=0`,
      port === PORTS.smtp ? "-starttls smtp" : "",
      "2>&1 | grep -E '^ *Protocol *:|Cipher is' || true",
    ].join(" "));
    for (const port of [PORTS.smtp, PORTS.submissions]) {
      assert.match(handshake(port, "tls1_1"), /Cipher is \(NONE\)|^$/, `${port} completed TLS 1.1`);
      assert.match(handshake(port, "tls1_2"), /Protocol *: TLSv1\.2/, `${port} TLS 1.2`);
    }
  });
});
