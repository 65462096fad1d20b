#!/usr/bin/env bash
# Runs vigil's hand-written CUDA kernels on the CPU (no GPU, no CUDA toolkit): configures a VIGIL_CUDA_EMULATION
# build, builds the kernel test executables and runs only their `/cuda` instances, once per thread schedule, then
# prints a summary (docs/CUDA-EMULATION.md). A test that passes under one schedule and fails under another is a race.
# usage: scripts/cuda-emulation.sh [OP...]        (default: every tests/kernels/<op>_test.cpp)
# environment:
#   VIGIL_EMU_SCHEDULES  schedules to run, default "forward reverse"; e.g. "forward reverse random:$RANDOM"
#   VIGIL_EMU_SANITIZE=1 build with clang + AddressSanitizer + UndefinedBehaviorSanitizer (default build dir
#                        build-emu-san): the emulator's exact-size allocations let ASan see every device overrun
#   VIGIL_EMU_BUILD      build directory (default build-emu, or build-emu-san)
#   VIGIL_JOBS           build parallelism (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

SAN=${VIGIL_EMU_SANITIZE:-0}
if [ "$SAN" = 1 ]; then BUILD=${VIGIL_EMU_BUILD:-build-emu-san}; else BUILD=${VIGIL_EMU_BUILD:-build-emu}; fi
SCHEDULES=${VIGIL_EMU_SCHEDULES:-forward reverse}
JOBS=${VIGIL_JOBS:-2}

ops=("$@")
if [ ${#ops[@]} -eq 0 ]; then
  for f in tests/kernels/*_test.cpp; do
    f=${f##*/}
    ops+=("${f%_test.cpp}")
  done
fi

if [ ! -f "$BUILD/build.ninja" ]; then
  args=(-DCMAKE_BUILD_TYPE=Release -DVIGIL_CUDA_EMULATION=ON -DVIGIL_CUDA=OFF -DVIGIL_BUILD_TESTS=ON
        -DVIGIL_BUILD_BENCH=OFF)
  if [ "$SAN" = 1 ]; then
    export CC=clang CXX=clang++
    args+=(-DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
-gline-tables-only")
  fi
  cmake -S . -B "$BUILD" -G Ninja "${args[@]}" > "$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log"; exit 1; }
fi
targets=()
for op in "${ops[@]}"; do targets+=("test_$op"); done
if ! ninja -j "$JOBS" -C "$BUILD" "${targets[@]}" > "$BUILD/emu-build.log" 2>&1; then
  tail -n 60 "$BUILD/emu-build.log"
  echo "cuda-emulation: the build failed (log: $BUILD/emu-build.log)" >&2
  exit 1
fi

# Emulated CUDA must run, never skip: a skipped /cuda instance means the build or environment is wrong.
unset VIGIL_DISABLE_CUDA
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
LOGS="$BUILD/emu-logs"
mkdir -p "$LOGS"

count() {  # count <label> <log>: N from gtest's "[  LABEL ] N tests" summary line, else 0
  local n
  n=$(grep -E "^\[ +$1 +\] [0-9]+ tests?" "$2" | head -1 | sed -E 's/^\[[^]]*\] ([0-9]+).*/\1/')
  echo "${n:-0}"
}

status=0
summary=()
total_passed=0
total_failed=0
for sched in $SCHEDULES; do
  for op in "${ops[@]}"; do
    log="$LOGS/$op.${sched//:/-}.log"
    start=$(date +%s.%N)
    rc=0
    VIGIL_EMU_SCHEDULE="$sched" "$BUILD/tests/test_$op" --gtest_filter='*/cuda' > "$log" 2>&1 || rc=$?
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    passed=$(count PASSED "$log")
    failed=$(count FAILED "$log")
    skipped=$(count SKIPPED "$log")
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    verdict=ok
    if [ "$rc" != 0 ] || [ "$failed" != 0 ] || [ "$skipped" != 0 ] || [ "$passed" = 0 ]; then
      verdict=FAIL
      status=1
      echo "== $op under $sched: FAILED (exit $rc; log $log)"
      grep -E "Failure|FAILED|SKIPPED|CUDA emulation|ERROR: AddressSanitizer|runtime error" "$log" | head -20 || true
    fi
    summary+=("$(printf '%-12s %-14s %-4s %3s passed %3s failed %3s skipped %8ss' "$op" "$sched" "$verdict" \
      "$passed" "$failed" "$skipped" "$secs")")
  done
done

echo "== CUDA emulation: /cuda test instances ($BUILD, schedules: $SCHEDULES)"
printf '%s\n' "${summary[@]}"
if [ "$status" = 0 ]; then echo "== all passed"; else echo "== FAILURES (logs in $LOGS)"; fi
echo "cuda-emulation: $total_passed passed, $total_failed failed"
exit "$status"
