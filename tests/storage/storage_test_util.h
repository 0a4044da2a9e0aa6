// Helpers for the storage tests: a fresh temporary directory per test,
// whole-file inspection and damage, commands that own their strings, and
// a canonical dump of a wallet so that two wallets compare field by field.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/protocol.h"
#include "worker/core/record.h"
#include "worker/core/wallet.h"
#include "worker/storage/file.h"

namespace wallet::storage_test {

// A directory made by mkdtemp under /tmp, removed with everything in it
// when the test ends.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/wallet-storage-test-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(std::string_view name) const {
    return path_ + "/" + std::string(name);
  }

 private:
  std::string path_;
};

// Lowers the process-wide log level for a loop that would otherwise log
// one recovery line per iteration; restores info afterwards.
class QuietLogs {
 public:
  QuietLogs() { SetLogLevel(LogLevel::kError); }
  ~QuietLogs() { SetLogLevel(LogLevel::kInfo); }
  QuietLogs(const QuietLogs&) = delete;
  QuietLogs& operator=(const QuietLogs&) = delete;
};

inline std::string ReadAll(const std::string& path) {
  std::string data, error;
  if (!ReadFile(path, data, error)) ADD_FAILURE() << error;
  return data;
}

inline void WriteAll(const std::string& path, std::string_view data) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  ASSERT_EQ(std::fwrite(data.data(), 1, data.size(), file), data.size());
  ASSERT_EQ(std::fclose(file), 0);
}

inline void AppendAll(const std::string& path, std::string_view data) {
  WriteAll(path, ReadAll(path) + std::string(data));
}

inline std::uint64_t FileSize(const std::string& path) {
  return std::filesystem::file_size(path);
}

inline void FlipBit(const std::string& path, std::size_t byte, int bit) {
  std::string data = ReadAll(path);
  ASSERT_LT(byte, data.size()) << path;
  data[byte] = static_cast<char>(data[byte] ^ (1 << bit));
  WriteAll(path, data);
}

inline std::vector<std::string> Names(const std::string& dir,
                                      std::string_view prefix,
                                      std::string_view suffix) {
  std::vector<std::string> names;
  std::string error;
  if (!ListDirectory(dir, prefix, suffix, names, error)) {
    ADD_FAILURE() << error;
  }
  return names;
}

inline std::vector<std::string> SegmentNames(const std::string& dir) {
  return Names(dir, "journal-", ".wlog");
}

inline std::vector<std::string> SnapshotNames(const std::string& dir) {
  return Names(dir, "snapshot-", ".wsnap");
}

// Copies every file of `from` into the existing directory `to`.
inline void CopyFiles(const std::string& from, const std::string& to) {
  for (const auto& entry : std::filesystem::directory_iterator(from)) {
    std::filesystem::copy_file(
        entry.path(), std::filesystem::path(to) / entry.path().filename());
  }
}

// A command whose strings live as long as it does.
struct OwnedCommand {
  Op op = Op::kTopup;
  std::string key;
  std::string user;
  std::string currency;
  std::int64_t amount_minor = 0;
  std::string source;
  std::string ref;

  Command view() const {
    Command command;
    command.op = op;
    command.key = key;
    command.user = user;
    command.currency = currency;
    command.amount_minor = amount_minor;
    command.source = source;
    command.ref = ref;
    return command;
  }
};

// `count` distinct commands over `users` users and two currencies, with
// keys "<key_prefix>-<i>". Deterministic, so that a reference wallet can
// apply the same list.
inline std::vector<OwnedCommand> MakeCommands(std::size_t count,
                                              std::size_t users,
                                              std::string_view key_prefix) {
  std::vector<OwnedCommand> commands;
  commands.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    OwnedCommand command;
    command.op = i % 2 == 0 ? Op::kTopup : Op::kReward;
    command.key = std::string(key_prefix) + "-" + std::to_string(i);
    command.user = "user-" + std::to_string(i % users);
    command.currency = (i / users) % 2 == 0 ? "GOLD" : "GEMS";
    command.amount_minor = static_cast<std::int64_t>(1 + (i * 37) % 1000);
    command.source = "game-" + std::to_string(i % 3);
    if (i % 4 != 0) command.ref = "ref-" + std::to_string(i);
    commands.push_back(std::move(command));
  }
  return commands;
}

// A commit log that drops everything: for reference wallets.
class NullLog final : public CommitLog {
 public:
  std::uint64_t Append(const Record&) override { return 0; }
};

inline void ApplyRange(Wallet& wallet,
                       const std::vector<OwnedCommand>& commands,
                       std::size_t begin, std::size_t end, std::int64_t now_ms,
                       CommitLog& log) {
  for (std::size_t i = begin; i < end; ++i) {
    const Outcome outcome = wallet.Apply(commands[i].view(), now_ms, log);
    EXPECT_EQ(outcome.status, Status::kApplied) << commands[i].key;
  }
}

inline WalletOptions SmallWallet() {
  WalletOptions options;
  options.stripes = 16;
  return options;
}

// Every account, latest operation and live key of `wallet`, one sorted
// line each, so that two wallets are equal exactly when their dumps are.
inline std::vector<std::string> DumpWallet(const Wallet& wallet,
                                           std::int64_t now_ms) {
  std::vector<std::string> lines;
  char line[512];
  for (std::size_t s = 0; s < wallet.stripe_count(); ++s) {
    const Wallet::UserExport users = wallet.ExportUsers(s);
    for (const AccountRow& row : users.accounts) {
      std::snprintf(line, sizeof(line),
                    "account user=%s currency=%s balance=%" PRId64
                    " version=%" PRIu64,
                    row.user.c_str(), row.currency.c_str(), row.balance_minor,
                    row.version);
      lines.emplace_back(line);
    }
    std::map<std::string, int> index;
    for (const auto& [user, op] : users.recent) {
      std::snprintf(line, sizeof(line),
                    "recent user=%s n=%d op=%d currency=%s amount=%" PRId64
                    " key=%s ref=%s source=%s balance=%" PRId64
                    " version=%" PRIu64 " time=%" PRId64,
                    user.c_str(), index[user]++, static_cast<int>(op.op),
                    op.currency.c_str(), op.amount_minor, op.key.c_str(),
                    op.ref.c_str(), op.source.c_str(), op.balance_minor,
                    op.version, op.time_ms);
      lines.emplace_back(line);
    }
    for (const auto& [hash, entry] : wallet.ExportKeys(s, now_ms)) {
      std::snprintf(line, sizeof(line),
                    "key %016" PRIx64 "%016" PRIx64 " time=%" PRId64
                    " amount=%" PRId64 " balance=%" PRId64 " version=%" PRIu64
                    " hashes=%08x/%08x/%08x/%08x op=%d status=%d reason=%d",
                    hash.high, hash.low, entry.time_ms, entry.amount_minor,
                    entry.balance_minor, entry.version, entry.user_hash,
                    entry.currency_hash, entry.source_hash, entry.ref_hash,
                    static_cast<int>(entry.op), static_cast<int>(entry.status),
                    static_cast<int>(entry.reason));
      lines.emplace_back(line);
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

// Compares two wallets by their dumps and names the first difference.
inline ::testing::AssertionResult SameWallet(const Wallet& expected,
                                             const Wallet& actual,
                                             std::int64_t now_ms) {
  const std::vector<std::string> want = DumpWallet(expected, now_ms);
  const std::vector<std::string> got = DumpWallet(actual, now_ms);
  if (want == got) return ::testing::AssertionSuccess();
  const auto [w, g] =
      std::mismatch(want.begin(), want.end(), got.begin(), got.end());
  return ::testing::AssertionFailure()
         << "wallets differ: expected " << want.size() << " lines, got "
         << got.size() << "; first difference: expected \""
         << (w == want.end() ? "<end>" : *w) << "\", got \""
         << (g == got.end() ? "<end>" : *g) << "\"";
}

}  // namespace wallet::storage_test
