// The door of Rspamd's controller for the maildrops' spam and ham reports. Rspamd's controller
// speaks plain HTTP only, and the reports (whole messages, the learning password) cross sites:
// NGINX terminates TLS with the host certificate (the maildrops verify it
// against the platform CA), admits only the maildrops, and hands the request to the controller on
// loopback from 127.0.0.2, which is not in the controller's secure_ip, so every report still needs
// the learning password.
import { daemons } from "../../daemons";
import { file, Fragment, RenderContext } from "../../files";
import { INTERNAL } from "../../ports";
import { CSP_NOTHING, messageUploadLimit, nginxMainConf, nginxSecurityHeaders, NGINX_HTTP_CONF, NGINX_TLS_SERVER } from "../../shared/nginx";
import { hostsOf } from "../../topology";

/** The loopback address NGINX connects to the controller from: any but secure_ip's 127.0.0.1. */
export const CONTROLLER_PROXY_SOURCE = "127.0.0.2";

export function rspamdControllerTls(ctx: RenderContext): Fragment {
  const { spec, host } = ctx;
  const maildrops = hostsOf(spec, "maildrop").map((h) => h.address);
  const conf = `# Written by mailplatform. TLS in front of Rspamd's controller, for the maildrops' learning reports.
${NGINX_TLS_SERVER}
${nginxSecurityHeaders({ csp: CSP_NOTHING, frames: "DENY" })}

server {
    listen ${INTERNAL.rspamdController} ssl;
    listen [::]:${INTERNAL.rspamdController} ssl;
    server_name ${host.fqdn};
${maildrops.map((a) => `    allow ${a};`).join("\n")}
    deny all;
    # A report carries a whole message.
    client_max_body_size ${messageUploadLimit(spec)};

    location / {
        proxy_pass http://127.0.0.1:${INTERNAL.rspamdControllerLocal};
        proxy_bind ${CONTROLLER_PROXY_SOURCE};
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_read_timeout 60s;
    }
}
`;
  return {
    services: [daemons(spec.debianRelease).nginx],
    files: [nginxMainConf({ stream: false }), file("nginx", NGINX_HTTP_CONF, conf)],
  };
}
