#include "worker/pipeline/ingress.h"

#include <functional>
#include <string_view>

#include "common/codec.h"
#include "common/log.h"

namespace wallet {
namespace {

// How long a blocked receive waits before looking at the stop flag.
constexpr int kPollIntervalMs = 100;
// At stop: how long the socket must stay quiet before ingress concludes
// that everything already sent has been taken.
constexpr int kDrainQuietMs = 200;

RateLimiter g_multipart_log(1000);

}  // namespace

Ingress::Ingress(zmq::socket_t socket, CommandLanes& lanes,
                 PipelineCounters& counters)
    : socket_(std::move(socket)),
      lanes_(lanes),
      batches_(lanes.size()),
      counters_(counters) {}

Ingress::~Ingress() { Stop(); }

void Ingress::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Ingress::Stop() {
  stopping_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

void Ingress::DropMultipart(zmq::message_t& first) {
  // A command is one frame: drain the rest of the message and drop it.
  std::size_t parts = 1;
  while (first.more()) {
    (void)socket_.recv(first, zmq::recv_flags::none);
    ++parts;
  }
  counters_.dropped.fetch_add(1, std::memory_order_relaxed);
  std::uint64_t suppressed = 0;
  if (g_multipart_log.Allow(suppressed)) {
    Log(LogLevel::kWarn, "ingress",
        "event=dropped reason=multipart_message parts=%zu suppressed=%lu",
        parts, static_cast<unsigned long>(suppressed));
  }
}

std::size_t Ingress::Receive(bool wait) {
  std::size_t received = 0;
  zmq::message_t frame;
  auto flags = wait ? zmq::recv_flags::none : zmq::recv_flags::dontwait;
  while (received < kCommandBatchMax) {
    if (!socket_.recv(frame, flags)) break;  // Would block, or timed out.
    flags = zmq::recv_flags::dontwait;
    if (frame.more()) {
      DropMultipart(frame);
      continue;
    }
    const std::string_view user = PeekUser(frame.to_string_view());
    const std::size_t lane =
        std::hash<std::string_view>{}(user) % lanes_.size();
    batches_[lane].frames.push_back(std::move(frame));
    ++received;
  }
  counters_.received.fetch_add(received, std::memory_order_relaxed);
  return received;
}

bool Ingress::HandOver() {
  for (std::size_t lane = 0; lane < lanes_.size(); ++lane) {
    if (batches_[lane].frames.empty()) continue;
    if (!lanes_[lane].Push(std::move(batches_[lane]))) return false;
    batches_[lane] = CommandBatch{};
  }
  return true;
}

void Ingress::Run() {
  socket_.set(zmq::sockopt::rcvtimeo, kPollIntervalMs);
  try {
    bool open = true;
    while (open && !stopping_.load(std::memory_order_acquire)) {
      if (Receive(true) > 0) open = HandOver();
    }
    // Drain: take what game servers already sent until the socket is quiet.
    socket_.set(zmq::sockopt::rcvtimeo, kDrainQuietMs);
    while (open && Receive(true) > 0) open = HandOver();
  } catch (const zmq::error_t& e) {
    Log(LogLevel::kError, "ingress", "event=socket_error error=\"%s\"",
        e.what());
  }
  for (BoundedQueue<CommandBatch>& lane : lanes_) lane.Close();
  socket_.close();
}

}  // namespace wallet
