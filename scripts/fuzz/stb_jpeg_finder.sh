#!/usr/bin/env bash
# Reproduces the stb_image JPEG defect: builds stb_jpeg_finder.cpp with clang (ASan + UBSan) and runs cases
# 0..N-1 (default 3000), restarting after each report; reported inputs go to OUT/crashes. Stale heap contents are
# what stb's decoder reads, so ASan fills fresh allocations (FILL, default 190 = 0xBE; FILL=255 finds about ten times more) and reuses freed memory at once.
# usage: scripts/fuzz/stb_jpeg_finder.sh [N] [OUT]   (needs clang, libjpeg62-turbo-dev, libstb-dev)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${2:-/tmp/stb-jpeg-finder}
mkdir -p "$out/crashes" && cd "$out"
clang++ -std=c++17 -O1 -g -w -fsanitize=address,undefined -fno-sanitize-recover=undefined \
  "$here/stb_jpeg_finder.cpp" -ljpeg -o finder || exit 1
i=0; end=${1:-3000}; found=0
while [ $i -lt $end ]; do
  ASAN_OPTIONS=detect_leaks=0:quarantine_size_mb=0:max_malloc_fill_size=10000000:malloc_fill_byte=${FILL:-190} ./finder $i $((end - i)) 2> err.txt >/dev/null
  last=$(grep '^CASE' err.txt | tail -1 | cut -d' ' -f2)
  if grep -q "ERROR: AddressSanitizer\|runtime error\|SEGV" err.txt; then
    kind=$(grep -m1 -o "ERROR: AddressSanitizer: [a-z-]*\|runtime error: [a-z ]*" err.txt | head -1 | tr ' :' '__')
    cp current.jpg crashes/case_${last}_${kind}.jpg; found=$((found+1))
    i=$((last + 1))
  else
    break
  fi
done
echo "found $found inputs in $out/crashes"
