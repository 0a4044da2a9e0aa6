// Operator logs: one `key=value` line per event that matters, on stderr.
//
//   2026-12-03T20:15:00.123Z INFO worker event=start threads=2 ...
//
// The level is process-wide and set once at start (default: info). Hot
// paths wrap their warnings in a RateLimiter so that a flood of bad frames
// becomes one line a second with a count of what was suppressed.
#pragma once

#include <atomic>
#include <cstdint>

namespace wallet {

enum class LogLevel : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// Parses "error", "warn", "info" or "debug"; returns false on anything else.
bool ParseLogLevel(const char* name, LogLevel& level);

// Writes one line: timestamp, level, `module`, then the formatted text.
void Log(LogLevel level, const char* module, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

// Lets one event through per interval and counts the rest. Thread-safe.
class RateLimiter {
 public:
  explicit RateLimiter(std::int64_t interval_ms) : interval_ms_(interval_ms) {}

  // Returns true when the caller should log now; `suppressed` is then the
  // number of events dropped since the previous line.
  bool Allow(std::uint64_t& suppressed);

 private:
  const std::int64_t interval_ms_;
  std::atomic<std::int64_t> next_ms_{0};
  std::atomic<std::uint64_t> suppressed_{0};
};

// Milliseconds: wall clock since the Unix epoch, and a monotonic clock.
std::int64_t WallClockMs();
std::int64_t MonotonicMs();

}  // namespace wallet
