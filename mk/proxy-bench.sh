#!/usr/bin/env bash
# The proxy's overhead, measured with the real docker CLI and daemon:
#  1. `docker run --rm app true`, direct vs through the proxy, in pairs (alternating which
#     goes first), median of each and the ratio of medians;
#  2. `GET /_ping` throughput over kept-alive connections, direct vs through the proxy.
# usage: proxy-bench.sh POWERSTRIP_WEAVE_BIN PING_LOAD_BIN   (env RUNS, PING_SECONDS, PING_CONNECTIONS)
set -euo pipefail
bin=${1:?usage: proxy-bench.sh POWERSTRIP_WEAVE_BIN PING_LOAD_BIN}
load=${2:?usage: proxy-bench.sh POWERSTRIP_WEAVE_BIN PING_LOAD_BIN}
runs=${RUNS:-10}
ping_secs=${PING_SECONDS:-3}
ping_conns=${PING_CONNECTIONS:-4}
docker_sock=/var/run/docker.sock
case "${DOCKER_HOST:-}" in unix://*) docker_sock=${DOCKER_HOST#unix://} ;; esac
image=pw-bench-app:latest

dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# The app: a static busybox imported as an image (no registry needed).
if ! docker image inspect "$image" >/dev/null 2>&1; then
  mkdir -p "$dir/root/bin"
  cp /bin/busybox "$dir/root/bin/busybox"
  ln -s busybox "$dir/root/bin/true"
  ln -s busybox "$dir/root/bin/sh"
  tar -C "$dir/root" -cf "$dir/app.tar" .
  timeout 60 docker import -c 'CMD ["/bin/sh"]' "$dir/app.tar" "$image" >/dev/null
fi

sock=$dir/proxy.sock
"$bin" proxy --listen "unix://$sock" --docker "unix://$docker_sock" --no-events >"$dir/proxy.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { echo "bench-proxy: the proxy did not start:"; cat "$dir/proxy.log"; exit 1; }

now_ns() { date +%s%N; }
run_once() { # DOCKER_HOST value → elapsed ms
  local t0 t1
  t0=$(now_ns)
  DOCKER_HOST=$1 timeout 60 docker run --rm "$image" true
  t1=$(now_ns)
  echo $(( (t1 - t0) / 1000000 ))
}
direct=unix://$docker_sock
proxied=unix://$sock
run_once "$direct" >/dev/null
run_once "$proxied" >/dev/null
: >"$dir/direct" ; : >"$dir/proxy"
for i in $(seq 1 "$runs"); do
  if [ $((i % 2)) -eq 1 ]; then
    run_once "$direct" >>"$dir/direct"; run_once "$proxied" >>"$dir/proxy"
  else
    run_once "$proxied" >>"$dir/proxy"; run_once "$direct" >>"$dir/direct"
  fi
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
md=$(median "$dir/direct"); mp=$(median "$dir/proxy")
paste "$dir/direct" "$dir/proxy" | awk '{printf "%.6f\n", $2/$1}' >"$dir/pairs"
echo "bench-proxy: docker run --rm $image true, $runs paired runs:"
echo "  direct median ${md} ms, through the proxy median ${mp} ms, ratio of medians $(awk -v a="$mp" -v b="$md" 'BEGIN{printf "%.3f", a/b}'), median pair ratio $(printf '%.3f' "$(median "$dir/pairs")")"

echo "bench-proxy: GET /_ping, $ping_conns kept-alive connections for $ping_secs s:"
d=$("$load" "$docker_sock" "$ping_secs" "$ping_conns")
p=$("$load" "$sock" "$ping_secs" "$ping_conns")
echo "  direct:            $d"
echo "  through the proxy: $p"
rd=$(echo "$d" | sed -n 's/.*= \([0-9]*\) req\/s.*/\1/p'); rp=$(echo "$p" | sed -n 's/.*= \([0-9]*\) req\/s.*/\1/p')
echo "  throughput ratio (proxy / direct): $(awk -v a="$rp" -v b="$rd" 'BEGIN{printf "%.3f", a/b}')"
