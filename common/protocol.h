// Protocol v1 of the wallet: the value types that travel between game
// servers, the worker and subscribers, and every limit the protocol names.
//
// docs/protocol.md is the contract for other languages; this header is its
// C++ form. Types here are plain values with no behaviour beyond naming:
// encoding lives in codec.h, field rules in validate.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wallet {

inline constexpr int kProtocolVersion = 1;

// Field limits, in bytes unless named otherwise.
inline constexpr std::size_t kKeyBytesMax = 128;
inline constexpr std::size_t kUserBytesMax = 64;
inline constexpr std::size_t kCurrencyBytesMax = 16;
inline constexpr std::size_t kSourceBytesMax = 64;
inline constexpr std::size_t kRefBytesMax = 64;

// Amounts and balances are integers in minor units.
inline constexpr std::int64_t kAmountMinorMax = 1'000'000'000'000'000;  // 1e15
inline constexpr std::int64_t kBalanceMinorMax =
    1'000'000'000'000'000'000;  // 1e18
static_assert(kAmountMinorMax < kBalanceMinorMax);
static_assert(kBalanceMinorMax <= INT64_MAX - kAmountMinorMax,
              "a balance plus one amount must never overflow int64");

// A command frame larger than this is refused by the socket itself.
inline constexpr std::size_t kCommandFrameBytesMax = std::size_t{16} * 1024;
// Deepest nesting the decoders accept before rejecting a frame.
inline constexpr std::size_t kDecodeDepthMax = 4;

// How many of a user's latest operations a balance query returns.
inline constexpr std::size_t kRecentOpsMax = 8;
// Operations per page of a history query: the default and the most a
// request may ask for.
inline constexpr std::uint32_t kHistoryPageDefault = 20;
inline constexpr std::uint32_t kHistoryPageMax = 100;

// Values are persisted in the journal and snapshots: add to the end only.
enum class Op : std::uint8_t {
  kTopup = 0,   // Credit: a purchase of currency.
  kReward = 1,  // Credit: granted by the game.
  kSpend = 2,   // Debit; never takes a balance below zero.
  kBatch = 3,   // Several credits and spends applied together or not at all.
};
inline constexpr int kOpCount = 4;

// Legs of one batch command, at most.
inline constexpr std::size_t kLegsMax = 16;

enum class Status : std::uint8_t {
  kApplied = 0,    // The command changed the wallet now.
  kDuplicate = 1,  // Seen before with the same payload; nothing changed.
  kRejected = 2,   // Nothing changed; `reason` says why.
};

// Why a command was rejected. The wire names are in codec.cc and
// docs/protocol.md; add to the end only, values are persisted.
enum class Reason : std::uint8_t {
  kNone = 0,
  kInvalidCommand = 1,      // Missing field, wrong type, bad charset, ...
  kUnsupportedVersion = 2,  // `v` is an integer other than 1.
  kUnsupportedOp = 3,       // `op` is a string the worker does not know.
  kKeyConflict = 4,         // Key seen before with a different payload.
  kBalanceOverflow = 5,     // The credit would pass kBalanceMinorMax.
  kInsufficientFunds = 6,   // The spend would take the balance below 0.
  kForbidden = 7,           // The sender's CURVE key may not use this `source`.
};
// The highest Reason value; decoders of persisted data check against it.
inline constexpr Reason kReasonLast = Reason::kForbidden;

// Which field of a retried command differs from the first one.
enum class Field : std::uint8_t {
  kNone = 0,
  kOp,
  kUser,
  kCurrency,
  kAmount,
  kSource,
  kRef,
  kLegs,  // A batch's legs differ in any way.
};

// One leg of a batch: a credit (topup, reward) or a spend on one account.
struct Leg {
  Op op = Op::kTopup;
  std::string_view user;
  std::string_view currency;
  std::int64_t amount_minor = 0;
};

// A decoded, validated command. The views point into the frame it was
// decoded from; the frame must outlive the command. A batch has `user`,
// `source` and `ref` like any command, no currency or amount, and 1..16
// `legs`.
struct Command {
  Op op = Op::kTopup;
  std::string_view key;
  std::string_view user;
  std::string_view currency;
  std::int64_t amount_minor = 0;
  std::string_view source;
  std::string_view ref;       // Empty when absent.
  std::span<const Leg> legs;  // kBatch only.
};

// The account a batch leg left behind (or, for the leg that failed, the
// balance it found).
struct LegOutcome {
  std::int64_t balance_minor = 0;
  std::uint64_t version = 0;
};

// What applying a command did, without the command itself. The worker
// encodes results straight from a Command and an Outcome.
struct Outcome {
  Status status = Status::kRejected;
  Reason reason = Reason::kNone;
  Field field = Field::kNone;  // Set for kKeyConflict.
  // The account after the command's first application; set for applied
  // and duplicate, and for a retried business rejection (balance found).
  bool has_balance = false;
  std::int64_t balance_minor = 0;
  std::uint64_t version = 0;
  // kBatch: every leg's account after the first application (applied,
  // duplicate); for a business rejection, `failed_leg` names the leg and
  // balance_minor/version are what that leg found.
  std::vector<LegOutcome> legs;
  int failed_leg = -1;
};

// A batch leg as a subscriber decodes it from a result.
struct LegResult {
  Op op = Op::kTopup;
  std::string user;
  std::string currency;
  std::int64_t amount_minor = 0;
  bool has_balance = false;
  std::int64_t balance_minor = 0;
  std::uint64_t version = 0;
};

// The answer to one command as a subscriber decodes it: published on
// `result/<source>/`.
struct Result {
  std::string key;
  Outcome outcome;
  std::string detail;  // Human-readable, for kInvalidCommand.
  // Present when the command decoded far enough to know them.
  bool has_command = false;
  Op op = Op::kTopup;
  std::string user;
  std::string currency;
  std::int64_t amount_minor = 0;
  std::string source;
  std::string ref;
  std::vector<LegResult> legs;  // kBatch only.
};

// One applied change to one account: published on `balance/<user>/`.
struct BalanceEvent {
  std::string user;
  std::string currency;
  std::int64_t balance_minor = 0;
  std::int64_t delta_minor = 0;
  std::uint64_t version = 0;
  std::string key;
  Op op = Op::kTopup;
  std::string source;
};

// One of a user's latest applied operations, as a query returns it.
struct RecentOp {
  Op op = Op::kTopup;
  std::string currency;
  std::int64_t amount_minor = 0;
  std::string key;
  std::string ref;
  std::string source;
  std::int64_t balance_minor = 0;
  std::uint64_t version = 0;
  std::int64_t time_ms = 0;  // Unix epoch milliseconds.
  // The user's operation number: 1 for the first applied operation, then
  // +1 each, across currencies. Stable across restarts; history cursors
  // are made of it.
  std::uint64_t seq = 0;
};

struct AccountBalance {
  std::string currency;
  std::int64_t balance_minor = 0;
  std::uint64_t version = 0;
};

// The answer to a `balance` query.
struct BalanceReply {
  std::string user;
  std::vector<AccountBalance> balances;  // Sorted by currency.
  std::vector<RecentOp> recent;          // Newest first.
};

// Query requests of protocol v1.
struct BalanceQuery {
  std::string user;
};

// A page of a user's operations, newest first: those with seq < `before`
// (all when 0), at most `limit`.
struct HistoryQuery {
  std::string user;
  std::uint32_t limit = kHistoryPageDefault;
  std::uint64_t before = 0;
};

struct HistoryReply {
  std::string user;
  std::vector<RecentOp> ops;  // Newest first.
  // The `before` that asks for the next, older page; 0 when this page
  // reaches the oldest operation the worker keeps.
  std::uint64_t next_before = 0;
};

std::string_view OpName(Op op);
std::string_view StatusName(Status status);
std::string_view ReasonName(Reason reason);
std::string_view FieldName(Field field);
std::optional<Op> ParseOp(std::string_view name);
std::optional<Status> ParseStatus(std::string_view name);
std::optional<Reason> ParseReason(std::string_view name);
std::optional<Field> ParseField(std::string_view name);

// Credits add, spends subtract.
std::int64_t SignedDelta(Op op, std::int64_t amount_minor);

// Topic prefixes on the events socket. Topics end with '/' so that a
// subscription to "result/game1/" never matches "result/game10/".
std::string ResultTopic(std::string_view source);
std::string BalanceTopic(std::string_view user);
inline constexpr std::string_view kResultTopicPrefix = "result/";
inline constexpr std::string_view kBalanceTopicPrefix = "balance/";

}  // namespace wallet
