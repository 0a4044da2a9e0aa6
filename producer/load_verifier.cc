#include "producer/load_verifier.h"

#include <algorithm>

#include "producer/text_output.h"

namespace wallet::producer {
namespace {

std::uint8_t KindBit(SendKind kind) {
  return static_cast<std::uint8_t>(1u << static_cast<unsigned>(kind));
}

std::string Describe(const Result& result) {
  std::string text(StatusName(result.outcome.status));
  if (result.outcome.status == Status::kRejected) {
    text.append("/").append(ReasonName(result.outcome.reason));
  }
  if (!result.detail.empty())
    text.append(" (").append(result.detail).append(")");
  return text;
}

std::string CountsText(
    std::initializer_list<std::pair<std::string_view, std::uint64_t>> fields) {
  KeyValueLine line("");
  for (const auto& [name, value] : fields) line.Uint(name, value);
  return line.text();
}

}  // namespace

LoadVerifier::LoadVerifier(const LoadPlan& plan)
    : plan_(plan),
      start_(std::chrono::steady_clock::now()),
      keys_(std::make_unique<KeyRecord[]>(plan.fresh_count)),
      ready_keys_(std::make_unique<std::uint32_t[]>(plan.fresh_count)),
      applied_sum_minor_(plan.user_count, 0),
      applied_count_(plan.user_count, 0) {
  latencies_us_.reserve(plan.commands_count);
  counts_.users_total = plan.user_count;
}

std::uint32_t LoadVerifier::NowUs() const {
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start_);
  const auto us = static_cast<std::uint64_t>(elapsed.count());
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(us, kNotSent - 1));
}

void LoadVerifier::RecordFreshSend(std::uint32_t key_index) {
  keys_[key_index].sent_us.store(NowUs(), std::memory_order_relaxed);
  fresh_sent_.fetch_add(1, std::memory_order_relaxed);
  sends_recorded_.fetch_add(1, std::memory_order_relaxed);
}

void LoadVerifier::RecordExtraSend(std::uint32_t key_index, SendKind kind) {
  {
    MutexLock lock(extras_mutex_);
    pending_extras_[key_index].push_back({kind, NowUs()});
  }
  auto& sent =
      kind == SendKind::kDuplicate ? duplicates_sent_ : conflicts_sent_;
  sent.fetch_add(1, std::memory_order_relaxed);
  sends_recorded_.fetch_add(1, std::memory_order_relaxed);
}

std::optional<std::uint32_t> LoadVerifier::PickReadyKey(
    std::uint64_t random) const {
  const std::uint32_t count = ready_count_.load(std::memory_order_acquire);
  if (count == 0) return std::nullopt;
  return ready_keys_[random % count];
}

void LoadVerifier::OnResult(const Result& result) {
  const std::optional<std::uint32_t> key_index =
      ParseKeyIndex(plan_, result.key);
  if (!key_index) {
    ++(IsProbeKey(plan_, result.key) ? counts_.probes : counts_.foreign);
    return;
  }
  const std::uint32_t now_us = NowUs();
  KeyRecord& record = keys_[*key_index];
  if (record.first == FirstResult::kAwaiting) {
    OnFirstResult(*key_index, record, result, now_us);
  } else {
    OnRepeatResult(*key_index, record, result, now_us);
  }
}

void LoadVerifier::OnFirstResult(std::uint32_t key_index, KeyRecord& record,
                                 const Result& result, std::uint32_t now_us) {
  const std::uint32_t sent_us = record.sent_us.load(std::memory_order_relaxed);
  if (sent_us == kNotSent) {
    ++counts_.unexpected;
    Problem("key " + result.key + ": result for a key never sent");
    return;
  }
  Matched(sent_us, now_us);
  const Outcome& outcome = result.outcome;
  const bool echoed = outcome.has_balance && EchoesPlan(key_index, result);
  if (echoed && outcome.balance_minor < 0) ++counts_.negative_balances;
  if (echoed && outcome.status == Status::kApplied) {
    MarkAnswered(key_index, record, result, FirstResult::kApplied);
    return;
  }
  const bool refused = outcome.status == Status::kRejected &&
                       outcome.reason == Reason::kInsufficientFunds &&
                       PlannedOp(plan_, key_index) == Op::kSpend &&
                       outcome.balance_minor < PlannedAmount(plan_, key_index);
  if (echoed && refused) {
    MarkAnswered(key_index, record, result, FirstResult::kRefused);
    return;
  }
  record.first = FirstResult::kNotApplied;
  ++counts_.fresh_not_applied;
  Problem("key " + result.key + ": first send came back " + Describe(result) +
          ", expected applied with the planned command");
}

void LoadVerifier::MarkAnswered(std::uint32_t key_index, KeyRecord& record,
                                const Result& result, FirstResult first) {
  record.first = first;
  record.balance_minor = result.outcome.balance_minor;
  record.version = result.outcome.version;
  const Op op = PlannedOp(plan_, key_index);
  if (first == FirstResult::kApplied) {
    ++counts_.fresh_applied;
    if (op == Op::kSpend) ++counts_.spends_applied;
    const std::uint32_t user = PlannedUser(plan_, key_index);
    applied_sum_minor_[user] +=
        SignedDelta(op, PlannedAmount(plan_, key_index));
    ++applied_count_[user];
  } else {
    ++counts_.spends_refused;
  }

  // Publish: the slot is written before the count that exposes it.
  const std::uint32_t slot = ready_count_.load(std::memory_order_relaxed);
  ready_keys_[slot] = key_index;
  ready_count_.store(slot + 1, std::memory_order_release);
}

void LoadVerifier::OnRepeatResult(std::uint32_t key_index,
                                  const KeyRecord& record, const Result& result,
                                  std::uint32_t now_us) {
  const Outcome& outcome = result.outcome;
  const bool refusal_again = outcome.status == Status::kRejected &&
                             outcome.reason == Reason::kInsufficientFunds;
  if (outcome.status == Status::kDuplicate || refusal_again) {
    OnDuplicateResult(key_index, record, result, now_us);
  } else if (outcome.status == Status::kRejected &&
             outcome.reason == Reason::kKeyConflict) {
    OnConflictResult(key_index, result, now_us);
  } else {
    OnUnexpectedRepeat(key_index, result, now_us);
  }
}

void LoadVerifier::OnDuplicateResult(std::uint32_t key_index,
                                     const KeyRecord& record,
                                     const Result& result,
                                     std::uint32_t now_us) {
  const std::optional<PendingExtra> extra =
      TakeExtra(key_index, ExtraMatch::kDuplicate);
  if (!extra) {
    OnUnexpectedRepeat(key_index, result, now_us);
    return;
  }
  Matched(extra->sent_us, now_us);
  const Outcome& outcome = result.outcome;
  const bool same_status = (record.first == FirstResult::kApplied &&
                            outcome.status == Status::kDuplicate) ||
                           (record.first == FirstResult::kRefused &&
                            outcome.status == Status::kRejected &&
                            outcome.reason == Reason::kInsufficientFunds);
  const bool same_answer = same_status && outcome.has_balance &&
                           outcome.balance_minor == record.balance_minor &&
                           outcome.version == record.version;
  if (same_answer && EchoesPlan(key_index, result)) {
    ++counts_.duplicates_ok;
    return;
  }
  ++counts_.duplicates_bad;
  Problem("key " + result.key + ": duplicate answered balance=" +
          std::to_string(outcome.balance_minor) +
          " version=" + std::to_string(outcome.version) +
          ", applied said balance=" + std::to_string(record.balance_minor) +
          " version=" + std::to_string(record.version));
}

void LoadVerifier::OnConflictResult(std::uint32_t key_index,
                                    const Result& result,
                                    std::uint32_t now_us) {
  const std::optional<PendingExtra> extra =
      TakeExtra(key_index, ConflictMatchFromEcho(key_index, result));
  if (!extra) {
    OnUnexpectedRepeat(key_index, result, now_us);
    return;
  }
  Matched(extra->sent_us, now_us);
  const Field expected = ConflictField(extra->kind);
  if (result.outcome.field == expected) {
    ++counts_.conflicts_ok;
    return;
  }
  ++counts_.conflicts_bad;
  Problem("key " + result.key + ": conflict named field=" +
          std::string(FieldName(result.outcome.field)) + ", expected " +
          std::string(FieldName(expected)));
}

// An answer that no retry explains: the worst case is a retry that was
// applied a second time. It still answers one pending retry, which is then
// counted bad; with none pending it is an unexpected result.
void LoadVerifier::OnUnexpectedRepeat(std::uint32_t key_index,
                                      const Result& result,
                                      std::uint32_t now_us) {
  const std::optional<PendingExtra> extra =
      TakeExtra(key_index, ExtraMatch::kAny);
  if (!extra) {
    ++counts_.unexpected;
    Problem("key " + result.key + ": unexpected " + Describe(result) +
            " with no retry pending");
    return;
  }
  Matched(extra->sent_us, now_us);
  const bool duplicate = extra->kind == SendKind::kDuplicate;
  ++(duplicate ? counts_.duplicates_bad : counts_.conflicts_bad);
  Problem("key " + result.key + ": " + (duplicate ? "duplicate" : "conflict") +
          " came back " + Describe(result));
}

std::uint8_t LoadVerifier::MatchBits(ExtraMatch match) {
  switch (match) {
    case ExtraMatch::kDuplicate:
      return KindBit(SendKind::kDuplicate);
    case ExtraMatch::kConflictAmount:
      return KindBit(SendKind::kConflictAmount);
    case ExtraMatch::kConflictUser:
      return KindBit(SendKind::kConflictUser);
    case ExtraMatch::kAnyConflict:
      return KindBit(SendKind::kConflictAmount) |
             KindBit(SendKind::kConflictUser);
    case ExtraMatch::kAny:
      break;
  }
  return 0xff;
}

std::optional<LoadVerifier::PendingExtra> LoadVerifier::TakeExtra(
    std::uint32_t key_index, ExtraMatch match) {
  const std::uint8_t bits = MatchBits(match);
  MutexLock lock(extras_mutex_);
  const auto found = pending_extras_.find(key_index);
  if (found == pending_extras_.end()) return std::nullopt;
  std::vector<PendingExtra>& pending = found->second;
  // Oldest first: retries of one key are answered in the order sent.
  const auto it = std::find_if(pending.begin(), pending.end(),
                               [bits](const PendingExtra& extra) {
                                 return (KindBit(extra.kind) & bits) != 0;
                               });
  if (it == pending.end()) return std::nullopt;
  const PendingExtra extra = *it;
  pending.erase(it);
  if (pending.empty()) pending_extras_.erase(found);
  return extra;
}

bool LoadVerifier::EchoesPlan(std::uint32_t key_index,
                              const Result& result) const {
  return result.has_command && result.op == PlannedOp(plan_, key_index) &&
         result.user == UserName(PlannedUser(plan_, key_index)) &&
         result.currency == plan_.currency &&
         result.amount_minor == PlannedAmount(plan_, key_index) &&
         result.source == plan_.source;
}

// A conflict's echo says which altered command it answers; without an
// echo, any pending conflict of the key will do.
LoadVerifier::ExtraMatch LoadVerifier::ConflictMatchFromEcho(
    std::uint32_t key_index, const Result& result) const {
  if (!result.has_command) return ExtraMatch::kAnyConflict;
  if (result.user != UserName(PlannedUser(plan_, key_index))) {
    return ExtraMatch::kConflictUser;
  }
  if (result.amount_minor != PlannedAmount(plan_, key_index)) {
    return ExtraMatch::kConflictAmount;
  }
  return ExtraMatch::kAnyConflict;
}

void LoadVerifier::Matched(std::uint32_t sent_us, std::uint32_t now_us) {
  latencies_us_.push_back(now_us >= sent_us ? now_us - sent_us : 0);
  last_result_us_ = now_us;
  results_matched_.fetch_add(1, std::memory_order_relaxed);
}

void LoadVerifier::Problem(std::string text) {
  ++problems_total_;
  if (problems_.size() < kProblemsShownMax)
    problems_.push_back(std::move(text));
}

void LoadVerifier::CountMissing() {
  for (std::uint32_t i = 0; i < plan_.fresh_count; ++i) {
    const bool sent =
        keys_[i].sent_us.load(std::memory_order_relaxed) != kNotSent;
    if (sent && keys_[i].first == FirstResult::kAwaiting) {
      ++counts_.missing;
      Problem("key " + KeyName(plan_, i) + ": no result for the first send");
    }
  }
  MutexLock lock(extras_mutex_);
  for (const auto& [key_index, pending] : pending_extras_) {
    for (const PendingExtra& extra : pending) {
      ++counts_.missing;
      Problem("key " + KeyName(plan_, key_index) + ": no result for a " +
              (extra.kind == SendKind::kDuplicate ? "duplicate" : "conflict"));
    }
  }
}

void LoadVerifier::CompareBalances(const std::vector<AccountSnapshot>& start,
                                   const std::vector<AccountSnapshot>& final) {
  for (std::uint32_t user = 0; user < plan_.user_count; ++user) {
    const AccountSnapshot& before = start[user];
    const AccountSnapshot& after = final[user];
    const std::int64_t expected_minor =
        before.balance_minor + applied_sum_minor_[user];
    const std::uint64_t expected_version =
        before.version + applied_count_[user];
    if (before.known && after.known && after.balance_minor == expected_minor &&
        after.version == expected_version) {
      ++counts_.users_matched;
      continue;
    }
    Problem(UserName(user) +
            ": final balance=" + std::to_string(after.balance_minor) +
            " version=" + std::to_string(after.version) +
            ", expected balance=" + std::to_string(expected_minor) +
            " version=" + std::to_string(expected_version) +
            (before.known && after.known ? "" : " (query failed)"));
  }
}

LoadVerdict LoadVerifier::Finish(const std::vector<AccountSnapshot>& start,
                                 const std::vector<AccountSnapshot>& final) {
  counts_.fresh_sent = fresh_sent_.load(std::memory_order_relaxed);
  counts_.duplicates_sent = duplicates_sent_.load(std::memory_order_relaxed);
  counts_.conflicts_sent = conflicts_sent_.load(std::memory_order_relaxed);
  CountMissing();
  CompareBalances(start, final);

  LoadVerdict verdict;
  verdict.counts = counts_;
  verdict.problems = problems_;
  verdict.problems_total = problems_total_;
  verdict.latency = SummarizeLatencies(latencies_us_);
  verdict.last_result_us = last_result_us_;
  return verdict;
}

std::vector<LoadCheck> MakeChecks(const LoadCounts& c) {
  return {
      {"fresh_applied",
       c.fresh_applied + c.spends_refused == c.fresh_sent &&
           c.fresh_not_applied == 0,
       CountsText({{"applied", c.fresh_applied},
                   {"spends_applied", c.spends_applied},
                   {"spends_refused", c.spends_refused},
                   {"expected", c.fresh_sent},
                   {"not_applied", c.fresh_not_applied}})},
      {"no_negative_balance", c.negative_balances == 0,
       CountsText({{"negative", c.negative_balances}})},
      {"duplicates",
       c.duplicates_ok == c.duplicates_sent && c.duplicates_bad == 0,
       CountsText({{"ok", c.duplicates_ok},
                   {"expected", c.duplicates_sent},
                   {"bad", c.duplicates_bad}})},
      {"conflicts", c.conflicts_ok == c.conflicts_sent && c.conflicts_bad == 0,
       CountsText({{"ok", c.conflicts_ok},
                   {"expected", c.conflicts_sent},
                   {"bad", c.conflicts_bad}})},
      {"balances", c.users_matched == c.users_total,
       "matched=" + std::to_string(c.users_matched) + "/" +
           std::to_string(c.users_total)},
      {"missing_results", c.missing == 0, CountsText({{"missing", c.missing}})},
      {"unexpected_results", c.unexpected == 0,
       CountsText({{"unexpected", c.unexpected},
                   {"other_runs_ignored", c.foreign},
                   {"late_probes_ignored", c.probes}})},
  };
}

}  // namespace wallet::producer
