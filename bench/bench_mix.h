// The command mix every benchmark sends, so that the wallet, the relay and
// the peers are measured on the same work: credits of 1..1000 minor units
// to `user-0` .. `user-<U-1>`, each under a fresh UUID key, plus a share of
// identical retries of recently sent keys.
//
// The mixed variant (the worker only) draws each fresh key's kind instead:
// 60 % credits, 30 % spends of 1..1000 gold, 10 % purchases (a batch that
// spends 1..1000 gold and grants one gem).
//
// Key i of a run is a version 4 UUID whose last 12 hex digits are i and
// whose other random-looking digits come from the run's seed, so that a
// receiver can map a result back to its send without a lookup table.
//
// Header-only; every function is pure and thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wallet::bench {

inline constexpr std::size_t kUuidBytes = 36;
// Fresh keys per run are limited by the 12 hex digits that carry the index.
inline constexpr std::uint64_t kKeyIndexMax = 0xFFFFFFFFFFFFULL;
// A retry repeats one of the last this many fresh keys.
inline constexpr std::uint64_t kRetryLagMax = 1000;
inline constexpr std::int64_t kAmountMaxMinor = 1000;

// SplitMix64's finalizer: a bijective 64-bit mix.
inline std::uint64_t Mix64(std::uint64_t value) {
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

// Writes `digits` lower-case hex digits of `value` at `out`.
inline void PutHex(std::uint64_t value, int digits, char* out) {
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = "0123456789abcdef"[value & 0xF];
    value >>= 4;
  }
}

// Writes key `index` of the run `seed` as a UUID into `out` (36 bytes):
// xxxxxxxx-xxxx-4xxx-[89ab]xxx-<index as 12 hex digits>.
inline void KeyUuid(std::uint64_t seed, std::uint64_t index, char* out) {
  const std::uint64_t bits = Mix64(seed ^ Mix64(index));
  PutHex(bits >> 32, 8, out);
  out[8] = '-';
  PutHex(bits >> 16, 4, out + 9);
  out[13] = '-';
  out[14] = '4';
  PutHex(bits >> 4, 3, out + 15);
  out[18] = '-';
  PutHex(0x8000 | (bits & 0x3FFF), 4, out + 19);
  out[23] = '-';
  PutHex(index & kKeyIndexMax, 12, out + 24);
}

// The index carried by a key made by KeyUuid; nullopt for other keys.
inline std::optional<std::uint64_t> KeyIndex(std::string_view key) {
  if (key.size() != kUuidBytes || key[23] != '-') return std::nullopt;
  std::uint64_t index = 0;
  for (std::size_t i = 24; i < kUuidBytes; ++i) {
    const char c = key[i];
    std::uint64_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<std::uint64_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    index = index * 16 + digit;
  }
  return index;
}

inline std::uint64_t KeyUser(std::uint64_t seed, std::uint64_t index,
                             std::uint64_t users) {
  return Mix64(seed + 0x5bd1e995 + index) % users;
}

inline std::int64_t KeyAmount(std::uint64_t seed, std::uint64_t index) {
  return 1 + static_cast<std::int64_t>(Mix64(seed + 0x27d4eb2f + index) %
                                       kAmountMaxMinor);
}

enum class KeyKind { kCredit, kSpend, kPurchase };

// The kind of fresh key `index` in the mixed variant.
inline KeyKind MixedKind(std::uint64_t seed, std::uint64_t index) {
  const std::uint64_t draw = Mix64(seed + 0x3c6ef372 + index) % 100;
  if (draw < 60) return KeyKind::kCredit;
  return draw < 90 ? KeyKind::kSpend : KeyKind::kPurchase;
}

inline std::string UserName(std::uint64_t user) {
  return "user-" + std::to_string(user);
}

// Writes "user-<user>" into `out` (at least 26 bytes); returns its size.
inline std::size_t PutUserName(std::uint64_t user, char* out) {
  char digits[20];
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + user % 10);
    user /= 10;
  } while (user != 0);
  std::copy_n("user-", 5, out);
  for (std::size_t i = 0; i < n; ++i) out[5 + i] = digits[n - 1 - i];
  return 5 + n;
}

// Whether send number `send` of a run is a retry, given the share of
// retries in percent.
inline bool IsRetrySend(std::uint64_t seed, std::uint64_t send,
                        std::uint64_t retry_pct) {
  return Mix64(seed + 0x165667b1 + send) % 100 < retry_pct;
}

// Which earlier fresh key a retry repeats, given how many have been sent.
inline std::uint64_t RetryTarget(std::uint64_t seed, std::uint64_t send,
                                 std::uint64_t fresh_sent) {
  const std::uint64_t span =
      fresh_sent < kRetryLagMax ? fresh_sent : kRetryLagMax;
  return fresh_sent - 1 - Mix64(seed + 0x9e3779b9 + send) % span;
}

}  // namespace wallet::bench
