// Recovery: rebuilds a wallet from a data directory at start.
//
// Loads the newest snapshot, then replays every journal record after its
// position. A torn record at the very end of the last segment (a crash
// mid-write) is cut off and reported; anything else that does not read
// back (a bad snapshot, a corrupt record with valid ones after it, a gap
// between segments) fails recovery: the worker refuses to start rather
// than serve balances it cannot vouch for.
#pragma once

#include <cstdint>
#include <string>

#include "worker/core/wallet.h"
#include "worker/storage/snapshot.h"

namespace wallet {

struct RecoveryStats {
  bool had_snapshot = false;
  std::uint64_t snapshot_position = 0;
  SnapshotStats snapshot;
  std::uint64_t segments = 0;
  std::uint64_t records_replayed = 0;
  std::uint64_t truncated_bytes = 0;  // Cut from a torn tail.
  std::uint64_t truncated_at = 0;     // Journal position of the cut.
  std::uint64_t end_position = 0;     // Where the journal goes on.
  std::int64_t elapsed_ms = 0;
};

// `wallet` must be empty. Logs what it recovered.
bool Recover(const std::string& dir, Wallet& wallet, std::int64_t now_ms,
             RecoveryStats& stats, std::string& error);

// Parses "journal-<position>.wlog" and "snapshot-<position>.wsnap".
bool ParsePosition(std::string_view name, std::string_view prefix,
                   std::string_view suffix, std::uint64_t& position);

}  // namespace wallet
