#!/usr/bin/env bash
# How soon a peer reaches a restarted container again: a peer that only sends (its ARP cache
# warm) pings the target once a second (`ping -c1 -W1`, from the peer's network namespace)
# from the moment `docker restart` of the target returns, until an answer comes. Measured
# through the proxy with the bridge backend (its firewall rule on), side by side with
# Docker's own bridge network (which gives a container a MAC derived from its address).
# usage: reach-bench.sh POWERSTRIP_WEAVE_BIN WEAVEWAIT_IMAGE   (env RUNS)
set -euo pipefail
bin=${1:?usage: reach-bench.sh POWERSTRIP_WEAVE_BIN WEAVEWAIT_IMAGE}
waiter_image=${2:?usage: reach-bench.sh POWERSTRIP_WEAVE_BIN WEAVEWAIT_IMAGE}
runs=${RUNS:-5}
docker_sock=/var/run/docker.sock
case "${DOCKER_HOST:-}" in unix://*) docker_sock=${DOCKER_HOST#unix://} ;; esac
export DOCKER_HOST=unix://$docker_sock
image=pw-bench-reach:latest
run=pw-reach-$$
bridge=pwreach$$
bridge=${bridge:0:15}
label=pw.bench=$run

dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  docker ps -aq --filter "label=$label" | xargs -r timeout 60 docker rm -f -v >/dev/null 2>&1 || true
  timeout 60 docker rm -f -v "$run-ww" >/dev/null 2>&1 || true
  timeout 60 docker network rm "$run-net" >/dev/null 2>&1 || true
  ip link del "$bridge" 2>/dev/null || true
  iptables -w 5 -D FORWARD -i "$bridge" -o "$bridge" -j ACCEPT 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# The app: a static busybox imported as an image (no registry needed).
if ! docker image inspect "$image" >/dev/null 2>&1; then
  mkdir -p "$dir/root/bin"
  cp /bin/busybox "$dir/root/bin/busybox"
  for applet in sh sleep; do ln -s busybox "$dir/root/bin/$applet"; done
  tar -C "$dir/root" -cf "$dir/app.tar" .
  timeout 60 docker import -c 'CMD ["/bin/sh"]' "$dir/app.tar" "$image" >/dev/null
fi

now_ns() { date +%s%N; }
pid_of() { timeout 60 docker inspect -f '{{.State.Pid}}' "$1"; }
# ping once from the network namespace of process $1 to $2; true when answered within 1 s
ping_from() { nsenter -t "$1" -n /bin/busybox ping -c1 -W1 "$2" >/dev/null 2>&1; }

# measure HOST PEER TARGET TARGET_IP → "seconds attempts" from the restart's return to the
# first answered ping (bounded: 90 attempts)
measure() {
  local host=$1 peer t0 t1 n=1 target=$3 ip=$4
  peer=$(pid_of "$2")
  for _ in $(seq 1 30); do ping_from "$peer" "$ip" && break; sleep 0.2; done
  ping_from "$peer" "$ip" || { echo "bench-reach: $target never answered before the restart" >&2; exit 1; }
  DOCKER_HOST=$host timeout 60 docker restart -t 0 "$target" >/dev/null
  t0=$(now_ns)
  until ping_from "$peer" "$ip"; do
    n=$((n + 1))
    [ "$n" -le 90 ] || { echo "bench-reach: $target unreachable after 90 pings" >&2; exit 1; }
  done
  t1=$(now_ns)
  echo "$(( (t1 - t0) / 1000000 )) $n"
}

# The proxy, bridge backend, firewall rule on, scoped to this run. The waiter is spelled
# apart from the default so that other followers of this daemon leave its containers alone.
timeout 60 docker create --name "$run-ww" "$waiter_image" >/dev/null
sock=$dir/proxy.sock
"$bin" proxy --listen "unix://$sock" --docker "unix://$docker_sock" --no-events \
  --bridge "$bridge" --volume-container "$run-ww" --label "$label" \
  --waiter /home/weavewait/./wait-for-weave >"$dir/proxy.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { echo "bench-reach: the proxy did not start:"; cat "$dir/proxy.log"; exit 1; }
proxied=unix://$sock
for n in 1 2; do
  DOCKER_HOST=$proxied timeout 60 docker run -d --name "$run-p$n" --label "$label" \
    -e WEAVE_CIDR=10.76.0.$n/24 "$image" sleep 3600 >/dev/null
done

# The reference: Docker's own bridge network.
timeout 60 docker network create --subnet 10.75.0.0/24 --label "$label" "$run-net" >/dev/null
for n in 1 2; do
  timeout 60 docker run -d --name "$run-d$n" --label "$label" --network "$run-net" \
    --ip 10.75.0.$((n + 1)) "$image" sleep 3600 >/dev/null
done

: >"$dir/proxy.ms"; : >"$dir/docker.ms"
for _ in $(seq 1 "$runs"); do
  measure "$proxied" "$run-p1" "$run-p2" 10.76.0.2 >>"$dir/proxy.ms"
  measure "unix://$docker_sock" "$run-d1" "$run-d2" 10.75.0.3 >>"$dir/docker.ms"
done

summary() { # file → "median X s, max Y s, pings to the first answer: a b c"
  local ms
  ms=$(cut -d' ' -f1 "$1" | sort -n)
  printf 'median %.3f s, max %.3f s, pings to the first answer: %s\n' \
    "$(echo "$ms" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]/1000}')" \
    "$(echo "$ms" | tail -1 | awk '{print $1/1000}')" \
    "$(cut -d' ' -f2 "$1" | tr '\n' ' ')"
}
echo "time for a peer to reach a container again after docker restart ($runs runs each):"
echo "  through the proxy, bridge backend:    $(summary "$dir/proxy.ms")"
echo "  Docker's own bridge network (reference): $(summary "$dir/docker.ms")"
