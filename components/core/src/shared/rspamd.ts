// Rspamd as Postfix's milter (proxy worker scanning in-process), with a local Redis. Inbound
// (smtp-in): reject / greylist / tag, Bayes, a controller the maildrops report spam and ham to, and
// a hosted From refused without its domain's DMARC.
// Outbound (smtp-out): scans submitted mail and rate-limits each SASL user; no greylisting.
// Both stay offline: nothing that sends message data away or fetches rules or maps from the
// Internet; DNS goes to the local Unbound only.
import { daemons } from "../daemons";
import { file, Fragment, HostFile, lines, RenderContext, secretFile, staticFile } from "../files";
import { INTERNAL } from "../ports";
import { rspamdPasswordHash } from "./passwords";

export type RspamdDirection = "inbound" | "outbound";

const LOCAL = "/etc/rspamd/local.d";
const OVERRIDE = "/etc/rspamd/override.d";

const conf = (dir: string, name: string, ...content: Parameters<typeof lines>) => file("rspamd", `${dir}/${name}`, lines(...content));

/** Stock map lists name maps.rspamd.com first; keep only the copies shipped with the package. */
const shipped = (name: string) => `"\${CONFDIR}/maps.d/${name}"`;

function offline(): HostFile[] {
  const whitelistRule = (name: string, checks: string[], map: string, score: number, inverse: string) => [
    `  "${name}" {`, ...checks.map((c) => `    ${c} = true;`), `    domains = [${shipped(map)}];`, `    score = ${score};`, `    inverse_symbol = "${inverse}";`, "  }",
  ];
  return [
    // Sends message hashes to rspamd.com.
    conf(OVERRIDE, "fuzzy_check.conf", "enabled = false;"),
    // Downloads rule updates.
    conf(OVERRIDE, "rspamd_update.conf", "enabled = false;"),
    // Follows URLs found in messages over HTTP.
    conf(OVERRIDE, "url_redirector.conf", "enabled = false;"),
    // Its freemail/disposable lists exist only on maps.rspamd.com.
    conf(OVERRIDE, "multimap.conf", "enabled = false;"),
    conf(OVERRIDE, "rbl.conf", `url_whitelist = [${shipped("surbl-whitelist.inc")}];`),
    conf(OVERRIDE, "mime_types.conf", `file = [${shipped("mime_types.inc")}];`),
    conf(OVERRIDE, "mid.conf", `source { url = [${shipped("mid.inc")}]; }`),
    conf(OVERRIDE, "phishing.conf", "exceptions {", `  REDIRECTOR_FALSE = [${shipped("redirectors.inc")}];`, "}"),
    // WHITELIST_SPF/_DKIM have no shipped list, so they would match nothing anyway.
    conf(OVERRIDE, "whitelist.conf", "rules {",
      whitelistRule("WHITELIST_SPF_DKIM", ["valid_spf", "valid_dkim"], "spf_dkim_whitelist.inc", -3, "BLACKLIST_SPF_DKIM"),
      whitelistRule("WHITELIST_DMARC", ["valid_dmarc"], "dmarc_whitelist.inc", -7, "BLACKLIST_DMARC"),
      "}"),
  ];
}

export function rspamd(ctx: RenderContext, direction: RspamdDirection): Fragment {
  const { spec, secrets } = ctx;
  const inbound = direction === "inbound";
  const limits = spec.limits;
  const files: HostFile[] = [
    conf(LOCAL, "options.inc", "# Only the local validating resolver.", 'dns { nameserver = ["127.0.0.1:53"]; }'),
    conf(LOCAL, "redis.conf", `servers = "${REDIS_SOCKET}";`),
    conf(LOCAL, "worker-proxy.inc",
      "# Milter for Postfix, scanning in this process.",
      `bind_socket = "127.0.0.1:${INTERNAL.rspamdMilter}";`,
      "milter = yes;",
      "timeout = 120s;",
      'upstream "local" {', "  default = yes;", "  self_scan = yes;", "}"),
    conf(LOCAL, "worker-normal.inc", `bind_socket = "127.0.0.1:${INTERNAL.rspamdNormal}";`),
    secretFile("rspamd", `${LOCAL}/worker-controller.inc`, lines(
      inbound
        ? "# Web UI and learning on loopback; the maildrops report spam/ham through NGINX's TLS (roles/smtp-in/controller-tls.ts)."
        : "# Web UI on loopback.",
      `bind_socket = "127.0.0.1:${INTERNAL.rspamdControllerLocal}";`,
      "# Without a password only from these (local tools); NGINX connects from another loopback address.",
      'secure_ip = ["127.0.0.1", "::1"];',
      "# Reading (statistics) and changing (learning) have separate passwords, stored as hashes (rspamadm pw).",
      `password = "${rspamdPasswordHash("rspamd-controller", secrets.rspamdControllerPassword)}";`,
      `enable_password = "${rspamdPasswordHash("rspamd-enable", secrets.rspamdEnablePassword)}";`,
    ), { owner: "_rspamd", group: "_rspamd", mode: "0600" }),
    // OpenDKIM signs on smtp-out; Rspamd only checks.
    conf(LOCAL, "dkim_signing.conf", "enabled = false;"),
    conf(LOCAL, "arc.conf", "enabled = false;"),
    ...offline(),
    ...(inbound
      ? [
          conf(LOCAL, "actions.conf", "reject = 15;", "add_header = 6;", "greylist = 4;"),
          conf(LOCAL, "classifier-bayes.conf", 'backend = "redis";', "autolearn = true;"),
          // X-Spam: Yes comes from the proxy on add_header; these explain the verdict.
          conf(LOCAL, "milter_headers.conf", 'use = ["x-spamd-bar", "x-spam-level", "x-spam-status", "authentication-results"];'),
          // Mail claiming a hosted From must pass its DMARC.
          file("rspamd", "/etc/rspamd/rspamd.local.lua", staticFile("rspamd/hosted-from.lua")),
          file("rspamd", "/etc/rspamd/mailplatform-hosted-domains", lines("# Hosted domains: a From in them must pass their DMARC (rspamd.local.lua).", spec.domains.map((d) => d.name))),
        ]
      : [
          conf(LOCAL, "actions.conf", "reject = 15;", "add_header = null;", "greylist = null;", "rewrite_subject = null;"),
          conf(LOCAL, "greylist.conf", "enabled = false;"),
          // A login's header From must be its envelope sender (which Postfix checks against the login).
          file("rspamd", "/etc/rspamd/rspamd.local.lua", staticFile("rspamd/submission-from.lua")),
          conf(LOCAL, "ratelimit.conf",
            "# Per authenticated (SASL) user, from mailplatform:limits.submissionMessageRate.",
            "rates {",
            `  user = { bucket = { burst = ${limits.submissionMessageRate}; rate = "${limits.submissionMessageRate} / 1min"; }; }`,
            "}"),
        ]),
  ];
  const d = daemons(spec.debianRelease);
  return {
    services: [d.redis, d.rspamd],
    files: [file("redis-server", "/etc/redis/redis.conf", redisConf()), ...files],
  };
}

/** Where Rspamd reaches Redis (Debian's init script and unit make /run/redis). */
const REDIS_SOCKET = "/run/redis/redis-server.sock";

/** Redis for greylisting, Bayes and rate limits: a local socket only, bounded memory. */
function redisConf(): string {
  return lines(
    "# A Unix socket and no TCP port: Rspamd opens a new connection for nearly every Redis request",
    "# (4-5 a message; rspamd/rspamd#4087), and on loopback TCP each was a handshake, a teardown and a",
    "# TIME_WAIT through the firewall's hooks (README, Benchmark). Any local process may connect, as it",
    "# could to the loopback port this replaces.",
    "port 0",
    `unixsocket ${REDIS_SOCKET}`,
    "unixsocketperm 777",
    "protected-mode yes",
    "# For the init script (no systemd); Debian's unit adds --supervised systemd --daemonize no itself.",
    "daemonize yes",
    "pidfile /run/redis/redis-server.pid",
    "logfile /var/log/redis/redis-server.log",
    "dir /var/lib/redis",
    "dbfilename dump.rdb",
    "# Bayes tokens persist; greylist and rate-limit keys expire on their own.",
    "save 3600 1 300 100",
    "maxmemory 512mb",
    "maxmemory-policy volatile-lru",
  );
}
