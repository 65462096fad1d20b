// Device names and --device resolution.
#include "nn/device_spec.h"

#include "common/backend.h"
#include "common/device.h"
#include "common/error.h"

namespace vigil {

std::string Device::str() const { return is_cuda() ? "cuda:" + std::to_string(index) : "cpu"; }

Device resolve_device(const std::string& spec, std::ostream* note) {
  if (spec == "cpu") return Device::cpu();
  if (spec == "auto") {
    const std::string why = cuda_unavailable_reason();
    if (why.empty()) return Device::cuda(0);
    if (note) *note << "vigil: using the CPU (" << why << ")\n";
    return Device::cpu();
  }
  if (spec.rfind("cuda", 0) == 0) {
    int index = 0;
    if (spec.size() > 4) {
      VIGIL_CHECK(spec[4] == ':' && spec.size() > 5, "bad --device '", spec, "' (expected cpu, cuda, cuda:N or auto)");
      try {
        size_t used = 0;
        index = std::stoi(spec.substr(5), &used);
        VIGIL_CHECK(used == spec.size() - 5 && index >= 0, "bad device index in '", spec, "'");
      } catch (const std::logic_error&) {
        VIGIL_FAIL("bad device index in '", spec, "'");
      }
    }
    const std::string why = cuda_unavailable_reason();
    VIGIL_CHECK(why.empty(), "--device ", spec, " requested but CUDA is not usable: ", why);
    VIGIL_CHECK(index < device::device_count(), "--device ", spec, ": only ", device::device_count(), " GPU(s) present");
    return Device::cuda(index);
  }
  VIGIL_FAIL("bad --device '", spec, "' (expected cpu, cuda, cuda:N or auto)");
}

}  // namespace vigil
