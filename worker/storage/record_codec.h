// The journal's record framing and payload encoding (docs/storage.md).
//
//   record  = header payload
//   header  = length:u32 length_crc:u32 payload_crc:u32   (little-endian)
//   payload = format:u8 op:u8 status:u8 reason:u8
//             time_ms:i64 amount:i64 balance:i64 version:u64
//             key user currency source ref      (each: length:u8, bytes)
//             [format 2, batches only:
//              failed_leg:i8 leg_count:u8
//              leg_count x (op:u8 user currency amount:i64 balance:i64
//                           version:u64)]
//
// The length has its own checksum so that a flipped bit in it reads as
// corruption, not as a record that runs past the end of the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "worker/core/record.h"

namespace wallet {

inline constexpr std::size_t kRecordHeaderBytes = 12;
inline constexpr std::size_t kRecordPayloadBytesMax = 4096;
inline constexpr std::uint8_t kRecordFormat = 1;
inline constexpr std::uint8_t kRecordFormatBatch = 2;

// Appends one framed record to `out`.
void EncodeRecord(const Record& record, std::string& out);

enum class RecordRead {
  kOk,         // `record` and `next` are set.
  kEnd,        // `offset` is exactly the end of the data.
  kTruncated,  // The data ends inside this record.
  kCorrupt,    // A checksum, length or field does not hold.
};

// Reads the record at `offset` in `data`. The views in `record` point
// into `data`; a batch's legs live in a per-thread buffer that the next
// DecodeRecord on the same thread reuses.
RecordRead DecodeRecord(std::string_view data, std::size_t offset,
                        Record& record, std::size_t& next);

}  // namespace wallet
