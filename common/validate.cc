#include "common/validate.h"

#include <cstdint>

#include "common/protocol.h"

namespace wallet {
namespace {

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
         c == '@' || c == '-';
}

bool IsCurrencyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

template <typename Pred>
bool AllOf(std::string_view text, std::size_t max_bytes, Pred pred) {
  if (text.empty() || text.size() > max_bytes) return false;
  for (char c : text) {
    if (!pred(c)) return false;
  }
  return true;
}

}  // namespace

bool IsValidKey(std::string_view key) {
  return AllOf(key, kKeyBytesMax, [](char c) { return c > ' ' && c < 0x7f; });
}

bool IsValidUser(std::string_view user) {
  return AllOf(user, kUserBytesMax, IsIdChar);
}

bool IsValidCurrency(std::string_view currency) {
  return AllOf(currency, kCurrencyBytesMax, IsCurrencyChar);
}

bool IsValidSource(std::string_view source) {
  return AllOf(source, kSourceBytesMax, IsIdChar);
}

bool IsValidRef(std::string_view ref) {
  if (ref.size() > kRefBytesMax || !IsValidUtf8(ref)) return false;
  for (char c : ref) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return false;
  }
  return true;
}

bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xe0) == 0xc0) {
      length = 2;
      code = lead & 0x1fu;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3;
      code = lead & 0x0fu;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4;
      code = lead & 0x07u;
    } else {
      return false;
    }
    if (text.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3fu);
    }
    static constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800,
                                                      0x10000};
    if (code < kMinForLength[length] || code > 0x10ffff ||
        (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    i += length;
  }
  return true;
}

}  // namespace wallet
