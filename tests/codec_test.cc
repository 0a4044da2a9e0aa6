// Protocol v1 codec (common/codec.h) against real MessagePack bytes.
//
// Frames are built with msgpack-c's own packer, or written byte by byte
// where msgpack-c would refuse to produce them, so that no expectation
// depends on the encoder under test. Wire names are read back with plain
// msgpack-c, as a client in another language would read them.
#include "common/codec.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <msgpack.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/protocol.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WALLET_TEST_SANITIZER_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WALLET_TEST_SANITIZER_HEAP 1
#endif
#endif

#ifdef WALLET_TEST_SANITIZER_HEAP
// From <sanitizer/allocator_interface.h>, which GCC does not install.
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace wallet {

// GoogleTest finds printers by argument-dependent lookup, so these live in
// the enums' own namespace rather than an unnamed one.
static void PrintTo(DecodedCommand::Kind kind, std::ostream* os) {
  switch (kind) {
    case DecodedCommand::Kind::kValid:
      *os << "kValid";
      return;
    case DecodedCommand::Kind::kRejected:
      *os << "kRejected";
      return;
    case DecodedCommand::Kind::kUnreadable:
      *os << "kUnreadable";
      return;
  }
  *os << "Kind(" << static_cast<int>(kind) << ")";
}
static void PrintTo(Reason reason, std::ostream* os) {
  *os << "Reason(" << ReasonName(reason) << ")";
}
static void PrintTo(Status status, std::ostream* os) {
  *os << "Status(" << StatusName(status) << ")";
}
static void PrintTo(Field field, std::ostream* os) {
  *os << "Field(" << FieldName(field) << ")";
}
static void PrintTo(Op op, std::ostream* os) {
  *os << "Op(" << OpName(op) << ")";
}

namespace {

using Kind = DecodedCommand::Kind;

// ---------------------------------------------------------------------------
// Building MessagePack bytes.

// The MessagePack encoding of one value, as msgpack-c writes it.
template <typename T>
std::string Pack(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return std::string(buffer.data(), buffer.size());
}

std::string Str(std::string_view text) { return Pack(std::string(text)); }
std::string Nil() { return Pack(msgpack::type::nil_t()); }

// Literal bytes, for input no well-behaved packer would write.
std::string Bytes(std::initializer_list<unsigned char> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// 1.0 as MessagePack floats. msgpack-c packs a double with an integral
// value as an integer, so these are written by hand.
std::string Float64One() { return Bytes({0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}); }
std::string Float32One() { return Bytes({0xca, 0x3f, 0x80, 0, 0}); }

std::string ArrayOf(const std::vector<std::string>& packed_items) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_array(static_cast<std::uint32_t>(packed_items.size()));
  std::string array(buffer.data(), buffer.size());
  for (const std::string& item : packed_items) array += item;
  return array;
}

// A map as an ordered list of encoded names and values, so that a test can
// change, drop or repeat one field of an otherwise valid message.
class MapFrame {
 public:
  // Replaces the value of `name`, or appends the field when it is absent.
  MapFrame& Set(std::string_view name, std::string packed_value) {
    const std::string packed_name = Str(name);
    for (Entry& entry : entries_) {
      if (entry.name == packed_name) {
        entry.value = std::move(packed_value);
        return *this;
      }
    }
    return Add(packed_name, std::move(packed_value));
  }

  MapFrame& Drop(std::string_view name) {
    std::erase_if(entries_,
                  [&](const Entry& entry) { return entry.name == Str(name); });
    return *this;
  }

  // Appends a field as given, even a repeated or non-string name.
  MapFrame& Add(std::string packed_name, std::string packed_value) {
    entries_.push_back({std::move(packed_name), std::move(packed_value)});
    return *this;
  }

  MapFrame& Reverse() {
    std::reverse(entries_.begin(), entries_.end());
    return *this;
  }

  std::string Encode() const {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(static_cast<std::uint32_t>(entries_.size()));
    std::string frame(buffer.data(), buffer.size());
    for (const Entry& entry : entries_) frame += entry.name + entry.value;
    return frame;
  }

 private:
  struct Entry {
    std::string name;
    std::string value;
  };
  std::vector<Entry> entries_;
};

// `levels` maps, each holding the next under "n", around an integer.
std::string NestedMaps(std::size_t levels) {
  std::string value = Pack(0);
  for (std::size_t i = 0; i < levels; ++i) {
    value = Bytes({0x81}) + Str("n") + value;
  }
  return value;
}

// `levels` one-element arrays, each holding the next, around an integer.
std::string NestedArrays(std::size_t levels) {
  std::string value = Pack(0);
  for (std::size_t i = 0; i < levels; ++i) value = Bytes({0x91}) + value;
  return value;
}

// `frame` with an unknown "pad" string sized so that it encodes to
// exactly `bytes` bytes. Both sizes must use the same str16 header.
std::string PaddedTo(MapFrame frame, std::size_t bytes) {
  constexpr std::size_t kProbeBytes = 1000;
  frame.Set("pad", Str(std::string(kProbeBytes, 'p')));
  const std::size_t overhead = frame.Encode().size() - kProbeBytes;
  frame.Set("pad", Str(std::string(bytes - overhead, 'p')));
  return frame.Encode();
}

// Reads a map with msgpack-c alone, for checking names on the wire.
class WireMap {
 public:
  explicit WireMap(std::string_view bytes)
      : handle_(msgpack::unpack(bytes.data(), bytes.size())) {
    handle_.get().convert(fields_);
  }

  std::size_t size() const { return fields_.size(); }
  bool Has(const std::string& name) const { return fields_.contains(name); }
  std::string Str(const std::string& name) const {
    return fields_.at(name).as<std::string>();
  }
  std::int64_t Int(const std::string& name) const {
    return fields_.at(name).as<std::int64_t>();
  }
  std::uint64_t Uint(const std::string& name) const {
    return fields_.at(name).as<std::uint64_t>();
  }
  const msgpack::object& Object(const std::string& name) const {
    return fields_.at(name);
  }

 private:
  msgpack::object_handle handle_;
  std::map<std::string, msgpack::object> fields_;
};

// ---------------------------------------------------------------------------
// Sample values. String views into these literals live for the whole run.

constexpr std::string_view kKey = "k-1";
constexpr std::string_view kUser = "alice";
constexpr std::string_view kCurrency = "GOLD";
constexpr std::int64_t kAmount = 250;
constexpr std::string_view kSource = "game-1";
constexpr std::string_view kRef = "order 77";

// Versions whose low 32 bits read as 1.
constexpr std::uint64_t kTwoPow32Plus1 = (std::uint64_t{1} << 32) + 1;
constexpr std::int64_t kMinusTwoPow32Plus1 = -(std::int64_t{1} << 32) + 1;

// A v1 topup that CommandDecoder accepts; rows change one field of it.
MapFrame ValidTopup() {
  MapFrame frame;
  frame.Set("v", Pack(1))
      .Set("op", Str("topup"))
      .Set("key", Str(kKey))
      .Set("user", Str(kUser))
      .Set("currency", Str(kCurrency))
      .Set("amount", Pack(kAmount))
      .Set("source", Str(kSource));
  return frame;
}

std::string With(std::string_view name, std::string packed_value) {
  return ValidTopup().Set(name, std::move(packed_value)).Encode();
}

std::string Without(std::string_view name) {
  return ValidTopup().Drop(name).Encode();
}

Command SampleCommand(Op op, std::string_view ref) {
  Command command;
  command.op = op;
  command.key = kKey;
  command.user = kUser;
  command.currency = kCurrency;
  command.amount_minor = kAmount;
  command.source = kSource;
  command.ref = ref;
  return command;
}

// Whether `word` occurs in `text` with no letter, digit or '_' touching it.
bool HasWord(std::string_view text, std::string_view word) {
  const auto is_word_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  };
  for (std::size_t at = text.find(word); at != std::string_view::npos;
       at = text.find(word, at + 1)) {
    const std::size_t end = at + word.size();
    if ((at == 0 || !is_word_char(text[at - 1])) &&
        (end == text.size() || !is_word_char(text[end]))) {
      return true;
    }
  }
  return false;
}

// Whether `view` lies inside `frame`, as the decoder's contract says.
bool PointsInto(std::string_view view, std::string_view frame) {
  const std::less_equal<const char*> at_or_before;
  return at_or_before(frame.data(), view.data()) &&
         at_or_before(view.data() + view.size(), frame.data() + frame.size());
}

// ---------------------------------------------------------------------------
// Commands: EncodeCommand -> CommandDecoder::Decode.

struct CommandCase {
  std::string name;
  Op op;
  std::string key;
  std::string user;
  std::string currency;
  std::int64_t amount_minor;
  std::string source;
  std::string ref;

  Command View() const {
    return Command{op, key, user, currency, amount_minor, source, ref, {}};
  }
};

void PrintTo(const CommandCase& c, std::ostream* os) { *os << c.name; }

std::vector<CommandCase> CommandCases() {
  const std::string ref_max = "\xc3\xa9" + std::string(kRefBytesMax - 2, 'r');
  return {
      {"topup", Op::kTopup, "k-1", "alice", "GOLD", 250, "game-1", ""},
      {"topup_with_ref", Op::kTopup, "k-2", "alice", "GOLD", 250, "game-1",
       "order 77"},
      {"reward", Op::kReward, "reward:42:7", "bob", "gem", 3, "quests", ""},
      {"reward_with_ref", Op::kReward, "reward:42:8", "bob", "gem", 3, "quests",
       "daily \xe2\x98\x85"},
      {"shortest_fields", Op::kTopup, "k", "u", "c", 1, "s", "r"},
      {"longest_fields", Op::kReward, std::string(kKeyBytesMax, '~'),
       std::string(kUserBytesMax, '@'), std::string(kCurrencyBytesMax, '_'),
       kAmountMinorMax, std::string(kSourceBytesMax, '.'), ref_max},
  };
}

class CommandSurvivesRoundTrip : public ::testing::TestWithParam<CommandCase> {
};

TEST_P(CommandSurvivesRoundTrip, FieldForField) {
  const Command sent = GetParam().View();
  std::string frame;
  EncodeCommand(sent, frame);

  CommandDecoder decoder;
  const DecodedCommand decoded = decoder.Decode(frame);

  ASSERT_EQ(decoded.kind, Kind::kValid) << decoded.detail;
  EXPECT_EQ(decoded.reason, Reason::kNone);
  EXPECT_EQ(decoded.detail, "");
  EXPECT_EQ(decoded.key, sent.key);
  EXPECT_EQ(decoded.source, sent.source);
  const Command& got = decoded.command;
  EXPECT_EQ(got.op, sent.op);
  EXPECT_EQ(got.key, sent.key);
  EXPECT_EQ(got.user, sent.user);
  EXPECT_EQ(got.currency, sent.currency);
  EXPECT_EQ(got.amount_minor, sent.amount_minor);
  EXPECT_EQ(got.source, sent.source);
  EXPECT_EQ(got.ref, sent.ref);
  for (std::string_view view : {got.key, got.user, got.currency, got.source}) {
    EXPECT_TRUE(PointsInto(view, frame)) << view;
  }
}

INSTANTIATE_TEST_SUITE_P(Table, CommandSurvivesRoundTrip,
                         ::testing::ValuesIn(CommandCases()),
                         ::testing::PrintToStringParamName());

TEST(EncodeCommandWire, WritesProtocolNamesAndOmitsAbsentRef) {
  std::string plain;
  EncodeCommand(SampleCommand(Op::kTopup, ""), plain);
  const WireMap wire(plain);

  EXPECT_EQ(wire.size(), 7u);
  EXPECT_EQ(wire.Int("v"), 1);
  EXPECT_EQ(wire.Str("op"), "topup");
  EXPECT_EQ(wire.Str("key"), kKey);
  EXPECT_EQ(wire.Str("user"), kUser);
  EXPECT_EQ(wire.Str("currency"), kCurrency);
  EXPECT_EQ(wire.Int("amount"), kAmount);
  EXPECT_EQ(wire.Str("source"), kSource);
  EXPECT_FALSE(wire.Has("ref"));

  std::string with_ref;
  EncodeCommand(SampleCommand(Op::kReward, kRef), with_ref);
  const WireMap wire_ref(with_ref);
  EXPECT_EQ(wire_ref.size(), 8u);
  EXPECT_EQ(wire_ref.Str("op"), "reward");
  EXPECT_EQ(wire_ref.Str("ref"), kRef);
}

// ---------------------------------------------------------------------------
// CommandDecoder::Decode classification, one row per rule.

struct DecodeCase {
  std::string name;
  std::string frame;
  Kind kind;
  Reason reason;
  std::string detail_word;  // The detail names it; empty: no detail.
  std::string key;
  std::string source;  // The valid source the result is routed by.
};

void PrintTo(const DecodeCase& c, std::ostream* os) { *os << c.name; }

DecodeCase ValidRow(std::string name, std::string frame,
                    std::string_view key = kKey,
                    std::string_view source = kSource) {
  return {.name = std::move(name),
          .frame = std::move(frame),
          .kind = Kind::kValid,
          .reason = Reason::kNone,
          .detail_word = "",
          .key = std::string(key),
          .source = std::string(source)};
}

DecodeCase RejectedRow(std::string name, std::string frame, Reason reason,
                       std::string detail_word,
                       std::string_view source = kSource) {
  return {.name = std::move(name),
          .frame = std::move(frame),
          .kind = Kind::kRejected,
          .reason = reason,
          .detail_word = std::move(detail_word),
          .key = std::string(kKey),
          .source = std::string(source)};
}

DecodeCase InvalidRow(std::string name, std::string frame,
                      std::string detail_word,
                      std::string_view source = kSource) {
  return RejectedRow(std::move(name), std::move(frame), Reason::kInvalidCommand,
                     std::move(detail_word), source);
}

// No key to answer to: nothing is echoed back.
DecodeCase UnreadableRow(std::string name, std::string frame) {
  return {.name = std::move(name),
          .frame = std::move(frame),
          .kind = Kind::kUnreadable,
          .reason = Reason::kNone,
          .detail_word = "",
          .key = "",
          .source = ""};
}

// Lengths declared with no bytes behind them. None may be allocated for:
// the frame is tiny whatever it claims.
std::vector<DecodeCase> UnbackedLengthCases() {
  return {
      UnreadableRow("str8_unbacked", Bytes({0xd9, 0xff})),
      UnreadableRow("str16_unbacked", Bytes({0xda, 0xff, 0xff})),
      UnreadableRow("str32_unbacked", Bytes({0xdb, 0xff, 0xff, 0xff, 0xff})),
      UnreadableRow("bin32_unbacked", Bytes({0xc6, 0xff, 0xff, 0xff, 0xff})),
      UnreadableRow("ext32_unbacked",
                    Bytes({0xc9, 0xff, 0xff, 0xff, 0xff, 0x01})),
      UnreadableRow("array16_unbacked", Bytes({0xdc, 0xff, 0xff})),
      UnreadableRow("array32_16m_unbacked",
                    Bytes({0xdd, 0x01, 0x00, 0x00, 0x00})),
      UnreadableRow("array32_unbacked", Bytes({0xdd, 0xff, 0xff, 0xff, 0xff})),
      UnreadableRow("map16_unbacked", Bytes({0xde, 0xff, 0xff})),
      UnreadableRow("map16_64_fields_unbacked", Bytes({0xde, 0x00, 0x40})),
      UnreadableRow("map32_16m_unbacked",
                    Bytes({0xdf, 0x01, 0x00, 0x00, 0x00})),
      UnreadableRow("map32_unbacked", Bytes({0xdf, 0xff, 0xff, 0xff, 0xff})),
      UnreadableRow("key_str32_unbacked",
                    ValidTopup()
                        .Drop("key")
                        .Set("key", Bytes({0xdb, 0xff, 0xff, 0xff, 0xff}))
                        .Encode()),
      UnreadableRow("unknown_field_str32_unbacked",
                    With("pad", Bytes({0xdb, 0xff, 0xff, 0xff, 0xff}))),
      UnreadableRow("unknown_field_array32_unbacked",
                    With("pad", Bytes({0xdd, 0xff, 0xff, 0xff, 0xff}))),
      UnreadableRow("unknown_field_map16_unbacked",
                    With("pad", Bytes({0xde, 0xff, 0xff}))),
  };
}

std::vector<DecodeCase> FrameShapeCases() {
  const std::string valid = ValidTopup().Encode();
  std::string more_fields_declared = valid;
  more_fields_declared[0] = static_cast<char>(0x88);  // fixmap of 8, not 7
  return {
      ValidRow("valid_topup", valid),
      ValidRow("fields_in_reverse_order", ValidTopup().Reverse().Encode()),
      UnreadableRow("empty_frame", ""),
      UnreadableRow("reserved_byte_c1", Bytes({0xc1})),
      UnreadableRow("json_text", R"({"v":1,"op":"topup","key":"k-1"})"),
      UnreadableRow("array_frame", ArrayOf({Str("v"), Pack(1)})),
      UnreadableRow("int_frame", Pack(7)),
      UnreadableRow("string_frame", Str("topup")),
      UnreadableRow("nil_frame", Nil()),
      UnreadableRow("trailing_byte", valid + Bytes({0x00})),
      UnreadableRow("trailing_second_map", valid + valid),
      UnreadableRow("truncated_last_byte", valid.substr(0, valid.size() - 1)),
      UnreadableRow("map_declares_more_fields", more_fields_declared),
  };
}

std::vector<DecodeCase> KeyCases() {
  return {
      ValidRow("key_1_byte", With("key", Str("k")), "k"),
      ValidRow("key_at_max", With("key", Str(std::string(kKeyBytesMax, 'k'))),
               std::string(kKeyBytesMax, 'k')),
      ValidRow("key_printable_edges", With("key", Str("!~")), "!~"),
      UnreadableRow("key_missing", Without("key")),
      UnreadableRow("key_int", With("key", Pack(1))),
      UnreadableRow("key_nil", With("key", Nil())),
      UnreadableRow("key_bin",
                    With("key", Pack(std::vector<char>{'k', '-', '1'}))),
      UnreadableRow("key_empty", With("key", Str(""))),
      UnreadableRow("key_over_max",
                    With("key", Str(std::string(kKeyBytesMax + 1, 'k')))),
      UnreadableRow("key_space", With("key", Str("k 1"))),
      UnreadableRow("key_tab", With("key", Str("k\t1"))),
      UnreadableRow("key_nul", With("key", Str(std::string("k\0001", 3)))),
      UnreadableRow("key_del", With("key", Str("k\x7f"))),
      UnreadableRow("key_non_ascii", With("key", Str("k\xc3\xa9"))),
  };
}

std::vector<DecodeCase> VersionAndOpCases() {
  const auto unsupported_version = [](std::string name, std::string v) {
    return RejectedRow(std::move(name), With("v", std::move(v)),
                       Reason::kUnsupportedVersion, "v");
  };
  const auto unsupported_op = [](std::string name, std::string_view op) {
    return RejectedRow(std::move(name), With("op", Str(op)),
                       Reason::kUnsupportedOp, "op");
  };
  return {
      ValidRow("v_in_uint64_format",
               With("v", Bytes({0xcf, 0, 0, 0, 0, 0, 0, 0, 1}))),
      InvalidRow("v_missing", Without("v"), "v"),
      InvalidRow("v_string", With("v", Str("1")), "v"),
      InvalidRow("v_float64_one", With("v", Float64One()), "v"),
      InvalidRow("v_float32_one", With("v", Float32One()), "v"),
      InvalidRow("v_nil", With("v", Nil()), "v"),
      InvalidRow("v_bool", With("v", Pack(true)), "v"),
      unsupported_version("v_zero", Pack(0)),
      unsupported_version("v_two", Pack(2)),
      unsupported_version("v_negative", Pack(-1)),
      unsupported_version("v_2pow32_plus_1", Pack(kTwoPow32Plus1)),
      unsupported_version("v_uint64_max",
                          Pack(std::numeric_limits<std::uint64_t>::max())),
      // Routing needs a valid source; an invalid one is not echoed.
      RejectedRow(
          "v_two_with_invalid_source",
          ValidTopup().Set("v", Pack(2)).Set("source", Str("a b")).Encode(),
          Reason::kUnsupportedVersion, "v", ""),
      ValidRow("op_reward", With("op", Str("reward"))),
      InvalidRow("op_missing", Without("op"), "op"),
      InvalidRow("op_int", With("op", Pack(0)), "op"),
      InvalidRow("op_nil", With("op", Nil()), "op"),
      unsupported_op("op_withdraw", "withdraw"),
      unsupported_op("op_foo", "foo"),
      unsupported_op("op_uppercase", "TOPUP"),
      unsupported_op("op_empty", ""),
  };
}

std::vector<DecodeCase> UserAndCurrencyCases() {
  const std::string user_max(kUserBytesMax, 'u');
  const std::string currency_max(kCurrencyBytesMax, 'C');
  return {
      ValidRow("user_at_max", With("user", Str(user_max))),
      ValidRow("user_all_id_chars", With("user", Str("aZ09._:@-"))),
      InvalidRow("user_missing", Without("user"), "user"),
      InvalidRow("user_empty", With("user", Str("")), "user"),
      InvalidRow("user_over_max", With("user", Str(user_max + "u")), "user"),
      InvalidRow("user_space", With("user", Str("al ice")), "user"),
      InvalidRow("user_slash", With("user", Str("a/b")), "user"),
      InvalidRow("user_non_ascii", With("user", Str("j\xc3\xb6rg")), "user"),
      InvalidRow("user_int", With("user", Pack(42)), "user"),
      ValidRow("currency_at_max", With("currency", Str(currency_max))),
      ValidRow("currency_all_chars", With("currency", Str("aZ09_"))),
      InvalidRow("currency_missing", Without("currency"), "currency"),
      InvalidRow("currency_empty", With("currency", Str("")), "currency"),
      InvalidRow("currency_over_max", With("currency", Str(currency_max + "C")),
                 "currency"),
      InvalidRow("currency_dash", With("currency", Str("GO-LD")), "currency"),
      InvalidRow("currency_dot", With("currency", Str("GO.LD")), "currency"),
      InvalidRow("currency_int", With("currency", Pack(978)), "currency"),
  };
}

std::vector<DecodeCase> AmountCases() {
  const auto invalid_amount = [](std::string name, std::string amount) {
    return InvalidRow(std::move(name), With("amount", std::move(amount)),
                      "amount");
  };
  return {
      ValidRow("amount_one", With("amount", Pack(1))),
      ValidRow("amount_at_max", With("amount", Pack(kAmountMinorMax))),
      ValidRow("amount_in_int64_format",
               With("amount", Bytes({0xd3, 0, 0, 0, 0, 0, 0, 0, 250}))),
      InvalidRow("amount_missing", Without("amount"), "amount"),
      invalid_amount("amount_zero", Pack(0)),
      invalid_amount("amount_negative", Pack(-1)),
      invalid_amount("amount_int64_min",
                     Pack(std::numeric_limits<std::int64_t>::min())),
      invalid_amount("amount_float64_one", Float64One()),
      invalid_amount("amount_float32_one", Float32One()),
      invalid_amount("amount_float_fraction", Pack(2.5)),
      invalid_amount("amount_string", Str("10")),
      invalid_amount("amount_nil", Nil()),
      invalid_amount("amount_over_max", Pack(kAmountMinorMax + 1)),
      invalid_amount("amount_int64_max",
                     Pack(std::numeric_limits<std::int64_t>::max())),
      invalid_amount("amount_uint64_max",
                     Pack(std::numeric_limits<std::uint64_t>::max())),
  };
}

std::vector<DecodeCase> SourceAndRefCases() {
  const std::string source_max(kSourceBytesMax, 's');
  const auto invalid_source = [](std::string name, std::string frame) {
    return InvalidRow(std::move(name), std::move(frame), "source", "");
  };
  const std::string ref_max = std::string(kRefBytesMax - 2, 'r') + "\xc3\xa9";
  return {
      ValidRow("source_at_max", With("source", Str(source_max)), kKey,
               source_max),
      invalid_source("source_missing", Without("source")),
      invalid_source("source_empty", With("source", Str(""))),
      invalid_source("source_over_max", With("source", Str(source_max + "s"))),
      invalid_source("source_space", With("source", Str("game 1"))),
      invalid_source("source_slash", With("source", Str("game/1"))),
      invalid_source("source_int", With("source", Pack(1))),
      ValidRow("ref_present", With("ref", Str(kRef))),
      ValidRow("ref_nil_is_absent", With("ref", Nil())),
      ValidRow("ref_empty", With("ref", Str(""))),
      ValidRow("ref_at_max", With("ref", Str(ref_max))),
      InvalidRow("ref_over_max", With("ref", Str(ref_max + "r")), "ref"),
      InvalidRow("ref_invalid_utf8", With("ref", Str("a\xc3(")), "ref"),
      InvalidRow("ref_overlong_utf8", With("ref", Str("\xc0\xaf")), "ref"),
      InvalidRow("ref_newline", With("ref", Str("a\nb")), "ref"),
      InvalidRow("ref_del", With("ref", Str("a\x7f")), "ref"),
      InvalidRow("ref_int", With("ref", Pack(77)), "ref"),
  };
}

std::vector<DecodeCase> FieldNameCases() {
  const auto extra = [](std::string packed_name, std::string packed_value) {
    return ValidTopup()
        .Add(std::move(packed_name), std::move(packed_value))
        .Encode();
  };
  return {
      InvalidRow("duplicate_amount_same_value",
                 extra(Str("amount"), Pack(kAmount)), "twice"),
      InvalidRow("duplicate_v", extra(Str("v"), Pack(1)), "twice"),
      InvalidRow("duplicate_key", extra(Str("key"), Str(kKey)), "twice"),
      InvalidRow("duplicate_source", extra(Str("source"), Str(kSource)),
                 "twice"),
      InvalidRow(
          "duplicate_ref",
          ValidTopup().Set("ref", Str("a")).Add(Str("ref"), Str("b")).Encode(),
          "twice"),
      InvalidRow("field_name_int", extra(Pack(1), Str("x")), "names"),
      InvalidRow("field_name_nil", extra(Nil(), Str("x")), "names"),
      InvalidRow("field_name_bin",
                 extra(Pack(std::vector<char>{'r', 'e', 'f'}), Str("x")),
                 "names"),
  };
}

std::vector<DecodeCase> UnknownFieldCases() {
  const std::string inner_map =
      MapFrame().Set("region", Str("eu")).Set("shard", Pack(3)).Encode();
  return {
      ValidRow("unknown_string_field", With("trace", Str("abc"))),
      ValidRow("unknown_nil_field", With("trace", Nil())),
      ValidRow("unknown_map_field", With("meta", inner_map)),
      ValidRow("unknown_array_field",
               With("tags", ArrayOf({Str("a"), Pack(1)}))),
      // The command map itself is the first level.
      ValidRow("unknown_maps_at_depth_max",
               With("meta", NestedMaps(kDecodeDepthMax - 1))),
      ValidRow("unknown_arrays_at_depth_max",
               With("meta", NestedArrays(kDecodeDepthMax - 1))),
      UnreadableRow("unknown_maps_over_depth_max",
                    With("meta", NestedMaps(kDecodeDepthMax))),
      UnreadableRow("unknown_arrays_over_depth_max",
                    With("meta", NestedArrays(kDecodeDepthMax))),
  };
}

// A batch: alice spends 100 gold and gains 1 gem, and gifts 5 gold to bob.
MapFrame LegFrame(std::string_view op, std::string_view currency,
                  std::int64_t amount) {
  MapFrame leg;
  leg.Set("op", Str(op))
      .Set("currency", Str(currency))
      .Set("amount", Pack(amount));
  return leg;
}

MapFrame ValidBatch(std::vector<std::string> legs) {
  MapFrame frame;
  frame.Set("v", Pack(1))
      .Set("op", Str("batch"))
      .Set("key", Str(kKey))
      .Set("user", Str(kUser))
      .Set("source", Str(kSource))
      .Set("legs", ArrayOf(std::move(legs)));
  return frame;
}

std::vector<std::string> PurchaseLegs() {
  return {LegFrame("spend", "gold", 100).Encode(),
          LegFrame("reward", "gems", 1).Encode(),
          LegFrame("topup", "gold", 5).Set("user", Str("bob")).Encode()};
}

std::vector<DecodeCase> BatchCases() {
  const auto with_leg = [](MapFrame leg) {
    std::vector<std::string> legs = PurchaseLegs();
    legs[1] = leg.Encode();
    return ValidBatch(legs).Encode();
  };
  std::vector<std::string> sixteen(kLegsMax,
                                   LegFrame("topup", "gold", 1).Encode());
  std::vector<std::string> seventeen(kLegsMax + 1,
                                     LegFrame("topup", "gold", 1).Encode());
  return {
      ValidRow("batch_purchase_and_gift", ValidBatch(PurchaseLegs()).Encode()),
      ValidRow("batch_16_legs", ValidBatch(sixteen).Encode()),
      ValidRow("batch_ignores_top_level_amount",
               ValidBatch(PurchaseLegs()).Set("amount", Str("x")).Encode()),
      InvalidRow("batch_17_legs", ValidBatch(seventeen).Encode(), "legs"),
      InvalidRow("batch_no_legs", ValidBatch({}).Encode(), "legs"),
      InvalidRow("batch_legs_missing",
                 ValidBatch(PurchaseLegs()).Drop("legs").Encode(), "legs"),
      InvalidRow("batch_legs_map",
                 ValidBatch(PurchaseLegs())
                     .Set("legs", LegFrame("topup", "gold", 1).Encode())
                     .Encode(),
                 "legs"),
      InvalidRow("batch_leg_not_map", with_leg(MapFrame().Set("x", Pack(1))),
                 "leg"),
      InvalidRow("batch_leg_op_batch", with_leg(LegFrame("batch", "gold", 1)),
                 "op"),
      InvalidRow("batch_leg_op_unknown",
                 with_leg(LegFrame("withdraw", "gold", 1)), "op"),
      InvalidRow("batch_leg_amount_zero",
                 with_leg(LegFrame("topup", "gold", 0)), "amount"),
      InvalidRow("batch_leg_amount_over_max",
                 with_leg(LegFrame("topup", "gold", kAmountMinorMax + 1)),
                 "amount"),
      InvalidRow("batch_leg_amount_negative",
                 with_leg(LegFrame("spend", "gold", -5)), "amount"),
      InvalidRow("batch_leg_currency_bad",
                 with_leg(LegFrame("topup", "go ld", 1)), "currency"),
      InvalidRow("batch_leg_user_bad",
                 with_leg(LegFrame("topup", "gold", 1).Set("user", Str("a/b"))),
                 "user"),
      InvalidRow(
          "batch_leg_field_twice",
          with_leg(LegFrame("topup", "gold", 1).Add(Str("amount"), Pack(2))),
          "leg"),
  };
}

std::vector<DecodeCase> AllDecodeCases() {
  std::vector<DecodeCase> cases;
  for (auto* group :
       {FrameShapeCases, UnbackedLengthCases, KeyCases, VersionAndOpCases,
        UserAndCurrencyCases, AmountCases, SourceAndRefCases, FieldNameCases,
        UnknownFieldCases, BatchCases}) {
    for (DecodeCase& c : group()) cases.push_back(std::move(c));
  }
  return cases;
}

class DecodeClassifiesFrame : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(DecodeClassifiesFrame, AsTheTableSays) {
  const DecodeCase& c = GetParam();
  CommandDecoder decoder;
  const DecodedCommand decoded = decoder.Decode(c.frame);

  EXPECT_EQ(decoded.kind, c.kind);
  EXPECT_EQ(decoded.reason, c.reason);
  EXPECT_EQ(decoded.key, c.key);
  EXPECT_EQ(decoded.source, c.source);
  if (c.detail_word.empty()) {
    EXPECT_EQ(decoded.detail, "");
  } else {
    EXPECT_TRUE(HasWord(decoded.detail, c.detail_word))
        << "detail \"" << decoded.detail << "\" does not name \""
        << c.detail_word << "\"";
  }
}

INSTANTIATE_TEST_SUITE_P(Table, DecodeClassifiesFrame,
                         ::testing::ValuesIn(AllDecodeCases()),
                         ::testing::PrintToStringParamName());

TEST(DecodeBatch, LegsDefaultToTheCommandsUserAndSurviveEncoding) {
  CommandDecoder decoder;
  const std::string frame = ValidBatch(PurchaseLegs()).Encode();
  const DecodedCommand decoded = decoder.Decode(frame);
  ASSERT_EQ(decoded.kind, Kind::kValid);
  const Command& command = decoded.command;
  EXPECT_EQ(command.op, Op::kBatch);
  ASSERT_EQ(command.legs.size(), 3u);
  EXPECT_EQ(command.legs[0].op, Op::kSpend);
  EXPECT_EQ(command.legs[0].user, kUser);
  EXPECT_EQ(command.legs[1].currency, "gems");
  EXPECT_EQ(command.legs[2].user, "bob");
  EXPECT_EQ(command.legs[2].amount_minor, 5);

  // Encoding and decoding again gives the same legs.
  std::string encoded;
  EncodeCommand(command, encoded);
  CommandDecoder again;
  const DecodedCommand round = again.Decode(encoded);
  ASSERT_EQ(round.kind, Kind::kValid);
  ASSERT_EQ(round.command.legs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(round.command.legs[i].op, command.legs[i].op);
    EXPECT_EQ(round.command.legs[i].user, command.legs[i].user);
    EXPECT_EQ(round.command.legs[i].currency, command.legs[i].currency);
    EXPECT_EQ(round.command.legs[i].amount_minor, command.legs[i].amount_minor);
  }
}

TEST(DecodeBatch, ResultCarriesEachLegAndTheFailedLeg) {
  CommandDecoder decoder;
  const std::string frame = ValidBatch(PurchaseLegs()).Encode();
  const DecodedCommand decoded = decoder.Decode(frame);
  ASSERT_EQ(decoded.kind, Kind::kValid);

  Outcome applied;
  applied.status = Status::kApplied;
  applied.legs = {{0, 2}, {1, 1}, {5, 1}};
  std::string payload;
  EncodeResult(decoded.key, &decoded.command, applied, {}, payload);
  Result result;
  ASSERT_TRUE(DecodeResult(payload, result));
  EXPECT_TRUE(result.has_command);
  EXPECT_EQ(result.op, Op::kBatch);
  EXPECT_FALSE(result.outcome.has_balance);
  ASSERT_EQ(result.legs.size(), 3u);
  EXPECT_EQ(result.legs[2].user, "bob");
  EXPECT_TRUE(result.legs[2].has_balance);
  EXPECT_EQ(result.legs[2].balance_minor, 5);
  EXPECT_EQ(result.legs[0].version, 2u);

  Outcome refused;
  refused.status = Status::kRejected;
  refused.reason = Reason::kInsufficientFunds;
  refused.has_balance = true;
  refused.balance_minor = 40;
  refused.version = 3;
  refused.failed_leg = 0;
  payload.clear();
  EncodeResult(decoded.key, &decoded.command, refused, {}, payload);
  ASSERT_TRUE(DecodeResult(payload, result));
  EXPECT_EQ(result.outcome.reason, Reason::kInsufficientFunds);
  EXPECT_EQ(result.outcome.failed_leg, 0);
  EXPECT_EQ(result.outcome.balance_minor, 40);
  ASSERT_EQ(result.legs.size(), 3u);
  EXPECT_FALSE(result.legs[0].has_balance);
}

TEST(DecodeFrameSize, AcceptsTheLimitAndRefusesOneByteMore) {
  const std::string at_max = PaddedTo(ValidTopup(), kCommandFrameBytesMax);
  const std::string over_max =
      PaddedTo(ValidTopup(), kCommandFrameBytesMax + 1);
  ASSERT_EQ(at_max.size(), kCommandFrameBytesMax);
  ASSERT_EQ(over_max.size(), kCommandFrameBytesMax + 1);

  CommandDecoder decoder;
  EXPECT_EQ(decoder.Decode(at_max).kind, Kind::kValid);
  const DecodedCommand over = decoder.Decode(over_max);
  EXPECT_EQ(over.kind, Kind::kUnreadable);
  EXPECT_EQ(over.key, "");
}

// Heap bytes handed out and not yet returned, as this build's allocator
// counts them.
std::size_t HeapBytesInUse() {
#ifdef WALLET_TEST_SANITIZER_HEAP
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
#endif
}

TEST(DecodeUnbackedLengths, AllocateNothingForWhatIsNotThere) {
  // Well under the 1.5 MiB that array16_unbacked alone would cost if its
  // declared length were believed.
  constexpr std::size_t kGrowthBytesMax = 64 * 1024;
  CommandDecoder decoder;
  for (const DecodeCase& c : UnbackedLengthCases()) {
    SCOPED_TRACE(c.name);
    const std::size_t before = HeapBytesInUse();
    const DecodedCommand decoded = decoder.Decode(c.frame);
    const std::size_t after = HeapBytesInUse();
    EXPECT_EQ(decoded.kind, Kind::kUnreadable);
    EXPECT_LE(after, before + kGrowthBytesMax);
  }
}

TEST(DecodeNullFrame, IsUnreadable) {
  CommandDecoder decoder;
  const DecodedCommand decoded = decoder.Decode(std::string_view());
  EXPECT_EQ(decoded.kind, Kind::kUnreadable);
  EXPECT_EQ(decoded.key, "");
}

TEST(CommandDecoderReuse, EarlierViewsSurviveLaterFrames) {
  const std::string first = ValidTopup().Set("ref", Str(kRef)).Encode();
  const std::string second = ValidTopup()
                                 .Set("op", Str("reward"))
                                 .Set("key", Str("k-2"))
                                 .Set("user", Str("bob"))
                                 .Encode();
  CommandDecoder decoder;

  const DecodedCommand a = decoder.Decode(first);
  const DecodedCommand hostile = decoder.Decode(Bytes({0xdf, 0, 0, 0, 64}));
  const DecodedCommand b = decoder.Decode(second);

  EXPECT_EQ(hostile.kind, Kind::kUnreadable);
  ASSERT_EQ(a.kind, Kind::kValid);
  ASSERT_EQ(b.kind, Kind::kValid);
  EXPECT_EQ(a.command.op, Op::kTopup);
  EXPECT_EQ(a.command.key, kKey);
  EXPECT_EQ(a.command.user, kUser);
  EXPECT_EQ(a.command.ref, kRef);
  EXPECT_EQ(b.command.op, Op::kReward);
  EXPECT_EQ(b.command.key, "k-2");
  EXPECT_EQ(b.command.user, "bob");
  EXPECT_EQ(b.command.ref, "");
}

// ---------------------------------------------------------------------------
// Results: EncodeResult -> DecodeResult.

struct ResultCase {
  std::string name;
  std::optional<Command> command;
  Outcome outcome;
  std::string detail;
};

void PrintTo(const ResultCase& c, std::ostream* os) { *os << c.name; }

Outcome Settled(Status status, std::int64_t balance_minor,
                std::uint64_t version) {
  Outcome outcome;
  outcome.status = status;
  outcome.has_balance = true;
  outcome.balance_minor = balance_minor;
  outcome.version = version;
  return outcome;
}

Outcome Rejection(Reason reason, Field field = Field::kNone) {
  Outcome outcome;
  outcome.status = Status::kRejected;
  outcome.reason = reason;
  outcome.field = field;
  return outcome;
}

std::vector<ResultCase> ResultCases() {
  const Command plain = SampleCommand(Op::kTopup, "");
  const Command reward_ref = SampleCommand(Op::kReward, kRef);
  Outcome overflow_found = Rejection(Reason::kBalanceOverflow);
  overflow_found.has_balance = true;
  overflow_found.balance_minor = kBalanceMinorMax - 1;
  overflow_found.version = 41;

  std::vector<ResultCase> cases = {
      {"applied_topup", plain, Settled(Status::kApplied, 1250, 3), ""},
      {"applied_reward_with_ref", reward_ref,
       Settled(Status::kApplied, 1250, 4), ""},
      {"applied_at_balance_max", plain,
       Settled(Status::kApplied, kBalanceMinorMax,
               std::numeric_limits<std::uint64_t>::max()),
       ""},
      {"duplicate", plain, Settled(Status::kDuplicate, 1250, 3), ""},
      {"duplicate_with_ref", reward_ref, Settled(Status::kDuplicate, 9, 1), ""},
      {"invalid_command_without_command", std::nullopt,
       Rejection(Reason::kInvalidCommand), "amount must be positive"},
      {"invalid_command_with_command", reward_ref,
       Rejection(Reason::kInvalidCommand), "ref must be short"},
      {"unsupported_version_without_command", std::nullopt,
       Rejection(Reason::kUnsupportedVersion), ""},
      {"unsupported_op_without_command", std::nullopt,
       Rejection(Reason::kUnsupportedOp), ""},
      {"key_conflict_without_command", std::nullopt,
       Rejection(Reason::kKeyConflict, Field::kAmount), ""},
      {"balance_overflow_without_command", std::nullopt,
       Rejection(Reason::kBalanceOverflow), ""},
      {"balance_overflow_with_command", plain,
       Rejection(Reason::kBalanceOverflow), ""},
      {"balance_overflow_retried_with_balance", reward_ref, overflow_found, ""},
  };
  for (Field field : {Field::kOp, Field::kUser, Field::kCurrency,
                      Field::kAmount, Field::kSource, Field::kRef}) {
    cases.push_back({"key_conflict_on_" + std::string(FieldName(field)),
                     reward_ref, Rejection(Reason::kKeyConflict, field), ""});
  }
  return cases;
}

// What a subscriber must see for `c`: everything that was sent.
Result ExpectedResult(const ResultCase& c) {
  Result result;
  result.key = kKey;
  result.outcome = c.outcome;
  result.detail = c.detail;
  if (c.command) {
    result.has_command = true;
    result.op = c.command->op;
    result.user = c.command->user;
    result.currency = c.command->currency;
    result.amount_minor = c.command->amount_minor;
    result.source = c.command->source;
    result.ref = c.command->ref;
  }
  return result;
}

class ResultSurvivesRoundTrip : public ::testing::TestWithParam<ResultCase> {};

TEST_P(ResultSurvivesRoundTrip, FieldForField) {
  const ResultCase& c = GetParam();
  std::string payload;
  EncodeResult(kKey, c.command ? &*c.command : nullptr, c.outcome, c.detail,
               payload);

  Result got;
  ASSERT_TRUE(DecodeResult(payload, got));

  const Result want = ExpectedResult(c);
  EXPECT_EQ(got.key, want.key);
  EXPECT_EQ(got.outcome.status, want.outcome.status);
  EXPECT_EQ(got.outcome.reason, want.outcome.reason);
  EXPECT_EQ(got.outcome.field, want.outcome.field);
  EXPECT_EQ(got.outcome.has_balance, want.outcome.has_balance);
  EXPECT_EQ(got.outcome.balance_minor, want.outcome.balance_minor);
  EXPECT_EQ(got.outcome.version, want.outcome.version);
  EXPECT_EQ(got.detail, want.detail);
  EXPECT_EQ(got.has_command, want.has_command);
  EXPECT_EQ(got.op, want.op);
  EXPECT_EQ(got.user, want.user);
  EXPECT_EQ(got.currency, want.currency);
  EXPECT_EQ(got.amount_minor, want.amount_minor);
  EXPECT_EQ(got.source, want.source);
  EXPECT_EQ(got.ref, want.ref);
}

INSTANTIATE_TEST_SUITE_P(Table, ResultSurvivesRoundTrip,
                         ::testing::ValuesIn(ResultCases()),
                         ::testing::PrintToStringParamName());

TEST(EncodeResultWire, WritesOnlyTheFieldsThatApply) {
  const Command command = SampleCommand(Op::kReward, kRef);
  Outcome conflict = Rejection(Reason::kKeyConflict, Field::kAmount);
  conflict.has_balance = true;
  conflict.balance_minor = 500;
  conflict.version = 2;
  std::string rejected;
  EncodeResult(kKey, &command, conflict, "", rejected);
  const WireMap wire(rejected);

  EXPECT_EQ(wire.size(), 13u);
  EXPECT_EQ(wire.Int("v"), 1);
  EXPECT_EQ(wire.Str("key"), kKey);
  EXPECT_EQ(wire.Str("status"), "rejected");
  EXPECT_EQ(wire.Str("reason"), "key_conflict");
  EXPECT_EQ(wire.Str("field"), "amount");
  EXPECT_FALSE(wire.Has("detail"));
  EXPECT_EQ(wire.Str("op"), "reward");
  EXPECT_EQ(wire.Str("user"), kUser);
  EXPECT_EQ(wire.Str("currency"), kCurrency);
  EXPECT_EQ(wire.Int("amount"), kAmount);
  EXPECT_EQ(wire.Str("source"), kSource);
  EXPECT_EQ(wire.Str("ref"), kRef);
  EXPECT_EQ(wire.Int("balance"), 500);
  EXPECT_EQ(wire.Uint("version"), 2u);

  std::string unreadable;
  EncodeResult(kKey, nullptr, Rejection(Reason::kInvalidCommand),
               "missing field: v", unreadable);
  const WireMap bare(unreadable);
  EXPECT_EQ(bare.size(), 5u);
  EXPECT_EQ(bare.Str("reason"), "invalid_command");
  EXPECT_EQ(bare.Str("detail"), "missing field: v");

  std::string applied;
  EncodeResult(kKey, &command, Settled(Status::kApplied, 750, 3), "", applied);
  const WireMap ok(applied);
  EXPECT_EQ(ok.size(), 11u);
  EXPECT_EQ(ok.Str("status"), "applied");
  EXPECT_FALSE(ok.Has("reason"));
  EXPECT_FALSE(ok.Has("field"));
}

// ---------------------------------------------------------------------------
// Balance events: EncodeBalanceEvent -> DecodeBalanceEvent.

class BalanceEventSurvivesRoundTrip : public ::testing::TestWithParam<Op> {};

TEST_P(BalanceEventSurvivesRoundTrip, WithTheSignedDelta) {
  Command command = SampleCommand(GetParam(), kRef);
  command.amount_minor = kAmountMinorMax;
  const Outcome outcome = Settled(Status::kApplied, kBalanceMinorMax, 1u << 20);
  std::string payload;
  EncodeBalanceEvent(command, outcome, payload);

  BalanceEvent got;
  ASSERT_TRUE(DecodeBalanceEvent(payload, got));
  EXPECT_EQ(got.user, kUser);
  EXPECT_EQ(got.currency, kCurrency);
  EXPECT_EQ(got.balance_minor, kBalanceMinorMax);
  // Both v1 operations are credits.
  EXPECT_EQ(got.delta_minor, kAmountMinorMax);
  EXPECT_EQ(got.version, 1u << 20);
  EXPECT_EQ(got.key, kKey);
  EXPECT_EQ(got.op, GetParam());
  EXPECT_EQ(got.source, kSource);

  const WireMap wire(payload);
  EXPECT_EQ(wire.size(), 9u);
  EXPECT_EQ(wire.Int("delta"), kAmountMinorMax);
  EXPECT_EQ(wire.Str("op"), OpName(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Ops, BalanceEventSurvivesRoundTrip,
                         ::testing::Values(Op::kTopup, Op::kReward),
                         [](const ::testing::TestParamInfo<Op>& op_info) {
                           return std::string(OpName(op_info.param));
                         });

// ---------------------------------------------------------------------------
// Queries: EncodeBalanceQuery -> DecodeQuery.

MapFrame ValidQuery() {
  MapFrame frame;
  frame.Set("v", Pack(1)).Set("op", Str("balance")).Set("user", Str(kUser));
  return frame;
}

// "user=<user>" for a balance request, "history user=<user> limit=<n>
// before=<seq>" for a history request, "error=<name>" for a refusal.
std::string Describe(const Query& query) {
  if (const auto* request = std::get_if<BalanceQuery>(&query)) {
    return "user=" + request->user;
  }
  if (const auto* request = std::get_if<HistoryQuery>(&query)) {
    return "history user=" + request->user +
           " limit=" + std::to_string(request->limit) +
           " before=" + std::to_string(request->before);
  }
  return "error=" + std::string(std::get<std::string_view>(query));
}

MapFrame HistoryQueryFrame() {
  MapFrame frame;
  frame.Set("v", Pack(1)).Set("op", Str("history")).Set("user", Str(kUser));
  return frame;
}

struct QueryCase {
  std::string name;
  std::string frame;
  std::string want;  // As Describe() writes it.
};

void PrintTo(const QueryCase& c, std::ostream* os) { *os << c.name; }

std::vector<QueryCase> QueryCases() {
  std::string encoded;
  EncodeBalanceQuery(kUser, encoded);
  const std::string user_max(kUserBytesMax, 'u');
  const std::string malformed = "error=" + std::string(kQueryErrorMalformed);
  const std::string version = "error=" + std::string(kQueryErrorVersion);
  const std::string op = "error=" + std::string(kQueryErrorOp);
  const std::string user = "error=" + std::string(kQueryErrorUser);
  const std::string limit = "error=" + std::string(kQueryErrorLimit);
  const std::string cursor = "error=" + std::string(kQueryErrorCursor);
  const auto with = [](std::string_view name, std::string value) {
    return ValidQuery().Set(name, std::move(value)).Encode();
  };
  const auto history_with = [](std::string_view name, std::string value) {
    return HistoryQueryFrame().Set(name, std::move(value)).Encode();
  };
  std::string history_encoded;
  EncodeHistoryQuery({std::string(kUser), kHistoryPageMax, 42},
                     history_encoded);
  const auto without = [](std::string_view name) {
    return ValidQuery().Drop(name).Encode();
  };
  return {
      {"encoded_query", encoded, "user=alice"},
      {"user_at_max", with("user", Str(user_max)), "user=" + user_max},
      {"unknown_field", with("trace", Str("x")), "user=alice"},
      {"at_frame_size_max", PaddedTo(ValidQuery(), kCommandFrameBytesMax),
       "user=alice"},
      {"over_frame_size_max", PaddedTo(ValidQuery(), kCommandFrameBytesMax + 1),
       malformed},
      {"empty_frame", "", malformed},
      {"reserved_byte_c1", Bytes({0xc1}), malformed},
      {"array_frame", ArrayOf({Pack(1)}), malformed},
      {"trailing_byte", encoded + Bytes({0x00}), malformed},
      {"nested_over_depth_max", with("meta", NestedMaps(kDecodeDepthMax)),
       malformed},
      {"v_missing", without("v"), malformed},
      {"v_string", with("v", Str("1")), malformed},
      {"v_two", with("v", Pack(2)), version},
      {"v_negative", with("v", Pack(-1)), version},
      // int32 truncation of these gives 1; neither is version 1.
      {"v_2pow32_plus_1", with("v", Pack(kTwoPow32Plus1)), version},
      {"v_minus_2pow32_plus_1", with("v", Pack(kMinusTwoPow32Plus1)), version},
      {"op_missing", without("op"), malformed},
      {"op_int", with("op", Pack(1)), malformed},
      {"op_topup", with("op", Str("topup")), op},
      {"user_missing", without("user"), user},
      {"user_empty", with("user", Str("")), user},
      {"user_over_max", with("user", Str(user_max + "u")), user},
      {"user_slash", with("user", Str("a/b")), user},
      {"user_int", with("user", Pack(7)), user},
      // History: optional limit and cursor, each checked.
      {"history_defaults", HistoryQueryFrame().Encode(),
       "history user=alice limit=20 before=0"},
      {"history_encoded", history_encoded,
       "history user=alice limit=100 before=42"},
      {"history_limit_1", history_with("limit", Pack(1)),
       "history user=alice limit=1 before=0"},
      {"history_limit_0", history_with("limit", Pack(0)), limit},
      {"history_limit_over_max",
       history_with("limit", Pack(kHistoryPageMax + 1)), limit},
      {"history_limit_string", history_with("limit", Str("5")), limit},
      {"history_before_nil", history_with("before", Nil()),
       "history user=alice limit=20 before=0"},
      {"history_before_negative", history_with("before", Pack(-3)), cursor},
      {"history_before_string", history_with("before", Str("9")), cursor},
      {"history_user_missing", HistoryQueryFrame().Drop("user").Encode(), user},
  };
}

class QueryDecodes : public ::testing::TestWithParam<QueryCase> {};

TEST_P(QueryDecodes, AsTheTableSays) {
  const QueryCase& c = GetParam();
  EXPECT_EQ(Describe(DecodeQuery(c.frame)), c.want);
}

INSTANTIATE_TEST_SUITE_P(Table, QueryDecodes, ::testing::ValuesIn(QueryCases()),
                         ::testing::PrintToStringParamName());

// ---------------------------------------------------------------------------
// Balance replies: EncodeBalanceReply -> DecodeBalanceReply.

RecentOp SampleRecent(Op op, std::string_view ref, std::uint64_t version) {
  RecentOp recent;
  recent.op = op;
  recent.currency = kCurrency;
  recent.amount_minor = kAmount + static_cast<std::int64_t>(version);
  recent.key = "k-" + std::to_string(version);
  recent.ref = ref;
  recent.source = kSource;
  recent.balance_minor = 1000 + static_cast<std::int64_t>(version);
  recent.version = version;
  recent.time_ms = 1'733'250'000'000 + static_cast<std::int64_t>(version);
  return recent;
}

struct ReplyCase {
  std::string name;
  BalanceReply reply;
};

void PrintTo(const ReplyCase& c, std::ostream* os) { *os << c.name; }

std::vector<ReplyCase> ReplyCases() {
  BalanceReply empty;
  empty.user = kUser;

  BalanceReply full;
  full.user = std::string(kUserBytesMax, 'u');
  full.balances = {{"GEM", 5, 2},
                   {"GOLD", kBalanceMinorMax, 7},
                   {std::string(kCurrencyBytesMax, 'Z'), 0, 1}};
  for (std::uint64_t version = kRecentOpsMax; version > 0; --version) {
    const Op op = version % 2 == 0 ? Op::kReward : Op::kTopup;
    full.recent.push_back(SampleRecent(
        op, version % 3 == 0 ? std::string_view() : kRef, version));
  }
  return {{"no_accounts", empty}, {"full", full}};
}

// A reply left over from an earlier decode, which must not leak through.
BalanceReply StaleReply() {
  BalanceReply stale;
  stale.user = "stale";
  stale.balances = {{"OLD", 1, 1}};
  stale.recent = {SampleRecent(Op::kTopup, "old", 99)};
  return stale;
}

class BalanceReplySurvivesRoundTrip
    : public ::testing::TestWithParam<ReplyCase> {};

TEST_P(BalanceReplySurvivesRoundTrip, ReplacingWhatWasThere) {
  const BalanceReply& sent = GetParam().reply;
  std::string payload;
  EncodeBalanceReply(sent, payload);

  BalanceReply got = StaleReply();
  std::string error = "unset";
  ASSERT_TRUE(DecodeBalanceReply(payload, got, error)) << error;
  EXPECT_EQ(error, "");

  EXPECT_EQ(got.user, sent.user);
  ASSERT_EQ(got.balances.size(), sent.balances.size());
  for (std::size_t i = 0; i < sent.balances.size(); ++i) {
    SCOPED_TRACE("balance " + std::to_string(i));
    EXPECT_EQ(got.balances[i].currency, sent.balances[i].currency);
    EXPECT_EQ(got.balances[i].balance_minor, sent.balances[i].balance_minor);
    EXPECT_EQ(got.balances[i].version, sent.balances[i].version);
  }
  ASSERT_EQ(got.recent.size(), sent.recent.size());
  for (std::size_t i = 0; i < sent.recent.size(); ++i) {
    SCOPED_TRACE("recent " + std::to_string(i));
    const RecentOp& g = got.recent[i];
    const RecentOp& s = sent.recent[i];
    EXPECT_EQ(g.op, s.op);
    EXPECT_EQ(g.currency, s.currency);
    EXPECT_EQ(g.amount_minor, s.amount_minor);
    EXPECT_EQ(g.key, s.key);
    EXPECT_EQ(g.ref, s.ref);
    EXPECT_EQ(g.source, s.source);
    EXPECT_EQ(g.balance_minor, s.balance_minor);
    EXPECT_EQ(g.version, s.version);
    EXPECT_EQ(g.time_ms, s.time_ms);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, BalanceReplySurvivesRoundTrip,
                         ::testing::ValuesIn(ReplyCases()),
                         ::testing::PrintToStringParamName());

TEST(HistoryReplySurvivesRoundTrip, WithAndWithoutANextPage) {
  for (const std::uint64_t next : {std::uint64_t{0}, std::uint64_t{12}}) {
    SCOPED_TRACE("next_before=" + std::to_string(next));
    HistoryReply sent;
    sent.user = kUser;
    for (std::uint64_t seq = 15; seq > 12; --seq) {
      sent.ops.push_back(SampleRecent(Op::kSpend, kRef, seq));
      sent.ops.back().seq = seq;
    }
    sent.next_before = next;
    std::string payload;
    EncodeHistoryReply(sent, payload);

    HistoryReply got;
    got.next_before = 99;
    std::string error = "unset";
    ASSERT_TRUE(DecodeHistoryReply(payload, got, error)) << error;
    EXPECT_EQ(got.user, sent.user);
    EXPECT_EQ(got.next_before, next);
    ASSERT_EQ(got.ops.size(), 3u);
    for (std::size_t i = 0; i < got.ops.size(); ++i) {
      EXPECT_EQ(got.ops[i].seq, sent.ops[i].seq);
      EXPECT_EQ(got.ops[i].op, Op::kSpend);
      EXPECT_EQ(got.ops[i].key, sent.ops[i].key);
    }
  }
}

TEST(QueryErrorReply, DecodesAsFalseWithTheErrorName) {
  for (std::string_view name : {kQueryErrorMalformed, kQueryErrorVersion,
                                kQueryErrorOp, kQueryErrorUser}) {
    SCOPED_TRACE(name);
    std::string payload;
    EncodeQueryError(name, payload);
    BalanceReply reply;
    std::string error;
    EXPECT_FALSE(DecodeBalanceReply(payload, reply, error));
    EXPECT_EQ(error, name);
    const WireMap wire(payload);
    EXPECT_EQ(wire.size(), 2u);
    EXPECT_EQ(wire.Int("v"), 1);
  }
}

// ---------------------------------------------------------------------------
// Client decoders refuse what is not a well-formed v1 message.

MapFrame ValidResultFrame() {
  MapFrame frame;
  frame.Set("v", Pack(1)).Set("key", Str(kKey)).Set("status", Str("applied"));
  return frame;
}

MapFrame ValidEventFrame() {
  MapFrame frame;
  frame.Set("v", Pack(1))
      .Set("user", Str(kUser))
      .Set("currency", Str(kCurrency))
      .Set("balance", Pack(1250))
      .Set("delta", Pack(kAmount))
      .Set("version", Pack(3))
      .Set("key", Str(kKey))
      .Set("op", Str("topup"))
      .Set("source", Str(kSource));
  return frame;
}

MapFrame ValidAccountFrame() {
  MapFrame frame;
  frame.Set("balance", Pack(1250)).Set("version", Pack(3));
  return frame;
}

MapFrame ValidRecentFrame() {
  MapFrame frame;
  frame.Set("op", Str("topup"))
      .Set("currency", Str(kCurrency))
      .Set("amount", Pack(kAmount))
      .Set("key", Str(kKey))
      .Set("ref", Str(""))
      .Set("source", Str(kSource))
      .Set("balance", Pack(1250))
      .Set("version", Pack(3))
      .Set("time_ms", Pack(std::int64_t{1'733'250'000'000}))
      .Set("seq", Pack(7));
  return frame;
}

MapFrame ValidReplyFrame() {
  MapFrame frame;
  frame.Set("v", Pack(1))
      .Set("user", Str(kUser))
      .Set("balances",
           MapFrame().Set("GOLD", ValidAccountFrame().Encode()).Encode())
      .Set("recent", ArrayOf({ValidRecentFrame().Encode()}));
  return frame;
}

using ClientDecoder = bool (*)(std::string_view);

bool DecodesAsResult(std::string_view payload) {
  Result result;
  return DecodeResult(payload, result);
}

bool DecodesAsEvent(std::string_view payload) {
  BalanceEvent event;
  return DecodeBalanceEvent(payload, event);
}

// A refused reply must be reported as malformed, not as a server error.
bool DecodesAsReply(std::string_view payload) {
  BalanceReply reply;
  std::string error;
  const bool decoded = DecodeBalanceReply(payload, reply, error);
  EXPECT_EQ(error, decoded ? "" : "malformed_reply");
  return decoded;
}

TEST(ClientDecoders, AcceptTheFramesTheRefusalsStartFrom) {
  EXPECT_TRUE(DecodesAsResult(ValidResultFrame().Encode()));
  EXPECT_TRUE(DecodesAsEvent(ValidEventFrame().Encode()));
  EXPECT_TRUE(DecodesAsReply(ValidReplyFrame().Encode()));
}

struct RefusalCase {
  std::string name;
  ClientDecoder decode;
  std::string payload;
};

void PrintTo(const RefusalCase& c, std::ostream* os) { *os << c.name; }

// Rows that apply to every client decoder: framing and the version.
void AddCommonRefusals(std::string_view prefix, ClientDecoder decode,
                       const MapFrame& valid, std::vector<RefusalCase>& cases) {
  const auto row = [&](std::string_view name, std::string payload) {
    cases.push_back({std::string(prefix) + "_" + std::string(name), decode,
                     std::move(payload)});
  };
  const auto with_v = [&](std::string v) {
    return MapFrame(valid).Set("v", std::move(v)).Encode();
  };
  row("empty", "");
  row("reserved_byte_c1", Bytes({0xc1}));
  row("array", ArrayOf({Pack(1)}));
  row("trailing_byte", valid.Encode() + Bytes({0x00}));
  row("map32_unbacked", Bytes({0xdf, 0xff, 0xff, 0xff, 0xff}));
  row("v_two", with_v(Pack(2)));
  row("v_string", with_v(Str("1")));
  // int32 truncation of these gives 1; neither is version 1.
  row("v_2pow32_plus_1", with_v(Pack(kTwoPow32Plus1)));
  row("v_minus_2pow32_plus_1", with_v(Pack(kMinusTwoPow32Plus1)));
}

void AddMissingFieldRefusals(std::string_view prefix, ClientDecoder decode,
                             const MapFrame& valid,
                             std::initializer_list<std::string_view> names,
                             std::vector<RefusalCase>& cases) {
  for (std::string_view name : names) {
    cases.push_back({std::string(prefix) + "_" + std::string(name) + "_missing",
                     decode, MapFrame(valid).Drop(name).Encode()});
  }
}

std::vector<RefusalCase> RefusalCases() {
  std::vector<RefusalCase> cases;
  const MapFrame result = ValidResultFrame();
  AddCommonRefusals("result", DecodesAsResult, result, cases);
  AddMissingFieldRefusals("result", DecodesAsResult, result,
                          {"v", "key", "status"}, cases);
  cases.push_back({"result_status_unknown", DecodesAsResult,
                   MapFrame(result).Set("status", Str("ok")).Encode()});
  cases.push_back({"result_key_int", DecodesAsResult,
                   MapFrame(result).Set("key", Pack(1)).Encode()});

  const MapFrame event = ValidEventFrame();
  AddCommonRefusals("event", DecodesAsEvent, event, cases);
  AddMissingFieldRefusals("event", DecodesAsEvent, event,
                          {"v", "user", "currency", "balance", "delta",
                           "version", "key", "op", "source"},
                          cases);
  cases.push_back({"event_op_unknown", DecodesAsEvent,
                   MapFrame(event).Set("op", Str("withdraw")).Encode()});
  cases.push_back({"event_balance_string", DecodesAsEvent,
                   MapFrame(event).Set("balance", Str("1250")).Encode()});

  const MapFrame reply = ValidReplyFrame();
  AddCommonRefusals("reply", DecodesAsReply, reply, cases);
  AddMissingFieldRefusals("reply", DecodesAsReply, reply,
                          {"v", "user", "balances", "recent"}, cases);
  const auto reply_with = [&](std::string_view name, std::string value) {
    return MapFrame(reply).Set(name, std::move(value)).Encode();
  };
  cases.push_back({"reply_balances_array", DecodesAsReply,
                   reply_with("balances", ArrayOf({}))});
  cases.push_back(
      {"reply_account_not_map", DecodesAsReply,
       reply_with("balances", MapFrame().Set("GOLD", Pack(1)).Encode())});
  cases.push_back(
      {"reply_account_version_missing", DecodesAsReply,
       reply_with("balances",
                  MapFrame()
                      .Set("GOLD", ValidAccountFrame().Drop("version").Encode())
                      .Encode())});
  cases.push_back({"reply_recent_map", DecodesAsReply,
                   reply_with("recent", MapFrame().Encode())});
  cases.push_back({"reply_recent_entry_not_map", DecodesAsReply,
                   reply_with("recent", ArrayOf({Pack(1)}))});
  cases.push_back(
      {"reply_recent_ref_missing", DecodesAsReply,
       reply_with("recent",
                  ArrayOf({ValidRecentFrame().Drop("ref").Encode()}))});
  cases.push_back(
      {"reply_recent_op_unknown", DecodesAsReply,
       reply_with(
           "recent",
           ArrayOf({ValidRecentFrame().Set("op", Str("withdraw")).Encode()}))});
  return cases;
}

class ClientDecoderRefuses : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(ClientDecoderRefuses, MalformedPayload) {
  const RefusalCase& c = GetParam();
  EXPECT_FALSE(c.decode(c.payload));
}

INSTANTIATE_TEST_SUITE_P(Table, ClientDecoderRefuses,
                         ::testing::ValuesIn(RefusalCases()),
                         ::testing::PrintToStringParamName());

// ---------------------------------------------------------------------------
// Encoders append, so that a batch of messages can share one buffer.

TEST(Encoders, AppendWithoutTouchingWhatIsThere) {
  const Command command = SampleCommand(Op::kReward, kRef);
  const Outcome outcome = Settled(Status::kApplied, 1250, 3);
  BalanceReply reply;
  reply.user = kUser;
  reply.balances = {{"GOLD", 1250, 3}};
  reply.recent = {SampleRecent(Op::kReward, kRef, 3)};

  const std::vector<std::pair<std::string, std::function<void(std::string&)>>>
      encoders = {
          {"command", [&](std::string& out) { EncodeCommand(command, out); }},
          {"result",
           [&](std::string& out) {
             EncodeResult(kKey, &command, outcome, "", out);
           }},
          {"event",
           [&](std::string& out) {
             EncodeBalanceEvent(command, outcome, out);
           }},
          {"query", [&](std::string& out) { EncodeBalanceQuery(kUser, out); }},
          {"reply", [&](std::string& out) { EncodeBalanceReply(reply, out); }},
          {"query_error",
           [&](std::string& out) { EncodeQueryError(kQueryErrorUser, out); }},
      };
  const std::string prefix = "earlier message";
  for (const auto& [name, encode] : encoders) {
    SCOPED_TRACE(name);
    std::string alone;
    encode(alone);
    std::string batch = prefix;
    encode(batch);
    EXPECT_FALSE(alone.empty());
    EXPECT_EQ(batch, prefix + alone);
  }
}

}  // namespace
}  // namespace wallet
