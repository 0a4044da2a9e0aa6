// Wallet: every account (user + currency: balance and version) and the
// idempotency table, in memory. Plain C++: no sockets, no files, no
// threads of its own; time comes in as an argument.
//
// Thread safety: every public method may be called from any thread.
// State is split into stripes, each with its own mutex:
//   - key stripes, chosen by the hash of an idempotency key, hold the
//     idempotency table;
//   - user stripes, chosen by the hash of a user id, hold that user's
//     accounts and latest operations.
// Apply takes one key stripe, then the user stripes it needs (one, or for
// a batch every leg's, in ascending stripe order), always in that order,
// so no two callers can deadlock. Holding the key stripe across the whole
// apply makes "check the key, change the balance, remember the key" one
// atomic step: two commands with the same key apply once, whichever
// threads they run on.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "common/protocol.h"
#include "worker/core/key_table.h"
#include "worker/core/record.h"

namespace wallet {

KeyHash HashKey(std::string_view key);
std::uint32_t HashField(std::string_view text);
// A batch's legs as one hash, kept in KeyEntry::currency_hash: a retry
// whose legs differ in any way is a conflict on `legs`.
std::uint32_t HashLegs(std::span<const Leg> legs);
std::uint32_t HashLegs(std::span<const LegRecord> legs);

// One account as snapshots and queries see it.
struct AccountRow {
  std::string user;
  std::string currency;
  std::int64_t balance_minor = 0;
  std::uint64_t version = 0;
};

// A user's latest operations, oldest first, at most a fixed number. Once
// full, a push hands back the oldest entry to be overwritten in place, so
// its strings keep their buffers: applying a command allocates nothing
// here once a user's history has filled, and the entries stay contiguous.
class RecentRing {
 public:
  std::size_t size() const { return ops_.size(); }
  bool empty() const { return ops_.empty(); }
  // The i-th oldest entry: 0 is the oldest, size() - 1 the newest.
  const RecentOp& Oldest(std::size_t i) const {
    return ops_[(oldest_ + i) % ops_.size()];
  }
  // The i-th newest entry: 0 is the newest.
  const RecentOp& Newest(std::size_t i) const {
    return Oldest(ops_.size() - 1 - i);
  }
  // The slot for a new newest entry, keeping at most `capacity` (which
  // must not change between calls): a new one until the ring is full,
  // then the oldest, whose contents the caller overwrites.
  RecentOp& Push(std::size_t capacity) {
    if (ops_.size() < capacity) return ops_.emplace_back();
    RecentOp& slot = ops_[oldest_];
    oldest_ = (oldest_ + 1) % ops_.size();
    return slot;
  }

 private:
  std::vector<RecentOp> ops_;
  std::size_t oldest_ = 0;  // Moves only once the ring is full.
};

struct WalletOptions {
  // Number of stripes of each kind; a power of two.
  std::size_t stripes = 1024;
  // How long a key is remembered after its first application.
  std::int64_t key_window_ms = 24LL * 3600 * 1000;
  // Latest operations kept per user for history queries (and snapshots);
  // at least kRecentOpsMax so that balance queries can show theirs.
  std::size_t history_per_user = 32;
};

class Wallet {
 public:
  explicit Wallet(const WalletOptions& options);
  Wallet(const Wallet&) = delete;
  Wallet& operator=(const Wallet&) = delete;

  // Applies one valid command at `now_ms`. Every command that consumes
  // its key (applied, or rejected for a business reason) is appended to
  // `log` before the locks are released.
  Outcome Apply(const Command& command, std::int64_t now_ms, CommitLog& log);

  // The user's accounts (sorted by currency) and latest operations. With
  // `log_position`, also the commit-log position of the last record that
  // touched the user: the reply is durable once the log is durable there.
  BalanceReply Read(std::string_view user,
                    std::uint64_t* log_position = nullptr) const;
  // A page of the user's kept operations, newest first; `log_position` as
  // for Read.
  HistoryReply History(const HistoryQuery& query,
                       std::uint64_t* log_position = nullptr) const;

  // Forgets keys older than the window; returns how many were removed.
  std::size_t ExpireKeys(std::int64_t now_ms);

  // Recovery: re-applies a journal record, idempotently. An account only
  // moves forward (by version); a key is only added if absent and still
  // inside the window at `now_ms`.
  void Replay(const Record& record, std::int64_t now_ms);

  // Snapshot export and import, one stripe at a time. Export holds one
  // stripe's lock while it copies, never more.
  std::size_t stripe_count() const { return key_stripes_.size(); }
  struct UserExport {
    std::vector<AccountRow> accounts;
    std::vector<std::pair<std::string, RecentOp>> recent;  // Oldest first.
  };
  UserExport ExportUsers(std::size_t stripe) const;
  // With `batch_legs`, also the leg balances of the applied batches among
  // the keys, copied under the same lock.
  std::vector<std::pair<KeyHash, KeyEntry>> ExportKeys(
      std::size_t stripe, std::int64_t now_ms,
      std::vector<std::pair<KeyHash, std::vector<LegOutcome>>>* batch_legs =
          nullptr) const;
  void ImportAccount(const AccountRow& row);
  void ImportRecent(std::string_view user, const RecentOp& op);
  void ImportKey(const KeyHash& hash, const KeyEntry& entry,
                 std::int64_t now_ms);
  // After ImportKey of the same key; ignored if that key was left out.
  void ImportBatchLegs(const KeyHash& hash, std::vector<LegOutcome> legs);

  std::size_t account_count() const {
    return account_count_.load(std::memory_order_relaxed);
  }
  std::size_t key_count() const {
    return key_count_.load(std::memory_order_relaxed);
  }
  std::int64_t key_window_ms() const { return key_window_ms_; }

 private:
  struct KeyHashHasher {
    std::size_t operator()(const KeyHash& hash) const noexcept {
      return static_cast<std::size_t>(hash.high);
    }
  };

  struct Account {
    std::string currency;
    std::int64_t balance_minor = 0;
    std::uint64_t version = 0;
  };

  struct User {
    std::string id;
    std::vector<Account> accounts;  // A handful per user: linear search.
    // At most history_per_user_; seq grows by one from oldest to newest.
    RecentRing recent;
    std::uint64_t ops = 0;  // Operations ever applied: the newest seq.
    // Commit-log position after the last record that touched this user
    // since start (recovered state is durable already).
    std::uint64_t log_position = 0;
  };

  // A user id with its 64-bit hash, which picks both the user's stripe
  // (low bits) and its slot in the stripe's table (high bits): hashed once
  // per lookup.
  struct UserKey {
    std::string_view id;
    std::uint64_t hash = 0;
  };
  static UserKey KeyOfUser(std::string_view id);

  // One stripe's users, found by the 64-bit hash of their id through
  // open-addressing slots of (hash, user) in a power-of-two index at most
  // half full. Users are never removed, and their addresses never change.
  class UserTable {
   public:
    const User* Find(const UserKey& key) const;
    User& FindOrAdd(const UserKey& key);
    template <typename Visit>
    void ForEach(Visit&& visit) const {
      for (const User& user : users_) visit(user);
    }

   private:
    struct Slot {
      std::uint64_t hash = 0;
      User* user = nullptr;  // Null: empty.
    };
    std::size_t Home(std::uint64_t hash) const {
      // The low bits chose the stripe; the high ones choose the slot.
      return static_cast<std::size_t>(((hash >> 32) * slots_.size()) >> 32);
    }
    // The slot holding the user, or the empty slot where it would go.
    std::size_t Probe(const UserKey& key) const;
    void Grow();

    std::deque<User> users_;   // In order of arrival.
    std::vector<Slot> slots_;  // Size 0 or a power of two, at most half full.
  };

  // Padded to a cache line each so that stripes never share one.
  struct alignas(64) KeyStripe {
    mutable Mutex mu;
    // Keys and their first results, oldest first for expiry.
    KeyTable keys GUARDED_BY(mu);
    // Applied batches: each leg's account after the first application,
    // for answering retries. Erased with the key.
    std::unordered_map<KeyHash, std::vector<LegOutcome>, KeyHashHasher>
        batch_legs GUARDED_BY(mu);
    // Set when an import appended out of time order (a snapshot taken with
    // another stripe count); the next sweep sorts once before expiring.
    bool keys_unsorted GUARDED_BY(mu) = false;
  };

  struct alignas(64) UserStripe {
    mutable Mutex mu;
    UserTable users GUARDED_BY(mu);
  };

  Outcome ApplyBatch(const Command& command, std::int64_t now_ms,
                     CommitLog& log, KeyStripe& keys, const KeyHash& hash)
      REQUIRES(keys.mu);
  void ReplayBatch(const Record& record);
  Outcome Answer(const KeyStripe& keys, const KeyHash& hash,
                 const KeyEntry& entry) const REQUIRES(keys.mu);
  void EraseKey(KeyStripe& keys, const KeyHash& hash) REQUIRES(keys.mu);

  KeyStripe& KeyStripeFor(const KeyHash& hash);
  UserStripe& UserStripeFor(const UserKey& user);
  const UserStripe& UserStripeFor(const UserKey& user) const;

  Account& FindOrAddAccount(User& user, std::string_view currency);
  // Adds an applied record to the user's history, numbered with the
  // user's next seq.
  void PushRecent(User& user, const Record& record) const;
  bool IsExpired(const KeyEntry& entry, std::int64_t now_ms) const;
  void InsertKey(KeyStripe& stripe, const KeyHash& hash, const KeyEntry& entry)
      REQUIRES(stripe.mu);

  // Fixed after construction.
  const std::int64_t key_window_ms_;
  const std::size_t history_per_user_;
  const std::size_t stripe_mask_;
  std::vector<KeyStripe> key_stripes_;
  std::vector<UserStripe> user_stripes_;

  // Statistics, updated under stripe locks, read without.
  std::atomic<std::size_t> account_count_{0};
  std::atomic<std::size_t> key_count_{0};
};

}  // namespace wallet
