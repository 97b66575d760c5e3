// The directory variant (`npm run lab -- up --directory`): the stack in LDAP / Active Directory mode
// (seeds 001 and 003) against a real directory, the `directory` host's OpenLDAP slapd, shaped like
// Active Directory (lab/ldap/ad-shape.schema) so the spec's default filters apply unchanged. The
// stack's users (with the lab's passwords and their quotas in `info`) and distribution lists move
// from the stack config into the directory, as groups whose members are DNs; the lab adds a
// disabled account and a group that nests another. The platform reaches it over ldaps:// with the
// certificate verified against the lab's CA, binding with its own service account.
import * as fs from "fs";
import * as path from "path";
import { parseSpec, PlatformSpec } from "@mailplatform/core";
import { execInHost, writeHostFile } from "./hosts";
import type { LabHost } from "./plan";
import { REPO } from "./paths";
import type { LabSecrets } from "./spec";

export const DIRECTORY_FQDN = "ldap.corp.example";
/** What the directory host runs, on this machine's /usr like every lab host's packages. */
export const DIRECTORY_PACKAGES = ["slapd", "ldap-utils"];
const BASE_DN = "dc=corp,dc=example";
const PEOPLE = `ou=people,${BASE_DN}`;
const GROUPS = `ou=groups,${BASE_DN}`;
const CONTACTS = `ou=contacts,${BASE_DN}`;
/** The platform's service account: it may read users and groups, nothing else. */
const BIND_DN = `cn=mailplatform,ou=services,${BASE_DN}`;

/** The lab's own directory accounts: one disabled (Active Directory's ACCOUNTDISABLE flag). */
export const DISABLED_TEST_LOCAL_PART = "disabled-test";
/** A group with another group among its members (Postfix expands it recursively). */
export const NESTED_GROUP_LOCAL_PART = "all-staff";

/** Active Directory's userAccountControl: a normal account, and the same disabled (0x2). */
const NORMAL_ACCOUNT = 512;
const ACCOUNT_DISABLED = 2;

export interface DirectoryUser {
  address: string;
  /** The lab's password, when the lab made it (a password set through the portal is the stack's hash only). */
  password?: string;
  passwordHash: string;
  quotaBytes?: number;
  disabled: boolean;
}

export interface DirectoryGroup {
  address: string;
  members: string[];
}

/** What the directory holds. */
export interface DirectoryContent {
  users: DirectoryUser[];
  groups: DirectoryGroup[];
}

/**
 * The stack's config in directory mode: no users or lists in it (they are the directory's), a
 * `directory` section as an operator would write it, the spec's defaults for the filters. Read by
 * the platform's own validator.
 */
export function directorySpec(raw: Record<string, unknown>, stack: string, secrets: LabSecrets): PlatformSpec {
  const { users: _users, lists: _lists, ...rest } = raw;
  return parseSpec({
    ...rest,
    directory: {
      uris: [`ldaps://${DIRECTORY_FQDN}`],
      baseDn: BASE_DN,
      bindDn: BIND_DN,
      bindPassword: secrets.directory.bindPassword,
      caCertificate: secrets.platform.caCertificatePem,
    },
  }, stack);
}

/** The directory's users and groups: the lab spec's users and lists, the lab's own accounts and a nested group. */
export function directoryContent(labSpec: PlatformSpec, secrets: LabSecrets): DirectoryContent {
  const lab = new Map(secrets.users.map((u) => [u.address, u]));
  const users: DirectoryUser[] = [
    ...labSpec.users.map((u) => ({
      address: u.address,
      password: lab.get(u.address)?.passwordHash === u.passwordHash ? lab.get(u.address)!.password : undefined,
      passwordHash: u.passwordHash!, // the lab spec gives every user one (lab/spec.ts)
      quotaBytes: u.quotaBytes,
      disabled: !!u.disabled,
    })),
    ...secrets.directory.users.map((u) => ({ address: u.address, password: u.password, passwordHash: u.passwordHash, disabled: true })),
  ];
  const domain = labSpec.domains[0].name;
  const groups: DirectoryGroup[] = [
    ...labSpec.lists.map((l) => ({ address: l.address, members: l.members })),
    { address: `${NESTED_GROUP_LOCAL_PART}@${domain}`, members: [...labSpec.lists.slice(0, 1).map((l) => l.address), ...secrets.directory.users.map((u) => u.address)] },
  ];
  return { users, groups };
}

/** RFC 4514: the characters an attribute value in a DN must escape. */
const dnValue = (v: string) => v.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`);
const userDn = (address: string) => `cn=${dnValue(address)},${PEOPLE}`;
const groupDn = (address: string) => `cn=${dnValue(address)},${GROUPS}`;
const contactDn = (address: string) => `cn=${dnValue(address)},${CONTACTS}`;

/** A Dovecot password hash as an LDAP userPassword slapd checks with crypt(3) (bcrypt, SHA-crypt). */
function userPassword(hash: string): string {
  const m = /^\{(BLF|SHA512|SHA256)-CRYPT\}(\$.+)$/.exec(hash);
  if (!m) throw new Error(`the lab directory cannot hold a password hash of this scheme: ${hash.split("}")[0]}}`);
  return `{CRYPT}${m[2]}`;
}

type Entry = [string, ...[string, string | number][]];

/** The directory's whole content as LDIF, for slapadd. */
export function directoryLdif(content: DirectoryContent, bindPasswordHash: string): string {
  const users = new Set(content.users.map((u) => u.address));
  const groups = new Set(content.groups.map((g) => g.address));
  const memberDn = (a: string) => (users.has(a) ? userDn(a) : groups.has(a) ? groupDn(a) : contactDn(a));
  const contacts = [...new Set(content.groups.flatMap((g) => g.members))].filter((a) => !users.has(a) && !groups.has(a));
  const ou = (name: string): Entry => [`ou=${name},${BASE_DN}`, ["objectClass", "organizationalUnit"], ["ou", name]];
  const entries: Entry[] = [
    [BASE_DN, ["objectClass", "dcObject"], ["objectClass", "organization"], ["dc", "corp"], ["o", "Corp"]],
    ou("services"), ou("people"), ou("groups"), ou("contacts"),
    [BIND_DN, ["objectClass", "person"], ["cn", "mailplatform"], ["sn", "mail platform service account"], ["userPassword", userPassword(bindPasswordHash)]],
    ...content.users.map((u): Entry => [
      userDn(u.address),
      ["objectClass", "user"], ["cn", u.address], ["sn", u.address.split("@")[0]],
      ["sAMAccountName", u.address.split("@")[0]], ["mail", u.address],
      ["userAccountControl", NORMAL_ACCOUNT | (u.disabled ? ACCOUNT_DISABLED : 0)],
      // Seed 003: the quota in bytes in Active Directory's `info`; none means the platform default.
      ...(u.quotaBytes !== undefined ? [["info", u.quotaBytes] as [string, number]] : []),
      ["userPassword", userPassword(u.passwordHash)],
    ]),
    ...contacts.map((a): Entry => [contactDn(a), ["objectClass", "contact"], ["cn", a], ["sn", a.split("@")[0]], ["mail", a]]),
    ...content.groups.map((g): Entry => [
      groupDn(g.address),
      ["objectClass", "group"], ["cn", g.address], ["sAMAccountName", g.address.split("@")[0]], ["mail", g.address],
      ...g.members.map((m): [string, string] => ["member", memberDn(m)]),
    ]),
  ];
  return entries.map(([dn, ...attrs]) => [`dn: ${dn}`, ...attrs.map(([k, v]) => `${k}: ${v}`)].join("\n")).join("\n\n") + "\n";
}

const CONF_DIR = "/etc/ldap/lab";
const DB_DIR = "/var/lib/ldap-lab";
const PID_DIR = "/run/slapd";

const slapdConf = () => `# The lab's directory (lab/directory.ts): Active Directory's shape, served over ldaps:// only.
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include ${CONF_DIR}/ad-shape.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile ${PID_DIR}/lab.pid
loglevel stats
TLSCertificateFile ${CONF_DIR}/directory.crt
TLSCertificateKeyFile ${CONF_DIR}/directory.key
# TLS 1.2 or later, as everywhere on the platform.
TLSProtocolMin 3.3
# Nobody reads anything anonymously; a password is only ever compared, by a bind.
disallow bind_anon
require authc

database mdb
suffix "${BASE_DN}"
directory ${DB_DIR}
maxsize 67108864
access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by dn.exact="${BIND_DN}" read
  by * none
`;

/**
 * Configures and (re)starts the directory host's slapd: the database is loaded again (slapadd into
 * an empty one) only when the content changed, so a second `up` leaves it running as it was.
 */
export function startDirectory(host: LabHost, content: DirectoryContent, secrets: LabSecrets): string {
  const { certificate } = secrets.directory;
  let changed = writeHostFile(host, `${CONF_DIR}/slapd.conf`, slapdConf());
  changed = writeHostFile(host, `${CONF_DIR}/ad-shape.schema`, fs.readFileSync(path.join(REPO, "lab/ldap/ad-shape.schema"), "utf8")) || changed;
  changed = writeHostFile(host, `${CONF_DIR}/directory.crt`, certificate.certificatePem.trimEnd() + "\n" + secrets.platform.caCertificatePem) || changed;
  changed = writeHostFile(host, `${CONF_DIR}/directory.key`, certificate.privateKeyPem, "0640") || changed;
  const reload = writeHostFile(host, `${CONF_DIR}/directory.ldif`, directoryLdif(content, secrets.directory.bindPasswordHash), "0600");
  const script = String.raw`
set -e
conf=$1/slapd.conf
chgrp openldap "$1/directory.key"
install -d -o openldap -g openldap -m 0755 "$3"
# The host's own PID namespace: every slapd seen here is the directory's.
running() { pidof slapd >/dev/null; }
if running && [ "$4" = same ] && [ "$5" = same ]; then echo running; exit 0; fi
if running; then kill $(pidof slapd); while running; do sleep 0.1; done; fi
if [ "$5" = changed ] || [ ! -f "$2/data.mdb" ]; then rm -rf "$2"; fi
install -d -o openldap -g openldap -m 0700 "$2"
slaptest -u -f "$conf" >/dev/null 2>&1 || slaptest -u -f "$conf"
if [ ! -f "$2/data.mdb" ]; then
  slapadd -q -f "$conf" -l "$1/directory.ldif"
  chown -R openldap:openldap "$2"
fi
# slapd has its listener bound when it detaches.
slapd -f "$conf" -h ldaps:/// -u openldap -g openldap </dev/null >/dev/null 2>&1 || { echo "slapd exited $?: see the host's log"; exit 1; }
echo started`;
  const r = execInHost(host, ["bash", "-c", script, "-", CONF_DIR, DB_DIR, PID_DIR, changed ? "changed" : "same", reload ? "changed" : "same"]);
  if (r.status !== 0) throw new Error(`directory: slapd did not start: ${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}
