// Helpers shared by the tests that use real files and real sockets:
// temporary directories, free loopback ports, bounded waits, and a
// subscriber that is known to be live before a test starts sending.
#pragma once

#include <gtest/gtest.h>
#include <zmq.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "common/client.h"
#include "common/codec.h"

namespace wallet::testing {

// A fresh directory under the system's temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "wallet-test-XXXXXX")
            .string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Waits up to `timeout` for `done` to hold, polling; returns whether it
// did. For waiting on an event, never for asserting speed.
inline bool WaitUntil(const std::function<bool()>& done,
                      std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A loopback port that was free a moment ago (the kernel picks it).
inline int FreeLoopbackPort() {
  zmq::context_t context;
  zmq::socket_t probe(context, zmq::socket_type::pull);
  probe.set(zmq::sockopt::linger, 0);
  probe.bind("tcp://127.0.0.1:*");
  const std::string endpoint = probe.get(zmq::sockopt::last_endpoint);
  return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
}

// Sends a command that changes nothing (amount 0 is invalid) under
// `probe_key` until its result arrives: after that, the subscriber is
// known to receive everything the worker publishes for `source`.
inline bool WaitForLiveSubscription(CommandSender& sender,
                                    EventSubscriber& subscriber,
                                    std::string_view source,
                                    std::string_view probe_key) {
  Command probe;
  probe.key = probe_key;
  probe.user = "probe";
  probe.currency = "probe";
  probe.amount_minor = 0;
  probe.source = source;
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (sender.Send(probe)) return false;
    while (std::optional<Event> event = subscriber.Receive(100)) {
      const Result* result = std::get_if<Result>(&*event);
      if (result != nullptr && result->key == probe_key) return true;
    }
  }
  return false;
}

}  // namespace wallet::testing
