// What a load run sends, decided up front and derived on demand.
//
// Every run draws a random run id and prefixes every key with it, so a
// second run against a worker that kept its state never reuses a key.
// Fresh key i is "<run_id>-<i>"; its user and amount are a pure function
// of (seed, i), so a retry can rebuild the identical command without the
// run storing any command. Probes use "<run_id>-probe-<n>".
//
// Thread safety: a LoadPlan is immutable once made and may be shared; a
// CommandBuilder belongs to one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/protocol.h"

namespace wallet::producer {

// Fresh amounts are drawn uniformly from 1..kLoadAmountMaxMinor.
inline constexpr std::int64_t kLoadAmountMaxMinor = 1000;
static_assert(kLoadAmountMaxMinor <= kAmountMinorMax);

// What one send is. A conflict changes exactly one field of the original
// command, so the worker's answer must name that field.
enum class SendKind : std::uint8_t {
  kFresh,           // First use of a key.
  kDuplicate,       // The identical command again.
  kConflictAmount,  // Same key, a different amount.
  kConflictUser,    // Same key, a different user.
};

bool IsConflict(SendKind kind);
// The field a conflict's result must name; kNone for other kinds.
Field ConflictField(SendKind kind);

struct LoadPlan {
  std::string run_id;
  std::string source;
  std::string currency;
  std::uint64_t seed = 0;
  std::uint32_t user_count = 0;
  // Sends in total, and how they split. The split adds up exactly.
  std::uint64_t commands_count = 0;
  std::uint32_t fresh_count = 0;
  std::uint64_t duplicate_count = 0;
  std::uint64_t conflict_count = 0;
  // Percent of fresh keys that spend instead of credit (a draw per key).
  std::uint32_t spends_pct = 0;
};

// Splits `commands_count` by whole percentages; fresh gets the rest.
LoadPlan MakeLoadPlan(std::string run_id, std::uint64_t seed,
                      std::uint64_t commands_count, std::uint32_t user_count,
                      std::uint64_t duplicates_pct,
                      std::uint64_t conflicts_pct);

std::string UserName(std::uint32_t user_index);
std::string KeyName(const LoadPlan& plan, std::uint32_t key_index);
std::string ProbeKeyName(const LoadPlan& plan, std::uint64_t probe_index);
// The fresh key index of `key`; nullopt for probes and foreign keys.
std::optional<std::uint32_t> ParseKeyIndex(const LoadPlan& plan,
                                           std::string_view key);
bool IsProbeKey(const LoadPlan& plan, std::string_view key);

std::uint32_t PlannedUser(const LoadPlan& plan, std::uint32_t key_index);
std::int64_t PlannedAmount(const LoadPlan& plan, std::uint32_t key_index);
// kSpend for about spends_pct of keys, kTopup for the rest.
Op PlannedOp(const LoadPlan& plan, std::uint32_t key_index);
// The altered values a conflict sends; each differs from the original.
std::uint32_t ConflictUser(const LoadPlan& plan, std::uint32_t key_index);
std::int64_t ConflictAmount(const LoadPlan& plan, std::uint32_t key_index);
// Which conflict to send for a key; by user only when there are 2+ users.
SendKind ChooseConflict(const LoadPlan& plan, std::uint64_t random);

// Builds commands into buffers it reuses; the Command's views stay valid
// until the next Build.
class CommandBuilder {
 public:
  explicit CommandBuilder(const LoadPlan& plan) : plan_(plan) {}

  const Command& Build(std::uint32_t key_index, SendKind kind);
  // A command that changes nothing: amount 0 is invalid, so the worker
  // answers `rejected`/`invalid_command` on the run's result topic.
  const Command& BuildProbe(std::uint64_t probe_index);

 private:
  const LoadPlan& plan_;
  std::string key_;
  std::string user_;
  Command command_;
};

}  // namespace wallet::producer
