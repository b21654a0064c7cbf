#!/usr/bin/env bash
# Debian's builds of Docker Engine 20.10, 26.1 and 28.5, fetched once per machine and run
# beside the machine's own dockerd without disturbing it. Root only.
#
#   mk/engines.sh fetch ENGINE
#       Downloads Debian's docker.io, docker-cli and containerd of ENGINE with apt-get
#       through a private sources list, lists directory and cache (the system's apt sources,
#       lists and cache are never read or written), unpacks them with dpkg-deb and keeps
#       them in $PW_ENGINE_CACHE/ENGINE (default /var/cache/powerstrip-weave/engines).
#       Prints the directory holding dockerd, docker-proxy, docker-init, containerd,
#       containerd-shim-runc-v2, ctr and the docker CLI; `versions` beside it names the
#       packages. A cached engine is reused as it is; delete its directory to fetch anew.
#   mk/engines.sh start ENGINE NAME [NETNS] [-- DOCKERD-ARGS...]
#       Starts dockerd of ENGINE as instance NAME: its own containerd (started by dockerd),
#       --data-root /var/lib/pw-engines/NAME, --exec-root /run/pw-engines/NAME/exec,
#       -H unix:///run/pw-engines/NAME/docker.sock, --pidfile, containers under the cgroup
#       /pw-engine-NAME, and the host's runc as default runtime `brunc` (the engines' own
#       runc needs a newer glibc than Debian 12's). It runs in network namespace NETNS
#       (/var/run/netns/NETNS, which must exist) or, by default, in a new one named NAME
#       with lo up: its docker0 and iptables rules stay there. Waits until it answers
#       (at most 60 s) and prints its DOCKER_HOST. Log: $PW_ENGINE_LOGS/NAME.log
#       (default /var/log/powerstrip-weave).
#   mk/engines.sh stop NAME
#       Stops instance NAME (SIGTERM, SIGKILL after 45 s), kills what is left in its
#       cgroups and under its directories, unmounts and removes its state, and deletes its
#       network namespace when `start` created it. Keeps the log.
#   mk/engines.sh run ENGINE -- COMMAND...
#       start (a new namespace, instance pw-eENGINE-PID), then COMMAND inside that network
#       namespace and a private mount namespace where /var/run/docker.sock is hidden, so
#       nothing reaches the system's daemon by accident; DOCKER_HOST names the engine and
#       its directory comes first on PATH (so `docker` is the engine's own CLI). Stops the
#       instance afterwards, also on failure and Ctrl-C, and exits with COMMAND's status.
#       The log is removed when COMMAND succeeded, kept (and named) when it failed.
#   mk/engines.sh list
#       The engines known here, their Debian suites and whether they are cached.
#
# Several daemons on one machine, e.g. one per simulated host: create each host's network
# namespace (and its links) yourself, then `start ENGINE hostN hostN-netns` for each (the
# DOCKER_HOST it prints reaches that daemon from any namespace) and `stop hostN` at the end.
# Environment: PW_ENGINE_CACHE, PW_ENGINE_LOGS (above), PW_ENGINE_MIRROR (default
# http://deb.debian.org), PW_ENGINE_RUNC (default: runc on PATH).
#
# ENGINE is one of 20.10 (Debian 12 bookworm), 26.1 (Debian 13 trixie), 28.5 (Debian
# unstable). Each takes the newest docker.io/docker-cli/containerd of its suites whose
# version starts with the numbers below; when a suite has moved on, fetch says so.
set -euo pipefail

self=$(readlink -f "$0")
cache_root=${PW_ENGINE_CACHE:-/var/cache/powerstrip-weave/engines}
log_root=${PW_ENGINE_LOGS:-/var/log/powerstrip-weave}
run_root=/run/pw-engines
data_root=/var/lib/pw-engines
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mirror=${PW_ENGINE_MIRROR:-http://deb.debian.org}

die() { echo "engines: $*" >&2 || true; exit 1; }
say() { echo "engines: $*" >&2 || true; }

# engine_spec ENGINE: sets `suites` (archive suites, "debian-security" ones marked) and
# `wants` (package=version-prefix pairs).
engine_spec() {
  case $1 in
    20.10) suites="debian:bookworm debian:bookworm-updates debian-security:bookworm-security"
           wants="docker.io=20.10. containerd=1.6." ;;
    26.1)  suites="debian:trixie debian:trixie-updates debian-security:trixie-security"
           wants="docker.io=26.1. docker-cli=26.1. containerd=1.7." ;;
    28.5)  suites="debian:sid"
           wants="docker.io=28.5. docker-cli=28.5. containerd=2.1." ;;
    *) die "unknown engine '$1': one of 20.10, 26.1, 28.5" ;;
  esac
}

need_root() { [ "$(id -u)" = 0 ] || die "$1 needs root"; }

# The host's runc: the engines' containerd shims start containers with it.
host_runc() {
  local r=${PW_ENGINE_RUNC:-}
  [ -n "$r" ] || r=$(command -v runc || true)
  if [ -z "$r" ] || [ ! -x "$r" ]; then die "no runc on PATH (apt-get install runc, or set PW_ENGINE_RUNC)"; fi
  echo "$r"
}

cmd_fetch() {
  local engine=${1:?usage: engines.sh fetch ENGINE}
  engine_spec "$engine"
  local dir=$cache_root/$engine
  if [ -x "$dir/bin/dockerd" ] && [ -f "$dir/versions" ]; then echo "$dir/bin"; return; fi
  need_root "fetching an engine"
  mkdir -p "$cache_root"
  # One fetch per engine at a time on this machine; a second caller waits, then reuses.
  exec 9>"$cache_root/.$engine.lock"
  flock -w 600 9 || die "another fetch of $engine holds $cache_root/.$engine.lock"
  if [ -x "$dir/bin/dockerd" ] && [ -f "$dir/versions" ]; then echo "$dir/bin"; return; fi

  local tmp
  tmp=$(mktemp -d "$cache_root/.fetch-$engine.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the trap runs after `tmp` is gone.
  trap "rm -rf '$tmp'" EXIT
  mkdir -p "$tmp/apt/lists/partial" "$tmp/apt/cache/archives/partial" "$tmp/apt/empty" \
    "$tmp/debs" "$tmp/root" "$tmp/engine/bin"
  : >"$tmp/apt/status"
  local s archive suite
  for s in $suites; do
    archive=${s%%:*} suite=${s#*:}
    echo "deb [signed-by=$keyring target=Packages] $mirror/$archive $suite main"
  done >"$tmp/apt/sources.list"
  # Hooks of the system's apt configuration (cache cleaners, AppStream refresh) act on the
  # system's own state: none of them runs for this private download.
  cat >"$tmp/apt/apt.conf" <<'EOF'
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Pre-Invoke;
#clear DPkg::Post-Invoke;
EOF
  local apt=(-c "$tmp/apt/apt.conf"
    -o "Dir::Etc::sourcelist=$tmp/apt/sources.list" -o "Dir::Etc::sourceparts=$tmp/apt/empty"
    -o "Dir::Etc::preferences=$tmp/apt/empty/none" -o "Dir::Etc::preferencesparts=$tmp/apt/empty"
    -o "Dir::State::Lists=$tmp/apt/lists" -o "Dir::State::status=$tmp/apt/status"
    -o "Dir::Cache=$tmp/apt/cache" -o "APT::Architecture=amd64" -o "APT::Architectures=amd64"
    -o "APT::Sandbox::User=root" -o "Debug::NoLocking=true"
    # Unstable's index expires within a week: a frozen mirror or a clock ahead would stop
    # the fetch, while the signature still proves the index is Debian's.
    -o "Acquire::Check-Valid-Until=false")

  say "fetching Engine $engine from Debian ($suites) into $dir"
  apt-get "${apt[@]}" -qq --error-on=any update >"$tmp/apt.log" 2>&1 ||
    { cat "$tmp/apt.log" >&2; die "apt-get update of the private sources list failed (above)"; }
  local w pkg prefix version pins=() versions=()
  for w in $wants; do
    pkg=${w%%=*} prefix=${w#*=}
    version=$(apt-cache "${apt[@]}" madison "$pkg" | awk -F' *[|] *' -v p="$prefix" \
      'index($2, p) == 1 { print $2; exit }')
    if [ -z "$version" ]; then
      die "Debian ($suites) no longer has $pkg $prefix*; it has: $(apt-cache "${apt[@]}" madison "$pkg" |
        awk -F' *[|] *' '{ printf "%s ", $2 }')- update the engine table in mk/engines.sh"
    fi
    pins+=("$pkg=$version") versions+=("$pkg $version")
  done
  (cd "$tmp/debs" && apt-get "${apt[@]}" -qq download "${pins[@]}" >"$tmp/apt.log" 2>&1) ||
    { cat "$tmp/apt.log" >&2; die "apt-get download ${pins[*]} failed (above)"; }
  local deb
  for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done

  local b
  for b in usr/sbin/dockerd usr/sbin/docker-proxy usr/bin/docker usr/bin/containerd \
           usr/bin/containerd-shim-runc-v2 usr/bin/ctr; do
    [ -f "$tmp/root/$b" ] || die "the packages of $engine have no $b"
    mv "$tmp/root/$b" "$tmp/engine/bin/"
  done
  # docker-init points at tini-static, which Debian 12's tini package installs.
  ln -s /usr/bin/tini-static "$tmp/engine/bin/docker-init"
  printf '%s\n' "${versions[@]}" >"$tmp/engine/versions"
  "$tmp/engine/bin/dockerd" --version >/dev/null 2>&1 ||
    die "Engine $engine's dockerd does not run here: $("$tmp/engine/bin/dockerd" --version 2>&1 | head -3)"
  rm -rf "$dir"
  mv "$tmp/engine" "$dir"
  say "Engine $engine: $(tr '\n' ' ' <"$dir/versions")"
  echo "$dir/bin"
}

# in_netns NETNS [--hide-docker-sock] COMMAND...: runs COMMAND in network namespace NETNS
# and a private mount namespace (see cmd_inside).
in_netns() {
  local netns=$1
  shift
  nsenter --net="/var/run/netns/$netns" unshare --mount --propagation slave "$self" _inside "$@"
}

# The mount namespace's side of in_netns: /sys becomes a sysfs of the network namespace
# (dockerd reads its bridge ports there) and the host's mounts under /sys (cgroups …) are
# carried over: what `ip netns exec` does, without hiding the cgroup mounts.
# --hide-docker-sock binds /dev/null over /var/run/docker.sock.
cmd_inside() {
  local hide=no
  if [ "${1:-}" = --hide-docker-sock ]; then hide=yes; shift; fi
  local keep subs m i
  keep=$(mktemp -d)
  # The outermost mounts under /sys: each carries its own submounts along (--rbind).
  mapfile -t subs < <(awk '$5 ~ "^/sys/" { print $5 }' /proc/self/mountinfo | sort |
    awk 'p == "" || index($0, p "/") != 1 { print; p = $0 }')
  for i in "${!subs[@]}"; do mkdir "$keep/$i"; mount --rbind "${subs[$i]}" "$keep/$i"; done
  mount -t sysfs sysfs /sys
  for i in "${!subs[@]}"; do m=${subs[$i]}; mount --move "$keep/$i" "$m"; rmdir "$keep/$i"; done
  rmdir "$keep"
  if [ $hide = yes ] && [ -S /var/run/docker.sock ]; then mount --bind /dev/null /var/run/docker.sock; fi
  exec "$@"
}

check_name() {
  [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$ ]] ||
    die "instance name '$1': 1-40 letters, digits, '.', '_' or '-'"
}

cmd_start() {
  local engine=${1:?usage: engines.sh start ENGINE NAME [NETNS] [-- DOCKERD-ARGS...]}
  local name=${2:?usage: engines.sh start ENGINE NAME [NETNS] [-- DOCKERD-ARGS...]}
  shift 2
  local netns=
  if [ $# -gt 0 ] && [ "$1" != -- ]; then netns=$1; shift; fi
  [ "${1:-}" != -- ] || shift
  check_name "$name"
  need_root "starting an engine"
  local bin runc
  bin=$(cmd_fetch "$engine")
  runc=$(host_runc)
  local run=$run_root/$name data=$data_root/$name
  [ ! -e "$run" ] || die "instance $name exists ($run): mk/engines.sh stop $name"
  mkdir -p "$run/exec" "$data" "$log_root"
  echo "$engine" >"$run/engine"
  if [ -z "$netns" ]; then
    netns=$name
    ip netns add "$netns" || die "cannot create network namespace $netns"
    touch "$run/netns-created"
    ip -n "$netns" link set lo up
  fi
  [ -e "/var/run/netns/$netns" ] || die "no network namespace /var/run/netns/$netns"
  echo "$netns" >"$run/netns"
  echo '{}' >"$run/daemon.json"
  local sock=$run/docker.sock log=$log_root/$name.log
  # setsid so that a Ctrl-C meant for the caller reaches dockerd only through `stop`;
  # sigdefault.sh so that it starts with the clean signal state an init system gives.
  PATH="$bin:$PATH" in_netns "$netns" setsid "${self%/*}/sigdefault.sh" dockerd \
    --config-file "$run/daemon.json" --data-root "$data" --exec-root "$run/exec" \
    -H "unix://$sock" --pidfile "$run/docker.pid" \
    --add-runtime "brunc=$runc" --default-runtime brunc \
    --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "/pw-engine-$name" \
    "$@" >"$log" 2>&1 </dev/null &
  local pid=$! i
  for i in $(seq 1 600); do
    if timeout 5 "$bin/docker" -H "unix://$sock" version >/dev/null 2>&1; then
      say "Engine $engine ($name) answers at unix://$sock in netns $netns (log $log)"
      echo "unix://$sock"
      return
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  say "Engine $engine ($name) did not answer within 60 s; the end of $log:"
  tail -20 "$log" >&2
  cmd_stop "$name"
  exit 1
}

# Pids of processes whose command line mentions the directory $1/ (dockerd, its
# containerd, the shims: all carry the instance's own paths).
pids_under() {
  local p args
  for p in /proc/[0-9]*; do
    { mapfile -d '' args <"$p/cmdline"; } 2>/dev/null || continue
    [[ "${args[*]}" != *"$1/"* ]] || echo "${p#/proc/}"
  done
}

cgroups_of() { find /sys/fs/cgroup -maxdepth 2 -type d -name "pw-engine-$1" 2>/dev/null; }

cmd_stop() {
  local name=${1:?usage: engines.sh stop NAME}
  check_name "$name"
  need_root "stopping an engine"
  # Whoever read our output may be gone (Ctrl-C): clean up regardless.
  trap '' PIPE
  local run=$run_root/$name data=$data_root/$name
  [ -d "$run" ] || [ -d "$data" ] || die "no instance $name"
  local pid i
  pid=$(cat "$run/docker.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    # dockerd stops its containers first (10 s each, in parallel, then SIGKILL).
    for i in $(seq 1 450); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { say "dockerd $pid ($name) still runs after 45 s: SIGKILL"; kill -KILL "$pid"; }
  fi
  # What outlived dockerd: containers (by their cgroups), containerd and its shims (by the
  # instance's paths on their command lines).
  local cg left
  for cg in $(cgroups_of "$name"); do
    mapfile -t left < <(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
    [ ${#left[@]} = 0 ] || kill -KILL "${left[@]}" 2>/dev/null || true
  done
  mapfile -t left < <(pids_under "$run"; pids_under "$data")
  [ ${#left[@]} = 0 ] || kill -KILL "${left[@]}" 2>/dev/null || true
  for _ in $(seq 1 50); do
    [ -z "$(pids_under "$run")" ] && break
    sleep 0.1
  done
  # Mounts under the instance's directories, deepest first (overlay, shm, netns files).
  local m
  awk -v a="$run/" -v b="$data/" 'index($5, a) == 1 || index($5, b) == 1 { print $5 }' \
    /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  for cg in $(cgroups_of "$name"); do find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
  if [ -e "$run/netns-created" ]; then ip netns del "$(cat "$run/netns")" 2>/dev/null || true; fi
  rm -rf -- "$run" "$data"
}

cmd_run() {
  local engine=${1:?usage: engines.sh run ENGINE -- COMMAND...}
  shift
  [ "${1:-}" = -- ] && shift
  [ $# -gt 0 ] || die "usage: engines.sh run ENGINE -- COMMAND..."
  engine_spec "$engine"
  local name=pw-e$engine-$$ host bin status=0
  bin=$(cmd_fetch "$engine")
  # shellcheck disable=SC2064
  trap "[ ! -d '$run_root/$name' ] || cmd_stop '$name'" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  host=$(cmd_start "$engine" "$name")
  DOCKER_HOST=$host PATH="$bin:$PATH" in_netns "$name" --hide-docker-sock "$@" || status=$?
  if [ "$status" = 0 ]; then rm -f "$log_root/$name.log"
  else say "Engine $engine: exit status $status; dockerd log kept: $log_root/$name.log"; fi
  return "$status"
}

cmd_list() {
  local e
  for e in 20.10 26.1 28.5; do
    engine_spec "$e"
    if [ -f "$cache_root/$e/versions" ]; then
      echo "$e ($suites): cached in $cache_root/$e: $(tr '\n' ' ' <"$cache_root/$e/versions")"
    else
      echo "$e ($suites): not fetched"
    fi
  done
}

case ${1:-} in
  fetch) shift; cmd_fetch "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  run) shift; cmd_run "$@" ;;
  list) cmd_list ;;
  _inside) shift; cmd_inside "$@" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
