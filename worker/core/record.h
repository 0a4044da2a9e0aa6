// Record: what the wallet core hands to its commit log for every command
// that consumed a key (applied, or a business rejection that a retry must
// see again). It carries the state after the command, not the delta, so
// that replaying a record twice, or one already in a snapshot, is harmless.
//
// The core knows only the CommitLog interface; the journal implements it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/protocol.h"

namespace wallet {

// One account a batch changed, with its state after the leg; for a
// rejected batch, the accounts are unchanged and only the failed leg's
// balance (in the Record) matters.
struct LegRecord {
  Op op = Op::kTopup;
  std::string_view user;
  std::string_view currency;
  std::int64_t amount_minor = 0;
  std::int64_t balance_minor = 0;
  std::uint64_t version = 0;
};

struct Record {
  std::int64_t time_ms = 0;  // Wall clock when applied; drives key expiry.
  Op op = Op::kTopup;
  Status status = Status::kApplied;  // kApplied or kRejected.
  Reason reason = Reason::kNone;     // For kRejected.
  std::string_view key;
  std::string_view user;
  std::string_view currency;
  std::int64_t amount_minor = 0;
  std::string_view source;
  std::string_view ref;
  // The account after the command (unchanged for a rejection). For a
  // rejected batch: what the failed leg found.
  std::int64_t balance_minor = 0;
  std::uint64_t version = 0;
  // kBatch only: every leg, in command order, and which one failed.
  std::span<const LegRecord> legs;
  int failed_leg = -1;
};

// Receives records in apply order. Append is called with the wallet's
// stripe locks held, so that two records for one account reach the log in
// the order they were applied; it must be quick and must not call back
// into the wallet. It returns the log's position after the record, which
// never decreases: the wallet keeps it per user so that a reader can wait
// for exactly what it read to be durable.
class CommitLog {
 public:
  virtual ~CommitLog() = default;
  virtual std::uint64_t Append(const Record& record) = 0;
};

}  // namespace wallet
