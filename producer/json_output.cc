#include "producer/json_output.h"

#include <cstdio>

namespace wallet::producer {

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c == '\t') {
      out.append("\\t");
    } else if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", byte);
      out.append(escaped);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void JsonObject::Name(std::string_view name) {
  if (out_.size() > 1) out_.push_back(',');
  AppendJsonString(out_, name);
  out_.push_back(':');
}

JsonObject& JsonObject::Str(std::string_view name, std::string_view value) {
  Name(name);
  AppendJsonString(out_, value);
  return *this;
}

JsonObject& JsonObject::Int(std::string_view name, std::int64_t value) {
  Name(name);
  out_.append(std::to_string(value));
  return *this;
}

JsonObject& JsonObject::Uint(std::string_view name, std::uint64_t value) {
  Name(name);
  out_.append(std::to_string(value));
  return *this;
}

JsonObject& JsonObject::Bool(std::string_view name, bool value) {
  Name(name);
  out_.append(value ? "true" : "false");
  return *this;
}

JsonObject& JsonObject::Raw(std::string_view name, std::string_view json) {
  Name(name);
  out_.append(json);
  return *this;
}

std::string JsonObject::Finish() {
  out_.push_back('}');
  return std::move(out_);
}

std::string JsonArray(const std::vector<std::string>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(values[i]);
  }
  out.push_back(']');
  return out;
}

}  // namespace wallet::producer
