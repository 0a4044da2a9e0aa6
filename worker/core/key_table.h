// KeyTable: one key stripe's idempotency keys, what each first application
// returned, and the order they were first applied in, for expiry.
//
// Entries live in a queue in insertion order, which is also the expiry
// order: the oldest is at the front. An open-addressing index of 8-byte
// slots (a 32-bit tag of the hash and the entry's queue position) finds
// them. A lookup of a new key, the common case, reads one index cache
// line; a hit reads one entry besides. There is no node per key, and
// growing the index moves 8-byte slots without touching the entries.
//
// Erasing a key in the middle (one found expired before the sweep reached
// it) removes it from the index only; its queue entry becomes dead and is
// dropped when it reaches the front.
//
// Not thread-safe: the wallet guards each table with its stripe's mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <vector>

#include "common/protocol.h"

namespace wallet {

// 128-bit hash of an idempotency key. The table stores this, not the key:
// two different keys colliding needs about 2^64 keys in the window.
struct KeyHash {
  std::uint64_t low = 0;
  std::uint64_t high = 0;
  bool operator==(const KeyHash&) const = default;
};

// What the table remembers of a key: enough to answer a retry with the
// first result and to name the first field in which a retry differs.
// String fields are kept as 32-bit hashes to bound memory per key.
struct KeyEntry {
  std::int64_t time_ms = 0;  // When first applied; expiry counts from here.
  std::int64_t amount_minor = 0;
  std::int64_t balance_minor = 0;  // Account after the first application.
  std::uint64_t version = 0;
  std::uint32_t user_hash = 0;
  std::uint32_t currency_hash = 0;
  std::uint32_t source_hash = 0;
  std::uint32_t ref_hash = 0;
  Op op = Op::kTopup;
  Status status = Status::kApplied;  // kApplied or kRejected.
  Reason reason = Reason::kNone;
  std::int8_t failed_leg = -1;  // A rejected batch: the leg that failed.
};

class KeyTable {
 public:
  struct Item {
    KeyHash hash;
    KeyEntry entry;
  };

  KeyTable() = default;
  // Numbers the first entry `first_position` instead of 0, so that tests
  // can cross the 2^32 wrap of the index's positions without inserting
  // four billion keys.
  explicit KeyTable(std::uint64_t first_position) : front_(first_position) {}

  std::size_t size() const { return live_; }
  // Time of the most recently inserted entry (live or not), or the
  // lowest time if there is none.
  std::int64_t newest_time_ms() const {
    return queue_.empty() ? std::numeric_limits<std::int64_t>::min()
                          : queue_.back().entry.time_ms;
  }

  // The entry for `hash`, or null. The pointer is good until the next
  // Insert, Erase, ExpireFront or SortByTime.
  const KeyEntry* Find(const KeyHash& hash) const;

  // Adds `hash` as the newest entry. False (and nothing changes) if it is
  // already there.
  bool Insert(const KeyHash& hash, const KeyEntry& entry);

  // Removes `hash`; false if it was not there.
  bool Erase(const KeyHash& hash);

  // Removes entries from the oldest end while `expired(entry)` holds,
  // calling `erased(hash)` for each live one removed; returns how many
  // live entries went. Entries inserted out of time order (a few
  // milliseconds, across apply threads) wait behind the one in front of
  // them; lookups still see them as expired by their own time.
  template <typename Expired, typename Erased>
  std::size_t ExpireFront(Expired&& expired, Erased&& erased) {
    std::size_t removed = 0;
    while (!queue_.empty()) {
      const Item& front = queue_.front();
      const std::size_t at = FrontSlot();
      const bool live = at != slots_.size();
      if (live && !expired(front.entry)) break;
      if (live) {
        erased(front.hash);
        RemoveSlot(at);
        --live_;
        ++removed;
      }
      queue_.pop_front();
      ++front_;
    }
    return removed;
  }

  // Calls `visit(hash, entry)` for every live entry, oldest first.
  template <typename Visit>
  void ForEachOldestFirst(Visit&& visit) const {
    for (std::size_t i = 0; i < queue_.size(); ++i) {
      const Item& item = queue_[i];
      if (SlotOf(item.hash, static_cast<std::uint32_t>(front_ + i)) !=
          slots_.size()) {
        visit(item.hash, item.entry);
      }
    }
  }

  // Re-orders the live entries by time (stable) and drops dead ones: for
  // a table filled out of order, such as from a snapshot written with a
  // different stripe count.
  void SortByTime();

  // Capacity of the index, for tests.
  std::size_t index_slots() const { return slots_.size(); }

 private:
  static constexpr std::uint64_t kEmpty = 0;
  // The index grows past 7/10 full: linear probing stays short.
  static constexpr std::size_t kLoadMaxNumerator = 7;
  static constexpr std::size_t kLoadMaxDenominator = 10;

  // A slot packs a tag (bits of hash.high, never 0) and the entry's queue
  // position modulo 2^32; the queue never holds 2^32 entries, so the
  // position relative to the front is unambiguous.
  static std::uint32_t TagOf(const KeyHash& hash) {
    return static_cast<std::uint32_t>(hash.high >> 32) | 1U;
  }
  static std::uint64_t Pack(std::uint32_t tag, std::uint32_t position) {
    return (static_cast<std::uint64_t>(tag) << 32) | position;
  }
  static std::uint32_t SlotTag(std::uint64_t slot) {
    return static_cast<std::uint32_t>(slot >> 32);
  }
  static std::uint32_t SlotPosition(std::uint64_t slot) {
    return static_cast<std::uint32_t>(slot);
  }
  std::size_t Home(std::uint32_t tag) const {
    return static_cast<std::size_t>(
        (static_cast<std::uint64_t>(tag) * slots_.size()) >> 32);
  }
  const Item& ItemAt(std::uint32_t position) const {
    return queue_[static_cast<std::uint32_t>(
        position - static_cast<std::uint32_t>(front_))];
  }

  // The index slot holding `hash`, or slots_.size() if none.
  std::size_t FindSlot(const KeyHash& hash) const;
  // The slot pointing at exactly this queue position, or slots_.size() if
  // none: the entry there is dead.
  std::size_t SlotOf(const KeyHash& hash, std::uint32_t position) const;
  std::size_t FrontSlot() const {
    return SlotOf(queue_.front().hash, static_cast<std::uint32_t>(front_));
  }
  void PlaceSlot(std::uint64_t slot);
  void RemoveSlot(std::size_t at);
  void Grow();

  std::deque<Item> queue_;            // Oldest first; dead entries included.
  std::uint64_t front_ = 0;           // Position of queue_.front().
  std::vector<std::uint64_t> slots_;  // Size 0 or a power of two.
  std::size_t live_ = 0;              // Entries in the index.
};

}  // namespace wallet
