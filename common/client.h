// The client API a C++ game server links to talk to a wallet worker:
// push commands, subscribe to results and balance events, and query.
//
// Each client class owns exactly one ZeroMQ socket and must be used by one
// thread at a time; share the zmq::context_t between them. Errors come back
// as values; no method throws. VersionGapTracker owns no socket: it reads
// the balance events a subscriber received.
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "common/curve_keys.h"
#include "common/protocol.h"

namespace wallet {

// Where a worker listens by default (all three bind to loopback).
inline constexpr std::string_view kDefaultCommandsEndpoint =
    "tcp://127.0.0.1:5555";
inline constexpr std::string_view kDefaultEventsEndpoint =
    "tcp://127.0.0.1:5556";
inline constexpr std::string_view kDefaultQueriesEndpoint =
    "tcp://127.0.0.1:5557";

// Receive high-water mark for subscribers that must see every event. A
// PUB socket drops what a subscriber cannot take, so a client that counts
// results needs room for a whole burst.
inline constexpr int kSubscriberReceiveHwm = 4'000'000;
// Send high-water mark of a command sender: past it, Send blocks.
inline constexpr int kSenderSendHwm = 100'000;

// CURVE credentials of a client (docs/security.md). The default, empty,
// talks plain TCP to a worker that runs without keys on loopback.
struct ClientSecurity {
  std::string server_public_key;  // The worker's public key, Z85.
  CurveKeyPair client;            // This client's own pair.
  bool enabled() const { return !server_public_key.empty(); }
};

// Reads the worker's public key file and this client's secret key file
// (the `_secret` file `wallet-producer keygen` writes).
bool LoadClientSecurity(const std::string& server_key_file,
                        const std::string& client_key_file,
                        ClientSecurity& security, std::string& error);

// A failed client call: what went wrong, for a person to read.
struct ClientError {
  enum class Code { kTimeout, kTransport, kMalformedReply, kServerError };
  Code code;
  std::string message;
};

// Pushes commands to a worker's command socket (PUSH). Send blocks when
// the worker applies backpressure, up to `send_timeout_ms`.
class CommandSender {
 public:
  CommandSender(zmq::context_t& context, std::string_view endpoint,
                int send_timeout_ms = -1);
  CommandSender(zmq::context_t& context, std::string_view endpoint,
                const ClientSecurity& security, int send_timeout_ms = -1);

  // Sends one encoded command frame. Invalid commands are sent as they are:
  // the worker is the authority that rejects them.
  std::optional<ClientError> Send(const Command& command);
  std::optional<ClientError> SendRaw(std::string_view frame);

 private:
  zmq::socket_t socket_;
  std::string buffer_;
};

// One message from the events socket.
using Event = std::variant<Result, BalanceEvent>;

// Subscribes to results and balance events (SUB).
class EventSubscriber {
 public:
  EventSubscriber(zmq::context_t& context, std::string_view endpoint,
                  int receive_hwm = kSubscriberReceiveHwm);
  EventSubscriber(zmq::context_t& context, std::string_view endpoint,
                  const ClientSecurity& security,
                  int receive_hwm = kSubscriberReceiveHwm);

  // Topic prefixes: results of one source (all when empty), balance events
  // of one user (all when empty).
  void SubscribeResults(std::string_view source);
  void SubscribeBalances(std::string_view user);

  // Waits up to `timeout_ms` (-1: forever) for the next event. Returns
  // nullopt with `error` set on timeout or a message it cannot decode.
  std::optional<Event> Receive(int timeout_ms, ClientError* error = nullptr);

 private:
  zmq::socket_t socket_;
};

// Asks a worker's query socket (REQ). A timed-out request leaves the REQ
// socket mid-exchange, so the client reconnects before the next one.
class QueryClient {
 public:
  QueryClient(zmq::context_t& context, std::string_view endpoint,
              int timeout_ms = 5000);
  QueryClient(zmq::context_t& context, std::string_view endpoint,
              const ClientSecurity& security, int timeout_ms = 5000);

  std::variant<BalanceReply, ClientError> Balance(std::string_view user);
  // One page of the user's operations, newest first; pass the reply's
  // next_before as `before` for the next page.
  std::variant<HistoryReply, ClientError> History(const HistoryQuery& query);

  // Sends any frame and returns the raw reply; for tools and tests.
  std::variant<std::string, ClientError> Request(std::string_view frame);

 private:
  void Connect();

  zmq::context_t& context_;
  std::string endpoint_;
  ClientSecurity security_;
  int timeout_ms_;
  std::optional<zmq::socket_t> socket_;
};

// Notices balance events a subscriber never received. An account's
// version grows by exactly one per applied change, so a jump from 5 to 9
// means three events were lost: dropped at a high-water mark (a PUB socket
// drops what a slow subscriber cannot take, and cannot say so), or sent
// while the subscriber was disconnected. The first event of an account
// sets its baseline, and so does a version lower than the last (the
// account started over). Memory grows with the accounts seen, about 100
// bytes each: a subscriber to every balance of a million accounts holds
// about 100 MB here.
class VersionGapTracker {
 public:
  // How many versions of the event's account were skipped since the last
  // event of that account; 0 for the first one, or when none were.
  std::uint64_t Observe(const BalanceEvent& event);
  // Versions skipped over every account so far.
  std::uint64_t missed() const { return missed_; }

 private:
  // Last version seen, by user and currency joined with '/' (which
  // neither may contain).
  std::unordered_map<std::string, std::uint64_t> last_version_;
  std::uint64_t missed_ = 0;
};

}  // namespace wallet
