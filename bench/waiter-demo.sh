#!/usr/bin/env bash
# demo-waiter: a container waits for ethwe, gets it attached from the host, then runs.
# Usage: bench/waiter-demo.sh target/images/weavewait.tar (as root, dockerd running;
# `make demo-waiter` builds the images first). Everything it makes has a unique name and
# is removed at the end, also on failure.
# DEMO_WAITER overrides the Entrypoint (default /home/weavewait/wait-for-weave);
# DEMO_DOCKER_HOST names the daemon (default Docker's standard socket).
set -euo pipefail
# The demo attaches ethwe itself, so it must talk to the daemon directly, not to whatever
# DOCKER_HOST names: a powerstrip-weave proxy there would attach the container first and
# the demo's own attach would fail on the existing ethwe.
if [ -n "${DEMO_DOCKER_HOST:-}" ]; then export DOCKER_HOST=$DEMO_DOCKER_HOST; else unset DOCKER_HOST; fi
# The waiter's path in the volume; another spelling of the same file keeps event followers
# that attach containers with the default Entrypoint away from the demo's container.
waiter=${DEMO_WAITER:-/home/weavewait/wait-for-weave}
archive=${1:?usage: $0 WEAVEWAIT-ARCHIVE}
kit=target/release/image-kit
id=$$
holder=pw-demo-weavewait-$id
app=pw-demo-app-$id
host=pwdemo$((id % 100000))
tmp=$(mktemp -d)
cleanup() {
  docker rm -f -v "$app" "$holder" >/dev/null 2>&1 || true
  ip link del "$host" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
say() { printf 'demo: %s\n' "$*"; }

weavewait=$(docker load -i "$archive" | sed -n 's/^Loaded image: //p' | tail -1)
"$kit" --out "$tmp" tests/images/busybox.toml >/dev/null
app_image=$(docker load -i "$tmp/pw-test-busybox.tar" | sed -n 's/^Loaded image: //p' | tail -1)
docker create --name "$holder" "$weavewait" >/dev/null
say "volume container $holder from $weavewait; app image $app_image"

say "docker run -d --volumes-from $holder:ro --entrypoint $waiter -e WEAVE_CIDR=10.255.0.51/24 $app_image -v sh -c '...'"
docker run -d --name "$app" --volumes-from "$holder:ro" \
  --entrypoint "$waiter" -e WEAVE_CIDR=10.255.0.51/24 \
  "$app_image" -v sh -c 'echo "app: running as PID $$, ethwe $(ip -o -4 addr show dev ethwe | awk "{print \$4}")"' >/dev/null
pid=$(docker inspect --format '{{.State.Pid}}' "$app")
sleep 1
say "after 1 s: running=$(docker inspect --format '{{.State.Running}}' "$app"), PID 1 is $(cat /proc/"$pid"/comm), app output so far: '$(docker logs "$app" 2>&1)'"

say "attaching ethwe from the host as weave does: veth $host, peer moved into pid $pid, renamed, addressed, up"
ip link add "$host" type veth peer name "${host}g"
ip link set "$host" up
ip link set "${host}g" netns "$pid"
nsenter -t "$pid" -n ip link set "${host}g" name ethwe
nsenter -t "$pid" -n ip addr add 10.255.0.51/24 dev ethwe
nsenter -t "$pid" -n ip link set ethwe up

status=$(timeout 20 docker wait "$app")
say "container exited with status $status; its output:"
docker logs "$app" 2>&1 | sed 's/^/  | /'
[ "$status" = 0 ]
