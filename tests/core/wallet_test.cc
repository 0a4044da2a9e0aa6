// Tests of the wallet core (worker/core/wallet.h): every idempotency
// outcome, reads, key expiry, journal replay, snapshot export and import,
// and many-threaded applies that must conserve money to the minor unit.
//
// Outcomes and replies are compared through Describe() strings so that a
// failure prints both sides in words rather than as raw bytes.
#include "worker/core/wallet.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <map>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/protocol.h"
#include "worker/core/record.h"

// Sanitizers make every apply several times slower. The concurrent tests
// divide their iteration counts by this and keep the same assertions.
#if defined(__SANITIZE_THREAD__)
#define WALLET_TEST_SLOWDOWN 10
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WALLET_TEST_SLOWDOWN 10
#elif __has_feature(address_sanitizer)
#define WALLET_TEST_SLOWDOWN 4
#endif
#endif
#if !defined(WALLET_TEST_SLOWDOWN) && defined(__SANITIZE_ADDRESS__)
#define WALLET_TEST_SLOWDOWN 4
#endif
#if !defined(WALLET_TEST_SLOWDOWN)
#define WALLET_TEST_SLOWDOWN 1
#endif

namespace wallet {
namespace {

constexpr std::size_t kSlowdown = WALLET_TEST_SLOWDOWN;

// Wall-clock milliseconds at which every test starts.
constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kWindowMs = 60'000;
constexpr std::size_t kStripes = 16;

// A command that owns its strings; Command itself only views them.
struct CommandSpec {
  Op op = Op::kTopup;
  std::string key;
  std::string user;
  std::string currency;
  std::int64_t amount_minor = 0;
  std::string source = "game1";
  std::string ref;

  Command View() const {
    Command command;
    command.op = op;
    command.key = key;
    command.user = user;
    command.currency = currency;
    command.amount_minor = amount_minor;
    command.source = source;
    command.ref = ref;
    return command;
  }
};

CommandSpec Credit(std::string key, std::string user, std::string currency,
                   std::int64_t amount_minor) {
  CommandSpec spec;
  spec.key = std::move(key);
  spec.user = std::move(user);
  spec.currency = std::move(currency);
  spec.amount_minor = amount_minor;
  return spec;
}

// A Record with its own copies of the strings the wallet lent it.
struct OwnedRecord {
  explicit OwnedRecord(const Record& record)
      : time_ms(record.time_ms),
        op(record.op),
        status(record.status),
        reason(record.reason),
        key(record.key),
        user(record.user),
        currency(record.currency),
        amount_minor(record.amount_minor),
        source(record.source),
        ref(record.ref),
        balance_minor(record.balance_minor),
        version(record.version),
        failed_leg(record.failed_leg) {
    for (const LegRecord& leg : record.legs) {
      legs.push_back({leg.op, std::string(leg.user), std::string(leg.currency),
                      leg.amount_minor, leg.balance_minor, leg.version});
    }
  }

  struct OwnedLeg {
    Op op;
    std::string user;
    std::string currency;
    std::int64_t amount_minor;
    std::int64_t balance_minor;
    std::uint64_t version;
  };

  Record View() const {
    Record record;
    record.time_ms = time_ms;
    record.op = op;
    record.status = status;
    record.reason = reason;
    record.key = key;
    record.user = user;
    record.currency = currency;
    record.amount_minor = amount_minor;
    record.source = source;
    record.ref = ref;
    record.balance_minor = balance_minor;
    record.version = version;
    record.failed_leg = failed_leg;
    leg_views.clear();
    for (const OwnedLeg& leg : legs) {
      leg_views.push_back({leg.op, leg.user, leg.currency, leg.amount_minor,
                           leg.balance_minor, leg.version});
    }
    record.legs = leg_views;
    return record;
  }

  std::int64_t time_ms;
  Op op;
  Status status;
  Reason reason;
  std::string key;
  std::string user;
  std::string currency;
  std::int64_t amount_minor;
  std::string source;
  std::string ref;
  std::int64_t balance_minor;
  std::uint64_t version;
  int failed_leg;
  std::vector<OwnedLeg> legs;
  // Rebuilt by View(); the views point into `legs`.
  mutable std::vector<LegRecord> leg_views;
};

// Keeps a copy of every record. Append runs under the wallet's stripe
// locks, on as many threads as call Apply, hence the mutex.
class RecordingLog final : public CommitLog {
 public:
  std::uint64_t Append(const Record& record) override {
    MutexLock lock(mu_);
    records_.emplace_back(record);
    return records_.size();
  }

  std::vector<OwnedRecord> records() const {
    MutexLock lock(mu_);
    return records_;
  }

  std::size_t size() const {
    MutexLock lock(mu_);
    return records_.size();
  }

 private:
  mutable Mutex mu_;
  std::vector<OwnedRecord> records_ GUARDED_BY(mu_);
};

std::string Describe(const Outcome& outcome) {
  std::ostringstream out;
  out << StatusName(outcome.status);
  if (outcome.reason != Reason::kNone) {
    out << " reason=" << ReasonName(outcome.reason);
  }
  if (outcome.field != Field::kNone) {
    out << " field=" << FieldName(outcome.field);
  }
  if (outcome.has_balance) {
    out << " balance=" << outcome.balance_minor
        << " version=" << outcome.version;
  } else {
    out << " no_balance";
  }
  return out.str();
}

Outcome WithBalance(Status status, Reason reason, std::int64_t balance_minor,
                    std::uint64_t version) {
  Outcome outcome;
  outcome.status = status;
  outcome.reason = reason;
  outcome.has_balance = true;
  outcome.balance_minor = balance_minor;
  outcome.version = version;
  return outcome;
}

std::string Applied(std::int64_t balance_minor, std::uint64_t version) {
  return Describe(
      WithBalance(Status::kApplied, Reason::kNone, balance_minor, version));
}

std::string Duplicate(std::int64_t balance_minor, std::uint64_t version) {
  return Describe(
      WithBalance(Status::kDuplicate, Reason::kNone, balance_minor, version));
}

std::string Overflowed(std::int64_t balance_minor, std::uint64_t version) {
  return Describe(WithBalance(Status::kRejected, Reason::kBalanceOverflow,
                              balance_minor, version));
}

std::string Conflict(Field field) {
  Outcome outcome;
  outcome.status = Status::kRejected;
  outcome.reason = Reason::kKeyConflict;
  outcome.field = field;
  return Describe(outcome);
}

std::string Describe(const RecentOp& op) {
  std::ostringstream out;
  out << OpName(op.op) << " " << op.currency << " amount=" << op.amount_minor
      << " key=" << op.key << " ref=" << op.ref << " source=" << op.source
      << " balance=" << op.balance_minor << " version=" << op.version
      << " time=" << op.time_ms << " seq=" << op.seq;
  return out.str();
}

std::string Describe(const BalanceReply& reply) {
  std::ostringstream out;
  out << "user " << reply.user << "\n";
  for (const AccountBalance& account : reply.balances) {
    out << "  account " << account.currency << " " << account.balance_minor
        << " v" << account.version << "\n";
  }
  for (const RecentOp& op : reply.recent) {
    out << "  recent " << Describe(op) << "\n";
  }
  return out.str();
}

// Every user the scenarios below touch, and one they never do.
std::string DescribeUsers(const Wallet& wallet) {
  std::string out;
  for (const char* user : {"alice", "bob", "carol", "nobody"}) {
    out += Describe(wallet.Read(user));
  }
  return out;
}

WalletOptions TestOptions(std::size_t stripes = kStripes) {
  WalletOptions options;
  options.stripes = stripes;
  options.key_window_ms = kWindowMs;
  return options;
}

class WalletTest : public ::testing::Test {
 protected:
  std::string Apply(const CommandSpec& spec, std::int64_t now_ms) {
    return Describe(wallet_.Apply(spec.View(), now_ms, log_));
  }

  Wallet wallet_{TestOptions()};
  RecordingLog log_;
};

// ---------------------------------------------------------------------
// Apply outcomes.

// One stripe, so that a single user table grows through many doublings
// while it already holds users: every one must still be found, with its
// own balance, by reads and by the snapshot export.
TEST(WalletUsers, OneStripeKeepsThousandsOfUsersThroughGrowth) {
  constexpr int kUsers = 5000;
  Wallet wallet(TestOptions(1));
  RecordingLog log;
  for (int i = 0; i < kUsers; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_EQ(
        Describe(wallet.Apply(
            Credit("k" + n, "user-" + n, "gold", i + 1).View(), kT0, log)),
        Applied(i + 1, 1));
  }
  // A second credit to every tenth user finds the same user, not a new one.
  for (int i = 0; i < kUsers; i += 10) {
    const std::string n = std::to_string(i);
    ASSERT_EQ(
        Describe(wallet.Apply(
            Credit("again-" + n, "user-" + n, "gold", 1).View(), kT0, log)),
        Applied(i + 2, 2));
  }
  EXPECT_EQ(wallet.account_count(), static_cast<std::size_t>(kUsers));
  for (int i = 0; i < kUsers; ++i) {
    const BalanceReply reply = wallet.Read("user-" + std::to_string(i));
    ASSERT_EQ(reply.balances.size(), 1u) << i;
    EXPECT_EQ(reply.balances[0].balance_minor, i + 1 + (i % 10 == 0 ? 1 : 0))
        << i;
  }
  EXPECT_TRUE(wallet.Read("user-" + std::to_string(kUsers)).balances.empty());
  const Wallet::UserExport exported = wallet.ExportUsers(0);
  EXPECT_EQ(exported.accounts.size(), static_cast<std::size_t>(kUsers));
}

class FirstCreditTest : public WalletTest {};

TEST_F(FirstCreditTest, AppliesAndAppendsRecordOfStateAfter) {
  CommandSpec spec = Credit("k1", "alice", "gold", 100);
  spec.source = "game7";
  spec.ref = "order-1";
  EXPECT_EQ(Apply(spec, kT0), Applied(100, 1));

  const std::vector<OwnedRecord> records = log_.records();
  ASSERT_EQ(records.size(), 1u);
  const OwnedRecord& record = records[0];
  EXPECT_EQ(record.time_ms, kT0);
  EXPECT_EQ(record.op, Op::kTopup);
  EXPECT_EQ(record.status, Status::kApplied);
  EXPECT_EQ(record.reason, Reason::kNone);
  EXPECT_EQ(record.key, "k1");
  EXPECT_EQ(record.user, "alice");
  EXPECT_EQ(record.currency, "gold");
  EXPECT_EQ(record.amount_minor, 100);
  EXPECT_EQ(record.source, "game7");
  EXPECT_EQ(record.ref, "order-1");
  EXPECT_EQ(record.balance_minor, 100);
  EXPECT_EQ(record.version, 1u);

  const BalanceReply reply = wallet_.Read("alice");
  ASSERT_EQ(reply.balances.size(), 1u);
  EXPECT_EQ(reply.balances[0].currency, "gold");
  EXPECT_EQ(reply.balances[0].balance_minor, 100);
  EXPECT_EQ(reply.balances[0].version, 1u);
  EXPECT_EQ(wallet_.key_count(), 1u);
  EXPECT_EQ(wallet_.account_count(), 1u);
}

class CreditOpTest : public WalletTest,
                     public ::testing::WithParamInterface<Op> {};

TEST_P(CreditOpTest, AddsTheAmount) {
  CommandSpec first = Credit("k1", "alice", "gold", 100);
  CommandSpec second = Credit("k2", "alice", "gold", 250);
  first.op = GetParam();
  second.op = GetParam();
  EXPECT_EQ(Apply(first, kT0), Applied(100, 1));
  EXPECT_EQ(Apply(second, kT0 + 1), Applied(350, 2));

  const std::vector<OwnedRecord> records = log_.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].op, GetParam());
  EXPECT_EQ(records[1].balance_minor, 350);
  EXPECT_EQ(records[1].version, 2u);
  const BalanceReply reply = wallet_.Read("alice");
  ASSERT_EQ(reply.balances.size(), 1u);
  EXPECT_EQ(reply.balances[0].balance_minor, 350);
  ASSERT_EQ(reply.recent.size(), 2u);
  EXPECT_EQ(reply.recent[0].op, GetParam());
}

INSTANTIATE_TEST_SUITE_P(BothCreditOps, CreditOpTest,
                         ::testing::Values(Op::kTopup, Op::kReward),
                         [](const ::testing::TestParamInfo<Op>& param_info) {
                           return std::string(OpName(param_info.param));
                         });

class IdempotentRetryTest : public WalletTest {};

TEST_F(IdempotentRetryTest, AnswersFirstResultAfterBalanceMovedOn) {
  const CommandSpec first = Credit("k1", "alice", "gold", 100);
  EXPECT_EQ(Apply(first, kT0), Applied(100, 1));
  EXPECT_EQ(Apply(Credit("k2", "alice", "gold", 50), kT0 + 1), Applied(150, 2));
  EXPECT_EQ(Apply(Credit("k3", "alice", "gold", 25), kT0 + 2), Applied(175, 3));
  const std::string before = DescribeUsers(wallet_);

  EXPECT_EQ(Apply(first, kT0 + 3), Duplicate(100, 1));
  EXPECT_EQ(Apply(first, kT0 + kWindowMs - 1), Duplicate(100, 1));
  EXPECT_EQ(Apply(Credit("k2", "alice", "gold", 50), kT0 + 4),
            Duplicate(150, 2));

  EXPECT_EQ(DescribeUsers(wallet_), before);
  EXPECT_EQ(log_.size(), 3u);
  EXPECT_EQ(wallet_.key_count(), 3u);
}

// A retry that differs from the first command in exactly one field.
struct ConflictCase {
  std::string name;
  void (*change)(CommandSpec&);
  Field field;
};

void PrintTo(const ConflictCase& c, std::ostream* os) { *os << c.name; }

class KeyConflictTest : public WalletTest,
                        public ::testing::WithParamInterface<ConflictCase> {
 protected:
  static CommandSpec Original() {
    CommandSpec spec = Credit("k1", "alice", "gold", 100);
    spec.source = "game1";
    spec.ref = "order-1";
    return spec;
  }
};

TEST_P(KeyConflictTest, NamesTheFieldAndChangesNothing) {
  ASSERT_EQ(Apply(Original(), kT0), Applied(100, 1));
  ASSERT_EQ(Apply(Credit("k2", "alice", "gold", 50), kT0 + 1), Applied(150, 2));
  const std::string before = DescribeUsers(wallet_);
  const std::size_t records_before = log_.size();
  const std::size_t keys_before = wallet_.key_count();
  const std::size_t accounts_before = wallet_.account_count();

  CommandSpec retry = Original();
  GetParam().change(retry);
  EXPECT_EQ(Apply(retry, kT0 + 2), Conflict(GetParam().field));

  EXPECT_EQ(DescribeUsers(wallet_), before);
  EXPECT_EQ(log_.size(), records_before);
  EXPECT_EQ(wallet_.key_count(), keys_before);
  EXPECT_EQ(wallet_.account_count(), accounts_before);
  // The key still holds the first command.
  EXPECT_EQ(Apply(Original(), kT0 + 3), Duplicate(100, 1));
}

INSTANTIATE_TEST_SUITE_P(
    EachField, KeyConflictTest,
    ::testing::Values(
        ConflictCase{"op", [](CommandSpec& s) { s.op = Op::kReward; },
                     Field::kOp},
        ConflictCase{"user", [](CommandSpec& s) { s.user = "bob"; },
                     Field::kUser},
        ConflictCase{"currency", [](CommandSpec& s) { s.currency = "gems"; },
                     Field::kCurrency},
        ConflictCase{"amount", [](CommandSpec& s) { s.amount_minor = 101; },
                     Field::kAmount},
        ConflictCase{"source", [](CommandSpec& s) { s.source = "game2"; },
                     Field::kSource},
        ConflictCase{"ref", [](CommandSpec& s) { s.ref = "order-2"; },
                     Field::kRef},
        ConflictCase{"ref_absent", [](CommandSpec& s) { s.ref = ""; },
                     Field::kRef}),
    [](const ::testing::TestParamInfo<ConflictCase>& param_info) {
      return param_info.param.name;
    });

class KeysAreGlobalTest : public WalletTest {};

TEST_F(KeysAreGlobalTest, SameKeyForOtherUserConflictsOnUser) {
  ASSERT_EQ(Apply(Credit("shared", "alice", "gold", 100), kT0),
            Applied(100, 1));
  ASSERT_EQ(Apply(Credit("bob-1", "bob", "gold", 40), kT0 + 1), Applied(40, 1));
  const std::string before = DescribeUsers(wallet_);

  EXPECT_EQ(Apply(Credit("shared", "bob", "gold", 100), kT0 + 2),
            Conflict(Field::kUser));
  EXPECT_EQ(Apply(Credit("shared", "carol", "gold", 100), kT0 + 3),
            Conflict(Field::kUser));

  EXPECT_EQ(DescribeUsers(wallet_), before);
  EXPECT_EQ(log_.size(), 2u);
  EXPECT_EQ(wallet_.account_count(), 2u);
}

class BalanceOverflowTest : public WalletTest {
 protected:
  // Credits alice/gold up to `balance_minor` in the largest amounts a
  // command may carry; returns the account's version.
  std::uint64_t FillTo(std::int64_t balance_minor) {
    std::uint64_t version = 0;
    std::int64_t balance = 0;
    while (balance < balance_minor) {
      const std::int64_t amount =
          std::min(kAmountMinorMax, balance_minor - balance);
      balance += amount;
      ++version;
      const CommandSpec spec =
          Credit("fill-" + std::to_string(version), "alice", "gold", amount);
      EXPECT_EQ(Apply(spec, kT0), Applied(balance, version));
    }
    return version;
  }
};

TEST_F(BalanceOverflowTest, CreditReachingExactlyTheMaximumApplies) {
  const std::uint64_t version = FillTo(kBalanceMinorMax - 10);
  EXPECT_EQ(Apply(Credit("last", "alice", "gold", 10), kT0 + 1),
            Applied(kBalanceMinorMax, version + 1));
}

TEST_F(BalanceOverflowTest, CreditPastTheMaximumIsRejectedAndRemembered) {
  const std::int64_t full = kBalanceMinorMax - 10;
  const std::uint64_t version = FillTo(full);
  const std::string before = DescribeUsers(wallet_);
  const std::size_t records_before = log_.size();
  const std::size_t keys_before = wallet_.key_count();

  const CommandSpec over = Credit("over", "alice", "gold", 11);
  EXPECT_EQ(Apply(over, kT0 + 1), Overflowed(full, version));

  // Nothing moved, not even the latest operations, but the key is used
  // and the rejection is in the log for recovery to see.
  EXPECT_EQ(DescribeUsers(wallet_), before);
  EXPECT_EQ(wallet_.key_count(), keys_before + 1);
  const std::vector<OwnedRecord> records = log_.records();
  ASSERT_EQ(records.size(), records_before + 1);
  const OwnedRecord& record = records.back();
  EXPECT_EQ(record.status, Status::kRejected);
  EXPECT_EQ(record.reason, Reason::kBalanceOverflow);
  EXPECT_EQ(record.key, "over");
  EXPECT_EQ(record.amount_minor, 11);
  EXPECT_EQ(record.time_ms, kT0 + 1);
  EXPECT_EQ(record.balance_minor, full);
  EXPECT_EQ(record.version, version);

  // A retry gets the same rejection and appends nothing.
  EXPECT_EQ(Apply(over, kT0 + 2), Overflowed(full, version));
  EXPECT_EQ(log_.size(), records_before + 1);
  // The failed key stays used: a smaller amount under it is a conflict.
  CommandSpec smaller = over;
  smaller.amount_minor = 10;
  EXPECT_EQ(Apply(smaller, kT0 + 3), Conflict(Field::kAmount));
  // The account still takes credits, and the old rejection still stands.
  EXPECT_EQ(Apply(Credit("fits", "alice", "gold", 10), kT0 + 4),
            Applied(kBalanceMinorMax, version + 1));
  EXPECT_EQ(Apply(over, kT0 + 5), Overflowed(full, version));
}

// ---------------------------------------------------------------------
// Spends.

CommandSpec Spend(std::string key, std::string user, std::string currency,
                  std::int64_t amount_minor) {
  CommandSpec spec = Credit(std::move(key), std::move(user),
                            std::move(currency), amount_minor);
  spec.op = Op::kSpend;
  return spec;
}

std::string Insufficient(std::int64_t balance_minor, std::uint64_t version) {
  return Describe(WithBalance(Status::kRejected, Reason::kInsufficientFunds,
                              balance_minor, version));
}

// One spend after alice/gold was credited `funded` (in one topup, so at
// version 1 when funded, 0 when not).
struct SpendCase {
  const char* name;
  std::int64_t funded;
  std::int64_t amount;
  std::string expected;        // The spend's outcome.
  std::int64_t balance_after;  // alice/gold after it.
};

class SpendOutcomeTest : public WalletTest,
                         public ::testing::WithParamInterface<SpendCase> {};

TEST_P(SpendOutcomeTest, NeverGoesBelowZero) {
  const SpendCase& c = GetParam();
  if (c.funded > 0) Apply(Credit("fund", "alice", "gold", c.funded), kT0);
  EXPECT_EQ(Apply(Spend("spend", "alice", "gold", c.amount), kT0 + 1),
            c.expected);
  const BalanceReply reply = wallet_.Read("alice");
  const std::int64_t balance =
      reply.balances.empty() ? 0 : reply.balances.front().balance_minor;
  EXPECT_EQ(balance, c.balance_after);
  // Whatever the outcome, the key is used: a retry answers the same.
  const std::string again =
      Apply(Spend("spend", "alice", "gold", c.amount), kT0 + 2);
  EXPECT_EQ(again, c.expected.rfind("applied", 0) == 0
                       ? Duplicate(c.balance_after, 2)
                       : c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, SpendOutcomeTest,
    ::testing::Values(SpendCase{"part_of_balance", 100, 30, Applied(70, 2), 70},
                      SpendCase{"whole_balance", 100, 100, Applied(0, 2), 0},
                      SpendCase{"one_more_than_balance", 100, 101,
                                Insufficient(100, 1), 100},
                      SpendCase{"unknown_account", 0, 1, Insufficient(0, 0), 0},
                      SpendCase{"largest_amount_over_small_balance", 5,
                                kAmountMinorMax, Insufficient(5, 1), 5}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(WalletTest, RejectedSpendKeepsItsKeyAndLaterSpendSucceeds) {
  Apply(Credit("fund", "alice", "gold", 50), kT0);
  const CommandSpec too_much = Spend("buy-1", "alice", "gold", 80);
  EXPECT_EQ(Apply(too_much, kT0 + 1), Insufficient(50, 1));
  EXPECT_EQ(Apply(Credit("fund-2", "alice", "gold", 50), kT0 + 2),
            Applied(100, 2));
  // The retry of the rejected key is answered from the table, not
  // re-evaluated against the new balance.
  EXPECT_EQ(Apply(too_much, kT0 + 3), Insufficient(50, 1));
  EXPECT_EQ(Apply(Spend("buy-2", "alice", "gold", 80), kT0 + 4),
            Applied(20, 3));
  // A rejected spend leaves a record (the key must survive a restart) but
  // no recent operation.
  const std::vector<OwnedRecord> records = log_.records();
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[1].reason, Reason::kInsufficientFunds);
  EXPECT_EQ(records[1].balance_minor, 50);
  const BalanceReply reply = wallet_.Read("alice");
  ASSERT_EQ(reply.recent.size(), 3u);
  EXPECT_EQ(reply.recent.front().op, Op::kSpend);
  EXPECT_EQ(reply.recent.front().balance_minor, 20);
}

TEST_F(WalletTest, SpendRetryWithOtherAmountIsConflict) {
  Apply(Credit("fund", "alice", "gold", 50), kT0);
  EXPECT_EQ(Apply(Spend("buy", "alice", "gold", 10), kT0 + 1), Applied(40, 2));
  EXPECT_EQ(Apply(Spend("buy", "alice", "gold", 11), kT0 + 2),
            Conflict(Field::kAmount));
  EXPECT_EQ(Apply(Credit("buy", "alice", "gold", 10), kT0 + 3),
            Conflict(Field::kOp));
}

// ---------------------------------------------------------------------
// Batches.

// A batch command that owns its strings.
struct BatchSpec {
  std::string key;
  std::string user;
  std::string source = "game1";
  std::string ref;
  struct LegSpec {
    Op op;
    std::string currency;
    std::int64_t amount_minor;
    std::string user;  // Empty: the batch's user.
  };
  std::vector<LegSpec> leg_specs;
  mutable std::vector<Leg> legs;

  Command View() const {
    legs.clear();
    for (const LegSpec& spec : leg_specs) {
      legs.push_back({spec.op, spec.user.empty() ? user : spec.user,
                      spec.currency, spec.amount_minor});
    }
    Command command;
    command.op = Op::kBatch;
    command.key = key;
    command.user = user;
    command.source = source;
    command.ref = ref;
    command.legs = legs;
    return command;
  }
};

// "<status> [reason=...] [leg=N balance=B version=V] legs=b/v,b/v".
std::string DescribeBatch(const Outcome& outcome) {
  std::ostringstream out;
  out << StatusName(outcome.status);
  if (outcome.reason != Reason::kNone) {
    out << " reason=" << ReasonName(outcome.reason);
  }
  if (outcome.field != Field::kNone) {
    out << " field=" << FieldName(outcome.field);
  }
  if (outcome.failed_leg >= 0) {
    out << " leg=" << outcome.failed_leg << " balance=" << outcome.balance_minor
        << " version=" << outcome.version;
  }
  out << " legs=";
  for (const LegOutcome& leg : outcome.legs) {
    out << leg.balance_minor << "/" << leg.version << ",";
  }
  return out.str();
}

// alice starts with gold 100 (v1) and gems 5 (v1); bob with gold 10 (v1).
class BatchTest : public WalletTest {
 protected:
  void SetUp() override {
    Apply(Credit("seed-1", "alice", "gold", 100), kT0);
    Apply(Credit("seed-2", "alice", "gems", 5), kT0);
    Apply(Credit("seed-3", "bob", "gold", 10), kT0);
  }
  std::string Batch(const BatchSpec& spec, std::int64_t now_ms = kT0 + 1) {
    return DescribeBatch(wallet_.Apply(spec.View(), now_ms, log_));
  }
  // alice gives bob 30 gold: one record touching both users.
  static BatchSpec Gift(std::string key) {
    BatchSpec gift;
    gift.key = std::move(key);
    gift.user = "alice";
    gift.leg_specs = {BatchSpec::LegSpec{Op::kSpend, "gold", 30, ""},
                      BatchSpec::LegSpec{Op::kTopup, "gold", 30, "bob"}};
    return gift;
  }
  std::int64_t BalanceOf(const char* user, const char* currency) {
    for (const AccountBalance& b : wallet_.Read(user).balances) {
      if (b.currency == currency) return b.balance_minor;
    }
    return 0;
  }
};

TEST_F(BatchTest, ReadsReportTheLogPositionOfEachUsersLastRecord) {
  // RecordingLog numbers records 1, 2, 3...: the setup wrote three.
  const auto position_of = [&](const char* user) {
    std::uint64_t position = 99;
    wallet_.Read(user, &position);
    std::uint64_t history_position = 98;
    HistoryQuery query;
    query.user = user;
    query.limit = 10;
    wallet_.History(query, &history_position);
    EXPECT_EQ(position, history_position) << user;
    return position;
  };
  EXPECT_EQ(position_of("alice"), 2u);
  EXPECT_EQ(position_of("bob"), 3u);
  EXPECT_EQ(position_of("nobody"), 0u);

  // A gift is one record that touches both users.
  const BatchSpec gift = Gift("gift");
  ASSERT_EQ(Batch(gift), "applied legs=70/2,40/2,");
  EXPECT_EQ(position_of("alice"), 4u);
  EXPECT_EQ(position_of("bob"), 4u);

  // A refused spend leaves a record too (a retry must see it again).
  ASSERT_EQ(Apply(Spend("too-much", "bob", "gold", 1000), kT0 + 2),
            Insufficient(40, 2));
  EXPECT_EQ(position_of("bob"), 5u);
  EXPECT_EQ(position_of("alice"), 4u);
  // A duplicate writes nothing.
  ASSERT_EQ(Batch(gift), "duplicate legs=70/2,40/2,");
  EXPECT_EQ(position_of("alice"), 4u);
}

struct BatchCase {
  const char* name;
  std::vector<BatchSpec::LegSpec> legs;
  std::string expected;
  // alice gold, alice gems, bob gold afterwards.
  std::int64_t alice_gold, alice_gems, bob_gold;
};

class BatchOutcomeTest : public BatchTest,
                         public ::testing::WithParamInterface<BatchCase> {};

TEST_P(BatchOutcomeTest, AllLegsOrNone) {
  const BatchCase& c = GetParam();
  BatchSpec spec;
  spec.key = "batch";
  spec.user = "alice";
  spec.leg_specs = c.legs;
  EXPECT_EQ(Batch(spec), c.expected);
  EXPECT_EQ(BalanceOf("alice", "gold"), c.alice_gold);
  EXPECT_EQ(BalanceOf("alice", "gems"), c.alice_gems);
  EXPECT_EQ(BalanceOf("bob", "gold"), c.bob_gold);
}

using LS = BatchSpec::LegSpec;
INSTANTIATE_TEST_SUITE_P(
    Table, BatchOutcomeTest,
    ::testing::Values(
        BatchCase{
            "purchase",
            {LS{Op::kSpend, "gold", 100, ""}, LS{Op::kReward, "gems", 1, ""}},
            "applied legs=0/2,6/2,",
            0,
            6,
            10},
        BatchCase{
            "gift",
            {LS{Op::kSpend, "gold", 30, ""}, LS{Op::kTopup, "gold", 30, "bob"}},
            "applied legs=70/2,40/2,",
            70,
            5,
            40},
        BatchCase{
            "second_leg_short",
            {LS{Op::kReward, "gems", 1, ""}, LS{Op::kSpend, "gold", 101, ""}},
            "rejected reason=insufficient_funds leg=1 balance=100 "
            "version=1 legs=",
            100,
            5,
            10},
        BatchCase{
            "same_account_sees_earlier_legs",
            {LS{Op::kSpend, "gold", 100, ""}, LS{Op::kSpend, "gold", 1, ""}},
            "rejected reason=insufficient_funds leg=1 balance=0 "
            "version=2 legs=",
            100,
            5,
            10},
        BatchCase{
            "credit_then_spend_on_one_account",
            {LS{Op::kTopup, "gold", 50, ""}, LS{Op::kSpend, "gold", 150, ""}},
            "applied legs=150/2,0/3,",
            0,
            5,
            10},
        BatchCase{
            "gift_from_someone_short",
            {LS{Op::kSpend, "gold", 11, "bob"}, LS{Op::kTopup, "gold", 11, ""}},
            "rejected reason=insufficient_funds leg=0 balance=10 "
            "version=1 legs=",
            100,
            5,
            10},
        BatchCase{"overflow_leg",
                  {LS{Op::kSpend, "gold", 1, ""},
                   LS{Op::kTopup, "gold", kAmountMinorMax, ""},
                   LS{Op::kTopup, "gold", kAmountMinorMax, ""}},
                  "applied legs=99/2,1000000000000099/3,"
                  "2000000000000099/4,",
                  2'000'000'000'000'099,
                  5,
                  10}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(BatchTest, RetriesAnswerTheFirstResultAndConflictsNameLegs) {
  BatchSpec gift = Gift("gift-1");
  EXPECT_EQ(Batch(gift), "applied legs=70/2,40/2,");
  Apply(Credit("later", "bob", "gold", 1), kT0 + 2);
  EXPECT_EQ(Batch(gift, kT0 + 3), "duplicate legs=70/2,40/2,");

  BatchSpec changed = gift;
  changed.leg_specs[1].amount_minor = 31;
  EXPECT_EQ(Batch(changed, kT0 + 4),
            "rejected reason=key_conflict field=legs legs=");
  BatchSpec other_user = gift;
  other_user.user = "carol";
  EXPECT_EQ(Batch(other_user, kT0 + 4),
            "rejected reason=key_conflict field=user legs=");
  EXPECT_EQ(Apply(Credit("gift-1", "alice", "gold", 30), kT0 + 5),
            Conflict(Field::kOp));

  BatchSpec short_gift = gift;
  short_gift.key = "gift-2";
  short_gift.leg_specs[0].amount_minor = 500;
  short_gift.leg_specs[1].amount_minor = 500;
  const std::string refused =
      "rejected reason=insufficient_funds leg=0 balance=70 version=2 legs=";
  EXPECT_EQ(Batch(short_gift, kT0 + 6), refused);
  Apply(Credit("more", "alice", "gold", 1000), kT0 + 7);
  EXPECT_EQ(Batch(short_gift, kT0 + 8), refused);
  EXPECT_EQ(BalanceOf("alice", "gold"), 1070);
  EXPECT_EQ(BalanceOf("bob", "gold"), 41);
}

TEST_F(BatchTest, OneRecordPerBatchAndReplayRebuildsIt) {
  BatchSpec gift;
  gift.key = "gift-1";
  gift.user = "alice";
  gift.leg_specs = {LS{Op::kSpend, "gold", 30, ""},
                    LS{Op::kTopup, "gold", 30, "bob"},
                    LS{Op::kReward, "gems", 2, "bob"}};
  const std::size_t before = log_.size();
  Batch(gift);
  const std::vector<OwnedRecord> records = log_.records();
  ASSERT_EQ(records.size(), before + 1);
  EXPECT_EQ(records.back().op, Op::kBatch);
  ASSERT_EQ(records.back().legs.size(), 3u);

  Wallet replayed(TestOptions());
  for (const OwnedRecord& record : records) {
    replayed.Replay(record.View(), kT0 + 10);
  }
  EXPECT_EQ(DescribeUsers(replayed), DescribeUsers(wallet_));
  RecordingLog replay_log;
  EXPECT_EQ(DescribeBatch(replayed.Apply(gift.View(), kT0 + 11, replay_log)),
            "duplicate legs=70/2,40/2,2/1,");
  // Bob's history holds his two legs under the batch's key.
  const HistoryReply bob = replayed.History({"bob", 10, 0});
  ASSERT_EQ(bob.ops.size(), 3u);
  EXPECT_EQ(bob.ops[0].key, "gift-1");
  EXPECT_EQ(bob.ops[0].op, Op::kReward);
  EXPECT_EQ(bob.ops[1].key, "gift-1");
  EXPECT_EQ(bob.ops[1].op, Op::kTopup);
}

// ---------------------------------------------------------------------
// History.

class HistoryTest : public ::testing::Test {
 protected:
  static WalletOptions Options() {
    WalletOptions options = TestOptions();
    options.history_per_user = 10;
    return options;
  }

  // Seqs of a page, newest first, then "next=<before>".
  std::string Page(std::uint32_t limit, std::uint64_t before) const {
    const HistoryReply reply = wallet_.History({"alice", limit, before});
    std::string out;
    for (const RecentOp& op : reply.ops) out += std::to_string(op.seq) + " ";
    return out + "next=" + std::to_string(reply.next_before);
  }

  Wallet wallet_{Options()};
  RecordingLog log_;
};

TEST_F(HistoryTest, PagesGoNewestFirstDownToTheOldestKept) {
  // 15 operations, credits and spends, two currencies; rejections and
  // duplicates are not operations.
  for (int i = 1; i <= 15; ++i) {
    const std::string currency = i % 2 == 0 ? "gems" : "gold";
    const CommandSpec spec =
        i > 4 && i % 3 == 0
            ? Spend("h" + std::to_string(i), "alice", currency, 1)
            : Credit("h" + std::to_string(i), "alice", currency, 5);
    ASSERT_EQ(wallet_.Apply(spec.View(), kT0 + i, log_).status,
              Status::kApplied);
  }
  wallet_.Apply(Spend("too-much", "alice", "gold", 1000).View(), kT0, log_);
  wallet_.Apply(Credit("h1", "alice", "gold", 5).View(), kT0, log_);

  EXPECT_EQ(Page(4, 0), "15 14 13 12 next=12");
  EXPECT_EQ(Page(4, 12), "11 10 9 8 next=8");
  // Ten are kept: 6..15. The last page says there is nothing older.
  EXPECT_EQ(Page(4, 8), "7 6 next=0");
  EXPECT_EQ(Page(100, 0), "15 14 13 12 11 10 9 8 7 6 next=0");
  EXPECT_EQ(Page(2, 7), "6 next=0");
  EXPECT_EQ(Page(2, 6), "next=0");
  // A cursor newer than anything returns from the newest.
  EXPECT_EQ(Page(1, 1000), "15 next=15");

  const HistoryReply newest = wallet_.History({"alice", 1, 0});
  ASSERT_EQ(newest.ops.size(), 1u);
  EXPECT_EQ(newest.ops[0].key, "h15");
  EXPECT_EQ(newest.ops[0].op, Op::kSpend);
  // A balance query still shows only the latest kRecentOpsMax.
  EXPECT_EQ(wallet_.Read("alice").recent.size(), kRecentOpsMax);
  EXPECT_EQ(wallet_.History({"nobody", 5, 0}).ops.size(), 0u);
}

TEST_F(HistoryTest, ReplayAndImportKeepTheSameSeqs) {
  for (int i = 1; i <= 12; ++i) {
    wallet_.Apply(Credit("r" + std::to_string(i), "alice", "gold", 1).View(),
                  kT0 + i, log_);
  }
  Wallet replayed(Options());
  for (const OwnedRecord& record : log_.records()) {
    replayed.Replay(record.View(), kT0 + 20);
  }
  Wallet imported(Options());
  for (std::size_t s = 0; s < wallet_.stripe_count(); ++s) {
    for (const auto& [user, op] : wallet_.ExportUsers(s).recent) {
      imported.ImportRecent(user, op);
    }
  }
  const std::string want = Page(50, 0);
  EXPECT_EQ(want, "12 11 10 9 8 7 6 5 4 3 next=0");
  for (const Wallet* other : {&replayed, &imported}) {
    const HistoryReply reply = other->History({"alice", 50, 0});
    std::string got;
    for (const RecentOp& op : reply.ops) got += std::to_string(op.seq) + " ";
    EXPECT_EQ(got + "next=" + std::to_string(reply.next_before), want);
  }
  // The next operation continues the numbering.
  imported.Apply(Credit("r13", "alice", "gold", 1).View(), kT0 + 30, log_);
  EXPECT_EQ(imported.History({"alice", 1, 0}).ops.at(0).seq, 13u);
}

// ---------------------------------------------------------------------
// Reads.

class BalanceReadTest : public WalletTest {};

TEST_F(BalanceReadTest, AccountsAreSortedByCurrency) {
  std::int64_t amount = 1;
  for (const char* currency : {"silver", "gold", "ruby", "gems", "a"}) {
    ASSERT_EQ(
        Apply(Credit(std::string("k-") + currency, "alice", currency, amount),
              kT0),
        Applied(amount, 1));
    ++amount;
  }
  ASSERT_EQ(Apply(Credit("k-gold-2", "alice", "gold", 10), kT0 + 1),
            Applied(12, 2));

  const BalanceReply reply = wallet_.Read("alice");
  EXPECT_EQ(reply.user, "alice");
  std::ostringstream accounts;
  for (const AccountBalance& account : reply.balances) {
    accounts << account.currency << "=" << account.balance_minor << "@v"
             << account.version << " ";
  }
  EXPECT_EQ(accounts.str(),
            "a=5@v1 gems=4@v1 gold=12@v2 ruby=3@v1 silver=1@v1 ");
}

TEST_F(BalanceReadTest, UnknownUserIsEmpty) {
  ASSERT_EQ(Apply(Credit("k1", "alice", "gold", 5), kT0), Applied(5, 1));
  ASSERT_EQ(Apply(Credit("k2", "alicia", "gold", 5), kT0), Applied(5, 1));

  const BalanceReply reply = wallet_.Read("alic");
  EXPECT_EQ(reply.user, "alic");
  EXPECT_TRUE(reply.balances.empty());
  EXPECT_TRUE(reply.recent.empty());
}

TEST_F(BalanceReadTest, RecentOpsAreNewestFirstAndBounded) {
  const std::size_t count = kRecentOpsMax + 3;
  std::map<std::string, std::pair<std::int64_t, std::uint64_t>> accounts;
  std::vector<RecentOp> expected;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string n = std::to_string(i);
    CommandSpec spec = Credit("key-" + n, "alice", i % 2 ? "gems" : "gold",
                              static_cast<std::int64_t>(10 + i));
    spec.op = i % 3 == 0 ? Op::kReward : Op::kTopup;
    spec.source = "game" + std::to_string(i % 4);
    spec.ref = i % 2 ? "" : "ref-" + n;
    const std::int64_t time_ms = kT0 + static_cast<std::int64_t>(7 * i);
    auto& [balance, version] = accounts[spec.currency];
    balance += spec.amount_minor;
    ++version;
    ASSERT_EQ(Apply(spec, time_ms), Applied(balance, version));
    // Another user's operations must not show up in alice's list.
    ASSERT_EQ(Apply(Credit("bob-" + n, "bob", "gold", 1), time_ms),
              Applied(static_cast<std::int64_t>(i + 1), i + 1));

    RecentOp op;
    op.op = spec.op;
    op.currency = spec.currency;
    op.amount_minor = spec.amount_minor;
    op.key = spec.key;
    op.ref = spec.ref;
    op.source = spec.source;
    op.balance_minor = balance;
    op.version = version;
    op.time_ms = time_ms;
    op.seq = i + 1;
    expected.push_back(op);
  }

  const BalanceReply reply = wallet_.Read("alice");
  ASSERT_EQ(reply.recent.size(), kRecentOpsMax);
  for (std::size_t i = 0; i < kRecentOpsMax; ++i) {
    EXPECT_EQ(Describe(reply.recent[i]), Describe(expected[count - 1 - i]))
        << "recent[" << i << "]";
  }
}

// ---------------------------------------------------------------------
// Key expiry.

class KeyExpiryTest : public WalletTest {};

TEST_F(KeyExpiryTest, ExpireKeysRemovesOnlyKeysPastTheWindow) {
  const CommandSpec k1 = Credit("k1", "alice", "gold", 100);
  const CommandSpec k2 = Credit("k2", "alice", "gold", 10);
  ASSERT_EQ(Apply(k1, kT0), Applied(100, 1));
  ASSERT_EQ(Apply(k2, kT0 + 500), Applied(110, 2));
  EXPECT_EQ(wallet_.key_count(), 2u);

  EXPECT_EQ(wallet_.ExpireKeys(kT0 + kWindowMs - 1), 0u);
  EXPECT_EQ(wallet_.key_count(), 2u);
  EXPECT_EQ(wallet_.ExpireKeys(kT0 + kWindowMs), 1u);
  EXPECT_EQ(wallet_.key_count(), 1u);

  // The swept key applies again as new; the other is still remembered.
  EXPECT_EQ(Apply(k1, kT0 + kWindowMs), Applied(210, 3));
  EXPECT_EQ(Apply(k2, kT0 + kWindowMs), Duplicate(110, 2));
  EXPECT_EQ(wallet_.key_count(), 2u);
  EXPECT_EQ(log_.size(), 3u);

  EXPECT_EQ(wallet_.ExpireKeys(kT0 + 500 + kWindowMs), 1u);
  EXPECT_EQ(wallet_.key_count(), 1u);
  EXPECT_EQ(wallet_.ExpireKeys(kT0 + 500 + kWindowMs), 0u);
  EXPECT_EQ(Apply(k1, kT0 + 500 + kWindowMs), Duplicate(210, 3));
}

TEST_F(KeyExpiryTest, ApplyTreatsExpiredUnsweptKeyAsNew) {
  const CommandSpec k1 = Credit("k1", "alice", "gold", 100);
  ASSERT_EQ(Apply(k1, kT0), Applied(100, 1));
  EXPECT_EQ(Apply(k1, kT0 + kWindowMs - 1), Duplicate(100, 1));

  // No sweep in between: Apply itself sees the key is past the window.
  EXPECT_EQ(Apply(k1, kT0 + kWindowMs), Applied(200, 2));
  EXPECT_EQ(log_.size(), 2u);
  EXPECT_EQ(log_.records().back().time_ms, kT0 + kWindowMs);
  EXPECT_EQ(wallet_.key_count(), 1u);
  EXPECT_EQ(Apply(k1, kT0 + kWindowMs + 1), Duplicate(200, 2));

  // The first use's place in the expiry order must not sweep the second.
  EXPECT_EQ(wallet_.ExpireKeys(kT0 + 2 * kWindowMs - 1), 0u);
  EXPECT_EQ(wallet_.key_count(), 1u);
  EXPECT_EQ(Apply(k1, kT0 + 2 * kWindowMs - 1), Duplicate(200, 2));

  // Past the window a different payload is a new command, not a conflict.
  CommandSpec changed = k1;
  changed.amount_minor = 5;
  EXPECT_EQ(Apply(changed, kT0 + 2 * kWindowMs), Applied(205, 3));
  EXPECT_EQ(wallet_.key_count(), 1u);
  EXPECT_EQ(wallet_.ExpireKeys(kT0 + 3 * kWindowMs), 1u);
  EXPECT_EQ(wallet_.key_count(), 0u);
}

// ---------------------------------------------------------------------
// Replay and snapshots share a scenario with every kind of record.

struct Step {
  CommandSpec spec;
  std::int64_t time_ms = 0;
};

// Several users and currencies, both credit ops, more operations than
// kRecentOpsMax for one user, a duplicate and a conflict (which append
// nothing), and an account filled to the maximum and then overflowed.
std::vector<Step> ScenarioSteps() {
  std::vector<Step> steps;
  std::int64_t time_ms = kT0;
  auto add = [&](const CommandSpec& spec) {
    steps.push_back({spec, time_ms});
    time_ms += 3;
  };
  auto alice = [&](int i) {
    const char* currencies[] = {"gold", "gems", "coins"};
    CommandSpec spec = Credit("alice-" + std::to_string(i), "alice",
                              currencies[i % 3], 10 + i);
    spec.op = i % 2 ? Op::kReward : Op::kTopup;
    spec.source = "game" + std::to_string(i % 4);
    if (i % 3 == 0) spec.ref = "order-" + std::to_string(i);
    add(spec);
  };
  for (int i = 0; i < 20; ++i) alice(i);
  add(Credit("bob-0", "bob", "gold", 500));
  add(Credit("bob-1", "bob", "gems", 7));
  add(Credit("bob-0", "bob", "gold", 500));
  add(Credit("bob-1", "bob", "gems", 8));
  for (int i = 0; i < 1000; ++i) {
    add(Credit("carol-" + std::to_string(i), "carol", "gold", kAmountMinorMax));
  }
  add(Credit("carol-over", "carol", "gold", 1));
  add(Credit("carol-over", "carol", "gold", 1));
  add(Credit("carol-gems", "carol", "gems", 3));
  for (int i = 20; i < 26; ++i) alice(i);
  add(Credit("bob-2", "bob", "gold", 1));
  return steps;
}

// Distinct keys in ScenarioSteps().
constexpr std::size_t kScenarioKeys = 26 + 3 + 1000 + 2;

void RunSteps(Wallet& wallet, CommitLog& log, const std::vector<Step>& steps,
              std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    wallet.Apply(steps[i].spec.View(), steps[i].time_ms, log);
  }
}

// How `wallet` answers each step's command, and the same command with a
// different amount, at `now_ms`. Each probe is answered from the key
// table when the key is known, so the probes leave no record.
std::vector<std::string> Probe(Wallet& wallet, const std::vector<Step>& steps,
                               std::int64_t now_ms, RecordingLog& log) {
  std::vector<std::string> answers;
  for (const Step& step : steps) {
    CommandSpec changed = step.spec;
    changed.amount_minor += 1;
    answers.push_back(step.spec.key + ": " +
                      Describe(wallet.Apply(step.spec.View(), now_ms, log)) +
                      " / " +
                      Describe(wallet.Apply(changed.View(), now_ms, log)));
  }
  return answers;
}

void ReplayAll(Wallet& wallet, const std::vector<OwnedRecord>& records,
               std::int64_t now_ms) {
  for (const OwnedRecord& record : records) {
    wallet.Replay(record.View(), now_ms);
  }
}

class ScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    steps_ = ScenarioSteps();
    RunSteps(live_, live_log_, steps_, 0, steps_.size());
    records_ = live_log_.records();
    now_ms_ = steps_.back().time_ms + 1;
    ASSERT_EQ(live_.key_count(), kScenarioKeys);
  }

  // `restored` must read and answer retries exactly as the live wallet.
  void ExpectSameAsLive(Wallet& restored) {
    EXPECT_EQ(DescribeUsers(restored), DescribeUsers(live_));
    EXPECT_EQ(restored.key_count(), live_.key_count());
    EXPECT_EQ(restored.account_count(), live_.account_count());
    RecordingLog live_probe_log;
    RecordingLog restored_probe_log;
    const std::vector<std::string> live_answers =
        Probe(live_, steps_, now_ms_, live_probe_log);
    const std::vector<std::string> restored_answers =
        Probe(restored, steps_, now_ms_, restored_probe_log);
    ASSERT_EQ(restored_answers.size(), live_answers.size());
    for (std::size_t i = 0; i < live_answers.size(); ++i) {
      EXPECT_EQ(restored_answers[i], live_answers[i]) << "step " << i;
    }
    EXPECT_EQ(live_probe_log.size(), 0u);
    EXPECT_EQ(restored_probe_log.size(), 0u);
  }

  std::vector<Step> steps_;
  Wallet live_{TestOptions()};
  RecordingLog live_log_;
  std::vector<OwnedRecord> records_;
  std::int64_t now_ms_ = 0;
};

class JournalReplayTest : public ScenarioTest {};

TEST_F(JournalReplayTest, RebuildsReadsAndKeyAnswers) {
  ASSERT_EQ(records_.size(), kScenarioKeys);
  Wallet restored(TestOptions());
  ReplayAll(restored, records_, now_ms_);
  ExpectSameAsLive(restored);
}

TEST_F(JournalReplayTest, ReplayingTwiceChangesNothing) {
  Wallet restored(TestOptions());
  ReplayAll(restored, records_, now_ms_);
  ReplayAll(restored, records_, now_ms_);
  ExpectSameAsLive(restored);
}

TEST_F(JournalReplayTest, OlderRecordsOverNewerStateChangeNothing) {
  Wallet restored(TestOptions());
  ReplayAll(restored, records_, now_ms_);
  const std::string after_first = DescribeUsers(restored);

  // Newest first, so that every record but the first of each account
  // meets a higher version.
  const std::vector<OwnedRecord> reversed(records_.rbegin(), records_.rend());
  ReplayAll(restored, reversed, now_ms_);
  EXPECT_EQ(DescribeUsers(restored), after_first);
  ExpectSameAsLive(restored);
}

TEST_F(JournalReplayTest, NewestRecordFirstWinsOverOlderOnes) {
  Wallet restored(TestOptions());
  const std::vector<OwnedRecord> reversed(records_.rbegin(), records_.rend());
  ReplayAll(restored, reversed, now_ms_);
  // Balances come from the newest record of each account; the older
  // records, met later, must not pull them back.
  for (const char* user : {"alice", "bob", "carol"}) {
    const BalanceReply live = live_.Read(user);
    const BalanceReply replayed = restored.Read(user);
    ASSERT_EQ(replayed.balances.size(), live.balances.size()) << user;
    for (std::size_t i = 0; i < live.balances.size(); ++i) {
      EXPECT_EQ(replayed.balances[i].balance_minor,
                live.balances[i].balance_minor)
          << user << " " << live.balances[i].currency;
      EXPECT_EQ(replayed.balances[i].version, live.balances[i].version)
          << user << " " << live.balances[i].currency;
    }
  }
  EXPECT_EQ(restored.key_count(), live_.key_count());
}

class ReplayExpiryTest : public WalletTest {};

TEST_F(ReplayExpiryTest, ExpiredRecordsRestoreBalancesButNotKeys) {
  const std::vector<std::pair<CommandSpec, std::int64_t>> commands = {
      {Credit("k1", "alice", "gold", 1), kT0},       // Age window + 10.
      {Credit("k2", "alice", "gold", 2), kT0 + 10},  // Age exactly window.
      {Credit("k3", "alice", "gold", 4), kT0 + 11},  // Age window - 1.
      {Credit("k4", "bob", "gold", 8), kT0 + kWindowMs / 2},
  };
  ASSERT_EQ(Apply(commands[0].first, commands[0].second), Applied(1, 1));
  ASSERT_EQ(Apply(commands[1].first, commands[1].second), Applied(3, 2));
  ASSERT_EQ(Apply(commands[2].first, commands[2].second), Applied(7, 3));
  ASSERT_EQ(Apply(commands[3].first, commands[3].second), Applied(8, 1));
  const std::int64_t now_ms = kT0 + kWindowMs + 10;

  Wallet restored(TestOptions());
  ReplayAll(restored, log_.records(), now_ms);
  EXPECT_EQ(DescribeUsers(restored), DescribeUsers(wallet_));
  EXPECT_EQ(restored.key_count(), 2u);

  // Expired keys apply as new in both, the others are duplicates in both.
  RecordingLog restored_log;
  for (const auto& [spec, time_ms] : commands) {
    EXPECT_EQ(Describe(restored.Apply(spec.View(), now_ms, restored_log)),
              Apply(spec, now_ms))
        << spec.key;
  }
  EXPECT_EQ(Describe(restored.Read("alice")), Describe(wallet_.Read("alice")));
  EXPECT_EQ(restored_log.size(), 2u);
}

// ---------------------------------------------------------------------
// Snapshot export and import.

struct SnapshotCopy {
  std::vector<Wallet::UserExport> users;
  std::vector<std::vector<std::pair<KeyHash, KeyEntry>>> keys;
};

SnapshotCopy ExportAll(const Wallet& wallet, std::int64_t now_ms) {
  SnapshotCopy copy;
  for (std::size_t s = 0; s < wallet.stripe_count(); ++s) {
    copy.users.push_back(wallet.ExportUsers(s));
    copy.keys.push_back(wallet.ExportKeys(s, now_ms));
  }
  return copy;
}

void ImportAll(const SnapshotCopy& copy, Wallet& wallet, std::int64_t now_ms) {
  for (std::size_t s = 0; s < copy.users.size(); ++s) {
    for (const AccountRow& row : copy.users[s].accounts) {
      wallet.ImportAccount(row);
    }
    for (const auto& [user, op] : copy.users[s].recent) {
      wallet.ImportRecent(user, op);
    }
    for (const auto& [hash, entry] : copy.keys[s]) {
      wallet.ImportKey(hash, entry, now_ms);
    }
  }
}

class SnapshotExportImportTest : public ScenarioTest {};

TEST_F(SnapshotExportImportTest, FreshWalletReadsAndAnswersAsTheLiveOne) {
  Wallet restored(TestOptions());
  ImportAll(ExportAll(live_, now_ms_), restored, now_ms_);
  ExpectSameAsLive(restored);
}

TEST_F(SnapshotExportImportTest, ImportThenOverlappingJournalCatchesUp) {
  // The recovery path: a snapshot taken mid-run, then the whole journal,
  // part of which the snapshot already covers.
  Wallet earlier(TestOptions());
  RecordingLog earlier_log;
  const std::size_t middle = steps_.size() / 2;
  RunSteps(earlier, earlier_log, steps_, 0, middle);
  const SnapshotCopy copy = ExportAll(earlier, steps_[middle].time_ms);

  Wallet restored(TestOptions());
  ImportAll(copy, restored, now_ms_);
  ReplayAll(restored, records_, now_ms_);
  ExpectSameAsLive(restored);
}

TEST_F(SnapshotExportImportTest, ExpiredKeysAreLeftOut) {
  Wallet wallet(TestOptions());
  RecordingLog log;
  const CommandSpec k1 = Credit("k1", "alice", "gold", 1);
  const CommandSpec k2 = Credit("k2", "alice", "gold", 2);
  wallet.Apply(k1.View(), kT0, log);
  wallet.Apply(k2.View(), kT0 + 1, log);
  const std::int64_t now_ms = kT0 + kWindowMs;

  Wallet restored(TestOptions());
  ImportAll(ExportAll(wallet, now_ms), restored, now_ms);
  EXPECT_EQ(restored.key_count(), 1u);
  EXPECT_EQ(DescribeUsers(restored), DescribeUsers(wallet));
  RecordingLog restored_log;
  EXPECT_EQ(Describe(restored.Apply(k1.View(), now_ms, restored_log)),
            Applied(4, 3));
  EXPECT_EQ(Describe(restored.Apply(k2.View(), now_ms, restored_log)),
            Duplicate(3, 2));
}

// A snapshot does not record the stripe count, and the worker's stripes
// option may change between runs: an import into any stripe count must
// leave a wallet that answers, reads and expires keys like the original.
class SnapshotStripeCountTest : public ::testing::TestWithParam<std::size_t> {};

TEST_P(SnapshotStripeCountTest, ImportAnswersAndExpiresLikeTheOriginal) {
  Wallet original(TestOptions(kStripes));
  RecordingLog log;
  constexpr std::int64_t kKeys = 64;
  constexpr std::int64_t kStepMs = 500;
  std::vector<CommandSpec> specs;
  for (std::int64_t i = 0; i < kKeys; ++i) {
    specs.push_back(Credit("key-" + std::to_string(i), "alice", "gold", 1));
    original.Apply(specs.back().View(), kT0 + i * kStepMs, log);
  }
  const std::int64_t export_ms = kT0 + kKeys * kStepMs;

  Wallet restored(TestOptions(GetParam()));
  ImportAll(ExportAll(original, export_ms), restored, export_ms);
  EXPECT_EQ(restored.key_count(), static_cast<std::size_t>(kKeys));
  EXPECT_EQ(DescribeUsers(restored), DescribeUsers(original));

  // Keys 0..16 are a window old at this time; the rest are younger.
  const std::int64_t sweep_ms = kT0 + 16 * kStepMs + kWindowMs;
  EXPECT_EQ(original.ExpireKeys(sweep_ms), 17u);
  EXPECT_EQ(restored.ExpireKeys(sweep_ms), 17u);
  EXPECT_EQ(restored.key_count(), original.key_count());

  RecordingLog probe_log;
  EXPECT_EQ(Describe(restored.Apply(specs[20].View(), sweep_ms, probe_log)),
            Duplicate(21, 21));
  EXPECT_EQ(probe_log.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Stripes, SnapshotStripeCountTest,
    ::testing::Values(std::size_t{1}, std::size_t{4}, kStripes,
                      std::size_t{64}),
    [](const ::testing::TestParamInfo<std::size_t>& param_info) {
      return "into_" + std::to_string(param_info.param);
    });

// ---------------------------------------------------------------------
// Many threads.

// Checks, record by record, that each account moves by exactly the amount
// of each applied command and one version at a time: the order promise
// of CommitLog::Append. Keeps no copies, so it stays small.
class ConservationLog final : public CommitLog {
 public:
  struct AccountState {
    std::int64_t balance_minor = 0;
    std::uint64_t version = 0;
  };

  std::uint64_t Append(const Record& record) override {
    MutexLock lock(mu_);
    ++records_;
    AccountState& account = accounts_[std::string(record.user) + "/" +
                                      std::string(record.currency)];
    if (record.status != Status::kApplied) {
      // A rejection records the account as it found it.
      ++rejected_;
      if (record.version != account.version ||
          record.balance_minor != account.balance_minor) {
        ++violations_;
      }
      return records_;
    }
    const std::int64_t delta = SignedDelta(record.op, record.amount_minor);
    if (record.version != account.version + 1 ||
        record.balance_minor != account.balance_minor + delta ||
        record.balance_minor < 0) {
      ++violations_;
    }
    account.balance_minor = record.balance_minor;
    account.version = record.version;
    return records_;
  }

  std::size_t records() const {
    MutexLock lock(mu_);
    return records_;
  }
  std::size_t violations() const {
    MutexLock lock(mu_);
    return violations_;
  }
  std::size_t rejected() const {
    MutexLock lock(mu_);
    return rejected_;
  }

 private:
  mutable Mutex mu_;
  std::size_t records_ GUARDED_BY(mu_) = 0;
  std::size_t rejected_ GUARDED_BY(mu_) = 0;
  std::size_t violations_ GUARDED_BY(mu_) = 0;
  std::map<std::string, AccountState> accounts_ GUARDED_BY(mu_);
};

constexpr std::size_t kThreads = 8;
const char* const kUsers[] = {"u0", "u1", "u2", "u3"};
const char* const kCurrencies[] = {"gold", "gems"};
constexpr std::size_t kAccounts = 8;  // Every user in every currency.

struct AccountRef {
  const char* user;
  const char* currency;
};

AccountRef AccountAt(std::size_t index) {
  return {kUsers[index % 4], kCurrencies[(index / 4) % 2]};
}

// Small stripe counts so that threads share key and user stripes.
WalletOptions ContendedOptions() {
  WalletOptions options;
  options.stripes = 4;
  options.key_window_ms = kWindowMs;
  return options;
}

class ConcurrentApplyTest : public ::testing::Test {};

TEST_F(ConcurrentApplyTest, DistinctKeysConserveEveryMinorUnit) {
  const std::size_t per_thread = 100'000 / kSlowdown;
  auto account_of = [](std::size_t t, std::size_t i) {
    return (t + i) % kAccounts;
  };
  auto amount_of = [](std::size_t t, std::size_t i) {
    return static_cast<std::int64_t>(1 + i % 13 + t);
  };
  std::vector<std::int64_t> expected_balance(kAccounts, 0);
  std::vector<std::uint64_t> expected_version(kAccounts, 0);
  for (std::size_t t = 0; t < kThreads; ++t) {
    for (std::size_t i = 0; i < per_thread; ++i) {
      expected_balance[account_of(t, i)] += amount_of(t, i);
      ++expected_version[account_of(t, i)];
    }
  }

  Wallet wallet(ContendedOptions());
  ConservationLog log;
  std::vector<std::size_t> not_applied(kThreads, 0);
  std::atomic<bool> writers_done{false};
  std::latch start(static_cast<std::ptrdiff_t>(kThreads + 1));
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (std::size_t i = 0; i < per_thread; ++i) {
        const std::string key =
            "t" + std::to_string(t) + "-" + std::to_string(i);
        const AccountRef account = AccountAt(account_of(t, i));
        Command command;
        command.key = key;
        command.user = account.user;
        command.currency = account.currency;
        command.amount_minor = amount_of(t, i);
        command.source = "game1";
        const Outcome outcome = wallet.Apply(command, kT0, log);
        if (outcome.status != Status::kApplied) ++not_applied[t];
      }
    });
  }

  // Meanwhile, reads must only ever see balances and versions grow, and
  // a sweep inside the window must find nothing to remove.
  std::size_t read_regressions = 0;
  std::size_t swept = 0;
  std::size_t reads = 0;
  std::thread reader([&] {
    std::map<std::string, std::pair<std::int64_t, std::uint64_t>> seen;
    start.arrive_and_wait();
    while (!writers_done.load(std::memory_order_acquire)) {
      for (const char* user : kUsers) {
        for (const AccountBalance& b : wallet.Read(user).balances) {
          auto& [balance, version] = seen[user + ("/" + b.currency)];
          if (b.balance_minor < balance || b.version < version) {
            ++read_regressions;
          }
          balance = b.balance_minor;
          version = b.version;
        }
        ++reads;
      }
      swept += wallet.ExpireKeys(kT0 + 1);
    }
  });
  for (std::thread& thread : threads) thread.join();
  writers_done.store(true, std::memory_order_release);
  reader.join();

  for (std::size_t t = 0; t < kThreads; ++t) {
    EXPECT_EQ(not_applied[t], 0u) << "thread " << t;
  }
  for (std::size_t a = 0; a < kAccounts; ++a) {
    const AccountRef account = AccountAt(a);
    const BalanceReply reply = wallet.Read(account.user);
    bool found = false;
    for (const AccountBalance& b : reply.balances) {
      if (b.currency != account.currency) continue;
      found = true;
      EXPECT_EQ(b.balance_minor, expected_balance[a])
          << account.user << "/" << account.currency;
      EXPECT_EQ(b.version, expected_version[a])
          << account.user << "/" << account.currency;
    }
    EXPECT_TRUE(found) << account.user << "/" << account.currency;
  }
  EXPECT_EQ(log.records(), kThreads * per_thread);
  EXPECT_EQ(log.violations(), 0u);
  EXPECT_EQ(wallet.key_count(), kThreads * per_thread);
  EXPECT_EQ(wallet.account_count(), kAccounts);
  EXPECT_EQ(read_regressions, 0u);
  EXPECT_EQ(swept, 0u);
  EXPECT_GT(reads, 0u);
}

// Credits and spends race on a few accounts. Spends that find too little
// are rejected; every balance must stay at or above zero (the log checks
// each record) and end at exactly the applied credits minus the applied
// spends, as the threads' own outcomes report them.
TEST_F(ConcurrentApplyTest, SpendsAndCreditsRacingNeverOverdraw) {
  const std::size_t per_thread = 100'000 / kSlowdown;
  Wallet wallet(ContendedOptions());
  ConservationLog log;
  // Per thread and account: net applied change, applied count, rejected.
  struct Tally {
    std::int64_t net = 0;
    std::uint64_t applied = 0;
    std::uint64_t rejected = 0;
  };
  std::vector<std::vector<Tally>> tallies(kThreads,
                                          std::vector<Tally>(kAccounts));
  std::latch start(static_cast<std::ptrdiff_t>(kThreads));
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (std::size_t i = 0; i < per_thread; ++i) {
        const std::string key =
            "s" + std::to_string(t) + "-" + std::to_string(i);
        const std::size_t a = (t + i) % kAccounts;
        const AccountRef account = AccountAt(a);
        Command command;
        // Spends ask for more than a credit brings: many must fail.
        command.op = i % 2 == 0 ? Op::kTopup : Op::kSpend;
        command.amount_minor = command.op == Op::kSpend ? 15 : 10;
        command.key = key;
        command.user = account.user;
        command.currency = account.currency;
        command.source = "game1";
        const Outcome outcome = wallet.Apply(command, kT0, log);
        Tally& tally = tallies[t][a];
        if (outcome.status == Status::kApplied) {
          tally.net += SignedDelta(command.op, command.amount_minor);
          ++tally.applied;
        } else {
          ++tally.rejected;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::uint64_t rejected = 0;
  for (std::size_t a = 0; a < kAccounts; ++a) {
    Tally total;
    for (std::size_t t = 0; t < kThreads; ++t) {
      total.net += tallies[t][a].net;
      total.applied += tallies[t][a].applied;
      rejected += tallies[t][a].rejected;
    }
    const AccountRef account = AccountAt(a);
    for (const AccountBalance& b : wallet.Read(account.user).balances) {
      if (b.currency != account.currency) continue;
      EXPECT_EQ(b.balance_minor, total.net)
          << account.user << "/" << account.currency;
      EXPECT_EQ(b.version, total.applied)
          << account.user << "/" << account.currency;
      EXPECT_GE(b.balance_minor, 0);
    }
  }
  EXPECT_GT(rejected, 0u) << "the mix never ran an account dry";
  EXPECT_EQ(log.rejected(), rejected);
  EXPECT_EQ(log.records(), kThreads * per_thread);
  EXPECT_EQ(log.violations(), 0u);
}

// Gifts cross between a few users from many threads: a spend leg on one
// user and a credit leg on another, in both directions at once, some with
// a third leg in another currency. Locks are taken in stripe order, so
// nothing deadlocks (the test finishes); every batch is all or nothing, so
// each currency's total is conserved; and no balance goes below zero.
TEST_F(ConcurrentApplyTest, CrossingGiftsConserveTotalsAndNeverDeadlock) {
  const std::size_t per_thread = 20'000 / kSlowdown;
  constexpr std::int64_t kSeed = 1'000;
  Wallet wallet(ContendedOptions());
  ConservationLog seed_log;
  for (std::size_t a = 0; a < kAccounts; ++a) {
    const AccountRef account = AccountAt(a);
    // The command holds views: the key must outlive it.
    const std::string key =
        std::string("seed-") + account.user + "-" + account.currency;
    Command seed;
    seed.key = key;
    seed.user = account.user;
    seed.currency = account.currency;
    seed.amount_minor = kSeed;
    seed.source = "game1";
    ASSERT_EQ(wallet.Apply(seed, kT0, seed_log).status, Status::kApplied);
  }

  RecordingLog log;
  std::vector<std::array<std::size_t, 3>> counts(kThreads, {0, 0, 0});
  std::latch start(static_cast<std::ptrdiff_t>(kThreads));
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (std::size_t i = 0; i < per_thread; ++i) {
        const char* from = kUsers[(t + i) % 4];
        const char* to = kUsers[(t + i + 1 + i % 3) % 4];
        const char* currency = kCurrencies[i % 2];
        const auto amount = static_cast<std::int64_t>(1 + (i * 7 + t) % 300);
        const std::string key =
            "gift-" + std::to_string(t) + "-" + std::to_string(i);
        std::array<Leg, 3> legs = {
            Leg{Op::kSpend, from, currency, amount},
            Leg{Op::kTopup, to, currency, amount},
            // Half the gifts also move 1 of the other currency backwards.
            Leg{Op::kSpend, to, kCurrencies[(i + 1) % 2], 1}};
        std::array<Leg, 4> with_return = {
            legs[0], legs[1], legs[2],
            Leg{Op::kTopup, from, kCurrencies[(i + 1) % 2], 1}};
        Command command;
        command.op = Op::kBatch;
        command.key = key;
        command.user = from;
        command.source = "game1";
        command.legs = i % 2 == 0 ? std::span<const Leg>(legs.data(), 2)
                                  : std::span<const Leg>(with_return);
        const Outcome first = wallet.Apply(command, kT0 + 1, log);
        ++counts[t][first.status == Status::kApplied ? 0 : 1];
        // Every other gift is retried at once, from the same thread.
        if (i % 2 == 0) {
          const Outcome again = wallet.Apply(command, kT0 + 1, log);
          if (again.status == Status::kDuplicate ||
              (first.status == Status::kRejected &&
               again.reason == first.reason)) {
            ++counts[t][2];
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::size_t applied = 0, rejected = 0, retries_ok = 0;
  for (const auto& c : counts) {
    applied += c[0];
    rejected += c[1];
    retries_ok += c[2];
  }
  EXPECT_EQ(applied + rejected, kThreads * per_thread);
  EXPECT_GT(applied, 0u);
  EXPECT_EQ(retries_ok, kThreads * ((per_thread + 1) / 2));
  for (const char* currency : kCurrencies) {
    std::int64_t total = 0;
    for (const char* user : kUsers) {
      for (const AccountBalance& b : wallet.Read(user).balances) {
        if (b.currency != currency) continue;
        EXPECT_GE(b.balance_minor, 0) << user << "/" << currency;
        total += b.balance_minor;
      }
    }
    EXPECT_EQ(total, kSeed * 4) << currency;
  }
  EXPECT_EQ(log.size(), kThreads * per_thread);
}

TEST_F(ConcurrentApplyTest, SameKeysRacingApplyEachKeyOnce) {
  const std::size_t keys = 20'000 / kSlowdown;
  auto amount_of = [](std::size_t k) {
    return static_cast<std::int64_t>(1 + k % 9);
  };
  std::vector<std::string> key_names;
  for (std::size_t k = 0; k < keys; ++k) {
    key_names.push_back("race-" + std::to_string(k));
  }

  Wallet wallet(ContendedOptions());
  RecordingLog log;
  std::vector<std::vector<Outcome>> outcomes(kThreads,
                                             std::vector<Outcome>(keys));
  std::latch start(static_cast<std::ptrdiff_t>(kThreads));
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      // Every thread walks the keys in the same order, so that threads
      // meet on the same key as often as the scheduler lets them.
      for (std::size_t k = 0; k < keys; ++k) {
        const AccountRef account = AccountAt(k % kAccounts);
        Command command;
        command.key = key_names[k];
        command.user = account.user;
        command.currency = account.currency;
        command.amount_minor = amount_of(k);
        command.source = "game1";
        outcomes[t][k] = wallet.Apply(command, kT0, log);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::size_t applied_total = 0;
  std::size_t keys_not_applied_once = 0;
  std::size_t wrong_answers = 0;
  std::unordered_map<std::string, Outcome> applied_by_key;
  for (std::size_t k = 0; k < keys; ++k) {
    std::size_t applied = 0;
    Outcome first;
    for (std::size_t t = 0; t < kThreads; ++t) {
      if (outcomes[t][k].status == Status::kApplied) {
        ++applied;
        first = outcomes[t][k];
      }
    }
    applied_total += applied;
    if (applied != 1) {
      ++keys_not_applied_once;
      continue;
    }
    applied_by_key[key_names[k]] = first;
    const std::string duplicate = Duplicate(first.balance_minor, first.version);
    for (std::size_t t = 0; t < kThreads; ++t) {
      const std::string answer = Describe(outcomes[t][k]);
      if (answer != duplicate && answer != Describe(first)) {
        if (wrong_answers++ < 5) {
          ADD_FAILURE() << key_names[k] << " thread " << t << ": " << answer
                        << ", expected " << duplicate;
        }
      }
    }
  }
  EXPECT_EQ(applied_total, keys);
  EXPECT_EQ(keys_not_applied_once, 0u);
  EXPECT_EQ(wrong_answers, 0u);

  // The log holds each key once, with the state its application returned.
  const std::vector<OwnedRecord> records = log.records();
  EXPECT_EQ(records.size(), keys);
  std::size_t record_mismatches = 0;
  for (const OwnedRecord& record : records) {
    auto found = applied_by_key.find(record.key);
    if (found == applied_by_key.end() ||
        found->second.balance_minor != record.balance_minor ||
        found->second.version != record.version) {
      ++record_mismatches;
    }
  }
  EXPECT_EQ(record_mismatches, 0u);

  std::vector<std::int64_t> expected_balance(kAccounts, 0);
  std::vector<std::uint64_t> expected_version(kAccounts, 0);
  for (std::size_t k = 0; k < keys; ++k) {
    expected_balance[k % kAccounts] += amount_of(k);
    ++expected_version[k % kAccounts];
  }
  for (std::size_t a = 0; a < kAccounts; ++a) {
    const AccountRef account = AccountAt(a);
    std::int64_t balance = -1;
    std::uint64_t version = 0;
    for (const AccountBalance& b : wallet.Read(account.user).balances) {
      if (b.currency == account.currency) {
        balance = b.balance_minor;
        version = b.version;
      }
    }
    EXPECT_EQ(balance, expected_balance[a])
        << account.user << "/" << account.currency;
    EXPECT_EQ(version, expected_version[a])
        << account.user << "/" << account.currency;
  }
  EXPECT_EQ(wallet.key_count(), keys);
}

}  // namespace
}  // namespace wallet
