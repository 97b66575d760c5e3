// NGINX's main configuration, the same on every host that runs NGINX (frontends, webmail). It is
// complete: Debian's sites-enabled, conf.d and modules-enabled are not read, so nothing the
// packages drop there (the default site on port 80) takes part. Each role adds its own http
// (and stream) configuration in NGINX_DIR.
import { file, HostFile } from "../files";
import { PlatformSpec } from "../spec/types";

export const NGINX_DIR = "/etc/nginx/mailplatform";
export const NGINX_HTTP_CONF = `${NGINX_DIR}/http.conf`;
export const NGINX_STREAM_CONF = `${NGINX_DIR}/stream.conf`;

/**
 * Largest HTTP request body on the webmail path (frontend and webmail NGINX, PHP): one message of
 * the platform's maximum size uploaded as attachments, plus a MiB for the form around it.
 */
export function webmailUploadLimit(spec: PlatformSpec): string {
  return `${Math.ceil(spec.limits.messageSizeBytes / 2 ** 20) + 1}M`;
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
