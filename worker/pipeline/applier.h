// Applier: the pool of apply threads, one per ingress lane. Each takes a
// batch of raw command frames from its lane, decodes and validates every frame
// outside any lock, applies the valid ones to the wallet (which journals them
// under its stripe locks), encodes results and balance events into one
// EventBatch, and hands it to the publisher stamped with the journal position
// that must be durable before any of it is published. No sockets here.
//
// With access control on, each frame's sender is the client named by the
// ZAP User-Id libzmq attached to it; a command naming a `source` that
// client may not use is rejected `forbidden` before it reaches the wallet.
#pragma once

#include <thread>
#include <vector>

#include "common/codec.h"
#include "worker/access_list.h"
#include "worker/core/wallet.h"
#include "worker/pipeline/batches.h"
#include "worker/pipeline/bounded_queue.h"
#include "worker/storage/journal.h"

namespace wallet {

class Applier {
 public:
  // `access` is null when CURVE is off: every source is then allowed.
  Applier(Wallet& wallet, Journal& journal, const AccessList* access,
          CommandLanes& lanes, BoundedQueue<EventBatch>& out,
          PipelineCounters& counters);
  ~Applier();

  // Starts one thread per lane.
  void Start();
  // Returns once every lane is closed and drained and every thread has
  // handed over its last batch.
  void Join();

 private:
  struct Tally {
    std::uint64_t applied = 0, duplicates = 0, rejected = 0, conflicts = 0,
                  dropped = 0, forbidden = 0;
  };
  // The last sender looked up: frames of one connection share the
  // metadata their User-Id points into.
  struct SenderCache {
    const char* user_id = nullptr;
    const ClientRights* rights = nullptr;
  };

  void Run(BoundedQueue<CommandBatch>& lane);
  void ApplyFrame(CommandDecoder& decoder, const zmq::message_t& frame,
                  std::int64_t now_ms, SenderCache& sender, EventBatch& out,
                  Tally& tally);
  // True when access control is off or the sender may use the command's
  // source; otherwise adds the `forbidden` result and returns false.
  bool Authorize(const zmq::message_t& frame, const DecodedCommand& decoded,
                 SenderCache& sender, EventBatch& out, Tally& tally);
  void Count(const Tally& tally);

  Wallet& wallet_;
  Journal& journal_;
  const AccessList* const access_;
  CommandLanes& lanes_;
  BoundedQueue<EventBatch>& out_;
  PipelineCounters& counters_;
  std::vector<std::thread> threads_;
};

// Appends one event to `batch`: topic `prefix` + `name` + "/" and the
// payload the encoder writes. Exposed for tests.
template <typename Encode>
void AddEvent(EventBatch& batch, std::string_view prefix, std::string_view name,
              Encode encode) {
  EventBatch::Span span{};
  span.topic_at = static_cast<std::uint32_t>(batch.bytes.size());
  batch.bytes.append(prefix);
  batch.bytes.append(name);
  batch.bytes.push_back('/');
  span.topic_size =
      static_cast<std::uint32_t>(batch.bytes.size() - span.topic_at);
  span.payload_at = static_cast<std::uint32_t>(batch.bytes.size());
  encode(batch.bytes);
  span.payload_size =
      static_cast<std::uint32_t>(batch.bytes.size() - span.payload_at);
  batch.events.push_back(span);
}

}  // namespace wallet
