// Field rules of protocol v1 (docs/protocol.md, "Fields"). Each predicate
// checks length and charset together; none allocates.
#pragma once

#include <string_view>

namespace wallet {

// 1..128 bytes of printable ASCII (0x21..0x7e): UUIDs, "reward:42:7", ...
bool IsValidKey(std::string_view key);
// 1..64 bytes of [A-Za-z0-9._:@-].
bool IsValidUser(std::string_view user);
// 1..16 bytes of [A-Za-z0-9_].
bool IsValidCurrency(std::string_view currency);
// Same rule as a user id.
bool IsValidSource(std::string_view source);
// 0..64 bytes of UTF-8 without control characters.
bool IsValidRef(std::string_view ref);

// Whether `text` is well-formed UTF-8 (no overlongs, no surrogates).
bool IsValidUtf8(std::string_view text);

}  // namespace wallet
