// Journal (worker/storage/journal.h) on real files: positions, group
// commit, segments, both sync modes, and a failing disk underneath
// (tests/storage/faulty_file.h). Every test reads the result back with
// Recover into a fresh wallet and compares it with the wallet that wrote.
#include "worker/storage/journal.h"

#include <gtest/gtest.h>

#include <algorithm>
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
#include "worker/storage/record_codec.h"
#include "worker/storage/recovery.h"

namespace wallet::storage_test {
namespace {

constexpr std::int64_t kNowMs = 1'700'000'000'000;

class JournalTest : public ::testing::Test {
 protected:
  JournalOptions Options() const {
    JournalOptions options;
    options.dir = dir_.path();
    options.open_file = faults_.opener();
    return options;
  }

  // Options() with groups taken at most once per `interval`.
  JournalOptions PacedOptions(std::chrono::microseconds interval) const {
    JournalOptions options = Options();
    options.group_commit_us = interval.count();
    return options;
  }

  static std::unique_ptr<Journal> Open(const JournalOptions& options,
                                       std::uint64_t position = 0) {
    std::string error;
    std::unique_ptr<Journal> journal = Journal::Open(options, position, error);
    EXPECT_NE(journal, nullptr) << error;
    return journal;
  }

  // Recovers the directory into `wallet` and expects it to succeed.
  RecoveryStats RecoverInto(Wallet& wallet) const {
    RecoveryStats stats;
    std::string error;
    EXPECT_TRUE(Recover(dir_.path(), wallet, kNowMs, stats, error)) << error;
    return stats;
  }

  TempDir dir_;
  FaultInjector faults_;
};

using JournalDurability = JournalTest;

TEST_F(JournalDurability, AppendWaitCloseThenRecoverGivesSameWallet) {
  const auto commands = MakeCommands(50, 7, "dur");
  Wallet live(SmallWallet());
  std::unique_ptr<Journal> journal = Open(Options());
  ASSERT_NE(journal, nullptr);
  ApplyRange(live, commands, 0, commands.size(), kNowMs, *journal);

  const std::uint64_t position = journal->appended_position();
  EXPECT_TRUE(journal->WaitDurable(position));
  EXPECT_GE(journal->stats().durable_position, position);
  EXPECT_EQ(journal->stats().records, commands.size());
  EXPECT_TRUE(journal->Close());
  EXPECT_FALSE(journal->failed());

  const std::vector<std::string> segments = SegmentNames(dir_.path());
  ASSERT_EQ(segments, std::vector<std::string>{SegmentName(0)});
  EXPECT_EQ(FileSize(dir_.File(segments[0])), position);

  Wallet recovered(SmallWallet());
  const RecoveryStats stats = RecoverInto(recovered);
  EXPECT_EQ(stats.records_replayed, commands.size());
  EXPECT_EQ(stats.end_position, position);
  EXPECT_EQ(stats.truncated_bytes, 0u);
  EXPECT_TRUE(SameWallet(live, recovered, kNowMs));
}

TEST_F(JournalDurability, PositionAdvancesByEachEncodedRecord) {
  const auto commands = MakeCommands(20, 3, "pos");
  std::unique_ptr<Journal> journal = Open(Options(), 1000);
  ASSERT_NE(journal, nullptr);
  std::uint64_t expected = 1000;
  EXPECT_EQ(journal->appended_position(), expected);
  for (const OwnedCommand& command : commands) {
    Record record;
    record.time_ms = kNowMs;
    record.key = command.key;
    record.user = command.user;
    record.currency = command.currency;
    record.amount_minor = command.amount_minor;
    record.source = command.source;
    record.ref = command.ref;
    std::string encoded;
    EncodeRecord(record, encoded);
    expected += encoded.size();
    journal->Append(record);
    EXPECT_EQ(journal->appended_position(), expected);
  }
  EXPECT_TRUE(journal->WaitDurable(expected));
  EXPECT_TRUE(journal->Close());
  // The journal opened at 1000 wrote its first segment under that name.
  EXPECT_EQ(SegmentNames(dir_.path()),
            std::vector<std::string>{SegmentName(1000)});
  EXPECT_EQ(FileSize(dir_.File(SegmentName(1000))), expected - 1000);
}

TEST_F(JournalDurability, ReopenAtRecoveredPositionContinuesTheJournal) {
  const auto commands = MakeCommands(30, 5, "reopen");
  Wallet live(SmallWallet());
  {
    std::unique_ptr<Journal> journal = Open(Options());
    ASSERT_NE(journal, nullptr);
    ApplyRange(live, commands, 0, 15, kNowMs, *journal);
    ASSERT_TRUE(journal->Close());
  }
  Wallet middle(SmallWallet());
  const RecoveryStats first = RecoverInto(middle);
  EXPECT_TRUE(SameWallet(live, middle, kNowMs));
  {
    std::unique_ptr<Journal> journal = Open(Options(), first.end_position);
    ASSERT_NE(journal, nullptr);
    ApplyRange(live, commands, 15, 30, kNowMs, *journal);
    ASSERT_TRUE(journal->Close());
  }
  EXPECT_EQ(SegmentNames(dir_.path()),
            (std::vector<std::string>{SegmentName(0),
                                      SegmentName(first.end_position)}));
  Wallet recovered(SmallWallet());
  const RecoveryStats second = RecoverInto(recovered);
  EXPECT_EQ(second.records_replayed, 30u);
  EXPECT_EQ(second.segments, 2u);
  EXPECT_TRUE(SameWallet(live, recovered, kNowMs));
}

using JournalGroupCommit = JournalTest;

TEST_F(JournalGroupCommit, ConcurrentAppendersShareSyncs) {
  constexpr std::size_t kThreads = 8;
  constexpr std::size_t kPerThread = 100;
  const auto commands = MakeCommands(kThreads * kPerThread, 40, "group");
  Wallet live(SmallWallet());
  std::unique_ptr<Journal> journal = Open(Options());
  ASSERT_NE(journal, nullptr);

  std::vector<std::thread> threads;
  std::atomic<std::size_t> refused{0};
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = t; i < commands.size(); i += kThreads) {
        live.Apply(commands[i].view(), kNowMs, *journal);
        // Like the publisher: acknowledge only once the record is durable.
        if (!journal->WaitDurable(journal->appended_position())) ++refused;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  const JournalStats stats = journal->stats();
  EXPECT_EQ(refused.load(), 0u);
  EXPECT_EQ(stats.records, commands.size());
  EXPECT_GE(stats.syncs, 1u);
  EXPECT_LT(stats.syncs, stats.records);
  // The count it reports is the count the disk saw.
  EXPECT_EQ(stats.syncs, faults_.syncs());
  ASSERT_TRUE(journal->Close());

  Wallet recovered(SmallWallet());
  EXPECT_EQ(RecoverInto(recovered).records_replayed, commands.size());
  EXPECT_TRUE(SameWallet(live, recovered, kNowMs));
}

TEST_F(JournalGroupCommit, TakesAGroupAtMostOncePerInterval) {
  // An appender that adds a record every millisecond for about 300 ms:
  // without the interval nearly every record would get its own sync.
  constexpr auto kInterval = std::chrono::milliseconds(20);
  const auto commands = MakeCommands(300, 40, "paced");
  Wallet live(SmallWallet());
  std::unique_ptr<Journal> journal = Open(PacedOptions(kInterval));
  ASSERT_NE(journal, nullptr);

  const auto start = std::chrono::steady_clock::now();
  for (const auto& command : commands) {
    live.Apply(command.view(), kNowMs, *journal);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(journal->WaitDurable(journal->appended_position()));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const std::uint64_t syncs = faults_.syncs();
  ASSERT_TRUE(journal->Close());

  // Group starts are at least an interval apart: one at time 0, then at
  // most one per interval that passed.
  const auto intervals = static_cast<std::uint64_t>(elapsed / kInterval);
  EXPECT_LE(syncs, intervals + 1)
      << "elapsed_ms="
      << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  Wallet recovered(SmallWallet());
  EXPECT_EQ(RecoverInto(recovered).records_replayed, commands.size());
  EXPECT_TRUE(SameWallet(live, recovered, kNowMs));
}

TEST_F(JournalGroupCommit, IdleJournalTakesTheNextRecordAtOnce) {
  // The interval only spaces groups; a record arriving after a quiet
  // spell longer than it does not wait for it.
  constexpr auto kInterval = std::chrono::milliseconds(1500);
  const auto commands = MakeCommands(2, 40, "idle");
  Wallet live(SmallWallet());
  std::unique_ptr<Journal> journal = Open(PacedOptions(kInterval));
  ASSERT_NE(journal, nullptr);

  live.Apply(commands[0].view(), kNowMs, *journal);
  ASSERT_TRUE(journal->WaitDurable(journal->appended_position()));
  std::this_thread::sleep_for(kInterval + std::chrono::milliseconds(100));

  const auto start = std::chrono::steady_clock::now();
  live.Apply(commands[1].view(), kNowMs, *journal);
  ASSERT_TRUE(journal->WaitDurable(journal->appended_position()));
  const auto waited = std::chrono::steady_clock::now() - start;
  // One small write and sync; a journal that waited out the interval
  // would take 1.5 s.
  EXPECT_LT(waited, kInterval * 2 / 3);
  EXPECT_EQ(faults_.syncs(), 2u);
  ASSERT_TRUE(journal->Close());
}

using JournalSegments = JournalTest;

TEST_F(JournalSegments, RollStartsSegmentNamedForThePosition) {
  const auto commands = MakeCommands(10, 3, "roll");
  Wallet live(SmallWallet());
  std::unique_ptr<Journal> journal = Open(Options());
  ASSERT_NE(journal, nullptr);
  ApplyRange(live, commands, 0, 6, kNowMs, *journal);

  const std::uint64_t before = journal->appended_position();
  const std::uint64_t rolled = journal->Roll();
  EXPECT_EQ(rolled, before);
  EXPECT_EQ(SegmentNames(dir_.path()),
            (std::vector<std::string>{SegmentName(0), SegmentName(rolled)}));
  // Everything before the roll is in the old segment, and durable.
  EXPECT_EQ(FileSize(dir_.File(SegmentName(0))), rolled);
  EXPECT_TRUE(journal->WaitDurable(rolled));

  ApplyRange(live, commands, 6, 10, kNowMs, *journal);
  const std::uint64_t end = journal->appended_position();
  ASSERT_TRUE(journal->Close());
  EXPECT_EQ(FileSize(dir_.File(SegmentName(rolled))), end - rolled);

  Wallet recovered(SmallWallet());
  const RecoveryStats stats = RecoverInto(recovered);
  EXPECT_EQ(stats.segments, 2u);
  EXPECT_EQ(stats.end_position, end);
  EXPECT_TRUE(SameWallet(live, recovered, kNowMs));
}

TEST_F(JournalSegments, RollWithNothingNewKeepsTheSegment) {
  const auto commands = MakeCommands(3, 3, "idle-roll");
  Wallet live(SmallWallet());
  std::unique_ptr<Journal> journal = Open(Options());
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->Roll(), 0u);
  EXPECT_EQ(SegmentNames(dir_.path()),
            std::vector<std::string>{SegmentName(0)});

  ApplyRange(live, commands, 0, 3, kNowMs, *journal);
  const std::uint64_t first = journal->Roll();
  EXPECT_EQ(journal->Roll(), first);
  EXPECT_FALSE(journal->failed());
  EXPECT_EQ(SegmentNames(dir_.path()),
            (std::vector<std::string>{SegmentName(0), SegmentName(first)}));
  EXPECT_TRUE(journal->Close());
}

TEST_F(JournalSegments, SmallSegmentsSplitContiguouslyAndRecover) {
  constexpr std::uint64_t kSegmentBytesMax = 300;
  const auto commands = MakeCommands(40, 6, "seg");
  Wallet live(SmallWallet());
  JournalOptions options = Options();
  options.segment_bytes_max = kSegmentBytesMax;
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  std::size_t record_bytes_max = 0;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    const std::uint64_t before = journal->appended_position();
    ApplyRange(live, commands, i, i + 1, kNowMs, *journal);
    const std::uint64_t after = journal->appended_position();
    record_bytes_max = std::max<std::size_t>(record_bytes_max, after - before);
    // One record per group, so that segments fill one record at a time.
    ASSERT_TRUE(journal->WaitDurable(after));
  }
  const std::uint64_t end = journal->appended_position();
  ASSERT_TRUE(journal->Close());

  const std::vector<std::string> segments = SegmentNames(dir_.path());
  EXPECT_GE(segments.size(), 5u);
  std::uint64_t position = 0;
  for (const std::string& name : segments) {
    EXPECT_EQ(name, SegmentName(position)) << "gap or overlap";
    const std::uint64_t size = FileSize(dir_.File(name));
    EXPECT_GT(size, 0u) << name;
    EXPECT_LT(size, kSegmentBytesMax + record_bytes_max) << name;
    position += size;
  }
  EXPECT_EQ(position, end);

  Wallet recovered(SmallWallet());
  const RecoveryStats stats = RecoverInto(recovered);
  EXPECT_EQ(stats.segments, segments.size());
  EXPECT_EQ(stats.records_replayed, commands.size());
  EXPECT_TRUE(SameWallet(live, recovered, kNowMs));
}

using JournalSyncNone = JournalTest;

TEST_F(JournalSyncNone, AcknowledgesAfterWriteAndSyncsAtClose) {
  const auto commands = MakeCommands(30, 4, "none");
  Wallet live(SmallWallet());
  JournalOptions options = Options();
  options.sync = SyncMode::kNone;
  options.sync_interval_ms = 600'000;  // Never within this test.
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  ApplyRange(live, commands, 0, commands.size(), kNowMs, *journal);
  const std::uint64_t end = journal->appended_position();

  EXPECT_TRUE(journal->WaitDurable(end));
  EXPECT_EQ(FileSize(dir_.File(SegmentName(0))), end);
  EXPECT_EQ(faults_.syncs(), 0u);
  EXPECT_TRUE(journal->Close());
  EXPECT_GE(faults_.syncs(), 1u);

  Wallet recovered(SmallWallet());
  EXPECT_EQ(RecoverInto(recovered).records_replayed, commands.size());
  EXPECT_TRUE(SameWallet(live, recovered, kNowMs));
}

TEST_F(JournalSyncNone, SyncsInTheBackgroundEveryInterval) {
  const auto commands = MakeCommands(5, 2, "interval");
  Wallet live(SmallWallet());
  JournalOptions options = Options();
  options.sync = SyncMode::kNone;
  options.sync_interval_ms = 10;
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  ApplyRange(live, commands, 0, commands.size(), kNowMs, *journal);
  ASSERT_TRUE(journal->WaitDurable(journal->appended_position()));

  // Waiting for an event, bounded; not a statement about speed.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (faults_.syncs() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(faults_.syncs(), 1u);
  EXPECT_TRUE(journal->Close());
}

TEST_F(JournalSyncNone, SyncsEveryIntervalWhileAppendsNeverPause) {
  // A record every millisecond for about half a second: the background
  // sync must not wait for a quiet spell that never comes.
  const auto commands = MakeCommands(500, 20, "busy");
  Wallet live(SmallWallet());
  JournalOptions options = Options();
  options.sync = SyncMode::kNone;
  options.sync_interval_ms = 50;
  std::unique_ptr<Journal> journal = Open(options);
  ASSERT_NE(journal, nullptr);
  for (const auto& command : commands) {
    live.Apply(command.view(), kNowMs, *journal);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(journal->WaitDurable(journal->appended_position()));
  // Counted before Close, which syncs once more.
  EXPECT_GE(faults_.syncs(), 2u);
  EXPECT_TRUE(journal->Close());
}

using JournalFaults = JournalTest;

// Expects every command in [begin, end) to be known to `wallet` as
// applied: a retry of it is answered as a duplicate.
void ExpectDuplicates(Wallet& wallet, const std::vector<OwnedCommand>& commands,
                      std::size_t begin, std::size_t end) {
  NullLog null_log;
  for (std::size_t i = begin; i < end; ++i) {
    EXPECT_EQ(wallet.Apply(commands[i].view(), kNowMs, null_log).status,
              Status::kDuplicate)
        << commands[i].key;
  }
}

// Applies `count` commands from `begin` and returns the position after them.
std::uint64_t ApplySome(Wallet& wallet, Journal& journal,
                        const std::vector<OwnedCommand>& commands,
                        std::size_t begin, std::size_t count) {
  ApplyRange(wallet, commands, begin, begin + count, kNowMs, journal);
  return journal.appended_position();
}

TEST_F(JournalFaults, SyncFailureRefusesThatAndEveryLaterPosition) {
  const auto commands = MakeCommands(12, 3, "sync-fail");
  Wallet live(SmallWallet());
  std::unique_ptr<Journal> journal = Open(Options());
  ASSERT_NE(journal, nullptr);
  const std::uint64_t good = ApplySome(live, *journal, commands, 0, 5);
  ASSERT_TRUE(journal->WaitDurable(good));

  faults_.FailNextSync();
  const std::uint64_t bad = ApplySome(live, *journal, commands, 5, 1);
  EXPECT_FALSE(journal->WaitDurable(bad));
  EXPECT_TRUE(journal->failed());
  EXPECT_EQ(faults_.injected(), 1u);
  EXPECT_LT(journal->stats().durable_position, bad);

  // The disk works again; the journal must not believe it.
  const std::uint64_t later = ApplySome(live, *journal, commands, 6, 6);
  EXPECT_FALSE(journal->WaitDurable(later));
  EXPECT_FALSE(journal->WaitDurable(bad));
  EXPECT_FALSE(journal->Close());
  EXPECT_FALSE(journal->Close());  // Asked twice, same answer.

  // What was acknowledged is on disk: a retry of it is a duplicate.
  Wallet recovered(SmallWallet());
  RecoverInto(recovered);
  ExpectDuplicates(recovered, commands, 0, 5);
}

TEST_F(JournalFaults, AppendFailureRefusesThatAndEveryLaterPosition) {
  const auto commands = MakeCommands(12, 3, "append-fail");
  Wallet live(SmallWallet());
  Wallet durable(SmallWallet());
  std::unique_ptr<Journal> journal = Open(Options());
  ASSERT_NE(journal, nullptr);
  const std::uint64_t good = ApplySome(live, *journal, commands, 0, 5);
  ASSERT_TRUE(journal->WaitDurable(good));
  NullLog null_log;
  ApplyRange(durable, commands, 0, 5, kNowMs, null_log);

  faults_.FailNextAppend();
  const std::uint64_t bad = ApplySome(live, *journal, commands, 5, 1);
  EXPECT_FALSE(journal->WaitDurable(bad));
  EXPECT_TRUE(journal->failed());
  EXPECT_EQ(faults_.injected(), 1u);

  const std::uint64_t later = ApplySome(live, *journal, commands, 6, 6);
  EXPECT_FALSE(journal->WaitDurable(later));
  EXPECT_FALSE(journal->Close());

  // Nothing after the failure reached the disk: the file holds exactly
  // the acknowledged records, and recovery finds exactly those.
  EXPECT_EQ(FileSize(dir_.File(SegmentName(0))), good);
  Wallet recovered(SmallWallet());
  const RecoveryStats stats = RecoverInto(recovered);
  EXPECT_EQ(stats.end_position, good);
  EXPECT_TRUE(SameWallet(durable, recovered, kNowMs));
}

TEST_F(JournalFaults, TornWriteIsCutBackByRecovery) {
  constexpr std::size_t kTornBytes = 20;
  const auto commands = MakeCommands(8, 3, "torn");
  Wallet live(SmallWallet());
  Wallet durable(SmallWallet());
  std::unique_ptr<Journal> journal = Open(Options());
  ASSERT_NE(journal, nullptr);
  const std::uint64_t good = ApplySome(live, *journal, commands, 0, 6);
  ASSERT_TRUE(journal->WaitDurable(good));
  NullLog null_log;
  ApplyRange(durable, commands, 0, 6, kNowMs, null_log);

  faults_.FailNextAppend(kTornBytes);
  const std::uint64_t bad = ApplySome(live, *journal, commands, 6, 1);
  EXPECT_FALSE(journal->WaitDurable(bad));
  EXPECT_FALSE(journal->Close());
  ASSERT_EQ(FileSize(dir_.File(SegmentName(0))), good + kTornBytes);

  Wallet recovered(SmallWallet());
  const RecoveryStats stats = RecoverInto(recovered);
  EXPECT_EQ(stats.truncated_bytes, kTornBytes);
  EXPECT_EQ(stats.truncated_at, good);
  EXPECT_EQ(stats.end_position, good);
  EXPECT_EQ(FileSize(dir_.File(SegmentName(0))), good);
  EXPECT_TRUE(SameWallet(durable, recovered, kNowMs));
}

TEST_F(JournalFaults, OpenFailureFailsOpenWithTheReason) {
  faults_.FailNextOpen();
  std::string error;
  EXPECT_EQ(Journal::Open(Options(), 0, error), nullptr);
  EXPECT_NE(error.find("injected open failure"), std::string::npos) << error;
}

TEST_F(JournalFaults, SegmentThatCannotBeCreatedFailsTheJournal) {
  const auto commands = MakeCommands(4, 2, "seg-fail");
  Wallet live(SmallWallet());
  std::unique_ptr<Journal> journal = Open(Options());
  ASSERT_NE(journal, nullptr);
  const std::uint64_t good = ApplySome(live, *journal, commands, 0, 2);
  ASSERT_TRUE(journal->WaitDurable(good));

  faults_.FailNextOpen();
  journal->Roll();
  EXPECT_TRUE(journal->failed());
  const std::uint64_t later = ApplySome(live, *journal, commands, 2, 2);
  EXPECT_FALSE(journal->WaitDurable(later));
  EXPECT_FALSE(journal->Close());
}

}  // namespace
}  // namespace wallet::storage_test
