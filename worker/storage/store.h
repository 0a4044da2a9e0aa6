// Store: the worker's durable storage in one data directory. It recovers
// the wallet at open, owns the journal the wallet commits to, and takes
// snapshots: in the background whenever the journal has grown by
// `snapshot_every_bytes` since the last one, and at a clean close.
//
// After a snapshot is durable, the journal segments and older snapshots it
// covers are removed, so disk use is bounded by the live state (balances
// and keys inside the window) plus the journal since the last snapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "common/mutex.h"
#include "worker/core/wallet.h"
#include "worker/storage/journal.h"
#include "worker/storage/recovery.h"

namespace wallet {

struct StoreOptions {
  std::string dir = "wallet-data";
  SyncMode sync = SyncMode::kAlways;
  std::uint64_t segment_bytes_max = 64ULL << 20;
  std::uint64_t snapshot_every_bytes = 256ULL << 20;
  std::int64_t group_commit_us = kGroupCommitUsDefault;  // JournalOptions
  AppendFileOpener open_file = OpenPosixAppendFile;
};

class Store {
 public:
  // Recovers `wallet` (which must be empty) and opens the journal after
  // what was recovered. Returns null with `error` set on failure.
  static std::unique_ptr<Store> Open(const StoreOptions& options,
                                     Wallet& wallet, std::string& error);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Journal& journal() { return *journal_; }
  const RecoveryStats& recovery() const { return recovery_; }

  // Takes a snapshot now and removes what it covers. One at a time.
  bool Snapshot(std::string& error) EXCLUDES(snapshot_mu_);

  // Stops background snapshots and closes the journal. With
  // `final_snapshot`, also snapshots, so that the next start is fast.
  // Returns false if the journal failed or the snapshot could not be made.
  bool Close(bool final_snapshot) EXCLUDES(stop_mu_);

 private:
  Store(const StoreOptions& options, Wallet& wallet);
  void SnapshotLoop() EXCLUDES(stop_mu_);
  void RemoveCovered(std::uint64_t position);

  // Fixed after Open.
  const StoreOptions options_;
  Wallet& wallet_;
  RecoveryStats recovery_;
  std::unique_ptr<Journal> journal_;

  Mutex snapshot_mu_;  // Serialises snapshots.
  std::uint64_t last_snapshot_ GUARDED_BY(snapshot_mu_) = 0;

  Mutex stop_mu_;
  CondVar stop_wake_;
  bool stopping_ GUARDED_BY(stop_mu_) = false;
  std::thread snapshotter_;
};

}  // namespace wallet
