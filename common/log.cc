#include "common/log.h"

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace wallet {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "ERROR";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kDebug:
      return "DEBUG";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) {
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed);
}

bool ParseLogLevel(const char* name, LogLevel& level) {
  static constexpr struct {
    const char* name;
    LogLevel level;
  } kLevels[] = {{"error", LogLevel::kError},
                 {"warn", LogLevel::kWarn},
                 {"info", LogLevel::kInfo},
                 {"debug", LogLevel::kDebug}};
  for (const auto& entry : kLevels) {
    if (std::strcmp(name, entry.name) == 0) {
      level = entry.level;
      return true;
    }
  }
  return false;
}

void Log(LogLevel level, const char* module, const char* format, ...) {
  if (!LogEnabled(level)) return;
  const std::int64_t now_ms = WallClockMs();
  const std::time_t seconds = static_cast<std::time_t>(now_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);

  // One buffer, one write: lines from different threads never interleave.
  char line[1024];
  int used = std::snprintf(
      line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s ",
      utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
      utc.tm_sec, static_cast<int>(now_ms % 1000), LevelName(level), module);
  va_list args;
  va_start(args, format);
  const int body = std::vsnprintf(
      line + used, sizeof(line) - 1 - static_cast<size_t>(used), format, args);
  va_end(args);
  used += body < 0 ? 0 : body;
  if (used > static_cast<int>(sizeof(line)) - 2) {
    used = static_cast<int>(sizeof(line)) - 2;
  }
  line[used++] = '\n';
  std::fwrite(line, 1, static_cast<size_t>(used), stderr);
}

bool RateLimiter::Allow(std::uint64_t& suppressed) {
  const std::int64_t now_ms = MonotonicMs();
  std::int64_t next = next_ms_.load(std::memory_order_relaxed);
  if (now_ms < next ||
      !next_ms_.compare_exchange_strong(next, now_ms + interval_ms_)) {
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
  return true;
}

std::int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace wallet
