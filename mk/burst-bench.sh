#!/usr/bin/env bash
# A burst: N containers started at once (N `docker run --rm` processes in parallel), each
# with a WEAVE_CIDR address of its own, whose app prints what its first instruction sees
# on ethwe. The same burst straight at the daemon (same image, command and environment:
# no rewrite, no attach) is the reference; rounds alternate which goes first. Prints each
# round's wall times and their ratio, how many apps saw their address, and the proxy's
# resident set (VmRSS idle, VmHWM peak after the bursts).
# usage: burst-bench.sh POWERSTRIP_WEAVE_BIN WEAVEWAIT_TAR BUSYBOX_TAR   (env BURST, ROUNDS)
set -euo pipefail
bin=${1:?usage: burst-bench.sh POWERSTRIP_WEAVE_BIN WEAVEWAIT_TAR BUSYBOX_TAR}
weavewait_tar=${2:?usage: burst-bench.sh POWERSTRIP_WEAVE_BIN WEAVEWAIT_TAR BUSYBOX_TAR}
busybox_tar=${3:?usage: burst-bench.sh POWERSTRIP_WEAVE_BIN WEAVEWAIT_TAR BUSYBOX_TAR}
n=${BURST:-100}
rounds=${ROUNDS:-2}
((n >= 1 && n <= 250)) || { echo "bench-burst: BURST=$n: give 1 to 250"; exit 2; }
docker_sock=/var/run/docker.sock
case "${DOCKER_HOST:-}" in unix://*) docker_sock=${DOCKER_HOST#unix://} ;; esac
direct=unix://$docker_sock

# Everything of this run carries its tag: containers by name, the proxy's attaches by
# label, and a bridge and volume container of its own, so a shared daemon is safe.
tag=pw-burst-$$
label=pw.bench=$tag
bridge=pwbb$(($$ % 100000))
volume=$tag-weavewait
# Another spelling of the default waiter: followers of other proxies on the same daemon
# leave these containers alone.
waiter=/home/weavewait/./wait-for-weave
dir=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  local left
  left=$(timeout 60 docker -H "$direct" ps -aq --filter "name=$tag" 2>/dev/null || true)
  # shellcheck disable=SC2086
  [ -z "$left" ] || timeout 120 docker -H "$direct" rm -f $left >/dev/null 2>&1 || true
  timeout 60 docker -H "$direct" rm -f -v "$volume" >/dev/null 2>&1 || true
  ip link del "$bridge" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

loaded() { timeout 120 docker -H "$direct" load -i "$1" | sed -n 's/^Loaded image: //p' | tail -1; }
weavewait=$(loaded "$weavewait_tar")
busybox=$(loaded "$busybox_tar")
[ -n "$weavewait" ] && [ -n "$busybox" ] || { echo "bench-burst: docker load named no image"; exit 1; }

sock=$dir/proxy.sock
"$bin" proxy --listen "unix://$sock" --docker "$direct" --attach bridge --bridge "$bridge" \
  --no-firewall --volume-container "$volume" --image "$weavewait" --label "$label" \
  --waiter "$waiter" >"$dir/proxy.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { echo "bench-burst: the proxy did not start:"; cat "$dir/proxy.log"; exit 1; }
proxied=unix://$sock

app='echo "RUN $WEAVE_CIDR $(ip -4 -o addr show ethwe 2>/dev/null | grep -c "inet $WEAVE_CIDR ")"'
cidr() { echo "10.255.1.$(($1 + 1))/16"; }
now_ns() { date +%s%N; }

# burst HOST NAME → wall ms on stdout; run i's stdout in $dir/NAME.<i>, its stderr in
# $dir/NAME.<i>.err, its exit status in $dir/NAME.<i>.rc
burst() {
  local host=$1 name=$2 t0 t1 i pids=()
  t0=$(now_ns)
  for ((i = 0; i < n; i++)); do
    (
      rc=0
      DOCKER_HOST=$host timeout -k 5 300 docker run --rm --name "$tag-$name-$i" --label "$label" \
        -e "WEAVE_CIDR=$(cidr "$i")" "$busybox" sh -c "$app" >"$dir/$name.$i" 2>"$dir/$name.$i.err" || rc=$?
      echo "$rc" >"$dir/$name.$i.rc"
    ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  t1=$(now_ns)
  echo $(((t1 - t0) / 1000000))
}

# saw NAME → how many apps printed their own address, seen once on ethwe
saw() {
  local i c=0
  for ((i = 0; i < n; i++)); do
    [ "$(cat "$dir/$1.$i")" = "RUN $(cidr "$i") 1" ] && c=$((c + 1))
  done
  echo "$c"
}

# failed NAME → how many `docker run`s exited non-zero
failed() { cat "$dir/$1".*.rc | grep -cvx 0 || true; }

rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
idle=$(rss VmRSS)
echo "bench-burst: $n containers at once (docker run --rm, distinct WEAVE_CIDR), $rounds round(s):"
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then
    d=$(burst "$direct" "d$r"); p=$(burst "$proxied" "p$r")
  else
    p=$(burst "$proxied" "p$r"); d=$(burst "$direct" "d$r")
  fi
  printf '  round %d: direct %6.2f s   through the proxy %6.2f s   ratio %.3f   apps that saw their address: direct %d/%d, proxy %d/%d   failed runs: direct %d, proxy %d\n' \
    "$r" "$(awk -v v="$d" 'BEGIN{print v/1000}')" "$(awk -v v="$p" 'BEGIN{print v/1000}')" \
    "$(awk -v a="$p" -v b="$d" 'BEGIN{print a/b}')" "$(saw "d$r")" "$n" "$(saw "p$r")" "$n" \
    "$(failed "d$r")" "$(failed "p$r")"
done
echo "  proxy resident set: ${idle} KiB idle before the bursts, peak (VmHWM) $(rss VmHWM) KiB"
# What the CLI said when a run through the proxy failed (the first five).
: >"$dir/errors"
for ((r = 1; r <= rounds; r++)); do
  for ((i = 0; i < n; i++)); do
    if [ "$(cat "$dir/p$r.$i.rc")" != 0 ]; then
      echo "  round $r, run $i ($(cidr "$i")): $(grep -m1 . "$dir/p$r.$i.err" || true)" >>"$dir/errors"
    fi
  done
done
head -5 "$dir/errors"
# The figures mean nothing if an app ran without its network: that fails the bench.
bad=$(for ((r = 1; r <= rounds; r++)); do saw "p$r"; done | awk -v n="$n" '$1 != n' | wc -l)
if [ "$bad" -ne 0 ]; then
  echo "bench-burst: through the proxy, some apps did not see their address; the proxy log ends:"
  tail -20 "$dir/proxy.log"
  exit 1
fi
