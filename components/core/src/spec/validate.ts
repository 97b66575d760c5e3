// Stack config (raw, untrusted) → PlatformSpec (validated, normalized). Every problem is reported
// at once, each naming its config key; nothing downstream runs on a spec with problems.
import { Problems, Reader, SpecError } from "./reader";
import { KeyAt, KeyOfKind, keysOf, RefPath, ValueKind } from "./reference";
import { cidrsOverlap, domainOf, isIPv6 } from "./syntax";
import { Access, DkimSelector, DnsSettings, DnsblZone, HostedDomain, LdapDirectory, Limits, PlatformSpec, Placement, Role, ROLES, Site, UserForward } from "./types";

export const NAMESPACE = "mailplatform";

/** Top-level keys of the stack config, as `mailplatform:<key>`. */
export const TOP_LEVEL_KEYS = keysOf("");

/** camelCase config key of each role in `placement`. */
export const ROLE_KEYS: Record<Role, KeyAt<"placement.flavors">> = {
  "smtp-in": "smtpIn",
  "smtp-out": "smtpOut",
  maildrop: "maildrop",
  frontend: "frontend",
  webmail: "webmail",
};

const SITE_NAME = /^[a-z][a-z0-9]{0,11}$/;
const SASL_NAME = /^[a-z][a-z0-9_.-]{0,31}$/;
const SELECTOR = /^[a-z0-9][a-z0-9-]{0,40}$/;


export function parseSpec(raw: Record<string, unknown>, stack: string): PlatformSpec {
  const problems = new Problems(NAMESPACE);
  const r = Reader.root(problems, raw);

  const platformDomain = r.string("platformDomain");
  const debianRelease = r.oneOf("debianRelease");
  const image = r.string("image", `debian-${debianRelease}`)!;
  const sites = readSites(r);
  const siteNames = sites.map((s) => s.name);
  const placement = readPlacement(r, siteNames);
  const dkim = r.object("dkim");
  const domains = readDomains(r, checkedSelectors(dkim, dkim.list("selectors", readSelector)));
  const hosted = new Set(domains.map((d) => d.name));
  const isHosted = (a: string) => hosted.has(domainOf(a));

  const directory = readDirectory(r);
  const forwardKeys: ForwardKeys = new Map();
  const users = r.list("users", (u) => {
    const address = u.string("address");
    // Read by the program as a secret (program.ts); offline it may be missing or encrypted.
    const passwordHash = u.secretString("passwordHash");
    const quotaBytes = u.has("quota") ? u.size("quota") : undefined;
    const disabled = u.oneOf("state") === "disabled" ? (true as const) : undefined;
    if (address && !isHosted(address)) {
      u.fail("address", `${JSON.stringify(address)} is in ${domainOf(address)}, which is not a hosted domain (mailplatform:domains)`);
    }
    const forward = readUserForward(u, address);
    if (forward && address) forwardKeys.set(address, { key: u.child("forwardTo"), targets: forward.keys });
    // Kept when only the hash is wrong, so cross-checks do not report the address as undefined too.
    return address ? { address, ...(passwordHash ? { passwordHash } : {}), quotaBytes, ...(disabled ? { disabled } : {}), ...(forward ? { forward: forward.forward } : {}) } : undefined;
  });
  const rawUsers = r.value["users"];
  if ((!Array.isArray(rawUsers) || rawUsers.length === 0) && !directory) {
    r.fail("users", "is empty and no directory is configured: nobody could log in");
  }

  const aliases = r.list("aliases", (a) => {
    const address = hostedAddress(a, "address", isHosted);
    const to = a.string("to");
    if (to && !isHosted(to)) {
      a.fail("to", `${JSON.stringify(to)} is outside the hosted domains; use mailplatform:forwards for outside addresses`);
    }
    return address ? { address, to: to ?? "" } : undefined;
  });
  const lists = r.list("lists", (l) => {
    const address = hostedAddress(l, "address", isHosted);
    const members = l.strings("members");
    if (members.length === 0) l.fail("members", "must name at least one member");
    duplicatesIn(l, "members", members);
    return address ? { address, members } : undefined;
  });
  const forwards = r.list("forwards", (f) => {
    const address = hostedAddress(f, "address", isHosted);
    const to = f.strings("to");
    if (to.length === 0) f.fail("to", "must name at least one outside address");
    to.forEach((t, i) => {
      if (isHosted(t)) f.fail(`to[${i}]`, `${JSON.stringify(t)} is a hosted address; use mailplatform:aliases for hosted targets`);
    });
    return address ? { address, to } : undefined;
  });
  const devnull = r.strings("devnull");
  devnull.forEach((a, i) => {
    if (!isHosted(a)) r.fail(`devnull[${i}]`, `${JSON.stringify(a)} is not in a hosted domain`);
  });

  const defaultQuotaBytes = r.object("quota").size("default") ?? 0;

  const relayClients = r.list("relayClients", (c) => {
    const name = c.string("name");
    if (name && !SASL_NAME.test(name)) c.fail("name", `${JSON.stringify(name)} must be lower case letters, digits, ._- (at most 32)`);
    return name ? { name, description: c.optionalString("description") } : undefined;
  });
  duplicatesIn(r, "relayClients", relayClients.map((c) => c.name));

  const access = readAccess(r);
  const storage = r.object("storage");
  const mode = storage.oneOf("mode");
  if (mode === "replicated" && debianRelease === 13) {
    storage.fail(
      "mode",
      `"replicated" needs Dovecot's replicator, which Dovecot 2.4 (Debian 13, mailplatform:debianRelease) removed; use debianRelease 12 or storage mode "shared"`,
    );
  }
  const tls = r.object("tls");
  const tlsMode = tls.oneOf("mode");
  if (tlsMode === "supplied") {
    for (const k of ["certificate", "key"] as const) if (!tls.has(k)) tls.fail(k, `is required when tls.mode is "supplied"`);
  }

  const dns = readDns(r, tlsMode === "supplied" ? "enforce" : "testing");
  if (dns.mtaStsMode === "enforce" && tlsMode === "internal-ca") {
    r.fail(
      "dns.mtaStsMode",
      `"enforce" needs certificates the Internet trusts on smtp-in and mta-sts hosts, but tls.mode is "internal-ca": senders would refuse to deliver; use "testing" or tls.mode "supplied"`,
    );
  }
  const dnsbl = readDnsbl(r);
  const limits = readLimits(r);
  const postmaster = r.has("postmaster") ? r.string("postmaster") : defaultPostmaster(r, domains, users, aliases, lists);

  const spec: PlatformSpec = {
    stack,
    platformDomain: platformDomain ?? "",
    debianRelease,
    image,
    sites,
    placement,
    domains,
    users,
    directory,
    aliases,
    lists,
    forwards,
    devnull,
    defaultQuotaBytes,
    relayClients,
    access,
    storage: { mode, sizeGb: storage.integer("sizeGb"), queueSizeGb: storage.integer("queueSizeGb") },
    tls: { mode: tlsMode },
    dnsbl: dnsbl.zones,
    dnsblThreshold: dnsbl.threshold,
    limits,
    dns,
    postmaster: postmaster ?? "",
  };
  checkAddressing(problems, spec, forwardKeys);
  if (problems.list.length > 0) throw new SpecError(problems.list);
  return spec;
}

/** Without mailplatform:postmaster (its reference says so), the first hosted domain's postmaster@ that the config defines. */
function defaultPostmaster(r: Reader<"">, domains: HostedDomain[], ...defined: { address: string }[][]): string | undefined {
  const addresses = new Set(defined.flat().map((x) => x.address));
  const found = domains.map((d) => `postmaster@${d.name}`).find((a) => addresses.has(a));
  if (!found && domains.length > 0 && !r.has("directory")) {
    r.fail("postmaster", "is not set and no hosted domain defines postmaster@: set it to an address that receives mail (DSNs and RFC 2142 mail go there)");
  }
  return found;
}

/** Config keys of the mailbox forwards, by mailbox: of forwardTo, and of each target (users[3].forwardTo[1]). */
type ForwardKeys = Map<string, { key: string; targets: string[] }>;

/** A mailbox's own forward: its targets (never itself, each once), whether it keeps a copy, and each target's config key. */
function readUserForward(u: Reader<"users[]">, address: string | undefined): { forward: UserForward; keys: string[] } | undefined {
  const to = u.strings("forwardTo", (t) => (t === address ? "is the mailbox itself: keepCopy says whether the mailbox keeps its mail" : undefined));
  duplicatesIn(u, "forwardTo", to);
  const keepCopy = u.boolean("keepCopy");
  const rawTo = Array.isArray(u.value["forwardTo"]) ? (u.value["forwardTo"] as unknown[]) : [];
  if (!keepCopy && rawTo.length === 0) u.fail("keepCopy", "is false but forwardTo is empty: the mailbox's mail would go nowhere");
  return to.length > 0 ? { forward: { to, keepCopy }, keys: to.map((t) => u.child(`forwardTo[${rawTo.indexOf(t)}]`)) } : undefined;
}

function hostedAddress<P extends RefPath>(r: Reader<P>, key: KeyOfKind<P, ValueKind>, isHosted: (a: string) => boolean): string | undefined {
  const a = r.string(key);
  if (a && !isHosted(a)) {
    r.fail(key, `${JSON.stringify(a)} is in ${domainOf(a)}, which is not a hosted domain (mailplatform:domains)`);
    return undefined;
  }
  return a;
}

/** What reports a problem under a key: any Reader. */
type Failing = Pick<Reader<RefPath>, "fail">;

function duplicatesIn(r: Failing, key: string, values: string[]): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) r.fail(key, `lists ${JSON.stringify(v)} more than once`);
    seen.add(v);
  }
}

function readSites(r: Reader<"">): Site[] {
  const sites = r.list(
    "sites",
    (s) => {
      const name = s.string("name");
      if (name && !SITE_NAME.test(name)) {
        s.fail("name", `${JSON.stringify(name)} must start with a letter and be lower case letters and digits, at most 12 (it becomes part of host names)`);
      }
      const region = s.string("region");
      const availabilityZone = s.string("availabilityZone")!;
      const volumeAvailabilityZone = s.optionalString("volumeAvailabilityZone");
      const cidr = s.string("cidr");
      const egress = s.strings("egress");
      if (!s.has("egress") || (Array.isArray(s.value.egress) && s.value.egress.length === 0)) s.fail("egress", "must list at least one address outbound mail leaves from (it is published in SPF)");
      // The site network has one IP version; mail cannot leave from an address of the other.
      const foreign = cidr ? egress.filter((ip) => isIPv6(ip) !== isIPv6(cidr)) : [];
      if (foreign.length > 0) s.fail("egress", `${foreign.join(", ")}: the site network ${cidr} is ${isIPv6(cidr!) ? "IPv6" : "IPv4"}-only, so outbound mail never leaves from ${foreign.length > 1 ? "these" : "this"} (SPF would publish an address that sends nothing)`);
      return name && region && cidr ? { name, region, availabilityZone, ...(volumeAvailabilityZone ? { volumeAvailabilityZone } : {}), cidr, egress } : undefined;
    },
    true,
  );
  duplicatesIn(r, "sites", sites.map((s) => s.name));
  for (let i = 0; i < sites.length; i++) {
    for (let j = i + 1; j < sites.length; j++) {
      if (cidrsOverlap(sites[i].cidr, sites[j].cidr)) {
        r.fail(`sites[${j}].cidr`, `${sites[j].cidr} overlaps site ${sites[i].name}'s ${sites[i].cidr}`);
      }
    }
  }
  return sites;
}

function readPlacement(r: Reader<"">, names: string[]): Placement {
  const siteNames = [...new Set(names)];
  const p = r.object("placement");
  // The defaults the reference describes for each role (placement.<role>).
  const defaults: Record<Role, string[]> = {
    "smtp-in": siteNames,
    "smtp-out": siteNames,
    maildrop: siteNames.slice(0, 2),
    frontend: siteNames,
    webmail: siteNames.slice(0, 1),
  };
  const sites = {} as Record<Role, string[]>;
  for (const role of ROLES) {
    const key = ROLE_KEYS[role];
    const chosen = p.strings(key, (s) => (siteNames.includes(s) ? undefined : `is not a site (mailplatform:sites has ${siteNames.join(", ") || "none"})`), p.has(key) ? [] : defaults[role]);
    duplicatesIn(p, key, chosen);
    sites[role] = chosen;
    if (chosen.length === 0 && siteNames.length > 0) p.fail(key, `places no ${role} host; every role needs at least one`);
  }
  if (siteNames.length > 0 && sites.maildrop.length !== 2) {
    p.fail(
      ROLE_KEYS.maildrop,
      `places ${sites.maildrop.length} maildrop host(s); the maildrop is a pair: name exactly two sites (primary first)${siteNames.length < 2 ? ", which needs at least two sites" : ""}`,
    );
  }
  const f = p.object("flavors");
  const flavors = {} as Record<Role, string>;
  for (const role of ROLES) flavors[role] = f.string(ROLE_KEYS[role])!;
  return { sites, flavors };
}

function readDomains(r: Reader<"">, platformSelectors: DkimSelector[]): HostedDomain[] {
  const raw = r.value["domains"];
  // Plain names or { name, catchAll }.
  const list = Array.isArray(raw) ? raw.map((d) => (typeof d === "string" ? { name: d } : d)) : raw;
  const shadow = new Reader(r.problems, r.path, { domains: list }, "");
  const domains = shadow.list(
    "domains",
    (d) => {
      const name = d.string("name");
      const catchAll = d.optionalString("catchAll");
      const dkim = d.object("dkim");
      const dkimSelectors = dkim.has("selectors") ? checkedSelectors(dkim, dkim.list("selectors", readSelector)) : platformSelectors;
      return name ? { name, catchAll, dkimSelectors } : undefined;
    },
    true,
  );
  if (Array.isArray(raw) && raw.length === 0) r.fail("domains", "must list at least one hosted domain");
  duplicatesIn(r, "domains", domains.map((d) => d.name));
  return domains;
}

function readDirectory(r: Reader<"">): LdapDirectory | undefined {
  if (!r.has("directory")) return undefined;
  const d = r.object("directory");
  const type = d.oneOf("type");
  const uris = d.strings("uris");
  if (uris.length === 0) d.fail("uris", "must list at least one LDAP server");
  // One TLS mode for every server: Dovecot's StartTLS switch holds for all of them.
  if (new Set(uris.map((u) => u.split(":")[0])).size > 1) d.fail("uris", "mixes ldap:// and ldaps://; use one scheme for every server");
  if (!d.has("bindPassword")) d.fail("bindPassword", "is required (set it as a secret: pulumi config set --secret)");
  const baseDn = d.string("baseDn");
  const bindDn = d.string("bindDn");
  const rest = {
    userFilter: d.string("userFilter") ?? "",
    passFilter: d.string("passFilter") ?? "",
    mailboxFilter: d.string("mailboxFilter") ?? "",
    groupFilter: d.string("groupFilter") ?? "",
    groupMemberAttribute: d.string("groupMemberAttribute") ?? "",
    quotaAttribute: d.string("quotaAttribute"),
    caCertificate: d.optionalString("caCertificate"),
  };
  return baseDn && bindDn ? { type, uris, baseDn, bindDn, ...rest } : undefined;
}

function readAccess(r: Reader<"">): Access {
  const a = r.object("access");
  const access = {
    sieveNetworks: a.strings("sieveNetworks"),
    webmailNetworks: a.strings("webmailNetworks"),
    adminNetworks: a.strings("adminNetworks"),
  };
  if (!a.has("adminNetworks")) a.fail("adminNetworks", "is required: SSH is open only from these networks");
  for (const [key, nets] of Object.entries(access)) {
    nets.forEach((n, i) => {
      if (/\/0$/.test(n)) a.fail(`${key}[${i}]`, `${n} is the whole Internet; name the networks that may connect`);
    });
  }
  return access;
}

function readDnsbl(r: Reader<"">): { zones: DnsblZone[]; threshold: number } {
  const d = r.object("dnsbl");
  const zones = d.list("zones", (z) => {
    const zone = z.string("zone");
    const weight = z.integer("weight");
    return zone ? { zone, weight } : undefined;
  });
  return { zones, threshold: d.integer("threshold") };
}

function readLimits(r: Reader<"">): Limits {
  const l = r.object("limits");
  return {
    messageSizeBytes: l.size("messageSizeBytes") ?? 0,
    recipientsPerMessage: l.integer("recipientsPerMessage"),
    clientConnections: l.integer("clientConnections"),
    clientConnectionRate: l.integer("clientConnectionRate"),
    submissionMessageRate: l.integer("submissionMessageRate"),
    submissionRecipientRate: l.integer("submissionRecipientRate"),
    queueLifetime: l.string("queueLifetime") ?? "",
  };
}

/** One item of a DKIM `selectors` list (the platform's or a domain's); undefined when it has a problem. */
function readSelector(s: Reader<"dkim.selectors[]"> | Reader<"domains[].dkim.selectors[]">): DkimSelector | undefined {
  const name = s.string("name");
  if (name && !SELECTOR.test(name)) s.fail("name", `${JSON.stringify(name)} must be lower case letters, digits and -`);
  const problemsBefore = s.problems.list.length;
  const state = s.oneOf("state");
  // A selector whose state is refused does not count as active either.
  return name && s.problems.list.length === problemsBefore ? { name, state } : undefined;
}

/** A `selectors` list names each selector once and has one that signs. */
function checkedSelectors(d: Failing, selectors: DkimSelector[]): DkimSelector[] {
  duplicatesIn(d, "selectors", selectors.map((s) => s.name));
  if (!selectors.some((s) => s.state === "active")) {
    d.fail("selectors", "has no active selector: outbound mail would go unsigned");
  }
  return selectors;
}

function readDns(r: Reader<"">, defaultMtaSts: DnsSettings["mtaStsMode"]): DnsSettings {
  const d = r.object("dns");
  const provider = d.oneOf("provider");
  const designateZone = d.optionalString("designateZone");
  if (provider === "designate" && !designateZone) d.fail("designateZone", `is required when dns.provider is "designate"`);
  return {
    ttl: d.integer("ttl"),
    dmarcPolicy: d.oneOf("dmarcPolicy"),
    // Empty means the postmaster, as the reference says; the renderers fill it in.
    reportAddress: d.optionalString("reportAddress") ?? "",
    mtaStsMode: d.oneOf("mtaStsMode", defaultMtaSts),
    forwarders: d.strings("forwarders"),
    provider,
    designateZone,
  };
}

/**
 * Cross-checks of the whole address space: every hosted address is defined once, every hosted
 * target resolves, and no alias, list or mailbox forward expands back into itself.
 */
function checkAddressing(problems: Problems, spec: PlatformSpec, forwardKeys: ForwardKeys): void {
  const hosted = new Set(spec.domains.map((d) => d.name));
  const owners = new Map<string, string>();
  const claim = (address: string, key: string) => {
    const prior = owners.get(address);
    if (prior) problems.add(key, `${JSON.stringify(address)} is already defined at ${NAMESPACE}:${prior}`);
    else owners.set(address, key);
  };
  spec.users.forEach((u, i) => claim(u.address, `users[${i}].address`));
  spec.aliases.forEach((a, i) => claim(a.address, `aliases[${i}].address`));
  spec.lists.forEach((l, i) => claim(l.address, `lists[${i}].address`));
  spec.forwards.forEach((f, i) => claim(f.address, `forwards[${i}].address`));
  spec.devnull.forEach((a, i) => claim(a, `devnull[${i}]`));

  const catchAllOf = new Map(spec.domains.filter((d) => d.catchAll).map((d) => [d.name, d.catchAll!]));
  // With a directory, hosted addresses may live in LDAP; only the config's own ones can be checked.
  const resolves = (a: string) => owners.has(a) || !!spec.directory || (catchAllOf.has(domainOf(a)) && catchAllOf.get(domainOf(a)) !== a);
  const unresolved = (a: string, key: string) => {
    if (hosted.has(domainOf(a)) && !resolves(a)) {
      problems.add(key, `${JSON.stringify(a)} is not a user, alias, list, forward or devnull address of a hosted domain`);
    }
  };
  spec.aliases.forEach((a, i) => unresolved(a.to, `aliases[${i}].to`));
  for (const [address, { targets }] of forwardKeys) {
    spec.users.find((u) => u.address === address)?.forward?.to.forEach((t, j) => unresolved(t, targets[j]));
  }
  spec.lists.forEach((l, i) => l.members.forEach((m, j) => unresolved(m, `lists[${i}].members[${j}]`)));
  spec.domains.forEach((d, i) => {
    if (!d.catchAll) return;
    if (domainOf(d.catchAll) === d.name && !owners.has(d.catchAll) && !spec.directory) {
      problems.add(`domains[${i}].catchAll`, `${JSON.stringify(d.catchAll)} must be an address defined in this domain (a user, alias or list)`);
    } else if (domainOf(d.catchAll) !== d.name) {
      unresolved(d.catchAll, `domains[${i}].catchAll`);
    }
  });
  if (spec.postmaster) unresolved(spec.postmaster, "postmaster");
  if (spec.dns.reportAddress) unresolved(spec.dns.reportAddress, "dns.reportAddress");

  // Loops: follow alias, list and mailbox-forward edges between hosted addresses. A mailbox that
  // keeps a copy maps to itself too, which Postfix does not expand again: that is no loop.
  // Mailboxes first: a loop through one is reported at its forwardTo, which its user can change.
  const edges = new Map<string, string[]>();
  spec.users.forEach((u) => u.forward && edges.set(u.address, u.forward.to));
  spec.aliases.forEach((a) => edges.set(a.address, [a.to]));
  spec.lists.forEach((l) => edges.set(l.address, l.members));
  const keyOf = (a: string) => forwardKeys.get(a)?.key ?? owners.get(a) ?? a;
  const reported = new Set<string>();
  const visit = (a: string, path: string[]) => {
    const at = path.indexOf(a);
    if (at >= 0) {
      const cycle = path.slice(at);
      const id = [...cycle].sort().join(" ");
      if (!reported.has(id)) {
        reported.add(id);
        problems.add(keyOf(cycle[0]), `forms a loop: ${[...cycle, a].join(" → ")}`);
      }
      return;
    }
    for (const next of edges.get(a) ?? []) visit(next, [...path, a]);
  };
  for (const start of edges.keys()) visit(start, []);
}
