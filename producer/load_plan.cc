#include "producer/load_plan.h"

#include <charconv>

#include "producer/random_id.h"

namespace wallet::producer {
namespace {

constexpr std::string_view kProbeInfix = "probe-";

// Separate streams per purpose, so the user does not predict the amount.
enum class Stream : std::uint64_t { kUser = 1, kAmount = 2, kOp = 3 };

std::uint64_t Draw(const LoadPlan& plan, std::uint32_t key_index,
                   Stream stream) {
  return Mix64(plan.seed ^ Mix64((std::uint64_t{key_index} << 2) |
                                 static_cast<std::uint64_t>(stream)));
}

std::string KeyPrefix(const LoadPlan& plan) { return plan.run_id + "-"; }

}  // namespace

bool IsConflict(SendKind kind) {
  return kind == SendKind::kConflictAmount || kind == SendKind::kConflictUser;
}

Field ConflictField(SendKind kind) {
  switch (kind) {
    case SendKind::kConflictAmount:
      return Field::kAmount;
    case SendKind::kConflictUser:
      return Field::kUser;
    case SendKind::kFresh:
    case SendKind::kDuplicate:
      break;
  }
  return Field::kNone;
}

LoadPlan MakeLoadPlan(std::string run_id, std::uint64_t seed,
                      std::uint64_t commands_count, std::uint32_t user_count,
                      std::uint64_t duplicates_pct,
                      std::uint64_t conflicts_pct) {
  LoadPlan plan;
  plan.run_id = std::move(run_id);
  plan.seed = seed;
  plan.user_count = user_count;
  plan.commands_count = commands_count;
  plan.duplicate_count = commands_count * duplicates_pct / 100;
  plan.conflict_count = commands_count * conflicts_pct / 100;
  plan.fresh_count = static_cast<std::uint32_t>(
      commands_count - plan.duplicate_count - plan.conflict_count);
  return plan;
}

std::string UserName(std::uint32_t user_index) {
  return "user-" + std::to_string(user_index);
}

std::string KeyName(const LoadPlan& plan, std::uint32_t key_index) {
  return KeyPrefix(plan) + std::to_string(key_index);
}

std::string ProbeKeyName(const LoadPlan& plan, std::uint64_t probe_index) {
  return KeyPrefix(plan) + std::string(kProbeInfix) +
         std::to_string(probe_index);
}

std::optional<std::uint32_t> ParseKeyIndex(const LoadPlan& plan,
                                           std::string_view key) {
  const std::string prefix = KeyPrefix(plan);
  if (!key.starts_with(prefix)) return std::nullopt;
  key.remove_prefix(prefix.size());
  std::uint32_t index = 0;
  const char* end = key.data() + key.size();
  const auto [ptr, ec] = std::from_chars(key.data(), end, index);
  if (key.empty() || ec != std::errc() || ptr != end ||
      index >= plan.fresh_count) {
    return std::nullopt;
  }
  return index;
}

bool IsProbeKey(const LoadPlan& plan, std::string_view key) {
  return key.starts_with(KeyPrefix(plan) + std::string(kProbeInfix));
}

std::uint32_t PlannedUser(const LoadPlan& plan, std::uint32_t key_index) {
  return static_cast<std::uint32_t>(Draw(plan, key_index, Stream::kUser) %
                                    plan.user_count);
}

std::int64_t PlannedAmount(const LoadPlan& plan, std::uint32_t key_index) {
  const std::uint64_t draw = Draw(plan, key_index, Stream::kAmount);
  return 1 + static_cast<std::int64_t>(
                 draw % static_cast<std::uint64_t>(kLoadAmountMaxMinor));
}

Op PlannedOp(const LoadPlan& plan, std::uint32_t key_index) {
  return Draw(plan, key_index, Stream::kOp) % 100 < plan.spends_pct
             ? Op::kSpend
             : Op::kTopup;
}

std::uint32_t ConflictUser(const LoadPlan& plan, std::uint32_t key_index) {
  return (PlannedUser(plan, key_index) + 1) % plan.user_count;
}

std::int64_t ConflictAmount(const LoadPlan& plan, std::uint32_t key_index) {
  // Stays in 1..kLoadAmountMaxMinor and never equals the original.
  return PlannedAmount(plan, key_index) % kLoadAmountMaxMinor + 1;
}

SendKind ChooseConflict(const LoadPlan& plan, std::uint64_t random) {
  if (plan.user_count < 2 || random % 2 == 0) return SendKind::kConflictAmount;
  return SendKind::kConflictUser;
}

const Command& CommandBuilder::Build(std::uint32_t key_index, SendKind kind) {
  key_ = KeyName(plan_, key_index);
  const std::uint32_t user = kind == SendKind::kConflictUser
                                 ? ConflictUser(plan_, key_index)
                                 : PlannedUser(plan_, key_index);
  user_ = UserName(user);
  command_.op = PlannedOp(plan_, key_index);
  command_.key = key_;
  command_.user = user_;
  command_.currency = plan_.currency;
  command_.amount_minor = kind == SendKind::kConflictAmount
                              ? ConflictAmount(plan_, key_index)
                              : PlannedAmount(plan_, key_index);
  command_.source = plan_.source;
  command_.ref = {};
  return command_;
}

const Command& CommandBuilder::BuildProbe(std::uint64_t probe_index) {
  key_ = ProbeKeyName(plan_, probe_index);
  user_ = UserName(0);
  command_.op = Op::kTopup;
  command_.key = key_;
  command_.user = user_;
  command_.currency = plan_.currency;
  command_.amount_minor = 0;
  command_.source = plan_.source;
  command_.ref = {};
  return command_;
}

}  // namespace wallet::producer
