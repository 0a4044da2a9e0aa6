#include "worker/worker.h"

#include <algorithm>
#include <cinttypes>

#include "common/log.h"

namespace wallet {
namespace {

// How long the events socket may keep flushing at stop.
constexpr int kEventsLingerMs = 5000;

std::string BoundEndpoint(zmq::socket_t& socket) {
  return socket.get(zmq::sockopt::last_endpoint);
}

// The host part of "tcp://HOST:PORT", without IPv6 brackets.
std::string_view TcpHost(std::string_view endpoint) {
  endpoint.remove_prefix(std::string_view("tcp://").size());
  const std::size_t colon = endpoint.rfind(':');
  std::string_view host = endpoint.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

}  // namespace

bool IsLoopbackEndpoint(std::string_view endpoint) {
  if (endpoint.starts_with("ipc://") || endpoint.starts_with("inproc://")) {
    return true;
  }
  if (!endpoint.starts_with("tcp://")) return false;
  const std::string_view host = TcpHost(endpoint);
  return host.starts_with("127.") || host == "::1" || host == "localhost" ||
         host == "lo";
}

int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  // One core is left to ingress, the publisher, the journal writer and
  // libzmq's I/O thread: on two cores one apply thread did 449-499k
  // commands/s against 432-434k for two (bench/README.md).
  const unsigned cores = std::thread::hardware_concurrency();
  return cores <= 1 ? 1 : static_cast<int>(std::min(cores - 1, 64U));
}

Worker::Worker(const WorkerOptions& options)
    : options_(options),
      context_(1),
      commands_socket_(context_, zmq::socket_type::pull),
      events_socket_(context_, zmq::socket_type::pub),
      queries_socket_(context_, zmq::socket_type::rep) {}

std::unique_ptr<Worker> Worker::Start(const WorkerOptions& options,
                                      std::string& error) {
  std::unique_ptr<Worker> worker(new Worker(options));
  if (!worker->LoadAccess(error)) return nullptr;
  WalletOptions wallet_options;
  wallet_options.stripes = options.stripes;
  wallet_options.key_window_ms = options.key_window_ms;
  wallet_options.history_per_user = options.history_per_user;
  worker->wallet_ = std::make_unique<Wallet>(wallet_options);

  StoreOptions store_options;
  store_options.dir = options.data_dir;
  store_options.sync = options.sync;
  store_options.segment_bytes_max = options.segment_bytes_max;
  store_options.group_commit_us = options.group_commit_us;
  store_options.snapshot_every_bytes = options.snapshot_every_bytes;
  worker->store_ = Store::Open(store_options, *worker->wallet_, error);
  if (worker->store_ == nullptr) return nullptr;
  if (!worker->Bind(error)) {
    worker->store_->Close(false);
    return nullptr;
  }

  Worker& w = *worker;
  const int threads = ResolveThreads(options.threads);
  for (int i = 0; i < threads; ++i) w.lanes_.emplace_back(kLaneQueueBatches);
  w.publisher_ = std::make_unique<Publisher>(std::move(w.events_socket_),
                                             w.store_->journal(),
                                             w.publish_queue_, w.counters_);
  w.applier_ = std::make_unique<Applier>(*w.wallet_, w.store_->journal(),
                                         w.access_.get(), w.lanes_,
                                         w.publish_queue_, w.counters_);
  w.ingress_ = std::make_unique<Ingress>(std::move(w.commands_socket_),
                                         w.lanes_, w.counters_);
  w.query_server_ =
      std::make_unique<QueryServer>(std::move(w.queries_socket_), *w.wallet_,
                                    w.store_->journal(), w.counters_);
  w.guard_->Start();
  w.publisher_->Start();
  w.applier_->Start();
  w.ingress_->Start();
  w.query_server_->Start();
  w.last_totals_ms_ = MonotonicMs();

  Log(LogLevel::kInfo, "worker",
      "event=start commands=%s events=%s queries=%s threads=%d "
      "data_dir=%s sync=%.*s group_commit_us=%" PRId64 " key_window_ms=%" PRId64
      " history_per_user=%zu events_hwm=%d frame_bytes_max=%zu batch_max=%zu "
      "security=%s clients=%zu accounts=%zu keys=%zu",
      w.commands_bound_.c_str(), w.events_bound_.c_str(),
      w.queries_bound_.c_str(), threads, options.data_dir.c_str(),
      static_cast<int>(SyncModeName(options.sync).size()),
      SyncModeName(options.sync).data(), options.group_commit_us,
      options.key_window_ms, options.history_per_user, options.events_hwm,
      kCommandFrameBytesMax, kCommandBatchMax,
      w.access_             ? "curve"
      : w.options_.insecure ? "none_insecure"
                            : "none_loopback_only",
      w.access_ ? w.access_->size() : 0, w.wallet_->account_count(),
      w.wallet_->key_count());
  if (!w.access_ && options.insecure) {
    Log(LogLevel::kWarn, "worker",
        "event=insecure detail=\"no CURVE keys: anyone who reaches these "
        "endpoints can credit wallets and read them\"");
  }
  return worker;
}

bool Worker::LoadAccess(std::string& error) {
  const WorkerOptions& o = options_;
  if (o.curve_key_file.empty() != o.clients_file.empty()) {
    error =
        "--curve-key and --clients go together: the worker's secret "
        "key file and the clients it lets in";
    return false;
  }
  if (o.curve_key_file.empty()) {
    if (o.insecure) return true;
    for (const std::string* endpoint :
         {&o.commands_endpoint, &o.events_endpoint, &o.queries_endpoint}) {
      if (!IsLoopbackEndpoint(*endpoint)) {
        error = *endpoint +
                " is not a loopback endpoint: without --curve-key anyone "
                "who reaches it could credit wallets (give CURVE keys, or "
                "--insecure to bind it anyway)";
        return false;
      }
    }
    return true;
  }
  if (!ReadCurveKeyFile(o.curve_key_file, server_key_, error)) return false;
  if (server_key_.secret_key.empty()) {
    error = o.curve_key_file + " holds no secret-key (use the _secret file)";
    return false;
  }
  access_ = AccessList::Load(o.clients_file, error);
  return access_ != nullptr;
}

// Sets the options every socket shares, starts its monitor, and binds.
void Worker::BindOne(zmq::socket_t& socket, SocketRole role,
                     const std::string& endpoint, std::string& bound) {
  if (access_) {
    socket.set(zmq::sockopt::curve_server, true);
    socket.set(zmq::sockopt::curve_secretkey, server_key_.secret_key);
    socket.set(zmq::sockopt::zap_domain, std::string(SocketRoleName(role)));
  }
  guard_->Watch(socket, role);
  socket.bind(endpoint);
  bound = BoundEndpoint(socket);
}

bool Worker::Bind(std::string& error) {
  try {
    // Before any CURVE socket binds: see ConnectionGuard.
    guard_ =
        std::make_unique<ConnectionGuard>(context_, access_.get(), counters_);
  } catch (const zmq::error_t& e) {
    error = std::string("cannot start the ZAP handler: ") + e.what();
    return false;
  }
  const char* which = "commands";
  const std::string* endpoint = &options_.commands_endpoint;
  try {
    commands_socket_.set(zmq::sockopt::rcvhwm, kCommandsReceiveHwm);
    commands_socket_.set(zmq::sockopt::maxmsgsize,
                         static_cast<std::int64_t>(kCommandFrameBytesMax));
    commands_socket_.set(zmq::sockopt::linger, 0);
    BindOne(commands_socket_, SocketRole::kCommands, *endpoint,
            commands_bound_);

    which = "events";
    endpoint = &options_.events_endpoint;
    events_socket_.set(zmq::sockopt::sndhwm, options_.events_hwm);
    events_socket_.set(zmq::sockopt::linger, kEventsLingerMs);
    BindOne(events_socket_, SocketRole::kEvents, *endpoint, events_bound_);

    which = "queries";
    endpoint = &options_.queries_endpoint;
    queries_socket_.set(zmq::sockopt::maxmsgsize,
                        static_cast<std::int64_t>(kCommandFrameBytesMax));
    queries_socket_.set(zmq::sockopt::linger, 0);
    BindOne(queries_socket_, SocketRole::kQueries, *endpoint, queries_bound_);
  } catch (const zmq::error_t& e) {
    error = std::string("cannot bind the ") + which + " socket to " +
            *endpoint + ": " + e.what();
    return false;
  }
  return true;
}

Worker::~Worker() { Stop(); }

void Worker::Tick() {
  const std::size_t expired = wallet_->ExpireKeys(WallClockMs());
  if (expired > 0) {
    Log(LogLevel::kDebug, "worker", "event=keys_expired count=%zu", expired);
  }
  if (MonotonicMs() - last_totals_ms_ >= options_.stats_interval_ms) {
    LogTotals("totals");
  }
}

void Worker::LogTotals(const char* event) {
  const std::int64_t now_ms = MonotonicMs();
  const double seconds =
      static_cast<double>(std::max<std::int64_t>(1, now_ms - last_totals_ms_)) /
      1000.0;
  const std::uint64_t applied = counters_.applied.load();
  const std::uint64_t received = counters_.received.load();
  // Group commit at work: how many records each fdatasync covered since
  // the previous line.
  const JournalStats journal = store_->journal().stats();
  const std::uint64_t syncs = journal.syncs - last_syncs_;
  Log(LogLevel::kInfo, "worker",
      "event=%s received=%" PRIu64 " applied=%" PRIu64 " duplicates=%" PRIu64
      " rejected=%" PRIu64 " conflicts=%" PRIu64 " dropped=%" PRIu64
      " published=%" PRIu64 " unacknowledged=%" PRIu64 " queries=%" PRIu64
      " forbidden=%" PRIu64 " auth_refused=%" PRIu64 " connections=%" PRIu64
      " disconnects=%" PRIu64 " handshake_failures=%" PRIu64
      " received_per_s=%.0f applied_per_s=%.0f accounts=%zu keys=%zu"
      " journal_records=%" PRIu64 " journal_syncs=%" PRIu64
      " records_per_sync=%.1f",
      event, received, applied, counters_.duplicates.load(),
      counters_.rejected.load(), counters_.conflicts.load(),
      counters_.dropped.load(), counters_.published.load(),
      counters_.unacknowledged.load(), counters_.queries.load(),
      counters_.forbidden.load(), counters_.auth_refused.load(),
      counters_.connections.load(), counters_.disconnects.load(),
      counters_.handshake_failures.load(),
      static_cast<double>(received - last_received_) / seconds,
      static_cast<double>(applied - last_applied_) / seconds,
      wallet_->account_count(), wallet_->key_count(), journal.records,
      journal.syncs,
      syncs > 0 ? static_cast<double>(journal.records - last_records_) /
                      static_cast<double>(syncs)
                : 0.0);
  last_totals_ms_ = now_ms;
  last_records_ = journal.records;
  last_syncs_ = journal.syncs;
  last_applied_ = applied;
  last_received_ = received;
}

bool Worker::Stop() {
  if (ingress_ == nullptr) return false;  // Start failed: nothing runs.
  if (stopped_) return !store_->journal().failed();
  stopped_ = true;
  // Upstream first: each stage drains what it holds, then closes the
  // queue to the next one.
  ingress_->Stop();
  applier_->Join();
  publish_queue_.Close();
  publisher_->Join();
  query_server_->Stop();
  guard_->Stop();
  const bool failed = store_->journal().failed();
  const bool durable = store_->Close(/*final_snapshot=*/!failed);
  LogTotals("stop");
  context_.shutdown();
  return durable;
}

}  // namespace wallet
