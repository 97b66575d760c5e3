// Unbound: the validating resolver every MTA host queries on loopback. It answers the platform's
// internal names itself (host addresses, the smtp-out MX, the platform
// domain's MX for SRS bounces) and recurses or forwards for everything else: DNSBLs need a
// resolver of their own, DANE needs validation, and no MTA waits on an outside resolver.
import { daemons } from "../daemons";
import { file, Fragment, lines, RenderContext } from "../files";
import { allHosts, hostsOf, serviceNames } from "../topology";

/** TTL of the locally served internal records: short, so a replaced host is picked up quickly. */
const LOCAL_TTL = 300;

export function unbound(ctx: RenderContext): Fragment {
  const { spec } = ctx;
  const names = serviceNames(spec);
  const rr = (name: string, type: string, data: string) => `    local-data: "${name}. ${LOCAL_TTL} IN ${type} ${data}"`;
  const forwarders = spec.dns.forwarders;
  const conf = lines(
    "server:",
    "    interface: 127.0.0.1",
    "    interface: ::1",
    "    access-control: 127.0.0.0/8 allow",
    "    access-control: ::1/128 allow",
    "    username: \"unbound\"",
    "    directory: \"/etc/unbound\"",
    "    chroot: \"\"",
    "    use-syslog: yes",
    "    prefetch: yes",
    "    qname-minimisation: yes",
    "    harden-glue: yes",
    "    harden-dnssec-stripped: yes",
    "    # DNSSEC: the root anchor shipped by dns-root-data (updated with the package), so the",
    "    # config needs no file generated at first start.",
    "    trust-anchor-file: \"/usr/share/dns/root.key\"",
    "    root-hints: \"/usr/share/dns/root.hints\"",
    "",
    `    # The platform's internal names; other names under ${spec.platformDomain} resolve normally.`,
    `    local-zone: "${spec.platformDomain}." transparent`,
    allHosts(spec).map((h) => rr(h.fqdn, "A", h.address)),
    "    # Relaying out: every smtp-out equally.",
    hostsOf(spec, "smtp-out").map((h) => rr(names.smtpOut, "MX", `10 ${h.fqdn}.`)),
    "    # SRS bounces (SRS0=...@platform domain) go back to the smtp-in hosts, which reverse them.",
    hostsOf(spec, "smtp-in").map((h) => rr(spec.platformDomain, "MX", `10 ${h.fqdn}.`)),
    "",
    "remote-control:",
    "    control-enable: yes",
    "    control-interface: /run/unbound.ctl",
    forwarders.length > 0 && ["", "# Everything else through the configured resolvers.", "forward-zone:", '    name: "."', ...forwarders.map((f) => `    forward-addr: ${f}`)],
  );
  return {
    packages: ["dns-root-data"],
    services: [daemons(ctx.spec.debianRelease).unbound],
    files: [
      file("unbound", "/etc/unbound/unbound.conf", conf),
      // libc (Postfix, OpenDKIM) asks the local Unbound; trust-ad keeps the AD bit DANE needs.
      file("unbound", "/etc/resolv.conf", lines("nameserver 127.0.0.1", "nameserver ::1", "options edns0 trust-ad")),
    ],
  };
}
