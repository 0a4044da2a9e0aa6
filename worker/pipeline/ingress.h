// Ingress: the thread that owns the command socket (PULL). It takes
// commands off the socket in batches and hands them to the apply threads
// unparsed; when the apply queue is full it stops reading, and the socket's
// high-water mark pushes back on game servers.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <thread>

#include "worker/pipeline/batches.h"
#include "worker/pipeline/bounded_queue.h"

namespace wallet {

class Ingress {
 public:
  // `socket` is bound already; Ingress takes it over for its thread.
  Ingress(zmq::socket_t socket, BoundedQueue<CommandBatch>& out,
          PipelineCounters& counters);
  ~Ingress();

  void Start();
  // Stops reading new commands, hands over what the socket already holds,
  // closes the apply queue and joins.
  void Stop();

 private:
  void Run();
  bool ReceiveBatch(CommandBatch& batch, bool wait);
  void DropMultipart(zmq::message_t& first);

  zmq::socket_t socket_;  // Owned by the ingress thread once started.
  BoundedQueue<CommandBatch>& out_;
  PipelineCounters& counters_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace wallet
