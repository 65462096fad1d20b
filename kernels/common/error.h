// vigil::Error and the checking macros: every failure carries the failing expression and file:line.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace vigil {

// The one exception type vigil throws; `what()` reads "file:line: expression: message" (for logs and tests).
// message() is the part for a user: the reason alone, naming the file or option it is about, without the source
// location; location() is "file:line". A check without a message is an internal fault: internal() is true
// and message() is the whole what(), location included, for the bug report.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what), message_(what) {}
  Error(const std::string& what, std::string location, std::string message, bool internal)
      : std::runtime_error(what), location_(std::move(location)), message_(std::move(message)), internal_(internal) {}
  const std::string& location() const { return location_; }
  const std::string& message() const { return message_; }
  bool internal() const { return internal_; }

 private:
  std::string location_, message_;
  bool internal_ = false;
};

// What to tell a user about `e`: Error::message() for vigil errors (no source location); for a filesystem error
// the paths and the system's reason; otherwise what().
std::string user_message(const std::exception& e);

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
