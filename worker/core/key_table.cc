#include "worker/core/key_table.h"

#include <algorithm>
#include <limits>

#include "worker/core/check.h"

namespace wallet {

// The memory figure docs/architecture.md quotes per key.
static_assert(sizeof(KeyTable::Item) == 72);

std::size_t KeyTable::FindSlot(const KeyHash& hash) const {
  if (live_ == 0) return slots_.size();
  const std::uint32_t tag = TagOf(hash);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t at = Home(tag);; at = (at + 1) & mask) {
    const std::uint64_t slot = slots_[at];
    if (slot == kEmpty) return slots_.size();
    if (SlotTag(slot) == tag && ItemAt(SlotPosition(slot)).hash == hash) {
      return at;
    }
  }
}

std::size_t KeyTable::SlotOf(const KeyHash& hash,
                             std::uint32_t position) const {
  if (live_ == 0) return slots_.size();
  const std::uint64_t wanted = Pack(TagOf(hash), position);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t at = Home(TagOf(hash));; at = (at + 1) & mask) {
    if (slots_[at] == kEmpty) return slots_.size();
    if (slots_[at] == wanted) return at;
  }
}

const KeyEntry* KeyTable::Find(const KeyHash& hash) const {
  const std::size_t at = FindSlot(hash);
  if (at == slots_.size()) return nullptr;
  return &ItemAt(SlotPosition(slots_[at])).entry;
}

bool KeyTable::Insert(const KeyHash& hash, const KeyEntry& entry) {
  if (FindSlot(hash) != slots_.size()) return false;
  Check(queue_.size() < std::numeric_limits<std::uint32_t>::max(),
        "key stripe holds 2^32 entries");
  if ((live_ + 1) * kLoadMaxDenominator > slots_.size() * kLoadMaxNumerator)
    Grow();
  const auto position = static_cast<std::uint32_t>(front_ + queue_.size());
  queue_.push_back({hash, entry});
  PlaceSlot(Pack(TagOf(hash), position));
  ++live_;
  return true;
}

bool KeyTable::Erase(const KeyHash& hash) {
  const std::size_t at = FindSlot(hash);
  if (at == slots_.size()) return false;
  RemoveSlot(at);
  --live_;
  // The queue entry stays, dead, until it reaches the front; dropping
  // dead ones at the front keeps a table of erased keys from growing.
  while (!queue_.empty() && FrontSlot() == slots_.size()) {
    queue_.pop_front();
    ++front_;
  }
  return true;
}

void KeyTable::PlaceSlot(std::uint64_t slot) {
  const std::size_t mask = slots_.size() - 1;
  std::size_t at = Home(SlotTag(slot));
  while (slots_[at] != kEmpty) at = (at + 1) & mask;
  slots_[at] = slot;
}

void KeyTable::RemoveSlot(std::size_t at) {
  // Backward-shift deletion: pull later members of the probe run into the
  // hole so that no lookup stops early, and no tombstones build up.
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = at;
  for (std::size_t next = (hole + 1) & mask; slots_[next] != kEmpty;
       next = (next + 1) & mask) {
    const std::size_t home = Home(SlotTag(slots_[next]));
    // The entry may move to the hole if its home is not in (hole, next].
    const bool movable = ((next - home) & mask) >= ((next - hole) & mask);
    if (movable) {
      slots_[hole] = slots_[next];
      hole = next;
    }
  }
  slots_[hole] = kEmpty;
}

void KeyTable::Grow() {
  std::vector<std::uint64_t> previous;
  previous.swap(slots_);
  slots_.assign(previous.empty() ? 16 : previous.size() * 2, kEmpty);
  for (const std::uint64_t slot : previous) {
    if (slot != kEmpty) PlaceSlot(slot);
  }
}

void KeyTable::SortByTime() {
  std::vector<Item> items;
  items.reserve(live_);
  ForEachOldestFirst([&items](const KeyHash& hash, const KeyEntry& entry) {
    items.push_back({hash, entry});
  });
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) {
                     return a.entry.time_ms < b.entry.time_ms;
                   });
  queue_.clear();
  std::fill(slots_.begin(), slots_.end(), kEmpty);
  live_ = 0;
  for (const Item& item : items) Insert(item.hash, item.entry);
}

}  // namespace wallet
