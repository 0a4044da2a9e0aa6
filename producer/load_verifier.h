// The end-to-end verifier of a load run.
//
// Expectations, all deterministic because retries are only drawn from keys
// whose first result has already arrived:
//   * every fresh credit comes back `applied`, echoing the planned command;
//     a fresh spend comes back `applied` or `rejected`/`insufficient_funds`
//     (which one depends on the order the worker saw), never below zero;
//   * every duplicate comes back as its key's first result did: `duplicate`
//     after `applied`, the same `insufficient_funds` after a refusal, with
//     exactly the same balance and version;
//   * every conflict comes back `rejected`/`key_conflict` naming the one
//     field the conflict changed;
//   * every send gets exactly one result, and nothing else arrives;
//   * each user's final balance is the starting balance plus the applied
//     credits minus the applied spends, and its version advanced once per
//     applied operation.
//
// Threading. Sender threads call RecordFreshSend, RecordExtraSend and
// PickReadyKey. Exactly one receiver thread calls OnResult. Any thread may
// read the progress counters. Finish runs after every one of those
// threads has been joined. The members are grouped below by who may touch
// them.
//
// Memory: about 32 bytes per command plus 16 per user, allocated up front;
// pending retries are bounded by the run's in-flight window.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "common/protocol.h"
#include "producer/latency_stats.h"
#include "producer/load_plan.h"

namespace wallet::producer {

// One account as a balance query saw it; `known` is false when the query
// failed.
struct AccountSnapshot {
  bool known = false;
  std::int64_t balance_minor = 0;
  std::uint64_t version = 0;
};

struct LoadCounts {
  std::uint64_t fresh_sent = 0;
  std::uint64_t fresh_applied = 0;
  std::uint64_t fresh_not_applied = 0;
  std::uint64_t spends_applied = 0;
  std::uint64_t spends_refused = 0;  // insufficient_funds, a valid answer.
  std::uint64_t negative_balances = 0;
  std::uint64_t duplicates_sent = 0;
  std::uint64_t duplicates_ok = 0;
  std::uint64_t duplicates_bad = 0;
  std::uint64_t conflicts_sent = 0;
  std::uint64_t conflicts_ok = 0;
  std::uint64_t conflicts_bad = 0;
  std::uint64_t missing = 0;     // Sends whose result never came.
  std::uint64_t unexpected = 0;  // Results that match no send.
  std::uint64_t foreign = 0;     // Results of other runs; ignored.
  std::uint64_t probes = 0;      // Late probe results; ignored.
  std::uint32_t users_matched = 0;
  std::uint32_t users_total = 0;
};

struct LoadVerdict {
  LoadCounts counts;
  // The first few problems, each naming a key or user, for the operator.
  std::vector<std::string> problems;
  std::uint64_t problems_total = 0;
  LatencySummary latency;
  // Microseconds from the verifier's start to the last matched result.
  std::uint32_t last_result_us = 0;
};

class LoadVerifier {
 public:
  explicit LoadVerifier(const LoadPlan& plan);
  LoadVerifier(const LoadVerifier&) = delete;
  LoadVerifier& operator=(const LoadVerifier&) = delete;

  // --- Sender threads. Record a send before making it, so that its
  // result can never be processed first.
  void RecordFreshSend(std::uint32_t key_index);
  void RecordExtraSend(std::uint32_t key_index, SendKind kind);
  // Picks, by `random`, a key whose `applied` result has arrived. Returns
  // nullopt while there is none.
  std::optional<std::uint32_t> PickReadyKey(std::uint64_t random) const;

  // --- The receiver thread.
  void OnResult(const Result& result);

  // --- Any thread: progress.
  std::uint64_t results_matched() const {
    return results_matched_.load(std::memory_order_relaxed);
  }
  std::uint64_t sends_recorded() const {
    return sends_recorded_.load(std::memory_order_relaxed);
  }
  // Microseconds since the verifier was made, saturating.
  std::uint32_t NowUs() const;

  // --- After every thread above has been joined.
  LoadVerdict Finish(const std::vector<AccountSnapshot>& start,
                     const std::vector<AccountSnapshot>& final);

 private:
  // What the first result for a fresh key said.
  enum class FirstResult : std::uint8_t {
    kAwaiting,
    kApplied,
    kRefused,  // A spend rejected for insufficient funds.
    kNotApplied,
  };

  struct KeyRecord {
    // Written by the sender before its send; read by the receiver.
    std::atomic<std::uint32_t> sent_us{kNotSent};
    // The receiver's alone.
    FirstResult first = FirstResult::kAwaiting;
    std::int64_t balance_minor = 0;
    std::uint64_t version = 0;
  };

  struct PendingExtra {
    SendKind kind;
    std::uint32_t sent_us;
  };
  // Which pending retry of a key a result may answer.
  enum class ExtraMatch {
    kDuplicate,
    kConflictAmount,
    kConflictUser,
    kAnyConflict,
    kAny
  };

  static constexpr std::uint32_t kNotSent = UINT32_MAX;
  static constexpr std::size_t kProblemsShownMax = 10;

  void OnFirstResult(std::uint32_t key_index, KeyRecord& record,
                     const Result& result, std::uint32_t now_us);
  void OnRepeatResult(std::uint32_t key_index, const KeyRecord& record,
                      const Result& result, std::uint32_t now_us);
  void OnDuplicateResult(std::uint32_t key_index, const KeyRecord& record,
                         const Result& result, std::uint32_t now_us);
  void OnConflictResult(std::uint32_t key_index, const Result& result,
                        std::uint32_t now_us);
  void OnUnexpectedRepeat(std::uint32_t key_index, const Result& result,
                          std::uint32_t now_us);
  static std::uint8_t MatchBits(ExtraMatch match);
  std::optional<PendingExtra> TakeExtra(std::uint32_t key_index,
                                        ExtraMatch match);
  bool EchoesPlan(std::uint32_t key_index, const Result& result) const;
  ExtraMatch ConflictMatchFromEcho(std::uint32_t key_index,
                                   const Result& result) const;
  void MarkAnswered(std::uint32_t key_index, KeyRecord& record,
                    const Result& result, FirstResult first);
  void Matched(std::uint32_t sent_us, std::uint32_t now_us);
  void Problem(std::string text);
  void CountMissing();
  void CompareBalances(const std::vector<AccountSnapshot>& start,
                       const std::vector<AccountSnapshot>& final);

  // Fixed after construction.
  const LoadPlan& plan_;
  const std::chrono::steady_clock::time_point start_;
  const std::unique_ptr<KeyRecord[]> keys_;  // plan_.fresh_count entries.

  // Keys whose `applied` result arrived, in arrival order. Only the
  // receiver writes: it fills slot n and then publishes n + 1 with a
  // release store, so a sender that acquires the count may read any slot
  // below it.
  const std::unique_ptr<std::uint32_t[]> ready_keys_;
  std::atomic<std::uint32_t> ready_count_{0};

  // Counters the senders bump and others read.
  std::atomic<std::uint64_t> sends_recorded_{0};
  std::atomic<std::uint64_t> fresh_sent_{0};
  std::atomic<std::uint64_t> duplicates_sent_{0};
  std::atomic<std::uint64_t> conflicts_sent_{0};
  // Bumped by the receiver, read for progress.
  std::atomic<std::uint64_t> results_matched_{0};

  // Retries sent and not yet answered, by fresh key index. Senders add,
  // the receiver removes.
  Mutex extras_mutex_;
  std::unordered_map<std::uint32_t, std::vector<PendingExtra>> pending_extras_
      GUARDED_BY(extras_mutex_);

  // The receiver's alone until Finish.
  LoadCounts counts_;
  std::vector<std::int64_t> applied_sum_minor_;  // Per user.
  std::vector<std::uint32_t> applied_count_;     // Per user.
  std::vector<std::uint32_t> latencies_us_;
  std::vector<std::string> problems_;
  std::uint64_t problems_total_ = 0;
  std::uint32_t last_result_us_ = 0;
};

// One line of the verdict: a named check, whether it passed, and the
// counts behind it as `key=value` text.
struct LoadCheck {
  std::string name;
  bool pass = false;
  std::string detail;
};

std::vector<LoadCheck> MakeChecks(const LoadCounts& counts);

}  // namespace wallet::producer
