#!/bin/sh
# health-check.sh <service,...> <port,...>
# After a config push: every service of the bundle is active and every port the role's rule model
# opens is listening, within a minute. Prints what is not, exits non-zero; the rollout of the
# cluster stops at this host.
set -u
services=$(echo "$1" | tr , ' ')
ports=$(echo "$2" | tr , ' ')
wait=${HEALTH_WAIT_SECONDS:-60}
deadline=$(( $(date +%s) + wait ))
while :; do
  missing=""
  for s in $services; do
    systemctl is-active --quiet "$s" || missing="$missing service:$s"
  done
  for p in $ports; do
    [ -n "$(ss -Hltn "sport = :$p")" ] || missing="$missing port:$p"
  done
  [ -z "$missing" ] && { echo "healthy: $services; listening: $ports"; exit 0; }
  [ "$(date +%s)" -ge "$deadline" ] && break
  sleep 3
done
echo "unhealthy after ${wait}s:$missing" >&2
# The services' own log lines may quote secrets (a daemon echoing its config), and this output goes
# to Pulumi's log: it names where to look instead of copying them.
for s in $services; do
  systemctl is-active --quiet "$s" || echo "  $s: see journalctl -u $s on $(hostname -f 2>/dev/null || hostname)" >&2
done
exit 1
