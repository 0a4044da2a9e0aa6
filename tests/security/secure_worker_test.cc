// Access control end to end: a worker in this process with CURVE on every
// socket and a clients file, over real TCP loopback sockets. Listed keys
// get exactly their rights; unknown keys and plain clients are refused at
// the handshake and counted; a source the key may not use is `forbidden`.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

#include "common/client.h"
#include "common/curve_keys.h"
#include "tests/support/loopback_worker.h"
#include "tests/support/test_env.h"
#include "worker/worker.h"

namespace wallet {
namespace {

using testing::TempDir;
using testing::WaitUntil;

constexpr auto kWaitTimeout = std::chrono::seconds(20);
// Long enough for a handshake on loopback to have been tried many times;
// used only where a test shows that something does NOT arrive, after it
// has seen the refusal counted.
constexpr int kRefusedWaitMs = 300;

Command Credit(std::string_view key, std::string_view source,
               std::int64_t amount = 100) {
  Command command;
  command.key = key;
  command.user = "alice";
  command.currency = "gold";
  command.amount_minor = amount;
  command.source = source;
  return command;
}

class SecureWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string key_path = dir_.path() + "/worker.key";
    std::string error;
    ASSERT_TRUE(WriteCurveKeyFiles(key_path, worker_key_, error)) << error;
    std::ofstream(dir_.path() + "/clients")
        << "# test clients\n"
        << "game1 " << game1_.public_key << " send=game1 subscribe query\n"
        << "shop " << shop_.public_key << " send=game2,shop\n"
        << "reader " << reader_.public_key << " subscribe query\n";

    WorkerOptions options =
        testing::LoopbackWorkerOptions(dir_.path() + "/data", 2);
    options.curve_key_file = CurveSecretFilePath(key_path);
    options.clients_file = dir_.path() + "/clients";
    worker_ = Worker::Start(options, error);
    ASSERT_NE(worker_, nullptr) << error;

    // game1 may subscribe: it watches every result for the tests.
    sender_ = Sender(game1_);
    subscriber_ = Subscriber(game1_);
    subscriber_->SubscribeResults("");
    ASSERT_TRUE(testing::WaitForLiveSubscription(*sender_, *subscriber_,
                                                 "game1", "probe-1"));
  }

  void TearDown() override {
    subscriber_.reset();
    sender_.reset();
    if (worker_) worker_->Stop();
  }

  ClientSecurity As(const CurveKeyPair& client) const {
    return ClientSecurity{worker_key_.public_key, client};
  }
  std::unique_ptr<CommandSender> Sender(const CurveKeyPair& client) {
    return std::make_unique<CommandSender>(
        context_, worker_->commands_endpoint(), As(client), 10'000);
  }
  std::unique_ptr<EventSubscriber> Subscriber(const CurveKeyPair& client) {
    return std::make_unique<EventSubscriber>(
        context_, worker_->events_endpoint(), As(client));
  }

  // The next result (probes skipped), or nullopt after the wait.
  std::optional<Result> NextResult(EventSubscriber& subscriber) {
    std::optional<Result> found;
    WaitUntil(
        [&] {
          std::optional<Event> event = subscriber.Receive(50);
          const Result* result = event ? std::get_if<Result>(&*event) : nullptr;
          if (result != nullptr && !result->key.starts_with("probe-")) {
            found = *result;
          }
          return found.has_value();
        },
        kWaitTimeout);
    return found;
  }

  std::int64_t GoldOfAlice() {
    QueryClient client(context_, worker_->queries_endpoint(), As(game1_));
    auto reply = client.Balance("alice");
    EXPECT_TRUE(std::holds_alternative<BalanceReply>(reply));
    const auto* ok = std::get_if<BalanceReply>(&reply);
    if (ok == nullptr || ok->balances.empty()) return 0;
    return ok->balances[0].balance_minor;
  }

  bool WaitForCount(const std::atomic<std::uint64_t>& counter,
                    std::uint64_t at_least) {
    return WaitUntil([&] { return counter.load() >= at_least; }, kWaitTimeout);
  }

  TempDir dir_;
  const CurveKeyPair worker_key_ = *GenerateCurveKeyPair();
  const CurveKeyPair game1_ = *GenerateCurveKeyPair();
  const CurveKeyPair shop_ = *GenerateCurveKeyPair();
  const CurveKeyPair reader_ = *GenerateCurveKeyPair();
  const CurveKeyPair stranger_ = *GenerateCurveKeyPair();
  zmq::context_t context_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<CommandSender> sender_;
  std::unique_ptr<EventSubscriber> subscriber_;
};

TEST_F(SecureWorkerTest, ListedClientCreditsSeesItsResultAndQueries) {
  ASSERT_FALSE(sender_->Send(Credit("k1", "game1")).has_value());
  const std::optional<Result> result = NextResult(*subscriber_);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->key, "k1");
  EXPECT_EQ(result->outcome.status, Status::kApplied);
  EXPECT_EQ(result->outcome.balance_minor, 100);
  EXPECT_EQ(GoldOfAlice(), 100);
  EXPECT_EQ(worker_->counters().auth_refused.load(), 0u);
}

TEST_F(SecureWorkerTest, ForeignSourceIsForbiddenOnTheSendersOwnTopic) {
  // A subscriber to game2's results only: a forbidden answer must never
  // land there, or game1's key could answer for game2.
  std::unique_ptr<EventSubscriber> game2_topic = Subscriber(reader_);
  game2_topic->SubscribeResults("game2");
  std::unique_ptr<CommandSender> shop = Sender(shop_);
  ASSERT_TRUE(testing::WaitForLiveSubscription(*shop, *game2_topic, "game2",
                                               "probe-2"));

  ASSERT_FALSE(sender_->Send(Credit("order-7", "game2")).has_value());
  Command invalid = Credit("order-8", "game2", 0);
  ASSERT_FALSE(sender_->Send(invalid).has_value());

  std::optional<Result> first = NextResult(*subscriber_);
  std::optional<Result> second = NextResult(*subscriber_);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  for (const Result& result : {*first, *second}) {
    EXPECT_EQ(result.outcome.status, Status::kRejected) << result.key;
    EXPECT_EQ(result.outcome.reason, Reason::kForbidden) << result.key;
  }
  EXPECT_EQ(first->key, "order-7");
  EXPECT_EQ(second->key, "order-8");
  EXPECT_EQ(worker_->counters().forbidden.load(), 2u);
  EXPECT_EQ(GoldOfAlice(), 0);

  // The key stays free: the client that may send as game2 uses it.
  ASSERT_FALSE(shop->Send(Credit("order-7", "game2", 40)).has_value());
  std::optional<Result> applied = NextResult(*subscriber_);
  ASSERT_TRUE(applied.has_value());
  EXPECT_EQ(applied->key, "order-7");
  EXPECT_EQ(applied->outcome.status, Status::kApplied);
  EXPECT_EQ(GoldOfAlice(), 40);

  // game2's topic carried the applied result and nothing forbidden
  // before it.
  std::optional<Result> on_game2 = NextResult(*game2_topic);
  ASSERT_TRUE(on_game2.has_value());
  EXPECT_EQ(on_game2->key, "order-7");
  EXPECT_EQ(on_game2->outcome.status, Status::kApplied);
  EXPECT_FALSE(game2_topic->Receive(kRefusedWaitMs).has_value());
}

TEST_F(SecureWorkerTest, UnknownKeyIsRefusedAtTheHandshake) {
  const std::uint64_t received = worker_->counters().received.load();
  std::unique_ptr<CommandSender> stranger = Sender(stranger_);
  ASSERT_FALSE(stranger->Send(Credit("s1", "game1")).has_value());
  std::unique_ptr<EventSubscriber> listener = Subscriber(stranger_);
  listener->SubscribeResults("");

  // Both sockets' handshakes were refused (libzmq retries; each counts).
  ASSERT_TRUE(WaitForCount(worker_->counters().auth_refused, 2));
  EXPECT_FALSE(listener->Receive(kRefusedWaitMs).has_value());
  EXPECT_EQ(worker_->counters().received.load(), received);
  EXPECT_EQ(GoldOfAlice(), 0);
}

TEST_F(SecureWorkerTest, PlainClientIsRefusedAtTheHandshake) {
  const std::uint64_t received = worker_->counters().received.load();
  CommandSender plain(context_, worker_->commands_endpoint(), 10'000);
  ASSERT_FALSE(plain.Send(Credit("p1", "game1")).has_value());

  ASSERT_TRUE(WaitForCount(worker_->counters().handshake_failures, 1));
  EXPECT_EQ(worker_->counters().received.load(), received);
  EXPECT_EQ(GoldOfAlice(), 0);
}

TEST_F(SecureWorkerTest, EachSocketNeedsItsOwnRight) {
  // shop may send but neither subscribe nor query.
  std::unique_ptr<EventSubscriber> shop_listener = Subscriber(shop_);
  shop_listener->SubscribeResults("");
  ASSERT_TRUE(WaitForCount(worker_->counters().auth_refused, 1));
  QueryClient shop_query(context_, worker_->queries_endpoint(), As(shop_),
                         kRefusedWaitMs);
  const auto refused = shop_query.Balance("alice");
  ASSERT_TRUE(std::holds_alternative<ClientError>(refused));
  EXPECT_EQ(std::get<ClientError>(refused).code, ClientError::Code::kTimeout);

  // reader may subscribe and query but not send.
  const std::uint64_t before = worker_->counters().auth_refused.load();
  std::unique_ptr<CommandSender> reader = Sender(reader_);
  ASSERT_FALSE(reader->Send(Credit("r1", "game1")).has_value());
  ASSERT_TRUE(WaitForCount(worker_->counters().auth_refused, before + 1));
  QueryClient reader_query(context_, worker_->queries_endpoint(), As(reader_));
  const auto answered = reader_query.Balance("alice");
  ASSERT_TRUE(std::holds_alternative<BalanceReply>(answered));
  EXPECT_TRUE(std::get<BalanceReply>(answered).balances.empty());
  EXPECT_FALSE(shop_listener->Receive(kRefusedWaitMs).has_value());
}

class WorkerStartRefuses : public ::testing::Test {
 protected:
  WorkerOptions Options() const {
    return testing::LoopbackWorkerOptions(dir_.path() + "/data", 1);
  }

  std::string StartError(const WorkerOptions& options) {
    std::string error;
    std::unique_ptr<Worker> worker = Worker::Start(options, error);
    EXPECT_EQ(worker, nullptr);
    if (worker) worker->Stop();
    return error;
  }

  TempDir dir_;
};

TEST_F(WorkerStartRefuses, ANonLoopbackEndpointWithoutKeys) {
  WorkerOptions options = Options();
  options.events_endpoint = "tcp://0.0.0.0:*";
  const std::string error = StartError(options);
  EXPECT_NE(error.find("tcp://0.0.0.0:* is not a loopback endpoint"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("--insecure"), std::string::npos) << error;

  options.insecure = true;
  std::string start_error;
  std::unique_ptr<Worker> worker = Worker::Start(options, start_error);
  ASSERT_NE(worker, nullptr) << start_error;
  EXPECT_TRUE(worker->Stop());
}

TEST_F(WorkerStartRefuses, AKeyWithoutClientsOrAPublicKeyFile) {
  const std::string key_path = dir_.path() + "/worker.key";
  std::string error;
  ASSERT_TRUE(WriteCurveKeyFiles(key_path, *GenerateCurveKeyPair(), error));

  WorkerOptions options = Options();
  options.curve_key_file = CurveSecretFilePath(key_path);
  EXPECT_NE(StartError(options).find("--curve-key and --clients go together"),
            std::string::npos);

  std::ofstream(dir_.path() + "/clients")
      << "game1 " << GenerateCurveKeyPair()->public_key << " send=game1\n";
  options.clients_file = dir_.path() + "/clients";
  options.curve_key_file = key_path;  // The public file: no secret.
  EXPECT_NE(StartError(options).find("holds no secret-key"), std::string::npos);
}

TEST_F(WorkerStartRefuses, AClientsFileWithAMistake) {
  const std::string key_path = dir_.path() + "/worker.key";
  std::string error;
  ASSERT_TRUE(WriteCurveKeyFiles(key_path, *GenerateCurveKeyPair(), error));
  std::ofstream(dir_.path() + "/clients")
      << "# ok so far\ngame1 " << GenerateCurveKeyPair()->public_key
      << " send=game1 admin\n";
  WorkerOptions options = Options();
  options.curve_key_file = CurveSecretFilePath(key_path);
  options.clients_file = dir_.path() + "/clients";
  const std::string start_error = StartError(options);
  EXPECT_NE(start_error.find("/clients:2: unknown right 'admin'"),
            std::string::npos)
      << start_error;
}

}  // namespace
}  // namespace wallet
