#include "worker/options.h"

#include <charconv>
#include <cinttypes>
#include <functional>
#include <string_view>
#include <vector>

namespace wallet {
namespace {

template <typename Int>
bool ParseInt(std::string_view text, Int low, Int high, Int& out) {
  Int value{};
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < low ||
      value > high) {
    return false;
  }
  out = value;
  return true;
}

struct Flag {
  std::string_view name;
  std::string_view meaning;
  // Applies the value; returns false if it is not acceptable.
  std::function<bool(std::string_view)> apply;
  // A switch takes no value: `--insecure`.
  bool is_switch = false;
};

std::vector<Flag> Flags(WorkerOptions& o, LogLevel& level) {
  constexpr std::int64_t kSecondsMax = 10LL * 365 * 24 * 3600;
  return {
      {"commands", "command endpoint (PULL), a ZeroMQ endpoint",
       [&o](std::string_view v) {
         o.commands_endpoint = v;
         return !v.empty();
       }},
      {"events", "events endpoint (PUB): results and balance events",
       [&o](std::string_view v) {
         o.events_endpoint = v;
         return !v.empty();
       }},
      {"queries", "query endpoint (REP)",
       [&o](std::string_view v) {
         o.queries_endpoint = v;
         return !v.empty();
       }},
      {"threads", "apply threads, 1..64; 0 = one per core but one",
       [&o](std::string_view v) { return ParseInt(v, 0, 64, o.threads); }},
      {"data-dir", "directory of the journal and snapshots",
       [&o](std::string_view v) {
         o.data_dir = v;
         return !v.empty();
       }},
      {"sync",
       "always = acknowledge after fdatasync; none = after write(), synced "
       "every second (a machine crash may lose about the last second)",
       [&o](std::string_view v) { return ParseSyncMode(v, o.sync); }},
      {"group-commit-us",
       "the journal takes a group of records at most once per this many "
       "microseconds, 0..100000: longer waits longer per command under "
       "load and spends less CPU per command",
       [&o](std::string_view v) {
         return ParseInt<std::int64_t>(v, 0, 100'000, o.group_commit_us);
       }},
      {"key-window-s", "how long an idempotency key is remembered, seconds",
       [&o](std::string_view v) {
         std::int64_t s = 0;
         if (!ParseInt<std::int64_t>(v, 1, kSecondsMax, s)) return false;
         o.key_window_ms = s * 1000;
         return true;
       }},
      {"history-per-user",
       "operations kept per user for history queries (8..10000); each "
       "costs about 200 bytes of memory and snapshot",
       [&o](std::string_view v) {
         return ParseInt<std::size_t>(v, kRecentOpsMax, 10'000,
                                      o.history_per_user);
       }},
      {"snapshot-every-mb", "journal growth that triggers a snapshot, MiB",
       [&o](std::string_view v) {
         std::uint64_t mb = 0;
         if (!ParseInt<std::uint64_t>(v, 1, 1 << 20, mb)) return false;
         o.snapshot_every_bytes = mb << 20;
         return true;
       }},
      {"segment-mb", "journal segment size, MiB",
       [&o](std::string_view v) {
         std::uint64_t mb = 0;
         if (!ParseInt<std::uint64_t>(v, 1, 1 << 14, mb)) return false;
         o.segment_bytes_max = mb << 20;
         return true;
       }},
      {"events-hwm", "events socket send high-water mark per subscriber",
       [&o](std::string_view v) {
         return ParseInt(v, 1000, 100'000'000, o.events_hwm);
       }},
      {"stripes", "lock stripes (a power of two, 1..65536)",
       [&o](std::string_view v) {
         std::size_t n = 0;
         if (!ParseInt<std::size_t>(v, 1, 65536, n) || (n & (n - 1)) != 0) {
           return false;
         }
         o.stripes = n;
         return true;
       }},
      {"stats-interval-s", "seconds between totals lines in the log",
       [&o](std::string_view v) {
         std::int64_t s = 0;
         if (!ParseInt<std::int64_t>(v, 1, 86400, s)) return false;
         o.stats_interval_ms = s * 1000;
         return true;
       }},
      {"log-level", "error, warn, info or debug",
       [&level](std::string_view v) {
         return ParseLogLevel(std::string(v).c_str(), level);
       }},
      {"curve-key",
       "the worker's CURVE secret key file (wallet-producer keygen); "
       "turns on CURVE for every socket, needs --clients",
       [&o](std::string_view v) {
         o.curve_key_file = v;
         return !v.empty();
       }},
      {"clients",
       "allow-list of client public keys and their rights "
       "(docs/security.md)",
       [&o](std::string_view v) {
         o.clients_file = v;
         return !v.empty();
       }},
      {"insecure",
       "without --curve-key, bind non-loopback endpoints anyway: anyone "
       "who reaches them can credit wallets",
       [&o](std::string_view) {
         o.insecure = true;
         return true;
       },
       /*is_switch=*/true},
  };
}

std::string DefaultOf(std::string_view name, const WorkerOptions& o) {
  if (name == "commands") return o.commands_endpoint;
  if (name == "events") return o.events_endpoint;
  if (name == "queries") return o.queries_endpoint;
  if (name == "threads")
    return "0 (this machine: " + std::to_string(ResolveThreads(0)) + ")";
  if (name == "data-dir") return o.data_dir;
  if (name == "sync") return std::string(SyncModeName(o.sync));
  if (name == "group-commit-us") return std::to_string(o.group_commit_us);
  if (name == "key-window-s") return std::to_string(o.key_window_ms / 1000);
  if (name == "history-per-user") return std::to_string(o.history_per_user);
  if (name == "snapshot-every-mb") {
    return std::to_string(o.snapshot_every_bytes >> 20);
  }
  if (name == "segment-mb") return std::to_string(o.segment_bytes_max >> 20);
  if (name == "events-hwm") return std::to_string(o.events_hwm);
  if (name == "stripes") return std::to_string(o.stripes);
  if (name == "stats-interval-s") {
    return std::to_string(o.stats_interval_ms / 1000);
  }
  if (name == "curve-key" || name == "clients") return "none";
  if (name == "insecure") return "off";
  return "info";
}

}  // namespace

ParseOutcome ParseWorkerFlags(int argc, char** argv, WorkerOptions& options,
                              LogLevel& log_level, std::string& error) {
  const std::vector<Flag> flags = Flags(options, log_level);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return ParseOutcome::kHelp;
    if (!arg.starts_with("--")) {
      error = "unexpected argument: " + std::string(arg);
      return ParseOutcome::kError;
    }
    arg.remove_prefix(2);
    std::string_view value;
    bool has_value = false;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    const Flag* flag = nullptr;
    for (const Flag& f : flags) {
      if (f.name == arg) flag = &f;
    }
    if (flag == nullptr) {
      error = "unknown flag: --" + std::string(arg) + " (see --help)";
      return ParseOutcome::kError;
    }
    if (flag->is_switch) {
      if (has_value) {
        error = "--" + std::string(arg) + " takes no value";
        return ParseOutcome::kError;
      }
    } else if (!has_value) {
      if (i + 1 >= argc) {
        error = "--" + std::string(arg) + " needs a value";
        return ParseOutcome::kError;
      }
      value = argv[++i];
    }
    if (!flag->apply(value)) {
      error = "bad value for --" + std::string(arg) + ": '" +
              std::string(value) + "' (" + std::string(flag->meaning) + ")";
      return ParseOutcome::kError;
    }
  }
  return ParseOutcome::kRun;
}

std::string WorkerHelp() {
  WorkerOptions defaults;
  LogLevel level = LogLevel::kInfo;
  std::string text =
      "usage: wallet-worker [--flag value]...\n\n"
      "Applies wallet commands from game servers exactly once per key,\n"
      "journals them durably, and publishes results and balance events.\n\n"
      "flags (default in brackets):\n";
  for (const Flag& flag : Flags(defaults, level)) {
    text += "  --" + std::string(flag.name) + (flag.is_switch ? "" : " V") +
            "  " + std::string(flag.meaning) + " [" +
            DefaultOf(flag.name, defaults) + "]\n";
  }
  text += "  --help  this text\n";
  return text;
}

}  // namespace wallet
