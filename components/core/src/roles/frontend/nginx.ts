// The frontends' NGINX. Stream: the mail protocols pass through as TCP to one primary and its
// backups (TLS ends on smtp-out and the maildrops), with a PROXY protocol header so the backends
// see, log and rate-limit the real client. HTTP: TLS for the webmail (allowed networks only), the
// MTA-STS policy, and mail client autoconfiguration (Thunderbird autoconfig, Outlook autodiscover).
import { daemons } from "../../daemons";
import { file, Fragment, RenderContext } from "../../files";
import { INTERNAL, PORTS, PROXIED } from "../../ports";
import { mtaStsPolicy } from "../../shared/mta-sts";
import {
  CSP_NOTHING, messageUploadLimit, nginxHideUpstreamSecurityHeaders, nginxMainConf, nginxRoundcubeCspMap, nginxSecurityHeaders, nginxVerifiedUpstream,
  NGINX_HTTP_CONF, NGINX_STREAM_CONF, NGINX_TLS_SERVER,
} from "../../shared/nginx";
import { PlatformSpec } from "../../spec/types";
import { Host, hostsOf, serviceNames } from "../../topology";

/** Documents the frontends serve over HTTPS. */
const WWW_DIR = "/var/www/mailplatform";
const MTA_STS_FILE = `${WWW_DIR}/mta-sts.txt`;
const AUTODISCOVER_FILE = `${WWW_DIR}/autodiscover.xml`;
const autoconfigFile = (domain: string) => `${WWW_DIR}/autoconfig/${domain}.xml`;

type ProxiedService = keyof typeof PROXIED;

/** What each public mail port is proxied to. IMAP may sit idle for 30 minutes (RFC 9051 autologout). */
const STREAMS: { service: ProxiedService; role: "smtp-out" | "maildrop"; timeout?: string }[] = [
  { service: "submission", role: "smtp-out" },
  { service: "submissions", role: "smtp-out" },
  { service: "imaps", role: "maildrop", timeout: "30m" },
  { service: "imap", role: "maildrop", timeout: "30m" },
  { service: "pop3s", role: "maildrop" },
  { service: "pop3", role: "maildrop" },
  { service: "managesieve", role: "maildrop" },
];

/** The first host is the primary, the others are backups; two failed connects in 10 s bench a member for 10 s. */
function upstream(name: string, hosts: Host[], port: number): string {
  return [
    `upstream ${name} {`,
    ...hosts.map((h, i) => `    server ${h.address}:${port} max_fails=2 fail_timeout=10s${i > 0 ? " backup" : ""};`),
    "}",
  ].join("\n");
}

const listen = (port: number, extra = "") => `    listen ${port}${extra};\n    listen [::]:${port}${extra};`;

/** ManageSieve is for the allowed networks only, and for the webmail's sieve editor. */
export function sieveClients(spec: PlatformSpec): string[] {
  return [...spec.access.sieveNetworks, ...hostsOf(spec, "webmail").map((h) => h.address)];
}

function streamConf(spec: PlatformSpec): string {
  const servers = STREAMS.map(({ service, role, timeout }) => {
    const access = service === "managesieve" ? [...sieveClients(spec).map((n) => `    allow ${n};`), "    deny all;"] : [];
    return [
      upstream(service, hostsOf(spec, role), PROXIED[service]),
      "server {",
      listen(PORTS[service]),
      ...access,
      timeout && `    proxy_timeout ${timeout};`,
      `    proxy_pass ${service};`,
      "}",
    ].filter(Boolean).join("\n");
  });
  return `# Written by mailplatform. Mail protocols pass through as TCP; TLS ends on the backends, which
# learn the client's address from the PROXY protocol header (their PROXIED ports expect it).
log_format mail '$remote_addr [$time_local] :$server_port -> $upstream_addr $status '
                'sent=$bytes_sent received=$bytes_received time=$session_time';
access_log /var/log/nginx/mail.log mail;

proxy_protocol on;
# A dead member is given up on fast and the connection moves on to the next one (the backup).
proxy_connect_timeout 2s;
proxy_next_upstream on;
# Idle IMAP sessions must survive NAT and firewall state on both sides.
proxy_socket_keepalive on;

${servers.join("\n\n")}
`;
}

const HTTPS = listen(PORTS.https, " ssl http2");

function httpConf(spec: PlatformSpec): string {
  const names = serviceNames(spec);
  const webmails = hostsOf(spec, "webmail");
  const domains = spec.domains.map((d) => d.name);
  const autoconfigServers = domains.map((d) => `server {
${HTTPS}
    server_name autoconfig.${d} autodiscover.${d};

    # Thunderbird
    location = /mail/config-v1.1.xml {
        alias ${autoconfigFile(d)};
        types { }
        default_type application/xml;
    }
    # Outlook POSTs its request; the answer does not depend on it.
    location ~* ^/autodiscover/autodiscover\\.xml$ {
        alias ${AUTODISCOVER_FILE};
        types { }
        default_type application/xml;
        error_page 405 =200 $uri;
    }
    location / {
        return 404;
    }
}`);

  return `# Written by mailplatform. HTTPS for the webmail, the MTA-STS policy and mail client autoconfiguration.
${NGINX_TLS_SERVER}

# Every server but the webmail's serves only documents of its own: nothing loads, nothing frames them.
${nginxSecurityHeaders({ csp: CSP_NOTHING, frames: "DENY" })}

# Port 80 only sends clients to HTTPS.
server {
${listen(PORTS.http, " default_server")}
    location / {
        return 301 https://$host$request_uri;
    }
}

# Names this host does not serve get no certificate and no answer.
server {
${listen(PORTS.https, " ssl http2 default_server")}
    ssl_reject_handshake on;
}

# Webmail: only from mailplatform:access.webmailNetworks (seed 004's geo allow-list).
geo $webmail_allowed {
    default 0;
${spec.access.webmailNetworks.map((n) => `    ${n} 1;`).join("\n")}
}

${upstream("webmail", webmails, INTERNAL.webmailHttps)}

${nginxRoundcubeCspMap("$webmail_csp")}

server {
${HTTPS}
    server_name ${names.webmail};
    # Also on the answers made here (403, 502); the webmail's own copies are replaced, not doubled.
${nginxSecurityHeaders({ csp: "$webmail_csp", frames: "SAMEORIGIN" }, "    ")}

    if ($webmail_allowed = 0) {
        return 403;
    }

    # Passwords and session cookies cross sites: TLS to the webmail hosts, verified against the platform CA.
    location / {
        proxy_pass https://webmail;
${nginxVerifiedUpstream(names.webmail, "        ")}
${nginxHideUpstreamSecurityHeaders("proxy", "        ")}
        proxy_set_header Host $host;
        # Replaced, not appended: the webmail trusts what the frontends send.
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto https;
        client_max_body_size ${messageUploadLimit(spec)};
        proxy_request_buffering off;
        proxy_read_timeout 300s;
    }
}

# MTA-STS policy (RFC 8461), the same for every hosted domain.
server {
${HTTPS}
    server_name ${domains.map((d) => `mta-sts.${d}`).join(" ")};

    location = /.well-known/mta-sts.txt {
        alias ${MTA_STS_FILE};
        types { }
        default_type text/plain;
    }
    location / {
        return 404;
    }
}

# Mail client autoconfiguration, per hosted domain.
${autoconfigServers.join("\n\n")}
`;
}

/** Thunderbird's autoconfig document (https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat). */
function autoconfigXml(spec: PlatformSpec, domain: string): string {
  const names = serviceNames(spec);
  const server = (tag: string, type: string, host: string, port: number, socketType: string) => `    <${tag} type="${type}">
      <hostname>${host}</hostname>
      <port>${port}</port>
      <socketType>${socketType}</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </${tag}>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="${domain}">
    <domain>${domain}</domain>
    <displayName>${domain}</displayName>
    <displayShortName>${domain}</displayShortName>
${server("incomingServer", "imap", names.imap, PORTS.imaps, "SSL")}
${server("incomingServer", "pop3", names.pop3, PORTS.pop3s, "SSL")}
${server("outgoingServer", "smtp", names.submission, PORTS.submissions, "SSL")}
${server("outgoingServer", "smtp", names.submission, PORTS.submission, "STARTTLS")}
  </emailProvider>
</clientConfig>
`;
}

/** Outlook's (POX) autodiscover answer; without LoginName Outlook logs in with the e-mail address. */
function autodiscoverXml(spec: PlatformSpec): string {
  const names = serviceNames(spec);
  const protocol = (type: string, host: string, port: number) => `      <Protocol>
        <Type>${type}</Type>
        <Server>${host}</Server>
        <Port>${port}</Port>
        <DomainRequired>off</DomainRequired>
        <SPA>off</SPA>
        <SSL>on</SSL>
        <AuthRequired>on</AuthRequired>
      </Protocol>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
${protocol("IMAP", names.imap, PORTS.imaps)}
${protocol("POP3", names.pop3, PORTS.pop3s)}
${protocol("SMTP", names.submission, PORTS.submissions)}
    </Account>
  </Response>
</Autodiscover>
`;
}

export function nginxFrontend(ctx: RenderContext): Fragment {
  const { spec } = ctx;
  const dir = (path: string) => ({ path, owner: "root", group: "root", mode: "0755" });
  return {
    packages: ["libnginx-mod-stream"],
    services: [daemons(spec.debianRelease).nginx],
    directories: [dir(WWW_DIR), dir(`${WWW_DIR}/autoconfig`)],
    files: [
      nginxMainConf({ stream: true }),
      file("nginx", NGINX_HTTP_CONF, httpConf(spec)),
      file("nginx", NGINX_STREAM_CONF, streamConf(spec)),
      file("nginx", MTA_STS_FILE, mtaStsPolicy(spec).text),
      file("nginx", AUTODISCOVER_FILE, autodiscoverXml(spec)),
      ...spec.domains.map((d) => file("nginx", autoconfigFile(d.name), autoconfigXml(spec, d.name))),
    ],
  };
}
