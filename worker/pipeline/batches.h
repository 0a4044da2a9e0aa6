// The units of work that move between pipeline threads, and the counters
// every stage adds to. Work moves in batches so that locks, queue hand-offs
// and journal syncs are paid per batch, not per command.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "worker/pipeline/bounded_queue.h"

namespace wallet {

// Commands taken off the command socket in one go (at most this many).
inline constexpr std::size_t kCommandBatchMax = 256;
// Batches waiting in each apply thread's lane, and between the apply
// threads and the publisher. Together with the socket high-water marks
// they bound the worker's memory under any flood.
inline constexpr std::size_t kLaneQueueBatches = 32;
inline constexpr std::size_t kPublishQueueBatches = 16;
// An apply thread takes up to this many command batches off its lane at
// once and publishes their events as one batch, so an event batch holds
// at most kApplyBatchesMax * kCommandBatchMax commands' events.
inline constexpr std::size_t kApplyBatchesMax = 4;
// The publisher takes up to this many event batches at once. Events of at
// most (kPublishQueueBatches + kPublishBatchesMax) * kApplyBatchesMax *
// kCommandBatchMax = 24,576 commands wait between the apply threads and
// the socket.
inline constexpr std::size_t kPublishBatchesMax = 8;
static_assert((kPublishQueueBatches + kPublishBatchesMax) * kApplyBatchesMax *
                  kCommandBatchMax ==
              24'576);
// Receive high-water mark of the command socket, in messages.
inline constexpr int kCommandsReceiveHwm = 10'000;

struct CommandBatch {
  std::vector<zmq::message_t> frames;
};

// One queue per apply thread (a deque: queues cannot move).
using CommandLanes = std::deque<BoundedQueue<CommandBatch>>;

// Events (topic + payload) encoded back to back in one buffer.
struct EventBatch {
  struct Span {
    std::uint32_t topic_at, topic_size, payload_at, payload_size;
  };
  // Nothing here may be published before the journal is durable up to
  // this position: it covers every record the batch depends on.
  std::uint64_t journal_position = 0;
  std::string bytes;
  std::vector<Span> events;
};

// Totals since start. Apply threads add once per batch.
struct PipelineCounters {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> applied{0};
  std::atomic<std::uint64_t> duplicates{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> conflicts{0};
  std::atomic<std::uint64_t> dropped{0};  // No readable key.
  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> unacknowledged{0};  // Journal failed first.
  std::atomic<std::uint64_t> queries{0};
  std::atomic<std::uint64_t> query_errors{0};
  // Access control (CURVE on): commands naming a source their sender may
  // not use, and handshakes the allow-list refused.
  std::atomic<std::uint64_t> forbidden{0};
  std::atomic<std::uint64_t> auth_refused{0};
  // Connections on the three sockets, as libzmq's monitors report them.
  // A frame over the size limit closes its connection: a disconnect.
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> disconnects{0};
  std::atomic<std::uint64_t> handshake_failures{0};
};

}  // namespace wallet
