// Tests of the idempotency table of one key stripe
// (worker/core/key_table.h): lookups through colliding tags, erasing in
// the middle of probe runs, expiry from the oldest end, growth, sorting,
// and the wrap of its 32-bit positions, each against a plain model.
#include "worker/core/key_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <utility>
#include <vector>

namespace wallet {
namespace {

KeyEntry EntryAt(std::int64_t time_ms, std::int64_t amount = 1) {
  KeyEntry entry;
  entry.time_ms = time_ms;
  entry.amount_minor = amount;
  return entry;
}

// A distinct hash per n whose top 32 bits of `high` (the table's tag and
// home slot) take only 2^tag_bits values, spread over the range: small
// values force many keys onto the same tags and home slots.
KeyHash Hash(std::uint64_t n, unsigned tag_bits = 32) {
  const auto tag_source =
      static_cast<std::uint32_t>(tag_bits == 0 ? 0 : n % (1ULL << tag_bits));
  const std::uint64_t tag = tag_source * 0x9e3779b1U;  // A bijection.
  return {n * 0x9e3779b97f4a7c15ULL + 1, (tag << 32) | (n & 0xffffffffULL)};
}

struct ModelItem {
  KeyHash hash;
  std::int64_t time_ms;
  std::int64_t amount;
};

// What the table must hold: live keys in insertion order.
class Model {
 public:
  bool Insert(const KeyHash& hash, std::int64_t time_ms, std::int64_t amount) {
    if (Find(hash) != nullptr) return false;
    items_.push_back({hash, time_ms, amount});
    return true;
  }
  bool Erase(const KeyHash& hash) {
    auto it = std::find_if(items_.begin(), items_.end(),
                           [&](const ModelItem& m) { return m.hash == hash; });
    if (it == items_.end()) return false;
    items_.erase(it);
    return true;
  }
  const ModelItem* Find(const KeyHash& hash) const {
    for (const ModelItem& item : items_) {
      if (item.hash == hash) return &item;
    }
    return nullptr;
  }
  // Like ExpireFront: from the oldest while expired; the hashes removed.
  std::vector<KeyHash> ExpireThrough(std::int64_t cutoff_ms) {
    std::vector<KeyHash> removed;
    while (!items_.empty() && items_.front().time_ms <= cutoff_ms) {
      removed.push_back(items_.front().hash);
      items_.erase(items_.begin());
    }
    return removed;
  }
  const std::vector<ModelItem>& items() const { return items_; }

 private:
  std::vector<ModelItem> items_;
};

void ExpectSame(const KeyTable& table, const Model& model) {
  ASSERT_EQ(table.size(), model.items().size());
  std::vector<ModelItem> seen;
  table.ForEachOldestFirst([&](const KeyHash& hash, const KeyEntry& entry) {
    seen.push_back({hash, entry.time_ms, entry.amount_minor});
  });
  ASSERT_EQ(seen.size(), model.items().size());
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].hash, model.items()[i].hash) << "at " << i;
    EXPECT_EQ(seen[i].amount, model.items()[i].amount) << "at " << i;
    const KeyEntry* found = table.Find(model.items()[i].hash);
    ASSERT_NE(found, nullptr) << "at " << i;
    EXPECT_EQ(found->amount_minor, model.items()[i].amount);
  }
}

TEST(KeyTable, FindsWhatWasInsertedAndNothingElse) {
  KeyTable table;
  EXPECT_EQ(table.Find(Hash(1)), nullptr);
  EXPECT_TRUE(table.Insert(Hash(1), EntryAt(10, 100)));
  EXPECT_FALSE(table.Insert(Hash(1), EntryAt(11, 200)));
  ASSERT_NE(table.Find(Hash(1)), nullptr);
  EXPECT_EQ(table.Find(Hash(1))->amount_minor, 100);
  EXPECT_EQ(table.Find(Hash(2)), nullptr);
  EXPECT_EQ(table.size(), 1u);
}

TEST(KeyTable, SameTagDifferentHashesAreDifferentKeys) {
  // Equal tags and homes: only the full 128-bit hash tells them apart.
  KeyTable table;
  const KeyHash a{1, 0x1234'5678'0000'0001ULL};
  const KeyHash b{2, 0x1234'5678'0000'0001ULL};
  const KeyHash c{1, 0x1234'5678'0000'0002ULL};
  EXPECT_TRUE(table.Insert(a, EntryAt(1, 1)));
  EXPECT_TRUE(table.Insert(b, EntryAt(1, 2)));
  EXPECT_TRUE(table.Insert(c, EntryAt(1, 3)));
  EXPECT_EQ(table.Find(a)->amount_minor, 1);
  EXPECT_EQ(table.Find(b)->amount_minor, 2);
  EXPECT_EQ(table.Find(c)->amount_minor, 3);
  EXPECT_TRUE(table.Erase(b));
  EXPECT_EQ(table.Find(b), nullptr);
  EXPECT_EQ(table.Find(a)->amount_minor, 1);
  EXPECT_EQ(table.Find(c)->amount_minor, 3);
}

TEST(KeyTable, GrowsAndKeepsEveryKey) {
  KeyTable table;
  constexpr std::uint64_t kKeys = 50'000;
  for (std::uint64_t n = 0; n < kKeys; ++n) {
    ASSERT_TRUE(table.Insert(Hash(n), EntryAt(1, static_cast<int>(n))));
  }
  // At most 7/10 full after growing in powers of two.
  EXPECT_EQ(table.size(), kKeys);
  EXPECT_GE(table.index_slots() * 7, table.size() * 10);
  EXPECT_EQ(table.index_slots() & (table.index_slots() - 1), 0u);
  for (std::uint64_t n = 0; n < kKeys; ++n) {
    const KeyEntry* found = table.Find(Hash(n));
    ASSERT_NE(found, nullptr) << n;
    ASSERT_EQ(found->amount_minor, static_cast<int>(n));
  }
  EXPECT_EQ(table.Find(Hash(kKeys)), nullptr);
  std::uint64_t next = 0;
  table.ForEachOldestFirst([&](const KeyHash& hash, const KeyEntry&) {
    EXPECT_EQ(hash, Hash(next++));
  });
  EXPECT_EQ(next, kKeys);
}

TEST(KeyTable, ExpiresOldestFirstAndStopsAtTheFirstLiveOne) {
  KeyTable table;
  for (std::int64_t t = 0; t < 10; ++t) {
    ASSERT_TRUE(table.Insert(Hash(static_cast<std::uint64_t>(t)), EntryAt(t)));
  }
  std::vector<KeyHash> erased;
  const std::size_t removed =
      table.ExpireFront([](const KeyEntry& e) { return e.time_ms < 4; },
                        [&](const KeyHash& h) { erased.push_back(h); });
  EXPECT_EQ(removed, 4u);
  ASSERT_EQ(erased.size(), 4u);
  for (std::uint64_t i = 0; i < 4; ++i) EXPECT_EQ(erased[i], Hash(i));
  EXPECT_EQ(table.size(), 6u);
  EXPECT_EQ(table.Find(Hash(3)), nullptr);
  EXPECT_NE(table.Find(Hash(4)), nullptr);
}

TEST(KeyTable, ErasedKeyIsNotExpiredAgainAndMayComeBack) {
  KeyTable table;
  ASSERT_TRUE(table.Insert(Hash(1), EntryAt(1)));
  ASSERT_TRUE(table.Insert(Hash(2), EntryAt(2)));
  ASSERT_TRUE(table.Insert(Hash(3), EntryAt(3)));
  // Erased in the middle, then used again: a newer entry at the back.
  ASSERT_TRUE(table.Erase(Hash(2)));
  ASSERT_TRUE(table.Insert(Hash(2), EntryAt(9, 42)));
  std::vector<KeyHash> erased;
  const std::size_t removed =
      table.ExpireFront([](const KeyEntry& e) { return e.time_ms <= 3; },
                        [&](const KeyHash& h) { erased.push_back(h); });
  // The old, dead entry of key 2 was passed over, not expired.
  EXPECT_EQ(removed, 2u);
  EXPECT_EQ(erased, (std::vector<KeyHash>{Hash(1), Hash(3)}));
  ASSERT_NE(table.Find(Hash(2)), nullptr);
  EXPECT_EQ(table.Find(Hash(2))->amount_minor, 42);
  EXPECT_EQ(table.size(), 1u);
}

TEST(KeyTable, LaterEntryWithAnEarlierTimeWaitsBehindTheFront) {
  KeyTable table;
  ASSERT_TRUE(table.Insert(Hash(1), EntryAt(100)));
  ASSERT_TRUE(table.Insert(Hash(2), EntryAt(98)));  // A few ms behind.
  EXPECT_EQ(table.ExpireFront([](const KeyEntry& e) { return e.time_ms <= 99; },
                              [](const KeyHash&) {}),
            0u);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(
      table.ExpireFront([](const KeyEntry& e) { return e.time_ms <= 100; },
                        [](const KeyHash&) {}),
      2u);
}

TEST(KeyTable, SortByTimeOrdersLiveEntriesAndDropsDeadOnes) {
  KeyTable table;
  const std::vector<std::int64_t> times = {50, 10, 40, 10, 30, 20};
  for (std::size_t i = 0; i < times.size(); ++i) {
    ASSERT_TRUE(table.Insert(Hash(i), EntryAt(times[i], static_cast<int>(i))));
  }
  ASSERT_TRUE(table.Erase(Hash(4)));  // Time 30.
  table.SortByTime();
  std::vector<std::pair<std::int64_t, std::int64_t>> seen;
  table.ForEachOldestFirst([&](const KeyHash&, const KeyEntry& e) {
    seen.emplace_back(e.time_ms, e.amount_minor);
  });
  // Stable: the two entries at time 10 keep their order.
  const std::vector<std::pair<std::int64_t, std::int64_t>> want = {
      {10, 1}, {10, 3}, {20, 5}, {40, 2}, {50, 0}};
  EXPECT_EQ(seen, want);
  EXPECT_EQ(table.ExpireFront([](const KeyEntry& e) { return e.time_ms <= 20; },
                              [](const KeyHash&) {}),
            3u);
}

// Random operations against the model, with few distinct tags so that
// probe runs are long and erasures shift entries across them; starting
// just below 2^32 so that positions wrap partway.
void RunAgainstModel(std::uint64_t first_position, unsigned tag_bits,
                     std::uint32_t seed, std::int64_t window = 50) {
  KeyTable table(first_position);
  Model model;
  std::mt19937 random(seed);
  std::int64_t now = 0;
  std::uint64_t next_key = 0;
  // Half the erasures and lookups aim at a key the model holds, the rest
  // at any key ever issued (mostly gone).
  const auto pick = [&]() {
    if (random() % 2 == 0 && !model.items().empty()) {
      return model.items()[random() % model.items().size()].hash;
    }
    return Hash(random() % next_key, tag_bits);
  };
  for (int step = 0; step < 20'000; ++step) {
    const auto roll = static_cast<std::uint32_t>(random() % 100);
    if (roll < 55) {
      // A new key, or (1 in 10) one that may already be there.
      const std::uint64_t n =
          roll < 5 && next_key > 0 ? random() % next_key : next_key++;
      const auto amount = static_cast<std::int64_t>(random() % 1000);
      ASSERT_EQ(table.Insert(Hash(n, tag_bits), EntryAt(now, amount)),
                model.Insert(Hash(n, tag_bits), now, amount));
      now += static_cast<std::int64_t>(random() % 3);
    } else if (roll < 80 && next_key > 0) {
      const KeyHash hash = pick();
      ASSERT_EQ(table.Erase(hash), model.Erase(hash));
    } else if (roll < 95 && next_key > 0) {
      const KeyHash hash = pick();
      const KeyEntry* got = table.Find(hash);
      const ModelItem* want = model.Find(hash);
      ASSERT_EQ(got == nullptr, want == nullptr);
      if (got != nullptr) {
        ASSERT_EQ(got->amount_minor, want->amount);
      }
    } else {
      const std::int64_t cutoff = now - window;
      std::vector<KeyHash> erased;
      const std::size_t removed = table.ExpireFront(
          [&](const KeyEntry& e) { return e.time_ms <= cutoff; },
          [&](const KeyHash& h) { erased.push_back(h); });
      ASSERT_EQ(removed, erased.size());
      ASSERT_EQ(erased, model.ExpireThrough(cutoff));
    }
  }
  ExpectSame(table, model);
}

TEST(KeyTable, MatchesAModelWithManyCollisions) {
  RunAgainstModel(0, 3, 1);
  RunAgainstModel(0, 0, 2);
}

TEST(KeyTable, MatchesAModelWhileTheIndexGrows) {
  // A long window keeps thousands of keys live, so the index grows
  // several times between erasures and expiries.
  RunAgainstModel(0, 32, 5, 20'000);
  RunAgainstModel((1ULL << 32) - 3'000, 6, 6, 20'000);
}

TEST(KeyTable, ErasingShiftsARunThatWrapsPastTheEnd) {
  // In a 16-slot index, four keys whose homes are the last two slots
  // fill slots 14, 15, 0 and 1. Erasing the first must pull the others
  // back across the end without losing any.
  KeyTable table;
  const auto at_home = [](std::uint32_t home, std::uint64_t n) {
    // Home is the tag's top four bits in a 16-slot index.
    const std::uint64_t tag = (static_cast<std::uint64_t>(home) << 28) | n;
    return KeyHash{n, tag << 32};
  };
  const std::vector<KeyHash> keys = {at_home(14, 1), at_home(14, 2),
                                     at_home(15, 3), at_home(15, 4)};
  for (const KeyHash& key : keys) ASSERT_TRUE(table.Insert(key, EntryAt(1)));
  ASSERT_EQ(table.index_slots(), 16u);
  ASSERT_TRUE(table.Erase(keys[0]));
  for (std::size_t i = 1; i < keys.size(); ++i) {
    EXPECT_NE(table.Find(keys[i]), nullptr) << i;
  }
  ASSERT_TRUE(table.Erase(keys[2]));
  EXPECT_NE(table.Find(keys[1]), nullptr);
  EXPECT_NE(table.Find(keys[3]), nullptr);
  EXPECT_EQ(table.size(), 2u);
}

TEST(KeyTable, MatchesAModelAcrossThePositionWrap) {
  RunAgainstModel((1ULL << 32) - 3'000, 32, 3);
  RunAgainstModel((1ULL << 32) - 3'000, 4, 4);
}

}  // namespace
}  // namespace wallet
