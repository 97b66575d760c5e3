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
