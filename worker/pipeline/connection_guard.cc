#include "worker/pipeline/connection_guard.h"

#include <zmq.h>

#include <array>
#include <cstring>

#include "common/curve_keys.h"
#include "common/log.h"

namespace wallet {
namespace {

// Where libzmq looks for the ZAP handler of a context (RFC 27).
constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr std::string_view kZapVersion = "1.0";
// version, request id, domain, address, routing id, mechanism, key.
constexpr std::size_t kZapCurveFrames = 7;
constexpr std::size_t kCurveKeyBytes = 32;

constexpr int kPollIntervalMs = 100;
constexpr int kMonitorEvents = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_MONITOR_STOPPED;
// A monitor event's first frame: 16-bit event, 32-bit value.
constexpr std::size_t kMonitorEventBytes = 6;

RateLimiter g_refused_log(1000);
RateLimiter g_handshake_log(1000);

std::string MonitorEndpoint(SocketRole role) {
  return "inproc://wallet-monitor-" + std::string(SocketRoleName(role));
}

bool RoleOfDomain(std::string_view domain, SocketRole& role) {
  for (SocketRole r :
       {SocketRole::kCommands, SocketRole::kEvents, SocketRole::kQueries}) {
    if (domain == SocketRoleName(r)) {
      role = r;
      return true;
    }
  }
  return false;
}

std::string KeyZ85(const zmq::message_t& key) {
  std::array<char, kCurveKeyZ85Chars + 1> text{};
  if (key.size() != kCurveKeyBytes ||
      zmq_z85_encode(text.data(), key.data<std::uint8_t>(), key.size()) ==
          nullptr) {
    return {};
  }
  return text.data();
}

}  // namespace

ConnectionGuard::ConnectionGuard(zmq::context_t& context,
                                 const AccessList* access,
                                 PipelineCounters& counters)
    : context_(context), access_(access), counters_(counters) {
  if (access_ == nullptr) return;
  zap_ = zmq::socket_t(context_, zmq::socket_type::rep);
  zap_.set(zmq::sockopt::linger, 0);
  zap_.bind(kZapEndpoint);
}

ConnectionGuard::~ConnectionGuard() { Stop(); }

void ConnectionGuard::Watch(zmq::socket_t& socket, SocketRole role) {
  const std::string endpoint = MonitorEndpoint(role);
  if (zmq_socket_monitor(socket.handle(), endpoint.c_str(), kMonitorEvents) !=
      0) {
    throw zmq::error_t();
  }
  Monitor monitor{role, zmq::socket_t(context_, zmq::socket_type::pair)};
  monitor.socket.set(zmq::sockopt::linger, 0);
  monitor.socket.connect(endpoint);
  monitors_.push_back(std::move(monitor));
}

void ConnectionGuard::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ConnectionGuard::Stop() {
  stopping_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

void ConnectionGuard::Decide(const std::vector<zmq::message_t>& request,
                             std::string& status_code, std::string& status_text,
                             std::string& user_id) {
  status_code = "400";
  SocketRole role = SocketRole::kCommands;
  if (request.size() != kZapCurveFrames ||
      request[5].to_string_view() != "CURVE" ||
      !RoleOfDomain(request[2].to_string_view(), role)) {
    status_text = "only CURVE clients are served";
    return;
  }
  const std::string key = KeyZ85(request[6]);
  const ClientRights* client = access_->FindByKey(key);
  if (client != nullptr && client->MayUse(role)) {
    status_code = "200";
    status_text = "OK";
    user_id = client->name;
    return;
  }
  status_text = client == nullptr ? "unknown key" : "no right on this socket";
  counters_.auth_refused.fetch_add(1, std::memory_order_relaxed);
  std::uint64_t suppressed = 0;
  if (g_refused_log.Allow(suppressed)) {
    Log(LogLevel::kWarn, "guard",
        "event=handshake_refused socket=%.*s address=%s reason=%s "
        "client=%s key=%s suppressed=%lu",
        static_cast<int>(SocketRoleName(role).size()),
        SocketRoleName(role).data(), request[3].to_string().c_str(),
        client == nullptr ? "unknown_key" : "no_right",
        client == nullptr ? "-" : client->name.c_str(), key.c_str(),
        static_cast<unsigned long>(suppressed));
  }
}

void ConnectionGuard::AnswerZap() {
  std::vector<zmq::message_t> request;
  zmq::message_t frame;
  do {
    if (!zap_.recv(frame, zmq::recv_flags::dontwait)) return;
    request.push_back(std::move(frame));
  } while (request.back().more());

  std::string status_code, status_text, user_id;
  Decide(request, status_code, status_text, user_id);
  const std::string_view request_id =
      request.size() > 1 ? request[1].to_string_view() : std::string_view{};
  zap_.send(zmq::buffer(kZapVersion), zmq::send_flags::sndmore);
  zap_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
  zap_.send(zmq::buffer(status_code), zmq::send_flags::sndmore);
  zap_.send(zmq::buffer(status_text), zmq::send_flags::sndmore);
  zap_.send(zmq::buffer(user_id), zmq::send_flags::sndmore);
  zap_.send(zmq::const_buffer(), zmq::send_flags::none);
}

void ConnectionGuard::ReadMonitor(Monitor& monitor) {
  zmq::message_t event;
  zmq::message_t address;
  if (!monitor.socket.recv(event, zmq::recv_flags::dontwait)) return;
  if (event.more()) (void)monitor.socket.recv(address);
  if (event.size() < kMonitorEventBytes) return;
  std::uint16_t id = 0;
  std::memcpy(&id, event.data(), sizeof id);
  switch (id) {
    case ZMQ_EVENT_ACCEPTED:
      counters_.connections.fetch_add(1, std::memory_order_relaxed);
      break;
    case ZMQ_EVENT_DISCONNECTED:
      counters_.disconnects.fetch_add(1, std::memory_order_relaxed);
      break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: {
      counters_.handshake_failures.fetch_add(1, std::memory_order_relaxed);
      std::uint64_t suppressed = 0;
      if (g_handshake_log.Allow(suppressed)) {
        const std::string_view role = SocketRoleName(monitor.role);
        Log(LogLevel::kWarn, "guard",
            "event=handshake_failed socket=%.*s endpoint=%s suppressed=%lu",
            static_cast<int>(role.size()), role.data(),
            address.to_string().c_str(),
            static_cast<unsigned long>(suppressed));
      }
      break;
    }
    default:
      break;
  }
}

void ConnectionGuard::Run() {
  std::vector<zmq::pollitem_t> items;
  if (access_ != nullptr) items.push_back({zap_.handle(), 0, ZMQ_POLLIN, 0});
  for (Monitor& monitor : monitors_) {
    items.push_back({monitor.socket.handle(), 0, ZMQ_POLLIN, 0});
  }
  const std::size_t first_monitor = access_ != nullptr ? 1 : 0;
  try {
    while (!stopping_.load(std::memory_order_acquire)) {
      zmq::poll(items, std::chrono::milliseconds(kPollIntervalMs));
      if (access_ != nullptr && (items[0].revents & ZMQ_POLLIN) != 0) {
        AnswerZap();
      }
      for (std::size_t i = 0; i < monitors_.size(); ++i) {
        if ((items[first_monitor + i].revents & ZMQ_POLLIN) != 0) {
          ReadMonitor(monitors_[i]);
        }
      }
    }
  } catch (const zmq::error_t& e) {
    Log(LogLevel::kError, "guard", "event=socket_error error=\"%s\"", e.what());
    failed_.store(true, std::memory_order_release);
  }
  for (Monitor& monitor : monitors_) monitor.socket.close();
  if (access_ != nullptr) zap_.close();
}

}  // namespace wallet
