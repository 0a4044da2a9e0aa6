#include "worker/storage/snapshot.h"

#include <bit>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>

#include "common/log.h"
#include "worker/storage/crc32c.h"
#include "worker/storage/file.h"

namespace wallet {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the on-disk format is little-endian");

// Format 2 added the operation's seq to recent entries.
constexpr char kMagic[8] = {'W', 'S', 'N', 'A', 'P', '0', '0', '2'};
constexpr std::size_t kFlushBytes = 1 << 20;

enum Tag : std::uint8_t {
  kAccount = 1,
  kRecent = 2,
  kKey = 3,
  kBatchLegs = 4,  // After its key: an applied batch's leg balances.
  kEnd = 0xff
};

// Buffers the file, keeping a running checksum of everything written.
class SnapshotWriter {
 public:
  explicit SnapshotWriter(std::unique_ptr<AppendFile> file)
      : file_(std::move(file)) {}

  template <typename T>
  void Int(T value) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    buffer_.append(bytes, sizeof(T));
  }
  void Str(std::string_view text) {
    Int(static_cast<std::uint8_t>(text.size()));
    buffer_.append(text);
  }
  void Raw(const void* data, std::size_t size) {
    buffer_.append(static_cast<const char*>(data), size);
  }

  bool MaybeFlush(std::string& error) {
    return buffer_.size() < kFlushBytes || Flush(error);
  }
  bool Flush(std::string& error) {
    crc_ = Crc32c(crc_, buffer_.data(), buffer_.size());
    bytes_ += buffer_.size();
    const bool ok = file_->Append(buffer_, error);
    buffer_.clear();
    return ok;
  }
  // Appends the checksum of everything before it, then syncs.
  bool Finish(std::string& error) {
    if (!Flush(error)) return false;
    const std::uint32_t crc = crc_;
    Int(crc);
    return Flush(error) && file_->Sync(error);
  }
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::unique_ptr<AppendFile> file_;
  std::string buffer_;
  std::uint32_t crc_ = 0;
  std::uint64_t bytes_ = 0;
};

void WriteRecent(SnapshotWriter& out, const std::string& user,
                 const RecentOp& op) {
  out.Int<std::uint8_t>(kRecent);
  out.Str(user);
  out.Int(static_cast<std::uint8_t>(op.op));
  out.Str(op.currency);
  out.Int(op.amount_minor);
  out.Str(op.key);
  out.Str(op.ref);
  out.Str(op.source);
  out.Int(op.balance_minor);
  out.Int(op.version);
  out.Int(op.time_ms);
  out.Int(op.seq);
}

void WriteKey(SnapshotWriter& out, const KeyHash& hash, const KeyEntry& entry) {
  out.Int<std::uint8_t>(kKey);
  out.Int(hash.low);
  out.Int(hash.high);
  out.Int(entry.time_ms);
  out.Int(entry.amount_minor);
  out.Int(entry.balance_minor);
  out.Int(entry.version);
  out.Int(entry.user_hash);
  out.Int(entry.currency_hash);
  out.Int(entry.source_hash);
  out.Int(entry.ref_hash);
  out.Int(static_cast<std::uint8_t>(entry.op));
  out.Int(static_cast<std::uint8_t>(entry.status));
  out.Int(static_cast<std::uint8_t>(entry.reason));
  out.Int(entry.failed_leg);
}

void WriteBatchLegs(SnapshotWriter& out, const KeyHash& hash,
                    const std::vector<LegOutcome>& legs) {
  out.Int<std::uint8_t>(kBatchLegs);
  out.Int(hash.low);
  out.Int(hash.high);
  out.Int(static_cast<std::uint8_t>(legs.size()));
  for (const LegOutcome& leg : legs) {
    out.Int(leg.balance_minor);
    out.Int(leg.version);
  }
}

std::int64_t ElapsedUs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now() - since)
      .count();
}

bool WriteStripes(SnapshotWriter& out, const Wallet& wallet,
                  std::int64_t now_ms, SnapshotStats& stats,
                  std::string& error) {
  for (std::size_t s = 0; s < wallet.stripe_count(); ++s) {
    auto copy_start = std::chrono::steady_clock::now();
    const Wallet::UserExport users = wallet.ExportUsers(s);
    std::int64_t hold_us = ElapsedUs(copy_start);
    copy_start = std::chrono::steady_clock::now();
    std::vector<std::pair<KeyHash, std::vector<LegOutcome>>> batch_legs;
    const auto keys = wallet.ExportKeys(s, now_ms, &batch_legs);
    hold_us = std::max(hold_us, ElapsedUs(copy_start));
    stats.stripe_hold_us_max = std::max(stats.stripe_hold_us_max, hold_us);

    for (const AccountRow& row : users.accounts) {
      out.Int<std::uint8_t>(kAccount);
      out.Str(row.user);
      out.Str(row.currency);
      out.Int(row.balance_minor);
      out.Int(row.version);
    }
    for (const auto& [user, op] : users.recent) WriteRecent(out, user, op);
    for (const auto& [hash, entry] : keys) WriteKey(out, hash, entry);
    for (const auto& [hash, legs] : batch_legs) {
      WriteBatchLegs(out, hash, legs);
    }
    stats.accounts += users.accounts.size();
    stats.recent_ops += users.recent.size();
    stats.keys += keys.size();
    if (!out.MaybeFlush(error)) return false;
  }
  return true;
}

// Reads the snapshot body; every read is bounds-checked.
class SnapshotReader {
 public:
  explicit SnapshotReader(std::string_view data) : data_(data) {}

  template <typename T>
  bool Int(T& value) {
    if (data_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&value, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool Str(std::string& text) {
    std::uint8_t size = 0;
    if (!Int(size) || data_.size() - pos_ < size) return false;
    text.assign(data_.substr(pos_, size));
    pos_ += size;
    return true;
  }
  bool Enum(std::uint8_t limit, std::uint8_t& value) {
    return Int(value) && value <= limit;
  }
  bool AtEnd() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

bool ReadRecent(SnapshotReader& in, Wallet& wallet) {
  std::string user;
  RecentOp op;
  std::uint8_t op_code = 0;
  if (!in.Str(user) || !in.Enum(kOpCount - 1, op_code) ||
      !in.Str(op.currency) || !in.Int(op.amount_minor) || !in.Str(op.key) ||
      !in.Str(op.ref) || !in.Str(op.source) || !in.Int(op.balance_minor) ||
      !in.Int(op.version) || !in.Int(op.time_ms) || !in.Int(op.seq)) {
    return false;
  }
  op.op = static_cast<Op>(op_code);
  wallet.ImportRecent(user, op);
  return true;
}

bool ReadKey(SnapshotReader& in, Wallet& wallet, std::int64_t now_ms) {
  KeyHash hash;
  KeyEntry entry;
  std::uint8_t op = 0, status = 0, reason = 0;
  if (!in.Int(hash.low) || !in.Int(hash.high) || !in.Int(entry.time_ms) ||
      !in.Int(entry.amount_minor) || !in.Int(entry.balance_minor) ||
      !in.Int(entry.version) || !in.Int(entry.user_hash) ||
      !in.Int(entry.currency_hash) || !in.Int(entry.source_hash) ||
      !in.Int(entry.ref_hash) || !in.Enum(kOpCount - 1, op) ||
      !in.Enum(static_cast<std::uint8_t>(Status::kRejected), status) ||
      !in.Enum(static_cast<std::uint8_t>(kReasonLast), reason) ||
      !in.Int(entry.failed_leg) || entry.failed_leg < -1 ||
      entry.failed_leg >= static_cast<int>(kLegsMax)) {
    return false;
  }
  entry.op = static_cast<Op>(op);
  entry.status = static_cast<Status>(status);
  entry.reason = static_cast<Reason>(reason);
  wallet.ImportKey(hash, entry, now_ms);
  return true;
}

bool ReadBatchLegs(SnapshotReader& in, Wallet& wallet) {
  KeyHash hash;
  std::uint8_t count = 0;
  if (!in.Int(hash.low) || !in.Int(hash.high) || !in.Int(count) || count == 0 ||
      count > kLegsMax) {
    return false;
  }
  std::vector<LegOutcome> legs(count);
  for (LegOutcome& leg : legs) {
    if (!in.Int(leg.balance_minor) || !in.Int(leg.version)) return false;
  }
  wallet.ImportBatchLegs(hash, std::move(legs));
  return true;
}

bool ReadBody(SnapshotReader& in, Wallet& wallet, std::int64_t now_ms,
              SnapshotStats& stats) {
  for (;;) {
    std::uint8_t tag = 0;
    if (!in.Int(tag)) return false;
    if (tag == kEnd) return in.AtEnd();
    if (tag == kAccount) {
      AccountRow row;
      if (!in.Str(row.user) || !in.Str(row.currency) ||
          !in.Int(row.balance_minor) || !in.Int(row.version)) {
        return false;
      }
      wallet.ImportAccount(row);
      ++stats.accounts;
    } else if (tag == kRecent) {
      if (!ReadRecent(in, wallet)) return false;
      ++stats.recent_ops;
    } else if (tag == kKey) {
      if (!ReadKey(in, wallet, now_ms)) return false;
      ++stats.keys;
    } else if (tag == kBatchLegs) {
      if (!ReadBatchLegs(in, wallet)) return false;
    } else {
      return false;
    }
  }
}

}  // namespace

std::string SnapshotName(std::uint64_t position) {
  char name[64];
  std::snprintf(name, sizeof(name), "snapshot-%020" PRIu64 ".wsnap", position);
  return name;
}

bool WriteSnapshot(const std::string& dir, const Wallet& wallet,
                   std::uint64_t position, std::int64_t now_ms,
                   SnapshotStats& stats, std::string& error) {
  const auto started = std::chrono::steady_clock::now();
  const std::string temp = dir + "/snapshot.tmp";
  std::string ignored;
  RemoveFile(temp, ignored);  // Left by a crash mid-snapshot, if at all.
  std::unique_ptr<AppendFile> file = OpenPosixAppendFile(temp, true, error);
  if (file == nullptr) return false;

  SnapshotWriter out(std::move(file));
  stats = SnapshotStats{};
  out.Raw(kMagic, sizeof(kMagic));
  out.Int(position);
  out.Int(now_ms);
  if (!WriteStripes(out, wallet, now_ms, stats, error)) return false;
  out.Int<std::uint8_t>(kEnd);
  if (!out.Finish(error) ||
      !RenameFile(temp, dir + "/" + SnapshotName(position), error) ||
      !SyncDirectory(dir, error)) {
    return false;
  }
  stats.bytes = out.bytes();
  stats.elapsed_ms = ElapsedUs(started) / 1000;
  return true;
}

bool LoadSnapshot(const std::string& path, Wallet& wallet, std::int64_t now_ms,
                  std::uint64_t& position, SnapshotStats& stats,
                  std::string& error) {
  const auto started = std::chrono::steady_clock::now();
  std::string data;
  if (!ReadFile(path, data, error)) return false;
  constexpr std::size_t kFixed = sizeof(kMagic) + 8 + 8 + 1 + 4;
  std::uint32_t stored_crc = 0;
  if (data.size() >= kFixed) {
    std::memcpy(&stored_crc, data.data() + data.size() - 4, 4);
  }
  if (data.size() < kFixed ||
      std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0 ||
      Crc32c(0, data.data(), data.size() - 4) != stored_crc) {
    error = "snapshot " + path + " fails its checksum (" +
            std::to_string(data.size()) + " bytes)";
    return false;
  }
  SnapshotReader in(std::string_view(data).substr(
      sizeof(kMagic), data.size() - sizeof(kMagic) - 4));
  std::int64_t written_ms = 0;
  stats = SnapshotStats{};
  if (!in.Int(position) || !in.Int(written_ms) ||
      !ReadBody(in, wallet, now_ms, stats)) {
    error = "snapshot " + path + " is malformed despite a valid checksum";
    return false;
  }
  stats.bytes = data.size();
  stats.elapsed_ms = ElapsedUs(started) / 1000;
  return true;
}

}  // namespace wallet
