#!/usr/bin/env bash
# Runs the libFuzzer binary once per target, one after the other, and prints one row per
# target: executions, coverage as libFuzzer counts it (edges hit of all instrumented edges,
# features), corpus size and crashes. Exits 1 when any target crashed, naming the inputs.
#
# usage: fuzz-run.sh BIN OUT SECONDS RUNS TARGET...
#   BIN      the libFuzzer binary (FUZZ_TARGET picks the target)
#   OUT      work directory: OUT/corpus/<target> (inputs found, kept between runs),
#            OUT/artifacts/<target>/ (crash, timeout and oom inputs), OUT/logs/<target>.log
#   SECONDS  time per target; RUNS: executions per target ('' = no limit)
# Corpus directories: OUT/corpus/<target> first (libFuzzer adds new inputs to the first one
# only), then the committed fuzz/corpus/<target> and fuzz/regressions/<target>, never written.
set -euo pipefail
[ $# -ge 5 ] || { echo "usage: fuzz-run.sh BIN OUT SECONDS RUNS TARGET..." >&2; exit 2; }
bin=$1 out=$2 seconds=$3 runs=$4
shift 4

failed=()
rows=()
for t in "$@"; do
  if [ ! -d "fuzz/corpus/$t" ]; then
    echo "fuzz: no target $t: fuzz/corpus/$t/ does not exist" >&2
    exit 2
  fi
  work="$out/corpus/$t" artifacts="$out/artifacts/$t" log="$out/logs/$t.log"
  mkdir -p "$work" "$artifacts" "$out/logs"
  args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
        -artifact_prefix="$artifacts/")
  [ -n "$runs" ] && args+=(-runs="$runs")
  [ -f "fuzz/dict/$t.dict" ] && args+=(-dict="fuzz/dict/$t.dict")
  dirs=("$work" "fuzz/corpus/$t")
  [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")

  echo "fuzz: $t (${seconds} s${runs:+ or $runs runs}), log $log"
  before=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  rc=0
  FUZZ_TARGET="$t" "$bin" "${args[@]}" "${dirs[@]}" >"$log" 2>&1 || rc=$?

  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  status=$(grep -E '^#[0-9]+.* cov: ' "$log" | tail -1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$status")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$status")
  corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$status")
  edges=$(sed -nE 's/^INFO: Loaded 1 modules +\(([0-9]+) inline 8-bit counters\).*/\1/p' "$log" | head -1)
  after=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  crashes=$((after - before))
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    # libFuzzer failed without an input to blame (bad option, missing directory…).
    tail -5 "$log" >&2
    failed+=("$t: libFuzzer exited with status $rc, see $log")
    crashes="?"
  elif [ "$crashes" -gt 0 ]; then
    unit=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
    why=$(grep -m1 -A1 'panicked at' "$log" | tail -1 || true)
    failed+=("$t: $unit${why:+: $why}")
  fi
  rows+=("$(printf '%-16s %12s %9s %14s %9s %7s %8s' "$t" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}/${edges:-?}" "${ft:-?}" "${corp:-?}" "$crashes")")
done

echo
printf '%-16s %12s %9s %14s %9s %7s %8s\n' target executions exec/s "edges hit/all" features corpus crashes
printf '%s\n' "${rows[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo
  echo "fuzz: failures:"
  printf '  %s\n' "${failed[@]}"
  echo "fuzz: replay one with FUZZ_TARGET=<target> $bin <input>; once fixed, commit the input as"
  echo "      fuzz/regressions/<target>/<what it broke> so that cargo test replays it for ever."
  exit 1
fi
