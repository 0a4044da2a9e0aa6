// Publisher: the thread that owns the events socket (PUB). It publishes
// each EventBatch only after the journal is durable up to the batch's
// position, so a subscriber never sees a result that a crash could undo.
// If the journal has failed, the batch is dropped unacknowledged instead.
//
// A subscriber that cannot keep up loses events at its high-water mark
// (PUB never blocks); balance event versions let it notice the gap.
#pragma once

#include <zmq.hpp>

#include <thread>

#include "worker/pipeline/batches.h"
#include "worker/pipeline/bounded_queue.h"
#include "worker/storage/journal.h"

namespace wallet {

class Publisher {
 public:
  Publisher(zmq::socket_t socket, Journal& journal,
            BoundedQueue<EventBatch>& in, PipelineCounters& counters);
  ~Publisher();

  void Start();
  // Returns once the publish queue is closed and everything in it is sent.
  void Join();

 private:
  void Run();
  void Send(const EventBatch& batch);

  zmq::socket_t socket_;  // Owned by the publisher thread once started.
  Journal& journal_;
  BoundedQueue<EventBatch>& in_;
  PipelineCounters& counters_;
  std::thread thread_;
};

}  // namespace wallet
