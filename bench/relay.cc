// The transport limit of the benchmark suite: what a worker would do with
// no wallet at all. It receives each command frame (PULL), decodes and
// validates it with the worker's codec, encodes a result and publishes it
// (PUB) on the command's result topic. Nothing is stored, nothing synced;
// every valid command is answered `applied` with its amount as balance.
//
//   relay [--commands EP] [--events EP]
//
// One thread owns both sockets. SIGINT or SIGTERM stops it; it prints the
// number of commands relayed.

#include <signal.h>

#include <zmq.hpp>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <string>

#include "common/codec.h"
#include "common/protocol.h"

namespace wallet::bench {
namespace {

constexpr int kPollMs = 100;
// The worker's limits, so that the relay queues what the worker would.
constexpr int kCommandsReceiveHwm = 10'000;
constexpr int kEventsSendHwm = 1'000'000;
constexpr int kBatchMax = 256;

std::atomic<bool> stop_requested{false};

extern "C" void OnStopSignal(int /*signal*/) {
  stop_requested.store(true, std::memory_order_relaxed);
}

struct RelayOptions {
  std::string commands = "tcp://127.0.0.1:25555";
  std::string events = "tcp://127.0.0.1:25556";
};

class Relay {
 public:
  Relay(zmq::context_t& context, const RelayOptions& options)
      : pull_(context, zmq::socket_type::pull),
        pub_(context, zmq::socket_type::pub) {
    pull_.set(zmq::sockopt::rcvhwm, kCommandsReceiveHwm);
    pull_.set(zmq::sockopt::maxmsgsize,
              static_cast<std::int64_t>(kCommandFrameBytesMax));
    pull_.set(zmq::sockopt::rcvtimeo, kPollMs);
    pull_.set(zmq::sockopt::linger, 0);
    pull_.bind(options.commands);
    pub_.set(zmq::sockopt::sndhwm, kEventsSendHwm);
    pub_.set(zmq::sockopt::linger, 1000);
    pub_.bind(options.events);
  }

  // Relays until a stop signal; returns the commands answered.
  std::uint64_t Run() {
    zmq::message_t frame;
    while (!stop_requested.load(std::memory_order_relaxed)) {
      try {
        if (!pull_.recv(frame)) continue;
        Answer(frame.to_string_view());
        // Take what else is already queued without waiting, as the
        // worker's ingress does.
        for (int i = 1; i < kBatchMax; ++i) {
          if (!pull_.recv(frame, zmq::recv_flags::dontwait)) break;
          Answer(frame.to_string_view());
        }
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;  // A signal is how the relay stops.
      }
    }
    return answered_;
  }

 private:
  void Answer(std::string_view frame) {
    const DecodedCommand decoded = decoder_.Decode(frame);
    if (decoded.kind == DecodedCommand::Kind::kUnreadable) return;
    Outcome outcome;
    payload_.clear();
    if (decoded.kind == DecodedCommand::Kind::kValid) {
      outcome.status = Status::kApplied;
      outcome.has_balance = true;
      outcome.balance_minor = decoded.command.amount_minor;
      outcome.version = 1;
      EncodeResult(decoded.key, &decoded.command, outcome, {}, payload_);
    } else {
      outcome.reason = decoded.reason;
      EncodeResult(decoded.key, nullptr, outcome, decoded.detail, payload_);
    }
    topic_.assign(kResultTopicPrefix);
    topic_.append(decoded.source);
    topic_.push_back('/');
    pub_.send(zmq::buffer(topic_), zmq::send_flags::sndmore);
    pub_.send(zmq::buffer(payload_), zmq::send_flags::none);
    ++answered_;
  }

  zmq::socket_t pull_;
  zmq::socket_t pub_;
  CommandDecoder decoder_;
  std::string topic_;
  std::string payload_;
  std::uint64_t answered_ = 0;
};

bool ParseArgs(int argc, char** argv, RelayOptions& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--commands") {
      options.commands = argv[i + 1];
    } else if (flag == "--events") {
      options.events = argv[i + 1];
    } else {
      return false;
    }
  }
  return argc % 2 == 1;
}

}  // namespace
}  // namespace wallet::bench

int main(int argc, char** argv) {
  using namespace wallet::bench;
  RelayOptions options;
  if (!ParseArgs(argc, argv, options)) {
    std::fprintf(stderr, "usage: relay [--commands EP] [--events EP]\n");
    return 2;
  }
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  zmq::context_t context(1);
  const std::uint64_t answered = Relay(context, options).Run();
  std::fprintf(stderr, "relay event=stop answered=%" PRIu64 "\n", answered);
  return 0;
}
