// ConnectionGuard: the thread that owns the worker's ZAP socket and the
// monitor sockets of the command, events and query sockets.
//
// With CURVE on, libzmq asks the ZAP socket about every handshake; the
// guard answers from the AccessList: a key that is not listed, or that has
// no right on that socket, is refused before the client can send or read
// anything. An accepted client's name travels with each of its messages as
// the ZAP User-Id, which the apply threads check `source` against.
//
// Always, it counts what the monitors report: connections accepted and
// closed, and handshakes that failed (a client without CURVE, a bad
// greeting). libzmq closes a connection that sends a frame over
// ZMQ_MAXMSGSIZE without saying why, so such a frame shows up as a closed
// connection and nowhere else.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "worker/access_list.h"
#include "worker/pipeline/batches.h"

namespace wallet {

class ConnectionGuard {
 public:
  // With `access`, binds the context's ZAP endpoint at once: it must exist
  // before a CURVE socket binds, or libzmq would let every key in.
  // Throws zmq::error_t if it cannot bind.
  ConnectionGuard(zmq::context_t& context, const AccessList* access,
                  PipelineCounters& counters);
  ~ConnectionGuard();
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;

  // Starts monitoring `socket`, which must not be bound yet. Before Start.
  // Throws zmq::error_t on failure.
  void Watch(zmq::socket_t& socket, SocketRole role);

  void Start();
  // Call after the watched sockets are closed.
  void Stop();
  // The thread ended on a socket error. Handshakes could then go
  // unchecked, so the worker stops.
  bool failed() const { return failed_.load(std::memory_order_acquire); }

 private:
  struct Monitor {
    SocketRole role;
    zmq::socket_t socket;  // PAIR, connected to libzmq's monitor endpoint.
  };

  void Run();
  void AnswerZap();
  // Decides one request; fills the reply's status and user id.
  void Decide(const std::vector<zmq::message_t>& request,
              std::string& status_code, std::string& status_text,
              std::string& user_id);
  void ReadMonitor(Monitor& monitor);

  zmq::context_t& context_;
  const AccessList* const access_;  // Null: CURVE is off, no ZAP socket.
  PipelineCounters& counters_;
  // Owned by the guard thread once started.
  zmq::socket_t zap_;
  std::vector<Monitor> monitors_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> failed_{false};
  std::thread thread_;
};

}  // namespace wallet
