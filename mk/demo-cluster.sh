#!/usr/bin/env bash
# The product across hosts, with the vanilla docker CLI (docs/cluster.md): three simulated
# hosts (mk/cluster.sh: one dockerd each, a swarm, the attachable overlay wnet), one
# `powerstrip-weave proxy --attach network:wnet` per host, and per host a DOCKER_HOST:
#   host 3: docker run -d -e WEAVE_CIDR=10.255.1.3/16 weavewait-example --serve 7000
#   host 2: docker run    -e WEAVE_CIDR=10.255.1.2/16 weavewait-example --reach 10.255.1.3:7000
#   host 1: docker run    -e WEAVE_CIDR=net:default   weavewait-example --reach 10.255.1.3:7000
# Each client's first instruction connects to the server on host 3, once, without
# retrying: it succeeds only because the app started after its address was there. The
# demo prints who reached whom, then removes everything it made (also on failure or
# Ctrl-C, a second Ctrl-C included): containers, proxies, the cluster (verified).
# usage: demo-cluster.sh POWERSTRIP_WEAVE_BIN --image TAR...   (mk/cluster.sh's: the archives
#        every host loads, with the busybox test image its probe runs)
#   env: DEMO_SUBNET (10.255.0.0/16; the server and host 2 take 10.255.1.3 and 10.255.1.2)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: demo-cluster.sh POWERSTRIP_WEAVE_BIN --image TAR...}
shift
subnet=${DEMO_SUBNET:-10.255.0.0/16}
net=${subnet%.*.*}
server_ip=$net.1.3
port=7000
example=weavewait-example:latest
[ -x "$bin" ] || { echo "demo-cluster: $bin is missing (make static)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "demo-cluster: needs root (network namespaces, dockerd)"; exit 1; }

bounded() { timeout --foreground "$@"; }

id=
dir=
pids=()
cleanup() {
  local rc=$?
  trap '' INT TERM HUP
  echo
  echo "demo-cluster: cleaning up"
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # The cluster's teardown kills every container of it, and verifies nothing is left.
  [ -n "$id" ] && { bash mk/cluster.sh down "$id" || rc=1; }
  [ -n "$dir" ] && rm -rf "$dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

say() { printf '\n%s$ %s\n' "${host:+[host $host] }" "$*"; }

dir=$(mktemp -d)
echo "demo-cluster: building 3 simulated hosts (a swarm, the attachable overlay wnet on $subnet)"
# Owned by this script: should it die without cleaning up, the next cluster-up sweeps it.
bash mk/cluster.sh up --hosts 3 --owner $$ --subnet "$subnet" "$@" >"$dir/env" 2>"$dir/up.log" &
wait $! || { cat "$dir/up.log"; exit 1; }
id=$(sed -n 's/^PWC_ID=//p' "$dir/env")
tail -1 "$dir/up.log"

label=pw-demo-cluster=$id
for n in 1 2 3; do
  daemon=$(sed -n "s/^PWC_HOST_$n=//p" "$dir/env")
  sock=$dir/h$n.sock
  host=$n say "$bin" proxy --docker "$daemon" --listen "unix://$sock" --attach network:wnet --label "$label"
  # A session of its own, so a Ctrl-C reaches this script (which stops it), not the proxy.
  setsid "$bin" proxy --docker "$daemon" --listen "unix://$sock" --attach network:wnet \
    --label "$label" --image weavewait:latest >"$dir/proxy-h$n.log" 2>&1 </dev/null &
  pids+=($!)
done
for n in 1 2 3; do
  for _ in $(seq 1 150); do [ -S "$dir/h$n.sock" ] && break; sleep 0.1; done
  [ -S "$dir/h$n.sock" ] || { echo "demo-cluster: the proxy of host $n did not start:"; cat "$dir/proxy-h$n.log"; exit 1; }
done

# docker on host $1, through its proxy.
on() {
  local n=$1
  shift
  DOCKER_HOST=unix://$dir/h$n.sock bounded 120 docker "$@"
}

host=3 say export DOCKER_HOST=unix://$dir/h3.sock
host=3 say docker run -d --name server --label "$label" -e WEAVE_CIDR="$server_ip/16" $example --iface any --serve $port
on 3 run -d --name server --label "$label" -e WEAVE_CIDR="$server_ip/16" $example --iface any --serve $port >/dev/null || exit

declare -A reached
for n in 2 1; do
  cidr=$net.1.2/16
  [ "$n" = 1 ] && cidr=net:default
  host=$n say export DOCKER_HOST=unix://$dir/h$n.sock
  host=$n say docker run --rm --label "$label" -e WEAVE_CIDR="$cidr" $example --iface any --reach "$server_ip:$port"
  rc=0
  out=$(on "$n" run --rm --label "$label" -e WEAVE_CIDR="$cidr" $example --iface any --reach "$server_ip:$port" 2>&1) || rc=$?
  echo "$out"
  # A Ctrl-C the CLI passed on to the container ends it with 130; bash then runs no trap.
  [ "$rc" -eq 130 ] && exit 130
  mine=$(grep -o "inet $net\.[0-9.]*/[0-9]*" <<<"$out" | head -1 | cut -d' ' -f2)
  if grep -q "^reached $server_ip:$port at the first try: hello from .*$server_ip" <<<"$out"; then
    reached[$n]="host $n (${mine:-?}) reached host 3 ($server_ip) at its first instruction"
  else
    reached[$n]="host $n (${mine:-no address}) did NOT reach host 3 ($server_ip)"
  fi
done

echo
echo "demo-cluster: who reached whom"
for n in 2 1; do echo "  ${reached[$n]}"; done
if [[ ${reached[1]} == *NOT* || ${reached[2]} == *NOT* ]]; then
  echo "demo-cluster: FAILED; proxy logs:"
  tail -n 20 "$dir"/proxy-h*.log
  exit 1
fi
echo "demo-cluster: OK: each app started only once its address on wnet was there (an exact one on host 2, one Docker allocated on host 1)"
