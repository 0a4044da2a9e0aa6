// The load tool of the benchmark suite: sends the bench mix (bench_mix.h)
// to a command socket, receives every result back on the events socket
// and times each command. The same tool drives the wallet worker and the
// transport relay, so their figures compare.
//
//   bench_load --commands EP --events EP --count N [--users U]
//              [--duplicates-pct P] [--window W | --rate R]
//              [--mix credits|mixed] [--queries EP --query-clients Q]
//
// Closed loop (default): at most W commands await their result; a
// command's latency runs from its send to its result, so it includes the
// queueing the window allows. Open loop (--rate R): command s is due at
// start + s/R whatever happened before, and its latency runs from that
// due time, so a stall delays everything behind it and shows in the
// percentiles instead of slowing the sender down.
//
// With --query-clients Q, Q more threads each own a REQ socket and ask for
// random users' balances as fast as the worker answers, for as long as the
// load runs: a query flood beside the commands.
//
// Threads: the sender (main thread) owns the PUSH socket, the receiver
// owns the SUB socket once the subscription is proven live, each query
// client its REQ socket. Prints one `key=value` line; exit 0 when every
// result arrived, 1 otherwise.

#include <time.h>
#include <unistd.h>

#include <zmq.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "bench/bench_mix.h"
#include "common/client.h"
#include "common/codec.h"
#include "common/protocol.h"

namespace wallet::bench {
namespace {

constexpr int kReceivePollMs = 100;
constexpr int kProbeIntervalMs = 200;
constexpr int kProbeTimeoutMs = 20'000;
constexpr std::uint32_t kNoSlot = UINT32_MAX;
constexpr std::uint64_t kCountMax = 100'000'000;

struct LoadOptions {
  std::string commands = "tcp://127.0.0.1:25555";
  std::string events = "tcp://127.0.0.1:25556";
  std::uint64_t count = 100'000;
  std::uint64_t users = 100'000;
  std::uint64_t duplicates_pct = 5;
  std::uint64_t window = 20'000;
  double rate = 0;  // Commands per second; 0 is closed loop.
  std::string source = "bench";
  std::int64_t timeout_s = 30;
  bool mixed = false;  // --mix mixed: spends and purchases too.
  std::string queries = "tcp://127.0.0.1:25557";
  std::uint64_t query_clients = 0;
};

// Query clients a run may start, at most.
constexpr std::uint64_t kQueryClientsMax = 64;

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void SleepUntilNs(std::int64_t deadline_ns) {
  timespec when{};
  when.tv_sec = static_cast<time_t>(deadline_ns / 1'000'000'000);
  when.tv_nsec = static_cast<long>(deadline_ns % 1'000'000'000);
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, nullptr);
}

// --- A minimal reader of result payloads: only `key` and `status` are
// needed, and a full decode would make the client, not the server, the
// bottleneck on a two-core machine.

struct Cursor {
  const unsigned char* at;
  const unsigned char* end;
  bool Has(std::size_t n) const {
    return static_cast<std::size_t>(end - at) >= n;
  }
  std::uint64_t Big(std::size_t n) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < n; ++i) value = value << 8 | at[i];
    at += n;
    return value;
  }
};

// Reads a str at the cursor; false if the next value is not a str.
bool ReadStr(Cursor& c, std::string_view& out) {
  if (!c.Has(1)) return false;
  const unsigned char tag = *c.at++;
  std::size_t size = 0;
  if ((tag & 0xE0) == 0xA0) {
    size = tag & 0x1F;
  } else if (tag >= 0xD9 && tag <= 0xDB) {
    const std::size_t width = std::size_t{1} << (tag - 0xD9);
    if (!c.Has(width)) return false;
    size = c.Big(width);
  } else {
    return false;
  }
  if (!c.Has(size)) return false;
  out = std::string_view(reinterpret_cast<const char*>(c.at), size);
  c.at += size;
  return true;
}

// Skips a scalar (a result holds nothing else); false on anything else.
bool SkipScalar(Cursor& c) {
  if (!c.Has(1)) return false;
  const unsigned char tag = *c.at;
  if ((tag & 0xE0) == 0xA0 || (tag >= 0xD9 && tag <= 0xDB)) {
    std::string_view ignored;
    return ReadStr(c, ignored);
  }
  ++c.at;
  if (tag <= 0x7F || tag >= 0xE0 || tag == 0xC0 || tag == 0xC2 || tag == 0xC3) {
    return true;
  }
  std::size_t width = 0;
  if (tag >= 0xCC && tag <= 0xCF) width = std::size_t{1} << (tag - 0xCC);
  if (tag >= 0xD0 && tag <= 0xD3) width = std::size_t{1} << (tag - 0xD0);
  if (width == 0 || !c.Has(width)) return false;
  c.at += width;
  return true;
}

bool ReadKeyAndStatus(std::string_view payload, std::string_view& key,
                      std::string_view& status) {
  Cursor c{
      reinterpret_cast<const unsigned char*>(payload.data()),
      reinterpret_cast<const unsigned char*>(payload.data()) + payload.size()};
  if (!c.Has(1)) return false;
  const unsigned char tag = *c.at++;
  std::size_t entries = 0;
  if ((tag & 0xF0) == 0x80) {
    entries = tag & 0x0F;
  } else if (tag == 0xDE && c.Has(2)) {
    entries = c.Big(2);
  } else {
    return false;
  }
  for (std::size_t i = 0; i < entries; ++i) {
    std::string_view name;
    if (!ReadStr(c, name)) return false;
    if (name == "key" || name == "status") {
      if (!ReadStr(c, name == "key" ? key : status)) return false;
      // Both come before any list (a batch's `legs`) in a result.
      if (!key.empty() && !status.empty()) return true;
    } else if (!SkipScalar(c)) {
      return false;
    }
  }
  return !key.empty() && !status.empty();
}

// --- The run.

struct Tally {
  std::uint64_t results = 0;
  std::uint64_t applied = 0;
  std::uint64_t duplicate = 0;
  std::uint64_t rejected = 0;
  std::uint64_t foreign = 0;  // Unparsable or not a key of this run.
  std::int64_t last_result_ns = 0;
};

class LoadRun {
 public:
  LoadRun(const LoadOptions& options, std::uint64_t seed)
      : options_(options),
        seed_(seed),
        send_ns_(new std::int64_t[options.count]),
        fresh_slot_(options.count, kNoSlot),
        retry_slot_(options.count, kNoSlot),
        results_of_key_(options.count, 0) {
    latencies_us_.reserve(options.count);
  }

  bool ProveSubscription(zmq::context_t& context, zmq::socket_t& sub);
  // Sends and receives everything, with the query flood if asked for.
  void Run(zmq::context_t& context, zmq::socket_t& sub);
  // Prints the summary line; returns whether every result arrived.
  bool Report() const;

 private:
  void SendAll(zmq::context_t& context);
  void ReceiveAll(zmq::socket_t& sub);
  void OnResult(std::string_view key, std::string_view status,
                std::int64_t now_ns);
  void WaitForWindow(std::uint64_t sent) const;
  void AskBalances(zmq::context_t& context, std::uint64_t client);
  void EncodeMixCommand(std::uint64_t index, std::string_view key,
                        std::string_view user, std::string& frame) const;

  // Fixed after construction.
  const LoadOptions& options_;
  const std::uint64_t seed_;

  // Written by the sender for send slots below `sent_`, read by the
  // receiver after an acquire load of `sent_`.
  std::unique_ptr<std::int64_t[]> send_ns_;
  std::vector<std::uint32_t> fresh_slot_;  // Per fresh key.
  std::vector<std::uint32_t> retry_slot_;  // Per fresh key; one retry most.
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> received_{0};  // Results of this run's keys.
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> queries_answered_{0};
  std::atomic<std::uint64_t> query_errors_{0};
  std::int64_t start_ns_ = 0;
  std::uint64_t fresh_count_ = 0;
  std::uint64_t retry_count_ = 0;

  // The receiver's own.
  std::vector<std::uint8_t> results_of_key_;
  std::vector<std::uint32_t> latencies_us_;
  Tally tally_;
};

bool LoadRun::ProveSubscription(zmq::context_t& context, zmq::socket_t& sub) {
  CommandSender sender(context, options_.commands, kProbeIntervalMs);
  sub.set(zmq::sockopt::rcvtimeo, kProbeIntervalMs);
  const std::int64_t deadline_ns =
      NowNs() + std::int64_t{kProbeTimeoutMs} * 1'000'000;
  for (int probe = 0; NowNs() < deadline_ns; ++probe) {
    // Amount 0 is invalid: the answer is a rejection that changes nothing.
    const std::string key =
        "probe-" + std::to_string(seed_) + "-" + std::to_string(probe);
    Command command;
    command.key = key;
    command.user = "probe";
    command.currency = "gold";
    command.amount_minor = 0;
    command.source = options_.source;
    if (sender.Send(command)) continue;
    zmq::message_t topic;
    zmq::message_t payload;
    while (sub.recv(topic) && sub.recv(payload)) {
      std::string_view got_key;
      std::string_view status;
      if (ReadKeyAndStatus(payload.to_string_view(), got_key, status) &&
          got_key.starts_with("probe-" + std::to_string(seed_))) {
        return true;
      }
    }
  }
  return false;
}

void LoadRun::Run(zmq::context_t& context, zmq::socket_t& sub) {
  sub.set(zmq::sockopt::rcvtimeo, kReceivePollMs);
  start_ns_ = NowNs();
  std::vector<std::thread> query_clients;
  for (std::uint64_t c = 0; c < options_.query_clients; ++c) {
    query_clients.emplace_back(
        [this, &context, c] { AskBalances(context, c); });
  }
  std::thread receiver([this, &sub] { ReceiveAll(sub); });
  SendAll(context);
  receiver.join();
  for (std::thread& client : query_clients) client.join();
}

void LoadRun::AskBalances(zmq::context_t& context, std::uint64_t client) {
  QueryClient queries(context, options_.queries);
  char user[32];
  for (std::uint64_t n = 0; !stop_.load(std::memory_order_relaxed); ++n) {
    const std::uint64_t index = Mix64(seed_ ^ (client << 48) ^ n);
    const std::size_t size = PutUserName(index % options_.users, user);
    if (std::holds_alternative<BalanceReply>(
            queries.Balance(std::string_view(user, size)))) {
      queries_answered_.fetch_add(1, std::memory_order_relaxed);
    } else {
      query_errors_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void LoadRun::WaitForWindow(std::uint64_t sent) const {
  while (sent >= received_.load(std::memory_order_relaxed) + options_.window &&
         !stop_.load(std::memory_order_relaxed)) {
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

void LoadRun::SendAll(zmq::context_t& context) {
  zmq::socket_t push(context, zmq::socket_type::push);
  push.set(zmq::sockopt::sndhwm, kSenderSendHwm);
  push.set(zmq::sockopt::linger, 5000);
  push.connect(options_.commands);
  const bool open_loop = options_.rate > 0;
  const double interval_ns = open_loop ? 1e9 / options_.rate : 0;
  std::string frame;
  char user[32];
  char key[kUuidBytes];
  for (std::uint64_t s = 0;
       s < options_.count && !stop_.load(std::memory_order_relaxed); ++s) {
    // A retry repeats a recent fresh key that has not been retried yet;
    // otherwise the send is a fresh key.
    std::uint64_t index = fresh_count_;
    if (fresh_count_ > 0 && IsRetrySend(seed_, s, options_.duplicates_pct)) {
      const std::uint64_t target = RetryTarget(seed_, s, fresh_count_);
      if (retry_slot_[target] == kNoSlot) index = target;
    }
    if (index < fresh_count_) {
      retry_slot_[index] = static_cast<std::uint32_t>(s);
      ++retry_count_;
    } else {
      fresh_slot_[fresh_count_++] = static_cast<std::uint32_t>(s);
    }
    KeyUuid(seed_, index, key);
    const std::size_t user_size =
        PutUserName(KeyUser(seed_, index, options_.users), user);
    frame.clear();
    EncodeMixCommand(index, std::string_view(key, kUuidBytes),
                     std::string_view(user, user_size), frame);

    std::int64_t due_ns = 0;
    if (open_loop) {
      due_ns = start_ns_ +
               static_cast<std::int64_t>(static_cast<double>(s) * interval_ns);
      if (NowNs() < due_ns) SleepUntilNs(due_ns);
    } else {
      WaitForWindow(s);
      due_ns = NowNs();
    }
    send_ns_[s] = due_ns;
    sent_.store(s + 1, std::memory_order_release);
    push.send(zmq::buffer(frame), zmq::send_flags::none);
  }
}

void LoadRun::EncodeMixCommand(std::uint64_t index, std::string_view key,
                               std::string_view user,
                               std::string& frame) const {
  Command command;
  command.key = key;
  command.user = user;
  command.currency = "gold";
  command.amount_minor = KeyAmount(seed_, index);
  command.source = options_.source;
  const KeyKind kind =
      options_.mixed ? MixedKind(seed_, index) : KeyKind::kCredit;
  std::array<Leg, 2> legs{};
  if (kind == KeyKind::kSpend) command.op = Op::kSpend;
  if (kind == KeyKind::kPurchase) {
    legs[0] = Leg{Op::kSpend, user, "gold", command.amount_minor};
    legs[1] = Leg{Op::kReward, user, "gems", 1};
    command.op = Op::kBatch;
    command.currency = {};
    command.amount_minor = 0;
    command.legs = legs;
  }
  EncodeCommand(command, frame);
}

void LoadRun::ReceiveAll(zmq::socket_t& sub) {
  const std::int64_t idle_ns = options_.timeout_s * 1'000'000'000;
  std::int64_t last_ns = NowNs();
  zmq::message_t topic;
  zmq::message_t payload;
  while (received_.load(std::memory_order_relaxed) < options_.count) {
    if (!sub.recv(topic)) {
      if (NowNs() - last_ns > idle_ns) break;
      continue;
    }
    if (!topic.more() || !sub.recv(payload)) continue;
    last_ns = NowNs();
    std::string_view key;
    std::string_view status;
    if (!ReadKeyAndStatus(payload.to_string_view(), key, status)) {
      ++tally_.foreign;
      continue;
    }
    OnResult(key, status, last_ns);
  }
  stop_.store(true, std::memory_order_relaxed);
}

void LoadRun::OnResult(std::string_view key, std::string_view status,
                       std::int64_t now_ns) {
  const std::optional<std::uint64_t> index = KeyIndex(key);
  const std::uint64_t sent = sent_.load(std::memory_order_acquire);
  if (!index || *index >= options_.count || results_of_key_[*index] >= 2) {
    ++tally_.foreign;
    return;
  }
  // Results of one key come back in send order: one connection, and the
  // worker keeps each user's commands in order.
  const std::uint32_t slot = results_of_key_[*index]++ == 0
                                 ? fresh_slot_[*index]
                                 : retry_slot_[*index];
  if (slot == kNoSlot || slot >= sent) {
    ++tally_.foreign;
    return;
  }
  const std::int64_t latency_ns = now_ns - send_ns_[slot];
  latencies_us_.push_back(
      static_cast<std::uint32_t>(std::max<std::int64_t>(latency_ns, 0) / 1000));
  ++tally_.results;
  tally_.last_result_ns = now_ns;
  if (status == "applied") {
    ++tally_.applied;
  } else if (status == "duplicate") {
    ++tally_.duplicate;
  } else {
    ++tally_.rejected;
  }
  received_.store(tally_.results, std::memory_order_relaxed);
}

double Percentile(const std::vector<std::uint32_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()));
  if (rank >= sorted.size()) rank = sorted.size() - 1;
  return sorted[rank] / 1000.0;
}

bool LoadRun::Report() const {
  std::vector<std::uint32_t> sorted = latencies_us_;
  std::sort(sorted.begin(), sorted.end());
  const double seconds =
      static_cast<double>(tally_.last_result_ns - start_ns_) / 1e9;
  const double rate =
      seconds > 0 ? static_cast<double>(tally_.results) / seconds : 0;
  std::printf(
      "bench_load mode=%s target_per_s=%.0f sent=%" PRIu64 " fresh=%" PRIu64
      " retries=%" PRIu64 " results=%" PRIu64 " missing=%" PRIu64
      " applied=%" PRIu64 " duplicate=%" PRIu64 " rejected=%" PRIu64
      " foreign=%" PRIu64
      " seconds=%.3f commands_per_s=%.0f p50_ms=%.3f p99_ms=%.3f"
      " p999_ms=%.3f max_ms=%.3f query_clients=%" PRIu64 " queries=%" PRIu64
      " query_errors=%" PRIu64 " queries_per_s=%.0f\n",
      options_.rate > 0 ? "open" : "closed", options_.rate,
      sent_.load(std::memory_order_relaxed), fresh_count_, retry_count_,
      tally_.results, options_.count - tally_.results, tally_.applied,
      tally_.duplicate, tally_.rejected, tally_.foreign, seconds, rate,
      Percentile(sorted, 0.50), Percentile(sorted, 0.99),
      Percentile(sorted, 0.999), sorted.empty() ? 0.0 : sorted.back() / 1000.0,
      options_.query_clients, queries_answered_.load(), query_errors_.load(),
      seconds > 0 ? static_cast<double>(queries_answered_.load()) / seconds
                  : 0.0);
  return tally_.results == options_.count;
}

bool ParseArgs(int argc, char** argv, LoadOptions& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--commands") {
      options.commands = value;
    } else if (flag == "--events") {
      options.events = value;
    } else if (flag == "--count") {
      options.count = std::stoull(value);
    } else if (flag == "--users") {
      options.users = std::stoull(value);
    } else if (flag == "--duplicates-pct") {
      options.duplicates_pct = std::stoull(value);
    } else if (flag == "--window") {
      options.window = std::stoull(value);
    } else if (flag == "--rate") {
      options.rate = std::stod(value);
    } else if (flag == "--source") {
      options.source = value;
    } else if (flag == "--timeout-s") {
      options.timeout_s = std::stoll(value);
    } else if (flag == "--mix" && (value == "credits" || value == "mixed")) {
      options.mixed = value == "mixed";
    } else if (flag == "--queries") {
      options.queries = value;
    } else if (flag == "--query-clients") {
      options.query_clients = std::stoull(value);
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && options.count > 0 && options.count <= kCountMax &&
         options.users > 0 && options.duplicates_pct < 100 &&
         options.window > 0 && options.rate >= 0 && options.timeout_s > 0 &&
         options.query_clients <= kQueryClientsMax;
}

std::uint64_t SeedFromClock() {
  return Mix64(static_cast<std::uint64_t>(NowNs()) ^
               (static_cast<std::uint64_t>(getpid()) << 32));
}

}  // namespace
}  // namespace wallet::bench

int main(int argc, char** argv) {
  using namespace wallet::bench;
  LoadOptions options;
  if (!ParseArgs(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: bench_load [--commands EP] [--events EP] [--count N] "
                 "[--users U] [--duplicates-pct P] [--window W | --rate R] "
                 "[--source S] [--timeout-s S] [--mix credits|mixed] "
                 "[--queries EP --query-clients Q (at most 64)]\n");
    return 2;
  }
  zmq::context_t context(1);
  zmq::socket_t sub(context, zmq::socket_type::sub);
  sub.set(zmq::sockopt::rcvhwm, wallet::kSubscriberReceiveHwm);
  sub.set(zmq::sockopt::subscribe, wallet::ResultTopic(options.source));
  sub.connect(options.events);

  LoadRun run(options, SeedFromClock());
  if (!run.ProveSubscription(context, sub)) {
    std::fprintf(stderr, "bench_load: no probe result on %s\n",
                 options.events.c_str());
    return 1;
  }
  run.Run(context, sub);
  return run.Report() ? 0 : 1;
}
