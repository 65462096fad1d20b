#!/usr/bin/env bash
# GPU verification in one go, for the lent GPU machine (device tool): build with CUDA + cuDNN for the GPU present,
# run the whole ctest (GPU instances must run, not skip), compute-sanitizer memcheck (and racecheck when time
# allows) on the kernel tests, then the benchmarks beside PyTorch. Everything goes to a log directory
# (${OUT:-bench/results}/gpu-<date>) with the date, GPU, commit and commands, to be committed under bench/results/.
#
# On the device machine there are no Debian dev packages: first, here, `../shared/tools/pack-deps .deps
# libgtest-dev nlohmann-json3-dev libstb-dev libopenblas-openmp-dev libopenblas0-openmp libwebp-dev libwebp7
# libwebpdemux2 libgif-dev libgif7 zlib1g-dev libcpp-httplib-dev libcpp-httplib0.11 libssl-dev libssl3 libbrotli-dev
# libbrotli1` (runtime packages listed explicitly: pack-deps copies only what is
# named), copy the Fashion-MNIST .gz files into .deps/fashion-mnist if the run should train, and pass `.deps` in
# carry. cuDNN there is the pip wheel nvidia-cudnn-cu13 (found via python3).
set -uo pipefail
cd "$(dirname "$0")/.."
STAMP=$(date -u +%Y%m%d-%H%M%S)
LOG=${OUT:-bench/results}/gpu-$STAMP
mkdir -p "$LOG"
BUILD=${VIGIL_BUILD_DIR:-build-gpu}
{
  echo "date: $(date -u)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown) $(git status --porcelain 2>/dev/null | wc -l) uncommitted"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  nvcc --version | tail -1
} | tee "$LOG/env.txt"

cmake_args=(-S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=native -DVIGIL_CUDA=ON)
[ -d .deps/usr ] && cmake_args+=(-DCMAKE_PREFIX_PATH="$PWD/.deps/usr" -DCMAKE_LIBRARY_PATH="$PWD/.deps/usr/lib/x86_64-linux-gnu")
# cuDNN from the pip wheel when the toolkit has none.
if ! ls /usr/local/cuda/include/cudnn.h >/dev/null 2>&1; then
  CUDNN_DIR=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null || true)
  [ -n "$CUDNN_DIR" ] && cmake_args+=(-DCUDNN_INCLUDE_DIR="$CUDNN_DIR/include" -DCUDNN_LIBRARY="$CUDNN_DIR/lib/libcudnn.so.9") \
    && export LD_LIBRARY_PATH="$CUDNN_DIR/lib:${LD_LIBRARY_PATH:-}"
fi
[ -d .deps/usr ] && export LD_LIBRARY_PATH="$PWD/.deps/usr/lib/x86_64-linux-gnu:$PWD/.deps/usr/lib/x86_64-linux-gnu/openblas-openmp:${LD_LIBRARY_PATH:-}"
echo "cmake ${cmake_args[*]}" >> "$LOG/env.txt"
cmake "${cmake_args[@]}" > "$LOG/configure.txt" 2>&1 || { tail -30 "$LOG/configure.txt"; exit 1; }
grep -- '-- vigil' "$LOG/configure.txt"
cmake --build "$BUILD" -j "$(nproc)" > "$LOG/build.txt" 2>&1 || { tail -40 "$LOG/build.txt"; exit 1; }
"$BUILD"/infer/vigil info | tee "$LOG/info.txt"

echo "== ctest"
(cd "$BUILD" && ctest -j 4 --timeout 900 --output-on-failure) > "$LOG/ctest.txt" 2>&1
tail -15 "$LOG/ctest.txt"
grep -c 'Skipped' "$LOG/ctest.txt" | sed 's/^/skipped instances: /'

echo "== compute-sanitizer memcheck on the kernel tests (GPU instances only)"
for t in "$BUILD"/tests/test_*; do
  name=$(basename "$t")
  [ "$name" = test_nn ] || [ "$name" = test_data ] || [ "$name" = test_common ] && continue
  timeout 300 compute-sanitizer --tool memcheck --error-exitcode 9 "$t" --gtest_filter='*cuda*:*cudnn*:*Cuda*:*Cudnn*' \
    > "$LOG/memcheck-$name.txt" 2>&1
  echo "$name memcheck exit $? ($(grep -c 'ERROR SUMMARY: 0 errors' "$LOG/memcheck-$name.txt") clean summaries)"
done
if [ "${VIGIL_RACECHECK:-1}" = 1 ]; then
  for t in "$BUILD"/tests/test_{softmax,pool2d,batchnorm,elementwise,gemm}; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    timeout 300 compute-sanitizer --tool racecheck --error-exitcode 9 "$t" --gtest_filter='*cuda*:*Cuda*' \
      > "$LOG/racecheck-$name.txt" 2>&1
    echo "$name racecheck exit $?"
  done
fi

echo "== benchmarks"
for b in "$BUILD"/bench/*_bench; do
  "$b" > "$LOG/$(basename "$b").jsonl" 2>&1 || echo "$(basename "$b") failed"
done
for p in bench/torch/*.py; do
  [ "$(basename "$p")" = timing.py ] && continue
  python3 "$p" > "$LOG/torch-$(basename "$p" .py).jsonl" 2>&1 || echo "$p failed"
done
echo "logs in $LOG"
