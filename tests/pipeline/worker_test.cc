// End-to-end tests of a worker started in this process, over real TCP
// loopback sockets on ephemeral ports, with a real journal in a temp dir.
#include "worker/worker.h"

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include <map>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "common/client.h"
#include "common/codec.h"
#include "tests/support/loopback_worker.h"
#include "tests/support/test_env.h"

namespace wallet {
namespace {

using testing::TempDir;
using testing::WaitUntil;

constexpr auto kEventTimeout = std::chrono::seconds(20);

struct Collected {
  std::map<std::string, std::vector<Result>> results;  // By key.
  std::vector<BalanceEvent> balances;
  std::size_t result_count = 0;
};

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWorker(); }
  void TearDown() override {
    subscriber_.reset();
    sender_.reset();
    if (worker_) worker_->Stop();
  }

  void StartWorker(int threads = 4) {
    const WorkerOptions options =
        testing::LoopbackWorkerOptions(dir_.path(), threads);
    std::string error;
    worker_ = Worker::Start(options, error);
    ASSERT_NE(worker_, nullptr) << error;
    sender_ = std::make_unique<CommandSender>(
        context_, worker_->commands_endpoint(), 10'000);
    subscriber_ =
        std::make_unique<EventSubscriber>(context_, worker_->events_endpoint());
    subscriber_->SubscribeResults("");
    subscriber_->SubscribeBalances("");
    ASSERT_TRUE(testing::WaitForLiveSubscription(
        *sender_, *subscriber_, "game1", "probe-" + std::to_string(++probes_)));
  }

  void RestartWorker() {
    subscriber_.reset();
    sender_.reset();
    ASSERT_TRUE(worker_->Stop());
    worker_.reset();
    StartWorker();
  }

  static Command Credit(std::string_view key, std::string_view user,
                        std::int64_t amount, Op op = Op::kTopup) {
    Command command;
    command.op = op;
    command.key = key;
    command.user = user;
    command.currency = "gold";
    command.amount_minor = amount;
    command.source = "game1";
    return command;
  }

  void Send(const Command& command) {
    ASSERT_FALSE(sender_->Send(command).has_value());
  }

  // Receives until `results` results (probe results excluded) and
  // `balances` balance events arrived.
  Collected Collect(std::size_t results, std::size_t balances = 0) {
    Collected out;
    const auto deadline = std::chrono::steady_clock::now() + kEventTimeout;
    while ((out.result_count < results || out.balances.size() < balances) &&
           std::chrono::steady_clock::now() < deadline) {
      std::optional<Event> event = subscriber_->Receive(100);
      if (!event) continue;
      if (auto* result = std::get_if<Result>(&*event)) {
        if (result->key.starts_with("probe-")) continue;
        out.results[result->key].push_back(*result);
        ++out.result_count;
      } else {
        out.balances.push_back(std::get<BalanceEvent>(*event));
      }
    }
    return out;
  }

  BalanceReply Query(std::string_view user) {
    QueryClient client(context_, worker_->queries_endpoint());
    auto reply = client.Balance(user);
    EXPECT_TRUE(std::holds_alternative<BalanceReply>(reply));
    if (auto* ok = std::get_if<BalanceReply>(&reply)) return *ok;
    return {};
  }

  std::int64_t BalanceOf(std::string_view user, std::string_view currency) {
    for (const AccountBalance& account : Query(user).balances) {
      if (account.currency == currency) return account.balance_minor;
    }
    return 0;
  }

  TempDir dir_;
  zmq::context_t context_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<CommandSender> sender_;
  std::unique_ptr<EventSubscriber> subscriber_;
  int probes_ = 0;
};

TEST_F(WorkerTest, RetriesGetTheFirstResultAndConflictsChangeNothing) {
  Send(Credit("k1", "alice", 100));
  Send(Credit("k1", "alice", 100));
  Send(Credit("k1", "alice", 5));
  Send(Credit("k2", "alice", 7, Op::kReward));
  const Collected got = Collect(4, 2);
  ASSERT_EQ(got.result_count, 4u);

  const std::vector<Result>& k1 = got.results.at("k1");
  ASSERT_EQ(k1.size(), 3u);
  EXPECT_EQ(k1[0].outcome.status, Status::kApplied);
  EXPECT_EQ(k1[0].outcome.balance_minor, 100);
  EXPECT_EQ(k1[0].outcome.version, 1u);
  EXPECT_EQ(k1[1].outcome.status, Status::kDuplicate);
  EXPECT_EQ(k1[1].outcome.balance_minor, 100);
  EXPECT_EQ(k1[1].outcome.version, 1u);
  EXPECT_EQ(k1[2].outcome.status, Status::kRejected);
  EXPECT_EQ(k1[2].outcome.reason, Reason::kKeyConflict);
  EXPECT_EQ(k1[2].outcome.field, Field::kAmount);

  const Result& k2 = got.results.at("k2").at(0);
  EXPECT_EQ(k2.outcome.status, Status::kApplied);
  EXPECT_EQ(k2.outcome.balance_minor, 107);
  EXPECT_EQ(k2.outcome.version, 2u);
  EXPECT_EQ(k2.op, Op::kReward);

  ASSERT_EQ(got.balances.size(), 2u);
  EXPECT_EQ(got.balances[0].delta_minor, 100);
  EXPECT_EQ(got.balances[0].version, 1u);
  EXPECT_EQ(got.balances[1].delta_minor, 7);
  EXPECT_EQ(got.balances[1].balance_minor, 107);
  EXPECT_EQ(got.balances[1].key, "k2");

  const BalanceReply reply = Query("alice");
  ASSERT_EQ(reply.balances.size(), 1u);
  EXPECT_EQ(reply.balances[0].balance_minor, 107);
  EXPECT_EQ(reply.balances[0].version, 2u);
  ASSERT_EQ(reply.recent.size(), 2u);
  EXPECT_EQ(reply.recent[0].key, "k2");
  EXPECT_EQ(reply.recent[1].key, "k1");
}

// Builds a command frame field by field, for frames EncodeCommand would
// never produce.
std::string Frame(
    const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& fill) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  fill(pk);
  return {buffer.data(), buffer.size()};
}

std::string CommandFrame(std::string_view key, int version, std::string_view op,
                         std::int64_t amount) {
  return Frame([&](msgpack::packer<msgpack::sbuffer>& pk) {
    pk.pack_map(7);
    pk.pack("v");
    pk.pack(version);
    pk.pack("op");
    pk.pack(std::string(op));
    pk.pack("key");
    pk.pack(std::string(key));
    pk.pack("user");
    pk.pack("bob");
    pk.pack("currency");
    pk.pack("gold");
    pk.pack("amount");
    pk.pack(amount);
    pk.pack("source");
    pk.pack("game1");
  });
}

// A spend over the socket: applied with a negative delta, rejected for
// insufficient funds with the balance it found, and the rejection both
// answered again on retry and kept across a restart.
TEST_F(WorkerTest, SpendsDebitAndInsufficientFundsIsAnsweredAndRemembered) {
  Send(Credit("fund", "alice", 100));
  Send(Credit("buy-1", "alice", 30, Op::kSpend));
  Send(Credit("buy-2", "alice", 500, Op::kSpend));
  const Collected got = Collect(3, 2);
  ASSERT_EQ(got.result_count, 3u);

  const Result& bought = got.results.at("buy-1").front();
  EXPECT_EQ(bought.outcome.status, Status::kApplied);
  EXPECT_EQ(bought.op, Op::kSpend);
  EXPECT_EQ(bought.outcome.balance_minor, 70);
  EXPECT_EQ(bought.outcome.version, 2u);
  ASSERT_EQ(got.balances.size(), 2u);
  EXPECT_EQ(got.balances[1].delta_minor, -30);
  EXPECT_EQ(got.balances[1].balance_minor, 70);

  const Result& refused = got.results.at("buy-2").front();
  EXPECT_EQ(refused.outcome.status, Status::kRejected);
  EXPECT_EQ(refused.outcome.reason, Reason::kInsufficientFunds);
  EXPECT_EQ(refused.outcome.balance_minor, 70);
  EXPECT_EQ(refused.amount_minor, 500);
  EXPECT_EQ(BalanceOf("alice", "gold"), 70);

  RestartWorker();
  Send(Credit("fund-2", "alice", 1000));
  Send(Credit("buy-2", "alice", 500, Op::kSpend));
  const Collected after = Collect(2, 1);
  ASSERT_EQ(after.result_count, 2u);
  const Result& retried = after.results.at("buy-2").front();
  EXPECT_EQ(retried.outcome.status, Status::kRejected);
  EXPECT_EQ(retried.outcome.reason, Reason::kInsufficientFunds);
  EXPECT_EQ(retried.outcome.balance_minor, 70);
  EXPECT_EQ(BalanceOf("alice", "gold"), 1070);
}

// History over the query socket, paged with the cursor, and the same
// pages after a restart.
TEST_F(WorkerTest, HistoryPagesSurviveARestart) {
  for (int i = 1; i <= 7; ++i) {
    Send(Credit("hist-" + std::to_string(i), "bob", 10 * i,
                i == 7 ? Op::kSpend : Op::kTopup));
  }
  ASSERT_EQ(Collect(7, 7).result_count, 7u);

  const auto pages = [this] {
    QueryClient client(context_, worker_->queries_endpoint());
    std::string out;
    std::uint64_t before = 0;
    do {
      auto reply = client.History({"bob", 3, before});
      const auto* page = std::get_if<HistoryReply>(&reply);
      if (page == nullptr) return std::string("error");
      for (const RecentOp& op : page->ops) {
        out += op.key + "/" + std::to_string(op.seq) + "/" +
               std::to_string(op.balance_minor) + " ";
      }
      out += "| ";
      before = page->next_before;
    } while (before != 0);
    return out;
  };
  const std::string before_restart = pages();
  EXPECT_EQ(before_restart,
            "hist-7/7/140 hist-6/6/210 hist-5/5/150 | "
            "hist-4/4/100 hist-3/3/60 hist-2/2/30 | hist-1/1/10 | ");
  RestartWorker();
  EXPECT_EQ(pages(), before_restart);
}

// A batch over the socket: one result with every leg's balance, one
// balance event per leg on each leg user's topic, and after a restart
// (snapshot) a retry answered with the same legs.
TEST_F(WorkerTest, BatchAppliesAllLegsAndRetriesGetThemBack) {
  Send(Credit("fund", "alice", 100));
  ASSERT_EQ(Collect(1, 1).result_count, 1u);

  const Leg legs[] = {{Op::kSpend, "alice", "gold", 60},
                      {Op::kTopup, "bob", "gold", 60},
                      {Op::kReward, "alice", "gems", 2}};
  Command gift;
  gift.op = Op::kBatch;
  gift.key = "gift-1";
  gift.user = "alice";
  gift.source = "game1";
  gift.legs = legs;
  Send(gift);
  const Collected got = Collect(1, 3);
  ASSERT_EQ(got.result_count, 1u);
  const Result& result = got.results.at("gift-1").front();
  EXPECT_EQ(result.outcome.status, Status::kApplied);
  ASSERT_EQ(result.legs.size(), 3u);
  EXPECT_EQ(result.legs[0].balance_minor, 40);
  EXPECT_EQ(result.legs[1].user, "bob");
  EXPECT_EQ(result.legs[1].balance_minor, 60);
  EXPECT_EQ(result.legs[2].balance_minor, 2);
  ASSERT_EQ(got.balances.size(), 3u);
  EXPECT_EQ(got.balances[1].user, "bob");
  EXPECT_EQ(got.balances[1].delta_minor, 60);
  EXPECT_EQ(got.balances[0].delta_minor, -60);

  // Too much for alice now: nothing moves, the failed leg is named.
  const Leg too_much[] = {{Op::kTopup, "bob", "gold", 500},
                          {Op::kSpend, "alice", "gold", 500}};
  Command short_gift = gift;
  short_gift.key = "gift-2";
  short_gift.legs = too_much;
  Send(short_gift);
  const Collected refused = Collect(1);
  const Result& no = refused.results.at("gift-2").front();
  EXPECT_EQ(no.outcome.reason, Reason::kInsufficientFunds);
  EXPECT_EQ(no.outcome.failed_leg, 1);
  EXPECT_EQ(no.outcome.balance_minor, 40);
  EXPECT_EQ(BalanceOf("bob", "gold"), 60);

  RestartWorker();
  Send(gift);
  const Collected again = Collect(1);
  const Result& duplicate = again.results.at("gift-1").front();
  EXPECT_EQ(duplicate.outcome.status, Status::kDuplicate);
  ASSERT_EQ(duplicate.legs.size(), 3u);
  EXPECT_EQ(duplicate.legs[0].balance_minor, 40);
  EXPECT_EQ(duplicate.legs[1].balance_minor, 60);
  EXPECT_TRUE(again.balances.empty());
  EXPECT_EQ(BalanceOf("alice", "gold"), 40);
}

TEST_F(WorkerTest, InvalidCommandsAreRejectedWithTheirReason) {
  struct Row {
    std::string key;
    std::string frame;
    Reason reason;
  };
  const std::vector<Row> rows = {
      {"bad-v", CommandFrame("bad-v", 2, "topup", 5),
       Reason::kUnsupportedVersion},
      {"bad-op", CommandFrame("bad-op", 1, "steal", 5), Reason::kUnsupportedOp},
      {"zero", CommandFrame("zero", 1, "topup", 0), Reason::kInvalidCommand},
      {"negative", CommandFrame("negative", 1, "topup", -5),
       Reason::kInvalidCommand},
      {"float", Frame([](msgpack::packer<msgpack::sbuffer>& pk) {
         pk.pack_map(7);
         pk.pack("v");
         pk.pack(1);
         pk.pack("op");
         pk.pack("topup");
         pk.pack("key");
         pk.pack("float");
         pk.pack("user");
         pk.pack("bob");
         pk.pack("currency");
         pk.pack("gold");
         pk.pack("amount");
         pk.pack(1.5);
         pk.pack("source");
         pk.pack("game1");
       }),
       Reason::kInvalidCommand},
  };
  for (const Row& row : rows) {
    ASSERT_FALSE(sender_->SendRaw(row.frame).has_value());
  }
  const Collected got = Collect(rows.size());
  ASSERT_EQ(got.result_count, rows.size());
  for (const Row& row : rows) {
    const Result& result = got.results.at(row.key).at(0);
    EXPECT_EQ(result.outcome.status, Status::kRejected) << row.key;
    EXPECT_EQ(result.outcome.reason, row.reason) << row.key;
  }
  EXPECT_TRUE(got.balances.empty());
  EXPECT_TRUE(Query("bob").balances.empty());
}

TEST_F(WorkerTest, FramesWithoutAReadableKeyAreDroppedAndTheWorkerGoesOn) {
  const std::vector<std::string> garbage = {
      "",
      "not msgpack at all",
      std::string("\xc1", 1),
      std::string("\xdb\xff\xff\xff\xff", 5),  // str32 longer than the frame
      Frame([](msgpack::packer<msgpack::sbuffer>& pk) { pk.pack(42); }),
      CommandFrame("", 1, "topup", 5),  // empty key
  };
  for (const std::string& frame : garbage) {
    ASSERT_FALSE(sender_->SendRaw(frame).has_value());
  }
  Send(Credit("after-garbage", "carol", 9));
  const Collected got = Collect(1);
  ASSERT_EQ(got.result_count, 1u);
  EXPECT_EQ(got.results.at("after-garbage")[0].outcome.status,
            Status::kApplied);
  EXPECT_EQ(worker_->counters().dropped.load(), garbage.size());
  EXPECT_EQ(BalanceOf("carol", "gold"), 9);
}

TEST_F(WorkerTest, MalformedQueriesGetAnErrorReply) {
  QueryClient client(context_, worker_->queries_endpoint());
  std::string wrong_op;
  EncodeBalanceQuery("alice", wrong_op);
  wrong_op[wrong_op.find("balance")] = 'X';
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"garbage", "malformed_request"},
      {wrong_op, "unsupported_op"},
  };
  for (const auto& [frame, expected] : rows) {
    auto raw = client.Request(frame);
    ASSERT_TRUE(std::holds_alternative<std::string>(raw));
    BalanceReply reply;
    std::string error;
    EXPECT_FALSE(DecodeBalanceReply(std::get<std::string>(raw), reply, error));
    EXPECT_EQ(error, expected);
  }
  EXPECT_TRUE(Query("nobody").balances.empty());
}

TEST_F(WorkerTest, StopPublishesEverythingReceivedAndRestartKeepsIt) {
  constexpr int kCommands = 3000;
  std::vector<std::string> keys;
  std::map<std::string, std::int64_t> expected;
  for (int i = 0; i < kCommands; ++i) {
    keys.push_back("drain-" + std::to_string(i));
    const std::string user = "user-" + std::to_string(i % 7);
    Send(Credit(keys.back(), user, i + 1));
    expected[user] += i + 1;
  }
  // Every command is inside the worker before the stop begins.
  ASSERT_TRUE(WaitUntil(
      [&] { return worker_->counters().received.load() >= kCommands + 1u; },
      kEventTimeout));
  ASSERT_TRUE(worker_->Stop());
  const Collected got = Collect(kCommands);
  EXPECT_EQ(got.result_count, static_cast<std::size_t>(kCommands));

  worker_.reset();
  StartWorker();
  for (const auto& [user, balance] : expected) {
    EXPECT_EQ(BalanceOf(user, "gold"), balance) << user;
  }
  Send(Credit(keys[10], "user-3", 11));
  const Collected retry = Collect(1);
  ASSERT_EQ(retry.result_count, 1u);
  const Result& result = retry.results.at(keys[10])[0];
  EXPECT_EQ(result.outcome.status, Status::kDuplicate);
  EXPECT_EQ(got.results.at(keys[10])[0].outcome.balance_minor,
            result.outcome.balance_minor);
}

// Many game servers at once, each retrying some of its own commands:
// every key applies once and every balance is the exact sum.
TEST_F(WorkerTest, ConcurrentProducersWithRetriesKeepBalancesExact) {
  constexpr std::size_t kProducers = 8;
  constexpr int kPerProducer = 2500;
  constexpr int kUsers = 3;
  struct Sent {
    std::string key;
    std::string user;
    std::int64_t amount;
  };
  std::vector<std::vector<Sent>> sent(kProducers);
  std::vector<std::size_t> sends(kProducers, 0);
  std::vector<std::thread> producers;
  for (std::size_t p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      CommandSender sender(context_, worker_->commands_endpoint(), 10'000);
      std::mt19937 random(static_cast<unsigned>(p));
      for (int i = 0; i < kPerProducer; ++i) {
        const bool retry = !sent[p].empty() && random() % 5 == 0;
        if (!retry) {
          sent[p].push_back({"p" + std::to_string(p) + "-" + std::to_string(i),
                             "hot-" + std::to_string(random() % kUsers),
                             static_cast<std::int64_t>(random() % 1000 + 1)});
        }
        const Sent& s =
            retry ? sent[p][random() % sent[p].size()] : sent[p].back();
        const Op op = s.amount % 2 == 0 ? Op::kTopup : Op::kReward;
        if (!sender.Send(Credit(s.key, s.user, s.amount, op))) ++sends[p];
      }
    });
  }
  for (std::thread& producer : producers) producer.join();

  std::size_t total_sends = 0;
  std::map<std::string, std::int64_t> expected;
  for (std::size_t p = 0; p < kProducers; ++p) {
    total_sends += sends[p];
    for (const Sent& s : sent[p]) expected[s.user] += s.amount;
  }
  const Collected got = Collect(total_sends);
  ASSERT_EQ(got.result_count, total_sends);
  for (const auto& [key, results] : got.results) {
    int applied = 0;
    for (const Result& result : results) {
      applied += result.outcome.status == Status::kApplied ? 1 : 0;
      EXPECT_NE(result.outcome.status, Status::kRejected) << key;
      EXPECT_EQ(result.outcome.balance_minor, results[0].outcome.balance_minor)
          << key;
    }
    EXPECT_EQ(applied, 1) << key;
  }
  for (const auto& [user, balance] : expected) {
    EXPECT_EQ(BalanceOf(user, "gold"), balance) << user;
  }
}

}  // namespace
}  // namespace wallet
