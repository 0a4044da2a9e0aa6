// Store (worker/storage/store.h): recovery at open, snapshots taken while
// the wallet keeps changing, removal of what a snapshot covers, the
// background snapshot, and refusal to snapshot over a failed journal.
#include "worker/storage/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/storage/faulty_file.h"
#include "tests/storage/storage_test_util.h"
#include "worker/core/wallet.h"
#include "worker/storage/journal.h"
#include "worker/storage/recovery.h"
#include "worker/storage/snapshot.h"

namespace wallet::storage_test {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  StoreOptions Options() const {
    StoreOptions options;
    options.dir = dir_.path();
    options.open_file = faults_.opener();
    return options;
  }

  static std::unique_ptr<Store> Open(const StoreOptions& options,
                                     Wallet& wallet) {
    std::string error;
    std::unique_ptr<Store> store = Store::Open(options, wallet, error);
    EXPECT_NE(store, nullptr) << error;
    return store;
  }

  // Applies [begin, end) through the store's journal at the test's clock
  // and waits until they are durable.
  void Apply(Store& store, Wallet& wallet, std::size_t begin,
             std::size_t end) const {
    ApplyRange(wallet, commands_, begin, end, now_ms_, store.journal());
    EXPECT_TRUE(
        store.journal().WaitDurable(store.journal().appended_position()));
  }

  std::vector<std::uint64_t> SegmentStarts() const {
    std::vector<std::uint64_t> starts;
    for (const std::string& name : SegmentNames(dir_.path())) {
      std::uint64_t start = 0;
      EXPECT_TRUE(ParsePosition(name, "journal-", ".wlog", start));
      starts.push_back(start);
    }
    return starts;
  }

  TempDir dir_;
  FaultInjector faults_;
  // Store::Open recovers at the wall clock, so commands use it too.
  const std::int64_t now_ms_ = WallClockMs();
  const std::vector<OwnedCommand> commands_ = MakeCommands(60, 9, "store");
};

using StoreLifecycle = StoreTest;

TEST_F(StoreLifecycle, EmptyDirectoryOpensCloseAndReopensEmpty) {
  {
    Wallet wallet(SmallWallet());
    std::unique_ptr<Store> store = Open(Options(), wallet);
    ASSERT_NE(store, nullptr);
    EXPECT_FALSE(store->recovery().had_snapshot);
    EXPECT_EQ(store->recovery().end_position, 0u);
    EXPECT_TRUE(store->Close(false));
  }
  Wallet wallet(SmallWallet());
  std::unique_ptr<Store> store = Open(Options(), wallet);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(wallet.account_count(), 0u);
  EXPECT_EQ(wallet.key_count(), 0u);
  EXPECT_EQ(SegmentNames(dir_.path()),
            std::vector<std::string>{SegmentName(0)});
}

using StoreSnapshot = StoreTest;

TEST_F(StoreSnapshot, SnapshotThenMoreRecordsRecoverEverything) {
  Wallet live(SmallWallet());
  std::uint64_t snapshot_position = 0;
  {
    std::unique_ptr<Store> store = Open(Options(), live);
    ASSERT_NE(store, nullptr);
    Apply(*store, live, 0, 20);
    std::string error;
    ASSERT_TRUE(store->Snapshot(error)) << error;
    snapshot_position = store->journal().appended_position();
    Apply(*store, live, 20, 40);
    ASSERT_TRUE(store->Close(false));
  }
  EXPECT_EQ(SnapshotNames(dir_.path()),
            std::vector<std::string>{SnapshotName(snapshot_position)});
  // The segment before the snapshot was removed; the one it rolled to
  // holds the rest.
  EXPECT_EQ(SegmentStarts(), std::vector<std::uint64_t>{snapshot_position});

  Wallet recovered(SmallWallet());
  std::unique_ptr<Store> store = Open(Options(), recovered);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->recovery().had_snapshot);
  EXPECT_EQ(store->recovery().snapshot_position, snapshot_position);
  EXPECT_EQ(store->recovery().records_replayed, 20u);
  EXPECT_TRUE(SameWallet(live, recovered, now_ms_));
}

TEST_F(StoreSnapshot, CloseWithSnapshotRemovesCoveredSegmentsAndReopens) {
  StoreOptions options = Options();
  options.segment_bytes_max = 300;
  Wallet live(SmallWallet());
  std::uint64_t end = 0;
  {
    std::unique_ptr<Store> store = Open(options, live);
    ASSERT_NE(store, nullptr);
    for (std::size_t i = 0; i < 30; ++i) Apply(*store, live, i, i + 1);
    ASSERT_GE(SegmentNames(dir_.path()).size(), 3u);
    end = store->journal().appended_position();
    ASSERT_TRUE(store->Close(true));
  }
  EXPECT_EQ(SnapshotNames(dir_.path()),
            std::vector<std::string>{SnapshotName(end)});
  EXPECT_EQ(SegmentStarts(), std::vector<std::uint64_t>{end});
  EXPECT_EQ(Names(dir_.path(), "snapshot", ".tmp"), std::vector<std::string>{});

  {
    Wallet recovered(SmallWallet());
    std::unique_ptr<Store> store = Open(options, recovered);
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(store->recovery().had_snapshot);
    EXPECT_EQ(store->recovery().records_replayed, 0u);
    EXPECT_EQ(store->recovery().end_position, end);
    EXPECT_TRUE(SameWallet(live, recovered, now_ms_));
    // Keep going on the recovered wallet; the next close replaces the
    // snapshot rather than adding one.
    Apply(*store, recovered, 30, 40);
    NullLog null_log;
    ApplyRange(live, commands_, 30, 40, now_ms_, null_log);
    end = store->journal().appended_position();
    ASSERT_TRUE(store->Close(true));
  }
  EXPECT_EQ(SnapshotNames(dir_.path()),
            std::vector<std::string>{SnapshotName(end)});
  EXPECT_EQ(SegmentStarts(), std::vector<std::uint64_t>{end});
  Wallet recovered(SmallWallet());
  std::unique_ptr<Store> store = Open(options, recovered);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(SameWallet(live, recovered, now_ms_));
}

TEST_F(StoreSnapshot, BackgroundSnapshotAppearsOnceJournalGrows) {
  StoreOptions options = Options();
  options.snapshot_every_bytes = 1;
  Wallet live(SmallWallet());
  {
    std::unique_ptr<Store> store = Open(options, live);
    ASSERT_NE(store, nullptr);
    Apply(*store, live, 0, 10);
    // Waiting for an event, bounded; not a statement about speed.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (SnapshotNames(dir_.path()).empty() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(SnapshotNames(dir_.path()).size(), 1u);
    ASSERT_TRUE(store->Close(false));
  }
  Wallet recovered(SmallWallet());
  std::unique_ptr<Store> store = Open(options, recovered);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->recovery().had_snapshot);
  EXPECT_TRUE(SameWallet(live, recovered, now_ms_));
}

// Snapshots taken while four threads keep applying: each snapshot is
// fuzzy, and replaying the journal after it must give exactly the wallet
// that applied everything in memory.
TEST_F(StoreSnapshot, FuzzySnapshotWhileApplyingReplaysToExactState) {
  constexpr std::size_t kThreads = 4;
  constexpr int kSnapshots = 3;
  const auto commands = MakeCommands(40'000, 64, "fuzzy");
  Wallet live{WalletOptions{}};
  std::unique_ptr<Store> store = Open(Options(), live);
  ASSERT_NE(store, nullptr);

  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> applied{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        const std::size_t i = next.fetch_add(1);
        if (i >= commands.size()) return;
        live.Apply(commands[i].view(), now_ms_, store->journal());
        if (applied.fetch_add(1) % 64 == 0) {
          store->journal().WaitDurable(store->journal().appended_position());
        }
      }
    });
  }

  int concurrent = 0;
  for (int s = 0; s < kSnapshots; ++s) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(5);
    const std::size_t target = applied.load() + 500;
    while (applied.load() < target && next.load() < commands.size() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    const std::size_t before = applied.load();
    std::string error;
    EXPECT_TRUE(store->Snapshot(error)) << error;
    if (applied.load() > before) ++concurrent;
  }
  // Let the journal run on past the last snapshot, so replay is needed.
  const std::size_t after_last = applied.load() + 500;
  while (applied.load() < after_last && next.load() < commands.size()) {
    std::this_thread::yield();
  }
  stop.store(true);
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(store->Close(false));
  EXPECT_GT(concurrent, 0) << "no snapshot overlapped an apply";
  ASSERT_LT(next.load(), commands.size()) << "ran out of commands";

  Wallet recovered{WalletOptions{}};
  RecoveryStats stats;
  std::string error;
  ASSERT_TRUE(Recover(dir_.path(), recovered, now_ms_, stats, error)) << error;
  EXPECT_TRUE(stats.had_snapshot);
  EXPECT_GT(stats.records_replayed, 0u);
  EXPECT_EQ(recovered.key_count(), applied.load());
  EXPECT_TRUE(SameWallet(live, recovered, now_ms_));
}

using StoreFaults = StoreTest;

TEST_F(StoreFaults, NoSnapshotOverAFailedJournal) {
  Wallet live(SmallWallet());
  {
    std::unique_ptr<Store> store = Open(Options(), live);
    ASSERT_NE(store, nullptr);
    Apply(*store, live, 0, 5);
    faults_.FailNextSync();
    ApplyRange(live, commands_, 5, 6, now_ms_, store->journal());
    EXPECT_FALSE(
        store->journal().WaitDurable(store->journal().appended_position()));

    std::string error;
    EXPECT_FALSE(store->Snapshot(error));
    EXPECT_FALSE(error.empty());
    EXPECT_FALSE(store->Close(true));
  }
  EXPECT_EQ(SnapshotNames(dir_.path()), std::vector<std::string>{});

  // After a restart, the acknowledged commands are there: retries of
  // them are duplicates.
  Wallet recovered(SmallWallet());
  std::unique_ptr<Store> store = Open(Options(), recovered);
  ASSERT_NE(store, nullptr);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(
        recovered.Apply(commands_[i].view(), now_ms_, store->journal()).status,
        Status::kDuplicate)
        << commands_[i].key;
  }
}

// Store::Snapshot rolls the journal first. If that roll fails (the old
// segment cannot be synced or the new one cannot be created), the journal
// has failed and the snapshot must be refused, like any snapshot over a
// failed journal; the segments it would cover stay where they are.
TEST_F(StoreFaults, SnapshotIsRefusedWhenItsRollFails) {
  struct Case {
    const char* name;
    void (FaultInjector::*arm)();
  };
  const Case cases[] = {
      {"sync of the old segment fails", &FaultInjector::FailNextSync},
      {"new segment cannot be created", &FaultInjector::FailNextOpen},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    StoreOptions options = Options();
    options.dir = dir.path();
    Wallet live(SmallWallet());
    std::unique_ptr<Store> store = Open(options, live);
    ASSERT_NE(store, nullptr);
    Apply(*store, live, 0, 5);

    (faults_.*c.arm)();
    std::string error;
    const bool snapshotted = store->Snapshot(error);
    EXPECT_TRUE(store->journal().failed());
    EXPECT_FALSE(snapshotted) << "Snapshot succeeded over a failed journal";
    EXPECT_EQ(SnapshotNames(dir.path()), std::vector<std::string>{});
    const std::vector<std::string> segments = SegmentNames(dir.path());
    EXPECT_TRUE(!segments.empty() && segments.front() == SegmentName(0))
        << "the segments a refused snapshot would cover were removed";
    EXPECT_FALSE(store->Close(false));
  }
}

using StoreExpiry = StoreTest;

TEST_F(StoreExpiry, KeysOlderThanWindowAtOpenAreNotBroughtBack) {
  constexpr std::int64_t kWindowMs = 60'000;
  WalletOptions wallet_options = SmallWallet();
  wallet_options.key_window_ms = kWindowMs;
  const auto old_commands = MakeCommands(5, 3, "expired");
  const auto fresh_commands = MakeCommands(5, 3, "live");
  for (const bool final_snapshot : {false, true}) {
    SCOPED_TRACE(final_snapshot ? "from a snapshot" : "from the journal");
    TempDir dir;
    StoreOptions options = Options();
    options.dir = dir.path();
    Wallet live(wallet_options);
    {
      std::unique_ptr<Store> store = Open(options, live);
      ASSERT_NE(store, nullptr);
      ApplyRange(live, old_commands, 0, 5, now_ms_ - 2 * kWindowMs,
                 store->journal());
      ApplyRange(live, fresh_commands, 0, 5, now_ms_, store->journal());
      ASSERT_TRUE(store->Close(final_snapshot));
    }
    Wallet recovered(wallet_options);
    std::unique_ptr<Store> store = Open(options, recovered);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->recovery().had_snapshot, final_snapshot);
    EXPECT_EQ(recovered.key_count(), fresh_commands.size());
    EXPECT_TRUE(SameWallet(live, recovered, now_ms_));
    OwnedCommand reused = old_commands[0];
    reused.amount_minor += 1;
    EXPECT_EQ(recovered.Apply(reused.view(), now_ms_, store->journal()).status,
              Status::kApplied);
    OwnedCommand conflicting = fresh_commands[0];
    conflicting.amount_minor += 1;
    EXPECT_EQ(
        recovered.Apply(conflicting.view(), now_ms_, store->journal()).reason,
        Reason::kKeyConflict);
  }
}

}  // namespace
}  // namespace wallet::storage_test
