// Implementation of `vigil info`.
#include "infer/info.h"

#include <iomanip>
#include <sstream>
#include <thread>

#include "common/backend.h"
#include "common/blas.h"
#include "common/device.h"
#include "common/parallel.h"

namespace vigil::cli {

int run_info(std::ostream& out) {
  auto row = [&](const char* k, const std::string& v) { out << "  " << std::left << std::setw(16) << k << v << "\n"; };
  out << "vigil " << VIGIL_VERSION << "\n";
  out << "build:\n";
  row("CUDA", built_with_cuda() ? "compiled in (runtime " + device::cuda_runtime_version() + ")" : "not compiled in");
  row("cuDNN", built_with_cudnn() ? "compiled in (" + device::cudnn_version() + ")" : "not compiled in");
  row("cuBLAS", built_with_cuda() ? device::cublas_version() : "not compiled in");
  row("CPU BLAS", cpu::blas_name());
  row("OpenMP", cpu::built_with_openmp() ? "yes" : "no");
  out << "machine:\n";
  row("CPU threads", std::to_string(cpu::num_threads()) + " used, " +
                         std::to_string(std::thread::hardware_concurrency()) + " hardware");
  const std::string driver = device::cuda_driver_version();
  row("CUDA driver", driver.empty() ? "none" : driver);
  const std::string why = cuda_unavailable_reason();
  if (!why.empty()) {
    row("GPUs", "none (" + why + ")");
  } else {
    for (const auto& d : device::devices()) {
      std::ostringstream s;
      s << "cuda:" << d.index << " " << d.name << ", sm_" << d.cc_major << d.cc_minor << ", "
        << std::fixed << std::setprecision(1) << d.total_memory / double(1 << 30) << " GiB, " << d.multiprocessors
        << " SMs";
      row("GPU", s.str());
    }
    const std::string dnn = cudnn_unavailable_reason();
    row("cuDNN status", dnn.empty() ? "usable" : dnn);
  }
  row("default device", why.empty() ? "cuda:0" : "cpu");
  return 0;
}

}  // namespace vigil::cli
