// Ingress: the thread that owns the command socket (PULL). It takes
// commands off the socket in batches and hands them, undecoded, to the
// apply threads' lanes: every command of one user goes to the same lane,
// so one user's commands are applied, and their balance events published,
// in the order they arrived. When a lane is full, ingress stops reading and
// the socket's high-water mark pushes back on game servers.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "worker/pipeline/batches.h"
#include "worker/pipeline/bounded_queue.h"

namespace wallet {

class Ingress {
 public:
  // `socket` is bound already; Ingress takes it over for its thread.
  Ingress(zmq::socket_t socket, CommandLanes& lanes,
          PipelineCounters& counters);
  ~Ingress();

  void Start();
  // Stops reading new commands, hands over what the socket already holds,
  // closes every lane and joins.
  void Stop();

 private:
  void Run();
  // Receives up to kCommandBatchMax frames into the lanes' batches.
  std::size_t Receive(bool wait);
  // Hands every non-empty batch to its lane; false once lanes are closed.
  bool HandOver();
  void DropMultipart(zmq::message_t& first);

  zmq::socket_t socket_;  // Owned by the ingress thread once started.
  CommandLanes& lanes_;
  std::vector<CommandBatch> batches_;  // One being filled per lane.
  PipelineCounters& counters_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace wallet
