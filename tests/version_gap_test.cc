// VersionGapTracker (common/client.h): how a subscriber counts the balance
// events it never received.
#include <gtest/gtest.h>

#include "common/client.h"

namespace wallet {
namespace {

BalanceEvent At(std::string user, std::string currency, std::uint64_t version) {
  BalanceEvent event;
  event.user = std::move(user);
  event.currency = std::move(currency);
  event.version = version;
  return event;
}

TEST(VersionGapTracker, CountsSkippedVersionsPerAccount) {
  VersionGapTracker gaps;
  EXPECT_EQ(gaps.Observe(At("alice", "gold", 5)), 0u);  // Baseline.
  EXPECT_EQ(gaps.Observe(At("alice", "gold", 6)), 0u);
  EXPECT_EQ(gaps.Observe(At("alice", "gems", 1)), 0u);  // Another account.
  EXPECT_EQ(gaps.Observe(At("alice", "gold", 10)), 3u);
  EXPECT_EQ(gaps.Observe(At("alice", "gems", 3)), 1u);
  EXPECT_EQ(gaps.missed(), 4u);
}

TEST(VersionGapTracker, RepeatedVersionIsNoGapAndOlderOneRestarts) {
  VersionGapTracker gaps;
  gaps.Observe(At("bob", "gold", 7));
  EXPECT_EQ(gaps.Observe(At("bob", "gold", 7)), 0u);
  // The account started over: version 2 is the new baseline, so 3 is no
  // gap and 5 misses one.
  EXPECT_EQ(gaps.Observe(At("bob", "gold", 2)), 0u);
  EXPECT_EQ(gaps.Observe(At("bob", "gold", 3)), 0u);
  EXPECT_EQ(gaps.Observe(At("bob", "gold", 5)), 1u);
  EXPECT_EQ(gaps.missed(), 1u);
}

TEST(VersionGapTracker, EachUserIsItsOwnAccount) {
  VersionGapTracker gaps;
  gaps.Observe(At("carol", "gold", 1));
  EXPECT_EQ(gaps.Observe(At("dave", "gold", 4)), 0u);  // Dave's baseline.
  EXPECT_EQ(gaps.Observe(At("carol", "gold", 2)), 0u);
  EXPECT_EQ(gaps.Observe(At("dave", "gold", 6)), 1u);
}

}  // namespace
}  // namespace wallet
