// The daemons the platform runs, as each Debian release packages them: the one place that knows
// their service and package names, how to tell they run, how to reload them and how to check their
// config. Renderers take a host's daemons from here; bundle.ts copies them into the manifest, so
// files/provision.sh needs no knowledge of any daemon.
import { POSTFIX_QUEUE_DIRECTORY } from "./shared/spool-sockets";
import { PlatformSpec } from "./spec/types";

export type DebianRelease = PlatformSpec["debianRelease"];

type PhpVersion = "8.2" | "8.4";
const PHP: Record<DebianRelease, PhpVersion> = { 12: "8.2", 13: "8.4" };

/** Service (systemd unit and init script) names. */
export type Service =
  | "unbound" | "redis-server" | "rspamd" | "postsrsd" | "opendkim" | "opendkim-ed25519" | "dovecot" | "postfix" | "nginx"
  | "mailplatform-replica-resync" | "mailplatform-upstream-watch"
  | `php${PhpVersion}-fpm`;

/**
 * A config check provision.sh runs in its private namespace, after writing the whole new config.
 * It fails on a non-zero exit or on any output line `ok` does not match: a warning is an error.
 */
export interface Checker {
  /** What the script prints: "check: <label> ok". */
  label: string;
  /** A bash command line. Config dumpers send stdout to /dev/null: they print secrets too. */
  command: string;
  /** ERE (GNU grep) for every acceptable output line; without spaces (`\\s`) so the manifest splits. */
  ok: string;
  /** Run once per file of the daemon whose path ends in this suffix, the path as $1. */
  eachFile?: string;
}

export interface Daemon {
  service: Service;
  /** What the checkers and the service need; a role adds its extra packages (modules, plugins). */
  packages: string[];
  /** The main process, to tell whether the daemon runs where there is no systemd. */
  process: string;
  /** Told apart by pid file where several instances run one program. */
  pidFile?: string;
  /** restart where the init script has no real reload (it restarts or does nothing). */
  reload: "reload" | "restart";
  checks: Checker[];
  /**
   * Run on the live system by every apply, before the check: makes what the daemon keeps on a
   * volume, which may come from another VM, fit this one. A bash command line; prints only what it did.
   */
  prepare?: { label: string; command: string };
}

export type PhpFpm = Daemon & { poolDir: string };

// A type, not an interface: Object.values() sees its values as Daemon.
export type Daemons = {
  unbound: Daemon;
  redis: Daemon;
  rspamd: Daemon;
  postsrsd: Daemon;
  opendkim: Daemon;
  "opendkim-ed25519": Daemon;
  dovecot: Daemon;
  postfix: Daemon;
  nginx: Daemon;
  "php-fpm": PhpFpm;
  "replica-resync": Daemon;
  "upstream-watch": Daemon;
};

const EMPTY = "^$";

// The checks that are more than one command, each one bash command line (one manifest line).
// Debian's unit starts Redis with --daemonize no itself; its init script (no systemd) needs yes.
const REDIS_DAEMONIZE = [
  `! grep -Eq '^[[:space:]]*daemonize[[:space:]]+no' /etc/redis/redis.conf`,
  `echo "'daemonize no' would hold a non-systemd init script forever: set 'daemonize yes'"`,
].join(" || ");
// Redis has no config test: it starts on a private socket (in /var/tmp: in the check's overlay, and
// reachable by the redis user) with the new config and must answer a ping. It dies with the check's
// pid namespace.
const REDIS_START = [
  `d=$(mktemp -d -p /var/tmp provision-redis.XXXXXX) && chown redis:redis "$d"`,
  `runuser -u redis -- redis-server /etc/redis/redis.conf --daemonize yes --supervised no --port 0 --unixsocket "$d/sock" --pidfile "$d/pid" --logfile "$d/log" --dir "$d"`,
  `for i in $(seq 100); do case $(redis-cli -s "$d/sock" ping 2>/dev/null) in PONG|NOAUTH*) exit 0 ;; esac; sleep 0.1; done; cat "$d/log" 2>/dev/null; exit 1`,
].join(" && ");
// postfix set-permissions also makes the queue directories a fresh volume lacks.
const QUEUE_OWNERSHIP = [
  `[ "$(stat -c %U ${POSTFIX_QUEUE_DIRECTORY}/active 2>/dev/null)" = postfix ]`,
  `{ postfix set-permissions && echo "postfix set-permissions: the queue belongs to this host's postfix"; }`,
].join(" || ");
// PostSRSd reads its settings only when it starts: a sanity check of what it needs.
const POSTSRSD_DEFAULTS = [
  `. /etc/default/postsrsd`,
  `[ -n "$SRS_DOMAIN" ] || echo "SRS_DOMAIN is not set in /etc/default/postsrsd"`,
  `s=\${SRS_SECRET:-/etc/postsrsd.secret}`,
  `[ -r "$s" ] && [ -s "$s" ] || echo "secret file $s is missing, unreadable or empty"`,
  `for v in SRS_FORWARD_PORT SRS_REVERSE_PORT; do [[ -z \${!v} || \${!v} =~ ^[0-9]+$ ]] || echo "$v is not a port number"; done`,
].join("; ");

const opendkim = (service: "opendkim" | "opendkim-ed25519", command: string): Daemon => ({
  service,
  packages: ["opendkim"],
  process: "opendkim",
  pidFile: `/run/${service}/${service}.pid`,
  reload: "reload",
  checks: [{ label: command, command, ok: EMPTY }],
});

const phpFpm = (v: PhpVersion): PhpFpm => ({
  service: `php${v}-fpm`,
  packages: [`php${v}-fpm`],
  process: `php-fpm${v}`,
  reload: "reload",
  poolDir: `/etc/php/${v}/fpm/pool.d`,
  checks: [
    { label: `php-fpm${v} -t`, command: `php-fpm${v} -t`, ok: "NOTICE:\\sconfiguration\\sfile\\s.*\\stest\\sis\\ssuccessful$|^$" },
    { label: `php${v} -l`, command: `php${v} -l "$1"`, ok: "^No\\ssyntax\\serrors\\sdetected\\sin\\s", eachFile: ".php" },
  ],
});

/** Our own loops (shared/loop-service.ts): the script a service runs, and how its daemon is known. */
export const loopScript = (service: Service) => `/etc/mailplatform/${service.replace(/^mailplatform-/, "")}`;
/** A script of ours run by its interpreter (its process), checked by that interpreter's syntax check. */
const loop = (service: Service, packages: string[], interpreter: "bash" | "perl"): Daemon => ({
  service, packages: interpreter === "perl" ? [...packages, "perl"] : packages, process: interpreter,
  pidFile: `/run/${service}.pid`, reload: "restart",
  checks: [interpreter === "perl"
    ? { label: `perl -c ${loopScript(service)}`, command: `perl -c ${loopScript(service)} 2>&1`, ok: `^${loopScript(service)}\\ssyntax\\sOK$` }
    : { label: `bash -n ${loopScript(service)}`, command: `bash -n ${loopScript(service)}`, ok: EMPTY }],
});

export function daemons(release: DebianRelease): Daemons {
  return {
    unbound: {
      service: "unbound", packages: ["unbound"], process: "unbound", reload: "reload",
      checks: [{ label: "unbound-checkconf", command: "unbound-checkconf", ok: "^unbound-checkconf:\\sno\\serrors\\sin\\s" }],
    },
    redis: {
      service: "redis-server", packages: ["redis-server"], process: "redis-server", reload: "restart",
      checks: [
        { label: "redis-server daemonize", command: REDIS_DAEMONIZE, ok: EMPTY },
        { label: "redis-server starts with the new config", command: REDIS_START, ok: EMPTY },
      ],
    },
    rspamd: {
      service: "rspamd", packages: ["rspamd"], process: "rspamd", reload: "reload",
      // Offline, it prints resolver noise: its exit status decides.
      checks: [{ label: "rspamadm configtest", command: "rspamadm configtest", ok: ".*" }],
    },
    postsrsd: {
      service: "postsrsd", packages: ["postsrsd"], process: "postsrsd", reload: "restart",
      checks: [{ label: "postsrsd defaults", command: POSTSRSD_DEFAULTS, ok: EMPTY }],
    },
    opendkim: opendkim("opendkim", "opendkim -n"),
    "opendkim-ed25519": opendkim("opendkim-ed25519", "opendkim -n -x /etc/opendkim-ed25519.conf"),
    dovecot: {
      service: "dovecot", packages: ["dovecot-core"], process: "dovecot", reload: "reload",
      checks: [{ label: "doveconf -n", command: "doveconf -n >/dev/null", ok: EMPTY }],
    },
    postfix: {
      service: "postfix", packages: ["postfix"], process: "master", reload: "reload",
      // The queue on a volume from a replaced VM belongs to the uid that VM's package gave postfix.
      prepare: { label: "queue ownership", command: QUEUE_OWNERSHIP },
      checks: [
        { label: "postfix check", command: "postfix check", ok: EMPTY },
        { label: "postconf -n (main.cf)", command: "postconf -n >/dev/null", ok: EMPTY },
        { label: "postconf -M (master.cf)", command: "postconf -M >/dev/null", ok: EMPTY },
        { label: "postconf -P (master.cf overrides)", command: "postconf -P >/dev/null", ok: EMPTY },
      ],
    },
    nginx: {
      service: "nginx", packages: ["nginx"], process: "nginx", reload: "reload",
      checks: [{ label: "nginx -t", command: "nginx -t -q", ok: EMPTY }],
    },
    "php-fpm": phpFpm(PHP[release]),
    // Our own loops: told apart by their pid files. The watch probes without forking (Perl's
    // non-blocking sockets; Time::HiRes is in perl, not perl-base).
    "replica-resync": loop("mailplatform-replica-resync", ["dovecot-core"], "bash"),
    "upstream-watch": loop("mailplatform-upstream-watch", ["nftables"], "perl"),
  };
}
