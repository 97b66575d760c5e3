// Our own small services: a bash or Perl loop in /etc/mailplatform, its settings in /etc/default, and what
// starts it on either kind of host: a systemd unit, and an init script where there is no systemd
// (the lab). Debian ships neither for them.
import { Daemon, loopScript } from "../daemons";
import { file, HostFile, lines, staticFile } from "../files";

export interface LoopService {
  daemon: Daemon;
  /** The script, from core/static/mailplatform/. */
  script: string;
  description: string;
  /** The Debian service it needs running first. */
  after: string;
  /** Lines of /etc/default/<service>, which the script sources. */
  settings: string[];
}

export function loopServiceFiles({ daemon, script, description, after, settings }: LoopService): HostFile[] {
  const { service, pidFile } = daemon;
  const path = loopScript(service);
  const interpreter = `/usr/bin/${daemon.process}`; // a loop's process is its interpreter
  return [
    file(service, path, staticFile(`mailplatform/${script}`), { mode: "0755" }),
    file(service, `/etc/default/${service}`, lines(`# Read by ${path}.`, settings)),
    file(service, `/etc/init.d/${service}`, lines(
      "#!/bin/sh",
      "### BEGIN INIT INFO",
      `# Provides:          ${service}`,
      `# Required-Start:    $syslog $local_fs $remote_fs $network ${after}`,
      "# Required-Stop:     $syslog $local_fs $remote_fs",
      "# Default-Start:     2 3 4 5",
      "# Default-Stop:      0 1 6",
      `# Short-Description: ${description}`,
      "### END INIT INFO",
      `# Hosts without systemd; with systemd, ${service}.service takes precedence.`,
      ". /lib/lsb/init-functions",
      'case "$1" in',
      "  start)",
      `    start-stop-daemon --start --quiet --oknodo --background --make-pidfile --pidfile ${pidFile} \\`,
      `      --startas ${interpreter} -- ${path} </dev/null >/dev/null 2>&1 ;;`,
      "  stop)",
      `    start-stop-daemon --stop --quiet --oknodo --retry 5 --pidfile ${pidFile} --remove-pidfile ;;`,
      "  restart|reload|force-reload)",
      '    "$0" stop && "$0" start ;;',
      "  status)",
      `    status_of_proc -p ${pidFile} ${interpreter} ${service} ;;`,
      "  *)",
      '    echo "Usage: $0 {start|stop|restart|status}" >&2; exit 3 ;;',
      "esac",
    ), { mode: "0755" }),
    file(service, `/etc/systemd/system/${service}.service`, lines(
      "[Unit]",
      `Description=${description}`,
      `After=${after}.service`,
      `Requires=${after}.service`,
      "",
      "[Service]",
      `ExecStart=${interpreter} ${path}`,
      "Restart=always",
      "",
      "[Install]",
      "WantedBy=multi-user.target",
    )),
  ];
}
