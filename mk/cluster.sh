#!/usr/bin/env bash
# Simulated hosts on one machine: N network namespaces on a switch, one dockerd each, one
# swarm (host 1 the manager, the others workers), one attachable overlay network, and the
# images every test needs loaded into every daemon. The one implementation of the cluster:
# the Rust tests (tests/src/cluster.rs) and mk/cluster.mk drive this script.
#
# Layout of cluster ID (ID: 1-12 of [a-z0-9]):
#   netns pwc-ID-sw      the switch: bridge br0, one veth hN per host
#   netns pwc-ID-hN      host N: eth0 = 198.18.0.N/24 (RFC 2544 range: in no Docker address
#                        pool), its own UTS namespace (hostname hN) and its own dockerd, which
#                        starts its own containerd
#   $PWC_ROOT/ID/        state (default PWC_ROOT=/var/tmp/pwc): owner, env, hN/{data,exec,
#                        docker.sock,docker.pid,dockerd.log,argv}
#   cgroup /pwc-ID-hN    every container of host N (dockerd --cgroup-parent), in every
#                        mounted hierarchy
# Nothing is created outside those names: no veth or bridge in the caller's namespace.
#
# usage: cluster.sh up [--id ID] [--hosts N] [--network NAME] [--subnet CIDR]
#                      [--image TAR]... [--probe-image REF | --no-probe] [--owner PID|none]
#                      [--no-swarm] [--live-restore]
#          Builds the cluster, prints its description as KEY=VALUE lines on stdout (see
#          `env`), progress and timings on stderr. Every wait is bounded and a failure names
#          what did not come; a failed or interrupted `up` tears down what it made.
#          --owner: the process whose death makes the cluster stale (default: none, kept
#          until `down`). Defaults: 3 hosts, network wnet, subnet 10.255.0.0/16, probe image
#          pw-test-busybox:latest (one `docker run --rm --network NAME` per host proves the
#          network reaches every host).
#          --no-swarm: daemons only (no swarm, no overlay network, no probe): a private
#          dockerd in a namespace of its own, e.g. for tests that restart it.
#          --live-restore: every daemon.json says "live-restore": true (containers keep
#          running while dockerd is down); Docker refuses it in swarm mode, so it needs
#          --no-swarm.
#        cluster.sh env ID           the KEY=VALUE description again: PWC_ID, PWC_DIR,
#                                    PWC_HOSTS, PWC_SWARM (yes|no), PWC_NETWORK and PWC_SUBNET
#                                    (empty without swarm), PWC_ENGINE, and per
#                                    host N: PWC_HOST_N (a DOCKER_HOST), PWC_ADDR_N, PWC_NETNS_N
#        cluster.sh host ID N        DOCKER_HOST of host N (unix:///…/hN/docker.sock)
#        cluster.sh stop ID N        SIGTERM host N's dockerd; waits until it is gone
#        cluster.sh start ID N       starts it again as before; waits until it answers and
#                                    (unless --no-swarm) its swarm state is active
#        cluster.sh mem ID           KiB of memory (PSS) of all the cluster's processes
#        cluster.sh down ID          tears down, then verifies nothing is left (below)
#        cluster.sh sweep [--manual] tears down clusters whose owner died (--manual: also
#                                    those without owner, as `make cluster-down`)
#        cluster.sh check ID         lists what is left of ID (exit 1 if anything)
#        cluster.sh list             ID, owner and hosts of every cluster
#
# Teardown kills, it does not ask: SIGKILL to every process of the cluster (those in its
# namespaces, in its cgroups, or naming its directory: dockerd, containerd, shims,
# containers, docker-proxy), then unmounts everything under its directory (overlay, nsfs),
# deletes its namespaces, cgroups and directory. A crashed run leaves the same state as a
# running one, so one path serves both. Verification: no path left (state dir, netns, mount,
# cgroup), no process left, and no process, thread, open file or mount still refers to any
# network namespace the cluster had (recorded before the teardown), so the kernel has freed
# them with every veth, bridge and vxlan device inside.
#
# Engines: the system's dockerd by default. ENGINE_DIR=/dir (dockerd, containerd, shim…
# first on PATH), DOCKERD=/path/dockerd and CONTAINERD=/path/containerd select another; a
# non-system engine runs with `--add-runtime brunc=$RUNC --default-runtime brunc` (RUNC
# default /usr/sbin/runc).
# Bounds (seconds): PWC_CALL_SECS 120 (one docker call), PWC_DAEMON_SECS 60 (dockerd
# answers), PWC_JOIN_SECS 60 (swarm join, nodes Ready), PWC_STOP_SECS 30 (dockerd exits),
# PWC_LOCK_SECS 300 (another teardown finishes).
set -euo pipefail
shopt -s nullglob

ROOT=${PWC_ROOT:-/var/tmp/pwc}
CALL_SECS=${PWC_CALL_SECS:-120}
DAEMON_SECS=${PWC_DAEMON_SECS:-60}
JOIN_SECS=${PWC_JOIN_SECS:-60}
STOP_SECS=${PWC_STOP_SECS:-30}
LOCK_SECS=${PWC_LOCK_SECS:-300}
SWITCH_NET=198.18.0
MAX_HOSTS=32

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
usage() { sed -n '/^# usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//; s/^#$//' >&2; exit 2; }

# Seconds since $1 ($EPOCHREALTIME), one decimal.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# Polls "$@" every 0.1 s for at most $1 seconds; fails when it never succeeded.
wait_until() {
  local end=$((EPOCHSECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((EPOCHSECONDS < end)) || return 1
    sleep 0.1
  done
}

valid_id() { [[ $1 =~ ^[a-z0-9]{1,12}$ ]] || die "bad cluster id '$1': 1-12 of [a-z0-9]"; }
ns_name() { echo "pwc-$1-$2"; }
host_dir() { echo "$ROOT/$1/h$2"; }
sock() { echo "unix://$(host_dir "$1" "$2")/docker.sock"; }

# docker CLI on host $2 of cluster $1, bounded.
dk() {
  local id=$1 n=$2
  shift 2
  timeout -k 5 "$CALL_SECS" docker -H "$(sock "$id" "$n")" "$@"
}

# The dockerd of host $2 if it runs (its pidfile names a live dockerd of this cluster).
daemon_pid() {
  local hd pid
  hd=$(host_dir "$1" "$2")
  pid=$(cat "$hd/docker.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$hd/" || return 1
  echo "$pid"
}

# "PID STARTTIME" of a process (starttime tells a reused pid apart), or nothing.
proc_identity() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  echo "$1 $(sed 's/.*) //' <<<"$stat" | cut -d' ' -f20)"
}

owner_alive() {
  local owner
  owner=$(cat "$ROOT/$1/owner" 2>/dev/null) || return 1
  [ "$owner" = none ] && return 0
  [ -n "$owner" ] && [ "$(proc_identity "${owner%% *}")" = "$owner" ]
}

# ---- engine -------------------------------------------------------------------------------

# Sets DOCKERD_BIN, ENGINE_PATH (PATH for dockerd), ENGINE_VERSION, RUNTIME_ARGS, for state dir $1.
select_engine() {
  local system
  system=$(command -v dockerd || true)
  DOCKERD_BIN=${DOCKERD:-${ENGINE_DIR:+$ENGINE_DIR/dockerd}}
  DOCKERD_BIN=${DOCKERD_BIN:-$system}
  [ -x "$DOCKERD_BIN" ] || die "no dockerd: install docker.io, or set DOCKERD=/path/dockerd or ENGINE_DIR"
  ENGINE_PATH=$PATH
  [ -n "${ENGINE_DIR:-}" ] && ENGINE_PATH=$ENGINE_DIR:$ENGINE_PATH
  if [ -n "${CONTAINERD:-}" ]; then
    [ -x "$CONTAINERD" ] || die "CONTAINERD=$CONTAINERD is not an executable"
    # dockerd finds containerd by that name on PATH.
    mkdir -p "$1/bin"
    ln -sf "$(realpath "$CONTAINERD")" "$1/bin/containerd"
    ENGINE_PATH=$1/bin:$ENGINE_PATH
  fi
  ENGINE_VERSION=$("$DOCKERD_BIN" --version 2>/dev/null | sed -n 's/^Docker version \([^, ]*\).*/\1/p')
  [ -n "$ENGINE_VERSION" ] || die "$DOCKERD_BIN --version says no version"
  RUNTIME_ARGS=()
  if [ "$(realpath "$DOCKERD_BIN")" != "$(realpath "${system:-/nonexistent}" 2>/dev/null)" ] \
     || [ -n "${ENGINE_DIR:-}" ] || [ -n "${CONTAINERD:-}" ]; then
    local runc=${RUNC:-/usr/sbin/runc}
    [ -x "$runc" ] || die "RUNC=$runc is not an executable (a non-system engine runs with the system runc)"
    RUNTIME_ARGS=(--add-runtime "brunc=$runc" --default-runtime brunc)
  fi
}

# ---- up -----------------------------------------------------------------------------------

make_switch() {
  local sw
  sw=$(ns_name "$1" sw)
  ip netns add "$sw"
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
}

# Host $2: its namespace, cabled to the switch.
make_host_net() {
  local id=$1 n=$2 sw ns
  sw=$(ns_name "$id" sw)
  ns=$(ns_name "$id" "h$n")
  ip netns add "$ns"
  ip -n "$sw" link add "h$n" type veth peer name eth0 netns "$ns"
  ip -n "$sw" link set "h$n" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$SWITCH_NET.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
}

# Writes host $2's dockerd command line (argv, one word a line), kept for `start`.
write_argv() {
  local id=$1 n=$2 hd
  hd=$(host_dir "$id" "$n")
  mkdir -p "$hd"
  local keys=()
  # Engines before 23 read their ID from a trust key, by default the machine's one
  # (/etc/docker/key.json): every host would claim the same engine ID.
  [ "${ENGINE_VERSION%%.*}" -lt 23 ] && keys+=("\"deprecated-key-path\": \"$hd/key.json\"")
  [ "$LIVE_RESTORE" = yes ] && keys+=('"live-restore": true')
  (IFS=,; echo "{${keys[*]}}") >"$hd/daemon.json"
  printf '%s\n' env "PATH=$ENGINE_PATH" "$DOCKERD_BIN" \
    --config-file "$hd/daemon.json" --data-root "$hd/data" --exec-root "$hd/exec" \
    -H "unix://$hd/docker.sock" --pidfile "$hd/docker.pid" \
    --cgroup-parent "/$(ns_name "$id" "h$n")" "${RUNTIME_ARGS[@]}" >"$hd/argv"
}

daemon_answers() { timeout 5 docker -H "$(sock "$1" "$2")" version --format '{{.Server.Version}}'; }

# Starts host $2's dockerd in the host's network namespace and a UTS namespace of its own
# (`ip netns exec` would remount /sys, and dockerd then finds no devices cgroup), detached
# from the caller's session; waits until it answers.
start_daemon() {
  local id=$1 n=$2 hd ns pid
  hd=$(host_dir "$id" "$n")
  ns=$(ns_name "$id" "h$n")
  local argv=()
  mapfile -t argv <"$hd/argv"
  rm -f "$hd/docker.pid"
  setsid unshare --uts -- sh -c 'hostname "$0" && exec "$@"' "h$n" \
    nsenter --net="/run/netns/$ns" -- "${argv[@]}" </dev/null >>"$hd/dockerd.log" 2>&1 9>&- &
  pid=$!
  local end=$((EPOCHSECONDS + DAEMON_SECS))
  until daemon_answers "$id" "$n" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null && ! daemon_pid "$id" "$n" >/dev/null; then
      die "host $n: dockerd exited at start; $hd/dockerd.log ends: $(tail -3 "$hd/dockerd.log")"
    fi
    ((EPOCHSECONDS < end)) || die "host $n: dockerd did not answer on $(sock "$id" "$n") within $DAEMON_SECS s; $hd/dockerd.log ends: $(tail -3 "$hd/dockerd.log")"
    sleep 0.1
  done
}

nodes_ready() { [ "$(dk "$1" 1 node ls --format '{{.Status}}' | grep -cx Ready)" -eq "$2" ]; }

form_swarm() {
  local id=$1 hosts=$2 out token n
  local a1=$SWITCH_NET.1
  out=$(dk "$id" 1 swarm init --advertise-addr "$a1" --listen-addr "$a1:2377" \
    --data-path-addr "$a1" 2>&1) || die "host 1: docker swarm init failed: $out"
  token=$(dk "$id" 1 swarm join-token -q worker 2>&1) || die "host 1: no worker join token: $token"
  local pids=()
  for ((n = 2; n <= hosts; n++)); do
    join_worker "$id" "$n" "$token" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || die "swarm: a worker did not join (see above)"; done
  wait_until "$JOIN_SECS" nodes_ready "$id" "$hosts" ||
    die "swarm: $(dk "$id" 1 node ls --format '{{.Status}}' 2>/dev/null | grep -cx Ready) of $hosts nodes Ready after $JOIN_SECS s"
}

join_worker() {
  local id=$1 n=$2 token=$3 out addr=$SWITCH_NET.$2
  out=$(timeout -k 5 "$JOIN_SECS" docker -H "$(sock "$id" "$n")" swarm join --token "$token" \
    --advertise-addr "$addr" --listen-addr "$addr:2377" --data-path-addr "$addr" \
    "$SWITCH_NET.1:2377" 2>&1) || die "host $n: docker swarm join $SWITCH_NET.1:2377 failed or took over $JOIN_SECS s: $out"
}

load_images() {
  local id=$1 n=$2 tar out
  shift 2
  for tar; do
    out=$(dk "$id" "$n" load -i "$tar" 2>&1) || die "host $n: docker load -i $tar failed: $out"
  done
}

# One container per host joins the network and leaves: a worker only sees an attachable
# network once a container there attaches, so this proves every host can.
probe() {
  local id=$1 n=$2 network=$3 image=$4 out
  out=$(timeout -k 5 "$JOIN_SECS" docker -H "$(sock "$id" "$n")" run --rm --network "$network" \
    "$image" true 2>&1) ||
    die "host $n: a container from $image could not join network $network within $JOIN_SECS s: $out"
}

# Runs "$1 ID N ARGS..." for hosts 1..$3 in parallel; fails when one did.
each_host() {
  local fn=$1 id=$2 hosts=$3 n pids=() failed=0
  shift 3
  for ((n = 1; n <= hosts; n++)); do
    "$fn" "$id" "$n" "$@" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  ((failed == 0))
}

write_env() {
  local id=$1 hosts=$2 network=$3 subnet=$4 swarm=$5 n
  {
    echo "PWC_ID=$id"
    echo "PWC_DIR=$ROOT/$id"
    echo "PWC_HOSTS=$hosts"
    echo "PWC_SWARM=$swarm"
    echo "PWC_NETWORK=$network"
    echo "PWC_SUBNET=$subnet"
    echo "PWC_ENGINE=$ENGINE_VERSION"
    for ((n = 1; n <= hosts; n++)); do
      echo "PWC_HOST_$n=$(sock "$id" "$n")"
      echo "PWC_ADDR_$n=$SWITCH_NET.$n"
      echo "PWC_NETNS_$n=$(ns_name "$id" "h$n")"
    done
  } >"$ROOT/$id/env"
}

cmd_up() {
  local id="" hosts=3 network=wnet subnet=10.255.0.0/16 owner=none probe_image=pw-test-busybox:latest
  local swarm=yes
  LIVE_RESTORE=no
  local images=()
  while [ $# -gt 0 ]; do
    case $1 in
      --id) id=${2:?--id needs a value}; shift 2 ;;
      --hosts) hosts=${2:?--hosts needs a value}; shift 2 ;;
      --network) network=${2:?--network needs a value}; shift 2 ;;
      --subnet) subnet=${2:?--subnet needs a value}; shift 2 ;;
      --image) images+=("$(realpath "${2:?--image needs a value}")"); shift 2 ;;
      --probe-image) probe_image=${2:?--probe-image needs a value}; shift 2 ;;
      --no-probe) probe_image=""; shift ;;
      --owner) owner=${2:?--owner needs a value}; shift 2 ;;
      --no-swarm) swarm=no; shift ;;
      --live-restore) LIVE_RESTORE=yes; shift ;;
      *) usage ;;
    esac
  done
  [[ $hosts =~ ^[0-9]+$ ]] && ((hosts >= 1 && hosts <= MAX_HOSTS)) || die "--hosts $hosts: give 1 to $MAX_HOSTS"
  [ "$LIVE_RESTORE" = no ] || [ "$swarm" = no ] ||
    die "--live-restore: Docker refuses live-restore in swarm mode; add --no-swarm"
  if [ "$swarm" = no ]; then
    network=""
    subnet=""
    probe_image=""
  fi
  local tar
  for tar in "${images[@]}"; do [ -f "$tar" ] || die "--image $tar: no such file (make images)"; done
  [ -n "$id" ] || id=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
  valid_id "$id"
  if [ "$owner" != none ]; then
    local who
    who=$(proc_identity "$owner")
    [ -n "$who" ] || die "--owner $owner: no such process"
    owner=$who
  fi
  mkdir -p "$ROOT"
  # Claim the id under the lock, after sweeping what dead owners left behind.
  (
    flock -w "$LOCK_SECS" 9 || die "another teardown held $ROOT/.lock for $LOCK_SECS s"
    sweep_locked no || log "a stale cluster left something behind (see above); going on"
    mkdir "$ROOT/$id" 2>/dev/null || die "cluster $id exists ($ROOT/$id): pick another --id or run: $0 down $id"
    echo "$owner" >"$ROOT/$id/owner"
  ) 9>"$ROOT/.lock"
  trap 'rc=$?; trap - EXIT INT TERM; if [ $rc -ne 0 ]; then log "up failed: tearing down $id"; cmd_down "$id" >&2 || true; fi; exit $rc' EXIT
  trap 'exit 130' INT TERM

  local t0=$EPOCHREALTIME t
  select_engine "$ROOT/$id"
  log "$id: $hosts hosts, dockerd $ENGINE_VERSION ($DOCKERD_BIN)"
  make_switch "$id"
  local n
  for ((n = 1; n <= hosts; n++)); do
    make_host_net "$id" "$n"
    write_argv "$id" "$n"
  done
  t=$EPOCHREALTIME
  each_host start_daemon "$id" "$hosts" || die "a dockerd did not start (see above)"
  local t_daemons t_swarm=0.0 t_images t_probe=0.0
  t_daemons=$(since "$t")
  if [ "$swarm" = yes ]; then
    t=$EPOCHREALTIME
    form_swarm "$id" "$hosts"
    local out
    out=$(dk "$id" 1 network create -d overlay --attachable --subnet "$subnet" "$network" 2>&1) ||
      die "host 1: docker network create -d overlay --attachable --subnet $subnet $network failed: $out"
    t_swarm=$(since "$t")
  fi
  t=$EPOCHREALTIME
  if [ ${#images[@]} -gt 0 ]; then
    each_host load_images "$id" "$hosts" "${images[@]}" || die "an image did not load (see above)"
  fi
  t_images=$(since "$t")
  if [ -n "$probe_image" ]; then
    dk "$id" 1 image inspect "$probe_image" >/dev/null 2>&1 ||
      die "probe image $probe_image is not loaded: give its archive with --image (make cluster-images), or --no-probe"
    t=$EPOCHREALTIME
    each_host probe "$id" "$hosts" "$network" "$probe_image" || die "the network does not reach every host (see above)"
    t_probe=$(since "$t")
  fi
  write_env "$id" "$hosts" "$network" "$subnet" "$swarm"
  trap - EXIT INT TERM
  log "$id up in $(since "$t0") s (daemons $t_daemons s, swarm and network $t_swarm s, ${#images[@]} images $t_images s, probe $t_probe s)"
  [ "$owner" = none ] && log "try: DOCKER_HOST=$(sock "$id" 1) docker $([ "$swarm" = yes ] && echo 'node ls' || echo ps); remove: $0 down $id"
  cat "$ROOT/$id/env"
}

# ---- stop / start one host --------------------------------------------------------------

cmd_stop() {
  local id=$1 n=$2 pid
  valid_id "$id"
  pid=$(daemon_pid "$id" "$n") || die "host $n of $id: no dockerd runs"
  kill -TERM "$pid"
  wait_until "$STOP_SECS" eval "! kill -0 $pid" || die "host $n: dockerd (pid $pid) still runs $STOP_SECS s after SIGTERM"
}

swarm_active() { [ "$(dk "$1" "$2" info --format '{{.Swarm.LocalNodeState}}')" = active ]; }

cmd_start() {
  local id=$1 n=$2
  valid_id "$id"
  [ -f "$(host_dir "$id" "$n")/argv" ] || die "host $n of $id: no such host"
  ! daemon_pid "$id" "$n" >/dev/null || die "host $n of $id: dockerd runs already"
  start_daemon "$id" "$n"
  grep -qx 'PWC_SWARM=no' "$ROOT/$id/env" && return 0
  wait_until "$JOIN_SECS" swarm_active "$id" "$n" ||
    die "host $n: swarm state is '$(dk "$id" "$n" info --format '{{.Swarm.LocalNodeState}}' 2>&1)' $JOIN_SECS s after restart, not active"
}

# ---- what belongs to a cluster ------------------------------------------------------------

# Every process of cluster $1: in its network namespaces, in its cgroups, or naming its
# directory on its command line (never this script).
cluster_pids() {
  local id=$1 dir=$ROOT/$1 f
  {
    for f in /run/netns/pwc-"$id"-*; do ip netns pids "${f##*/}" 2>/dev/null || true; done
    for f in /sys/fs/cgroup/*/pwc-"$id"-*/ /sys/fs/cgroup/pwc-"$id"-*/; do
      find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null || true
    done
    # The pattern comes from a file: on grep's own command line it would match grep.
    grep -lsF -f <(printf '%s\n' "$dir/") /proc/[0-9]*/cmdline | cut -d/ -f3 || true
  } | sort -un | grep -vx -e "$$" -e "$BASHPID" || true
}

# Mount points under the cluster's directory or of its named namespaces, deepest first.
cluster_mounts() {
  awk -v dir="$ROOT/$1" -v ns="/run/netns/pwc-$1-" \
    '$5 == dir || index($5, dir "/") == 1 || index($5, ns) == 1 { print $5 }' /proc/self/mountinfo |
    awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-
}

# Inode numbers of every network namespace the cluster holds: its named ones and those
# Docker bind-mounted under its directory (sandboxes, overlay namespaces).
cluster_netns_inodes() {
  local f
  for f in /run/netns/pwc-"$1"-*; do stat -L -c %i "$f" 2>/dev/null || true; done
  awk -v dir="$ROOT/$1/" 'index($5, dir) == 1 && $4 ~ /^net:\[/ { gsub(/[^0-9]/, "", $4); print $4 }' /proc/self/mountinfo
}

# Every process, thread, open file and mount that still refers to one of the namespace
# inodes given on stdin.
netns_references() {
  local inodes nsfs
  inodes=$(sort -u)
  [ -n "$inodes" ] || return 0
  nsfs=$(stat -L -c %d /proc/self/ns/net)
  {
    find /proc/[0-9]*/task/[0-9]*/ns/net -lname 'net:*' -printf '%l thread %p\n' 2>/dev/null |
      sed 's/^net:\[\([0-9]*\)\]/\1/' || true
    # An open namespace file reads as the path it was opened by: compare device and inode.
    find -L /proc/[0-9]*/fd -mindepth 1 -maxdepth 1 -printf '%D %i %p\n' 2>/dev/null |
      awk -v dev="$nsfs" '$1 == dev { print $2, "open file", $3 }' || true
    awk '$4 ~ /^net:\[/ { n = $4; gsub(/[^0-9]/, "", n); print n, "mount " $5 }' /proc/self/mountinfo
  } | awk 'NR == FNR { want[$1]; next } ($1 in want) { $1 = ""; print substr($0, 2) }' \
    <(echo "$inodes") - || true
}

# What is left of cluster $1, one line each.
leftovers() {
  local id=$1 dir=$ROOT/$1 f pid
  [ -e "$dir" ] && echo "state directory $dir"
  for f in /run/netns/pwc-"$id"-*; do echo "network namespace ${f##*/}"; done
  for f in /sys/fs/cgroup/*/pwc-"$id"-* /sys/fs/cgroup/pwc-"$id"-*; do echo "cgroup $f"; done
  cluster_mounts "$id" | sed 's/^/mount /'
  for pid in $(cluster_pids "$id"); do echo "process $pid ($(cat "/proc/$pid/comm" 2>/dev/null))"; done
}

cmd_check() {
  valid_id "$1"
  local left
  left=$(leftovers "$1")
  [ -z "$left" ] || { echo "$left"; return 1; }
}

# ---- teardown -----------------------------------------------------------------------------

teardown() {
  local id=$1 dir=$ROOT/$1 t0=$EPOCHREALTIME inodes pids m f left refs
  inodes=$(cluster_netns_inodes "$id")
  # Killed processes leave their cgroups and namespaces at once; a dying dockerd may still
  # fork a last child, hence the loop (bounded: what survives is reported below).
  local end=$((EPOCHSECONDS + STOP_SECS))
  while pids=$(cluster_pids "$id") && [ -n "$pids" ] && ((EPOCHSECONDS < end)); do
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  for m in $(cluster_mounts "$id"); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  for f in /run/netns/pwc-"$id"-*; do ip netns del "${f##*/}" 2>/dev/null || true; done
  for f in /sys/fs/cgroup/*/pwc-"$id"-* /sys/fs/cgroup/pwc-"$id"-*; do
    find "$f" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  [ -d "$dir" ] && rm -rf --one-file-system "$dir"
  local secs
  secs=$(since "$t0")
  left=$(leftovers "$id")
  # The kernel reuses a freed namespace's inode number: one that another cluster's namespace
  # now has is that cluster's, not a reference to ours.
  local others o
  others=$(for o in "$ROOT"/*/; do
    o=${o%/}
    o=${o##*/}
    [ "$o" = "$id" ] || cluster_netns_inodes "$o"
  done)
  refs=$( { grep -vxF -f <(printf '%s\n' "$others") <<<"$inodes" || true; } | netns_references)
  if [ -n "$left$refs" ]; then
    log "$id: left after teardown:"
    printf '%s\n' "$left" "$refs" | sed '/^$/d; s/^/  /' >&2
    return 1
  fi
  log "$id down in $secs s; verified: no process, mount, network namespace, cgroup or directory left; no reference to its $(grep -c . <<<"$inodes") network namespaces"
}

# Tears down every cluster whose owner died (and, with $1 = yes, those without owner).
# Candidates come from state directories, namespaces and cgroups alike: a crash can leave
# any of them without the others.
sweep_locked() {
  local manual=$1 f name id ids=() failed=0
  for f in "$ROOT"/*/ /run/netns/pwc-* /sys/fs/cgroup/*/pwc-* /sys/fs/cgroup/pwc-*; do
    name=${f%/}
    name=${name##*/}
    case $f in "$ROOT"/*) id=$name ;; *) id=${name#pwc-}; id=${id%-*} ;; esac
    [[ $id =~ ^[a-z0-9]{1,12}$ ]] && ids+=("$id")
  done
  for id in $(printf '%s\n' "${ids[@]}" | sort -u); do
    if owner_alive "$id"; then
      [ "$manual" = yes ] && [ "$(cat "$ROOT/$id/owner")" = none ] || continue
    fi
    case $(cat "$ROOT/$id/owner" 2>/dev/null || echo unknown) in
      none) log "tearing down $id (made without owner)" ;;
      *) log "sweeping $id (owner $(cat "$ROOT/$id/owner" 2>/dev/null || echo unknown) is gone)" ;;
    esac
    teardown "$id" || failed=1
  done
  return $failed
}

cmd_down() {
  valid_id "$1"
  mkdir -p "$ROOT"
  (
    flock -w "$LOCK_SECS" 9 || die "another teardown held $ROOT/.lock for $LOCK_SECS s"
    teardown "$1"
  ) 9>"$ROOT/.lock"
}

cmd_sweep() {
  local manual=no
  [ "${1:-}" = --manual ] && manual=yes
  mkdir -p "$ROOT"
  (
    flock -w "$LOCK_SECS" 9 || die "another teardown held $ROOT/.lock for $LOCK_SECS s"
    sweep_locked "$manual"
  ) 9>"$ROOT/.lock"
}

# ---- information --------------------------------------------------------------------------

cmd_env() {
  valid_id "$1"
  cat "$ROOT/$1/env" 2>/dev/null || die "cluster $1 is not up (no $ROOT/$1/env)"
}

cmd_host() {
  valid_id "$1"
  [ -f "$(host_dir "$1" "${2:?usage: host ID N}")/argv" ] || die "cluster $1 has no host $2"
  sock "$1" "$2"
}

cmd_mem() {
  valid_id "$1"
  local pid total=0 kib
  for pid in $(cluster_pids "$1"); do
    kib=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
    total=$((total + ${kib:-0}))
  done
  echo "$total"
}

cmd_list() {
  local d id
  for d in "$ROOT"/*/; do
    id=$(basename "$d")
    printf '%s owner=%s hosts=%s\n' "$id" "$(cat "$d/owner" 2>/dev/null || echo '?')" \
      "$(sed -n 's/^PWC_HOSTS=//p' "$d/env" 2>/dev/null || echo '?')"
  done
}

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, dockerd)"
[[ $ROOT =~ ^/[^[:space:]]*$ ]] || die "PWC_ROOT=$ROOT: give an absolute path without spaces"
cmd=${1:-}
shift || true
case $cmd in
  up) cmd_up "$@" ;;
  down) cmd_down "${1:?usage: down ID}" ;;
  sweep) cmd_sweep "$@" ;;
  check) cmd_check "${1:?usage: check ID}" ;;
  env) cmd_env "${1:?usage: env ID}" ;;
  host) cmd_host "${1:?usage: host ID N}" "${2:-}" ;;
  stop) cmd_stop "${1:?usage: stop ID N}" "${2:?usage: stop ID N}" ;;
  start) cmd_start "${1:?usage: start ID N}" "${2:?usage: start ID N}" ;;
  mem) cmd_mem "${1:?usage: mem ID}" ;;
  list) cmd_list ;;
  *) usage ;;
esac
