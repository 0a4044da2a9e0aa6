#include "worker/core/wallet.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "worker/core/check.h"

namespace wallet {
namespace {

Field FirstDifference(const KeyEntry& entry, const Command& command) {
  if (entry.op != command.op) return Field::kOp;
  if (entry.user_hash != HashField(command.user)) return Field::kUser;
  if (command.op == Op::kBatch) {
    if (entry.currency_hash != HashLegs(command.legs)) return Field::kLegs;
  } else if (entry.currency_hash != HashField(command.currency)) {
    return Field::kCurrency;
  }
  if (entry.amount_minor != command.amount_minor) return Field::kAmount;
  if (entry.source_hash != HashField(command.source)) return Field::kSource;
  if (entry.ref_hash != HashField(command.ref)) return Field::kRef;
  return Field::kNone;
}

// The answer to a retry whose payload matches the first command.
Outcome ReplayOutcome(const KeyEntry& entry) {
  Outcome outcome;
  outcome.status =
      entry.status == Status::kApplied ? Status::kDuplicate : Status::kRejected;
  outcome.reason = entry.reason;
  // An applied batch answers with its legs instead.
  outcome.has_balance =
      entry.op != Op::kBatch || entry.status != Status::kApplied;
  outcome.balance_minor = entry.balance_minor;
  outcome.version = entry.version;
  outcome.failed_leg = entry.failed_leg;
  return outcome;
}

template <typename LegType>
std::uint32_t HashLegsOf(std::span<const LegType> legs) {
  // Each leg as op, length-prefixed user and currency, and amount: at most
  // 1 + 65 + 17 + 8 bytes, so the whole batch fits on the stack.
  constexpr std::size_t kLegBytesMax =
      1 + 1 + kUserBytesMax + 1 + kCurrencyBytesMax + 8;
  static_assert(kLegBytesMax == 91);
  std::array<char, kLegsMax * kLegBytesMax> bytes;
  Check(legs.size() <= kLegsMax, "too many legs");
  std::size_t size = 0;
  const auto put = [&](const void* data, std::size_t n) {
    std::memcpy(bytes.data() + size, data, n);
    size += n;
  };
  for (const LegType& leg : legs) {
    Check(leg.user.size() <= kUserBytesMax &&
              leg.currency.size() <= kCurrencyBytesMax,
          "leg field too long");
    const auto op = static_cast<std::uint8_t>(leg.op);
    const auto user_size = static_cast<std::uint8_t>(leg.user.size());
    const auto currency_size = static_cast<std::uint8_t>(leg.currency.size());
    put(&op, 1);
    put(&user_size, 1);
    put(leg.user.data(), leg.user.size());
    put(&currency_size, 1);
    put(leg.currency.data(), leg.currency.size());
    put(&leg.amount_minor, sizeof(leg.amount_minor));
  }
  return static_cast<std::uint32_t>(XXH3_64bits(bytes.data(), size));
}

KeyEntry EntryFor(const Record& record) {
  KeyEntry entry;
  entry.time_ms = record.time_ms;
  entry.amount_minor = record.amount_minor;
  entry.balance_minor = record.balance_minor;
  entry.version = record.version;
  entry.user_hash = HashField(record.user);
  entry.currency_hash = record.op == Op::kBatch ? HashLegs(record.legs)
                                                : HashField(record.currency);
  entry.source_hash = HashField(record.source);
  entry.ref_hash = HashField(record.ref);
  entry.op = record.op;
  entry.status = record.status;
  entry.reason = record.reason;
  entry.failed_leg = static_cast<std::int8_t>(record.failed_leg);
  return entry;
}

// Overwrites every field but seq; assign() reuses the strings' buffers.
void FillRecent(const Record& record, RecentOp& op) {
  op.op = record.op;
  op.currency.assign(record.currency);
  op.amount_minor = record.amount_minor;
  op.key.assign(record.key);
  op.ref.assign(record.ref);
  op.source.assign(record.source);
  op.balance_minor = record.balance_minor;
  op.version = record.version;
  op.time_ms = record.time_ms;
}

}  // namespace

KeyHash HashKey(std::string_view key) {
  const XXH128_hash_t hash = XXH3_128bits(key.data(), key.size());
  return {hash.low64, hash.high64};
}

std::uint32_t HashField(std::string_view text) {
  return static_cast<std::uint32_t>(XXH3_64bits(text.data(), text.size()));
}

std::uint32_t HashLegs(std::span<const Leg> legs) { return HashLegsOf(legs); }
std::uint32_t HashLegs(std::span<const LegRecord> legs) {
  return HashLegsOf(legs);
}

Wallet::Wallet(const WalletOptions& options)
    : key_window_ms_(options.key_window_ms),
      history_per_user_(options.history_per_user),
      stripe_mask_(options.stripes - 1),
      key_stripes_(options.stripes),
      user_stripes_(options.stripes) {
  Check(options.stripes > 0 && (options.stripes & stripe_mask_) == 0,
        "stripe count must be a power of two");
  Check(options.key_window_ms > 0, "key window must be positive");
  Check(options.history_per_user >= kRecentOpsMax,
        "history must keep at least the recent operations");
}

Wallet::KeyStripe& Wallet::KeyStripeFor(const KeyHash& hash) {
  return key_stripes_[hash.low & stripe_mask_];
}

Wallet::UserKey Wallet::KeyOfUser(std::string_view id) {
  return {id, XXH3_64bits(id.data(), id.size())};
}

Wallet::UserStripe& Wallet::UserStripeFor(const UserKey& user) {
  return user_stripes_[user.hash & stripe_mask_];
}

const Wallet::UserStripe& Wallet::UserStripeFor(const UserKey& user) const {
  return user_stripes_[user.hash & stripe_mask_];
}

std::size_t Wallet::UserTable::Probe(const UserKey& key) const {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t at = Home(key.hash);; at = (at + 1) & mask) {
    const Slot& slot = slots_[at];
    if (slot.user == nullptr) return at;
    if (slot.hash == key.hash && slot.user->id == key.id) return at;
  }
}

const Wallet::User* Wallet::UserTable::Find(const UserKey& key) const {
  if (slots_.empty()) return nullptr;
  return slots_[Probe(key)].user;
}

Wallet::User& Wallet::UserTable::FindOrAdd(const UserKey& key) {
  if ((users_.size() + 1) * 2 > slots_.size()) Grow();
  Slot& slot = slots_[Probe(key)];
  if (slot.user == nullptr) {
    User& user = users_.emplace_back();
    user.id.assign(key.id);
    slot = {key.hash, &user};
  }
  return *slot.user;
}

void Wallet::UserTable::Grow() {
  std::vector<Slot> previous(slots_.empty() ? 8 : slots_.size() * 2);
  previous.swap(slots_);  // `slots_` is now the larger, empty index.
  const std::size_t mask = slots_.size() - 1;
  for (const Slot& slot : previous) {
    if (slot.user == nullptr) continue;
    std::size_t at = Home(slot.hash);
    while (slots_[at].user != nullptr) at = (at + 1) & mask;
    slots_[at] = slot;
  }
}

bool Wallet::IsExpired(const KeyEntry& entry, std::int64_t now_ms) const {
  return now_ms - entry.time_ms >= key_window_ms_;
}

Wallet::Account& Wallet::FindOrAddAccount(User& user,
                                          std::string_view currency) {
  for (Account& account : user.accounts) {
    if (account.currency == currency) return account;
  }
  account_count_.fetch_add(1, std::memory_order_relaxed);
  return user.accounts.emplace_back(Account{std::string(currency), 0, 0});
}

void Wallet::PushRecent(User& user, const Record& record) const {
  RecentOp& op = user.recent.Push(history_per_user_);
  FillRecent(record, op);
  op.seq = ++user.ops;
}

void Wallet::InsertKey(KeyStripe& stripe, const KeyHash& hash,
                       const KeyEntry& entry) {
  // Apply threads stamp their batches independently, so a time can be a
  // few milliseconds behind the newest: such a key is swept that much
  // late, and lookups judge it by its own time.
  if (stripe.keys.Insert(hash, entry)) {
    key_count_.fetch_add(1, std::memory_order_relaxed);
  }
}

Outcome Wallet::Apply(const Command& command, std::int64_t now_ms,
                      CommitLog& log) {
  const KeyHash hash = HashKey(command.key);
  KeyStripe& keys = KeyStripeFor(hash);
  MutexLock key_lock(keys.mu);

  const KeyEntry* found = keys.keys.Find(hash);
  if (found != nullptr && !IsExpired(*found, now_ms)) {
    const Field field = FirstDifference(*found, command);
    if (field != Field::kNone) {
      Outcome conflict;
      conflict.reason = Reason::kKeyConflict;
      conflict.field = field;
      return conflict;
    }
    return Answer(keys, hash, *found);
  }
  // Expired but not yet swept: the key is free again.
  if (found != nullptr) EraseKey(keys, hash);
  if (command.op == Op::kBatch) {
    return ApplyBatch(command, now_ms, log, keys, hash);
  }

  const UserKey user_key = KeyOfUser(command.user);
  UserStripe& users = UserStripeFor(user_key);
  MutexLock user_lock(users.mu);
  User& user = users.users.FindOrAdd(user_key);
  Account& account = FindOrAddAccount(user, command.currency);

  Record record;
  record.time_ms = now_ms;
  record.op = command.op;
  record.key = command.key;
  record.user = command.user;
  record.currency = command.currency;
  record.amount_minor = command.amount_minor;
  record.source = command.source;
  record.ref = command.ref;

  // Amounts are at most kAmountMinorMax and balances at most
  // kBalanceMinorMax, so this sum cannot overflow int64.
  const std::int64_t after =
      account.balance_minor + SignedDelta(command.op, command.amount_minor);
  record.reason = after > kBalanceMinorMax ? Reason::kBalanceOverflow
                  : after < 0              ? Reason::kInsufficientFunds
                                           : Reason::kNone;
  const bool applied = record.reason == Reason::kNone;
  if (applied) {
    account.balance_minor = after;
    account.version += 1;
  }
  Check(account.balance_minor >= 0 && account.balance_minor <= kBalanceMinorMax,
        "balance out of range");
  // A rejection keeps the balance it found: the game can tell the player.
  record.status = applied ? Status::kApplied : Status::kRejected;
  record.balance_minor = account.balance_minor;
  record.version = account.version;
  if (applied) PushRecent(user, record);

  user.log_position = log.Append(record);
  InsertKey(keys, hash, EntryFor(record));

  Outcome outcome;
  outcome.status = record.status;
  outcome.reason = record.reason;
  outcome.has_balance = true;
  outcome.balance_minor = record.balance_minor;
  outcome.version = record.version;
  return outcome;
}

Outcome Wallet::Answer(const KeyStripe& keys, const KeyHash& hash,
                       const KeyEntry& entry) const {
  Outcome outcome = ReplayOutcome(entry);
  if (entry.op == Op::kBatch && entry.status == Status::kApplied) {
    auto legs = keys.batch_legs.find(hash);
    Check(legs != keys.batch_legs.end(), "applied batch without its legs");
    outcome.legs = legs->second;
  }
  return outcome;
}

void Wallet::EraseKey(KeyStripe& keys, const KeyHash& hash) {
  keys.batch_legs.erase(hash);
  keys.keys.Erase(hash);
  key_count_.fetch_sub(1, std::memory_order_relaxed);
}

namespace {

// Locks a set of user stripes in ascending index order, each once, and
// unlocks them in reverse. The order is what keeps two batches over the
// same users from deadlocking.
class StripeSetLock {
 public:
  StripeSetLock(std::span<Mutex* const> stripes) NO_THREAD_SAFETY_ANALYSIS
      : count_(stripes.size()) {
    std::copy(stripes.begin(), stripes.end(), mutexes_.begin());
    for (std::size_t i = 0; i < count_; ++i) mutexes_[i]->Lock();
  }
  ~StripeSetLock() NO_THREAD_SAFETY_ANALYSIS {
    for (std::size_t i = count_; i > 0; --i) mutexes_[i - 1]->Unlock();
  }
  StripeSetLock(const StripeSetLock&) = delete;
  StripeSetLock& operator=(const StripeSetLock&) = delete;

 private:
  std::array<Mutex*, kLegsMax> mutexes_{};
  std::size_t count_;
};

// One leg of a batch as the record of a single operation, for history.
Record LegAsRecord(const Record& batch, const LegRecord& leg) {
  Record one = batch;
  one.op = leg.op;
  one.currency = leg.currency;
  one.amount_minor = leg.amount_minor;
  one.balance_minor = leg.balance_minor;
  one.version = leg.version;
  return one;
}

}  // namespace

Outcome Wallet::ApplyBatch(const Command& command, std::int64_t now_ms,
                           CommitLog& log, KeyStripe& keys,
                           const KeyHash& hash) NO_THREAD_SAFETY_ANALYSIS {
  const std::size_t count = command.legs.size();
  Check(count > 0 && count <= kLegsMax, "batch leg count out of range");
  std::array<UserKey, kLegsMax> user_keys{};
  std::array<std::size_t, kLegsMax> indexes{};
  for (std::size_t i = 0; i < count; ++i) {
    user_keys[i] = KeyOfUser(command.legs[i].user);
    indexes[i] = user_keys[i].hash & stripe_mask_;
  }
  std::sort(indexes.begin(), indexes.begin() + static_cast<long>(count));
  const auto unique_end =
      std::unique(indexes.begin(), indexes.begin() + static_cast<long>(count));
  std::array<Mutex*, kLegsMax> mutexes{};
  std::size_t locked = 0;
  for (auto it = indexes.begin(); it != unique_end; ++it) {
    mutexes[locked++] = &user_stripes_[*it].mu;
  }
  const StripeSetLock lock(std::span<Mutex* const>(mutexes.data(), locked));

  // Adding an account may move its user's other accounts, so every
  // account is made to exist before any is held by pointer.
  std::array<User*, kLegsMax> users{};
  for (std::size_t i = 0; i < count; ++i) {
    const Leg& leg = command.legs[i];
    users[i] = &UserStripeFor(user_keys[i]).users.FindOrAdd(user_keys[i]);
    FindOrAddAccount(*users[i], leg.currency);
  }
  std::array<Account*, kLegsMax> accounts{};
  for (std::size_t i = 0; i < count; ++i) {
    accounts[i] = &FindOrAddAccount(*users[i], command.legs[i].currency);
  }

  // Dry run in leg order; a leg sees the earlier legs on its account.
  std::array<LegRecord, kLegsMax> legs{};
  Record record;
  record.time_ms = now_ms;
  record.op = Op::kBatch;
  record.key = command.key;
  record.user = command.user;
  record.source = command.source;
  record.ref = command.ref;
  for (std::size_t i = 0; i < count && record.failed_leg < 0; ++i) {
    const Leg& leg = command.legs[i];
    std::int64_t balance = accounts[i]->balance_minor;
    std::uint64_t version = accounts[i]->version;
    for (std::size_t j = i; j > 0; --j) {
      if (accounts[j - 1] == accounts[i]) {
        balance = legs[j - 1].balance_minor;
        version = legs[j - 1].version;
        break;
      }
    }
    const std::int64_t after = balance + SignedDelta(leg.op, leg.amount_minor);
    legs[i] = {leg.op,           leg.user, leg.currency,
               leg.amount_minor, after,    version + 1};
    if (after > kBalanceMinorMax || after < 0) {
      record.failed_leg = static_cast<int>(i);
      record.reason =
          after < 0 ? Reason::kInsufficientFunds : Reason::kBalanceOverflow;
      record.balance_minor = balance;
      record.version = version;
    }
  }

  const bool applied = record.failed_leg < 0;
  record.status = applied ? Status::kApplied : Status::kRejected;
  if (!applied) {
    // Nothing moves: the legs (the dry run stopped at the failed one)
    // record the accounts as they are.
    for (std::size_t i = 0; i < count; ++i) {
      const Leg& leg = command.legs[i];
      legs[i] = {leg.op,
                 leg.user,
                 leg.currency,
                 leg.amount_minor,
                 accounts[i]->balance_minor,
                 accounts[i]->version};
    }
  }
  record.legs = std::span<const LegRecord>(legs.data(), count);

  Outcome outcome;
  outcome.status = record.status;
  outcome.reason = record.reason;
  outcome.failed_leg = record.failed_leg;
  outcome.has_balance = !applied;
  outcome.balance_minor = record.balance_minor;
  outcome.version = record.version;
  if (applied) {
    outcome.legs.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      accounts[i]->balance_minor = legs[i].balance_minor;
      accounts[i]->version = legs[i].version;
      Check(accounts[i]->balance_minor >= 0 &&
                accounts[i]->balance_minor <= kBalanceMinorMax,
            "balance out of range");
      PushRecent(*users[i], LegAsRecord(record, legs[i]));
      outcome.legs.push_back({legs[i].balance_minor, legs[i].version});
    }
  }

  const std::uint64_t position = log.Append(record);
  for (std::size_t i = 0; i < count; ++i) users[i]->log_position = position;
  InsertKey(keys, hash, EntryFor(record));
  if (applied) keys.batch_legs[hash] = outcome.legs;
  return outcome;
}

BalanceReply Wallet::Read(std::string_view user_id,
                          std::uint64_t* log_position) const {
  BalanceReply reply;
  reply.user.assign(user_id);
  const UserKey user_key = KeyOfUser(user_id);
  const UserStripe& users = UserStripeFor(user_key);
  MutexLock lock(users.mu);
  const User* found = users.users.Find(user_key);
  if (log_position != nullptr) {
    *log_position = found == nullptr ? 0 : found->log_position;
  }
  if (found == nullptr) return reply;
  for (const Account& account : found->accounts) {
    reply.balances.push_back(
        {account.currency, account.balance_minor, account.version});
  }
  const RecentRing& recent = found->recent;
  const std::size_t shown = std::min(recent.size(), kRecentOpsMax);
  reply.recent.reserve(shown);
  for (std::size_t i = 0; i < shown; ++i) {
    reply.recent.push_back(recent.Newest(i));
  }
  std::sort(reply.balances.begin(), reply.balances.end(),
            [](const AccountBalance& a, const AccountBalance& b) {
              return a.currency < b.currency;
            });
  return reply;
}

HistoryReply Wallet::History(const HistoryQuery& query,
                             std::uint64_t* log_position) const {
  HistoryReply reply;
  reply.user = query.user;
  const UserKey user_key = KeyOfUser(query.user);
  const UserStripe& users = UserStripeFor(user_key);
  MutexLock lock(users.mu);
  const User* found = users.users.Find(user_key);
  if (log_position != nullptr) {
    *log_position = found == nullptr ? 0 : found->log_position;
  }
  if (found == nullptr) return reply;
  const RecentRing& recent = found->recent;
  // Seqs are consecutive from oldest to newest, so the page starts at an
  // index, not a search: `from` newest entries are skipped.
  std::size_t from = 0;
  if (query.before > 0 && !recent.empty()) {
    const std::uint64_t newest = recent.Newest(0).seq;
    const std::uint64_t skip =
        query.before > newest ? 0 : newest - query.before + 1;
    from =
        static_cast<std::size_t>(std::min<std::uint64_t>(skip, recent.size()));
  }
  const std::size_t left = recent.size() - from;
  const std::size_t count = std::min<std::size_t>(left, query.limit);
  reply.ops.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    reply.ops.push_back(recent.Newest(from + i));
  }
  if (count < left) reply.next_before = reply.ops.back().seq;
  return reply;
}

std::size_t Wallet::ExpireKeys(std::int64_t now_ms) {
  std::size_t removed = 0;
  for (KeyStripe& stripe : key_stripes_) {
    MutexLock lock(stripe.mu);
    if (stripe.keys_unsorted) {
      stripe.keys.SortByTime();
      stripe.keys_unsorted = false;
    }
    // The callbacks run inside the call, under the lock held here.
    const std::size_t count = stripe.keys.ExpireFront(
        [&](const KeyEntry& entry) { return IsExpired(entry, now_ms); },
        [&](const KeyHash& hash)
            NO_THREAD_SAFETY_ANALYSIS { stripe.batch_legs.erase(hash); });
    key_count_.fetch_sub(count, std::memory_order_relaxed);
    removed += count;
  }
  return removed;
}

void Wallet::ReplayBatch(const Record& record) {
  // Recovery is single-threaded, but the stripes are locked all the same:
  // one leg at a time is enough, since nothing else is running.
  for (const LegRecord& leg : record.legs) {
    const UserKey user_key = KeyOfUser(leg.user);
    UserStripe& users = UserStripeFor(user_key);
    MutexLock user_lock(users.mu);
    User& user = users.users.FindOrAdd(user_key);
    Account& account = FindOrAddAccount(user, leg.currency);
    if (leg.version > account.version) {
      account.balance_minor = leg.balance_minor;
      account.version = leg.version;
      PushRecent(user, LegAsRecord(record, leg));
    }
  }
}

void Wallet::Replay(const Record& record, std::int64_t now_ms) {
  const KeyHash hash = HashKey(record.key);
  KeyStripe& keys = KeyStripeFor(hash);
  MutexLock key_lock(keys.mu);
  if (record.op == Op::kBatch) {
    if (record.status == Status::kApplied) ReplayBatch(record);
    const KeyEntry entry = EntryFor(record);
    if (IsExpired(entry, now_ms)) return;
    InsertKey(keys, hash, entry);
    if (record.status == Status::kApplied) {
      std::vector<LegOutcome>& legs = keys.batch_legs[hash];
      legs.clear();
      for (const LegRecord& leg : record.legs) {
        legs.push_back({leg.balance_minor, leg.version});
      }
    }
    return;
  }
  if (record.status == Status::kApplied) {
    const UserKey user_key = KeyOfUser(record.user);
    UserStripe& users = UserStripeFor(user_key);
    MutexLock user_lock(users.mu);
    User& user = users.users.FindOrAdd(user_key);
    Account& account = FindOrAddAccount(user, record.currency);
    if (record.version > account.version) {
      account.balance_minor = record.balance_minor;
      account.version = record.version;
      PushRecent(user, record);
    }
  }
  const KeyEntry entry = EntryFor(record);
  if (!IsExpired(entry, now_ms)) InsertKey(keys, hash, entry);
}

Wallet::UserExport Wallet::ExportUsers(std::size_t stripe) const {
  UserExport out;
  const UserStripe& users = user_stripes_.at(stripe);
  MutexLock lock(users.mu);
  users.users.ForEach([&out](const User& user) {
    for (const Account& account : user.accounts) {
      out.accounts.push_back(
          {user.id, account.currency, account.balance_minor, account.version});
    }
    for (std::size_t i = 0; i < user.recent.size(); ++i) {
      out.recent.emplace_back(user.id, user.recent.Oldest(i));
    }
  });
  return out;
}

std::vector<std::pair<KeyHash, KeyEntry>> Wallet::ExportKeys(
    std::size_t stripe, std::int64_t now_ms,
    std::vector<std::pair<KeyHash, std::vector<LegOutcome>>>* batch_legs)
    const {
  std::vector<std::pair<KeyHash, KeyEntry>> out;
  const KeyStripe& keys = key_stripes_.at(stripe);
  MutexLock lock(keys.mu);
  out.reserve(keys.keys.size());
  // In queue order: first-application order, give or take the few
  // milliseconds between apply threads' clocks, so an import rebuilds the
  // queue nearly in order and sorts it at most once. The visitor runs
  // inside the call, under the lock held here.
  keys.keys.ForEachOldestFirst(
      [&](const KeyHash& hash, const KeyEntry& entry)
          NO_THREAD_SAFETY_ANALYSIS {
            if (IsExpired(entry, now_ms)) return;
            out.emplace_back(hash, entry);
            if (batch_legs != nullptr && entry.op == Op::kBatch &&
                entry.status == Status::kApplied) {
              batch_legs->emplace_back(hash, keys.batch_legs.at(hash));
            }
          });
  return out;
}

void Wallet::ImportBatchLegs(const KeyHash& hash,
                             std::vector<LegOutcome> legs) {
  KeyStripe& keys = KeyStripeFor(hash);
  MutexLock lock(keys.mu);
  if (keys.keys.Find(hash) == nullptr) return;
  keys.batch_legs[hash] = std::move(legs);
}

void Wallet::ImportAccount(const AccountRow& row) {
  const UserKey user_key = KeyOfUser(row.user);
  UserStripe& users = UserStripeFor(user_key);
  MutexLock lock(users.mu);
  Account& account =
      FindOrAddAccount(users.users.FindOrAdd(user_key), row.currency);
  account.balance_minor = row.balance_minor;
  account.version = row.version;
}

void Wallet::ImportRecent(std::string_view user_id, const RecentOp& op) {
  const UserKey user_key = KeyOfUser(user_id);
  UserStripe& users = UserStripeFor(user_key);
  MutexLock lock(users.mu);
  User& user = users.users.FindOrAdd(user_key);
  // A snapshot lists a user's operations oldest first, with their seqs.
  user.recent.Push(history_per_user_) = op;
  user.ops = std::max(user.ops, op.seq);
}

void Wallet::ImportKey(const KeyHash& hash, const KeyEntry& entry,
                       std::int64_t now_ms) {
  if (IsExpired(entry, now_ms)) return;
  KeyStripe& keys = KeyStripeFor(hash);
  MutexLock lock(keys.mu);
  // Snapshot stripes are each in order, but a different stripe count
  // interleaves them: append now and sort once at the next sweep rather
  // than insert into the middle per key.
  const bool in_order = keys.keys.newest_time_ms() <= entry.time_ms;
  if (!keys.keys.Insert(hash, entry)) return;
  if (!in_order) keys.keys_unsorted = true;
  key_count_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace wallet
