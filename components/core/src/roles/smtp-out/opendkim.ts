// OpenDKIM: signs outgoing mail of every hosted domain with both keys (RSA-2048 and Ed25519) of
// every active selector. Why OpenDKIM and not Rspamd: it reads the PEM keys the stack generates
// unchanged, signs with several keys per domain in one pass, is checked by `opendkim -n`, and keeps
// signing independent of the spam scanner (a scanner restart or bad rule never sends mail unsigned).
//
// OpenDKIM 2.11 has ONE signature algorithm per instance (SignatureAlgorithm; a KeyTable entry
// cannot choose): an RSA key in an ed25519-sha256 instance yields a broken signature. So two
// instances run: RSA (Debian's opendkim service) on 127.0.0.1:INTERNAL.opendkim, Ed25519 (our
// opendkim-ed25519 service: a systemd unit, and an init script for hosts without systemd) on a
// socket in Postfix's spool.
import { daemons } from "../../daemons";
import { DkimAlgorithm, DKIM_ALGORITHMS, dkimRecordName, dkimSelector } from "../../dkim";
import { file, Fragment, lines, RenderContext, secretFile, staticFile } from "../../files";
import { INTERNAL } from "../../ports";
import { POSTFIX_QUEUE_DIRECTORY } from "../../shared/spool-sockets";
import { hostsOf } from "../../topology";

export const OPENDKIM_DIR = "/etc/opendkim";
const KEY_DIR = `${OPENDKIM_DIR}/keys`;
/** Directory of the Ed25519 instance's socket: opendkim-owned, group postfix. */
const SOCKET_DIR = `${POSTFIX_QUEUE_DIRECTORY}/opendkim`;

/** The two signers, each its own daemon; Postfix's smtpd_milters lists both milter addresses. */
export const SIGNERS: Record<DkimAlgorithm, { daemon: "opendkim" | "opendkim-ed25519"; conf: string; signatureAlgorithm: string; socket: string; milter: string }> = {
  rsa: {
    daemon: "opendkim",
    conf: "/etc/opendkim.conf",
    signatureAlgorithm: "rsa-sha256",
    socket: `inet:${INTERNAL.opendkim}@127.0.0.1`,
    milter: `inet:127.0.0.1:${INTERNAL.opendkim}`,
  },
  ed25519: {
    daemon: "opendkim-ed25519",
    conf: "/etc/opendkim-ed25519.conf",
    signatureAlgorithm: "ed25519-sha256",
    socket: `local:${SOCKET_DIR}/ed25519.sock`,
    milter: `unix:${SOCKET_DIR}/ed25519.sock`,
  },
};
/** The Ed25519 signer's init script (Debian's opendkim script runs one instance only). */
const ED25519_INIT = staticFile("opendkim/opendkim-ed25519.init");

/** One signing key: the DNS selector it is published under and its private key (PKCS#8 PEM). */
export interface SigningKey {
  domain: string;
  algorithm: DkimAlgorithm;
  /** `<selector>-rsa` or `<selector>-ed25519`. */
  selector: string;
  /** The DNS name it is published under, which names it in the KeyTable. */
  recordName: string;
  path: string;
  privateKeyPem: string;
}

/** Both keys of every active selector, per hosted domain; published-only selectors never sign. */
export function signingKeys(ctx: RenderContext): SigningKey[] {
  const { spec, secrets } = ctx;
  return spec.domains.flatMap((d) =>
    d.dkimSelectors
      .filter((s) => s.state === "active")
      .flatMap((s) => {
        const keys = secrets.dkim[d.name]?.[s.name];
        if (!keys) throw new Error(`no DKIM keys for ${d.name} selector ${s.name} in the secrets`);
        return DKIM_ALGORITHMS.map((algorithm) => ({
          domain: d.name,
          algorithm,
          selector: dkimSelector(s.name, algorithm),
          recordName: dkimRecordName(d.name, s.name, algorithm),
          path: `${KEY_DIR}/${d.name}/${dkimSelector(s.name, algorithm)}.pem`,
          privateKeyPem: keys[algorithm].privateKeyPem,
        }));
      }),
  );
}

export function opendkim(ctx: RenderContext): Fragment {
  const { spec } = ctx;
  const daemon = (algorithm: DkimAlgorithm) => daemons(spec.debianRelease)[SIGNERS[algorithm].daemon];
  const keys = signingKeys(ctx);
  const instance = (algorithm: DkimAlgorithm) => {
    const signer = SIGNERS[algorithm];
    const { service, pidFile } = daemon(algorithm);
    const own = keys.filter((k) => k.algorithm === algorithm);
    const table = (name: string) => `${OPENDKIM_DIR}/${name}-${algorithm}`;
    return [
      file(service, signer.conf, lines(
        `# The ${algorithm === "rsa" ? "RSA" : "Ed25519"} signer (one algorithm per OpenDKIM instance).`,
        "Syslog                  yes",
        "SyslogSuccess           yes",
        "LogWhy                  yes",
        "UMask                   007",
        // Group postfix: its socket must be reachable by Postfix.
        `UserID                  opendkim${algorithm === "ed25519" ? ":postfix" : ""}`,
        `PidFile                 ${pidFile}`,
        `Socket                  ${signer.socket}`,
        "# Sign only; Rspamd checks inbound signatures on smtp-in.",
        "Mode                    s",
        `SignatureAlgorithm      ${signer.signatureAlgorithm}`,
        "# Every matching SigningTable line signs (one key per active selector).",
        "MultipleSignatures      yes",
        "Canonicalization        relaxed/relaxed",
        "OversignHeaders         From",
        `KeyTable                ${table("KeyTable")}`,
        `SigningTable            refile:${table("SigningTable")}`,
        "# Signed: SASL-authenticated submissions and mail from these hosts. Not the smtp-in hosts:",
        "# what they relay (forwards, list copies) is third-party mail we must not vouch for.",
        `InternalHosts           ${OPENDKIM_DIR}/InternalHosts`,
        "RequireSafeKeys         yes",
      )),
      file(service, table("KeyTable"), lines(own.map((k) => `${k.recordName} ${k.domain}:${k.selector}:${k.path}`))),
      file(service, table("SigningTable"), lines(own.map((k) => `*@${k.domain} ${k.recordName}`))),
    ];
  };
  const ed = { ...SIGNERS.ed25519, ...daemon("ed25519") };
  return {
    packages: ["opendkim-tools"],
    services: DKIM_ALGORITHMS.map(daemon),
    directories: [
      { path: KEY_DIR, owner: "opendkim", group: "opendkim", mode: "0700" },
      ...spec.domains.map((d) => ({ path: `${KEY_DIR}/${d.name}`, owner: "opendkim", group: "opendkim", mode: "0700" })),
      { path: SOCKET_DIR, owner: "opendkim", group: "postfix", mode: "0750" },
    ],
    files: [
      ...DKIM_ALGORITHMS.flatMap(instance),
      file(DKIM_ALGORITHMS.map((a) => daemon(a).service), `${OPENDKIM_DIR}/InternalHosts`, lines("127.0.0.1", "::1", hostsOf(spec, "maildrop").map((h) => h.address))),
      // OpenDKIM refuses keys others can read (RequireSafeKeys).
      ...keys.map((k) => secretFile(daemon(k.algorithm).service, k.path, k.privateKeyPem, { owner: "opendkim", group: "opendkim", mode: "0600" })),
      file(ed.service, "/etc/systemd/system/opendkim-ed25519.service", lines(
        "[Unit]",
        "Description=OpenDKIM Ed25519 signer",
        "After=network-online.target nss-lookup.target",
        "",
        "[Service]",
        "Type=forking",
        `PIDFile=${ed.pidFile}`,
        "RuntimeDirectory=opendkim-ed25519",
        `ExecStart=/usr/sbin/opendkim -x ${ed.conf}`,
        "ExecReload=/bin/kill -USR1 $MAINPID",
        "Restart=on-failure",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
      )),
      // Where there is no systemd (the lab); with systemd, the unit of the same name takes precedence.
      file(ed.service, "/etc/init.d/opendkim-ed25519", ED25519_INIT, { mode: "0755" }),
    ],
  };
}
