// Journal record framing and payload (worker/storage/record_codec.h): the
// exact bytes on disk, a round trip of every field, and what a reader
// makes of data cut short or damaged anywhere.
#include "worker/storage/record_codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "worker/storage/crc32c.h"

namespace wallet {
namespace {

// A record whose strings live as long as it does.
struct OwnedRecord {
  std::int64_t time_ms = 1'700'000'000'123;
  Op op = Op::kTopup;
  Status status = Status::kApplied;
  Reason reason = Reason::kNone;
  std::string key = "key-1";
  std::string user = "alice";
  std::string currency = "GOLD";
  std::int64_t amount_minor = 250;
  std::string source = "game-a";
  std::string ref = "order-9";
  std::int64_t balance_minor = 1250;
  std::uint64_t version = 7;

  Record view() const {
    Record record;
    record.time_ms = time_ms;
    record.op = op;
    record.status = status;
    record.reason = reason;
    record.key = key;
    record.user = user;
    record.currency = currency;
    record.amount_minor = amount_minor;
    record.source = source;
    record.ref = ref;
    record.balance_minor = balance_minor;
    record.version = version;
    return record;
  }
};

std::string Encode(const OwnedRecord& record) {
  std::string out;
  EncodeRecord(record.view(), out);
  return out;
}

void ExpectSameRecord(const Record& got, const OwnedRecord& want) {
  EXPECT_EQ(got.time_ms, want.time_ms);
  EXPECT_EQ(got.op, want.op);
  EXPECT_EQ(got.status, want.status);
  EXPECT_EQ(got.reason, want.reason);
  EXPECT_EQ(got.key, want.key);
  EXPECT_EQ(got.user, want.user);
  EXPECT_EQ(got.currency, want.currency);
  EXPECT_EQ(got.amount_minor, want.amount_minor);
  EXPECT_EQ(got.source, want.source);
  EXPECT_EQ(got.ref, want.ref);
  EXPECT_EQ(got.balance_minor, want.balance_minor);
  EXPECT_EQ(got.version, want.version);
}

// The on-disk masking of stored checksums (the format's, not a helper of
// the code under test).
std::uint32_t Mask(std::uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

template <typename Int>
void Put(std::string& out, Int value) {
  char bytes[sizeof(Int)];
  std::memcpy(bytes, &value, sizeof(Int));
  out.append(bytes, sizeof(Int));
}

void PutStr(std::string& out, std::string_view text) {
  out.push_back(static_cast<char>(text.size()));
  out.append(text);
}

// Frames `payload` with a header whose checksums are valid, whatever the
// payload holds; `length` overrides the stored length.
std::string Frame(std::string_view payload, std::uint32_t length) {
  std::string out;
  Put(out, length);
  Put(out, Mask(Crc32c(0, &length, sizeof(length))));
  Put(out, Mask(Crc32c(payload)));
  out.append(payload);
  return out;
}

std::string Frame(std::string_view payload) {
  return Frame(payload, static_cast<std::uint32_t>(payload.size()));
}

// The payload of the default OwnedRecord, byte by byte from the layout in
// record_codec.h, with the first bytes and trailing strings adjustable.
struct PayloadSpec {
  std::uint8_t format = 1;
  std::uint8_t op = 0;
  std::uint8_t status = 0;
  std::uint8_t reason = 0;
  bool drop_ref = false;
  std::string trailing;
  int key_length_delta = 0;  // Lies about the key's length byte.
};

std::string Payload(const PayloadSpec& spec) {
  const OwnedRecord r;
  std::string out;
  Put(out, spec.format);
  Put(out, spec.op);
  Put(out, spec.status);
  Put(out, spec.reason);
  Put(out, r.time_ms);
  Put(out, r.amount_minor);
  Put(out, r.balance_minor);
  Put(out, r.version);
  out.push_back(static_cast<char>(static_cast<int>(r.key.size()) +
                                  spec.key_length_delta));
  out.append(r.key);
  PutStr(out, r.user);
  PutStr(out, r.currency);
  PutStr(out, r.source);
  if (!spec.drop_ref) PutStr(out, r.ref);
  out.append(spec.trailing);
  return out;
}

// The default payload with one thing changed by `change`.
template <typename Change>
std::string PayloadWith(Change change) {
  PayloadSpec spec;
  change(spec);
  return Payload(spec);
}

RecordRead DecodeAt(std::string_view data, std::size_t offset) {
  Record record;
  std::size_t next = 0;
  return DecodeRecord(data, offset, record, next);
}

TEST(RecordCodecFormat, BytesAreHeaderThenDocumentedPayload) {
  const std::string payload = Payload(PayloadSpec{});
  const std::string encoded = Encode(OwnedRecord{});
  EXPECT_EQ(encoded, Frame(payload));
  EXPECT_EQ(encoded.size(), kRecordHeaderBytes + payload.size());
}

TEST(RecordCodecFormat, EncodeAppendsWithoutTouchingWhatIsThere) {
  std::string out = "prefix";
  EncodeRecord(OwnedRecord{}.view(), out);
  EXPECT_EQ(out, "prefix" + Encode(OwnedRecord{}));
}

std::vector<OwnedRecord> RoundTripCases() {
  std::vector<OwnedRecord> cases;
  cases.push_back(OwnedRecord{});

  OwnedRecord longest;
  longest.key = std::string(kKeyBytesMax, 'k');
  longest.user = std::string(kUserBytesMax, 'u');
  longest.currency = std::string(kCurrencyBytesMax, 'c');
  longest.source = std::string(kSourceBytesMax, 's');
  longest.ref = std::string(kRefBytesMax, 'r');
  longest.op = Op::kReward;
  cases.push_back(longest);

  OwnedRecord empty_strings;
  empty_strings.key = "k";
  empty_strings.ref.clear();
  empty_strings.source.clear();
  cases.push_back(empty_strings);

  OwnedRecord rejected;
  rejected.status = Status::kRejected;
  rejected.reason = Reason::kBalanceOverflow;
  rejected.balance_minor = kBalanceMinorMax;
  rejected.amount_minor = kAmountMinorMax;
  cases.push_back(rejected);

  OwnedRecord extremes;
  extremes.time_ms = std::numeric_limits<std::int64_t>::min();
  extremes.amount_minor = std::numeric_limits<std::int64_t>::max();
  extremes.balance_minor = -1;
  extremes.version = std::numeric_limits<std::uint64_t>::max();
  cases.push_back(extremes);

  OwnedRecord binary;
  binary.key = std::string("a\0b\xff\n", 5);
  binary.user = std::string(kUserBytesMax, '\xff');
  cases.push_back(binary);
  return cases;
}

TEST(RecordCodecRoundTrip, EveryFieldOfEveryCaseComesBack) {
  const std::vector<OwnedRecord> cases = RoundTripCases();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    const std::string data = Encode(cases[i]);
    Record record;
    std::size_t next = 0;
    ASSERT_EQ(DecodeRecord(data, 0, record, next), RecordRead::kOk);
    EXPECT_EQ(next, data.size());
    ExpectSameRecord(record, cases[i]);
    EXPECT_LE(data.size() - kRecordHeaderBytes, kRecordPayloadBytesMax);
  }
}

TEST(RecordCodecRoundTrip, ConsecutiveRecordsReadBackInOrderThenEnd) {
  const std::vector<OwnedRecord> cases = RoundTripCases();
  std::string data;
  for (const OwnedRecord& record : cases) EncodeRecord(record.view(), data);
  std::size_t offset = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    Record record;
    std::size_t next = 0;
    ASSERT_EQ(DecodeRecord(data, offset, record, next), RecordRead::kOk)
        << "record " << i;
    EXPECT_EQ(next - offset, Encode(cases[i]).size());
    ExpectSameRecord(record, cases[i]);
    offset = next;
  }
  EXPECT_EQ(DecodeAt(data, offset), RecordRead::kEnd);
}

// Three records; the last one is the one cut or damaged.
struct ThreeRecords {
  std::string data;
  std::size_t last_start = 0;
};

ThreeRecords MakeThreeRecords() {
  ThreeRecords three;
  std::vector<OwnedRecord> cases = RoundTripCases();
  EncodeRecord(cases[0].view(), three.data);
  EncodeRecord(cases[1].view(), three.data);
  three.last_start = three.data.size();
  EncodeRecord(cases[3].view(), three.data);
  return three;
}

TEST(RecordCodecTruncation, CutAtEveryOffsetOfLastRecordIsTruncated) {
  const ThreeRecords three = MakeThreeRecords();
  for (std::size_t cut = three.last_start; cut < three.data.size(); ++cut) {
    const std::string_view data(three.data.data(), cut);
    const RecordRead expected =
        cut == three.last_start ? RecordRead::kEnd : RecordRead::kTruncated;
    ASSERT_EQ(DecodeAt(data, three.last_start), expected) << "cut=" << cut;
    // The records before the cut still read whole.
    ASSERT_EQ(DecodeAt(data, 0), RecordRead::kOk) << "cut=" << cut;
  }
  EXPECT_EQ(DecodeAt(three.data, three.last_start), RecordRead::kOk);
}

TEST(RecordCodecCorruption, EveryFlippedBitOfLastRecordIsCorrupt) {
  const ThreeRecords three = MakeThreeRecords();
  for (std::size_t byte = three.last_start; byte < three.data.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string data = three.data;
      data[byte] = static_cast<char>(data[byte] ^ (1 << bit));
      ASSERT_EQ(DecodeAt(data, three.last_start), RecordRead::kCorrupt)
          << "byte " << byte - three.last_start << " of the record, bit "
          << bit;
    }
  }
}

TEST(RecordCodecCorruption, EveryFlippedBitOfMiddleRecordIsCorrupt) {
  const ThreeRecords three = MakeThreeRecords();
  std::size_t middle_start = 0;
  {
    Record record;
    ASSERT_EQ(DecodeRecord(three.data, 0, record, middle_start),
              RecordRead::kOk);
  }
  for (std::size_t byte = middle_start; byte < three.last_start; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string data = three.data;
      data[byte] = static_cast<char>(data[byte] ^ (1 << bit));
      ASSERT_EQ(DecodeAt(data, middle_start), RecordRead::kCorrupt)
          << "byte " << byte - middle_start << " of the record, bit " << bit;
    }
  }
}

struct MalformedCase {
  const char* name;
  std::string framed;
  RecordRead expected;
};

TEST(RecordCodecValidation, FieldsThatDoNotHoldAreCorruptDespiteChecksums) {
  const std::string too_long =
      Frame(Payload(PayloadSpec{}), kRecordPayloadBytesMax + 1);
  const MalformedCase cases[] = {
      {"well formed (control)", Frame(Payload(PayloadSpec{})), RecordRead::kOk},
      {"format 0", Frame(PayloadWith([](PayloadSpec& p) { p.format = 0; })),
       RecordRead::kCorrupt},
      {"format 2", Frame(PayloadWith([](PayloadSpec& p) { p.format = 2; })),
       RecordRead::kCorrupt},
      {"op past the last",
       Frame(PayloadWith([](PayloadSpec& p) { p.op = kOpCount; })),
       RecordRead::kCorrupt},
      {"status past kRejected",
       Frame(PayloadWith([](PayloadSpec& p) { p.status = 3; })),
       RecordRead::kCorrupt},
      {"reason past the last", Frame(PayloadWith([](PayloadSpec& p) {
         p.reason = static_cast<std::uint8_t>(kReasonLast) + 1;
       })),
       RecordRead::kCorrupt},
      {"trailing byte",
       Frame(PayloadWith([](PayloadSpec& p) { p.trailing = "x"; })),
       RecordRead::kCorrupt},
      {"last string missing",
       Frame(PayloadWith([](PayloadSpec& p) { p.drop_ref = true; })),
       RecordRead::kCorrupt},
      {"string longer than the payload",
       Frame(PayloadWith([](PayloadSpec& p) { p.key_length_delta = 120; })),
       RecordRead::kCorrupt},
      {"empty payload", Frame(""), RecordRead::kCorrupt},
      {"length over the maximum", too_long, RecordRead::kCorrupt},
      {"header only, 11 bytes", Frame(Payload(PayloadSpec{})).substr(0, 11),
       RecordRead::kTruncated},
  };
  for (const MalformedCase& c : cases) {
    EXPECT_EQ(DecodeAt(c.framed, 0), c.expected) << c.name;
  }
}

}  // namespace
}  // namespace wallet

namespace wallet {
namespace {

// A batch is one record (format 2): its legs come back whole, and a cut
// anywhere inside it reads as a torn record, never as fewer legs.
TEST(RecordCodecBatch, LegsRoundTripAndACutIsNeverPartial) {
  const LegRecord legs[] = {
      {Op::kSpend, "alice", "gold", 100, 0, 2},
      {Op::kReward, "alice", "gems", 1, 6, 2},
      {Op::kTopup, "bob", "gold", 5, 15, 3},
  };
  Record batch;
  batch.time_ms = 1'700'000'000'000;
  batch.op = Op::kBatch;
  batch.key = "purchase-1";
  batch.user = "alice";
  batch.source = "shop";
  batch.legs = legs;
  std::string data;
  EncodeRecord(batch, data);

  Record read;
  std::size_t next = 0;
  ASSERT_EQ(DecodeRecord(data, 0, read, next), RecordRead::kOk);
  EXPECT_EQ(next, data.size());
  EXPECT_EQ(read.op, Op::kBatch);
  EXPECT_EQ(read.failed_leg, -1);
  ASSERT_EQ(read.legs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(read.legs[i].op, legs[i].op);
    EXPECT_EQ(read.legs[i].user, legs[i].user);
    EXPECT_EQ(read.legs[i].currency, legs[i].currency);
    EXPECT_EQ(read.legs[i].amount_minor, legs[i].amount_minor);
    EXPECT_EQ(read.legs[i].balance_minor, legs[i].balance_minor);
    EXPECT_EQ(read.legs[i].version, legs[i].version);
  }
  for (std::size_t cut = 1; cut < data.size(); ++cut) {
    EXPECT_EQ(
        DecodeRecord(std::string_view(data).substr(0, cut), 0, read, next),
        RecordRead::kTruncated)
        << "cut at " << cut;
  }

  batch.status = Status::kRejected;
  batch.reason = Reason::kInsufficientFunds;
  batch.failed_leg = 2;
  data.clear();
  EncodeRecord(batch, data);
  ASSERT_EQ(DecodeRecord(data, 0, read, next), RecordRead::kOk);
  EXPECT_EQ(read.failed_leg, 2);
  EXPECT_EQ(read.reason, Reason::kInsufficientFunds);
}

}  // namespace
}  // namespace wallet
