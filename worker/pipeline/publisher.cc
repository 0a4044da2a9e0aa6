#include "worker/pipeline/publisher.h"

#include "common/log.h"

namespace wallet {

Publisher::Publisher(zmq::socket_t socket, Journal& journal,
                     BoundedQueue<EventBatch>& in, PipelineCounters& counters)
    : socket_(std::move(socket)),
      journal_(journal),
      in_(in),
      counters_(counters) {}

Publisher::~Publisher() { Join(); }

void Publisher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Publisher::Join() {
  if (thread_.joinable()) thread_.join();
}

void Publisher::Send(const EventBatch& batch) {
  const char* base = batch.bytes.data();
  for (const EventBatch::Span& span : batch.events) {
    socket_.send(zmq::buffer(base + span.topic_at, span.topic_size),
                 zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(base + span.payload_at, span.payload_size),
                 zmq::send_flags::none);
  }
  counters_.published.fetch_add(batch.events.size(), std::memory_order_relaxed);
}

void Publisher::Run() {
  try {
    std::vector<EventBatch> batches;
    while (in_.PopUpTo(kPublishBatchesMax, batches)) {
      // Batches arrive in no particular position order across apply
      // threads, so each waits for its own position; after the first
      // wait most of them are already durable.
      for (const EventBatch& batch : batches) {
        if (!journal_.WaitDurable(batch.journal_position)) {
          counters_.unacknowledged.fetch_add(batch.events.size(),
                                             std::memory_order_relaxed);
          continue;
        }
        Send(batch);
      }
      batches.clear();
    }
  } catch (const zmq::error_t& e) {
    Log(LogLevel::kError, "publisher", "event=socket_error error=\"%s\"",
        e.what());
  }
  socket_.close();
}

}  // namespace wallet
