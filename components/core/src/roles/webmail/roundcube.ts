// Roundcube (Debian's roundcube-core) on PHP-FPM behind a local NGINX that only the frontends
// reach, over TLS (they verify its certificate against the platform CA); they terminate the
// clients' HTTPS and enforce the webmail allow-list. Roundcube talks to the platform
// like any mail client: IMAP, ManageSieve and submission through the frontends as the logged-in
// user, TLS verified against the platform CA.
import { daemons } from "../../daemons";
import { file, Fragment, RenderContext, secretFile } from "../../files";
import { INTERNAL, PORTS } from "../../ports";
import {
  messageUploadLimit, nginxHideUpstreamSecurityHeaders, nginxMainConf, nginxRoundcubeCspMap, nginxSecurityHeaders, NGINX_HTTP_CONF, NGINX_TLS_SERVER,
} from "../../shared/nginx";
import { TLS_CA } from "../../shared/tls";
import { hostsOf, serviceNames } from "../../topology";

export const ROUNDCUBE_CONFIG = "/etc/roundcube/config.inc.php";
export const MANAGESIEVE_CONFIG = "/etc/roundcube/plugins/managesieve/config.inc.php";
const DB_DIR = "/var/lib/roundcube/db";
const FPM_SOCKET = "/run/php/roundcube.sock";

type PhpValue = string | number | boolean | PhpValue[] | { [key: string]: PhpValue };

/** A PHP literal: single-quoted strings (no interpolation), short arrays. */
export function php(value: PhpValue, indent = ""): string {
  if (typeof value === "string") return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  if (typeof value !== "object") return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => php(v, indent)).join(", ")}]`;
  const inner = indent + "    ";
  return `[\n${Object.entries(value).map(([k, v]) => `${inner}${php(k)} => ${php(v, inner)},\n`).join("")}${indent}]`;
}

const set = (key: string, value: PhpValue) => `$config[${php(key)}] = ${php(value)};`;

/** Certificates of IMAP, submission and ManageSieve are checked against the platform CA. */
const VERIFIED_TLS = { ssl: { verify_peer: true, verify_peer_name: true, cafile: TLS_CA } };

function configIncPhp(ctx: RenderContext): string {
  const { spec, secrets } = ctx;
  const names = serviceNames(spec);
  return `<?php
// Written by mailplatform. Holds des_key: root:www-data, 0640.
$config = [];

// Sessions, contacts and settings; Roundcube creates the schema when the file is new.
${set("db_dsnw", `sqlite:///${DB_DIR}/roundcube.sqlite?mode=0640`)}

// IMAP through the frontends, like every other client.
${set("imap_host", `ssl://${names.imap}:${PORTS.imaps}`)}
${set("imap_conn_options", VERIFIED_TLS)}

// Submission through the frontends as the logged-in user (%u, %p: the IMAP login): smtp-out lets
// the login send only as the addresses it owns, and counts its rate limit and auth failures.
${set("smtp_host", `tls://${names.submission}:${PORTS.submission}`)}
${set("smtp_user", "%u")}
${set("smtp_pass", "%p")}
${set("smtp_conn_options", VERIFIED_TLS)}
// smtp_conn_options apply only with a timeout set.
${set("smtp_timeout", 30)}
// Users may not type another address as their own; smtp-out would refuse it anyway.
${set("identities_level", 1)}
${set("max_message_size", spec.limits.messageSizeBytes)}

// Behind the frontends: they terminate HTTPS; only the webmail's name is accepted as Host.
${set("use_https", true)}
// Lax: the session cookie never rides on another site's form posts or embedded requests; Strict
// would also drop it on links followed from elsewhere (mail notices, the portal), logging users out.
${set("session_samesite", "Lax")}
${set("trusted_host_patterns", [names.webmail])}

${set("des_key", secrets.roundcubeDesKey)}
${set("cipher_method", "AES-256-CBC")}

// Logins (with the client address) go to syslog, for abuse handling.
${set("log_driver", "syslog")}
${set("syslog_id", "roundcube")}
${set("log_logins", true)}

${set("product_name", `Webmail ${spec.platformDomain}`)}
${set("support_url", `mailto:${spec.postmaster}`)}
${set("skin", "elastic")}
${set("default_list_mode", "threads")}
${set("archive_mbox", "Archive")}
// markasjunk moves messages in and out of Junk; the maildrops' imapsieve reports that to Rspamd.
${set("plugins", ["managesieve", "archive", "zipdownload", "markasjunk"])}
`;
}

function managesieveConfig(ctx: RenderContext): string {
  return `<?php
// Written by mailplatform. The sieve editor talks ManageSieve through the frontends (STARTTLS).
$config = [];
${set("managesieve_host", `tls://${serviceNames(ctx.spec).sieve}:${PORTS.managesieve}`)}
${set("managesieve_conn_options", VERIFIED_TLS)}
// Out-of-office replies get their own tab.
${set("managesieve_vacation", 1)}
`;
}

function phpPool(ctx: RenderContext): string {
  const upload = messageUploadLimit(ctx.spec);
  return `; Written by mailplatform. Replaces Debian's default pool: Roundcube is the only PHP on this host.
[roundcube]
user = www-data
group = www-data
listen = ${FPM_SOCKET}
listen.owner = www-data
listen.group = www-data
listen.mode = 0660

pm = dynamic
pm.max_children = 16
pm.start_servers = 4
pm.min_spare_servers = 2
pm.max_spare_servers = 8
pm.max_requests = 500

; Attachments up to one maximum-size message; building it takes several copies in memory.
php_admin_value[upload_max_filesize] = ${upload}
php_admin_value[post_max_size] = ${upload}
php_admin_value[memory_limit] = 512M
php_admin_flag[log_errors] = on
`;
}

function nginxConf(ctx: RenderContext): string {
  const frontends = hostsOf(ctx.spec, "frontend").map((h) => h.address);
  return `# Written by mailplatform. Roundcube, for the frontends only, over TLS (they cross sites).
${NGINX_TLS_SERVER}

# Requests are judged by the connecting address, before X-Forwarded-For replaces it.
geo $realip_remote_addr $from_frontend {
    default 0;
    127.0.0.1 1;
    ::1 1;
${frontends.map((a) => `    ${a} 1;`).join("\n")}
}

${nginxRoundcubeCspMap("$roundcube_csp")}

server {
    listen ${INTERNAL.webmailHttps} ssl http2 default_server;
    listen [::]:${INTERNAL.webmailHttps} ssl http2 default_server;
    server_name ${serviceNames(ctx.spec).webmail};
    root /var/lib/roundcube/public_html;
    index index.php;
    client_max_body_size ${messageUploadLimit(ctx.spec)};
    add_header X-Robots-Tag "noindex, nofollow" always;
${nginxSecurityHeaders({ csp: "$roundcube_csp", frames: "SAMEORIGIN" }, "    ")}

    if ($from_frontend = 0) {
        return 403;
    }
    # The client's address as the frontend saw it: Roundcube logs it and rate-limits logins by it.
${frontends.map((a) => `    set_real_ip_from ${a};`).join("\n")}
    real_ip_header X-Forwarded-For;

    # Only the front controller runs; sources, samples and dot files are never served.
    location = /index.php {
        include /etc/nginx/fastcgi.conf;
        fastcgi_pass unix:${FPM_SOCKET};
        # Roundcube sends some of these itself: NGINX's are the ones sent, with Roundcube's CSP where it has one.
${nginxHideUpstreamSecurityHeaders("fastcgi", "        ")}
        fastcgi_read_timeout 300s;
    }
    location ~ \\.php$ {
        return 404;
    }
    location ~ (/\\.|/(README|CHANGELOG|SECURITY|INSTALL|LICENSE|UPGRADING)|/(meta|jsdeps)\\.json$|/composer\\.|\\.(inc|dist|sh|sql)$) {
        return 404;
    }
    location = /favicon.ico {
        try_files /skins/elastic/images/favicon.ico =404;
    }
    location / {
        try_files $uri $uri/ =404;
    }
}
`;
}

/**
 * The webmail has no resolver of its own for the platform's names: the service names it uses are
 * pinned to the frontends' site-local addresses, its own site's frontend first (PHP tries the
 * addresses in order, so a dead frontend costs one failed connect).
 */
function etcHosts(ctx: RenderContext): string {
  const { host, spec } = ctx;
  const names = serviceNames(spec);
  const frontends = hostsOf(spec, "frontend");
  const ordered = [...frontends.filter((f) => f.site.name === host.site.name), ...frontends.filter((f) => f.site.name !== host.site.name)];
  const pinned = [...new Set([names.imap, names.sieve, names.submission])].join(" ");
  return `# Written by mailplatform (cloud-init's manage_etc_hosts is turned off for this).
127.0.0.1 localhost
127.0.1.1 ${host.fqdn} ${host.name}
::1 localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters

# Platform services, through the frontends.
${ordered.map((f) => `${f.address} ${pinned}`).join("\n")}
`;
}

export function roundcube(ctx: RenderContext): Fragment {
  const { "php-fpm": fpm, nginx } = daemons(ctx.spec.debianRelease);
  return {
    packages: ["roundcube-core", "roundcube-sqlite3", "roundcube-plugins"],
    services: [fpm, nginx],
    directories: [{ path: DB_DIR, owner: "www-data", group: "www-data", mode: "0750" }],
    files: [
      secretFile(fpm.service, ROUNDCUBE_CONFIG, configIncPhp(ctx), { owner: "root", group: "www-data", mode: "0640" }),
      file(fpm.service, MANAGESIEVE_CONFIG, managesieveConfig(ctx)),
      file(fpm.service, `${fpm.poolDir}/www.conf`, phpPool(ctx)),
      file(fpm.service, "/etc/hosts", etcHosts(ctx)),
      // Otherwise cloud-init rewrites /etc/hosts from its template at every boot.
      file([], "/etc/cloud/cloud.cfg.d/99-mailplatform-hosts.cfg", "manage_etc_hosts: false"),
      nginxMainConf({ stream: false }),
      file("nginx", NGINX_HTTP_CONF, nginxConf(ctx)),
    ],
  };
}
