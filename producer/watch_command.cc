// `watch`: prints events from the worker's PUB socket as they arrive.

#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "common/client.h"
#include "common/log.h"
#include "producer/commands.h"
#include "producer/event_format.h"
#include "producer/stop_signal.h"

namespace wallet::producer {
namespace {

// How often the receive loop wakes to notice SIGINT.
constexpr int kStopPollMs = 200;
// Undecodable events are reported at most once per this interval.
constexpr std::int64_t kBadEventLogIntervalMs = 1000;
// Version gaps (lost balance events) likewise.
constexpr std::int64_t kGapLogIntervalMs = 1000;

constexpr CommandHelp kHelp = {
    "watch",
    "[--results [SOURCE]] [--balances [USER]] [flags]",
    "Subscribes to the worker's events and prints one line per event, as "
    "key=value text or as JSON lines. Without --results or --balances it "
    "subscribes to every result and every balance event. Balance events "
    "it never received (a version gap: dropped at its high-water mark, or "
    "sent while disconnected) are reported on stderr, and their total at "
    "the end. Stops after --count events, or on SIGINT.",
};

std::vector<Flag> WatchFlags(WatchOptions& options) {
  return {
      OptionalValueFlag("results", "SOURCE",
                        "Print results: of SOURCE, or of every source when "
                        "no value is given.",
                        &options.results,
                        "every source, unless --balances alone is given"),
      OptionalValueFlag("balances", "USER",
                        "Print balance events: of USER, or of every user "
                        "when no value is given.",
                        &options.balances,
                        "every user, unless --results alone is given"),
      SwitchFlag("json", "Print JSON lines instead of text.", &options.json),
      IntFlag("count", "N", "Stop after N events; 0 means never.",
              &options.count, 0, INT64_MAX),
  };
}

void Subscribe(EventSubscriber& subscriber, WatchOptions options) {
  if (!options.results && !options.balances) {
    options.results = "";
    options.balances = "";
  }
  if (options.results) subscriber.SubscribeResults(*options.results);
  if (options.balances) subscriber.SubscribeBalances(*options.balances);
}

std::string FormatEvent(const Event& event, OutputStyle style) {
  if (const auto* result = std::get_if<Result>(&event)) {
    return FormatResult(*result, style);
  }
  return FormatBalanceEvent(std::get<BalanceEvent>(event), style);
}

// A receive that failed: a timeout is the normal idle case; a transport
// error while a stop is pending is the signal interrupting the wait.
bool IsFatal(const ClientError& error) {
  return error.code == ClientError::Code::kTransport && !StopRequested();
}

void ReportBadEvent(const ClientError& error, RateLimiter& limiter) {
  std::uint64_t suppressed = 0;
  if (limiter.Allow(suppressed)) {
    Log(LogLevel::kWarn, "watch",
        "event=bad_event error=\"%s\" suppressed=%llu", error.message.c_str(),
        static_cast<unsigned long long>(suppressed));
  }
}

// Counts the versions a balance event skipped; reports gaps on stderr.
void CheckGap(const Event& event, VersionGapTracker& gaps,
              RateLimiter& limiter) {
  const auto* balance = std::get_if<BalanceEvent>(&event);
  if (balance == nullptr) return;
  const std::uint64_t skipped = gaps.Observe(*balance);
  std::uint64_t suppressed = 0;
  if (skipped == 0 || !limiter.Allow(suppressed)) return;
  Log(LogLevel::kWarn, "watch",
      "event=gap user=%s currency=%s version=%llu missed=%llu "
      "missed_total=%llu suppressed=%llu",
      balance->user.c_str(), balance->currency.c_str(),
      static_cast<unsigned long long>(balance->version),
      static_cast<unsigned long long>(skipped),
      static_cast<unsigned long long>(gaps.missed()),
      static_cast<unsigned long long>(suppressed));
}

}  // namespace

int RunWatch(const ProgramContext& context, std::span<char* const> args) {
  WatchOptions options;
  const std::vector<Flag> flags = WatchFlags(options);
  if (auto exit_code = ParseCommandFlags(kHelp, flags, args)) {
    return *exit_code;
  }
  EventSubscriber subscriber(context.zmq, context.global.events_endpoint,
                             context.security);
  Subscribe(subscriber, options);
  const OutputStyle style =
      options.json ? OutputStyle::kJson : OutputStyle::kText;
  RateLimiter bad_event_limiter(kBadEventLogIntervalMs);
  RateLimiter gap_limiter(kGapLogIntervalMs);
  VersionGapTracker gaps;

  std::int64_t printed = 0;
  while (!StopRequested() && (options.count == 0 || printed < options.count)) {
    ClientError error{ClientError::Code::kTimeout, ""};
    const std::optional<Event> event = subscriber.Receive(kStopPollMs, &error);
    if (event) {
      // Flushed per line so that a pipe sees each event as it happens.
      std::printf("%s\n", FormatEvent(*event, style).c_str());
      std::fflush(stdout);
      ++printed;
      CheckGap(*event, gaps, gap_limiter);
    } else if (IsFatal(error)) {
      PrintError("watch", error.message);
      return kExitFailure;
    } else if (error.code == ClientError::Code::kMalformedReply) {
      ReportBadEvent(error, bad_event_limiter);
    }
  }
  if (gaps.missed() > 0) {
    Log(LogLevel::kWarn, "watch", "event=end events=%lld missed=%llu",
        static_cast<long long>(printed),
        static_cast<unsigned long long>(gaps.missed()));
  }
  return kExitOk;
}

}  // namespace wallet::producer
