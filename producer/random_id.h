// Randomness for wallet-producer: idempotency keys that never repeat
// across runs, and a small deterministic generator for load plans.
//
// Nothing here is for security; keys only need to be unique.
#pragma once

#include <cstdint>
#include <string>

namespace wallet::producer {

// 64 bits from the operating system's entropy source.
std::uint64_t RandomU64();

// A random RFC 4122 version 4 UUID in lower-case hex,
// e.g. "1b4e28ba-2fa1-4d2e-9c5a-3f0c6e8d1a2b".
std::string RandomUuidV4();

// A bijective 64-bit mix (SplitMix64's finalizer): equal inputs give equal
// outputs, nearby inputs give unrelated ones.
std::uint64_t Mix64(std::uint64_t value);

// A fast deterministic sequence; one instance per thread.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next();
  // Uniform enough in [0, bound) for bound far below 2^64; bound > 0.
  std::uint64_t Below(std::uint64_t bound) { return Next() % bound; }

 private:
  std::uint64_t state_;
};

}  // namespace wallet::producer
