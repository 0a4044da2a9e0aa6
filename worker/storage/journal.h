// Journal: the append-only log of every record the wallet commits, written
// in segments with group commit (docs/storage.md).
//
// Appenders (the apply threads, under the wallet's stripe locks) copy an
// encoded record into a pending buffer and get back a position: the byte
// offset, across all segments, where their record ends. One writer thread
// takes the whole pending buffer, writes it, and makes it durable with a
// single fdatasync, at most once per group_commit_us, so one sync covers
// every command that arrived since the previous group was taken.
// WaitDurable tells the publisher when a position is safe to acknowledge.
//
// After a failed write or sync the journal refuses to acknowledge anything
// again: WaitDurable returns false from then on, and the process must be
// restarted to recover from what is on disk.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "common/mutex.h"
#include "worker/core/record.h"
#include "worker/storage/file.h"

namespace wallet {

enum class SyncMode {
  kAlways,  // Acknowledge after fdatasync: survives a machine crash.
  kNone,    // Acknowledge after write(): survives a process crash; the
            // kernel's page cache is synced every sync_interval_ms.
};
bool ParseSyncMode(std::string_view name, SyncMode& mode);
std::string_view SyncModeName(SyncMode mode);

// Default group-commit interval, in microseconds (docs/storage.md has the
// measurements behind it).
inline constexpr std::int64_t kGroupCommitUsDefault = 1000;

struct JournalOptions {
  std::string dir;
  SyncMode sync = SyncMode::kAlways;
  // A segment is closed once it holds this many bytes (it may exceed it
  // by one group of records).
  std::uint64_t segment_bytes_max = 64ULL << 20;
  // kNone only: how often written data is synced in the background.
  std::int64_t sync_interval_ms = 1000;
  // Group commit: a group is taken at most once per this many
  // microseconds, so under load one sync covers everything that arrived
  // in the interval. An idle journal takes the next record at once; 0
  // takes a group as soon as the previous one is durable.
  std::int64_t group_commit_us = kGroupCommitUsDefault;
  AppendFileOpener open_file = OpenPosixAppendFile;
};

std::string SegmentName(std::uint64_t start_position);

struct JournalStats {
  std::uint64_t appended_position = 0;
  std::uint64_t durable_position = 0;
  std::uint64_t syncs = 0;
  std::uint64_t records = 0;
};

class Journal final : public CommitLog {
 public:
  // Opens a journal whose next record starts at `position` (where
  // recovery stopped reading), in a new segment named for it.
  static std::unique_ptr<Journal> Open(const JournalOptions& options,
                                       std::uint64_t position,
                                       std::string& error);
  ~Journal() override;
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Returns the end of the record: the position to wait for.
  std::uint64_t Append(const Record& record) override EXCLUDES(mu_);

  // End of the last record appended so far.
  std::uint64_t appended_position() const EXCLUDES(mu_);
  // Blocks until everything before `position` is durable. Returns false,
  // at once, if the journal has failed.
  bool WaitDurable(std::uint64_t position) EXCLUDES(mu_);
  // The same for a caller that waits alone and cannot share the wait
  // with others (a query): the writer takes its next group without
  // waiting out the rest of the group-commit interval.
  bool WaitDurableSoon(std::uint64_t position) EXCLUDES(mu_);
  // Closes the current segment and starts a new one at the current
  // position, which it returns once the new segment exists. A snapshot
  // taken after Roll covers every segment before the returned position.
  std::uint64_t Roll() EXCLUDES(mu_);
  // Writes and syncs everything appended, then stops the writer thread.
  // Returns false if anything could not be made durable.
  bool Close() EXCLUDES(mu_);

  bool failed() const { return failed_.load(std::memory_order_acquire); }
  JournalStats stats() const EXCLUDES(mu_);

 private:
  Journal(const JournalOptions& options, std::uint64_t position,
          std::unique_ptr<AppendFile> segment);
  void WriterLoop() EXCLUDES(mu_);
  bool WriteGroup(const std::string& group, std::uint64_t start,
                  std::uint64_t roll_at, std::string& error);
  bool StartSegment(std::uint64_t position, std::string& error);
  void Fail(const std::string& error) EXCLUDES(mu_);

  // Fixed after construction.
  const JournalOptions options_;

  // Owned by the writer thread (and by Open before it starts).
  std::unique_ptr<AppendFile> segment_;
  std::uint64_t segment_start_ = 0;
  std::uint64_t written_ = 0;  // End of what has been written.
  std::string writing_;        // The group being written.

  mutable Mutex mu_;
  CondVar writer_wake_;  // Work for the writer.
  // Ends the writer's wait between groups early: a roll, a stop or a
  // WaitDurableSoon. Appends do not signal it.
  CondVar pace_wake_;
  CondVar durable_wake_;  // durable_ or rolled_ moved, or failure.
  std::string pending_ GUARDED_BY(mu_);
  std::uint64_t appended_ GUARDED_BY(mu_) = 0;
  std::uint64_t durable_ GUARDED_BY(mu_) = 0;
  std::uint64_t roll_at_ GUARDED_BY(mu_) = 0;  // Requested roll, or 0.
  std::uint64_t rolled_ GUARDED_BY(mu_) = 0;   // Last completed roll.
  std::uint64_t syncs_ GUARDED_BY(mu_) = 0;
  std::uint64_t records_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool hurry_ GUARDED_BY(mu_) = false;  // A WaitDurableSoon is waiting.

  std::atomic<bool> failed_{false};
  std::thread writer_;
};

}  // namespace wallet
