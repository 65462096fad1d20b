// Strict JSON parsing on nlohmann's parser callback: a stack of open objects and arrays gives each key its JSON
// path, so a repeated key is named where it stands.
#include "nn/strict_json.h"

#include <cstring>
#include <set>
#include <vector>

#include "common/error.h"

namespace vigil {
namespace {

using nlohmann::json;

struct OpenContainer {
  bool object = true;
  std::set<std::string> keys;  // objects: keys seen so far
  std::string key;             // objects: the key whose value is being read
  size_t index = 0;            // arrays: the element being read
};

std::string path_of(const std::vector<OpenContainer>& open, const std::string& key) {
  std::string path;
  for (size_t i = 0; i + 1 < open.size(); ++i) {
    if (open[i].object) path += (path.empty() ? "" : ".") + open[i].key;
    else path += "[" + std::to_string(open[i].index) + "]";
  }
  return path + (path.empty() ? "" : ".") + key;
}

}  // namespace

std::string line_col(const char* text, size_t size, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < size; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

json parse_strict_json(const char* text, size_t size, const std::string& source, int max_depth,
                       const DuplicateKeyMessage& duplicate) {
  if (const void* nul = std::memchr(text, '\0', size))
    VIGIL_FAIL(source, ": contains a NUL byte at offset ", static_cast<const char*>(nul) - text);
  std::vector<OpenContainer> open;
  auto element_done = [&] {
    if (!open.empty() && !open.back().object) ++open.back().index;
  };
  const json::parser_callback_t track = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (static_cast<int>(open.size()) >= max_depth) VIGIL_FAIL(source, ": JSON nests deeper than ", max_depth);
        open.emplace_back();
        open.back().object = event == json::parse_event_t::object_start;
        break;
      case json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        OpenContainer& obj = open.back();
        if (!obj.keys.insert(key).second) {
          const int depth = static_cast<int>(open.size());
          const std::string path = path_of(open, key);
          VIGIL_FAIL(source, ": ", duplicate ? duplicate(depth, key, path) : "duplicate key '" + key + "' at " + path);
        }
        obj.key = key;
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        open.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  };
  try {
    return json::parse(text, text + size, track);
  } catch (const json::parse_error& e) {
    VIGIL_FAIL(source, ": not valid JSON at ", line_col(text, size, e.byte > 0 ? e.byte - 1 : 0), ": ", e.what());
  } catch (const json::exception& e) {
    VIGIL_FAIL(source, ": not valid JSON: ", e.what());
  }
}

}  // namespace vigil
