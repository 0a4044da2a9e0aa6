#include "worker/pipeline/ingress.h"

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

Ingress::Ingress(zmq::socket_t socket, BoundedQueue<CommandBatch>& out,
                 PipelineCounters& counters)
    : socket_(std::move(socket)), out_(out), counters_(counters) {}

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

bool Ingress::ReceiveBatch(CommandBatch& batch, bool wait) {
  batch.frames.clear();
  batch.frames.reserve(kCommandBatchMax);
  zmq::message_t frame;
  auto flags = wait ? zmq::recv_flags::none : zmq::recv_flags::dontwait;
  while (batch.frames.size() < kCommandBatchMax) {
    if (!socket_.recv(frame, flags)) break;  // Would block, or timed out.
    flags = zmq::recv_flags::dontwait;
    if (frame.more()) {
      DropMultipart(frame);
      continue;
    }
    batch.frames.push_back(std::move(frame));
  }
  return !batch.frames.empty();
}

void Ingress::Run() {
  socket_.set(zmq::sockopt::rcvtimeo, kPollIntervalMs);
  CommandBatch batch;
  try {
    while (!stopping_.load(std::memory_order_acquire)) {
      if (!ReceiveBatch(batch, true)) continue;
      counters_.received.fetch_add(batch.frames.size(),
                                   std::memory_order_relaxed);
      if (!out_.Push(std::move(batch))) break;
      batch = CommandBatch{};
    }
    // Drain: take what game servers already sent until the socket is quiet.
    socket_.set(zmq::sockopt::rcvtimeo, kDrainQuietMs);
    while (ReceiveBatch(batch, true)) {
      counters_.received.fetch_add(batch.frames.size(),
                                   std::memory_order_relaxed);
      if (!out_.Push(std::move(batch))) break;
      batch = CommandBatch{};
    }
  } catch (const zmq::error_t& e) {
    Log(LogLevel::kError, "ingress", "event=socket_error error=\"%s\"",
        e.what());
  }
  out_.Close();
  socket_.close();
}

}  // namespace wallet
