// Restart time of the worker's storage: how long recovery takes from a data
// directory holding N journaled commands, replayed from the journal alone
// and loaded from a snapshot. Real files in a temporary directory; prints a
// Markdown table.
//
//   recovery_bench [--commands N,N,...] [--users U] [--dir PARENT]
//
// Every command is a distinct credit with a 36-byte key, so the recovered
// wallet holds N keys (the default window keeps them all) and U accounts.

#include <stdlib.h>
#include <sys/resource.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/protocol.h"
#include "worker/core/wallet.h"
#include "worker/storage/recovery.h"
#include "worker/storage/store.h"

namespace wallet {
namespace {

struct BenchOptions {
  std::vector<std::uint64_t> commands = {1'000'000, 10'000'000};
  std::uint64_t users = 100'000;
  std::string parent = "/tmp";
};

struct Row {
  std::uint64_t commands = 0;
  double write_s = 0;
  std::uint64_t journal_bytes = 0;
  double replay_s = 0;
  std::uint64_t snapshot_bytes = 0;
  double snapshot_write_s = 0;
  double snapshot_load_s = 0;
  std::uint64_t keys = 0;
  std::uint64_t accounts = 0;
};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

std::uint64_t BytesWithSuffix(const std::string& dir, const char* suffix) {
  std::uint64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == suffix) total += entry.file_size();
  }
  return total;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "recovery_bench: %s\n", what.c_str());
  std::exit(1);
}

StoreOptions BenchStore(const std::string& dir) {
  StoreOptions options;
  options.dir = dir;
  // The journal is filled as fast as the wallet applies; a snapshot is
  // taken only when the benchmark asks for one.
  options.sync = SyncMode::kNone;
  options.snapshot_every_bytes = UINT64_MAX;
  return options;
}

// Applies `count` distinct credits through a Store and closes it without
// a final snapshot, leaving everything in the journal.
double FillJournal(const std::string& dir, std::uint64_t count,
                   std::uint64_t users) {
  Wallet wallet{WalletOptions{}};
  std::string error;
  std::unique_ptr<Store> store = Store::Open(BenchStore(dir), wallet, error);
  if (store == nullptr) Die(error);
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t now_ms = WallClockMs();
  char key[64];
  char user[32];
  for (std::uint64_t i = 0; i < count; ++i) {
    std::snprintf(key, sizeof(key), "%08" PRIx64 "-0000-4000-8000-%012" PRIx64,
                  i >> 32, i);
    std::snprintf(user, sizeof(user), "user-%" PRIu64, i % users);
    Command command;
    command.key = key;
    command.user = user;
    command.currency = "gold";
    command.amount_minor = static_cast<std::int64_t>(1 + i % 1000);
    command.source = "bench";
    wallet.Apply(command, now_ms, store->journal());
  }
  if (!store->Close(false)) Die("journal failed while filling");
  return SecondsSince(start);
}

double Recover(const std::string& dir, Row& row) {
  Wallet wallet{WalletOptions{}};
  RecoveryStats stats;
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  if (!wallet::Recover(dir, wallet, WallClockMs(), stats, error)) {
    Die(error);
  }
  const double seconds = SecondsSince(start);
  row.keys = wallet.key_count();
  row.accounts = wallet.account_count();
  return seconds;
}

double TakeSnapshot(const std::string& dir) {
  Wallet wallet{WalletOptions{}};
  std::string error;
  std::unique_ptr<Store> store = Store::Open(BenchStore(dir), wallet, error);
  if (store == nullptr) Die(error);
  const auto start = std::chrono::steady_clock::now();
  if (!store->Snapshot(error)) Die(error);
  const double seconds = SecondsSince(start);
  if (!store->Close(false)) Die("journal failed at close");
  return seconds;
}

Row Measure(const BenchOptions& options, std::uint64_t count) {
  const std::string templ = options.parent + "/wallet-recovery-bench-XXXXXX";
  std::vector<char> path(templ.begin(), templ.end());
  path.push_back('\0');
  if (mkdtemp(path.data()) == nullptr) Die("cannot create a temp directory");
  const std::string dir(path.data());

  Row row;
  row.commands = count;
  row.write_s = FillJournal(dir, count, options.users);
  row.journal_bytes = BytesWithSuffix(dir, ".wlog");
  row.replay_s = Recover(dir, row);
  row.snapshot_write_s = TakeSnapshot(dir);
  row.snapshot_bytes = BytesWithSuffix(dir, ".wsnap");
  row.snapshot_load_s = Recover(dir, row);
  std::filesystem::remove_all(dir);
  return row;
}

bool ParseArgs(int argc, char** argv, BenchOptions& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--commands") {
      options.commands.clear();
      std::size_t at = 0;
      while (at < value.size()) {
        std::size_t end = value.find(',', at);
        if (end == std::string::npos) end = value.size();
        options.commands.push_back(std::stoull(value.substr(at, end - at)));
        at = end + 1;
      }
    } else if (flag == "--users") {
      options.users = std::stoull(value);
    } else if (flag == "--dir") {
      options.parent = value;
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && options.users > 0 && !options.commands.empty();
}

double Mib(std::uint64_t bytes) { return static_cast<double>(bytes) / 1048576; }

}  // namespace
}  // namespace wallet

int main(int argc, char** argv) {
  using wallet::Mib;
  wallet::BenchOptions options;
  if (!wallet::ParseArgs(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: recovery_bench [--commands N,N,...] [--users U] "
                 "[--dir PARENT]\n");
    return 2;
  }
  wallet::SetLogLevel(wallet::LogLevel::kWarn);
  std::printf(
      "| commands | journal MiB | fill s | replay journal s | replay rate/s "
      "| snapshot MiB | snapshot write s | load snapshot s | keys | accounts "
      "|\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const std::uint64_t count : options.commands) {
    const wallet::Row row = wallet::Measure(options, count);
    std::printf("| %" PRIu64
                " | %.0f | %.1f | %.2f | %.0f | %.0f | %.2f | "
                "%.2f | %" PRIu64 " | %" PRIu64 " |\n",
                row.commands, Mib(row.journal_bytes), row.write_s, row.replay_s,
                static_cast<double>(row.commands) / row.replay_s,
                Mib(row.snapshot_bytes), row.snapshot_write_s,
                row.snapshot_load_s, row.keys, row.accounts);
    std::fflush(stdout);
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("\npeak RSS %.0f MiB (all runs in one process)\n",
              static_cast<double>(usage.ru_maxrss) / 1024);
  return 0;
}
