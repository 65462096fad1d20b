// JSON parsing that refuses what nlohmann accepts silently: a key repeated within one object (nlohmann keeps the
// last one), a NUL byte (nlohmann stops reading there) and nesting deeper than a caller's bound. Used for every
// file format vigil reads as JSON from outside (model definitions, safetensors headers).
#pragma once
#include <cstddef>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace vigil {

// Names a repeated key in the error: depth 1 is a key of the top-level object, `path` its JSON path
// (e.g. "layers[2].kernel"). Returns the message without the source prefix.
using DuplicateKeyMessage = std::function<std::string(int depth, const std::string& key, const std::string& path)>;

// Parses text[0, size). Throws vigil::Error "<source>: <reason>" for invalid JSON (with line and column), a NUL
// byte, nesting deeper than max_depth, or a repeated key (message from `duplicate`, default
// "duplicate key 'K' at PATH").
nlohmann::json parse_strict_json(const char* text, size_t size, const std::string& source, int max_depth,
                                 const DuplicateKeyMessage& duplicate = {});

// "line L, column C" of a byte offset (1-based), for messages about a position in a text.
std::string line_col(const char* text, size_t size, size_t offset);

}  // namespace vigil
