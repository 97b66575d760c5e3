#!/bin/bash
# provision.sh: applies a mailplatform host bundle (components/core/src/bundle.ts) on Debian, for
# any role. Run as root, on a VM (systemd) or in a lab host made of namespaces (no systemd). It knows
# no daemon: the manifest gives each one's process, pid file, reload and checkers.
#
#   provision.sh install <bundle>   the bundle's packages (daemons are not started) and fixed-uid accounts
#   provision.sh check <bundle>     the whole new config through the daemons' own checkers, in a private
#                                   mount namespace over the live system: nothing live is touched
#   provision.sh plan <bundle>      what apply would change (diffs of non-secret files)
#   provision.sh apply <bundle>     install, prepare (live state on volumes made to fit this host),
#                                   check, write what changed atomically, compile, then reload only
#                                   the daemons whose files changed; start any that is not running
#
# <bundle> is a bundle directory, a tar of one, or - for a tar on stdin. Secret file contents are
# never printed: checker messages that quote them are withheld line by line. Never run with set -x.
set -euo pipefail
umask 022
export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

SELF=$(readlink -f "$0")
# How long a daemon may take to come up. Rspamd's first start compiles its regex cache: ~10 s on
# an idle core, over 60 s seen on a busy 2-core machine starting six of them at once.
WAIT_SECONDS=${PROVISION_WAIT_SECONDS:-180}
HOST=
WORK=
PENDING=
OWN_POLICY_RC_D=

say() { printf 'provision %s: %s\n' "${HOST:-?}" "$*"; }
problem() { printf 'provision %s: %s\n' "${HOST:-?}" "$*" >&2; }
fail() { problem "error: $*"; exit 1; }
usage() { sed -n '6,15s/^# \{0,1\}//p' "$SELF" >&2; exit 2; }

cleanup() {
  [ -z "$PENDING" ] || rm -f -- "$PENDING"
  [ -z "$OWN_POLICY_RC_D" ] || rm -f /usr/sbin/policy-rc.d
  [ -z "$WORK" ] || rm -rf -- "$WORK"
}

# --- the daemons, as the manifest describes them ------------------------------------------------

if [ -d /run/systemd/system ]; then SYSTEMD=1; else SYSTEMD=; fi

# Without systemd, a daemon runs when its pid file names a live process (several instances of one
# program), or else when its main process does.
running() {
  local pf=${PID_FILE[$1]}
  if [ -n "$SYSTEMD" ]; then systemctl is-active --quiet "$1"
  elif [ "$pf" != - ]; then [ -s "$pf" ] && kill -0 "$(cat "$pf")" 2>/dev/null
  else pgrep -x "${PROCESS[$1]}" >/dev/null; fi
}

# service ACTION NAME. Daemons inherit the descriptors: output goes to a file, never to our caller's
# pipe, and the lock (fd 9) is closed, or the daemon would hold it for its lifetime. A daemon that
# stays in the foreground would hold the init script forever: it gets WAIT_SECONDS.
service_do() {
  local log=$WORK/service.log rc=0 run=("/etc/init.d/$2" "$1")
  if [ -n "$SYSTEMD" ]; then run=(systemctl "$1" "$2"); elif command -v service >/dev/null; then run=(service "$2" "$1"); fi
  timeout "$WAIT_SECONDS" "${run[@]}" </dev/null >"$log" 2>&1 9>&- || rc=$?
  [ $rc -ne 124 ] || echo "(no answer within $WAIT_SECONDS s: does the daemon stay in the foreground?)" >>"$log"
  [ $rc -eq 0 ] || { problem "$1 $2 failed:"; redact <"$log" >&2; return 1; }
}

wait_running() {
  local i
  for ((i = 0; i < WAIT_SECONDS * 5; i++)); do running "$1" && return 0; sleep 0.2; done
  return 1
}

# --- the bundle ---------------------------------------------------------------------------------

# The same rules as bundle.ts: absolute, no spaces, no . or ..; what we write never in kernel or
# runtime trees (a pid file is).
absolute_path() { [[ $1 =~ ^(/[A-Za-z0-9_@%+=,:.-]+)+$ && ! $1 =~ /\.\.?(/|$) ]]; }
valid_path() { absolute_path "$1" && [[ ! $1 =~ ^/(proc|sys|dev|run|tmp)(/|$) ]]; }
valid_owner() { [[ $1 =~ ^[0-7]{3,4}\ [A-Za-z_][A-Za-z0-9_.-]*\ [A-Za-z_][A-Za-z0-9_.-]*$ ]]; } # MODE OWNER GROUP
valid_name() { [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_.-]*$ ]]; }
known_service() { [ -n "${PROCESS[$1]:-}" ]; } # declared by a service line, which comes first
known_services() { # comma-separated, or - for a file no daemon reads
  local s
  [ "$1" != - ] || return 0
  for s in ${1//,/ }; do known_service "$s" || return 1; done
}

open_bundle() {
  if [ "$1" = - ] || [ -f "$1" ]; then
    mkdir "$WORK/bundle"
    tar -x -C "$WORK/bundle" --no-same-owner --no-same-permissions -f "$1" || fail "$1: not a readable bundle tar"
    B=$WORK/bundle
  elif [ -d "$1" ]; then
    B=$(cd "$1" && pwd)
  else
    fail "no bundle at $1"
  fi
  read_manifest
}

# Reads .manifest into HOST, PACKAGES, SERVICES, CHECKS, PREPARES, ACCOUNTS, DIRS, FILES, REMOVES (lines minus
# their kind), and per service its PROCESS, PID_FILE and RELOAD.
read_manifest() {
  [ -f "$B/.manifest" ] || fail "$B: not a bundle (no .manifest)"
  PACKAGES=() SERVICES=() CHECKS=() PREPARES=() ACCOUNTS=() DIRS=() FILES=() REMOVES=()
  declare -gA PROCESS=() PID_FILE=() RELOAD=()
  local n=0 kind rest fields last
  while IFS=' ' read -r kind rest; do
    n=$((n + 1))
    case $kind in '' | '#'*) continue ;; esac
    read -r -a fields <<<"$rest"
    [ ${#fields[@]} -gt 0 ] || fail "manifest line $n: '$kind' without a value"
    last=${fields[${#fields[@]} - 1]}
    case $kind:${#fields[@]} in
      host:1) HOST=$rest ;;
      package:1) PACKAGES+=("$rest") ;;
      service:4)
        valid_name "${fields[0]}" && valid_name "${fields[1]}" || fail "manifest line $n: bad service or process name"
        [ "${fields[2]}" = - ] || absolute_path "${fields[2]}" || fail "manifest line $n: bad pid file ${fields[2]}"
        [[ $last =~ ^(reload|restart)$ ]] || fail "manifest line $n: neither reload nor restart: $last"
        SERVICES+=("${fields[0]}")
        PROCESS[${fields[0]}]=${fields[1]} PID_FILE[${fields[0]}]=${fields[2]} RELOAD[${fields[0]}]=$last ;;
      check:*)
        known_service "${fields[0]}" || fail "manifest line $n: check of an unknown service ${fields[0]}"
        [[ ${fields[1]} =~ ^(-|\.[A-Za-z0-9]+)$ ]] || fail "manifest line $n: bad file suffix ${fields[1]}"
        [[ $rest == *' -- '* ]] || fail "manifest line $n: check without ' -- <command>'"
        CHECKS+=("$rest") ;;
      prepare:*)
        known_service "${fields[0]}" || fail "manifest line $n: prepare of an unknown service ${fields[0]}"
        [[ $rest == *' -- '* ]] || fail "manifest line $n: prepare without ' -- <command>'"
        PREPARES+=("$rest") ;;
      account:3)
        [[ ${fields[1]} =~ ^[1-9][0-9]*$ ]] || fail "manifest line $n: bad uid ${fields[1]}"
        ACCOUNTS+=("$rest") ;;
      dir:4)
        valid_owner "${fields[*]:0:3}" || fail "manifest line $n: bad mode, owner or group"
        DIRS+=("$rest") ;;
      file:7)
        valid_owner "${fields[*]:0:3}" || fail "manifest line $n: bad mode, owner or group"
        [ -f "$B$last" ] && [ ! -L "$B$last" ] || fail "manifest line $n: $last is missing from the bundle"
        known_services "${fields[3]}" || fail "manifest line $n: unknown service in ${fields[3]}"
        FILES+=("$rest") ;;
      remove:2)
        known_services "${fields[0]}" || fail "manifest line $n: unknown service in ${fields[0]}"
        REMOVES+=("$rest") ;;
      *) fail "manifest line $n: cannot read '$kind $rest'" ;;
    esac
    case $kind in account | dir | file | remove) valid_path "$last" || fail "manifest line $n: bad path $last" ;; esac
  done <"$B/.manifest"
  [ -n "$HOST" ] || fail "manifest has no host line"
}

# What a message line must not quote, or it is withheld: every secret value the bundle lists in
# .secrets, whatever its length, and every word of 10 or more characters of a secret file (what is
# derived from a secret, e.g. a hash, and values a bundle without .secrets holds). Shorter words of a
# secret file are its syntax ("password", "=", "yes") as often as not: withholding every line that
# names them would hide the message that says what is wrong.
collect_secret_words() {
  local e m o g s c secret p
  SECRET_WORDS=$WORK/secret-words
  (umask 077; : >"$SECRET_WORDS")
  for e in "${FILES[@]}"; do
    read -r m o g s c secret p <<<"$e"
    [ "$secret" = secret ] || continue
    tr -s ' \t=;,"'"'"'' '\n' <"$B$p" | awk 'length >= 10' >>"$SECRET_WORDS"
  done
  [ ! -f "$B/.secrets" ] || grep -v '^$' "$B/.secrets" >>"$SECRET_WORDS" || true
}

redact() {
  awk -v words="${SECRET_WORDS:-/dev/null}" '
    BEGIN { while ((getline w < words) > 0) secret[w] = 1 }
    { for (w in secret) if (index($0, w)) { print "    [line withheld: it quotes secret material]"; next }
      print "    " $0 }'
}

# --- shared steps --------------------------------------------------------------------------------

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

missing_packages() {
  local p
  MISSING=()
  for p in "${PACKAGES[@]}"; do installed "$p" || MISSING+=("$p"); done
}

lists_fresh() { [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; }

apt_get() {
  DEBIAN_FRONTEND=noninteractive apt-get -q -y "$@" </dev/null >"$WORK/apt.log" 2>&1 9>&- && return 0
  tail -n 25 "$WORK/apt.log" | redact >&2
  return 1
}

apt_install() {
  apt_get install --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

install_packages() {
  missing_packages
  if [ ${#MISSING[@]} -eq 0 ]; then say "packages: all ${#PACKAGES[@]} installed"; return; fi
  # Daemons start once apply has written their configuration, not with the package defaults.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# provision.sh: no daemon starts while packages install\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    OWN_POLICY_RC_D=1
  fi
  local updated=
  if ! lists_fresh; then say "apt-get update"; apt_get update || fail "apt-get update failed"; updated=1; fi
  say "packages: installing ${MISSING[*]}"
  if ! apt_install "${MISSING[@]}"; then
    [ -z "$updated" ] || fail "apt-get install failed"
    say "apt-get update (install failed with the old package lists)"
    apt_get update || fail "apt-get update failed"
    apt_install "${MISSING[@]}" || fail "apt-get install failed"
  fi
  if [ -n "$OWN_POLICY_RC_D" ]; then rm -f /usr/sbin/policy-rc.d; OWN_POLICY_RC_D=; fi
}

# Accounts with the platform's fixed ids (a group of the same name, gid = uid), e.g. the mail owner,
# so files keep their owner across hosts and the shared NFS store. QUIET=1 in check.
ensure_accounts() {
  local e name uid home entry system=()
  for e in "${ACCOUNTS[@]}"; do
    read -r name uid home <<<"$e"
    system=(); [ "$uid" -ge 1000 ] || system=(--system)
    if entry=$(getent group "$name"); then
      [ "$(cut -d: -f3 <<<"$entry")" = "$uid" ] || fail "group $name has gid $(cut -d: -f3 <<<"$entry"), the platform needs $uid"
    elif entry=$(getent group "$uid"); then
      fail "gid $uid, needed for $name, belongs to group ${entry%%:*}"
    else
      groupadd "${system[@]}" --gid "$uid" "$name"
    fi
    if entry=$(getent passwd "$name"); then
      [ "$(cut -d: -f3 <<<"$entry")" = "$uid" ] || fail "user $name has uid $(cut -d: -f3 <<<"$entry"), the platform needs $uid"
    elif entry=$(getent passwd "$uid"); then
      fail "uid $uid, needed for $name, belongs to user ${entry%%:*}"
    else
      useradd "${system[@]}" --uid "$uid" --gid "$uid" --home-dir "$home" --no-create-home \
        --shell /usr/sbin/nologin --comment "mailplatform $name" "$name"
      [ -n "${QUIET:-}" ] || say "account $name ($uid) created"
    fi
    [ -d "$home" ] || install -d -m 0750 -o "$name" -g "$name" "$home"
  done
}

octal() { printf '%o' "$((8#$1))"; }
same_meta() { [ "$(stat -c '%a %U %G' "$1" 2>/dev/null)" = "$(octal "$2") $3 $4" ]; }

owners_exist() {
  getent passwd "$1" >/dev/null || { problem "owner $1 of $3 does not exist (is its package installed?)"; return 1; }
  getent group "$2" >/dev/null || { problem "group $2 of $3 does not exist (is its package installed?)"; return 1; }
}

# put_file MODE OWNER GROUP SRC DST: a temporary file beside DST, owned and synced, renamed over it.
put_file() {
  local dir
  dir=$(dirname "$5")
  [ -d "$dir" ] || mkdir -p "$dir"
  PENDING=$(mktemp -p "$dir" .provision.XXXXXX) # 0600 until chmod: a secret is never readable early
  cat -- "$4" >"$PENDING"
  chown "$2:$3" "$PENDING"
  chmod "$1" "$PENDING"
  sync "$PENDING"
  mv -fT "$PENDING" "$5"
  PENDING=
}

make_dir() { # MODE OWNER GROUP PATH
  mkdir -p "$4"
  chown "$2:$3" "$4"
  chmod "$1" "$4"
}

# Compiled form of a file: Postfix lookup tables (suffix of default_database_type), Sieve binaries,
# the program a build script makes.
compiled_path() {
  case $1 in
    postmap)
      local type
      type=$(postconf -h default_database_type)
      case $type in hash | btree) echo "$2.db" ;; *) echo "$2.$type" ;; esac ;;
    sievec) echo "${2%.sieve}.svbin" ;;
    build) echo "${2%.build}" ;;
  esac
}

# compile KIND PATH: the output is created private, then gets the source's owner and mode (postmap
# alone would leave a secret map's table world-readable). Fails on any message from the compiler.
compile() {
  local out rc=0
  out=$(compiled_path "$1" "$2")
  case $1 in
    postmap) (umask 077; postmap "$2") >"$WORK/compile.log" 2>&1 || rc=$? ;;
    sievec) (umask 077; sievec "$2" "$out") >"$WORK/compile.log" 2>&1 || rc=$? ;;
    build) (umask 077; "$2" "$out") >"$WORK/compile.log" 2>&1 || rc=$? ;;
  esac
  if [ $rc -ne 0 ] || [ -s "$WORK/compile.log" ]; then
    problem "$1 $2 failed (exit $rc):"; redact <"$WORK/compile.log" >&2; return 1
  fi
  chown --reference="$2" "$out"
  chmod --reference="$2" "$out"
}

needs_compile() { # KIND PATH
  local out mode user group
  out=$(compiled_path "$1" "$2")
  read -r mode user group < <(stat -c '%a %U %G' "$2")
  [ ! "$out" -nt "$2" ] || ! same_meta "$out" "$mode" "$user" "$group"
}

compile_pending() {
  local e m o g s c secret p
  for e in "${FILES[@]}"; do
    read -r m o g s c secret p <<<"$e"
    [ "$c" != - ] && needs_compile "$c" "$p" && return 0
  done
  return 1
}

# --- check: the new config in a throw-away copy of the live system -------------------------------

run_check() {
  missing_packages
  [ ${#MISSING[@]} -eq 0 ] || fail "not installed: ${MISSING[*]} (run provision.sh install first)"
  [ -f "$SELF" ] || fail "check re-runs this script in a namespace: run it from a file"
  say "check: ${#FILES[@]} files for ${SERVICES[*]:-no service}"
  mkdir "$WORK/check"
  # Private mounts, network and processes: whatever a checker starts dies with the namespace.
  if ! unshare --mount --propagation private --net --pid --fork --mount-proc -- bash "$SELF" __check "$B" "$WORK/check"; then
    fail "check failed: nothing on the live system was changed"
  fi
}

# The manifest's prepare lines: SERVICE LABEL -- COMMAND, run live (what a daemon keeps on a volume
# made to fit this host); a command prints only what it changed.
run_prepares() {
  local e s tail label cmd out=$WORK/prepare.log
  for e in "${PREPARES[@]}"; do
    read -r s tail <<<"$e"
    label=${tail%% -- *} cmd=${tail#* -- }
    bash -c "$cmd" </dev/null >"$out" 2>&1 || { problem "prepare: $s $label failed:"; redact <"$out" >&2; fail "prepare: $s $label failed"; }
    [ ! -s "$out" ] || { say "prepare: $s $label:"; redact <"$out"; }
  done
}

# check_cmd LABEL OK_LINES CMD...: fails on a non-zero exit or on any output line OK_LINES (an ERE)
# does not match: a daemon's warning is an error here.
check_cmd() {
  local label=$1 ok=$2 out=$WORK/checker.log rc=0
  shift 2
  "$@" </dev/null >"$out" 2>&1 || rc=$?
  if [ $rc -eq 0 ] && ! grep -Evq -- "$ok" "$out"; then say "check: $label ok"; return 0; fi
  problem "check: $label failed (exit $rc):"
  redact <"$out" >&2
  return 1
}

# The manifest's check lines: SERVICE SUFFIX OK LABEL -- COMMAND. The command is a bash command
# line; with a file suffix it runs once per file of SERVICE ending in it, the path as $1.
run_checkers() {
  local e s suffix ok tail label cmd f m o g fs c secret p rc=0
  for e in "${CHECKS[@]}"; do
    read -r s suffix ok tail <<<"$e"
    label=${tail%% -- *} cmd=${tail#* -- }
    if [ "$suffix" = - ]; then check_cmd "$label" "$ok" bash -c "$cmd" || rc=1; continue; fi
    for f in "${FILES[@]}"; do
      read -r m o g fs c secret p <<<"$f"
      [[ $p == *"$suffix" && ,$fs, == *,"$s",* ]] || continue
      check_cmd "$label $p" "$ok" bash -c "$cmd" "$label" "$p" || rc=1
    done
  done
  return $rc
}

# PEM files must parse: a truncated key or certificate fails here rather than at a TLS handshake.
check_pem() {
  local p=$1 kind
  kind=$(head -n 1 "$p")
  case $kind in
    *"BEGIN CERTIFICATE"*) check_cmd "certificate $p" '^$' openssl x509 -noout -in "$p" ;;
    *"PRIVATE KEY"*) check_cmd "key $p" '^$' openssl pkey -noout -in "$p" ;;
    *"PUBLIC KEY"*) check_cmd "public key $p" '^$' openssl pkey -pubin -noout -in "$p" ;;
  esac
}

# Runs inside the namespace: overlays with their upper layers on a tmpfs, the new files in place.
inner_check() {
  local scratch=$1 top e m o g s c secret p rc=0 tops=(/etc /var)
  mount -t tmpfs -o mode=0700 provision-check "$scratch"
  WORK=$scratch
  collect_secret_words
  ip link set lo up 2>/dev/null || true
  for e in "${ACCOUNTS[@]}" "${DIRS[@]}" "${FILES[@]}" "${REMOVES[@]}"; do
    p=${e##* }; p=${p#/}; tops+=("/${p%%/*}")
  done
  for top in $(printf '%s\n' "${tops[@]}" | sort -u); do
    [ -d "$top" ] || { problem "check: $top does not exist on this host"; return 1; }
    mkdir -p "$scratch/upper$top" "$scratch/work$top"
    mount -t overlay overlay -o "lowerdir=$top,upperdir=$scratch/upper$top,workdir=$scratch/work$top" "$top"
  done
  QUIET=1 ensure_accounts
  for e in "${DIRS[@]}"; do
    read -r m o g p <<<"$e"
    owners_exist "$o" "$g" "$p" && make_dir "$m" "$o" "$g" "$p" || rc=1
  done
  for e in "${REMOVES[@]}"; do rm -f -- "${e##* }"; done
  for e in "${FILES[@]}"; do
    read -r m o g s c secret p <<<"$e"
    owners_exist "$o" "$g" "$p" && put_file "$m" "$o" "$g" "$B$p" "$p" || rc=1
  done
  [ $rc -eq 0 ] || return 1
  for e in "${FILES[@]}"; do
    read -r m o g s c secret p <<<"$e"
    [ "$c" = - ] || { compile "$c" "$p" && say "check: $c $p ok"; } || rc=1
  done
  run_checkers || rc=1
  if command -v openssl >/dev/null; then
    for e in "${FILES[@]}"; do
      p=${e##* }
      [[ $(head -c 10 "$p") == -----BEGIN ]] || continue
      check_pem "$p" || rc=1
    done
  fi
  return $rc
}

# --- plan and apply ------------------------------------------------------------------------------

# What differs from the live system: DIRS_TODO, FILES_TODO, REMOVES_TODO (manifest entries).
diff_live() {
  local e m o g s c secret p
  DIRS_TODO=() FILES_TODO=() REMOVES_TODO=()
  for e in "${DIRS[@]}"; do
    read -r m o g p <<<"$e"
    [ -d "$p" ] && [ ! -L "$p" ] && same_meta "$p" "$m" "$o" "$g" || DIRS_TODO+=("$e")
  done
  for e in "${FILES[@]}"; do
    read -r m o g s c secret p <<<"$e"
    [ -f "$p" ] && [ ! -L "$p" ] && cmp -s "$B$p" "$p" && same_meta "$p" "$m" "$o" "$g" || FILES_TODO+=("$e")
  done
  for e in "${REMOVES[@]}"; do
    p=${e##* }
    [ ! -e "$p" ] && [ ! -L "$p" ] || REMOVES_TODO+=("$e")
  done
}

cmd_plan() {
  local e m o g s c secret p live
  diff_live
  for e in "${DIRS_TODO[@]}"; do read -r m o g p <<<"$e"; say "would create or fix dir $p ($m $o:$g)"; done
  for e in "${REMOVES_TODO[@]}"; do read -r s p <<<"$e"; say "would remove $p (reload $s)"; done
  for e in "${FILES_TODO[@]}"; do
    read -r m o g s c secret p <<<"$e"
    say "would write $p ($m $o:$g, reload $s)"
    live=$p; [ -f "$p" ] || live=/dev/null
    if [ "$secret" = secret ]; then
      cmp -s "$B$p" "$live" || say "  (secret content differs: not shown)"
    else
      diff -u --label "$p (live)" --label "$p (bundle)" "$live" "$B$p" | sed 's/^/    /' || true
    fi
  done
  [ $((${#DIRS_TODO[@]} + ${#FILES_TODO[@]} + ${#REMOVES_TODO[@]})) -gt 0 ] || say "no changes"
}

mark_touched() {
  local svc
  [ "$1" = - ] || for svc in ${1//,/ }; do touched[$svc]=1; done
}

cmd_apply() {
  local e m o g s c secret p act changed=0 synced_dirs=() actions=()
  local -A touched=() # services whose files changed: mark_touched adds to it
  take_lock
  install_packages
  ensure_accounts
  run_prepares
  diff_live
  # Nothing to write or compile: the live files are the bundle's, checked when they were written.
  # Rspamd's configtest alone takes seconds of CPU on every unchanged run.
  if [ $((${#DIRS_TODO[@]} + ${#FILES_TODO[@]} + ${#REMOVES_TODO[@]})) -gt 0 ] || compile_pending; then
    run_check
  else
    say "check: skipped, the live files are the bundle's"
  fi
  for e in "${DIRS_TODO[@]}"; do
    read -r m o g p <<<"$e"
    say "dir $p ($m $o:$g)"; make_dir "$m" "$o" "$g" "$p"; changed=$((changed + 1))
  done
  for e in "${REMOVES_TODO[@]}"; do
    read -r s p <<<"$e"
    say "remove $p"; rm -f -- "$p"; synced_dirs+=("$(dirname "$p")"); changed=$((changed + 1))
    mark_touched "$s"
  done
  for e in "${FILES_TODO[@]}"; do
    read -r m o g s c secret p <<<"$e"
    say "write $p ($m $o:$g)"; put_file "$m" "$o" "$g" "$B$p" "$p"; synced_dirs+=("$(dirname "$p")"); changed=$((changed + 1))
    mark_touched "$s"
  done
  # Renames are durable once their directories are synced.
  if [ ${#synced_dirs[@]} -gt 0 ]; then mapfile -t synced_dirs < <(printf '%s\n' "${synced_dirs[@]}" | sort -u); sync "${synced_dirs[@]}"; fi
  for e in "${FILES[@]}"; do
    read -r m o g s c secret p <<<"$e"
    [ "$c" != - ] && needs_compile "$c" "$p" || continue
    say "$c $p"; compile "$c" "$p" || fail "$c $p failed after the check passed"; changed=$((changed + 1))
    mark_touched "$s"
  done
  # New or changed units take effect only after systemd rereads them.
  if [ -n "$SYSTEMD" ] && printf '%s\n' "${FILES_TODO[@]}" | grep -q ' /etc/systemd/system/'; then
    say "systemctl daemon-reload"; systemctl daemon-reload
  fi
  for s in "${SERVICES[@]}"; do
    if [ -n "${touched[$s]:-}" ] && running "$s"; then
      act=${RELOAD[$s]}
    elif running "$s"; then
      continue
    else
      act=start
    fi
    say "$act $s"
    service_do "$act" "$s" || fail "$act $s failed"
    actions+=("$act $s")
  done
  if [ -n "$SYSTEMD" ]; then
    for s in "${SERVICES[@]}"; do systemctl is-enabled --quiet "$s" || { say "enable $s"; systemctl enable --quiet "$s"; }; done
  fi
  for s in "${SERVICES[@]}"; do wait_running "$s" || fail "$s is not running"; done
  [ ${#SERVICES[@]} -eq 0 ] || say "running: ${SERVICES[*]}"
  if [ $changed -eq 0 ] && [ ${#actions[@]} -eq 0 ]; then
    say "no changes"
  else
    local done_to_services="no daemon touched"
    [ ${#actions[@]} -eq 0 ] || done_to_services=$(joined "${actions[@]}")
    say "done: $changed changes; $done_to_services"
  fi
}

joined() { local IFS=,; local all="$*"; echo "${all//,/, }"; }

take_lock() {
  exec 9>/run/mailplatform-provision.lock
  flock -w 600 9 || fail "another provision.sh holds /run/mailplatform-provision.lock"
}

# --- main ----------------------------------------------------------------------------------------

[ "$(id -u)" = 0 ] || { echo "provision.sh: run as root" >&2; exit 2; }
case ${1:-} in
  __check)
    [ $# -eq 3 ] || usage
    B=$2
    read_manifest
    inner_check "$3"
    ;;
  install | check | plan | apply)
    [ $# -eq 2 ] || usage
    trap cleanup EXIT
    WORK=$(mktemp -d -p "$([ -d /run ] && [ -w /run ] && echo /run || echo /tmp)" provision.XXXXXX)
    open_bundle "$2"
    collect_secret_words
    case $1 in
      install) take_lock; install_packages; ensure_accounts ;;
      check) run_check; say "check: ok" ;;
      plan) cmd_plan ;;
      apply) cmd_apply ;;
    esac
    ;;
  *) usage ;;
esac
