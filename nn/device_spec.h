// Where a tensor lives (cpu or cuda:N) and how a user's --device choice (cpu | cuda[:N] | auto) resolves.
#pragma once
#include <ostream>
#include <string>

namespace vigil {

struct Device {
  enum class Kind { Cpu, Cuda };
  Kind kind = Kind::Cpu;
  int index = 0;

  static Device cpu() { return Device{}; }
  static Device cuda(int i = 0) { return Device{Kind::Cuda, i}; }
  bool is_cuda() const { return kind == Kind::Cuda; }
  bool operator==(const Device& o) const { return kind == o.kind && (kind == Kind::Cpu || index == o.index); }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;  // "cpu", "cuda:0"
};

// Parses "cpu", "cuda", "cuda:N" or "auto". "auto" picks cuda:0 when a usable GPU exists and otherwise cpu,
// writing one line to `note` (if given) that says why. "cuda" without a usable GPU is an error naming the reason.
Device resolve_device(const std::string& spec, std::ostream* note = nullptr);

}  // namespace vigil
