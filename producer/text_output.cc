#include "producer/text_output.h"

#include "producer/json_output.h"

namespace wallet::producer {
namespace {

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f || c == '"' || c == '=' || c == '\\') {
      return true;
    }
  }
  return false;
}

}  // namespace

KeyValueLine& KeyValueLine::Str(std::string_view name, std::string_view value) {
  if (!out_.empty()) out_.push_back(' ');
  out_.append(name);
  out_.push_back('=');
  if (NeedsQuotes(value)) {
    AppendJsonString(out_, value);
  } else {
    out_.append(value);
  }
  return *this;
}

KeyValueLine& KeyValueLine::Int(std::string_view name, std::int64_t value) {
  return Str(name, std::to_string(value));
}

KeyValueLine& KeyValueLine::Uint(std::string_view name, std::uint64_t value) {
  return Str(name, std::to_string(value));
}

}  // namespace wallet::producer
