// QueryServer: the thread that owns the query socket (REP). It answers
// balance queries from the wallet's memory under a user stripe's lock,
// one at a time; malformed or unknown requests get an error reply, never
// silence, so a plain REQ client can never hang on it.
//
// A reply waits until the journal is durable past the state it read, so a
// query never shows a balance that a crash could still undo (the wait is
// at most one group commit).
//
// One thread serves every query, so a query flood costs at most one core's
// share and never holds more than one stripe lock at a time: command
// processing keeps its own threads.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <thread>

#include "worker/core/wallet.h"
#include "worker/pipeline/batches.h"
#include "worker/storage/journal.h"

namespace wallet {

class QueryServer {
 public:
  QueryServer(zmq::socket_t socket, const Wallet& wallet, Journal& journal,
              PipelineCounters& counters);
  ~QueryServer();

  void Start();
  void Stop();

 private:
  void Run();
  void Answer(std::string_view request, std::string& reply);
  // Waits until the journal is durable up to `position` (the last record
  // behind what was read); on a failed journal, puts the `unavailable`
  // error in `reply` and returns false.
  bool WaitDurable(std::uint64_t position, std::string& reply);

  zmq::socket_t socket_;  // Owned by the query thread once started.
  const Wallet& wallet_;
  Journal& journal_;
  PipelineCounters& counters_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace wallet
