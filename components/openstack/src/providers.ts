// One explicit OpenStack provider per region. Explicit providers do not read the stack's
// `openstack:*` config the way the default provider does, so the credentials are copied over.
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";

/** Provider settings shared by every region (everything but the region itself). */
export type OpenStackCredentials = Omit<openstack.ProviderArgs, "region">;

/** Region name → its provider; what the components take as `providers`. */
export type RegionalProviders = Record<string, openstack.Provider>;

const PLAIN_KEYS = [
  "authUrl", "cloud", "userName", "userId", "tenantName", "tenantId", "domainName", "domainId",
  "userDomainName", "userDomainId", "projectDomainName", "projectDomainId", "defaultDomain",
  "applicationCredentialId", "applicationCredentialName", "endpointType", "cacertFile",
] as const;
const SECRET_KEYS = ["password", "token", "applicationCredentialSecret"] as const;

/** The `openstack:*` stack config (the same keys `pulumi config set openstack:...` documents). */
export function credentialsFromConfig(): OpenStackCredentials {
  const c = new pulumi.Config("openstack");
  const creds: Record<string, pulumi.Input<string> | boolean> = {};
  for (const k of PLAIN_KEYS) {
    const v = c.get(k);
    if (v !== undefined) creds[k] = v;
  }
  for (const k of SECRET_KEYS) {
    const v = c.getSecret(k);
    if (v !== undefined) creds[k] = v;
  }
  const insecure = c.getBoolean("insecure");
  if (insecure !== undefined) creds.insecure = insecure;
  return creds as OpenStackCredentials;
}

/** A provider per region, named `<name>-<region>`. */
export function regionalProviders(
  name: string,
  regions: string[],
  credentials: OpenStackCredentials,
  opts?: pulumi.ResourceOptions,
): RegionalProviders {
  return Object.fromEntries(
    [...new Set(regions)].map((region) => [region, new openstack.Provider(`${name}-${region}`, { ...credentials, region }, opts)]),
  );
}

/** The provider of a region, or an error naming what is missing. */
export function providerFor(providers: RegionalProviders, region: string): openstack.Provider {
  const p = providers[region];
  if (!p) throw new Error(`no OpenStack provider for region ${region} (providers given for: ${Object.keys(providers).join(", ") || "none"})`);
  return p;
}
