// Snapshot: the whole wallet in one checksummed file, covering the journal
// up to a position (docs/storage.md has the layout).
//
// Writing copies one stripe at a time under that stripe's lock, so the
// pipeline keeps running; the copy is "fuzzy" (stripes are taken at
// slightly different moments), which replay makes exact: it starts at
// the position taken before the first stripe was read, and replaying a
// record the snapshot already holds changes nothing.
#pragma once

#include <cstdint>
#include <string>

#include "worker/core/wallet.h"

namespace wallet {

std::string SnapshotName(std::uint64_t position);

struct SnapshotStats {
  std::uint64_t accounts = 0;
  std::uint64_t recent_ops = 0;
  std::uint64_t keys = 0;
  std::uint64_t bytes = 0;
  std::int64_t elapsed_ms = 0;
  // Longest time one stripe's lock was held by the copy.
  std::int64_t stripe_hold_us_max = 0;
};

// Writes `dir`/snapshot-<position>.wsnap through a temporary file, synced,
// renamed into place, and the directory synced.
bool WriteSnapshot(const std::string& dir, const Wallet& wallet,
                   std::uint64_t position, std::int64_t now_ms,
                   SnapshotStats& stats, std::string& error);

// Verifies the checksum of the whole file, then imports it into an empty
// wallet. Keys that have expired by `now_ms` are left out.
bool LoadSnapshot(const std::string& path, Wallet& wallet, std::int64_t now_ms,
                  std::uint64_t& position, SnapshotStats& stats,
                  std::string& error);

}  // namespace wallet
