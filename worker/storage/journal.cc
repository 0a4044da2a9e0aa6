#include "worker/storage/journal.h"

#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <limits>

#include "common/log.h"
#include "worker/storage/record_codec.h"

namespace wallet {
namespace {

constexpr std::uint64_t kNoRoll = std::numeric_limits<std::uint64_t>::max();

}  // namespace

bool ParseSyncMode(std::string_view name, SyncMode& mode) {
  if (name == "always") {
    mode = SyncMode::kAlways;
  } else if (name == "none") {
    mode = SyncMode::kNone;
  } else {
    return false;
  }
  return true;
}

std::string_view SyncModeName(SyncMode mode) {
  return mode == SyncMode::kAlways ? "always" : "none";
}

std::string SegmentName(std::uint64_t start_position) {
  char name[64];
  std::snprintf(name, sizeof(name), "journal-%020" PRIu64 ".wlog",
                start_position);
  return name;
}

std::unique_ptr<Journal> Journal::Open(const JournalOptions& options,
                                       std::uint64_t position,
                                       std::string& error) {
  if (!MakeDirectory(options.dir, error)) return nullptr;
  std::unique_ptr<Journal> journal(new Journal(options, position, nullptr));
  if (!journal->StartSegment(position, error)) return nullptr;
  journal->writer_ = std::thread([j = journal.get()] { j->WriterLoop(); });
  return journal;
}

Journal::Journal(const JournalOptions& options, std::uint64_t position,
                 std::unique_ptr<AppendFile> segment)
    : options_(options),
      segment_(std::move(segment)),
      segment_start_(position),
      written_(position) {
  MutexLock lock(mu_);
  appended_ = position;
  durable_ = position;
  rolled_ = position;
  roll_at_ = kNoRoll;
}

Journal::~Journal() { Close(); }

bool Journal::StartSegment(std::uint64_t position, std::string& error) {
  const std::string path = options_.dir + "/" + SegmentName(position);
  // A segment with this name can only be an empty one that a crash left
  // right after creating it: recovery ended at its start.
  const bool exists = ::access(path.c_str(), F_OK) == 0;
  std::unique_ptr<AppendFile> file = options_.open_file(path, !exists, error);
  if (file == nullptr || !SyncDirectory(options_.dir, error)) return false;
  segment_ = std::move(file);
  segment_start_ = position;
  return true;
}

std::uint64_t Journal::Append(const Record& record) {
  MutexLock lock(mu_);
  const std::size_t before = pending_.size();
  EncodeRecord(record, pending_);
  appended_ += pending_.size() - before;
  ++records_;
  writer_wake_.Signal();
  return appended_;
}

std::uint64_t Journal::appended_position() const {
  MutexLock lock(mu_);
  return appended_;
}

bool Journal::WaitDurable(std::uint64_t position) {
  MutexLock lock(mu_);
  while (durable_ < position && !failed()) durable_wake_.Wait(mu_);
  return !failed();
}

bool Journal::WaitDurableSoon(std::uint64_t position) {
  MutexLock lock(mu_);
  if (durable_ < position && !failed()) {
    hurry_ = true;
    pace_wake_.Signal();
  }
  while (durable_ < position && !failed()) durable_wake_.Wait(mu_);
  return !failed();
}

std::uint64_t Journal::Roll() {
  MutexLock lock(mu_);
  const std::uint64_t position = appended_;
  if (roll_at_ == kNoRoll || roll_at_ < position) roll_at_ = position;
  writer_wake_.Signal();
  pace_wake_.Signal();
  while (rolled_ < position && !failed()) durable_wake_.Wait(mu_);
  return position;
}

bool Journal::Close() {
  {
    MutexLock lock(mu_);
    if (stopping_) return !failed();
    stopping_ = true;
    writer_wake_.Signal();
    pace_wake_.Signal();
  }
  if (writer_.joinable()) writer_.join();
  return !failed();
}

JournalStats Journal::stats() const {
  MutexLock lock(mu_);
  return {appended_, durable_, syncs_, records_};
}

void Journal::Fail(const std::string& error) {
  Log(LogLevel::kError, "journal",
      "event=failed error=\"%s\" action=\"no further results are "
      "acknowledged; restart to recover from disk\"",
      error.c_str());
  MutexLock lock(mu_);
  failed_.store(true, std::memory_order_release);
  durable_wake_.SignalAll();
}

bool Journal::WriteGroup(const std::string& group, std::uint64_t start,
                         std::uint64_t roll_at, std::string& error) {
  std::string_view rest(group);
  const bool roll_requested = roll_at != kNoRoll;
  const bool segment_full =
      written_ - segment_start_ >= options_.segment_bytes_max;
  if (roll_requested || (segment_full && !rest.empty())) {
    const std::uint64_t at = roll_requested ? roll_at : start;
    const std::string_view before = rest.substr(0, at - start);
    if (!segment_->Append(before, error)) return false;
    if (at != segment_start_) {
      if (!segment_->Sync(error) || !StartSegment(at, error)) return false;
    }
    rest.remove_prefix(before.size());
  }
  if (!segment_->Append(rest, error)) return false;
  written_ = start + group.size();
  return true;
}

void Journal::WriterLoop() {
  const auto interval = std::chrono::milliseconds(options_.sync_interval_ms);
  const bool always = options_.sync == SyncMode::kAlways;
  const auto group_every = std::chrono::microseconds(options_.group_commit_us);
  bool unsynced = false;  // kNone: written since the last sync.
  auto last_sync = std::chrono::steady_clock::now();  // kNone.
  std::chrono::steady_clock::time_point group_taken;
  for (;;) {
    // Each sync costs about 50 us of CPU on top of its wait (measured in
    // docs/storage.md); spacing groups lets one sync cover a whole
    // interval's records instead of a few. Waits only if the previous
    // group was taken less than an interval ago, and not for a roll, a
    // stop or a caller that cannot wait (WaitDurableSoon).
    const auto next_group = group_taken + group_every;
    std::uint64_t start = 0, end = 0, roll_at = kNoRoll;
    bool stop = false;
    {
      MutexLock lock(mu_);
      while (!hurry_ && !stopping_ && roll_at_ == kNoRoll) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_group) break;
        pace_wake_.WaitFor(mu_, next_group - now);
      }
      while (pending_.empty() && roll_at_ == kNoRoll && !stopping_) {
        if (always || !unsynced) {
          writer_wake_.Wait(mu_);
          continue;
        }
        // kNone with written data: wake for the background sync.
        const auto now = std::chrono::steady_clock::now();
        if (now >= last_sync + interval) break;
        writer_wake_.WaitFor(mu_, last_sync + interval - now);
      }
      pending_.swap(writing_);
      group_taken = std::chrono::steady_clock::now();
      hurry_ = false;
      start = written_;
      end = start + writing_.size();
      roll_at = roll_at_;
      roll_at_ = kNoRoll;
      stop = stopping_;
    }

    std::string error;
    bool ok = WriteGroup(writing_, start, roll_at, error);
    unsynced = unsynced || !writing_.empty();
    // kNone syncs once per interval however busy it is, and at stop.
    const bool sync =
        unsynced && (always || stop ||
                     std::chrono::steady_clock::now() >= last_sync + interval);
    if (ok && sync) {
      ok = segment_->Sync(error);
      unsynced = false;
      last_sync = std::chrono::steady_clock::now();
    }
    writing_.clear();
    if (!ok) {
      Fail(error);
      return;
    }
    {
      MutexLock lock(mu_);
      durable_ = end;
      if (roll_at != kNoRoll) rolled_ = roll_at;
      if (sync) ++syncs_;
      durable_wake_.SignalAll();
    }
    if (stop) return;
  }
}

}  // namespace wallet
