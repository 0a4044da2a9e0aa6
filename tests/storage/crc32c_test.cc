// CRC32C (worker/storage/crc32c.h) against published vectors and against
// a bit-at-a-time reference written here, at every length and alignment
// the hardware path splits differently (8-byte words, then a byte tail).
#include "worker/storage/crc32c.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wallet {
namespace {

// The textbook definition: reflected polynomial 0x82F63B78, initial value
// and final xor all ones.
std::uint32_t ReferenceCrc32c(std::string_view data) {
  std::uint32_t crc = 0xffffffffu;
  for (const char c : data) {
    crc ^= static_cast<unsigned char>(c);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 1u) != 0 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
    }
  }
  return ~crc;
}

std::string Bytes(std::size_t size, std::uint8_t first, int step) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    data[i] = static_cast<char>(
        static_cast<std::uint8_t>(first + static_cast<int>(i) * step));
  }
  return data;
}

struct KnownVector {
  const char* name;
  std::string data;
  std::uint32_t crc;
};

TEST(Crc32cKnownVectors, MatchPublishedValues) {
  // RFC 3720 (iSCSI) appendix B.4 and the usual check string.
  const KnownVector vectors[] = {
      {"empty", "", 0x00000000u},
      {"check string", "123456789", 0xe3069283u},
      {"32 zeros", std::string(32, '\0'), 0x8a9136aau},
      {"32 ones", std::string(32, '\xff'), 0x62a8ab43u},
      {"32 ascending", Bytes(32, 0, 1), 0x46dd794eu},
      {"32 descending", Bytes(32, 31, -1), 0x113fdb5cu},
      {"fox", "The quick brown fox jumps over the lazy dog", 0x22620404u},
  };
  for (const KnownVector& vector : vectors) {
    EXPECT_EQ(Crc32c(vector.data), vector.crc) << vector.name;
    EXPECT_EQ(Crc32c(0, vector.data.data(), vector.data.size()), vector.crc)
        << vector.name;
  }
}

TEST(Crc32cReference, EveryLengthAndAlignmentMatchesBitwiseDefinition) {
  const std::string buffer = Bytes(300, 7, 31);
  for (std::size_t align = 0; align < 8; ++align) {
    for (std::size_t size = 0; size + align <= 80; ++size) {
      const std::string_view data(buffer.data() + align, size);
      ASSERT_EQ(Crc32c(data), ReferenceCrc32c(data))
          << "align=" << align << " size=" << size;
    }
  }
  EXPECT_EQ(Crc32c(buffer), ReferenceCrc32c(buffer));
}

TEST(Crc32cIncremental, EverySplitEqualsOneShot) {
  const std::string data = Bytes(257, 3, 11);
  const std::uint32_t whole = Crc32c(data);
  for (std::size_t split = 0; split <= data.size(); ++split) {
    const std::uint32_t first = Crc32c(0, data.data(), split);
    ASSERT_EQ(Crc32c(first, data.data() + split, data.size() - split), whole)
        << "split=" << split;
  }
}

TEST(Crc32cIncremental, ManySmallPiecesEqualOneShot) {
  const std::string data = Bytes(1000, 5, 3);
  std::uint32_t crc = 0;
  std::size_t at = 0;
  for (std::size_t piece = 1; at < data.size(); piece = piece % 13 + 1) {
    const std::size_t size = std::min(piece, data.size() - at);
    crc = Crc32c(crc, data.data() + at, size);
    at += size;
  }
  EXPECT_EQ(crc, Crc32c(data));
  EXPECT_EQ(crc, ReferenceCrc32c(data));
}

}  // namespace
}  // namespace wallet
