#include "worker/storage/record_codec.h"

#include <array>
#include <cstring>

#include "worker/storage/crc32c.h"

namespace wallet {
namespace {

// Masked so that a checksum of data that itself holds checksums does not
// collide by construction.
std::uint32_t Mask(std::uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

template <typename Int>
void PutInt(std::string& out, Int value) {
  char bytes[sizeof(Int)];
  std::memcpy(bytes, &value, sizeof(Int));  // Little-endian hosts only.
  out.append(bytes, sizeof(Int));
}

void PutStr(std::string& out, std::string_view text) {
  out.push_back(static_cast<char>(static_cast<std::uint8_t>(text.size())));
  out.append(text);
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  template <typename T>
  bool Int(T& value) {
    if (data_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&value, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }

  bool Str(std::string_view& text) {
    std::uint8_t size = 0;
    if (!Int(size) || data_.size() - pos_ < size) return false;
    text = data_.substr(pos_, size);
    pos_ += size;
    return true;
  }

  bool AtEnd() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

// Backs the legs of the last batch record decoded on this thread.
thread_local std::array<LegRecord, kLegsMax> t_legs;

bool DecodeLegs(Reader& in, Record& record) {
  std::int8_t failed_leg = -1;
  std::uint8_t count = 0;
  if (!in.Int(failed_leg) || !in.Int(count) || count == 0 || count > kLegsMax ||
      failed_leg >= static_cast<int>(count) || failed_leg < -1) {
    return false;
  }
  for (std::uint8_t i = 0; i < count; ++i) {
    LegRecord& leg = t_legs[i];
    std::uint8_t op = 0;
    if (!in.Int(op) || op >= kOpCount ||
        op == static_cast<std::uint8_t>(Op::kBatch) || !in.Str(leg.user) ||
        !in.Str(leg.currency) || leg.user.size() > kUserBytesMax ||
        leg.currency.size() > kCurrencyBytesMax || !in.Int(leg.amount_minor) ||
        !in.Int(leg.balance_minor) || !in.Int(leg.version)) {
      return false;
    }
    leg.op = static_cast<Op>(op);
  }
  record.failed_leg = failed_leg;
  record.legs = std::span<const LegRecord>(t_legs.data(), count);
  return true;
}

bool DecodePayload(std::string_view payload, Record& record) {
  Reader in(payload);
  std::uint8_t format = 0, op = 0, status = 0, reason = 0;
  if (!in.Int(format) ||
      (format != kRecordFormat && format != kRecordFormatBatch) ||
      !in.Int(op) || !in.Int(status) || !in.Int(reason) || op >= kOpCount ||
      status > static_cast<std::uint8_t>(Status::kRejected) ||
      reason > static_cast<std::uint8_t>(kReasonLast)) {
    return false;
  }
  record.op = static_cast<Op>(op);
  record.status = static_cast<Status>(status);
  record.reason = static_cast<Reason>(reason);
  record.legs = {};
  record.failed_leg = -1;
  const bool batch = format == kRecordFormatBatch;
  if (batch != (record.op == Op::kBatch)) return false;
  return in.Int(record.time_ms) && in.Int(record.amount_minor) &&
         in.Int(record.balance_minor) && in.Int(record.version) &&
         in.Str(record.key) && in.Str(record.user) && in.Str(record.currency) &&
         in.Str(record.source) && in.Str(record.ref) &&
         (!batch || DecodeLegs(in, record)) && in.AtEnd();
}

}  // namespace

void EncodeRecord(const Record& record, std::string& out) {
  const std::size_t header_at = out.size();
  out.append(kRecordHeaderBytes, '\0');
  const std::size_t payload_at = out.size();
  const bool batch = record.op == Op::kBatch;
  PutInt<std::uint8_t>(out, batch ? kRecordFormatBatch : kRecordFormat);
  PutInt(out, static_cast<std::uint8_t>(record.op));
  PutInt(out, static_cast<std::uint8_t>(record.status));
  PutInt(out, static_cast<std::uint8_t>(record.reason));
  PutInt(out, record.time_ms);
  PutInt(out, record.amount_minor);
  PutInt(out, record.balance_minor);
  PutInt(out, record.version);
  PutStr(out, record.key);
  PutStr(out, record.user);
  PutStr(out, record.currency);
  PutStr(out, record.source);
  PutStr(out, record.ref);
  if (batch) {
    PutInt(out, static_cast<std::int8_t>(record.failed_leg));
    PutInt(out, static_cast<std::uint8_t>(record.legs.size()));
    for (const LegRecord& leg : record.legs) {
      PutInt(out, static_cast<std::uint8_t>(leg.op));
      PutStr(out, leg.user);
      PutStr(out, leg.currency);
      PutInt(out, leg.amount_minor);
      PutInt(out, leg.balance_minor);
      PutInt(out, leg.version);
    }
  }

  const auto length = static_cast<std::uint32_t>(out.size() - payload_at);
  const std::uint32_t header[3] = {
      length, Mask(Crc32c(0, &length, sizeof(length))),
      Mask(Crc32c(0, out.data() + payload_at, length))};
  std::memcpy(out.data() + header_at, header, sizeof(header));
}

RecordRead DecodeRecord(std::string_view data, std::size_t offset,
                        Record& record, std::size_t& next) {
  if (offset == data.size()) return RecordRead::kEnd;
  if (data.size() - offset < kRecordHeaderBytes) return RecordRead::kTruncated;
  std::uint32_t header[3];
  std::memcpy(header, data.data() + offset, sizeof(header));
  const std::uint32_t length = header[0];
  if (Mask(Crc32c(0, &length, sizeof(length))) != header[1] ||
      length > kRecordPayloadBytesMax) {
    return RecordRead::kCorrupt;
  }
  const std::size_t payload_at = offset + kRecordHeaderBytes;
  if (data.size() - payload_at < length) return RecordRead::kTruncated;
  const std::string_view payload = data.substr(payload_at, length);
  if (Mask(Crc32c(payload)) != header[2] || !DecodePayload(payload, record)) {
    return RecordRead::kCorrupt;
  }
  next = payload_at + length;
  return RecordRead::kOk;
}

}  // namespace wallet
