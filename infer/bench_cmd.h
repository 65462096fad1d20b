// `vigil bench`: model-only and end-to-end inference throughput and latency of a model file or definition on this
// machine (hardware named), optionally beside the same model in PyTorch.
#pragma once

namespace vigil::cli {
int run_bench(int argc, char** argv);
}  // namespace vigil::cli
