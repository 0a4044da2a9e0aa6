// `audit`: records every result the worker publishes while it runs and,
// when stopped, checks that the worker still holds each acknowledged
// change. Run it across a worker crash and restart: an `applied` or
// `duplicate` result is the worker's promise that the credit is durable,
// so after recovery every account must be at least at the version that
// result reported, and exactly at its balance when the version is equal.

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "common/client.h"
#include "common/log.h"
#include "producer/commands.h"
#include "producer/stop_signal.h"

namespace wallet::producer {
namespace {

// How often the receive loop wakes to notice SIGINT.
constexpr int kStopPollMs = 200;
// Pause between balance queries while the worker is not answering.
constexpr auto kRetryPause = std::chrono::milliseconds(500);
// Problems printed in full; the rest are only counted.
constexpr std::size_t kProblemsShownMax = 10;

constexpr CommandHelp kHelp = {
    "audit",
    "[--source S] [flags]",
    "Subscribes to results and records, per account, the highest version "
    "an applied or duplicate result acknowledged. On SIGINT or SIGTERM it "
    "stops listening, asks the worker for every such user's balances "
    "(waiting while the worker restarts) and checks that no acknowledged "
    "credit was lost: each account is at that version or later, with the "
    "acknowledged balance when the version is the same. Exit 0 on PASS, 1 "
    "on FAIL, 3 when the worker never answered.",
};

std::vector<Flag> AuditFlags(AuditOptions& options) {
  return {
      StringFlag("source", "S",
                 "Audit results of this source only; empty means all.",
                 &options.source),
      IntFlag("timeout-ms", "MS", "Wait for each balance reply this long.",
              &options.timeout_ms, 1, 3'600'000),
      IntFlag("worker-wait-s", "S",
              "Keep asking for balances this long while the worker is down "
              "or recovering.",
              &options.worker_wait_s, 1, 86'400),
  };
}

// The newest state of one account that a result acknowledged.
struct Acknowledged {
  std::uint64_t version = 0;
  std::int64_t balance_minor = 0;
  std::string key;
};

using AccountId = std::pair<std::string, std::string>;  // user, currency
using AckMap = std::map<AccountId, Acknowledged>;

void Record(const Result& result, AckMap& acks, std::uint64_t& count) {
  const Outcome& outcome = result.outcome;
  const bool acknowledged = outcome.status == Status::kApplied ||
                            outcome.status == Status::kDuplicate;
  if (!acknowledged || !outcome.has_balance || !result.has_command) return;
  ++count;
  Acknowledged& ack = acks[{result.user, result.currency}];
  if (outcome.version >= ack.version) {
    ack = {outcome.version, outcome.balance_minor, result.key};
  }
}

// Listens until a stop is requested. Returns false on a transport error.
bool Listen(EventSubscriber& subscriber, AckMap& acks, std::uint64_t& count) {
  while (!StopRequested()) {
    ClientError error{ClientError::Code::kTimeout, ""};
    std::optional<Event> event = subscriber.Receive(kStopPollMs, &error);
    if (event) {
      if (const auto* result = std::get_if<Result>(&*event)) {
        Record(*result, acks, count);
      }
    } else if (error.code == ClientError::Code::kTransport &&
               !StopRequested()) {
      PrintError("audit", error.message);
      return false;
    }
  }
  return true;
}

// Asks for a user's balances until the worker answers or `deadline`.
std::optional<BalanceReply> AskUntil(
    QueryClient& client, const std::string& user,
    std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto reply = client.Balance(user);
    if (auto* balances = std::get_if<BalanceReply>(&reply)) {
      return std::move(*balances);
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kRetryPause);
  }
}

struct AuditCounts {
  std::uint64_t accounts_ok = 0;
  std::uint64_t accounts_lost = 0;
  std::vector<std::string> problems;
};

void Check(const std::string& user, const std::string& currency,
           const Acknowledged& ack, const BalanceReply& reply,
           AuditCounts& counts) {
  std::uint64_t version = 0;
  std::int64_t balance_minor = 0;
  for (const AccountBalance& account : reply.balances) {
    if (account.currency == currency) {
      version = account.version;
      balance_minor = account.balance_minor;
    }
  }
  const bool ok = version > ack.version || (version == ack.version &&
                                            balance_minor == ack.balance_minor);
  if (ok) {
    ++counts.accounts_ok;
    return;
  }
  ++counts.accounts_lost;
  if (counts.problems.size() < kProblemsShownMax) {
    char line[512];
    std::snprintf(line, sizeof(line),
                  "user=%s currency=%s acknowledged_version=%" PRIu64
                  " acknowledged_balance=%" PRId64
                  " acknowledged_key=%s"
                  " worker_version=%" PRIu64 " worker_balance=%" PRId64,
                  user.c_str(), currency.c_str(), ack.version,
                  ack.balance_minor, ack.key.c_str(), version, balance_minor);
    counts.problems.emplace_back(line);
  }
}

}  // namespace

int RunAudit(const ProgramContext& context, std::span<char* const> args) {
  AuditOptions options;
  const std::vector<Flag> flags = AuditFlags(options);
  if (auto exit_code = ParseCommandFlags(kHelp, flags, args)) {
    return *exit_code;
  }

  AckMap acks;
  std::uint64_t acknowledged = 0;
  {
    EventSubscriber subscriber(context.zmq, context.global.events_endpoint,
                               context.security);
    subscriber.SubscribeResults(options.source);
    Log(LogLevel::kInfo, "audit", "event=listening events=%s source=%s",
        context.global.events_endpoint.c_str(),
        options.source.empty() ? "*" : options.source.c_str());
    if (!Listen(subscriber, acks, acknowledged)) return kExitFailure;
  }
  Log(LogLevel::kInfo, "audit",
      "event=checking acknowledged=%" PRIu64 " accounts=%zu", acknowledged,
      acks.size());

  QueryClient client(context.zmq, context.global.queries_endpoint,
                     context.security, static_cast<int>(options.timeout_ms));
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(options.worker_wait_s);
  AuditCounts counts;
  std::string user;
  std::optional<BalanceReply> reply;
  for (const auto& [account, ack] : acks) {
    if (account.first != user || !reply) {
      user = account.first;
      reply = AskUntil(client, user, deadline);
      if (!reply) {
        PrintError("audit",
                   "the worker did not answer a balance query for " + user);
        return kExitTimeout;
      }
    }
    Check(account.first, account.second, ack, *reply, counts);
  }

  for (const std::string& problem : counts.problems) {
    std::printf("lost %s\n", problem.c_str());
  }
  const bool pass = counts.accounts_lost == 0;
  std::printf("audit acknowledged=%" PRIu64 " accounts=%zu accounts_ok=%" PRIu64
              " accounts_lost=%" PRIu64 " result=%s\n",
              acknowledged, acks.size(), counts.accounts_ok,
              counts.accounts_lost, pass ? "PASS" : "FAIL");
  return pass ? kExitOk : kExitFailure;
}

}  // namespace wallet::producer
