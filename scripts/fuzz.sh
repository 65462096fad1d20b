#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, AddressSanitizer and UndefinedBehaviorSanitizer into
# ${VIGIL_SAN_BUILD:-build-san} (scripts/sanitized-build.sh), writes their seed corpora (scripts/fuzz_seeds.py) and runs each target for
# SECONDS (default 60) with a 2 GiB RSS cap, a 10 s per-input time-out and leak checks. New inputs go to the
# corpus folder build-san/corpus/<target>; a crash, hang, leak or sanitizer report stops that target, leaves its
# input as build-san/artifacts/<target>-crash-* and makes the script exit non-zero after the others have run.
# Prints one line per target: executions, execs/s, coverage (libFuzzer's "cov" edges), corpus size.
# VIGIL_FUZZ_RUNS=N stops each target after N executions instead (SECONDS is then only an upper bound).
# usage: scripts/fuzz.sh [SECONDS] [TARGET...]     (targets: decode safetensors csv model; default all)
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
shift || true
BUILD=${VIGIL_SAN_BUILD:-build-san}
VIGIL_SAN_BUILD="$BUILD" bash scripts/sanitized-build.sh fuzzers vigil || exit 1
/usr/bin/python3 scripts/fuzz_seeds.py "$BUILD/seeds" --vigil "$BUILD/infer/vigil" >/dev/null || exit 1
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(decode safetensors csv model)
mkdir -p "$BUILD/artifacts" "$BUILD/logs"
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$BUILD/corpus/$t"
  log="$BUILD/logs/$t.log"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$BUILD/tests/fuzz/fuzz_$t" "$BUILD/corpus/$t" "$BUILD/seeds/$t" -max_total_time="$SECONDS_PER_TARGET" \
    ${VIGIL_FUZZ_RUNS:+-runs=$VIGIL_FUZZ_RUNS} \
    -rss_limit_mb=2048 -timeout=10 -max_len=262144 -print_final_stats=1 \
    -artifact_prefix="$BUILD/artifacts/$t-" > "$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  files=$(ls "$BUILD/corpus/$t" | wc -l)
  if [ $rc -ne 0 ]; then
    failed=1
    echo "fuzz $t: FAILED (exit $rc) after ${execs:-?} executions; see $log and $BUILD/artifacts/"
    grep -m3 -E "ERROR|runtime error|Timeout|out-of-memory|leak" "$log"
  else
    echo "fuzz $t: ${execs:-?} executions, ${rate:-?}/s, coverage ${cov:-?} edges, corpus $files files, 0 crashes"
  fi
done
exit $failed
