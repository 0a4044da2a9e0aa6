#include "producer/random_id.h"

#include <cstdio>
#include <random>

namespace wallet::producer {
namespace {

constexpr std::uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

}  // namespace

std::uint64_t RandomU64() {
  std::random_device device;
  const std::uint64_t high = device();
  const std::uint64_t low = device();
  return (high << 32) ^ low;
}

std::string RandomUuidV4() {
  std::uint64_t high = RandomU64();
  std::uint64_t low = RandomU64();
  // Version 4 in the high nibble of byte 6, variant 10xx in byte 8.
  high = (high & ~0xf000ULL) | 0x4000ULL;
  low = (low & ~(0xc0ULL << 56)) | (0x80ULL << 56);
  char text[40];
  std::snprintf(text, sizeof(text), "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(high >> 32),
                static_cast<unsigned long long>((high >> 16) & 0xffff),
                static_cast<unsigned long long>(high & 0xffff),
                static_cast<unsigned long long>(low >> 48),
                static_cast<unsigned long long>(low & 0xffffffffffffULL));
  return text;
}

std::uint64_t Mix64(std::uint64_t value) {
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

std::uint64_t SplitMix64::Next() {
  state_ += kGoldenGamma;
  return Mix64(state_);
}

}  // namespace wallet::producer
