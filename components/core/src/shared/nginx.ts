// NGINX's main configuration, the same on every host that runs NGINX (frontends, webmail). It is
// complete: Debian's sites-enabled, conf.d and modules-enabled are not read, so nothing the
// packages drop there (the default site on port 80) takes part. Each role adds its own http
// (and stream) configuration in NGINX_DIR.
import { file, HostFile } from "../files";
import { PlatformSpec } from "../spec/types";
import { TLS_CA, TLS_CERT, TLS_KEY } from "./tls";

export const NGINX_DIR = "/etc/nginx/mailplatform";
export const NGINX_HTTP_CONF = `${NGINX_DIR}/http.conf`;
export const NGINX_STREAM_CONF = `${NGINX_DIR}/stream.conf`;

/**
 * Largest HTTP request body that carries one message: on the webmail path (frontend and webmail
 * NGINX, PHP) a message of the platform's maximum size uploaded as attachments, plus a MiB for the
 * form around it; a learning report to Rspamd's controller.
 */
export function messageUploadLimit(spec: PlatformSpec): string {
  return `${Math.ceil(spec.limits.messageSizeBytes / 2 ** 20) + 1}M`;
}

/** NGINX as a TLS server (http or stream context): the host certificate, TLS 1.2+, forward secrecy only. */
export const NGINX_TLS_SERVER = `ssl_certificate ${TLS_CERT};
ssl_certificate_key ${TLS_KEY};
ssl_protocols TLSv1.2 TLSv1.3;
ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
ssl_prefer_server_ciphers off;
ssl_session_cache shared:TLS:10m;
ssl_session_timeout 1d;
ssl_session_tickets off;`;

/** What the platform serves itself (redirects, policies, XML, APIs): nothing loads, nothing frames it. */
export const CSP_NOTHING = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Roundcube 1.6 (elastic): inline scripts and event handlers, eval of its server responses (app.js),
 * inline styles, images from data:, blob: and (once the reader allows a message's remote content)
 * https:, frames of its own pages only (message preview, attachments).
 */
export const CSP_ROUNDCUBE = [
  "default-src 'self'", "script-src 'self' 'unsafe-inline' 'unsafe-eval'", "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: https:", "font-src 'self' data:", "frame-src 'self' blob:", "connect-src 'self'",
  "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'self'",
].join("; ");

/** The headers every HTTPS answer of the platform carries. */
export interface SecurityHeaders {
  /** The policy, or an NGINX variable holding it. */
  csp: string;
  /** Who may frame the page: nobody, or pages of the same origin (Roundcube frames itself). */
  frames: "DENY" | "SAMEORIGIN";
}

const SECURITY_HEADER_NAMES = ["Strict-Transport-Security", "X-Content-Type-Options", "Content-Security-Policy", "Referrer-Policy", "X-Frame-Options"];

/**
 * add_header lines (also on errors: `always`). NGINX inherits add_header only into blocks that set
 * none of their own, so a block either takes them all from its parent or writes them all.
 */
export function nginxSecurityHeaders(h: SecurityHeaders, indent = ""): string {
  const csp = h.csp.startsWith("$") ? h.csp : `"${h.csp}"`;
  return [
    `add_header Strict-Transport-Security "max-age=31536000" always;`,
    "add_header X-Content-Type-Options nosniff always;",
    `add_header Content-Security-Policy ${csp} always;`,
    // Roundcube's own choice for its pages; a link followed out of a message carries no address.
    `add_header Referrer-Policy ${h.frames === "SAMEORIGIN" ? "same-origin" : "no-referrer"} always;`,
    `add_header X-Frame-Options ${h.frames} always;`,
  ].map((l) => indent + l).join("\n");
}

/** Drops the upstream's copies of the headers NGINX sets itself (`proxy` or `fastcgi`), so each is sent once. */
export function nginxHideUpstreamSecurityHeaders(module: "proxy" | "fastcgi", indent = ""): string {
  return SECURITY_HEADER_NAMES.map((n) => `${indent}${module}_hide_header ${n};`).join("\n");
}

/**
 * `name`: the upstream's Content-Security-Policy where it sends one (Roundcube's stricter policies
 * for attachments and downloads), else Roundcube's page policy. An http-context map.
 */
export function nginxRoundcubeCspMap(name: string): string {
  return `map $upstream_http_content_security_policy ${name} {
    "" "${CSP_ROUNDCUBE}";
    default $upstream_http_content_security_policy;
}`;
}

/** NGINX as a TLS client of another platform host: its certificate verified against the platform CA for \`name\`. */
export function nginxVerifiedUpstream(name: string, indent = "    "): string {
  return [
    "proxy_ssl_verify on;",
    `proxy_ssl_trusted_certificate ${TLS_CA};`,
    "proxy_ssl_verify_depth 2;",
    `proxy_ssl_name ${name};`,
    "proxy_ssl_server_name on;",
    "proxy_ssl_protocols TLSv1.2 TLSv1.3;",
  ].map((l) => indent + l).join("\n");
}

/** Debian's NGINX workers run as this user. */
export const NGINX_USER = "www-data";

export function nginxMainConf(opts: { stream: boolean }): HostFile {
  return file("nginx", "/etc/nginx/nginx.conf", `# Written by mailplatform; the role's servers are in ${NGINX_DIR}/.
user ${NGINX_USER};
worker_processes auto;
worker_rlimit_nofile 65536;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log warn;
${opts.stream ? "\n# TCP proxying for the mail protocols (Debian: libnginx-mod-stream).\nload_module /usr/lib/nginx/modules/ngx_stream_module.so;\n" : ""}
events {
    worker_connections 8192;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    server_tokens off;
    log_format main '$remote_addr "$host" [$time_local] "$request" $status $body_bytes_sent '
                    '"$http_user_agent" upstream=$upstream_addr rt=$request_time';
    access_log /var/log/nginx/access.log main;

    include ${NGINX_HTTP_CONF};
}
${opts.stream ? `
stream {
    include ${NGINX_STREAM_CONF};
}
` : ""}`);
}
