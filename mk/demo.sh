#!/usr/bin/env bash
# The product's main job, end to end, with the vanilla docker CLI:
#   weavewait volume container + `powerstrip-weave proxy` (native bridge backend, with the
#   iptables FORWARD rule a user gets), then through DOCKER_HOST=unix:///…
#     docker run -d -e WEAVE_CIDR=10.255.0.1/24  weavewait-example --serve 7000
#     docker run    -e WEAVE_CIDR=10.255.0.51/24 weavewait-example --reach 10.255.0.1:7000
#   The second app's first instruction connects to the first over ethwe, once, without
#   retrying: it succeeds only because the app started after its network was there.
# Every container of the run carries the label pw-demo-run=<run> and the proxy is scoped to
# it, so nothing else on the daemon is touched. Whatever happens (failure, Ctrl-C at any
# moment, also during the clean-up), what the run created is removed: its containers, the
# volume container, the bridge and its FORWARD rule, the proxy and its files.
# usage: demo.sh POWERSTRIP_WEAVE_BIN VERSION
#   env: DEMO_BRIDGE (pwdemo0), DEMO_VOLUME (weavewait), DEMO_CIDR (10.255.0.51/24),
#        DEMO_SERVER_CIDR (10.255.0.1/24), DEMO_WAITER (/home/weavewait/wait-for-weave),
#        DEMO_RUN (a fresh run label value)
set -euo pipefail
bin=${1:?usage: demo.sh POWERSTRIP_WEAVE_BIN VERSION}
version=${2:?usage: demo.sh POWERSTRIP_WEAVE_BIN VERSION}
bridge=${DEMO_BRIDGE:-pwdemo0}
volume=${DEMO_VOLUME:-weavewait}
waiter=${DEMO_WAITER:-/home/weavewait/wait-for-weave}
cidr=${DEMO_CIDR:-10.255.0.51/24}
server_cidr=${DEMO_SERVER_CIDR:-10.255.0.1/24}
run=${DEMO_RUN:-$$-$RANDOM}
label=pw-demo-run=$run
example=weavewait-example:$version
server=pw-demo-server-$run
server_ip=${server_cidr%/*}
port=7000

# Every docker call has a bound and stays in the foreground process group, so a Ctrl-C
# reaches the CLI at once, as it would without the bound.
bounded() { timeout --foreground "$@"; }
# The daemon itself (DOCKER_HOST as given, else Docker's standard socket), for set-up and
# clean-up: never through the proxy, which DOCKER_HOST names once it runs.
daemon=${DOCKER_HOST:-}
direct() { DOCKER_HOST=$daemon bounded "$@"; }
# Clean-up calls: timeout without --foreground puts them in a process group of their own, so
# a Ctrl-C during the clean-up (which reaches the whole foreground group) cannot cut them short.
sheltered() { DOCKER_HOST=$daemon timeout "$@"; }

direct 20 docker info >/dev/null 2>&1 || { echo "demo: no Docker daemon answers (start dockerd)"; exit 1; }
[ -x "$bin" ] || { echo "demo: $bin is missing (make static)"; exit 1; }

dir=
pid=
made_volume=no
made_bridge=no
cleanup() {
  local rc=$?
  # A second Ctrl-C must not cut the clean-up short.
  trap '' INT TERM HUP
  echo "demo: cleaning up"
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  local ids
  ids=$(sheltered 30 docker ps -aq --filter "label=$label" 2>/dev/null || true)
  [ -n "$ids" ] && sheltered 60 docker rm -f -v $ids >/dev/null 2>&1 || true
  [ "$made_volume" = yes ] && { sheltered 30 docker rm -f -v "$volume" >/dev/null 2>&1 || true; }
  if [ "$made_bridge" = yes ]; then
    ip link del "$bridge" 2>/dev/null || true
    while iptables -w 5 -D FORWARD -i "$bridge" -o "$bridge" -j ACCEPT 2>/dev/null; do :; done
  fi
  [ -n "$dir" ] && rm -rf "$dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

say() { printf '\n$ %s\n' "$*"; }

# Named before it is made, so a Ctrl-C at any moment leaves the clean-up its name (with
# dir=$(mktemp -d) one between the mkdir and the assignment would leave it behind).
dir=${TMPDIR:-/tmp}/pw-demo-$run
mkdir -m 0700 "$dir" || { echo "demo: cannot create $dir"; dir=; exit 1; }
sock=$dir/docker.sock

if ! direct 20 docker inspect --type container "$volume" >/dev/null 2>&1; then
  made_volume=yes
  say docker create --name "$volume" "weavewait:$version"
  # Sheltered from a Ctrl-C: a CLI cut short mid-request may leave the daemon creating the
  # container after the clean-up looked for it.
  sheltered 30 docker create --name "$volume" "weavewait:$version"
fi
ip link show "$bridge" >/dev/null 2>&1 || made_bridge=yes

say "$bin" proxy --listen "unix://$sock" --bridge "$bridge" --label "$label" --volume-container "$volume" --waiter "$waiter"
# A session of its own: the terminal's Ctrl-C goes to this script and the docker CLI, not
# to the proxy, which the clean-up stops after the containers it may still attach.
setsid "$bin" proxy --listen "unix://$sock" --attach bridge --bridge "$bridge" --label "$label" \
  --volume-container "$volume" --waiter "$waiter" >"$dir/proxy.log" 2>&1 </dev/null &
pid=$!
for _ in $(seq 1 150); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { echo "demo: the proxy did not start:"; cat "$dir/proxy.log"; exit 1; }

export DOCKER_HOST=unix://$sock
say export DOCKER_HOST="$DOCKER_HOST"

say docker run -d --name "$server" --label "$label" -e WEAVE_CIDR="$server_cidr" "$example" --serve "$port"
bounded 60 docker run -d --name "$server" --label "$label" -e WEAVE_CIDR="$server_cidr" "$example" --serve "$port"

say docker run --rm --label "$label" -e WEAVE_CIDR="$cidr" "$example" --reach "$server_ip:$port"
out=$(bounded 60 docker run --rm --label "$label" -e WEAVE_CIDR="$cidr" "$example" --reach "$server_ip:$port" 2>&1) || true
echo "$out"

say docker logs "$server"
server_out=$(bounded 60 docker logs "$server" 2>&1 || true)
echo "$server_out"

echo
if grep -q "ethwe inet $cidr" <<<"$out" && grep -q "^waited " <<<"$out" \
   && grep -q "^reached $server_ip:$port at the first try: hello from $server_ip" <<<"$out" \
   && grep -q "ethwe inet $server_cidr" <<<"$server_out"; then
  echo "demo: OK: each app started only once ethwe carried its WEAVE_CIDR address, and the first instruction of the second reached the first over ethwe"
else
  echo "demo: FAILED: the example did not reach its peer over ethwe; proxy log:"
  cat "$dir/proxy.log"
  exit 1
fi
