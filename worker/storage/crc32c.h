// CRC32C (Castagnoli), the checksum of journal records and snapshots.
// Uses the SSE4.2 instruction when the processor has it, a table when not;
// both give the same value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wallet {

// Extends `crc` (0 to start) over `data`.
std::uint32_t Crc32c(std::uint32_t crc, const void* data, std::size_t size);

inline std::uint32_t Crc32c(std::string_view data) {
  return Crc32c(0, data.data(), data.size());
}

}  // namespace wallet
