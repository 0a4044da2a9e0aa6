#include "common/codec.h"

#include <msgpack.hpp>

#include <array>
#include <cstdint>

#include "common/validate.h"

namespace wallet {
namespace {

// msgpack::packer writes through any type with write(const char*, size_t).
class StringSink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  void write(const char* data, std::size_t size) { out_.append(data, size); }

 private:
  std::string& out_;
};

using Packer = msgpack::packer<StringSink>;

void PackStr(Packer& pk, std::string_view text) {
  pk.pack_str(static_cast<std::uint32_t>(text.size()));
  pk.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

void PackKeyStr(Packer& pk, std::string_view name, std::string_view value) {
  PackStr(pk, name);
  PackStr(pk, value);
}

template <typename Int>
void PackKeyInt(Packer& pk, std::string_view name, Int value) {
  PackStr(pk, name);
  pk.pack(value);
}

std::string_view AsStr(const msgpack::object& obj) {
  return {obj.via.str.ptr, obj.via.str.size};
}

// Strings reference the frame instead of being copied into the zone.
bool ReferenceEverything(msgpack::type::object_type /*type*/,
                         std::size_t /*size*/, void* /*user_data*/) {
  return true;
}

// Bounds for hostile frames: nothing in a valid command nests or repeats
// anywhere near these.
constexpr std::size_t kDecodeContainerMax = 64;

const msgpack::unpack_limit& DecodeLimit() {
  static const msgpack::unpack_limit limit(
      kDecodeContainerMax, kDecodeContainerMax, kCommandFrameBytesMax,
      kCommandFrameBytesMax, kCommandFrameBytesMax, kDecodeDepthMax);
  return limit;
}

// Replies and events come from the worker; their lists may be long.
const msgpack::unpack_limit& ReplyLimit() {
  static const msgpack::unpack_limit limit(
      1u << 20, 1u << 20, 1u << 20, 1u << 20, 1u << 20, 2 * kDecodeDepthMax);
  return limit;
}

// Parses one whole MessagePack value that must fill the frame. Returns
// false on malformed input, limits exceeded, or trailing bytes.
bool UnpackWhole(msgpack::zone& zone, std::string_view frame,
                 msgpack::object& obj,
                 const msgpack::unpack_limit& limit = DecodeLimit()) {
  std::size_t offset = 0;
  try {
    obj = msgpack::unpack(zone, frame.data(), frame.size(), offset,
                          ReferenceEverything, nullptr, limit);
  } catch (const std::exception&) {
    return false;
  }
  return offset == frame.size();
}

// The known fields of a command map, found in one pass.
enum CommandField {
  kV,
  kOp,
  kKey,
  kUser,
  kCurrency,
  kAmount,
  kSource,
  kRef,
  kLegs,
  kCommandFieldCount
};
constexpr std::array<std::string_view, kCommandFieldCount> kCommandFieldNames =
    {"v", "op", "key", "user", "currency", "amount", "source", "ref", "legs"};

struct CommandFields {
  std::array<const msgpack::object*, kCommandFieldCount> value{};
  bool duplicate_field = false;
  bool non_string_name = false;
};

CommandFields FindCommandFields(const msgpack::object& map) {
  CommandFields fields;
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const msgpack::object_kv& kv = map.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) {
      fields.non_string_name = true;
      continue;
    }
    const std::string_view name = AsStr(kv.key);
    for (std::size_t f = 0; f < kCommandFieldCount; ++f) {
      if (name == kCommandFieldNames[f]) {
        if (fields.value[f] != nullptr) fields.duplicate_field = true;
        fields.value[f] = &kv.val;
        break;
      }
    }
  }
  return fields;
}

bool IsStr(const msgpack::object* obj) {
  return obj != nullptr && obj->type == msgpack::type::STR;
}

DecodedCommand Reject(DecodedCommand decoded, Reason reason,
                      std::string_view detail) {
  decoded.kind = DecodedCommand::Kind::kRejected;
  decoded.reason = reason;
  decoded.detail = detail;
  return decoded;
}

// Checks `v` and `op`, the fields that decide how the rest is read.
DecodedCommand CheckVersionAndOp(DecodedCommand decoded,
                                 const CommandFields& f) {
  const msgpack::object* v = f.value[kV];
  if (v == nullptr) {
    return Reject(decoded, Reason::kInvalidCommand, "missing field: v");
  }
  if (v->type != msgpack::type::POSITIVE_INTEGER &&
      v->type != msgpack::type::NEGATIVE_INTEGER) {
    return Reject(decoded, Reason::kInvalidCommand, "v must be an integer");
  }
  if (v->type != msgpack::type::POSITIVE_INTEGER ||
      v->via.u64 != static_cast<std::uint64_t>(kProtocolVersion)) {
    return Reject(decoded, Reason::kUnsupportedVersion, "v must be 1");
  }
  if (!IsStr(f.value[kOp])) {
    return Reject(decoded, Reason::kInvalidCommand, "op must be a string");
  }
  const std::optional<Op> op = ParseOp(AsStr(*f.value[kOp]));
  if (!op) {
    return Reject(decoded, Reason::kUnsupportedOp, "unknown op");
  }
  decoded.command.op = *op;
  return decoded;
}

DecodedCommand CheckAmount(DecodedCommand decoded, const msgpack::object* a) {
  if (a == nullptr) {
    return Reject(decoded, Reason::kInvalidCommand, "missing field: amount");
  }
  if (a->type == msgpack::type::NEGATIVE_INTEGER) {
    return Reject(decoded, Reason::kInvalidCommand, "amount must be positive");
  }
  if (a->type != msgpack::type::POSITIVE_INTEGER) {
    return Reject(decoded, Reason::kInvalidCommand,
                  "amount must be an integer");
  }
  if (a->via.u64 == 0) {
    return Reject(decoded, Reason::kInvalidCommand, "amount must be positive");
  }
  if (a->via.u64 > static_cast<std::uint64_t>(kAmountMinorMax)) {
    return Reject(decoded, Reason::kInvalidCommand, "amount exceeds 10^15");
  }
  decoded.command.amount_minor = static_cast<std::int64_t>(a->via.u64);
  return decoded;
}

// Checks a required string field; `valid` is its charset and length rule.
bool StrField(const msgpack::object* obj, bool (*valid)(std::string_view),
              std::string_view& out) {
  if (!IsStr(obj) || !valid(AsStr(*obj))) return false;
  out = AsStr(*obj);
  return true;
}

// Reads one batch leg into `leg`; returns the rule it breaks, or empty.
std::string_view ReadLeg(const msgpack::object& obj, std::string_view user,
                         Leg& leg) {
  if (obj.type != msgpack::type::MAP) return "each leg must be a map";
  const CommandFields f = FindCommandFields(obj);
  if (f.duplicate_field || f.non_string_name) {
    return "leg fields must be distinct strings";
  }
  const std::optional<Op> op =
      IsStr(f.value[kOp]) ? ParseOp(AsStr(*f.value[kOp])) : std::nullopt;
  if (!op || *op == Op::kBatch) {
    return "leg op must be topup, reward or spend";
  }
  leg.op = *op;
  leg.user = user;
  if (f.value[kUser] != nullptr &&
      !StrField(f.value[kUser], IsValidUser, leg.user)) {
    return "leg user must be 1..64 bytes of [A-Za-z0-9._:@-]";
  }
  if (!StrField(f.value[kCurrency], IsValidCurrency, leg.currency)) {
    return "leg currency must be 1..16 bytes of [A-Za-z0-9_]";
  }
  const msgpack::object* amount = f.value[kAmount];
  if (amount == nullptr || amount->type != msgpack::type::POSITIVE_INTEGER ||
      amount->via.u64 == 0 ||
      amount->via.u64 > static_cast<std::uint64_t>(kAmountMinorMax)) {
    return "leg amount must be an integer in 1..10^15";
  }
  leg.amount_minor = static_cast<std::int64_t>(amount->via.u64);
  return {};
}

DecodedCommand CheckLegs(DecodedCommand decoded, const msgpack::object* legs,
                         std::array<Leg, kLegsMax>& storage) {
  if (legs == nullptr || legs->type != msgpack::type::ARRAY ||
      legs->via.array.size == 0 || legs->via.array.size > kLegsMax) {
    return Reject(decoded, Reason::kInvalidCommand,
                  "legs must be an array of 1..16 maps");
  }
  const std::uint32_t count = legs->via.array.size;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::string_view broken =
        ReadLeg(legs->via.array.ptr[i], decoded.command.user, storage[i]);
    if (!broken.empty()) {
      return Reject(decoded, Reason::kInvalidCommand, broken);
    }
  }
  decoded.command.legs = std::span<const Leg>(storage.data(), count);
  return decoded;
}

DecodedCommand CheckFields(DecodedCommand decoded, const CommandFields& f,
                           std::array<Leg, kLegsMax>& legs) {
  Command& c = decoded.command;
  if (!StrField(f.value[kUser], IsValidUser, c.user)) {
    return Reject(decoded, Reason::kInvalidCommand,
                  "user must be 1..64 bytes of [A-Za-z0-9._:@-]");
  }
  if (c.op == Op::kBatch) {
    // A batch's currencies and amounts are in its legs; top-level ones
    // are not read.
    decoded = CheckLegs(decoded, f.value[kLegs], legs);
  } else if (!StrField(f.value[kCurrency], IsValidCurrency, c.currency)) {
    return Reject(decoded, Reason::kInvalidCommand,
                  "currency must be 1..16 bytes of [A-Za-z0-9_]");
  } else {
    decoded = CheckAmount(decoded, f.value[kAmount]);
  }
  if (decoded.kind == DecodedCommand::Kind::kRejected) return decoded;
  if (decoded.source.empty()) {
    return Reject(decoded, Reason::kInvalidCommand,
                  "source must be 1..64 bytes of [A-Za-z0-9._:@-]");
  }
  c.source = decoded.source;
  const msgpack::object* ref = f.value[kRef];
  if (ref != nullptr && ref->type != msgpack::type::NIL &&
      !StrField(ref, IsValidRef, c.ref)) {
    return Reject(decoded, Reason::kInvalidCommand,
                  "ref must be up to 64 bytes of printable UTF-8");
  }
  decoded.kind = DecodedCommand::Kind::kValid;
  return decoded;
}

// Walks a frame's structure and stops at the value of the top-level
// "user" key.
class UserPeek : public msgpack::null_visitor {
 public:
  bool start_map(std::uint32_t /*entries*/) { return Enter(); }
  bool end_map() { return Leave(); }
  bool start_array(std::uint32_t /*items*/) { return Enter(); }
  bool end_array() { return Leave(); }
  bool start_map_key() {
    in_key_ = depth_ == 1;
    return true;
  }
  bool end_map_key() {
    in_key_ = false;
    return true;
  }
  bool end_map_value() {
    if (depth_ == 1) want_value_ = false;
    return true;
  }
  bool visit_str(const char* data, std::uint32_t size) {
    const std::string_view text(data, size);
    if (in_key_) {
      want_value_ = text == "user";
    } else if (depth_ == 1 && want_value_) {
      user_ = text;
      return false;  // Found: stop parsing.
    }
    return true;
  }
  std::string_view user() const { return user_; }

 private:
  bool Enter() { return ++depth_ <= kDecodeDepthMax; }
  bool Leave() {
    --depth_;
    return true;
  }

  std::size_t depth_ = 0;
  bool in_key_ = false;
  bool want_value_ = false;
  std::string_view user_;
};

}  // namespace

std::string_view PeekUser(std::string_view frame) {
  if (frame.size() > kCommandFrameBytesMax) return {};
  UserPeek peek;
  std::size_t offset = 0;
  try {
    msgpack::parse(frame.data(), frame.size(), offset, peek);
  } catch (const std::exception&) {
    return {};
  }
  return peek.user();
}

// The zone is reused across frames: clearing it keeps its first chunk.
struct CommandDecoder::Scratch {
  msgpack::zone zone;
  std::array<Leg, kLegsMax> legs;  // A batch's legs, viewed by its Command.
};

CommandDecoder::CommandDecoder() : scratch_(std::make_unique<Scratch>()) {}
CommandDecoder::~CommandDecoder() = default;

DecodedCommand CommandDecoder::Decode(std::string_view frame) {
  DecodedCommand decoded;
  scratch_->zone.clear();
  msgpack::object obj;
  if (frame.size() > kCommandFrameBytesMax ||
      !UnpackWhole(scratch_->zone, frame, obj) ||
      obj.type != msgpack::type::MAP) {
    return decoded;  // Unreadable: not one MessagePack map.
  }
  const CommandFields fields = FindCommandFields(obj);
  if (!IsStr(fields.value[kKey]) || !IsValidKey(AsStr(*fields.value[kKey]))) {
    return decoded;  // Unreadable: no key to answer to.
  }
  decoded.key = AsStr(*fields.value[kKey]);
  decoded.command.key = decoded.key;
  std::string_view source;
  if (StrField(fields.value[kSource], IsValidSource, source)) {
    decoded.source = source;
  }
  if (fields.duplicate_field) {
    return Reject(decoded, Reason::kInvalidCommand, "a field appears twice");
  }
  if (fields.non_string_name) {
    return Reject(decoded, Reason::kInvalidCommand,
                  "field names must be strings");
  }
  decoded = CheckVersionAndOp(decoded, fields);
  if (decoded.kind == DecodedCommand::Kind::kRejected) return decoded;
  return CheckFields(decoded, fields, scratch_->legs);
}

void EncodeCommand(const Command& command, std::string& out) {
  StringSink sink(out);
  Packer pk(sink);
  const bool batch = command.op == Op::kBatch;
  pk.pack_map((command.ref.empty() ? 5u : 6u) + (batch ? 1u : 2u));
  PackKeyInt(pk, "v", kProtocolVersion);
  PackKeyStr(pk, "op", OpName(command.op));
  PackKeyStr(pk, "key", command.key);
  PackKeyStr(pk, "user", command.user);
  if (batch) {
    PackStr(pk, "legs");
    pk.pack_array(static_cast<std::uint32_t>(command.legs.size()));
    for (const Leg& leg : command.legs) {
      pk.pack_map(4);
      PackKeyStr(pk, "op", OpName(leg.op));
      PackKeyStr(pk, "user", leg.user);
      PackKeyStr(pk, "currency", leg.currency);
      PackKeyInt(pk, "amount", leg.amount_minor);
    }
  } else {
    PackKeyStr(pk, "currency", command.currency);
    PackKeyInt(pk, "amount", command.amount_minor);
  }
  PackKeyStr(pk, "source", command.source);
  if (!command.ref.empty()) PackKeyStr(pk, "ref", command.ref);
}

namespace {

// A batch result's legs: each echoes its leg and, once applied (or when
// answered as a duplicate), the account it left behind.
void PackResultLegs(Packer& pk, const Command& command,
                    const Outcome& outcome) {
  const bool balances = outcome.legs.size() == command.legs.size();
  PackStr(pk, "legs");
  pk.pack_array(static_cast<std::uint32_t>(command.legs.size()));
  for (std::size_t i = 0; i < command.legs.size(); ++i) {
    const Leg& leg = command.legs[i];
    pk.pack_map(balances ? 6 : 4);
    PackKeyStr(pk, "op", OpName(leg.op));
    PackKeyStr(pk, "user", leg.user);
    PackKeyStr(pk, "currency", leg.currency);
    PackKeyInt(pk, "amount", leg.amount_minor);
    if (balances) {
      PackKeyInt(pk, "balance", outcome.legs[i].balance_minor);
      PackKeyInt(pk, "version", outcome.legs[i].version);
    }
  }
}

}  // namespace

void EncodeResult(std::string_view key, const Command* command,
                  const Outcome& outcome, std::string_view detail,
                  std::string& out) {
  const bool rejected = outcome.status == Status::kRejected;
  const bool conflict = outcome.reason == Reason::kKeyConflict;
  const bool has_ref = command != nullptr && !command->ref.empty();
  const bool batch = command != nullptr && command->op == Op::kBatch;
  const bool failed_leg = batch && outcome.failed_leg >= 0;
  std::uint32_t entries = 3;
  entries += rejected ? 1u : 0u;
  entries += conflict ? 1u : 0u;
  entries += detail.empty() ? 0u : 1u;
  // op, user, source, ref?, then currency and amount, or legs.
  entries += command != nullptr ? (has_ref ? 4u : 3u) + (batch ? 1u : 2u) : 0;
  entries += outcome.has_balance ? 2u : 0u;
  entries += failed_leg ? 1u : 0u;

  StringSink sink(out);
  Packer pk(sink);
  pk.pack_map(entries);
  PackKeyInt(pk, "v", kProtocolVersion);
  PackKeyStr(pk, "key", key);
  PackKeyStr(pk, "status", StatusName(outcome.status));
  if (rejected) PackKeyStr(pk, "reason", ReasonName(outcome.reason));
  if (conflict) PackKeyStr(pk, "field", FieldName(outcome.field));
  if (!detail.empty()) PackKeyStr(pk, "detail", detail);
  if (command != nullptr) {
    PackKeyStr(pk, "op", OpName(command->op));
    PackKeyStr(pk, "user", command->user);
    if (batch) {
      PackResultLegs(pk, *command, outcome);
    } else {
      PackKeyStr(pk, "currency", command->currency);
      PackKeyInt(pk, "amount", command->amount_minor);
    }
    PackKeyStr(pk, "source", command->source);
    if (has_ref) PackKeyStr(pk, "ref", command->ref);
  }
  if (outcome.has_balance) {
    PackKeyInt(pk, "balance", outcome.balance_minor);
    PackKeyInt(pk, "version", outcome.version);
  }
  if (failed_leg) PackKeyInt(pk, "leg", outcome.failed_leg);
}

namespace {

void PackBalanceEvent(const Command& command, const Leg& change,
                      const LegOutcome& after, std::string& out) {
  StringSink sink(out);
  Packer pk(sink);
  pk.pack_map(9);
  PackKeyInt(pk, "v", kProtocolVersion);
  PackKeyStr(pk, "user", change.user);
  PackKeyStr(pk, "currency", change.currency);
  PackKeyInt(pk, "balance", after.balance_minor);
  PackKeyInt(pk, "delta", SignedDelta(change.op, change.amount_minor));
  PackKeyInt(pk, "version", after.version);
  PackKeyStr(pk, "key", command.key);
  PackKeyStr(pk, "op", OpName(change.op));
  PackKeyStr(pk, "source", command.source);
}

}  // namespace

void EncodeBalanceEvent(const Command& command, const Outcome& outcome,
                        std::string& out) {
  const Leg change{command.op, command.user, command.currency,
                   command.amount_minor};
  PackBalanceEvent(command, change, {outcome.balance_minor, outcome.version},
                   out);
}

void EncodeLegBalanceEvent(const Command& command, const Outcome& outcome,
                           std::size_t leg, std::string& out) {
  PackBalanceEvent(command, command.legs[leg], outcome.legs[leg], out);
}

// ---------------------------------------------------------------------------
// Client-side decoding. These run outside the worker's hot path, so they
// favour plain code over avoiding allocation.
namespace {

// Read-only view of a decoded map, looked up by field name.
class MapView {
 public:
  explicit MapView(const msgpack::object& map) : map_(map) {}

  const msgpack::object* Find(std::string_view name) const {
    for (std::uint32_t i = 0; i < map_.via.map.size; ++i) {
      const msgpack::object_kv& kv = map_.via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR && AsStr(kv.key) == name) {
        return &kv.val;
      }
    }
    return nullptr;
  }

  bool Str(std::string_view name, std::string& out) const {
    const msgpack::object* obj = Find(name);
    if (!IsStr(obj)) return false;
    out.assign(AsStr(*obj));
    return true;
  }

  template <typename Int>
  bool Integer(std::string_view name, Int& out) const {
    const msgpack::object* obj = Find(name);
    if (obj == nullptr) return false;
    if (obj->type == msgpack::type::POSITIVE_INTEGER) {
      out = static_cast<Int>(obj->via.u64);
      return true;
    }
    if (obj->type == msgpack::type::NEGATIVE_INTEGER) {
      out = static_cast<Int>(obj->via.i64);
      return true;
    }
    return false;
  }

 private:
  const msgpack::object& map_;
};

bool UnpackMap(msgpack::zone& zone, std::string_view payload,
               msgpack::object& obj,
               const msgpack::unpack_limit& limit = ReplyLimit()) {
  return UnpackWhole(zone, payload, obj, limit) &&
         obj.type == msgpack::type::MAP;
}

bool DecodeResultLegs(const msgpack::object* array,
                      std::vector<LegResult>& legs) {
  if (array == nullptr || array->type != msgpack::type::ARRAY) return false;
  for (std::uint32_t i = 0; i < array->via.array.size; ++i) {
    const msgpack::object& obj = array->via.array.ptr[i];
    if (obj.type != msgpack::type::MAP) return false;
    const MapView leg_map(obj);
    LegResult leg;
    std::string op;
    if (!leg_map.Str("op", op) || !ParseOp(op) ||
        !leg_map.Str("user", leg.user) ||
        !leg_map.Str("currency", leg.currency) ||
        !leg_map.Integer("amount", leg.amount_minor)) {
      return false;
    }
    leg.op = *ParseOp(op);
    leg.has_balance = leg_map.Integer("balance", leg.balance_minor) &&
                      leg_map.Integer("version", leg.version);
    legs.push_back(std::move(leg));
  }
  return true;
}

bool CheckVersion(const MapView& map) {
  std::int64_t v = 0;
  return map.Integer("v", v) && v == kProtocolVersion;
}

bool ReadOp(const MapView& map, Op& op) {
  std::string name;
  if (!map.Str("op", name)) return false;
  const std::optional<Op> parsed = ParseOp(name);
  if (!parsed) return false;
  op = *parsed;
  return true;
}

}  // namespace

bool DecodeResult(std::string_view payload, Result& result) {
  msgpack::zone zone;
  msgpack::object obj;
  if (!UnpackMap(zone, payload, obj)) return false;
  const MapView map(obj);
  std::string text;
  if (!CheckVersion(map) || !map.Str("key", result.key) ||
      !map.Str("status", text)) {
    return false;
  }
  const std::optional<Status> status = ParseStatus(text);
  if (!status) return false;
  result.outcome = Outcome{};
  result.outcome.status = *status;
  if (map.Str("reason", text)) {
    result.outcome.reason = ParseReason(text).value_or(Reason::kNone);
  }
  if (map.Str("field", text)) {
    result.outcome.field = ParseField(text).value_or(Field::kNone);
  }
  result.detail.clear();
  map.Str("detail", result.detail);
  const bool head = ReadOp(map, result.op) && map.Str("user", result.user) &&
                    map.Str("source", result.source);
  result.legs.clear();
  result.currency.clear();
  result.amount_minor = 0;
  if (head && result.op == Op::kBatch) {
    result.has_command = DecodeResultLegs(map.Find("legs"), result.legs);
  } else {
    result.has_command = head && map.Str("currency", result.currency) &&
                         map.Integer("amount", result.amount_minor);
  }
  result.ref.clear();
  map.Str("ref", result.ref);
  result.outcome.has_balance =
      map.Integer("balance", result.outcome.balance_minor) &&
      map.Integer("version", result.outcome.version);
  result.outcome.failed_leg = -1;
  map.Integer("leg", result.outcome.failed_leg);
  return true;
}

bool DecodeBalanceEvent(std::string_view payload, BalanceEvent& event) {
  msgpack::zone zone;
  msgpack::object obj;
  if (!UnpackMap(zone, payload, obj)) return false;
  const MapView map(obj);
  return CheckVersion(map) && map.Str("user", event.user) &&
         map.Str("currency", event.currency) &&
         map.Integer("balance", event.balance_minor) &&
         map.Integer("delta", event.delta_minor) &&
         map.Integer("version", event.version) && map.Str("key", event.key) &&
         ReadOp(map, event.op) && map.Str("source", event.source);
}

Query DecodeQuery(std::string_view frame) {
  msgpack::zone zone;
  msgpack::object obj;
  if (frame.size() > kCommandFrameBytesMax ||
      !UnpackMap(zone, frame, obj, DecodeLimit())) {
    return kQueryErrorMalformed;
  }
  const MapView map(obj);
  const msgpack::object* v = map.Find("v");
  if (v == nullptr || (v->type != msgpack::type::POSITIVE_INTEGER &&
                       v->type != msgpack::type::NEGATIVE_INTEGER)) {
    return kQueryErrorMalformed;
  }
  if (!CheckVersion(map)) return kQueryErrorVersion;
  const msgpack::object* op = map.Find("op");
  if (!IsStr(op)) return kQueryErrorMalformed;
  const std::string_view name = AsStr(*op);
  if (name != "balance" && name != "history") return kQueryErrorOp;
  std::string user;
  if (!map.Str("user", user) || !IsValidUser(user)) return kQueryErrorUser;
  if (name == "balance") return BalanceQuery{std::move(user)};

  HistoryQuery query;
  query.user = std::move(user);
  if (map.Find("limit") != nullptr) {
    std::int64_t limit = 0;
    if (!map.Integer("limit", limit) || limit < 1 || limit > kHistoryPageMax) {
      return kQueryErrorLimit;
    }
    query.limit = static_cast<std::uint32_t>(limit);
  }
  const msgpack::object* before = map.Find("before");
  if (before != nullptr && before->type != msgpack::type::NIL) {
    if (before->type != msgpack::type::POSITIVE_INTEGER) {
      return kQueryErrorCursor;
    }
    query.before = before->via.u64;
  }
  return query;
}

void EncodeHistoryQuery(const HistoryQuery& query, std::string& out) {
  StringSink sink(out);
  Packer pk(sink);
  pk.pack_map(query.before > 0 ? 5 : 4);
  PackKeyInt(pk, "v", kProtocolVersion);
  PackKeyStr(pk, "op", "history");
  PackKeyStr(pk, "user", query.user);
  PackKeyInt(pk, "limit", query.limit);
  if (query.before > 0) PackKeyInt(pk, "before", query.before);
}

void EncodeBalanceQuery(std::string_view user, std::string& out) {
  StringSink sink(out);
  Packer pk(sink);
  pk.pack_map(3);
  PackKeyInt(pk, "v", kProtocolVersion);
  PackKeyStr(pk, "op", "balance");
  PackKeyStr(pk, "user", user);
}

namespace {

void PackOps(Packer& pk, const std::vector<RecentOp>& ops) {
  pk.pack_array(static_cast<std::uint32_t>(ops.size()));
  for (const RecentOp& op : ops) {
    pk.pack_map(10);
    PackKeyStr(pk, "op", OpName(op.op));
    PackKeyStr(pk, "currency", op.currency);
    PackKeyInt(pk, "amount", op.amount_minor);
    PackKeyStr(pk, "key", op.key);
    PackKeyStr(pk, "ref", op.ref);
    PackKeyStr(pk, "source", op.source);
    PackKeyInt(pk, "balance", op.balance_minor);
    PackKeyInt(pk, "version", op.version);
    PackKeyInt(pk, "time_ms", op.time_ms);
    PackKeyInt(pk, "seq", op.seq);
  }
}

}  // namespace

void EncodeBalanceReply(const BalanceReply& reply, std::string& out) {
  StringSink sink(out);
  Packer pk(sink);
  pk.pack_map(4);
  PackKeyInt(pk, "v", kProtocolVersion);
  PackKeyStr(pk, "user", reply.user);
  PackStr(pk, "balances");
  pk.pack_map(static_cast<std::uint32_t>(reply.balances.size()));
  for (const AccountBalance& account : reply.balances) {
    PackStr(pk, account.currency);
    pk.pack_map(2);
    PackKeyInt(pk, "balance", account.balance_minor);
    PackKeyInt(pk, "version", account.version);
  }
  PackStr(pk, "recent");
  PackOps(pk, reply.recent);
}

void EncodeHistoryReply(const HistoryReply& reply, std::string& out) {
  StringSink sink(out);
  Packer pk(sink);
  pk.pack_map(4);
  PackKeyInt(pk, "v", kProtocolVersion);
  PackKeyStr(pk, "user", reply.user);
  PackStr(pk, "ops");
  PackOps(pk, reply.ops);
  PackStr(pk, "next");
  if (reply.next_before > 0) {
    pk.pack(reply.next_before);
  } else {
    pk.pack_nil();
  }
}

void EncodeQueryError(std::string_view error, std::string& out) {
  StringSink sink(out);
  Packer pk(sink);
  pk.pack_map(2);
  PackKeyInt(pk, "v", kProtocolVersion);
  PackKeyStr(pk, "error", error);
}

namespace {

bool DecodeRecent(const msgpack::object& obj, RecentOp& op) {
  if (obj.type != msgpack::type::MAP) return false;
  const MapView map(obj);
  return ReadOp(map, op.op) && map.Str("currency", op.currency) &&
         map.Integer("amount", op.amount_minor) && map.Str("key", op.key) &&
         map.Str("ref", op.ref) && map.Str("source", op.source) &&
         map.Integer("balance", op.balance_minor) &&
         map.Integer("version", op.version) &&
         map.Integer("time_ms", op.time_ms) && map.Integer("seq", op.seq);
}

bool DecodeOps(const msgpack::object* array, std::vector<RecentOp>& ops) {
  if (array == nullptr || array->type != msgpack::type::ARRAY) return false;
  ops.clear();
  for (std::uint32_t i = 0; i < array->via.array.size; ++i) {
    RecentOp op;
    if (!DecodeRecent(array->via.array.ptr[i], op)) return false;
    ops.push_back(std::move(op));
  }
  return true;
}

bool DecodeBalances(const msgpack::object& obj,
                    std::vector<AccountBalance>& balances) {
  if (obj.type != msgpack::type::MAP) return false;
  for (std::uint32_t i = 0; i < obj.via.map.size; ++i) {
    const msgpack::object_kv& kv = obj.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR ||
        kv.val.type != msgpack::type::MAP) {
      return false;
    }
    AccountBalance account;
    account.currency.assign(AsStr(kv.key));
    const MapView fields(kv.val);
    if (!fields.Integer("balance", account.balance_minor) ||
        !fields.Integer("version", account.version)) {
      return false;
    }
    balances.push_back(std::move(account));
  }
  return true;
}

}  // namespace

bool DecodeBalanceReply(std::string_view payload, BalanceReply& reply,
                        std::string& error) {
  msgpack::zone zone;
  msgpack::object obj;
  error = "malformed_reply";
  if (!UnpackMap(zone, payload, obj)) return false;
  const MapView map(obj);
  if (map.Str("error", error)) return false;
  error = "malformed_reply";
  const msgpack::object* balances = map.Find("balances");
  if (!CheckVersion(map) || !map.Str("user", reply.user) ||
      balances == nullptr) {
    return false;
  }
  reply.balances.clear();
  if (!DecodeBalances(*balances, reply.balances) ||
      !DecodeOps(map.Find("recent"), reply.recent)) {
    return false;
  }
  error.clear();
  return true;
}

bool DecodeHistoryReply(std::string_view payload, HistoryReply& reply,
                        std::string& error) {
  msgpack::zone zone;
  msgpack::object obj;
  error = "malformed_reply";
  if (!UnpackMap(zone, payload, obj)) return false;
  const MapView map(obj);
  if (map.Str("error", error)) return false;
  error = "malformed_reply";
  const msgpack::object* next = map.Find("next");
  if (!CheckVersion(map) || !map.Str("user", reply.user) ||
      !DecodeOps(map.Find("ops"), reply.ops) || next == nullptr) {
    return false;
  }
  reply.next_before = 0;
  if (next->type != msgpack::type::NIL &&
      !map.Integer("next", reply.next_before)) {
    return false;
  }
  error.clear();
  return true;
}

}  // namespace wallet
