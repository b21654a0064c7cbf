#!/usr/bin/env bash
# Figures of the simulated hosts (mk/cluster.sh), each beside a single-host reference in
# the same run:
#   build time of a 2- and a 3-host cluster (with the script's phases), teardown time;
#   `docker network connect --ip` on a worker: overlay vs a local bridge network on the
#   same daemon (p50, max over CONNECTS runs);
#   ping RTT host 2 -> host 3 over the overlay vs two containers on one host's bridge;
#   memory (PSS of every process of the cluster): idle after `up`, and the peak while the
#   benchmark's containers run (sampled every 0.5 s).
# usage: cluster-bench.sh --image TAR... (must include the busybox test image)
#   env: CONNECTS (10), PINGS (20)
set -euo pipefail
cd "$(dirname "$0")/.."
connects=${CONNECTS:-10}
pings=${PINGS:-20}
image=pw-test-busybox:latest
cluster=(bash mk/cluster.sh)

ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
# p50 and max of the numbers on stdin.
stats() { sort -n | awk '{ v[NR] = $1 } END { printf "p50 %d ms, max %d ms", v[int((NR + 1) / 2)], v[NR] }'; }
rtt() { sed -n 's|.*min/avg/max = [0-9.]*/\([0-9.]*\)/\([0-9.]*\).*|avg \1 ms, max \2 ms|p'; }

id=""
sampler=""
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  [ -n "$id" ] && "${cluster[@]}" down "$id" >/dev/null 2>&1
  true
}
trap cleanup EXIT

# Builds a cluster of $1 hosts; sets id; prints its build line.
up() {
  local t0=$EPOCHREALTIME out
  out=$("${cluster[@]}" up --hosts "$1" --owner $$ "${@:2}" 2>&1 >/tmp/cluster-bench-env.$$) ||
    { echo "$out"; exit 1; }
  id=$(sed -n 's/^PWC_ID=//p' /tmp/cluster-bench-env.$$)
  rm -f /tmp/cluster-bench-env.$$
  printf '%-42s %6d ms   (%s)\n' "build, $1 hosts" "$(ms_since "$t0")" \
    "$(sed -n 's/.* up in [0-9.]* s (\(.*\))/\1/p' <<<"$out")"
}

down() {
  local t0=$EPOCHREALTIME
  "${cluster[@]}" down "$id" >/dev/null
  printf '%-42s %6d ms\n' "teardown, $1 hosts (verified)" "$(ms_since "$t0")"
  id=""
}

dk() { local n=$1; shift; timeout -k 5 120 docker -H "$("${cluster[@]}" host "$id" "$n")" "$@"; }

echo "cluster benchmark: dockerd $(dockerd --version | sed 's/Docker version //; s/,.*//') ${ENGINE_DIR:+(ENGINE_DIR=$ENGINE_DIR)}${DOCKERD:+(DOCKERD=$DOCKERD)}"
up 2 "$@"
printf '%-42s %6d KiB\n' "memory, 2 hosts idle" "$("${cluster[@]}" mem "$id")"
down 2

up 3 "$@"
printf '%-42s %6d KiB\n' "memory, 3 hosts idle" "$("${cluster[@]}" mem "$id")"
peak_file=/tmp/cluster-bench-peak.$$
echo 0 >"$peak_file"
(
  while :; do
    m=$("${cluster[@]}" mem "$id" 2>/dev/null || echo 0)
    [ "$m" -gt "$(cat "$peak_file")" ] && echo "$m" >"$peak_file"
    sleep 0.5
  done
) &
sampler=$!

dk 2 network create -d bridge --subnet 10.254.0.0/16 refnet >/dev/null
overlay=()
bridge=()
for i in $(seq 1 "$connects"); do
  dk 2 run -d --name "o$i" "$image" sleep 3600 >/dev/null
  t=$EPOCHREALTIME
  dk 2 network connect --ip "10.255.1.$i" wnet "o$i"
  overlay+=("$(ms_since "$t")")
  dk 2 run -d --name "b$i" "$image" sleep 3600 >/dev/null
  t=$EPOCHREALTIME
  dk 2 network connect --ip "10.254.1.$i" refnet "b$i"
  bridge+=("$(ms_since "$t")")
done
printf '%-42s %s\n' "connect --ip, overlay, on a worker" "$(printf '%s\n' "${overlay[@]}" | stats)"
printf '%-42s %s\n' "connect --ip, local bridge (reference)" "$(printf '%s\n' "${bridge[@]}" | stats)"

dk 3 run -d --name peer "$image" sleep 3600 >/dev/null
dk 3 network connect --ip 10.255.2.1 wnet peer
printf '%-42s %s\n' "ping host 2 -> host 3, overlay" \
  "$(dk 2 exec o1 ping -c "$pings" -i 0.2 -W 2 10.255.2.1 | rtt)"
printf '%-42s %s\n' "ping on one host, bridge (reference)" \
  "$(dk 2 exec b1 ping -c "$pings" -i 0.2 -W 2 10.254.1.2 | rtt)"

kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=""
printf '%-42s %6d KiB   (%d containers)\n' "memory, 3 hosts, peak" "$(cat "$peak_file")" $((2 * connects + 1))
rm -f "$peak_file"
down 3
