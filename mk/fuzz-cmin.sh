#!/usr/bin/env bash
# Minimises the committed seed corpus of each target: keeps the seeds libFuzzer's merge
# needs to reach the coverage of all of them, removes the others. With ADD=1, then copies in
# the fewest inputs of OUT/corpus/<target> that reach every edge the kept seeds miss
# (libFuzzer's -set_cover_merge on edges alone: hit counts and comparison operands would
# keep thousands), so the committed corpus stays small. Seeds keep their names; new inputs
# are named by their SHA-1, as libFuzzer names them.
#
# usage: fuzz-cmin.sh BIN OUT ADD TARGET...
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: fuzz-cmin.sh BIN OUT ADD TARGET..." >&2; exit 2; }
bin=$1 out=$2 add=$3
shift 3
mkdir -p "$out/logs"

for t in "$@"; do
  seeds="fuzz/corpus/$t"
  [ -d "$seeds" ] || { echo "fuzz: no target $t" >&2; exit 2; }
  merged=$(mktemp -d)
  trap 'rm -rf "$merged"' EXIT
  FUZZ_TARGET="$t" "$bin" -merge=1 "$merged" "$seeds" >"$out/logs/$t-cmin.log" 2>&1
  kept=0 removed=0 added=0
  for f in "$seeds"/*; do
    sum=$(sha1sum "$f" | cut -d' ' -f1)
    if [ -e "$merged/$sum" ]; then
      rm "$merged/$sum"
      kept=$((kept + 1))
    else
      rm "$f"
      removed=$((removed + 1))
    fi
  done
  rm -rf "$merged"
  if [ "$add" = 1 ] && [ -d "$out/corpus/$t" ]; then
    # The kept seeds are the merge's starting corpus: only what they miss is added.
    mkdir "$merged"
    cp "$seeds"/* "$merged/"
    FUZZ_TARGET="$t" "$bin" -set_cover_merge=1 -use_counters=0 -use_cmp=0 "$merged" "$out/corpus/$t" \
      >>"$out/logs/$t-cmin.log" 2>&1
    for f in "$merged"/*; do
      [ -e "$seeds/$(basename "$f")" ] && continue
      mv "$f" "$seeds/"
      added=$((added + 1))
    done
    rm -rf "$merged"
  fi
  trap - EXIT
  echo "fuzz: $t: kept $kept seeds, removed $removed, added $added"
done
