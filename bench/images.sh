#!/usr/bin/env bash
# bench-images: how long the image kit takes to build every image, how big each image is,
# and what the archive format costs. Usage: bench/images.sh IMAGE-KIT [KIT-OPTIONS...] SPEC...
# (`make bench-images` passes target/release/image-kit and every spec in IMAGES).
#
# Figures, read from the kit's own report:
#   build time   wall clock of one image-kit run building all specs (mean, min, max of RUNS)
#   archive      bytes of the archive file
#   files        bytes of the image's files, uncompressed (all platforms)
#   layers       bytes of the compressed layers (gzip -9)
#   compressed   layers / files: what gzip leaves of the files
#   format cost  archive - layers: tar headers and padding, index, manifests, configs;
#                what the layout itself costs on top of the compressed content
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
specs=$(grep -c '^[^ ]' "$out/report")
printf 'bench-images: build %d images: mean %d.%03d ms, min %d.%03d ms, max %d.%03d ms over %d runs\n' \
  "$specs" $((sum / RUNS / 1000)) $((sum / RUNS % 1000)) \
  $((sorted[0] / 1000)) $((sorted[0] % 1000)) \
  $((sorted[RUNS-1] / 1000)) $((sorted[RUNS-1] % 1000)) "$RUNS"
printf '%-20s %10s %10s %10s %10s %12s\n' image archive files layers compressed format-cost
# The report: "NAME ARCHIVE DIGEST TAG…", "  archive A bytes (…) = compressed layers L bytes (…) + …",
# "  files F bytes (…) …".
awk '/^[^ ]/ { name = $1 } /^  archive / { a = $2; l = $9 } /^  files / {
  printf "%-20s %10d %10d %10d %9.1f%% %12d\n", name, a, $2, l, 100 * l / $2, a - l }' "$out/report"
echo "(bytes; compressed = layers / files, format-cost = archive - compressed layers)"
