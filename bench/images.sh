#!/usr/bin/env bash
# bench-images: how long the image kit takes to build every image, and how many bytes the
# archive format adds. Usage: bench/images.sh IMAGE-KIT [KIT-OPTIONS...] SPEC...
# (`make bench-images` passes target/release/image-kit and every spec in IMAGES).
#
# Figures:
#   build time   wall clock of one image-kit run building all specs (mean and min of RUNS)
#   overhead     archive bytes - payload bytes (payload = the files' contents, all
#                platforms); negative when gzip saves more than tar + JSON cost
#   format cost  archive bytes - compressed layer bytes: tar headers, JSON documents,
#                padding: what the layout itself costs on top of the compressed content
set -euo pipefail
RUNS="${RUNS:-10}"
[ $# -ge 2 ] || { echo "usage: $0 IMAGE-KIT [OPTIONS...] SPEC..." >&2; exit 2; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

"$@" --out "$out/warm" >"$out/report"   # warm the page cache; keep its report
times=()
for _ in $(seq "$RUNS"); do
  start=$(date +%s%N)
  "$@" --out "$out/run" >/dev/null
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
sum=0; for t in "${times[@]}"; do sum=$((sum + t)); done
specs=$(wc -l <"$out/report")
printf 'bench-images: build %d images: mean %d.%03d ms, min %d.%03d ms, max %d.%03d ms over %d runs\n' \
  "$specs" $((sum / RUNS / 1000)) $((sum / RUNS % 1000)) \
  $((sorted[0] / 1000)) $((sorted[0] % 1000)) \
  $((sorted[RUNS-1] / 1000)) $((sorted[RUNS-1] % 1000)) "$RUNS"
printf '%-20s %10s %10s %10s %12s %12s\n' image archive payload layers overhead format-cost
while read -r name _path _digest _refs archive payload layers _overhead; do
  a=${archive#archive=}; p=${payload#payload=}; l=${layers#layers=}
  printf '%-20s %10d %10d %10d %12d %12d\n' "$name" "$a" "$p" "$l" $((a - p)) $((a - l))
done <"$out/report"
echo "(bytes; overhead = archive - payload, format-cost = archive - compressed layers)"
