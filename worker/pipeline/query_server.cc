#include "worker/pipeline/query_server.h"

#include "common/codec.h"
#include "common/log.h"

namespace wallet {
namespace {

constexpr int kPollIntervalMs = 100;

}  // namespace

QueryServer::QueryServer(zmq::socket_t socket, const Wallet& wallet,
                         Journal& journal, PipelineCounters& counters)
    : socket_(std::move(socket)),
      wallet_(wallet),
      journal_(journal),
      counters_(counters) {}

QueryServer::~QueryServer() { Stop(); }

void QueryServer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void QueryServer::Stop() {
  stopping_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

void QueryServer::Answer(std::string_view request, std::string& reply) {
  const Query query = DecodeQuery(request);
  if (const auto* error = std::get_if<std::string_view>(&query)) {
    counters_.query_errors.fetch_add(1, std::memory_order_relaxed);
    EncodeQueryError(*error, reply);
    return;
  }
  if (const auto* balance = std::get_if<BalanceQuery>(&query)) {
    std::uint64_t position = 0;
    const BalanceReply balances = wallet_.Read(balance->user, &position);
    if (WaitDurable(position, reply)) EncodeBalanceReply(balances, reply);
    return;
  }
  std::uint64_t position = 0;
  const HistoryReply history =
      wallet_.History(std::get<HistoryQuery>(query), &position);
  if (WaitDurable(position, reply)) EncodeHistoryReply(history, reply);
}

bool QueryServer::WaitDurable(std::uint64_t position, std::string& reply) {
  // What was just read may include changes still on their way to disk:
  // wait for the user's last record, usually durable long ago.
  if (journal_.WaitDurableSoon(position)) return true;
  counters_.query_errors.fetch_add(1, std::memory_order_relaxed);
  EncodeQueryError(kQueryErrorUnavailable, reply);
  return false;
}

void QueryServer::Run() {
  socket_.set(zmq::sockopt::rcvtimeo, kPollIntervalMs);
  std::string reply;
  zmq::message_t request;
  try {
    while (!stopping_.load(std::memory_order_acquire)) {
      if (!socket_.recv(request)) continue;
      // REP hands over one request, which may have several frames; only
      // a single-frame request is well-formed.
      bool multipart = false;
      while (request.more()) {
        multipart = true;
        (void)socket_.recv(request);
      }
      counters_.queries.fetch_add(1, std::memory_order_relaxed);
      reply.clear();
      if (multipart) {
        counters_.query_errors.fetch_add(1, std::memory_order_relaxed);
        EncodeQueryError(kQueryErrorMalformed, reply);
      } else {
        Answer(request.to_string_view(), reply);
      }
      socket_.send(zmq::buffer(reply), zmq::send_flags::none);
    }
  } catch (const zmq::error_t& e) {
    Log(LogLevel::kError, "query", "event=socket_error error=\"%s\"", e.what());
  }
  socket_.close();
}

}  // namespace wallet
