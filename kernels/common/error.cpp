// Formats and throws vigil::Error.
#include "common/error.h"

namespace vigil {

void throw_error(const char* file, int line, const char* expr, const std::string& msg) {
  std::string where = std::string(file) + ":" + std::to_string(line) + ": ";
  std::string what = where;
  if (expr && *expr) what += std::string("check failed: ") + expr + (msg.empty() ? "" : ": ");
  what += msg;
  throw Error(what);
}

}  // namespace vigil
