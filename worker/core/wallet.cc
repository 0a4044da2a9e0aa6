#include "worker/core/wallet.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>

namespace wallet {
namespace {

// Always-on check: going on with a broken invariant could corrupt money.
void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "wallet invariant violated: %s\n", what);
    std::abort();
  }
}

Field FirstDifference(const KeyEntry& entry, const Command& command) {
  if (entry.op != command.op) return Field::kOp;
  if (entry.user_hash != HashField(command.user)) return Field::kUser;
  if (entry.currency_hash != HashField(command.currency)) {
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
  outcome.has_balance = true;
  outcome.balance_minor = entry.balance_minor;
  outcome.version = entry.version;
  return outcome;
}

KeyEntry EntryFor(const Record& record) {
  KeyEntry entry;
  entry.time_ms = record.time_ms;
  entry.amount_minor = record.amount_minor;
  entry.balance_minor = record.balance_minor;
  entry.version = record.version;
  entry.user_hash = HashField(record.user);
  entry.currency_hash = HashField(record.currency);
  entry.source_hash = HashField(record.source);
  entry.ref_hash = HashField(record.ref);
  entry.op = record.op;
  entry.status = record.status;
  entry.reason = record.reason;
  return entry;
}

RecentOp RecentFor(const Record& record) {
  RecentOp op;
  op.op = record.op;
  op.currency.assign(record.currency);
  op.amount_minor = record.amount_minor;
  op.key.assign(record.key);
  op.ref.assign(record.ref);
  op.source.assign(record.source);
  op.balance_minor = record.balance_minor;
  op.version = record.version;
  op.time_ms = record.time_ms;
  return op;
}

}  // namespace

KeyHash HashKey(std::string_view key) {
  const XXH128_hash_t hash = XXH3_128bits(key.data(), key.size());
  return {hash.low64, hash.high64};
}

std::uint32_t HashField(std::string_view text) {
  return static_cast<std::uint32_t>(XXH3_64bits(text.data(), text.size()));
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

Wallet::UserStripe& Wallet::UserStripeFor(std::string_view user) {
  return user_stripes_[XXH3_64bits(user.data(), user.size()) & stripe_mask_];
}

const Wallet::UserStripe& Wallet::UserStripeFor(std::string_view user) const {
  return user_stripes_[XXH3_64bits(user.data(), user.size()) & stripe_mask_];
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
  if (user.recent.size() == history_per_user_) user.recent.pop_front();
  user.recent.push_back(RecentFor(record));
  user.recent.back().seq = ++user.ops;
}

void Wallet::InsertKey(KeyStripe& stripe, const KeyHash& hash,
                       const KeyEntry& entry) {
  if (!stripe.entries.emplace(hash, entry).second) return;
  key_count_.fetch_add(1, std::memory_order_relaxed);
  auto& queue = stripe.by_time;
  if (stripe.by_time_unsorted || queue.empty() ||
      queue.back().first <= entry.time_ms) {
    queue.emplace_back(entry.time_ms, hash);
    return;
  }
  // Applier threads stamp their batches independently, so a time can be a
  // few milliseconds behind the newest: walk back the few entries it
  // trails.
  auto at = queue.end();
  while (at != queue.begin() && std::prev(at)->first > entry.time_ms) --at;
  queue.emplace(at, entry.time_ms, hash);
}

Outcome Wallet::Apply(const Command& command, std::int64_t now_ms,
                      CommitLog& log) {
  const KeyHash hash = HashKey(command.key);
  KeyStripe& keys = KeyStripeFor(hash);
  MutexLock key_lock(keys.mu);

  auto found = keys.entries.find(hash);
  if (found != keys.entries.end() && !IsExpired(found->second, now_ms)) {
    const Field field = FirstDifference(found->second, command);
    if (field != Field::kNone) {
      Outcome conflict;
      conflict.reason = Reason::kKeyConflict;
      conflict.field = field;
      return conflict;
    }
    return ReplayOutcome(found->second);
  }
  if (found != keys.entries.end()) {
    // Expired but not yet swept: the key is free again.
    keys.entries.erase(found);
    key_count_.fetch_sub(1, std::memory_order_relaxed);
  }

  UserStripe& users = UserStripeFor(command.user);
  MutexLock user_lock(users.mu);
  User& user = users.users[std::string(command.user)];
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

  log.Append(record);
  InsertKey(keys, hash, EntryFor(record));

  Outcome outcome;
  outcome.status = record.status;
  outcome.reason = record.reason;
  outcome.has_balance = true;
  outcome.balance_minor = record.balance_minor;
  outcome.version = record.version;
  return outcome;
}

BalanceReply Wallet::Read(std::string_view user_id) const {
  BalanceReply reply;
  reply.user.assign(user_id);
  const UserStripe& users = UserStripeFor(user_id);
  MutexLock lock(users.mu);
  auto found = users.users.find(std::string(user_id));
  if (found == users.users.end()) return reply;
  for (const Account& account : found->second.accounts) {
    reply.balances.push_back(
        {account.currency, account.balance_minor, account.version});
  }
  const std::deque<RecentOp>& recent = found->second.recent;
  const std::size_t shown = std::min(recent.size(), kRecentOpsMax);
  reply.recent.assign(recent.rbegin(),
                      recent.rbegin() + static_cast<std::ptrdiff_t>(shown));
  std::sort(reply.balances.begin(), reply.balances.end(),
            [](const AccountBalance& a, const AccountBalance& b) {
              return a.currency < b.currency;
            });
  return reply;
}

HistoryReply Wallet::History(const HistoryQuery& query) const {
  HistoryReply reply;
  reply.user = query.user;
  const UserStripe& users = UserStripeFor(query.user);
  MutexLock lock(users.mu);
  auto found = users.users.find(query.user);
  if (found == users.users.end()) return reply;
  const std::deque<RecentOp>& recent = found->second.recent;
  // Seqs are consecutive from front to back, so the page starts at an
  // index, not a search.
  auto from = recent.rbegin();
  if (query.before > 0 && !recent.empty()) {
    const std::uint64_t newest = recent.back().seq;
    const std::uint64_t skip =
        query.before > newest ? 0 : newest - query.before + 1;
    from += static_cast<std::ptrdiff_t>(
        std::min<std::uint64_t>(skip, recent.size()));
  }
  const auto left = static_cast<std::size_t>(recent.rend() - from);
  const std::size_t count = std::min<std::size_t>(left, query.limit);
  reply.ops.assign(from, from + static_cast<std::ptrdiff_t>(count));
  if (count < left) reply.next_before = reply.ops.back().seq;
  return reply;
}

std::size_t Wallet::ExpireKeys(std::int64_t now_ms) {
  std::size_t removed = 0;
  for (KeyStripe& stripe : key_stripes_) {
    MutexLock lock(stripe.mu);
    if (stripe.by_time_unsorted) {
      std::stable_sort(
          stripe.by_time.begin(), stripe.by_time.end(),
          [](const auto& a, const auto& b) { return a.first < b.first; });
      stripe.by_time_unsorted = false;
    }
    while (!stripe.by_time.empty() &&
           now_ms - stripe.by_time.front().first >= key_window_ms_) {
      const auto [time_ms, hash] = stripe.by_time.front();
      stripe.by_time.pop_front();
      auto found = stripe.entries.find(hash);
      // A key re-used after expiry has a newer entry: leave that one.
      if (found != stripe.entries.end() && found->second.time_ms == time_ms) {
        stripe.entries.erase(found);
        ++removed;
      }
    }
  }
  key_count_.fetch_sub(removed, std::memory_order_relaxed);
  return removed;
}

void Wallet::Replay(const Record& record, std::int64_t now_ms) {
  const KeyHash hash = HashKey(record.key);
  KeyStripe& keys = KeyStripeFor(hash);
  MutexLock key_lock(keys.mu);
  if (record.status == Status::kApplied) {
    UserStripe& users = UserStripeFor(record.user);
    MutexLock user_lock(users.mu);
    User& user = users.users[std::string(record.user)];
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
  for (const auto& [name, user] : users.users) {
    for (const Account& account : user.accounts) {
      out.accounts.push_back(
          {name, account.currency, account.balance_minor, account.version});
    }
    for (const RecentOp& op : user.recent) out.recent.emplace_back(name, op);
  }
  return out;
}

std::vector<std::pair<KeyHash, KeyEntry>> Wallet::ExportKeys(
    std::size_t stripe, std::int64_t now_ms) const {
  std::vector<std::pair<KeyHash, KeyEntry>> out;
  const KeyStripe& keys = key_stripes_.at(stripe);
  MutexLock lock(keys.mu);
  out.reserve(keys.entries.size());
  // In first-application order, so that an import rebuilds the expiry
  // queue already sorted.
  for (const auto& [time_ms, hash] : keys.by_time) {
    auto found = keys.entries.find(hash);
    if (found == keys.entries.end() || found->second.time_ms != time_ms ||
        IsExpired(found->second, now_ms)) {
      continue;
    }
    out.emplace_back(hash, found->second);
  }
  return out;
}

void Wallet::ImportAccount(const AccountRow& row) {
  UserStripe& users = UserStripeFor(row.user);
  MutexLock lock(users.mu);
  Account& account = FindOrAddAccount(users.users[row.user], row.currency);
  account.balance_minor = row.balance_minor;
  account.version = row.version;
}

void Wallet::ImportRecent(std::string_view user_id, const RecentOp& op) {
  UserStripe& users = UserStripeFor(user_id);
  MutexLock lock(users.mu);
  User& user = users.users[std::string(user_id)];
  // A snapshot lists a user's operations oldest first, with their seqs.
  if (user.recent.size() == history_per_user_) user.recent.pop_front();
  user.recent.push_back(op);
  user.ops = std::max(user.ops, op.seq);
}

void Wallet::ImportKey(const KeyHash& hash, const KeyEntry& entry,
                       std::int64_t now_ms) {
  if (IsExpired(entry, now_ms)) return;
  KeyStripe& keys = KeyStripeFor(hash);
  MutexLock lock(keys.mu);
  if (!keys.entries.emplace(hash, entry).second) return;
  key_count_.fetch_add(1, std::memory_order_relaxed);
  // Snapshot stripes are each in order, but a different stripe count
  // interleaves them: append now and sort once at the next sweep rather
  // than insert into the middle per key.
  if (!keys.by_time.empty() && keys.by_time.back().first > entry.time_ms) {
    keys.by_time_unsorted = true;
  }
  keys.by_time.emplace_back(entry.time_ms, hash);
}

}  // namespace wallet
