// vigil::Error and the checking macros: every failure carries the failing expression and file:line.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace vigil {

// The one exception type vigil throws; `what()` reads "file:line: expression: message".
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_error(const char* file, int line, const char* expr, const std::string& msg);

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  append(os, rest...);
}
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  append(os, args...);
  return os.str();
}
}  // namespace detail
}  // namespace vigil

// VIGIL_CHECK(cond, "message parts", value, ...): throws vigil::Error when cond is false.
#define VIGIL_CHECK(cond, ...)                                                              \
  do {                                                                                      \
    if (!(cond)) ::vigil::throw_error(__FILE__, __LINE__, #cond, ::vigil::detail::concat(__VA_ARGS__)); \
  } while (0)

// VIGIL_FAIL("message parts", ...): unconditional error.
#define VIGIL_FAIL(...) ::vigil::throw_error(__FILE__, __LINE__, "", ::vigil::detail::concat(__VA_ARGS__))
