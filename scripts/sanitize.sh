#!/usr/bin/env bash
# The CPU test suite under AddressSanitizer + UndefinedBehaviorSanitizer (clang; scripts/sanitized-build.sh):
# any memory error, leak or undefined behaviour fails the test that caused it. Tests whose measurement ASan
# changes skip themselves with the reason (tests/support/sanitizers.h) and run in the Release pass.
# Prints ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${VIGIL_SAN_BUILD:-build-san}
VIGIL_SAN_BUILD="$BUILD" bash scripts/sanitized-build.sh
cd "$BUILD"
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --output-on-failure -j "${VIGIL_JOBS:-$(nproc)}" --timeout 1800
