// Readable `key=value` lines, the same style as the operator logs.
//
// A value is written bare when it is a plain token and quoted (with JSON
// escapes) when it is empty or holds a space, a quote, '=' or a control
// byte, so every line splits back into its fields unambiguously.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wallet::producer {

class KeyValueLine {
 public:
  // `kind` is the first word of the line, e.g. "result".
  explicit KeyValueLine(std::string_view kind) : out_(kind) {}

  KeyValueLine& Str(std::string_view name, std::string_view value);
  KeyValueLine& Int(std::string_view name, std::int64_t value);
  KeyValueLine& Uint(std::string_view name, std::uint64_t value);

  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

}  // namespace wallet::producer
