#!/usr/bin/env bash
# Runs every op benchmark (bench/*_bench: CPU backends, and GPU ones when a GPU is usable) and, when Debian's
# python3-torch is installed, the same ops in PyTorch in the same run; prints a side-by-side ratio table.
# Output files: ${BENCH_OUT:-build/bench-results}/{vigil,torch}.jsonl
set -uo pipefail
# Spinning OpenMP threads distort timings on small shared machines; vigil itself defaults to PASSIVE too.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
cd "$(dirname "$0")/.."
BUILD=${VIGIL_BUILD_DIR:-build}
OUTDIR=${BENCH_OUT:-$BUILD/bench-results}
mkdir -p "$OUTDIR"
: > "$OUTDIR/vigil.jsonl"
: > "$OUTDIR/torch.jsonl"
for b in "$BUILD"/bench/*_bench; do
  [ -x "$b" ] || continue
  echo "running $(basename "$b")" >&2
  "$b" >> "$OUTDIR/vigil.jsonl" 2>/dev/null || echo "$(basename "$b") failed" >&2
done
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  for p in bench/torch/*.py; do
    [ "$(basename "$p")" = timing.py ] && continue
    echo "running PyTorch $(basename "$p")" >&2
    /usr/bin/python3 "$p" >> "$OUTDIR/torch.jsonl" 2>/dev/null || echo "$p failed" >&2
  done
  python3 scripts/bench_compare.py "$OUTDIR/vigil.jsonl" "$OUTDIR/torch.jsonl"
else
  echo "PyTorch not installed (apt-get install python3-torch): vigil numbers only, in $OUTDIR/vigil.jsonl" >&2
  cat "$OUTDIR/vigil.jsonl"
fi
