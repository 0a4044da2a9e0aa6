// Worker options for tests that start a worker in their own process: all
// three sockets on loopback ports the kernel picks (read them back from
// the Worker), data in the test's directory.
#pragma once

#include <string>
#include <utility>

#include "worker/worker.h"

namespace wallet::testing {

inline WorkerOptions LoopbackWorkerOptions(std::string data_dir, int threads) {
  WorkerOptions options;
  options.commands_endpoint = "tcp://127.0.0.1:*";
  options.events_endpoint = "tcp://127.0.0.1:*";
  options.queries_endpoint = "tcp://127.0.0.1:*";
  options.data_dir = std::move(data_dir);
  options.threads = threads;
  return options;
}

}  // namespace wallet::testing
