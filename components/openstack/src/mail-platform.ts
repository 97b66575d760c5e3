// The whole platform: site networks, security groups, secrets, the role clusters with their
// rolling config pushes, and the DNS records (optionally in Designate). It computes nothing about
// mail: hosts, addresses, rules, files and records all come from the core.
import { DnsRecord, dnsRecords, Host, hostScript, PlatformSpec, PUBLIC_ROLES, PublicAddresses, Role, serviceNames, zoneFiles } from "@mailplatform/core";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { ClusterArgs, ClusterOutputs } from "./cluster";
import { outputsOf, rehydrationProps } from "./component";
import { DesignateRecords } from "./dns";
import { MaildropCluster } from "./maildrop-cluster";
import { SiteNetwork } from "./network";
import { providerFor, RegionalProviders } from "./providers";
import { Secrets, SuppliedCertificate } from "./secrets";
import { QuotaNeeds, quotaNeeds, reportQuotaNeeds } from "./quotas";
import { RoleCluster } from "./role-cluster";
import { SecurityGroups } from "./security-groups";
import { ServerGroups } from "./server-groups";
import { OpenStackSettings, SETTINGS_NAMESPACE } from "./settings";
import { siteJumps, SshAccess } from "./ssh-access";

export interface MailPlatformArgs {
  /** The validated spec (parseSpec). Plain, not an Input: it decides what exists. */
  spec: PlatformSpec;
  /** One provider per region the spec's sites use. */
  providers: RegionalProviders;
  settings: OpenStackSettings;
  /** The directory's bind password, when the spec has a directory. */
  ldapBindPassword?: pulumi.Input<string>;
  /** Address → password hash of the spec's users, as a secret (readStackInputs); else the spec's hashes. */
  userPasswordHashes?: pulumi.Input<Record<string, string>>;
  /** With tls.mode `supplied`. */
  suppliedCertificate?: SuppliedCertificate;
  /** Text of the provisioning script; defaults to the repository's files/provision.sh. */
  provisionScript?: pulumi.Input<string>;
}

/** One host as the operator sees it; no secrets. */
export interface InventoryEntry {
  name: string;
  role: Role;
  site: string;
  region: string;
  fqdn: string;
  /** Planned site-local address. */
  address: string;
  publicAddress?: string;
  serverId: string;
  flavor: string;
}

export interface Endpoints {
  /** MX targets of every hosted domain (equal preference). */
  mx: string[];
  submission: string;
  imap: string;
  pop3: string;
  webmail: string;
  /** Public address per smtp-in and frontend host. */
  publicAddresses: PublicAddresses;
  /** The CA the hosts' certificates chain to (clients inside the platform trust it). */
  caCertificatePem: string;
  /** Per site: the egress addresses of the stack config and those SPF publishes (the router's SNAT address, which Neutron picks). */
  egress: Record<string, { configured: string[]; published: string[] }>;
}

const OUTPUTS = [
  "secrets", "networks", "securityGroups", "serverGroups", "smtpIn", "smtpOut", "maildrop", "frontend", "webmail", "designate",
  "endpoints", "inventory", "dnsRecords", "zoneFiles", "quotaNeeds",
] as const;

export class MailPlatform extends pulumi.ComponentResource {
  declare readonly secrets: Secrets;
  declare readonly networks: Record<string, SiteNetwork>;
  declare readonly securityGroups: SecurityGroups;
  declare readonly serverGroups: ServerGroups;
  declare readonly smtpIn: RoleCluster;
  declare readonly smtpOut: RoleCluster;
  declare readonly maildrop: MaildropCluster;
  declare readonly frontend: RoleCluster;
  declare readonly webmail: RoleCluster;
  declare readonly designate?: DesignateRecords;
  declare readonly endpoints: pulumi.Output<Endpoints>;
  declare readonly inventory: pulumi.Output<InventoryEntry[]>;
  /** Every record the platform needs; not secret. */
  declare readonly dnsRecords: pulumi.Output<DnsRecord[]>;
  /** The same records as BIND zone text. */
  declare readonly zoneFiles: pulumi.Output<Record<string, string>>;
  /** What the platform takes of each region's project quotas. */
  declare readonly quotaNeeds: Record<string, QuotaNeeds>;

  constructor(name: string, args: MailPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailplatform:index:MailPlatform", name, rehydrationProps(opts, OUTPUTS), opts);
    if (opts?.urn) return;
    const { spec, providers, settings } = args;
    const regions = [...new Set(spec.sites.map((s) => s.region))];
    const regional = (region: string) => ({ parent: this, provider: providerFor(providers, region) });

    this.secrets = new Secrets(`${name}-secrets`, {
      spec, ldapBindPassword: args.ldapBindPassword, userPasswordHashes: args.userPasswordHashes, suppliedCertificate: args.suppliedCertificate,
    }, { parent: this });
    this.networks = Object.fromEntries(spec.sites.map((site) => [site.name, new SiteNetwork(`${name}-${site.name}`, {
      site, stack: spec.stack, externalNetwork: settings.externalNetwork,
    }, regional(site.region))]));
    this.securityGroups = new SecurityGroups(`${name}-sg`, { spec, providers }, { parent: this });
    this.serverGroups = new ServerGroups(`${name}-placement`, { spec, providers }, { parent: this });

    this.quotaNeeds = quotaNeeds(spec);
    reportQuotaNeeds(this.quotaNeeds, this);

    const ssh = settings.ssh;
    if (ssh.privateKey && !ssh.publicKey && !ssh.keyPair) {
      throw new Error(`${SETTINGS_NAMESPACE}: with sshPrivateKey, set sshPublicKey (a key pair is created per region) or keyPair (an existing one)`);
    }
    if (!ssh.privateKey && (ssh.publicKey || ssh.keyPair)) {
      throw new Error(`${SETTINGS_NAMESPACE}:sshPrivateKey: required with ${ssh.publicKey ? "sshPublicKey" : "keyPair"} (the push logs in with it); leave all three unset and the stack makes the key`);
    }
    // Without a key of the operator's own the stack makes one, so a fresh stack previews and deploys unset.
    const deployKey = ssh.privateKey ? undefined : new tls.PrivateKey(`${name}-deploy-key`, { algorithm: "ED25519" }, { parent: this });
    const publicKey = ssh.publicKey ?? deployKey?.publicKeyOpenssh;
    const keyPairs = Object.fromEntries(regions.map((region) => [region, publicKey
      ? new openstack.compute.Keypair(`${name}-${region}`, { name: `mailplatform-${spec.stack}`, publicKey }, regional(region)).name
      : ssh.keyPair!]));
    const publicAccess: SshAccess = { user: ssh.user, privateKey: pulumi.secret(ssh.privateKey ?? deployKey!.privateKeyOpenssh), jumps: {} };

    const clusterArgs = <R extends Role>(role: R, access: SshAccess): ClusterArgs & { role: R } => ({
      role,
      spec,
      providers,
      networks: Object.fromEntries(Object.entries(this.networks).map(([site, n]) => [site, { networkId: n.network.id, subnetId: n.routerInterface.subnetId }])),
      securityGroupIds: Object.fromEntries(Object.entries(this.securityGroups.groups[role]).map(([region, g]) => [region, g.id])),
      serverGroupIds: Object.fromEntries(Object.entries(this.serverGroups.groups).map(([region, g]) => [region, g.id])),
      keyPairs,
      secrets: this.secrets.values,
      access,
      provisionScript: args.provisionScript ?? hostScript("provision.sh"),
      externalNetwork: PUBLIC_ROLES.includes(role) ? settings.externalNetwork : undefined,
      volumeType: settings.volumeType,
      protectStore: settings.protectMailStore,
    });
    const child = { parent: this };
    // The public clusters first: their hosts are the other hosts' jump hosts.
    this.smtpIn = new RoleCluster(`${name}-smtp-in`, clusterArgs("smtp-in", publicAccess), child);
    this.frontend = new RoleCluster(`${name}-frontend`, clusterArgs("frontend", publicAccess), child);
    const jumps = siteJumps(spec, settings.jumpHosts ?? {}, [...this.smtpIn.hosts, ...this.frontend.hosts]
      .map((h) => ({ host: h.host, hostKey: h.pinnedHostKey, publicAddress: h.floatingIp?.address })));
    const access: SshAccess = { ...publicAccess, jumps };
    this.smtpOut = new RoleCluster(`${name}-smtp-out`, clusterArgs("smtp-out", access), child);
    this.maildrop = new MaildropCluster(`${name}-maildrop`, {
      ...clusterArgs("maildrop", access),
      shareType: settings.shareType,
      shareNetworkId: settings.shareNetworkId,
    }, child);
    this.webmail = new RoleCluster(`${name}-webmail`, clusterArgs("webmail", access), child);

    const clusters: ClusterOutputs[] = [this.smtpIn, this.smtpOut, this.maildrop, this.frontend, this.webmail];
    const hosts = clusters.flatMap((c) => c.hosts);
    const publicAddresses: pulumi.Output<PublicAddresses> = pulumi.output(Object.fromEntries(
      hosts.filter((h) => h.floatingIp).map((h) => [h.host.name, { ipv4: h.floatingIp!.address }]),
    ));
    // SPF publishes where outbound mail really leaves from: each router's SNAT address, picked by Neutron.
    const egress = pulumi.output(Object.fromEntries(spec.sites.map((s) => [s.name, this.networks[s.name].snatAddresses]))) as pulumi.Output<Record<string, string[]>>;
    egress.apply((actual) => warnEgressMismatch(spec, actual, this));
    this.dnsRecords = pulumi.all([publicAddresses, this.secrets.dkimPublicKeys, egress])
      .apply(([publicAddresses, dkim, egress]) => dnsRecords(spec, { publicAddresses, dkim, egress }));
    this.zoneFiles = this.dnsRecords.apply((records) => zoneFiles(records));
    if (spec.dns.provider === "designate") {
      this.designate = new DesignateRecords(`${name}-dns`, { spec, records: this.dnsRecords, zone: spec.dns.designateZone! }, regional(spec.sites[0].region));
    }

    const entry = (h: { host: Host; server: openstack.compute.Instance; floatingIp?: openstack.networking.FloatingIp }) => pulumi.output({
      name: h.host.name,
      role: h.host.role,
      site: h.host.site.name,
      region: h.host.site.region,
      fqdn: h.host.fqdn,
      address: h.host.address,
      publicAddress: h.floatingIp?.address,
      serverId: h.server.id,
      flavor: spec.placement.flavors[h.host.role],
    });
    this.inventory = pulumi.all(hosts.map(entry)) as pulumi.Output<InventoryEntry[]>;
    const names = serviceNames(spec);
    this.endpoints = pulumi.output({
      mx: this.smtpIn.hosts.map((h) => h.host.fqdn),
      submission: names.submission,
      imap: names.imap,
      pop3: names.pop3,
      webmail: names.webmail,
      publicAddresses,
      caCertificatePem: this.secrets.caCertificatePem,
      egress: egress.apply((actual) => Object.fromEntries(spec.sites.map((s) => [s.name, { configured: s.egress, published: actual[s.name] }]))),
    }) as pulumi.Output<Endpoints>;

    this.registerOutputs(outputsOf(this, OUTPUTS));
  }
}

/** After `up`, a site whose router does not leave from its configured egress gets a warning naming the key. */
function warnEgressMismatch(spec: PlatformSpec, actual: Record<string, string[]>, resource: pulumi.Resource): void {
  if (pulumi.runtime.isDryRun()) return;
  spec.sites.forEach((s, i) => {
    const published = actual[s.name] ?? [];
    if (published.join() !== s.egress.join()) {
      pulumi.log.warn(`mailplatform:sites[${i}].egress is ${s.egress.join(", ")} but site ${s.name}'s router leaves from ${published.join(", ") || "no address"}; SPF publishes the router's: set egress to match for the offline render and the lab`, resource);
    }
  });
}
