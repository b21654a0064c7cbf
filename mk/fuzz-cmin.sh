#!/usr/bin/env bash
# Minimises the committed seed corpus of each target: keeps the seeds libFuzzer's merge
# needs to reach the coverage of all of them (and of OUT/corpus/<target> when ADD=1, copying
# in the inputs found there that add coverage), removes the others. Seeds keep their names;
# new inputs are named by their SHA-1, as libFuzzer names them.
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
  dirs=("$seeds")
  [ "$add" = 1 ] && [ -d "$out/corpus/$t" ] && dirs+=("$out/corpus/$t")
  FUZZ_TARGET="$t" "$bin" -merge=1 "$merged" "${dirs[@]}" >"$out/logs/$t-cmin.log" 2>&1
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
  for f in "$merged"/*; do
    [ -e "$f" ] || continue
    mv "$f" "$seeds/"
    added=$((added + 1))
  done
  rm -rf "$merged"
  trap - EXIT
  echo "fuzz: $t: kept $kept seeds, removed $removed, added $added"
done
