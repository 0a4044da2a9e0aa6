#include "common/client.h"

#include "common/codec.h"

namespace wallet {
namespace {

ClientError TransportError(const zmq::error_t& e) {
  return {ClientError::Code::kTransport, e.what()};
}

// Must run before connect: the handshake uses what is set then.
void ApplySecurity(zmq::socket_t& socket, const ClientSecurity& security) {
  if (!security.enabled()) return;
  socket.set(zmq::sockopt::curve_serverkey, security.server_public_key);
  socket.set(zmq::sockopt::curve_publickey, security.client.public_key);
  socket.set(zmq::sockopt::curve_secretkey, security.client.secret_key);
}

}  // namespace

bool LoadClientSecurity(const std::string& server_key_file,
                        const std::string& client_key_file,
                        ClientSecurity& security, std::string& error) {
  CurveKeyPair server;
  CurveKeyPair client;
  if (!ReadCurveKeyFile(server_key_file, server, error) ||
      !ReadCurveKeyFile(client_key_file, client, error)) {
    return false;
  }
  if (client.secret_key.empty()) {
    error = client_key_file + " holds no secret-key (use the _secret file)";
    return false;
  }
  security.server_public_key = server.public_key;
  security.client = client;
  return true;
}

CommandSender::CommandSender(zmq::context_t& context, std::string_view endpoint,
                             int send_timeout_ms)
    : CommandSender(context, endpoint, ClientSecurity{}, send_timeout_ms) {}

CommandSender::CommandSender(zmq::context_t& context, std::string_view endpoint,
                             const ClientSecurity& security,
                             int send_timeout_ms)
    : socket_(context, zmq::socket_type::push) {
  ApplySecurity(socket_, security);
  socket_.set(zmq::sockopt::sndhwm, kSenderSendHwm);
  socket_.set(zmq::sockopt::sndtimeo, send_timeout_ms);
  // Commands still queued when the sender closes get this long to leave.
  socket_.set(zmq::sockopt::linger, 5000);
  socket_.connect(std::string(endpoint));
}

std::optional<ClientError> CommandSender::Send(const Command& command) {
  buffer_.clear();
  EncodeCommand(command, buffer_);
  return SendRaw(buffer_);
}

std::optional<ClientError> CommandSender::SendRaw(std::string_view frame) {
  try {
    if (!socket_.send(zmq::buffer(frame.data(), frame.size()))) {
      return ClientError{ClientError::Code::kTimeout,
                         "send timed out: the worker is not taking commands"};
    }
  } catch (const zmq::error_t& e) {
    return TransportError(e);
  }
  return std::nullopt;
}

EventSubscriber::EventSubscriber(zmq::context_t& context,
                                 std::string_view endpoint, int receive_hwm)
    : EventSubscriber(context, endpoint, ClientSecurity{}, receive_hwm) {}

EventSubscriber::EventSubscriber(zmq::context_t& context,
                                 std::string_view endpoint,
                                 const ClientSecurity& security,
                                 int receive_hwm)
    : socket_(context, zmq::socket_type::sub) {
  ApplySecurity(socket_, security);
  socket_.set(zmq::sockopt::rcvhwm, receive_hwm);
  socket_.connect(std::string(endpoint));
}

void EventSubscriber::SubscribeResults(std::string_view source) {
  socket_.set(zmq::sockopt::subscribe, source.empty()
                                           ? std::string(kResultTopicPrefix)
                                           : ResultTopic(source));
}

void EventSubscriber::SubscribeBalances(std::string_view user) {
  socket_.set(zmq::sockopt::subscribe, user.empty()
                                           ? std::string(kBalanceTopicPrefix)
                                           : BalanceTopic(user));
}

std::optional<Event> EventSubscriber::Receive(int timeout_ms,
                                              ClientError* error) {
  auto fail = [error](ClientError::Code code, std::string message) {
    if (error != nullptr) *error = {code, std::move(message)};
    return std::nullopt;
  };
  try {
    socket_.set(zmq::sockopt::rcvtimeo, timeout_ms);
    zmq::message_t topic;
    if (!socket_.recv(topic)) {
      return fail(ClientError::Code::kTimeout, "no event in time");
    }
    zmq::message_t payload;
    if (!topic.more() || !socket_.recv(payload) || payload.more()) {
      return fail(ClientError::Code::kMalformedReply,
                  "event is not two frames");
    }
    const std::string_view name = topic.to_string_view();
    if (name.starts_with(kResultTopicPrefix)) {
      Result result;
      if (DecodeResult(payload.to_string_view(), result)) return result;
    } else if (name.starts_with(kBalanceTopicPrefix)) {
      BalanceEvent event;
      if (DecodeBalanceEvent(payload.to_string_view(), event)) return event;
    }
    return fail(ClientError::Code::kMalformedReply,
                "undecodable event on topic " + std::string(name));
  } catch (const zmq::error_t& e) {
    if (error != nullptr) *error = TransportError(e);
    return std::nullopt;
  }
}

QueryClient::QueryClient(zmq::context_t& context, std::string_view endpoint,
                         int timeout_ms)
    : QueryClient(context, endpoint, ClientSecurity{}, timeout_ms) {}

QueryClient::QueryClient(zmq::context_t& context, std::string_view endpoint,
                         const ClientSecurity& security, int timeout_ms)
    : context_(context),
      endpoint_(endpoint),
      security_(security),
      timeout_ms_(timeout_ms) {
  Connect();
}

void QueryClient::Connect() {
  socket_.emplace(context_, zmq::socket_type::req);
  ApplySecurity(*socket_, security_);
  socket_->set(zmq::sockopt::rcvtimeo, timeout_ms_);
  socket_->set(zmq::sockopt::sndtimeo, timeout_ms_);
  socket_->set(zmq::sockopt::linger, 0);
  socket_->connect(endpoint_);
}

std::variant<std::string, ClientError> QueryClient::Request(
    std::string_view frame) {
  try {
    zmq::message_t reply;
    if (!socket_->send(zmq::buffer(frame.data(), frame.size())) ||
        !socket_->recv(reply)) {
      Connect();
      return ClientError{ClientError::Code::kTimeout,
                         "no reply from " + endpoint_};
    }
    return std::string(reply.to_string_view());
  } catch (const zmq::error_t& e) {
    Connect();
    return TransportError(e);
  }
}

namespace {

ClientError ReplyError(const std::string& error) {
  const auto code = error == "malformed_reply"
                        ? ClientError::Code::kMalformedReply
                        : ClientError::Code::kServerError;
  return ClientError{code, error};
}

}  // namespace

std::variant<HistoryReply, ClientError> QueryClient::History(
    const HistoryQuery& query) {
  std::string frame;
  EncodeHistoryQuery(query, frame);
  auto raw = Request(frame);
  if (auto* error = std::get_if<ClientError>(&raw)) return *error;
  HistoryReply reply;
  std::string error;
  if (!DecodeHistoryReply(std::get<std::string>(raw), reply, error)) {
    return ReplyError(error);
  }
  return reply;
}

std::variant<BalanceReply, ClientError> QueryClient::Balance(
    std::string_view user) {
  std::string frame;
  EncodeBalanceQuery(user, frame);
  auto raw = Request(frame);
  if (auto* error = std::get_if<ClientError>(&raw)) return *error;
  BalanceReply reply;
  std::string error;
  if (!DecodeBalanceReply(std::get<std::string>(raw), reply, error)) {
    return ReplyError(error);
  }
  return reply;
}

std::uint64_t VersionGapTracker::Observe(const BalanceEvent& event) {
  std::string account;
  account.reserve(event.user.size() + 1 + event.currency.size());
  account.append(event.user).append(1, '/').append(event.currency);
  auto [at, first] =
      last_version_.try_emplace(std::move(account), event.version);
  if (first) return 0;
  const std::uint64_t last = at->second;
  at->second = event.version;
  // A repeated version is no gap; an older one means the account started
  // over (a worker on a fresh data directory): it is the new baseline.
  if (event.version <= last) return 0;
  const std::uint64_t skipped = event.version - last - 1;
  missed_ += skipped;
  return skipped;
}

}  // namespace wallet
