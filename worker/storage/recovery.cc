#include "worker/storage/recovery.h"

#include <charconv>
#include <chrono>
#include <cinttypes>
#include <vector>

#include "common/log.h"
#include "worker/storage/file.h"
#include "worker/storage/record_codec.h"

namespace wallet {
namespace {

struct Segment {
  std::string path;
  std::uint64_t start = 0;
};

bool ListSegments(const std::string& dir, std::vector<Segment>& segments,
                  std::string& error) {
  std::vector<std::string> names;
  if (!ListDirectory(dir, "journal-", ".wlog", names, error)) return false;
  for (const std::string& name : names) {
    Segment segment{dir, 0};
    segment.path.append("/").append(name);
    if (!ParsePosition(name, "journal-", ".wlog", segment.start)) {
      error = "unexpected journal file name: " + segment.path;
      return false;
    }
    segments.push_back(segment);
  }
  return true;
}

bool LoadNewestSnapshot(const std::string& dir, Wallet& wallet,
                        std::int64_t now_ms, RecoveryStats& stats,
                        std::string& error) {
  std::vector<std::string> names;
  if (!ListDirectory(dir, "snapshot-", ".wsnap", names, error)) return false;
  if (names.empty()) return true;
  // Zero-padded positions: the last name is the newest snapshot.
  stats.had_snapshot = true;
  return LoadSnapshot(dir + "/" + names.back(), wallet, now_ms,
                      stats.snapshot_position, stats.snapshot, error);
}

// Whether any whole, valid record starts after `offset`. A torn write
// leaves only garbage behind the tear; a valid record after a bad one
// means the bad one is damage in the middle of the journal.
bool ValidRecordAfter(std::string_view data, std::size_t offset) {
  Record record;
  std::size_t next = 0;
  for (std::size_t at = offset + 1; at + kRecordHeaderBytes <= data.size();
       ++at) {
    if (DecodeRecord(data, at, record, next) == RecordRead::kOk) return true;
  }
  return false;
}

// Replays one segment from `offset`; sets `end` to where valid data ends.
bool ReplaySegment(const Segment& segment, std::size_t offset, bool last,
                   Wallet& wallet, std::int64_t now_ms, RecoveryStats& stats,
                   std::uint64_t& end, std::string& error) {
  std::string data;
  if (!ReadFile(segment.path, data, error)) return false;
  if (offset > data.size()) {
    error = "journal segment " + segment.path + " is shorter than its " +
            "snapshot says (" + std::to_string(data.size()) + " < " +
            std::to_string(offset) + " bytes)";
    return false;
  }
  Record record;
  std::size_t next = 0;
  for (;;) {
    const RecordRead read = DecodeRecord(data, offset, record, next);
    if (read == RecordRead::kOk) {
      wallet.Replay(record, now_ms);
      ++stats.records_replayed;
      offset = next;
      continue;
    }
    if (read == RecordRead::kEnd) break;
    const bool torn = last && (read == RecordRead::kTruncated ||
                               !ValidRecordAfter(data, offset));
    if (!torn) {
      error = "corrupt journal record in " + segment.path + " at offset " +
              std::to_string(offset) + " with valid data after it";
      return false;
    }
    stats.truncated_bytes = data.size() - offset;
    stats.truncated_at = segment.start + offset;
    Log(LogLevel::kWarn, "recovery",
        "event=torn_tail segment=%s offset=%zu bytes_cut=%zu "
        "note=\"unacknowledged tail of a crash; cut off\"",
        segment.path.c_str(), offset, data.size() - offset);
    if (!TruncateFile(segment.path, offset, error)) return false;
    break;
  }
  end = segment.start + offset;
  return true;
}

bool ReplayJournal(const std::string& dir, Wallet& wallet, std::int64_t now_ms,
                   RecoveryStats& stats, std::string& error) {
  std::vector<Segment> segments;
  if (!ListSegments(dir, segments, error)) return false;
  const std::uint64_t from = stats.snapshot_position;
  // Segments wholly before the snapshot are covered by it (a crash may
  // have left them before their removal).
  std::size_t first = 0;
  while (first + 1 < segments.size() && segments[first + 1].start <= from) {
    ++first;
  }
  stats.end_position = from;
  if (first == segments.size()) return true;  // No journal yet.
  if (segments[first].start > from) {
    error = "journal segment missing: the snapshot covers up to " +
            std::to_string(from) + " but the first segment starts at " +
            std::to_string(segments[first].start);
    return false;
  }
  std::uint64_t expected = segments[first].start;
  for (std::size_t i = first; i < segments.size(); ++i) {
    if (i > first && segments[i].start != expected) {
      error = "journal segment missing between positions " +
              std::to_string(expected) + " and " +
              std::to_string(segments[i].start);
      return false;
    }
    const std::size_t offset =
        i == first ? static_cast<std::size_t>(from - segments[i].start) : 0;
    if (!ReplaySegment(segments[i], offset, i + 1 == segments.size(), wallet,
                       now_ms, stats, expected, error)) {
      return false;
    }
    ++stats.segments;
  }
  stats.end_position = expected;
  return true;
}

}  // namespace

bool ParsePosition(std::string_view name, std::string_view prefix,
                   std::string_view suffix, std::uint64_t& position) {
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) return false;
  const std::string_view digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), position);
  return ec == std::errc() && end == digits.data() + digits.size();
}

bool Recover(const std::string& dir, Wallet& wallet, std::int64_t now_ms,
             RecoveryStats& stats, std::string& error) {
  const auto started = std::chrono::steady_clock::now();
  stats = RecoveryStats{};
  if (!MakeDirectory(dir, error) ||
      !LoadNewestSnapshot(dir, wallet, now_ms, stats, error) ||
      !ReplayJournal(dir, wallet, now_ms, stats, error)) {
    return false;
  }
  stats.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count();
  Log(LogLevel::kInfo, "recovery",
      "event=recovered dir=%s snapshot=%s snapshot_position=%" PRIu64
      " segments=%" PRIu64 " records_replayed=%" PRIu64
      " accounts=%zu keys=%zu truncated_bytes=%" PRIu64
      " journal_position=%" PRIu64 " elapsed_ms=%" PRId64,
      dir.c_str(), stats.had_snapshot ? "yes" : "no", stats.snapshot_position,
      stats.segments, stats.records_replayed, wallet.account_count(),
      wallet.key_count(), stats.truncated_bytes, stats.end_position,
      stats.elapsed_ms);
  return true;
}

}  // namespace wallet
