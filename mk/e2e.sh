#!/usr/bin/env bash
# The end-to-end tests (crate e2e) against Docker Engines, one after the other:
#   mk/e2e.sh ENGINE[=TESTS] ...
# ENGINE is `system`, the daemon that DOCKER_HOST (else /var/run/docker.sock) names, or an
# engine of mk/engines.sh (20.10, 26.1, 28.5), started for the run in a network namespace
# of its own, with its own docker CLI, and stopped afterwards; the multi-host tests'
# simulated hosts (mk/cluster.sh) then run it too (ENGINE_DIR). TESTS, when given, is a
# comma-separated list of test binaries (waiter,adapter,proxy,images,cluster); default all.
# Every line of a run starts with `[engine X.Y]`, so a failure names the engine it failed
# on; each engine's wall time follows its run, and the end lists the engines that failed
# and the total. An engine that cannot be fetched or started here (not root, no route to
# Debian's archive) is skipped with a `SKIP:` line, or fails under CI=true, as the tests
# treat a missing prerequisite. Expects the tests built
# (`cargo test -p e2e --no-run`): an engine's namespace has no network to fetch crates with.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: mk/e2e.sh ENGINE[=TESTS] ..." >&2; exit 2; }

# One engine's run: a line naming the daemon, then the tests. Runs where DOCKER_HOST and
# PATH already point at the engine.
if [ "${1:-}" = --here ]; then
  shift
  echo "daemon: $(docker version --format 'Engine {{.Server.Version}} (API {{.Server.APIVersion}}, minimum {{.Server.MinAPIVersion}}), docker CLI {{.Client.Version}}') at ${DOCKER_HOST:-unix:///var/run/docker.sock}"
  exec cargo test -p e2e --no-fail-fast "$@"
fi

failed=() passed=() skipped=()
for spec in "$@"; do
  engine=${spec%%=*} args=()
  if [ "$spec" != "$engine" ]; then
    IFS=, read -ra tests <<<"${spec#*=}"
    for t in "${tests[@]}"; do args+=(--test "$t"); done
  fi
  if [ "$engine" = system ]; then
    label=$(timeout 20 docker version --format '{{.Server.Version}}' 2>/dev/null) ||
      { echo "e2e: no Docker daemon answers (docker version)"; failed+=(system); continue; }
    label=$(cut -d. -f1,2 <<<"$label")
    run=(bash mk/e2e.sh --here "${args[@]}")
  else
    label=$engine
    if [ "$(id -u)" != 0 ] || ! bin=$(mk/engines.sh fetch "$engine"); then
      if [ "${CI:-}" = true ]; then
        echo "e2e: Engine $engine cannot be fetched or started here (root, deb.debian.org)"
        failed+=("$engine")
      else
        echo "SKIP: Engine $engine cannot be fetched or started here (root, deb.debian.org)"
        skipped+=("$engine")
      fi
      continue
    fi
    # ENGINE_DIR: the multi-host tests' simulated hosts run this engine too.
    run=(mk/engines.sh run "$engine" -- env ENGINE_DIR="$bin" bash mk/e2e.sh --here "${args[@]}")
  fi
  echo "e2e: Engine $label ($engine): ${args[*]:-all test binaries}"
  status=0 start=$SECONDS
  # sed ignores Ctrl-C, so the engine's clean-up still gets its lines through.
  "${run[@]}" 2>&1 | (trap '' INT; exec sed -u "s/^/[engine $label] /") || status=$?
  took="$label in $((SECONDS - start)) s"
  if [ "$status" = 0 ]; then passed+=("$took"); else failed+=("$took"); fi
  echo "e2e: Engine $label: $([ "$status" = 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s"
done
join() { local IFS=,; echo "${*:-none}"; }
echo "e2e: passed on engine(s): $(join "${passed[@]}")${skipped:+; skipped: ${skipped[*]}}; all engines: $SECONDS s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "e2e: FAILED on engine(s): $(join "${failed[@]}")"
  exit 1
fi
