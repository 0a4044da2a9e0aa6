// JSON lines for machine readers of wallet-producer's output.
//
// JsonObject builds one flat or nested object into a string; strings are
// escaped per RFC 8259 (quotes, backslash, control characters). Bytes at
// or above 0x80 pass through unchanged: the worker validates refs as UTF-8
// and every other field is ASCII by protocol rule.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wallet::producer {

// Appends `text` as a quoted, escaped JSON string.
void AppendJsonString(std::string& out, std::string_view text);

class JsonObject {
 public:
  JsonObject& Str(std::string_view name, std::string_view value);
  JsonObject& Int(std::string_view name, std::int64_t value);
  JsonObject& Uint(std::string_view name, std::uint64_t value);
  JsonObject& Bool(std::string_view name, bool value);
  // `json` must already be a complete JSON value.
  JsonObject& Raw(std::string_view name, std::string_view json);

  // Closes the object and returns it; the builder is spent afterwards.
  std::string Finish();

 private:
  void Name(std::string_view name);

  std::string out_ = "{";
};

// Joins complete JSON values into an array.
std::string JsonArray(const std::vector<std::string>& values);

}  // namespace wallet::producer
