// `load`: drives the worker with N commands from K sender threads and
// verifies every outcome end to end (see load_verifier.h for what is
// checked).
//
// Phases, all on the main thread except the run itself:
//   1. subscribe to the run's result topic and read every user's starting
//      balance (the worker is durable and may hold earlier state);
//   2. prove the subscription is live with probes that change nothing;
//   3. the run: K sender threads, one receiver thread, the main thread
//      printing progress and deciding when it is over;
//   4. read every final balance and print the verdict.
//
// Threads: each sender owns its PUSH socket, the receiver owns the SUB
// socket from phase 3 on (the main thread does not touch it meanwhile),
// and all share one zmq::context_t.

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "common/client.h"
#include "common/log.h"
#include "common/validate.h"
#include "producer/commands.h"
#include "producer/load_plan.h"
#include "producer/load_verifier.h"
#include "producer/random_id.h"
#include "producer/stop_signal.h"
#include "producer/text_output.h"

namespace wallet::producer {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// Bounds of the options; the verifier's memory is linear in both.
constexpr std::int64_t kCommandsMax = 10'000'000;
constexpr std::int64_t kUsersMax = 1'000'000;
constexpr std::int64_t kConnectionsMax = 64;
constexpr std::int64_t kWindowMax = 10'000'000;
static_assert(kCommandsMax <= UINT32_MAX, "fresh key indices are 32-bit");

// Probes go out this often until one comes back.
constexpr int kProbeIntervalMs = 200;
// A send blocked by backpressure gives up after this and is retried, so
// that a stop request is noticed.
constexpr int kSenderBlockMs = 200;
// The receiver wakes this often to notice the end of the run.
constexpr int kReceivePollMs = 100;
constexpr std::int64_t kProgressIntervalMs = 1000;
constexpr std::int64_t kWarnIntervalMs = 1000;
constexpr milliseconds kMonitorPoll{20};
constexpr microseconds kWindowPoll{50};
constexpr milliseconds kReadyKeyPoll{1};

constexpr CommandHelp kHelp = {
    "load",
    "[flags]",
    "Load-tests the worker and verifies it end to end. Sends N commands in "
    "total from K threads: fresh commands of 1..1000 to user-0..user-M-1 "
    "under keys unique to this run (topups, and S% spends), plus P% "
    "identical retries and Q% conflicting reuses of keys whose first result "
    "has arrived. Checks that every fresh credit is applied and every spend "
    "applied or refused for insufficient funds, no balance ever below zero, "
    "every retry answers as its key first did with the same balance and "
    "version, every conflict is rejected key_conflict naming the changed "
    "field, no result is missing, and each user's final balance is its "
    "starting balance plus the credits and minus the spends applied. Prints "
    "progress each second, then the checks, throughput and latency "
    "percentiles. Exit 0 on PASS, 1 on FAIL. Memory: about 32 bytes per "
    "command and 16 per user, allocated up front (about 320 MB at the "
    "10,000,000 command limit).",
};

std::vector<Flag> LoadFlags(LoadOptions& options) {
  return {
      IntFlag("commands-count", "N",
              "Commands to send in total, retries and conflicts included.",
              &options.commands_count, 1, kCommandsMax),
      IntFlag("users", "M", "Users to spread credits over.", &options.users, 1,
              kUsersMax),
      IntFlag("duplicates-pct", "P",
              "Percent of sends that retry an answered key identically.",
              &options.duplicates_pct, 0, 99),
      IntFlag("conflicts-pct", "Q",
              "Percent of sends that reuse an answered key with a different "
              "amount or user.",
              &options.conflicts_pct, 0, 99),
      IntFlag("spends-pct", "S",
              "Percent of fresh keys that spend instead of credit; a spend "
              "may be refused for insufficient funds, and the check then "
              "expects that refusal to stand.",
              &options.spends_pct, 0, 100),
      IntFlag("connections", "K",
              "Sender threads, each with its own PUSH socket.",
              &options.connections, 1, kConnectionsMax),
      StringFlag("source", "S",
                 "Source of the commands; names the result "
                 "topic the run listens to.",
                 &options.source),
      StringFlag("currency", "C", "Currency credited.", &options.currency),
      IntFlag("timeout-s", "S",
              "Give up when no result arrives for this long while some are "
              "still due.",
              &options.timeout_s, 1, 3600),
      IntFlag("seed", "X",
              "Seed of users and amounts; 0 picks one at random. Keys are "
              "new on every run regardless.",
              &options.seed, 0, INT64_MAX, "0 (random, printed at start)"),
      IntFlag("window", "W",
              "Most sends awaiting their result at once (plus at most one "
              "per connection); 0 means no limit.",
              &options.window, 0, kWindowMax),
  };
}

std::optional<std::string> CheckOptions(const LoadOptions& options) {
  if (options.duplicates_pct + options.conflicts_pct >= 100) {
    return "--duplicates-pct plus --conflicts-pct must stay below 100";
  }
  if (!IsValidSource(options.source)) {
    return "--source must be 1..64 bytes of [A-Za-z0-9._:@-]";
  }
  if (!IsValidCurrency(options.currency)) {
    return "--currency must be 1..16 bytes of [A-Za-z0-9_]";
  }
  return std::nullopt;
}

LoadPlan MakePlan(const LoadOptions& options) {
  char run_id[24];
  std::snprintf(run_id, sizeof(run_id), "r%016" PRIx64, RandomU64());
  const std::uint64_t seed = options.seed != 0
                                 ? static_cast<std::uint64_t>(options.seed)
                                 : RandomU64();
  LoadPlan plan = MakeLoadPlan(
      run_id, seed, static_cast<std::uint64_t>(options.commands_count),
      static_cast<std::uint32_t>(options.users),
      static_cast<std::uint64_t>(options.duplicates_pct),
      static_cast<std::uint64_t>(options.conflicts_pct));
  plan.source = options.source;
  plan.currency = options.currency;
  plan.spends_pct = static_cast<std::uint32_t>(options.spends_pct);
  return plan;
}

// --- Phase 1 and 4: balances.

AccountSnapshot SnapshotOf(const BalanceReply& reply,
                           std::string_view currency) {
  AccountSnapshot snapshot;
  snapshot.known = true;  // An absent currency is a zero balance.
  for (const AccountBalance& account : reply.balances) {
    if (account.currency == currency) {
      snapshot.balance_minor = account.balance_minor;
      snapshot.version = account.version;
    }
  }
  return snapshot;
}

// Reads every user's account; on the first failure stops, leaving the
// rest unknown, and returns the error.
std::optional<ClientError> ReadBalances(QueryClient& client,
                                        const LoadPlan& plan,
                                        std::vector<AccountSnapshot>& out) {
  out.assign(plan.user_count, AccountSnapshot{});
  for (std::uint32_t user = 0; user < plan.user_count; ++user) {
    auto reply = client.Balance(UserName(user));
    if (auto* error = std::get_if<ClientError>(&reply)) {
      error->message = UserName(user) + ": " + error->message;
      return *error;
    }
    out[user] = SnapshotOf(std::get<BalanceReply>(reply), plan.currency);
  }
  return std::nullopt;
}

// --- Phase 2: the probe.

// Waits up to `wait_ms` for a result of one of this run's probes.
std::optional<Result> AwaitProbe(EventSubscriber& subscriber,
                                 const LoadPlan& plan, std::int64_t wait_ms) {
  const std::int64_t deadline_ms = MonotonicMs() + wait_ms;
  for (std::int64_t left_ms = wait_ms; left_ms > 0;
       left_ms = deadline_ms - MonotonicMs()) {
    std::optional<Event> event = subscriber.Receive(static_cast<int>(left_ms));
    const auto* result = event ? std::get_if<Result>(&*event) : nullptr;
    if (result != nullptr && IsProbeKey(plan, result->key)) return *result;
  }
  return std::nullopt;
}

// Sends probes until one's result arrives, which proves the subscription
// reaches the worker. Each probe has its own key, so the worker's memory
// of an earlier probe never matters.
std::optional<std::string> ProveSubscription(const ProgramContext& context,
                                             EventSubscriber& subscriber,
                                             const LoadPlan& plan,
                                             std::int64_t timeout_ms) {
  CommandSender sender(context.zmq, context.global.commands_endpoint,
                       context.security, kProbeIntervalMs);
  CommandBuilder builder(plan);
  const std::int64_t started_ms = MonotonicMs();
  for (std::uint64_t probe = 0;
       MonotonicMs() - started_ms < timeout_ms && !StopRequested(); ++probe) {
    const std::optional<ClientError> error =
        sender.Send(builder.BuildProbe(probe));
    if (error && error->code != ClientError::Code::kTimeout) {
      return error->message;
    }
    const std::optional<Result> result =
        AwaitProbe(subscriber, plan, kProbeIntervalMs);
    if (!result) continue;
    if (result->outcome.status != Status::kRejected) {
      Log(LogLevel::kWarn, "load",
          "event=probe_not_rejected key=%s status=%.*s", result->key.c_str(),
          static_cast<int>(StatusName(result->outcome.status).size()),
          StatusName(result->outcome.status).data());
    }
    Log(LogLevel::kInfo, "load",
        "event=subscription_live probes=%" PRIu64 " ms=%" PRId64, probe + 1,
        MonotonicMs() - started_ms);
    return std::nullopt;
  }
  return "no probe result within " + std::to_string(timeout_ms) +
         " ms; is the worker running and publishing on the events endpoint?";
}

// --- Phase 3: the run.

enum class RunEnd { kComplete, kIdleTimeout, kInterrupted, kSendFailed };

std::string_view RunEndName(RunEnd end) {
  switch (end) {
    case RunEnd::kComplete:
      return "complete";
    case RunEnd::kIdleTimeout:
      return "timeout";
    case RunEnd::kInterrupted:
      return "interrupted";
    case RunEnd::kSendFailed:
      return "send_failed";
  }
  return "?";
}

struct RunOutcome {
  RunEnd end = RunEnd::kComplete;
  std::uint64_t sends_done = 0;
  std::uint32_t started_us = 0;  // On the verifier's clock.
};

struct PlannedSend {
  std::uint32_t key_index = 0;
  SendKind kind = SendKind::kFresh;
};

// Takes one unit from a budget; returns the value before, 0 when empty.
std::int64_t TakeOne(std::atomic<std::int64_t>& left) {
  std::int64_t value = left.load(std::memory_order_relaxed);
  while (value > 0 && !left.compare_exchange_weak(value, value - 1,
                                                  std::memory_order_relaxed)) {
  }
  return value > 0 ? value : 0;
}

class LoadRun {
 public:
  LoadRun(const ProgramContext& context, const LoadPlan& plan,
          const LoadOptions& options, LoadVerifier& verifier)
      : context_(context),
        plan_(plan),
        verifier_(verifier),
        connections_(static_cast<int>(options.connections)),
        window_(static_cast<std::uint64_t>(options.window)),
        idle_timeout_ms_(options.timeout_s * 1000),
        fresh_left_(plan.fresh_count),
        duplicates_left_(static_cast<std::int64_t>(plan.duplicate_count)),
        conflicts_left_(static_cast<std::int64_t>(plan.conflict_count)) {}

  RunOutcome Run(EventSubscriber& subscriber);

 private:
  void SenderLoop(int sender_index);
  void ReceiverLoop(EventSubscriber& subscriber);
  bool WaitForWindow() const;
  std::optional<PlannedSend> ClaimSend(SplitMix64& random,
                                       std::uint64_t ticket);
  std::optional<PlannedSend> TryFresh();
  std::optional<PlannedSend> TryRetry(SplitMix64& random, SendKind kind);
  bool SendWithRetry(CommandSender& sender, const Command& command);
  RunEnd Monitor();

  // Fixed after construction.
  const ProgramContext& context_;
  const LoadPlan& plan_;
  LoadVerifier& verifier_;
  const int connections_;
  const std::uint64_t window_;
  const std::int64_t idle_timeout_ms_;

  // Shared by all threads; atomics only.
  std::atomic<std::uint64_t> tickets_{0};  // Claimed sends, may overshoot.
  std::atomic<std::int64_t> fresh_left_;
  std::atomic<std::int64_t> duplicates_left_;
  std::atomic<std::int64_t> conflicts_left_;
  std::atomic<std::uint64_t> sends_done_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> send_failed_{false};
  RateLimiter backpressure_log_{kWarnIntervalMs};
};

RunOutcome LoadRun::Run(EventSubscriber& subscriber) {
  RunOutcome outcome;
  outcome.started_us = verifier_.NowUs();
  std::thread receiver;
  std::vector<std::thread> senders;
  {
    // Helper threads inherit the block; only the main thread sees SIGINT.
    ScopedStopSignalBlock block;
    receiver = std::thread([this, &subscriber] { ReceiverLoop(subscriber); });
    for (int i = 0; i < connections_; ++i) {
      senders.emplace_back([this, i] { SenderLoop(i); });
    }
  }
  outcome.end = Monitor();

  // Stopping: senders notice within kSenderBlockMs, the receiver within
  // kReceivePollMs; nothing is abandoned mid-call.
  stop_.store(true, std::memory_order_relaxed);
  for (std::thread& sender : senders) sender.join();
  receiver.join();
  outcome.sends_done = sends_done_.load(std::memory_order_relaxed);
  return outcome;
}

void LoadRun::SenderLoop(int sender_index) {
  CommandSender sender(context_.zmq, context_.global.commands_endpoint,
                       context_.security, kSenderBlockMs);
  CommandBuilder builder(plan_);
  SplitMix64 random(
      Mix64(plan_.seed + static_cast<std::uint64_t>(sender_index)));
  while (WaitForWindow()) {
    const std::uint64_t ticket =
        tickets_.fetch_add(1, std::memory_order_relaxed);
    if (ticket >= plan_.commands_count) return;
    const std::optional<PlannedSend> send = ClaimSend(random, ticket);
    if (!send) return;
    if (send->kind == SendKind::kFresh) {
      verifier_.RecordFreshSend(send->key_index);
    } else {
      verifier_.RecordExtraSend(send->key_index, send->kind);
    }
    if (!SendWithRetry(sender, builder.Build(send->key_index, send->kind))) {
      return;
    }
    sends_done_.fetch_add(1, std::memory_order_relaxed);
  }
}

bool LoadRun::WaitForWindow() const {
  while (!stop_.load(std::memory_order_relaxed)) {
    const std::uint64_t recorded = verifier_.sends_recorded();
    const std::uint64_t matched = verifier_.results_matched();
    if (window_ == 0 || recorded < matched + window_) return true;
    std::this_thread::sleep_for(kWindowPoll);
  }
  return false;
}

// Decides what one claimed ticket sends. Each kind is preferred in
// proportion to what is left of its budget over the tickets left, which
// spreads retries across the run. Retries need a key whose result has
// arrived; until there is one, fresh keys go first, and once fresh keys
// run out the ticket waits for one. The budgets add up to the tickets, so
// every ticket finds a unit.
std::optional<PlannedSend> LoadRun::ClaimSend(SplitMix64& random,
                                              std::uint64_t ticket) {
  const std::uint64_t tickets_left = plan_.commands_count - ticket;
  while (!stop_.load(std::memory_order_relaxed)) {
    const auto duplicates = static_cast<std::uint64_t>(
        duplicates_left_.load(std::memory_order_relaxed));
    const auto conflicts = static_cast<std::uint64_t>(
        conflicts_left_.load(std::memory_order_relaxed));
    const std::uint64_t draw = random.Below(tickets_left);
    const SendKind conflict = ChooseConflict(plan_, random.Next());
    std::optional<PlannedSend> send;
    if (draw < duplicates) {
      send = TryRetry(random, SendKind::kDuplicate);
    } else if (draw < duplicates + conflicts) {
      send = TryRetry(random, conflict);
    }
    if (!send) send = TryFresh();
    if (!send) send = TryRetry(random, SendKind::kDuplicate);
    if (!send) send = TryRetry(random, conflict);
    if (send) return send;
    std::this_thread::sleep_for(kReadyKeyPoll);
  }
  return std::nullopt;
}

std::optional<PlannedSend> LoadRun::TryFresh() {
  const std::int64_t left = TakeOne(fresh_left_);
  if (left == 0) return std::nullopt;
  // Budget values plan.fresh_count..1 map to indices 0..fresh_count-1.
  const auto index = static_cast<std::uint32_t>(
      static_cast<std::int64_t>(plan_.fresh_count) - left);
  return PlannedSend{index, SendKind::kFresh};
}

std::optional<PlannedSend> LoadRun::TryRetry(SplitMix64& random,
                                             SendKind kind) {
  const std::optional<std::uint32_t> key =
      verifier_.PickReadyKey(random.Next());
  if (!key) return std::nullopt;
  auto& budget =
      kind == SendKind::kDuplicate ? duplicates_left_ : conflicts_left_;
  if (TakeOne(budget) == 0) return std::nullopt;
  return PlannedSend{*key, kind};
}

bool LoadRun::SendWithRetry(CommandSender& sender, const Command& command) {
  while (!stop_.load(std::memory_order_relaxed)) {
    const std::optional<ClientError> error = sender.Send(command);
    if (!error) return true;
    if (error->code != ClientError::Code::kTimeout) {
      Log(LogLevel::kError, "load", "event=send_failed error=\"%s\"",
          error->message.c_str());
      send_failed_.store(true, std::memory_order_relaxed);
      return false;
    }
    std::uint64_t suppressed = 0;
    if (backpressure_log_.Allow(suppressed)) {
      Log(LogLevel::kWarn, "load",
          "event=backpressure blocked_ms=%d suppressed=%" PRIu64,
          kSenderBlockMs, suppressed);
    }
  }
  return false;
}

void LoadRun::ReceiverLoop(EventSubscriber& subscriber) {
  RateLimiter error_log(kWarnIntervalMs);
  while (!stop_.load(std::memory_order_relaxed)) {
    ClientError error{ClientError::Code::kTimeout, ""};
    const std::optional<Event> event =
        subscriber.Receive(kReceivePollMs, &error);
    if (event) {
      if (const auto* result = std::get_if<Result>(&*event)) {
        verifier_.OnResult(*result);
      }
      continue;
    }
    std::uint64_t suppressed = 0;
    if (error.code != ClientError::Code::kTimeout &&
        error_log.Allow(suppressed)) {
      Log(LogLevel::kWarn, "load",
          "event=receive_error error=\"%s\" suppressed=%" PRIu64,
          error.message.c_str(), suppressed);
    }
  }
}

// The main thread's part of the run: progress once a second, and the
// decision that the run is over.
RunEnd LoadRun::Monitor() {
  std::int64_t last_progress_ms = MonotonicMs();
  std::int64_t last_result_ms = last_progress_ms;
  std::uint64_t last_matched = 0;
  std::uint64_t progress_matched = 0;
  while (true) {
    std::this_thread::sleep_for(kMonitorPoll);
    if (StopRequested()) return RunEnd::kInterrupted;
    if (send_failed_.load(std::memory_order_relaxed)) {
      return RunEnd::kSendFailed;
    }
    const std::uint64_t matched = verifier_.results_matched();
    const std::uint64_t done = sends_done_.load(std::memory_order_relaxed);
    if (done == plan_.commands_count && matched >= done) {
      return RunEnd::kComplete;
    }
    const std::int64_t now_ms = MonotonicMs();
    if (matched != last_matched) {
      last_matched = matched;
      last_result_ms = now_ms;
    } else if (now_ms - last_result_ms >= idle_timeout_ms_) {
      return RunEnd::kIdleTimeout;
    }
    if (now_ms - last_progress_ms >= kProgressIntervalMs) {
      const std::uint64_t rate =
          (matched - progress_matched) * 1000 /
          static_cast<std::uint64_t>(now_ms - last_progress_ms);
      Log(LogLevel::kInfo, "load",
          "event=progress sent=%" PRIu64 " results=%" PRIu64
          " in_flight=%" PRIu64 " results_per_s=%" PRIu64,
          done, matched, done > matched ? done - matched : 0, rate);
      last_progress_ms = now_ms;
      progress_matched = matched;
    }
  }
}

// --- Phase 4: the report.

std::string Millis(std::uint32_t us) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", us / 1000.0);
  return text;
}

void PrintLine(const KeyValueLine& line) {
  std::printf("%s\n", line.text().c_str());
}

// Prints the checks, problems, throughput and latency, then the verdict
// as the last line. Returns whether the run passed.
bool PrintReport(const LoadPlan& plan, const RunOutcome& run,
                 const LoadVerdict& verdict) {
  const std::string sent = std::to_string(run.sends_done) + "/" +
                           std::to_string(plan.commands_count);
  const LoadCheck run_check{"run", run.end == RunEnd::kComplete,
                            KeyValueLine("")
                                .Str("end", RunEndName(run.end))
                                .Str("sent", sent)
                                .text()};
  const std::vector<LoadCheck> checks = MakeChecks(verdict.counts);
  bool pass = true;
  const auto print_check = [&pass](const LoadCheck& check) {
    pass = pass && check.pass;
    std::printf("check=%s result=%s %s\n", check.name.c_str(),
                check.pass ? "PASS" : "FAIL", check.detail.c_str());
  };
  print_check(run_check);
  for (const LoadCheck& check : checks) print_check(check);
  for (const std::string& problem : verdict.problems) {
    PrintLine(KeyValueLine("problem").Str("what", problem));
  }
  if (verdict.problems_total > verdict.problems.size()) {
    PrintLine(KeyValueLine("problems").Uint("total", verdict.problems_total));
  }

  const std::uint32_t elapsed_us = verdict.last_result_us > run.started_us
                                       ? verdict.last_result_us - run.started_us
                                       : 0;
  const double seconds = elapsed_us / 1e6;
  const std::uint64_t results = verdict.latency.count;
  char rate[32];
  std::snprintf(rate, sizeof(rate), "%.0f",
                seconds > 0 ? static_cast<double>(results) / seconds : 0.0);
  char seconds_text[32];
  std::snprintf(seconds_text, sizeof(seconds_text), "%.3f", seconds);
  PrintLine(KeyValueLine("throughput")
                .Uint("results", results)
                .Str("seconds", seconds_text)
                .Str("commands_per_s", rate));
  const LatencySummary& latency = verdict.latency;
  PrintLine(KeyValueLine("latency_ms")
                .Str("p50", Millis(latency.p50_us))
                .Str("p90", Millis(latency.p90_us))
                .Str("p99", Millis(latency.p99_us))
                .Str("p99.9", Millis(latency.p999_us))
                .Str("max", Millis(latency.max_us)));
  PrintLine(KeyValueLine("verdict")
                .Str("result", pass ? "PASS" : "FAIL")
                .Str("run_id", plan.run_id)
                .Uint("seed", plan.seed));
  return pass;
}

void LogStart(const LoadPlan& plan, const LoadOptions& options) {
  Log(LogLevel::kInfo, "load",
      "event=start run_id=%s seed=%" PRIu64 " commands=%" PRIu64
      " fresh=%u duplicates=%" PRIu64 " conflicts=%" PRIu64
      " spends_pct=%u users=%u connections=%" PRId64 " window=%" PRId64
      " source=%s currency=%s",
      plan.run_id.c_str(), plan.seed, plan.commands_count, plan.fresh_count,
      plan.duplicate_count, plan.conflict_count, plan.spends_pct,
      plan.user_count, options.connections, options.window, plan.source.c_str(),
      plan.currency.c_str());
}

int Fail(std::string_view message) {
  PrintError("load", message);
  return kExitFailure;
}

}  // namespace

int RunLoad(const ProgramContext& context, std::span<char* const> args) {
  LoadOptions options;
  const std::vector<Flag> flags = LoadFlags(options);
  if (auto exit_code = ParseCommandFlags(kHelp, flags, args)) {
    return *exit_code;
  }
  if (auto error = CheckOptions(options)) return UsageError("load", *error);
  const LoadPlan plan = MakePlan(options);
  LogStart(plan, options);

  // Subscribing first gives the subscription time to reach the worker
  // while the balances are read.
  EventSubscriber subscriber(context.zmq, context.global.events_endpoint,
                             context.security);
  subscriber.SubscribeResults(plan.source);
  QueryClient queries(context.zmq, context.global.queries_endpoint,
                      context.security);
  std::vector<AccountSnapshot> start;
  if (auto error = ReadBalances(queries, plan, start)) {
    return Fail("cannot read starting balances: " + error->message);
  }
  if (auto error = ProveSubscription(context, subscriber, plan,
                                     options.timeout_s * 1000)) {
    return Fail("subscription not live: " + *error);
  }

  LoadVerifier verifier(plan);
  const RunOutcome run =
      LoadRun(context, plan, options, verifier).Run(subscriber);
  std::vector<AccountSnapshot> final;
  if (auto error = ReadBalances(queries, plan, final)) {
    PrintError("load", "cannot read final balances: " + error->message);
  }
  const LoadVerdict verdict = verifier.Finish(start, final);
  return PrintReport(plan, run, verdict) ? kExitOk : kExitFailure;
}

}  // namespace wallet::producer
