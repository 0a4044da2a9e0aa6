// `send`: one command, retried until its result arrives.
//
// A SUB socket only receives what is published after its subscription
// reaches the worker, and nothing tells us when that happened (the slow
// joiner). So the command is re-sent every kResendIntervalMs until a
// result for its key arrives. That is safe because the key makes every
// re-send idempotent: the worker applies the first and answers the rest
// `duplicate` with the first application's balance and version.

#include <algorithm>
#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "common/client.h"
#include "common/log.h"
#include "common/validate.h"
#include "producer/commands.h"
#include "producer/event_format.h"
#include "producer/random_id.h"
#include "producer/stop_signal.h"

namespace wallet::producer {
namespace {

constexpr int kResendIntervalMs = 500;
// One send may block this long when the worker pushes back; the resend
// loop then tries again, so it stays well under the resend interval.
constexpr int kSendBlockMs = 200;
static_assert(kSendBlockMs < kResendIntervalMs);

constexpr CommandHelp kHelp = {
    "send",
    "--user U (--currency C --amount N | --legs LEGS) [flags]",
    "Sends one command (a credit, a spend, or with --legs a batch) and "
    "waits for its result, re-sending the "
    "identical command every 500 ms until the result arrives (safe: the "
    "key makes it idempotent). Prints the result as one line. Exit 0 when "
    "applied or duplicate, 1 when rejected, 3 on timeout. User, currency "
    "and amount are checked by the worker, so invalid values come back "
    "rejected.",
};

std::vector<Flag> SendFlags(SendOptions& options) {
  return {
      RequiredStringFlag("user", "U", "Wallet owner.", &options.user),
      StringFlag("currency", "C",
                 "Currency code, e.g. gold; required unless --legs.",
                 &options.currency),
      IntFlag("amount", "N",
              "Amount in minor units; the worker accepts 1..10^15; required "
              "unless --legs.",
              &options.amount_minor, INT64_MIN, INT64_MAX),
      StringFlag("op", "OP",
                 "Operation: topup, reward or spend; batch with --legs.",
                 &options.op),
      StringFlag("legs", "LEGS",
                 "A batch: comma-separated legs op:currency:amount[:user], "
                 "e.g. spend:gold:100,reward:gems:1,topup:gold:5:bob; "
                 "all apply or none.",
                 &options.legs),
      StringFlag("key", "K", "Idempotency key; re-use one to retry a command.",
                 &options.key, "a random UUID v4"),
      StringFlag("source", "S", "Source name; results are read from its topic.",
                 &options.source),
      StringFlag("ref", "R", "Free-text reference stored with the operation.",
                 &options.ref, "none"),
      IntFlag("timeout-ms", "MS", "Give up waiting for the result after this.",
              &options.timeout_ms, 1, 3'600'000),
      SwitchFlag("json", "Print the result as a JSON line.", &options.json),
  };
}

// Only what is needed to hear the answer is checked here; everything
// else is the worker's to reject.
// Parses --legs into `legs`, whose strings view `text`.
std::optional<std::string> ParseLegs(std::string_view text,
                                     std::string_view user,
                                     std::vector<Leg>& legs) {
  const std::string usage =
      "--legs takes op:currency:amount[:user] items separated by commas";
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? "" : text.substr(comma + 1);
    std::vector<std::string_view> parts;
    for (std::size_t colon = item.find(':'); colon != std::string_view::npos;
         colon = item.find(':')) {
      parts.push_back(item.substr(0, colon));
      item = item.substr(colon + 1);
    }
    parts.push_back(item);
    if (parts.size() < 3 || parts.size() > 4) return usage;
    const std::optional<Op> op = ParseOp(parts[0]);
    const std::optional<std::int64_t> amount = ParseInt64(parts[2]);
    if (!op || *op == Op::kBatch || !amount) return usage;
    legs.push_back(
        {*op, parts.size() == 4 ? parts[3] : user, parts[1], *amount});
  }
  if (legs.empty()) return usage;
  return std::nullopt;
}

std::optional<std::string> CheckOptions(SendOptions& options) {
  if (!options.legs.empty()) {
    if (options.op != "topup" && options.op != "batch") {
      return "--legs makes a batch; --op, if given, must be batch";
    }
    options.op = "batch";
  } else if (options.currency.empty() || options.amount_minor == 0) {
    return "--currency and --amount are required, or --legs for a batch";
  }
  if (!ParseOp(options.op)) return "--op must be topup, reward or spend";
  if (!options.key.empty() && !IsValidKey(options.key)) {
    return "--key must be 1..128 bytes of printable ASCII without spaces";
  }
  if (!IsValidSource(options.source)) {
    return "--source must be 1..64 bytes of [A-Za-z0-9._:@-]";
  }
  return std::nullopt;
}

Command MakeCommand(const SendOptions& options, const std::vector<Leg>& legs) {
  Command command;
  command.legs = legs;
  command.op = *ParseOp(options.op);
  command.key = options.key;
  command.user = options.user;
  command.currency = options.currency;
  command.amount_minor = options.amount_minor;
  command.source = options.source;
  command.ref = options.ref;
  return command;
}

struct SendTimeout {
  int attempts = 0;
};
using SendOutcome = std::variant<Result, SendTimeout, ClientError>;

// Waits up to `wait_ms` for the result with `key`, skipping other keys.
std::optional<Result> AwaitResult(EventSubscriber& subscriber,
                                  std::string_view key, std::int64_t wait_ms) {
  const std::int64_t deadline_ms = MonotonicMs() + wait_ms;
  for (std::int64_t left_ms = wait_ms; left_ms > 0;
       left_ms = deadline_ms - MonotonicMs()) {
    std::optional<Event> event = subscriber.Receive(static_cast<int>(left_ms));
    if (!event) continue;  // Timeout or an undecodable event.
    if (auto* result = std::get_if<Result>(&*event)) {
      if (result->key == key) return std::move(*result);
    }
  }
  return std::nullopt;
}

SendOutcome SendUntilAnswered(const ProgramContext& context,
                              const Command& command, std::int64_t timeout_ms) {
  EventSubscriber subscriber(context.zmq, context.global.events_endpoint,
                             context.security);
  subscriber.SubscribeResults(command.source);
  CommandSender sender(context.zmq, context.global.commands_endpoint,
                       context.security, kSendBlockMs);
  const std::int64_t deadline_ms = MonotonicMs() + timeout_ms;
  SendTimeout timeout;
  for (std::int64_t left_ms = timeout_ms; left_ms > 0;
       left_ms = deadline_ms - MonotonicMs()) {
    const std::optional<ClientError> error = sender.Send(command);
    if (error && error->code != ClientError::Code::kTimeout) return *error;
    if (!error) ++timeout.attempts;
    Log(LogLevel::kDebug, "send", "event=sent key=%.*s attempt=%d",
        static_cast<int>(command.key.size()), command.key.data(),
        timeout.attempts);
    const std::int64_t wait_ms =
        std::min<std::int64_t>(left_ms, kResendIntervalMs);
    if (auto result = AwaitResult(subscriber, command.key, wait_ms)) {
      return std::move(*result);
    }
    if (StopRequested()) break;
  }
  return timeout;
}

int ReportOutcome(const SendOutcome& outcome, const SendOptions& options) {
  if (const auto* error = std::get_if<ClientError>(&outcome)) {
    PrintError("send", error->message);
    return kExitFailure;
  }
  if (const auto* timeout = std::get_if<SendTimeout>(&outcome)) {
    PrintError("send", "no result for key " + options.key + " within " +
                           std::to_string(options.timeout_ms) + " ms (" +
                           std::to_string(timeout->attempts) + " sends)");
    return kExitTimeout;
  }
  const Result& result = std::get<Result>(outcome);
  const OutputStyle style =
      options.json ? OutputStyle::kJson : OutputStyle::kText;
  std::printf("%s\n", FormatResult(result, style).c_str());
  return result.outcome.status == Status::kRejected ? kExitFailure : kExitOk;
}

}  // namespace

int RunSend(const ProgramContext& context, std::span<char* const> args) {
  SendOptions options;
  const std::vector<Flag> flags = SendFlags(options);
  if (auto exit_code = ParseCommandFlags(kHelp, flags, args)) {
    return *exit_code;
  }
  if (auto error = CheckOptions(options)) return UsageError("send", *error);
  std::vector<Leg> legs;
  if (!options.legs.empty()) {
    if (auto error = ParseLegs(options.legs, options.user, legs)) {
      return UsageError("send", *error);
    }
  }
  if (options.key.empty()) options.key = RandomUuidV4();

  const Command command = MakeCommand(options, legs);
  return ReportOutcome(SendUntilAnswered(context, command, options.timeout_ms),
                       options);
}

}  // namespace wallet::producer
