// The entry point of the renderers: spec + secrets → every host's bundle. Pure: no I/O but reading
// the package's own static files, no cloud state, no Pulumi.
import { HostBundle, RenderContext } from "./files";
import { PlatformSecrets, secretValuesIn } from "./secrets";
import { PlatformSpec, Role } from "./spec/types";
import { allHosts, Host } from "./topology";
import { renderSmtpIn } from "./roles/smtp-in";
import { renderSmtpOut } from "./roles/smtp-out";
import { renderMaildrop } from "./roles/maildrop";
import { renderFrontend } from "./roles/frontend";
import { renderWebmail } from "./roles/webmail";

const RENDERERS: Record<Role, (ctx: RenderContext) => HostBundle> = {
  "smtp-in": renderSmtpIn,
  "smtp-out": renderSmtpOut,
  maildrop: renderMaildrop,
  frontend: renderFrontend,
  webmail: renderWebmail,
};

export function renderHost(spec: PlatformSpec, host: Host, secrets: PlatformSecrets): HostBundle {
  const b = RENDERERS[host.role]({ spec, host, secrets });
  return { ...b, secretValues: secretValuesIn(b.files, secrets) };
}

export function renderPlatform(spec: PlatformSpec, secrets: PlatformSecrets): HostBundle[] {
  return allHosts(spec).map((host) => renderHost(spec, host, secrets));
}
