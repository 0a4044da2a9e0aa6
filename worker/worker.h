// Worker: one wallet worker process's parts, assembled. It recovers the
// wallet from its data directory, binds the three sockets, and runs the
// pipeline:
//
//   ingress (PULL) -> apply threads -> journal (group commit)
//                                   -> publisher (PUB, after durability)
//   query server (REP) -> wallet reads
//
// Each socket is created and bound here, then handed to the one thread
// that uses it from then on.
#pragma once

#include <zmq.hpp>

#include <memory>
#include <string>

#include "common/client.h"
#include "worker/access_list.h"
#include "worker/core/wallet.h"
#include "worker/pipeline/applier.h"
#include "worker/pipeline/connection_guard.h"
#include "worker/pipeline/ingress.h"
#include "worker/pipeline/publisher.h"
#include "worker/pipeline/query_server.h"
#include "worker/storage/store.h"

namespace wallet {

// Every option of wallet-worker, with its default (`--help` prints them).
struct WorkerOptions {
  std::string commands_endpoint{kDefaultCommandsEndpoint};
  std::string events_endpoint{kDefaultEventsEndpoint};
  std::string queries_endpoint{kDefaultQueriesEndpoint};
  int threads = 0;  // Apply threads; 0 means one per core but one.
  std::string data_dir = "wallet-data";
  SyncMode sync = SyncMode::kAlways;
  // The journal takes a group of records at most once per this many
  // microseconds (0: as soon as the previous group is durable).
  std::int64_t group_commit_us = kGroupCommitUsDefault;
  std::int64_t key_window_ms = 24LL * 3600 * 1000;
  // Operations kept per user for history queries; older ones are dropped.
  std::size_t history_per_user = 32;
  std::uint64_t snapshot_every_bytes = 256ULL << 20;
  std::uint64_t segment_bytes_max = 64ULL << 20;
  // Send high-water mark of the events socket, per subscriber, in
  // messages; past it that subscriber loses events.
  int events_hwm = 1'000'000;
  std::size_t stripes = 1024;
  std::int64_t stats_interval_ms = 10'000;
  // Access control (docs/security.md). With `curve_key_file` (the
  // worker's secret key file) every socket speaks CURVE and lets in only
  // the clients of `clients_file`. Without it, every endpoint must be a
  // loopback one unless `insecure` is set.
  std::string curve_key_file;
  std::string clients_file;
  bool insecure = false;
};

class Worker {
 public:
  // Recovers, binds and starts every thread. Null with `error` on failure.
  static std::unique_ptr<Worker> Start(const WorkerOptions& options,
                                       std::string& error);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // The endpoints as bound (a "tcp://127.0.0.1:*" option becomes the port
  // the system chose).
  const std::string& commands_endpoint() const { return commands_bound_; }
  const std::string& events_endpoint() const { return events_bound_; }
  const std::string& queries_endpoint() const { return queries_bound_; }

  // Periodic duties: expire keys, log totals if the interval has passed.
  void Tick();
  // Stops taking commands, applies and publishes what was received, takes
  // a final snapshot, and stops every thread. Returns false if anything
  // could not be made durable.
  bool Stop();

  bool storage_failed() { return store_->journal().failed(); }
  bool guard_failed() const { return guard_->failed(); }
  const PipelineCounters& counters() const { return counters_; }
  const Wallet& wallet() const { return *wallet_; }

 private:
  explicit Worker(const WorkerOptions& options);
  bool LoadAccess(std::string& error);
  bool Bind(std::string& error);
  void BindOne(zmq::socket_t& socket, SocketRole role,
               const std::string& endpoint, std::string& bound);
  void LogTotals(const char* event);

  const WorkerOptions options_;
  zmq::context_t context_;
  // Null when CURVE is off. Fixed after Start.
  std::unique_ptr<AccessList> access_;
  CurveKeyPair server_key_;
  std::unique_ptr<Wallet> wallet_;
  std::unique_ptr<Store> store_;
  PipelineCounters counters_;
  CommandLanes lanes_;  // One per apply thread.
  BoundedQueue<EventBatch> publish_queue_{kPublishQueueBatches};

  // Bound in Bind, then moved into their threads' owners.
  zmq::socket_t commands_socket_;
  zmq::socket_t events_socket_;
  zmq::socket_t queries_socket_;
  std::string commands_bound_, events_bound_, queries_bound_;

  std::unique_ptr<ConnectionGuard> guard_;
  std::unique_ptr<Ingress> ingress_;
  std::unique_ptr<Applier> applier_;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<QueryServer> query_server_;

  bool stopped_ = false;
  std::int64_t last_totals_ms_ = 0;
  std::uint64_t last_applied_ = 0;
  std::uint64_t last_received_ = 0;
  std::uint64_t last_records_ = 0;
  std::uint64_t last_syncs_ = 0;
};

// Apply threads to run for `requested` (0: one per core but one, at
// least one, at most 64).
int ResolveThreads(int requested);

// Whether a ZeroMQ endpoint can only be reached from this machine:
// tcp:// on 127.0.0.0/8, ::1, localhost or lo, and ipc:// and inproc://.
bool IsLoopbackEndpoint(std::string_view endpoint);

}  // namespace wallet
