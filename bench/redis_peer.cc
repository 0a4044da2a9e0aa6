// The Redis peer of the benchmark suite: the bench mix (bench_mix.h) as
// the idempotent credit a studio would write with Redis, one Lua script
// per command: `SET key amount NX EX window`, and only if that set the key,
// `HINCRBY` the user's hash. A retry finds the key and changes nothing.
//
//   redis_peer [--port P] [--count N] [--users U] [--duplicates-pct P]
//              [--connections C] [--pipeline D]
//
// C threads, each with its own connection keeping D commands in flight
// (hiredis pipelining). A command's latency runs from its append to its
// reply. Prints one `key=value` line; exit 1 on any error reply.

#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_mix.h"

namespace wallet::bench {
namespace {

constexpr const char* kCreditScript =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then "
    "  return {1, redis.call('HINCRBY', KEYS[2], 'gold', ARGV[1])} "
    "end "
    "return {0, tonumber(redis.call('GET', KEYS[1]))}";
constexpr const char* kKeyWindowS = "86400";

struct PeerOptions {
  int port = 26379;
  std::uint64_t count = 100'000;
  std::uint64_t users = 100'000;
  std::uint64_t duplicates_pct = 5;
  std::uint64_t connections = 4;
  std::uint64_t pipeline = 64;
};

struct ConnectionTally {
  std::uint64_t applied = 0;
  std::uint64_t duplicate = 0;
  std::uint64_t errors = 0;
  std::vector<std::uint32_t> latencies_us;
};

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

using Context = std::unique_ptr<redisContext, decltype(&redisFree)>;

Context Connect(int port) {
  return Context(redisConnect("127.0.0.1", port), &redisFree);
}

std::string LoadScript(int port) {
  Context context = Connect(port);
  if (context == nullptr || context->err != 0) return {};
  auto* reply = static_cast<redisReply*>(
      redisCommand(context.get(), "SCRIPT LOAD %s", kCreditScript));
  std::string sha;
  if (reply != nullptr && reply->type == REDIS_REPLY_STRING) {
    sha.assign(reply->str, reply->len);
  }
  freeReplyObject(reply);
  return sha;
}

// One connection's share of the run: `count` sends, key indices
// `index * stride + offset`, at most `pipeline` awaiting replies.
class Connection {
 public:
  Connection(const PeerOptions& options, std::string sha, std::uint64_t seed,
             std::uint64_t offset, std::uint64_t count)
      : options_(options),
        sha_(std::move(sha)),
        seed_(seed),
        offset_(offset),
        count_(count) {}

  ConnectionTally Run() {
    tally_.latencies_us.reserve(count_);
    Context context = Connect(options_.port);
    if (context == nullptr || context->err != 0) {
      tally_.errors = count_;
      return tally_;
    }
    std::vector<bool> retried;
    std::uint64_t fresh = 0;
    for (std::uint64_t s = 0; s < count_; ++s) {
      if (in_flight_.size() >= options_.pipeline && !Collect(context.get())) {
        break;
      }
      std::uint64_t local = fresh;
      if (fresh > 0 &&
          IsRetrySend(seed_ + offset_, s, options_.duplicates_pct)) {
        const std::uint64_t target = RetryTarget(seed_ + offset_, s, fresh);
        if (!retried[target]) local = target;
      }
      if (local == fresh) {
        ++fresh;
        retried.push_back(false);
      } else {
        retried[local] = true;
      }
      Append(context.get(), local * options_.connections + offset_);
    }
    while (!in_flight_.empty() && Collect(context.get())) {
    }
    tally_.errors += in_flight_.size();
    return tally_;
  }

 private:
  void Append(redisContext* context, std::uint64_t index) {
    char key[2 + kUuidBytes] = {'k', ':'};
    KeyUuid(seed_, index, key + 2);
    const std::string user =
        "u:" + UserName(KeyUser(seed_, index, options_.users));
    const std::string amount = std::to_string(KeyAmount(seed_, index));
    redisAppendCommand(context, "EVALSHA %s 2 %b %b %s %s", sha_.c_str(), key,
                       sizeof(key), user.data(), user.size(), amount.c_str(),
                       kKeyWindowS);
    in_flight_.push_back(NowNs());
  }

  bool Collect(redisContext* context) {
    void* raw = nullptr;
    if (redisGetReply(context, &raw) != REDIS_OK) return false;
    auto* reply = static_cast<redisReply*>(raw);
    const std::int64_t latency_ns = NowNs() - in_flight_.front();
    in_flight_.pop_front();
    tally_.latencies_us.push_back(
        static_cast<std::uint32_t>(latency_ns / 1000));
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER) {
      if (reply->element[0]->integer == 1) {
        ++tally_.applied;
      } else {
        ++tally_.duplicate;
      }
    } else {
      ++tally_.errors;
    }
    freeReplyObject(reply);
    return true;
  }

  const PeerOptions& options_;
  const std::string sha_;
  const std::uint64_t seed_;
  const std::uint64_t offset_;
  const std::uint64_t count_;
  std::deque<std::int64_t> in_flight_;  // Append times, oldest first.
  ConnectionTally tally_;
};

double Percentile(const std::vector<std::uint32_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()));
  return sorted[std::min(rank, sorted.size() - 1)] / 1000.0;
}

bool ParseArgs(int argc, char** argv, PeerOptions& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::uint64_t value = std::stoull(argv[i + 1]);
    if (flag == "--port") {
      options.port = static_cast<int>(value);
    } else if (flag == "--count") {
      options.count = value;
    } else if (flag == "--users") {
      options.users = value;
    } else if (flag == "--duplicates-pct") {
      options.duplicates_pct = value;
    } else if (flag == "--connections") {
      options.connections = value;
    } else if (flag == "--pipeline") {
      options.pipeline = value;
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && options.count > 0 && options.users > 0 &&
         options.duplicates_pct < 100 && options.connections > 0 &&
         options.pipeline > 0;
}

}  // namespace
}  // namespace wallet::bench

int main(int argc, char** argv) {
  using namespace wallet::bench;
  PeerOptions options;
  if (!ParseArgs(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: redis_peer [--port P] [--count N] [--users U] "
                 "[--duplicates-pct P] [--connections C] [--pipeline D]\n");
    return 2;
  }
  const std::string sha = LoadScript(options.port);
  if (sha.empty()) {
    std::fprintf(stderr, "redis_peer: cannot load the script on port %d\n",
                 options.port);
    return 1;
  }
  const auto seed = static_cast<std::uint64_t>(NowNs());
  std::vector<ConnectionTally> tallies(options.connections);
  std::vector<std::thread> threads;
  const std::int64_t start_ns = NowNs();
  for (std::uint64_t c = 0; c < options.connections; ++c) {
    const std::uint64_t share = options.count / options.connections +
                                (c < options.count % options.connections);
    threads.emplace_back([&, c, share] {
      tallies[c] = Connection(options, sha, seed, c, share).Run();
    });
  }
  for (std::thread& thread : threads) thread.join();
  const double seconds = static_cast<double>(NowNs() - start_ns) / 1e9;

  ConnectionTally total;
  for (ConnectionTally& tally : tallies) {
    total.applied += tally.applied;
    total.duplicate += tally.duplicate;
    total.errors += tally.errors;
    total.latencies_us.insert(total.latencies_us.end(),
                              tally.latencies_us.begin(),
                              tally.latencies_us.end());
  }
  std::sort(total.latencies_us.begin(), total.latencies_us.end());
  const auto results = static_cast<double>(total.applied + total.duplicate);
  std::printf(
      "redis_peer sent=%" PRIu64 " applied=%" PRIu64 " duplicate=%" PRIu64
      " errors=%" PRIu64
      " seconds=%.3f commands_per_s=%.0f p50_ms=%.3f p99_ms=%.3f"
      " p999_ms=%.3f max_ms=%.3f\n",
      options.count, total.applied, total.duplicate, total.errors, seconds,
      results / seconds, Percentile(total.latencies_us, 0.5),
      Percentile(total.latencies_us, 0.99),
      Percentile(total.latencies_us, 0.999),
      total.latencies_us.empty() ? 0.0 : total.latencies_us.back() / 1000.0);
  return total.errors == 0 ? 0 : 1;
}
