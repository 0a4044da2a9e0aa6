// Every option of wallet-producer, one struct per subcommand plus the
// global ones. Each field holds its default; --help prints defaults from
// these initialisers, so this file is the one place they are decided.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/client.h"

namespace wallet::producer {

// Flags given before the subcommand.
struct GlobalOptions {
  // The worker's PULL socket for commands.
  std::string commands_endpoint{kDefaultCommandsEndpoint};
  // The worker's PUB socket for results and balance events.
  std::string events_endpoint{kDefaultEventsEndpoint};
  // The worker's REP socket for balance queries.
  std::string queries_endpoint{kDefaultQueriesEndpoint};
  // error, warn, info or debug; logs go to stderr.
  std::string log_level = "info";
  // CURVE (docs/security.md): the worker's public key file and this
  // client's secret key file. Both or neither.
  std::string server_key_file;
  std::string client_key_file;
};

struct KeygenOptions {
  std::string out;  // Required: writes OUT and OUT_secret.
};

struct SendOptions {
  std::string user;                 // Required.
  std::string currency;             // Required unless `legs`.
  std::int64_t amount_minor = 0;    // Required unless `legs`; 1..10^15.
  std::string op = "topup";         // topup, reward, spend (or batch).
  std::string key;                  // Empty: a fresh random UUID v4.
  std::string source = "producer";  // Results come back on its topic.
  std::string ref;                  // Free text stored with the operation.
  // A batch: "op:currency:amount[:user],..."; empty for a single command.
  std::string legs;
  std::int64_t timeout_ms = 5000;  // Total wait for the result.
  bool json = false;               // Print a JSON line instead of text.
};

struct BalanceOptions {
  std::string user;                // Required.
  std::int64_t timeout_ms = 5000;  // Wait for the worker's reply.
  bool json = false;
};

struct HistoryOptions {
  std::string user;                // Required.
  std::int64_t limit = 20;         // Operations per page.
  std::int64_t before = 0;         // Cursor; 0 starts at the newest.
  bool all = false;                // Follow cursors to the oldest kept.
  std::int64_t timeout_ms = 5000;  // Wait for each reply.
  bool json = false;
};

struct WatchOptions {
  // nullopt: not subscribed; "": every source or user; else that one.
  // With neither flag given, watch subscribes to everything.
  std::optional<std::string> results;
  std::optional<std::string> balances;
  bool json = false;
  std::int64_t count = 0;  // Stop after this many events; 0 never.
};

struct LoadOptions {
  // Total commands sent, duplicates and conflicts included.
  std::int64_t commands_count = 100'000;
  std::int64_t users = 1'000;       // Credits go to user-0..user-M-1.
  std::int64_t duplicates_pct = 5;  // Share of sends that are retries.
  std::int64_t conflicts_pct = 1;   // Share that reuse a key wrongly.
  std::int64_t spends_pct = 0;      // Share of fresh keys that spend.
  std::int64_t connections = 2;     // Sender threads, one PUSH each.
  std::string source = "load";
  std::string currency = "gold";
  std::int64_t timeout_s = 60;   // Give up after this long idle.
  std::int64_t seed = 0;         // 0: random; printed either way.
  std::int64_t window = 20'000;  // Sends awaiting a result, at most.
};

struct AuditOptions {
  std::string source;               // Results of this source; "" all.
  std::int64_t timeout_ms = 5000;   // Wait for each balance reply.
  std::int64_t worker_wait_s = 60;  // Keep asking while it restarts.
};

}  // namespace wallet::producer
