// Recovery (worker/storage/recovery.h) from directories damaged the ways a
// crash or a bad disk damages them. A torn tail is cut and recovery goes
// on; anything else that does not read back fails recovery, names where,
// and leaves the files as they were for an operator to look at.
#include "worker/storage/recovery.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/storage/storage_test_util.h"
#include "worker/core/wallet.h"
#include "worker/storage/journal.h"
#include "worker/storage/snapshot.h"
#include "worker/storage/store.h"

namespace wallet::storage_test {
namespace {

constexpr std::int64_t kNowMs = 1'700'000'000'000;

// Where one record lies: its journal positions.
struct Span {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
};

// A journal written once per test: commands applied to `live` through a
// journal that rolls to a new segment before each index in `roll_before`.
// One group per record, so that positions are record boundaries.
class RecoveryTest : public ::testing::Test {
 protected:
  void WriteJournal(std::size_t count, std::vector<std::size_t> roll_before) {
    commands_ = MakeCommands(count, 5, "rec");
    JournalOptions options;
    options.dir = dir_.path();
    std::string error;
    std::unique_ptr<Journal> journal = Journal::Open(options, 0, error);
    ASSERT_NE(journal, nullptr) << error;
    for (std::size_t i = 0; i < count; ++i) {
      if (std::find(roll_before.begin(), roll_before.end(), i) !=
          roll_before.end()) {
        journal->Roll();
      }
      Span span;
      span.start = journal->appended_position();
      ApplyRange(live_, commands_, i, i + 1, kNowMs, *journal);
      span.end = journal->appended_position();
      ASSERT_TRUE(journal->WaitDurable(span.end));
      spans_.push_back(span);
    }
    ASSERT_TRUE(journal->Close());
  }

  // A wallet holding only the first `count` commands.
  void ApplyPrefix(Wallet& wallet, std::size_t count) const {
    NullLog null_log;
    ApplyRange(wallet, commands_, 0, count, kNowMs, null_log);
  }

  // The segment holding `position` (the last one starting at or before).
  std::string SegmentOf(std::uint64_t position) const {
    std::string found;
    for (const std::string& name : SegmentNames(dir_.path())) {
      std::uint64_t start = 0;
      EXPECT_TRUE(ParsePosition(name, "journal-", ".wlog", start));
      if (start <= position) found = name;
    }
    return found;
  }

  static std::uint64_t StartOf(const std::string& segment_name) {
    std::uint64_t start = 0;
    EXPECT_TRUE(ParsePosition(segment_name, "journal-", ".wlog", start));
    return start;
  }

  TempDir dir_;
  std::vector<OwnedCommand> commands_;
  std::vector<Span> spans_;
  Wallet live_{SmallWallet()};
};

// Copies the journal into a fresh directory for one damaged variant.
class Scratch {
 public:
  explicit Scratch(const TempDir& from) { CopyFiles(from.path(), dir_.path()); }
  const TempDir& dir() const { return dir_; }
  std::string path() const { return dir_.path(); }
  std::string File(std::string_view name) const { return dir_.File(name); }

  bool Recover(Wallet& wallet, RecoveryStats& stats, std::string& error) {
    return wallet::Recover(dir_.path(), wallet, kNowMs, stats, error);
  }

 private:
  TempDir dir_;
};

using RecoveryTornTail = RecoveryTest;

TEST_F(RecoveryTornTail, CutAtEveryOffsetOfLastRecordRecoversTheRest) {
  WriteJournal(8, {4});
  const Span last = spans_.back();
  const std::string segment = SegmentOf(last.start);
  ASSERT_EQ(segment, SegmentName(spans_[4].start));
  const std::uint64_t segment_start = StartOf(segment);
  const std::uint64_t last_offset = last.start - segment_start;
  Wallet before_last(SmallWallet());
  ApplyPrefix(before_last, spans_.size() - 1);

  QuietLogs quiet;
  for (std::uint64_t cut = last_offset; cut < last.end - segment_start; ++cut) {
    SCOPED_TRACE("cut at segment offset " + std::to_string(cut));
    Scratch scratch(dir_);
    std::string error;
    ASSERT_TRUE(TruncateFile(scratch.File(segment), cut, error)) << error;

    Wallet recovered(SmallWallet());
    RecoveryStats stats;
    ASSERT_TRUE(scratch.Recover(recovered, stats, error)) << error;
    EXPECT_EQ(stats.truncated_bytes, cut - last_offset);
    if (cut > last_offset) {
      EXPECT_EQ(stats.truncated_at, last.start);
    }
    EXPECT_EQ(stats.end_position, last.start);
    EXPECT_EQ(stats.records_replayed, spans_.size() - 1);
    EXPECT_EQ(FileSize(scratch.File(segment)), last_offset);
    EXPECT_TRUE(SameWallet(before_last, recovered, kNowMs));

    // Recovering the cut directory again finds nothing more to cut.
    Wallet again(SmallWallet());
    ASSERT_TRUE(scratch.Recover(again, stats, error)) << error;
    EXPECT_EQ(stats.truncated_bytes, 0u);
    EXPECT_TRUE(SameWallet(before_last, again, kNowMs));
  }
}

TEST_F(RecoveryTornTail, CutInsideTheOnlyRecordOfLastSegmentLeavesItEmpty) {
  WriteJournal(4, {3});
  const Span last = spans_.back();
  const std::string segment = SegmentName(last.start);
  ASSERT_EQ(SegmentOf(last.start), segment);
  Scratch scratch(dir_);
  std::string error;
  ASSERT_TRUE(TruncateFile(scratch.File(segment), 5, error)) << error;

  Wallet recovered(SmallWallet());
  RecoveryStats stats;
  ASSERT_TRUE(scratch.Recover(recovered, stats, error)) << error;
  EXPECT_EQ(stats.truncated_bytes, 5u);
  EXPECT_EQ(stats.end_position, last.start);
  EXPECT_EQ(FileSize(scratch.File(segment)), 0u);
  Wallet expected(SmallWallet());
  ApplyPrefix(expected, 3);
  EXPECT_TRUE(SameWallet(expected, recovered, kNowMs));
}

struct Garbage {
  const char* name;
  std::string bytes;
};

TEST_F(RecoveryTornTail, GarbageAfterLastRecordIsCut) {
  WriteJournal(6, {});
  const std::string segment = SegmentName(0);
  const std::string whole = ReadAll(dir_.File(segment));
  const std::string last_record =
      whole.substr(static_cast<std::size_t>(spans_.back().start));
  const Garbage cases[] = {
      {"one zero byte", std::string(1, '\0')},
      {"eleven zeros", std::string(11, '\0')},
      {"twelve zeros", std::string(12, '\0')},
      {"a page of zeros", std::string(4096, '\0')},
      {"text", "this is not a journal record, just text"},
      {"0xff bytes", std::string(100, '\xff')},
      {"a record header alone", last_record.substr(0, 12)},
      {"a record less its last byte",
       last_record.substr(0, last_record.size() - 1)},
  };
  QuietLogs quiet;
  for (const Garbage& garbage : cases) {
    SCOPED_TRACE(garbage.name);
    Scratch scratch(dir_);
    AppendAll(scratch.File(segment), garbage.bytes);

    Wallet recovered(SmallWallet());
    RecoveryStats stats;
    std::string error;
    ASSERT_TRUE(scratch.Recover(recovered, stats, error)) << error;
    EXPECT_EQ(stats.truncated_bytes, garbage.bytes.size());
    EXPECT_EQ(stats.truncated_at, spans_.back().end);
    EXPECT_EQ(ReadAll(scratch.File(segment)), whole);
    EXPECT_TRUE(SameWallet(live_, recovered, kNowMs));
  }
}

TEST_F(RecoveryTornTail, StoreOpensOnTornTailAndKeepsWriting) {
  const std::int64_t now_ms = WallClockMs();
  const auto commands = MakeCommands(12, 4, "store-torn");
  Wallet live(SmallWallet());
  StoreOptions options;
  options.dir = dir_.path();
  std::uint64_t last_start = 0;
  {
    std::string error;
    std::unique_ptr<Store> store = Store::Open(options, live, error);
    ASSERT_NE(store, nullptr) << error;
    ApplyRange(live, commands, 0, 5, now_ms, store->journal());
    last_start = store->journal().appended_position();
    ApplyRange(live, commands, 5, 6, now_ms, store->journal());
    ASSERT_TRUE(store->Close(false));
  }
  std::string error;
  ASSERT_TRUE(TruncateFile(dir_.File(SegmentName(0)), last_start + 3, error));

  Wallet expected(SmallWallet());
  NullLog null_log;
  ApplyRange(expected, commands, 0, 5, now_ms, null_log);
  {
    Wallet reopened(SmallWallet());
    std::unique_ptr<Store> store = Store::Open(options, reopened, error);
    ASSERT_NE(store, nullptr) << error;
    EXPECT_EQ(store->recovery().truncated_bytes, 3u);
    EXPECT_EQ(store->recovery().end_position, last_start);
    EXPECT_TRUE(SameWallet(expected, reopened, now_ms));
    // The torn command was never acknowledged; its retry applies now.
    ApplyRange(reopened, commands, 5, 12, now_ms, store->journal());
    ApplyRange(expected, commands, 5, 12, now_ms, null_log);
    ASSERT_TRUE(store->Close(false));
  }
  Wallet final_state(SmallWallet());
  std::unique_ptr<Store> store = Store::Open(options, final_state, error);
  ASSERT_NE(store, nullptr) << error;
  EXPECT_EQ(store->recovery().truncated_bytes, 0u);
  EXPECT_TRUE(SameWallet(expected, final_state, now_ms));
}

using RecoveryCorruption = RecoveryTest;

TEST_F(RecoveryCorruption, FlippedBitInMiddleRecordFailsAndNamesOffset) {
  WriteJournal(6, {});
  const std::string segment = SegmentName(0);
  QuietLogs quiet;
  for (std::size_t index = 0; index + 1 < spans_.size(); ++index) {
    const Span span = spans_[index];
    const std::size_t size = static_cast<std::size_t>(span.end - span.start);
    // Length, its checksum, the payload checksum, and payload bytes.
    for (const std::size_t byte :
         {std::size_t{0}, std::size_t{5}, std::size_t{9}, std::size_t{12},
          size / 2 + 6, size - 1}) {
      SCOPED_TRACE("record " + std::to_string(index) + " byte " +
                   std::to_string(byte));
      Scratch scratch(dir_);
      FlipBit(scratch.File(segment), span.start + byte, 3);
      const std::string damaged = ReadAll(scratch.File(segment));

      Wallet recovered(SmallWallet());
      RecoveryStats stats;
      std::string error;
      EXPECT_FALSE(scratch.Recover(recovered, stats, error));
      EXPECT_NE(error.find("offset " + std::to_string(span.start)),
                std::string::npos)
          << error;
      EXPECT_NE(error.find(segment), std::string::npos) << error;
      // Nothing was cut or created: the evidence stays for an operator.
      EXPECT_EQ(ReadAll(scratch.File(segment)), damaged);
      EXPECT_EQ(SegmentNames(scratch.path()),
                std::vector<std::string>{segment});

      // The worker refuses to start rather than serve a reset wallet.
      Wallet via_store(SmallWallet());
      StoreOptions options;
      options.dir = scratch.path();
      EXPECT_EQ(Store::Open(options, via_store, error), nullptr);
      EXPECT_EQ(ReadAll(scratch.File(segment)), damaged);
      EXPECT_EQ(SegmentNames(scratch.path()),
                std::vector<std::string>{segment});
    }
  }
}

TEST_F(RecoveryCorruption, FlippedBitAtEndOfEarlierSegmentFails) {
  WriteJournal(6, {3});
  const Span span = spans_[2];  // The last record of the first segment.
  Scratch scratch(dir_);
  FlipBit(scratch.File(SegmentName(0)), span.start + 14, 0);
  const std::string damaged = ReadAll(scratch.File(SegmentName(0)));

  Wallet recovered(SmallWallet());
  RecoveryStats stats;
  std::string error;
  EXPECT_FALSE(scratch.Recover(recovered, stats, error));
  EXPECT_NE(error.find("offset " + std::to_string(span.start)),
            std::string::npos)
      << error;
  EXPECT_EQ(ReadAll(scratch.File(SegmentName(0))), damaged);
}

TEST_F(RecoveryCorruption, MissingMiddleSegmentFails) {
  WriteJournal(8, {2, 4, 6});
  const std::vector<std::string> segments = SegmentNames(dir_.path());
  ASSERT_EQ(segments.size(), 4u);
  for (std::size_t missing = 1; missing + 1 < segments.size(); ++missing) {
    SCOPED_TRACE("without " + segments[missing]);
    Scratch scratch(dir_);
    std::string error;
    ASSERT_TRUE(RemoveFile(scratch.File(segments[missing]), error));

    Wallet recovered(SmallWallet());
    RecoveryStats stats;
    EXPECT_FALSE(scratch.Recover(recovered, stats, error));
    EXPECT_NE(error.find("missing"), std::string::npos) << error;
    EXPECT_NE(error.find(std::to_string(StartOf(segments[missing]))),
              std::string::npos)
        << error;

    Wallet via_store(SmallWallet());
    StoreOptions options;
    options.dir = scratch.path();
    EXPECT_EQ(Store::Open(options, via_store, error), nullptr);
  }
}

TEST_F(RecoveryCorruption, MissingFirstSegmentWithoutSnapshotFails) {
  WriteJournal(6, {3});
  Scratch scratch(dir_);
  std::string error;
  ASSERT_TRUE(RemoveFile(scratch.File(SegmentName(0)), error));
  Wallet recovered(SmallWallet());
  RecoveryStats stats;
  EXPECT_FALSE(scratch.Recover(recovered, stats, error));
  EXPECT_NE(error.find("missing"), std::string::npos) << error;
}

using RecoverySnapshot = RecoveryTest;

TEST_F(RecoverySnapshot, SnapshotWithOneFlippedByteFailsItsChecksum) {
  WriteJournal(10, {});
  SnapshotStats written;
  std::string error;
  const std::uint64_t position = spans_.back().end;
  ASSERT_TRUE(
      WriteSnapshot(dir_.path(), live_, position, kNowMs, written, error))
      << error;
  const std::string name = SnapshotName(position);
  const std::size_t size = static_cast<std::size_t>(FileSize(dir_.File(name)));
  ASSERT_EQ(written.bytes, size);
  {
    // Undamaged, it loads: the damage below is what fails.
    Scratch scratch(dir_);
    Wallet recovered(SmallWallet());
    RecoveryStats stats;
    ASSERT_TRUE(scratch.Recover(recovered, stats, error)) << error;
    EXPECT_TRUE(stats.had_snapshot);
    EXPECT_EQ(stats.snapshot_position, position);
    EXPECT_EQ(stats.records_replayed, 0u);
    EXPECT_TRUE(SameWallet(live_, recovered, kNowMs));
  }
  // Magic, position, time, body, the end tag, the checksum itself.
  for (const std::size_t byte :
       {std::size_t{0}, std::size_t{9}, std::size_t{17}, size / 2, size - 5,
        size - 1}) {
    SCOPED_TRACE("byte " + std::to_string(byte));
    Scratch scratch(dir_);
    std::string data = ReadAll(scratch.File(name));
    data[byte] = static_cast<char>(data[byte] ^ 0x40);
    WriteAll(scratch.File(name), data);

    Wallet recovered(SmallWallet());
    RecoveryStats stats;
    EXPECT_FALSE(scratch.Recover(recovered, stats, error));
    EXPECT_NE(error.find("fails its checksum"), std::string::npos) << error;
    EXPECT_NE(error.find(name), std::string::npos) << error;
  }
  {
    SCOPED_TRACE("cut in half");
    Scratch scratch(dir_);
    ASSERT_TRUE(TruncateFile(scratch.File(name), size / 2, error));
    Wallet recovered(SmallWallet());
    RecoveryStats stats;
    EXPECT_FALSE(scratch.Recover(recovered, stats, error));
    EXPECT_NE(error.find("fails its checksum"), std::string::npos) << error;
  }
}

TEST_F(RecoverySnapshot, SnapshotThenJournalAfterItGivesEverything) {
  WriteJournal(20, {12});
  // A snapshot of the first 12 commands at the position where they end.
  Wallet first_part(SmallWallet());
  ApplyPrefix(first_part, 12);
  const std::uint64_t position = spans_[12].start;
  SnapshotStats written;
  std::string error;
  ASSERT_TRUE(
      WriteSnapshot(dir_.path(), first_part, position, kNowMs, written, error))
      << error;

  Wallet recovered(SmallWallet());
  RecoveryStats stats;
  ASSERT_TRUE(Recover(dir_.path(), recovered, kNowMs, stats, error)) << error;
  EXPECT_TRUE(stats.had_snapshot);
  EXPECT_EQ(stats.snapshot_position, position);
  EXPECT_EQ(stats.records_replayed, 8u);
  EXPECT_EQ(stats.segments, 1u);  // The first is wholly covered.
  EXPECT_EQ(stats.end_position, spans_.back().end);
  EXPECT_TRUE(SameWallet(live_, recovered, kNowMs));
}

TEST_F(RecoverySnapshot, SnapshotInsideASegmentReplaysFromItsPosition) {
  WriteJournal(10, {});
  Wallet first_part(SmallWallet());
  ApplyPrefix(first_part, 4);
  SnapshotStats written;
  std::string error;
  ASSERT_TRUE(WriteSnapshot(dir_.path(), first_part, spans_[4].start, kNowMs,
                            written, error))
      << error;
  Wallet recovered(SmallWallet());
  RecoveryStats stats;
  ASSERT_TRUE(Recover(dir_.path(), recovered, kNowMs, stats, error)) << error;
  EXPECT_EQ(stats.records_replayed, 6u);
  EXPECT_TRUE(SameWallet(live_, recovered, kNowMs));
}

using RecoveryExpiry = RecoveryTest;

constexpr std::int64_t kWindowMs = 60'000;

WalletOptions ShortWindow() {
  WalletOptions options = SmallWallet();
  options.key_window_ms = kWindowMs;
  return options;
}

// Old keys were first applied two windows before recovery, fresh ones
// well inside the window; both sets of balances survive, only the fresh
// keys are remembered.
struct ExpiryJournal {
  std::vector<OwnedCommand> old_commands = MakeCommands(6, 3, "old");
  std::vector<OwnedCommand> fresh_commands = MakeCommands(6, 3, "fresh");
  std::int64_t old_ms = kNowMs - 2 * kWindowMs;
  std::int64_t fresh_ms = kNowMs - kWindowMs / 2;
};

void ExpectOnlyFreshKeys(Wallet& recovered, const ExpiryJournal& history) {
  EXPECT_EQ(recovered.key_count(), history.fresh_commands.size());
  NullLog null_log;
  // A fresh key is still held: a different payload under it conflicts.
  OwnedCommand fresh = history.fresh_commands[0];
  fresh.amount_minor += 1;
  const Outcome conflict = recovered.Apply(fresh.view(), kNowMs, null_log);
  EXPECT_EQ(conflict.status, Status::kRejected);
  EXPECT_EQ(conflict.reason, Reason::kKeyConflict);
  // An old key is free again: the same kind of command applies.
  OwnedCommand old = history.old_commands[0];
  old.amount_minor += 1;
  EXPECT_EQ(recovered.Apply(old.view(), kNowMs, null_log).status,
            Status::kApplied);
}

TEST_F(RecoveryExpiry, JournalRecordsOlderThanWindowBringNoKeysBack) {
  const ExpiryJournal history;
  Wallet live(ShortWindow());
  JournalOptions options;
  options.dir = dir_.path();
  std::string error;
  {
    std::unique_ptr<Journal> journal = Journal::Open(options, 0, error);
    ASSERT_NE(journal, nullptr) << error;
    ApplyRange(live, history.old_commands, 0, 6, history.old_ms, *journal);
    ApplyRange(live, history.fresh_commands, 0, 6, history.fresh_ms, *journal);
    ASSERT_TRUE(journal->Close());
  }
  Wallet recovered(ShortWindow());
  RecoveryStats stats;
  ASSERT_TRUE(Recover(dir_.path(), recovered, kNowMs, stats, error)) << error;
  EXPECT_EQ(stats.records_replayed, 12u);
  // Balances of both sets are back.
  for (const OwnedCommand& command : history.old_commands) {
    EXPECT_FALSE(recovered.Read(command.user).balances.empty());
  }
  EXPECT_TRUE(SameWallet(live, recovered, kNowMs));
  ExpectOnlyFreshKeys(recovered, history);
}

TEST_F(RecoveryExpiry, SnapshotKeysOlderThanWindowAtLoadAreDropped) {
  const ExpiryJournal history;
  Wallet live(ShortWindow());
  JournalOptions options;
  options.dir = dir_.path();
  std::string error;
  std::uint64_t end = 0;
  {
    std::unique_ptr<Journal> journal = Journal::Open(options, 0, error);
    ASSERT_NE(journal, nullptr) << error;
    ApplyRange(live, history.old_commands, 0, 6, history.old_ms, *journal);
    ApplyRange(live, history.fresh_commands, 0, 6, history.fresh_ms, *journal);
    end = journal->appended_position();
    ASSERT_TRUE(journal->Close());
  }
  // Taken while the old keys were still inside the window.
  const std::int64_t snapshot_ms = history.old_ms + kWindowMs / 2;
  SnapshotStats written;
  ASSERT_TRUE(
      WriteSnapshot(dir_.path(), live, end, snapshot_ms, written, error))
      << error;
  ASSERT_EQ(written.keys, 12u);

  Wallet recovered(ShortWindow());
  RecoveryStats stats;
  ASSERT_TRUE(Recover(dir_.path(), recovered, kNowMs, stats, error)) << error;
  EXPECT_TRUE(stats.had_snapshot);
  EXPECT_EQ(stats.records_replayed, 0u);
  EXPECT_TRUE(SameWallet(live, recovered, kNowMs));
  ExpectOnlyFreshKeys(recovered, history);
}

}  // namespace
}  // namespace wallet::storage_test
