#include "worker/worker.h"

#include <cinttypes>

#include "common/log.h"

namespace wallet {
namespace {

// How long the events socket may keep flushing at stop.
constexpr int kEventsLingerMs = 5000;

std::string BoundEndpoint(zmq::socket_t& socket) {
  return socket.get(zmq::sockopt::last_endpoint);
}

}  // namespace

int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
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
  WalletOptions wallet_options;
  wallet_options.stripes = options.stripes;
  wallet_options.key_window_ms = options.key_window_ms;
  wallet_options.history_per_user = options.history_per_user;
  worker->wallet_ = std::make_unique<Wallet>(wallet_options);

  StoreOptions store_options;
  store_options.dir = options.data_dir;
  store_options.sync = options.sync;
  store_options.segment_bytes_max = options.segment_bytes_max;
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
  w.applier_ = std::make_unique<Applier>(
      *w.wallet_, w.store_->journal(), w.lanes_, w.publish_queue_, w.counters_);
  w.ingress_ = std::make_unique<Ingress>(std::move(w.commands_socket_),
                                         w.lanes_, w.counters_);
  w.query_server_ =
      std::make_unique<QueryServer>(std::move(w.queries_socket_), *w.wallet_,
                                    w.store_->journal(), w.counters_);
  w.publisher_->Start();
  w.applier_->Start();
  w.ingress_->Start();
  w.query_server_->Start();
  w.last_totals_ms_ = MonotonicMs();

  Log(LogLevel::kInfo, "worker",
      "event=start commands=%s events=%s queries=%s threads=%d "
      "data_dir=%s sync=%.*s key_window_ms=%" PRId64
      " history_per_user=%zu events_hwm=%d frame_bytes_max=%zu batch_max=%zu "
      "accounts=%zu "
      "keys=%zu",
      w.commands_bound_.c_str(), w.events_bound_.c_str(),
      w.queries_bound_.c_str(), threads, options.data_dir.c_str(),
      static_cast<int>(SyncModeName(options.sync).size()),
      SyncModeName(options.sync).data(), options.key_window_ms,
      options.history_per_user, options.events_hwm, kCommandFrameBytesMax,
      kCommandBatchMax, w.wallet_->account_count(), w.wallet_->key_count());
  return worker;
}

bool Worker::Bind(std::string& error) {
  const char* which = "commands";
  const std::string* endpoint = &options_.commands_endpoint;
  try {
    commands_socket_.set(zmq::sockopt::rcvhwm, kCommandsReceiveHwm);
    commands_socket_.set(zmq::sockopt::maxmsgsize,
                         static_cast<std::int64_t>(kCommandFrameBytesMax));
    commands_socket_.set(zmq::sockopt::linger, 0);
    commands_socket_.bind(*endpoint);
    commands_bound_ = BoundEndpoint(commands_socket_);

    which = "events";
    endpoint = &options_.events_endpoint;
    events_socket_.set(zmq::sockopt::sndhwm, options_.events_hwm);
    events_socket_.set(zmq::sockopt::linger, kEventsLingerMs);
    events_socket_.bind(*endpoint);
    events_bound_ = BoundEndpoint(events_socket_);

    which = "queries";
    endpoint = &options_.queries_endpoint;
    queries_socket_.set(zmq::sockopt::maxmsgsize,
                        static_cast<std::int64_t>(kCommandFrameBytesMax));
    queries_socket_.set(zmq::sockopt::linger, 0);
    queries_socket_.bind(*endpoint);
    queries_bound_ = BoundEndpoint(queries_socket_);
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
  Log(LogLevel::kInfo, "worker",
      "event=%s received=%" PRIu64 " applied=%" PRIu64 " duplicates=%" PRIu64
      " rejected=%" PRIu64 " conflicts=%" PRIu64 " dropped=%" PRIu64
      " published=%" PRIu64 " unacknowledged=%" PRIu64 " queries=%" PRIu64
      " received_per_s=%.0f applied_per_s=%.0f accounts=%zu keys=%zu",
      event, received, applied, counters_.duplicates.load(),
      counters_.rejected.load(), counters_.conflicts.load(),
      counters_.dropped.load(), counters_.published.load(),
      counters_.unacknowledged.load(), counters_.queries.load(),
      static_cast<double>(received - last_received_) / seconds,
      static_cast<double>(applied - last_applied_) / seconds,
      wallet_->account_count(), wallet_->key_count());
  last_totals_ms_ = now_ms;
  last_applied_ = applied;
  last_received_ = received;
}

bool Worker::Stop() {
  if (stopped_) return !store_->journal().failed();
  stopped_ = true;
  // Upstream first: each stage drains what it holds, then closes the
  // queue to the next one.
  ingress_->Stop();
  applier_->Join();
  publish_queue_.Close();
  publisher_->Join();
  query_server_->Stop();
  const bool failed = store_->journal().failed();
  const bool durable = store_->Close(/*final_snapshot=*/!failed);
  LogTotals("stop");
  context_.shutdown();
  return durable;
}

}  // namespace wallet
