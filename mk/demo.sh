#!/usr/bin/env bash
# The product's main job, end to end, with the vanilla docker CLI:
#   weavewait volume container + `powerstrip-weave proxy` (native bridge backend), then
#   DOCKER_HOST=unix:///… docker run -e WEAVE_CIDR=… weavewait-example
# as the original walkthrough did with powerstrip. Prints what it saw; cleans up what it
# created (also on failure). Expects the images loaded (`make load`).
# usage: demo.sh POWERSTRIP_WEAVE_BIN VERSION
#   env: DEMO_BRIDGE (pwdemo0), DEMO_VOLUME (weavewait), DEMO_CIDR (10.255.0.51/24),
#        DEMO_WAITER (/home/weavewait/wait-for-weave)
set -euo pipefail
bin=${1:?usage: demo.sh POWERSTRIP_WEAVE_BIN VERSION}
version=${2:?usage: demo.sh POWERSTRIP_WEAVE_BIN VERSION}
bridge=${DEMO_BRIDGE:-pwdemo0}
volume=${DEMO_VOLUME:-weavewait}
waiter=${DEMO_WAITER:-/home/weavewait/wait-for-weave}
cidr=${DEMO_CIDR:-10.255.0.51/24}
server_cidr=${DEMO_SERVER_CIDR:-10.255.0.1/24}
example=weavewait-example:$version
server=pw-demo-server-$$

timeout 20 docker info >/dev/null 2>&1 || { echo "demo: no Docker daemon answers (start dockerd)"; exit 1; }
[ -x "$bin" ] || { echo "demo: $bin is missing (make static)"; exit 1; }

dir=$(mktemp -d)
sock=$dir/docker.sock
pid=
made_volume=no
made_bridge=no
cleanup() {
  local rc=$?
  echo "demo: cleaning up"
  DOCKER_HOST= timeout 30 docker rm -f -v "$server" >/dev/null 2>&1 || true
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  [ "$made_volume" = yes ] && DOCKER_HOST= timeout 30 docker rm -f -v "$volume" >/dev/null 2>&1 || true
  [ "$made_bridge" = yes ] && ip link del "$bridge" 2>/dev/null || true
  rm -rf "$dir"
  exit $rc
}
trap cleanup EXIT

say() { printf '\n$ %s\n' "$*"; }

if ! timeout 20 docker inspect --type container "$volume" >/dev/null 2>&1; then
  say docker create --name "$volume" "weavewait:$version"
  timeout 30 docker create --name "$volume" "weavewait:$version"
  made_volume=yes
fi
ip link show "$bridge" >/dev/null 2>&1 || made_bridge=yes

say "$bin" proxy --listen "unix://$sock" --attach bridge --bridge "$bridge" --volume-container "$volume" --waiter "$waiter" --no-firewall
"$bin" proxy --listen "unix://$sock" --attach bridge --bridge "$bridge" \
  --volume-container "$volume" --waiter "$waiter" --no-firewall >"$dir/proxy.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { echo "demo: the proxy did not start:"; cat "$dir/proxy.log"; exit 1; }

export DOCKER_HOST=unix://$sock
say export DOCKER_HOST="$DOCKER_HOST"

say docker run -d --name "$server" -e WEAVE_CIDR="$server_cidr" "$example"
timeout 60 docker run -d --name "$server" -e WEAVE_CIDR="$server_cidr" "$example"
say docker wait "$server"
timeout 60 docker wait "$server"
say docker logs "$server"
server_out=$(timeout 60 docker logs "$server")
echo "$server_out"

say docker run --rm -e WEAVE_CIDR="$cidr" "$example"
out=$(timeout 60 docker run --rm -e WEAVE_CIDR="$cidr" "$example")
echo "$out"

echo
if grep -q "ethwe inet $cidr" <<<"$out" && grep -q "^waited " <<<"$out" \
   && grep -q "ethwe inet $server_cidr" <<<"$server_out"; then
  echo "demo: OK: each container started its app only once ethwe carried its WEAVE_CIDR address"
else
  echo "demo: FAILED: the example did not report its ethwe address; proxy log:"
  cat "$dir/proxy.log"
  exit 1
fi
