// Formats and throws vigil::Error.
#include "common/error.h"

#include <filesystem>

namespace vigil {

void throw_error(const char* file, int line, const char* expr, const std::string& msg) {
  const std::string location = std::string(file) + ":" + std::to_string(line);
  std::string what = location + ": ";
  if (expr && *expr) what += std::string("check failed: ") + expr + (msg.empty() ? "" : ": ");
  what += msg;
  const bool internal = msg.empty();
  throw Error(what, location, internal ? what : msg, internal);
}

std::string user_message(const std::exception& e) {
  if (const auto* v = dynamic_cast<const Error*>(&e)) return v->message();
  if (const auto* f = dynamic_cast<const std::filesystem::filesystem_error*>(&e)) {
    std::string paths = f->path1().string();
    if (!f->path2().empty()) paths += " -> " + f->path2().string();
    return (paths.empty() ? std::string() : paths + ": ") + f->code().message();
  }
  return e.what();
}

}  // namespace vigil
