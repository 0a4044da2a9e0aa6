#include "worker/storage/store.h"

#include <chrono>
#include <cinttypes>
#include <vector>

#include "common/log.h"

namespace wallet {
namespace {

// How often the background thread looks at the journal's growth.
constexpr auto kSnapshotCheckInterval = std::chrono::milliseconds(500);

}  // namespace

Store::Store(const StoreOptions& options, Wallet& wallet)
    : options_(options), wallet_(wallet) {}

std::unique_ptr<Store> Store::Open(const StoreOptions& options, Wallet& wallet,
                                   std::string& error) {
  std::unique_ptr<Store> store(new Store(options, wallet));
  if (!Recover(options.dir, wallet, WallClockMs(), store->recovery_, error)) {
    return nullptr;
  }
  JournalOptions journal_options;
  journal_options.dir = options.dir;
  journal_options.sync = options.sync;
  journal_options.segment_bytes_max = options.segment_bytes_max;
  journal_options.group_commit_us = options.group_commit_us;
  journal_options.open_file = options.open_file;
  store->journal_ =
      Journal::Open(journal_options, store->recovery_.end_position, error);
  if (store->journal_ == nullptr) return nullptr;
  {
    MutexLock lock(store->snapshot_mu_);
    store->last_snapshot_ = store->recovery_.snapshot_position;
  }
  store->snapshotter_ = std::thread([s = store.get()] { s->SnapshotLoop(); });
  return store;
}

Store::~Store() { Close(false); }

bool Store::Snapshot(std::string& error) {
  MutexLock lock(snapshot_mu_);
  if (journal_->failed()) {
    error = "journal has failed; a snapshot could hold unjournaled state";
    return false;
  }
  // Everything before `position` is already in memory: records are
  // appended under the stripe locks, after the change they describe.
  const std::uint64_t position = journal_->Roll();
  if (journal_->failed()) {
    // The roll itself failed: the segment before `position` may not be
    // on disk, so nothing may be removed on the snapshot's account.
    error = "journal failed while rolling for the snapshot";
    return false;
  }
  SnapshotStats stats;
  if (!WriteSnapshot(options_.dir, wallet_, position, WallClockMs(), stats,
                     error)) {
    Log(LogLevel::kError, "snapshot", "event=failed error=\"%s\"",
        error.c_str());
    return false;
  }
  last_snapshot_ = position;
  RemoveCovered(position);
  Log(LogLevel::kInfo, "snapshot",
      "event=written position=%" PRIu64 " accounts=%" PRIu64 " keys=%" PRIu64
      " bytes=%" PRIu64 " elapsed_ms=%" PRId64 " stripe_hold_us_max=%" PRId64,
      position, stats.accounts, stats.keys, stats.bytes, stats.elapsed_ms,
      stats.stripe_hold_us_max);
  return true;
}

void Store::RemoveCovered(std::uint64_t position) {
  std::string error;
  std::vector<std::string> names;
  if (ListDirectory(options_.dir, "snapshot-", ".wsnap", names, error)) {
    for (const std::string& name : names) {
      std::uint64_t at = 0;
      if (ParsePosition(name, "snapshot-", ".wsnap", at) && at < position) {
        RemoveFile(options_.dir + "/" + name, error);
      }
    }
  }
  // Roll made a segment start exactly at `position`: every segment that
  // starts before it ends at or before it.
  if (ListDirectory(options_.dir, "journal-", ".wlog", names, error)) {
    for (const std::string& name : names) {
      std::uint64_t at = 0;
      if (ParsePosition(name, "journal-", ".wlog", at) && at < position) {
        RemoveFile(options_.dir + "/" + name, error);
      }
    }
  }
  SyncDirectory(options_.dir, error);
}

void Store::SnapshotLoop() {
  for (;;) {
    {
      MutexLock lock(stop_mu_);
      if (stopping_) return;
      stop_wake_.WaitFor(stop_mu_, kSnapshotCheckInterval);
      if (stopping_) return;
    }
    std::uint64_t since = 0;
    {
      MutexLock lock(snapshot_mu_);
      since = last_snapshot_;
    }
    if (journal_->appended_position() - since >=
        options_.snapshot_every_bytes) {
      std::string error;
      Snapshot(error);
    }
  }
}

bool Store::Close(bool final_snapshot) {
  if (journal_ == nullptr) return false;  // Open did not get that far.
  {
    MutexLock lock(stop_mu_);
    if (stopping_) return !journal_->failed();
    stopping_ = true;
    stop_wake_.SignalAll();
  }
  if (snapshotter_.joinable()) snapshotter_.join();
  std::string error;
  bool ok = !journal_->failed();
  if (ok && final_snapshot) ok = Snapshot(error);
  return journal_->Close() && ok;
}

}  // namespace wallet
