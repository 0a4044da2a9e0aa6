// Crash test: the worker as a separate process, under load from
// concurrent producers, killed with SIGKILL at random moments, restarted
// on the same data directory. Game servers then re-send everything they
// ever sent, as they would after losing their connection. Asserts:
//   - no key is ever published `applied` twice;
//   - every acknowledgement of a key carries the same balance and version;
//   - every key acknowledged before a crash comes back `duplicate` after;
//   - final balances equal the sum of the distinct keys sent.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/client.h"
#include "tests/support/test_env.h"

extern char** environ;

namespace wallet {
namespace {

using testing::TempDir;
using testing::WaitUntil;

constexpr int kKillRounds = 4;
constexpr int kProducers = 3;
constexpr int kUsers = 4;
constexpr auto kReadyTimeout = std::chrono::seconds(30);
constexpr auto kResultTimeout = std::chrono::seconds(60);

// One wallet-worker process.
class WorkerProcess {
 public:
  WorkerProcess(const std::string& data_dir, const std::string& sync,
                int base_port) {
    endpoints_[0] = "tcp://127.0.0.1:" + std::to_string(base_port);
    endpoints_[1] = "tcp://127.0.0.1:" + std::to_string(base_port + 1);
    endpoints_[2] = "tcp://127.0.0.1:" + std::to_string(base_port + 2);
    std::vector<std::string> args = {WALLET_WORKER_BINARY,
                                     "--commands",
                                     endpoints_[0],
                                     "--events",
                                     endpoints_[1],
                                     "--queries",
                                     endpoints_[2],
                                     "--data-dir",
                                     data_dir,
                                     "--sync",
                                     sync,
                                     "--threads",
                                     "2",
                                     "--log-level",
                                     "warn"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) !=
        0) {
      pid_ = -1;
    }
  }
  ~WorkerProcess() {
    if (pid_ > 0) Kill();
  }

  bool running() const { return pid_ > 0; }
  const std::string& commands() const { return endpoints_[0]; }
  const std::string& events() const { return endpoints_[1]; }
  const std::string& queries() const { return endpoints_[2]; }

  void Kill() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // SIGTERM, then the exit status (-1 if it did not exit normally).
  int Terminate() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  std::string endpoints_[3];
};

struct SentCommand {
  std::string user;
  std::int64_t amount = 0;
};

struct Ack {
  Status status;
  std::int64_t balance_minor;
  std::uint64_t version;
  bool final_round;
};

// Everything every round saw, shared between the test's threads.
class Ledger {
 public:
  void RecordSent(const std::string& key, const SentCommand& command) {
    std::lock_guard<std::mutex> lock(mu_);
    sent_.emplace(key, command);
  }
  // From here on, results count as answers to the final re-send.
  void BeginFinalRound() {
    std::lock_guard<std::mutex> lock(mu_);
    final_round_ = true;
  }
  void RecordResult(const Result& result) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Ack>& acks = results_[result.key];
    const bool first_final =
        final_round_ && (acks.empty() || !acks.back().final_round);
    acks.push_back({result.outcome.status, result.outcome.balance_minor,
                    result.outcome.version, final_round_});
    if (first_final) ++final_answered_;
  }
  std::map<std::string, SentCommand> sent() {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  std::map<std::string, std::vector<Ack>> results() {
    std::lock_guard<std::mutex> lock(mu_);
    return results_;
  }
  // Distinct keys answered in the final round.
  std::size_t final_answered() {
    std::lock_guard<std::mutex> lock(mu_);
    return final_answered_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, SentCommand> sent_;
  std::map<std::string, std::vector<Ack>> results_;
  bool final_round_ = false;
  std::size_t final_answered_ = 0;
};

Command MakeCommand(const std::string& key, const SentCommand& sent) {
  Command command;
  command.key = key;
  command.user = sent.user;
  command.currency = "gold";
  command.amount_minor = sent.amount;
  command.source = "crashtest";
  return command;
}

// Receives results into the ledger until stopped.
class Collector {
 public:
  Collector(zmq::context_t& context, const WorkerProcess& worker,
            Ledger& ledger)
      : subscriber_(context, worker.events()), ledger_(ledger) {
    subscriber_.SubscribeResults("crashtest");
  }
  ~Collector() { Stop(); }

  bool WaitLive(zmq::context_t& context, const WorkerProcess& worker,
                int round) {
    CommandSender sender(context, worker.commands(), 1000);
    return testing::WaitForLiveSubscription(sender, subscriber_, "crashtest",
                                            "probe-" + std::to_string(round));
  }
  void Start() {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        std::optional<Event> event = subscriber_.Receive(50);
        if (!event) continue;
        const Result* result = std::get_if<Result>(&*event);
        if (result != nullptr && !result->key.starts_with("probe-")) {
          ledger_.RecordResult(*result);
        }
      }
    });
  }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  EventSubscriber subscriber_;
  Ledger& ledger_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

bool WaitReady(zmq::context_t& context, const WorkerProcess& worker) {
  return WaitUntil(
      [&] {
        QueryClient client(context, worker.queries(), 200);
        return std::holds_alternative<BalanceReply>(client.Balance("probe"));
      },
      kReadyTimeout);
}

class CrashTest : public ::testing::TestWithParam<const char*> {
 protected:
  // Producers send new keys and retry old ones until told to stop.
  void RunProducers(const WorkerProcess& worker, std::atomic<bool>& stop,
                    int round) {
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        CommandSender sender(context_, worker.commands(), 500);
        std::mt19937 random(static_cast<unsigned>(round * 100 + p));
        for (int i = 0; !stop.load(); ++i) {
          const std::string key = "r" + std::to_string(round) + "-p" +
                                  std::to_string(p) + "-" + std::to_string(i);
          SentCommand command{"user-" + std::to_string(random() % kUsers),
                              static_cast<std::int64_t>(random() % 1000 + 1)};
          ledger_.RecordSent(key, command);
          if (sender.Send(MakeCommand(key, command))) return;
        }
      });
    }
    for (std::thread& producer : producers) producer.join();
  }

  // Re-sends every key ever sent, once, and waits for all their results.
  void ResendEverything(const WorkerProcess& worker) {
    const std::map<std::string, SentCommand> sent = ledger_.sent();
    CommandSender sender(context_, worker.commands(), 10'000);
    for (const auto& [key, command] : sent) {
      ASSERT_FALSE(sender.Send(MakeCommand(key, command)).has_value());
    }
    ASSERT_TRUE(
        WaitUntil([&] { return ledger_.final_answered() >= sent.size(); },
                  kResultTimeout))
        << "results missing after the final re-send";
  }

  zmq::context_t context_;
  Ledger ledger_;
  TempDir dir_;
};

TEST_P(CrashTest, AcknowledgedCreditsSurviveSigkill) {
  const int base_port = testing::FreeLoopbackPort();
  std::mt19937 random(20261203);
  for (int round = 0; round < kKillRounds; ++round) {
    WorkerProcess worker(dir_.path(), GetParam(), base_port);
    ASSERT_TRUE(worker.running());
    ASSERT_TRUE(WaitReady(context_, worker)) << "round " << round;
    Collector collector(context_, worker, ledger_);
    ASSERT_TRUE(collector.WaitLive(context_, worker, round));
    collector.Start();

    std::atomic<bool> stop{false};
    std::thread load([&] { RunProducers(worker, stop, round); });
    std::this_thread::sleep_for(
        std::chrono::milliseconds(200 + random() % 800));
    worker.Kill();
    stop.store(true);
    load.join();
    collector.Stop();
  }

  const std::map<std::string, std::vector<Ack>> before_final =
      ledger_.results();
  ledger_.BeginFinalRound();
  WorkerProcess worker(dir_.path(), GetParam(), base_port);
  ASSERT_TRUE(WaitReady(context_, worker));
  Collector collector(context_, worker, ledger_);
  ASSERT_TRUE(collector.WaitLive(context_, worker, kKillRounds));
  collector.Start();
  ResendEverything(worker);
  collector.Stop();

  const std::map<std::string, SentCommand> sent = ledger_.sent();
  const std::map<std::string, std::vector<Ack>> results = ledger_.results();
  std::size_t acknowledged_before = 0;
  for (const auto& [key, acks] : results) {
    int applied = 0;
    for (const Ack& ack : acks) {
      ASSERT_NE(ack.status, Status::kRejected) << key;
      applied += ack.status == Status::kApplied ? 1 : 0;
      EXPECT_EQ(ack.balance_minor, acks[0].balance_minor) << key;
      EXPECT_EQ(ack.version, acks[0].version) << key;
    }
    // Zero is possible: applied and journaled just before a kill, with
    // its result never published; then every later answer is duplicate.
    EXPECT_LE(applied, 1) << key << " applied " << applied << " times";
    ASSERT_TRUE(acks.back().final_round) << key << " unanswered at the end";
    if (before_final.count(key) != 0) {
      ++acknowledged_before;
      EXPECT_EQ(acks.back().status, Status::kDuplicate) << key;
    }
  }
  EXPECT_GT(acknowledged_before, 0u) << "the rounds acknowledged nothing";
  EXPECT_EQ(results.size(), sent.size());

  std::map<std::string, std::int64_t> expected;
  for (const auto& [key, command] : sent) {
    expected[command.user] += command.amount;
  }
  QueryClient client(context_, worker.queries());
  for (const auto& [user, balance] : expected) {
    auto reply = client.Balance(user);
    ASSERT_TRUE(std::holds_alternative<BalanceReply>(reply));
    const auto& balances = std::get<BalanceReply>(reply).balances;
    ASSERT_EQ(balances.size(), 1u) << user;
    EXPECT_EQ(balances[0].balance_minor, balance) << user;
  }
  EXPECT_EQ(worker.Terminate(), 0);
  std::printf(
      "crash test (%s): %zu keys, %zu acknowledged before the "
      "final round, %d kills\n",
      GetParam(), sent.size(), acknowledged_before, kKillRounds);
}

INSTANTIATE_TEST_SUITE_P(SyncModes, CrashTest,
                         ::testing::Values("always", "none"));

}  // namespace
}  // namespace wallet
