// How wallet-producer prints what the worker sends back: results, balance
// events and balance replies, each as readable `key=value` text or as one
// JSON object. Shared by the send, watch and balance subcommands so that
// the same message always prints the same way.
#pragma once

#include <string>
#include <vector>

#include "common/protocol.h"

namespace wallet::producer {

enum class OutputStyle { kText, kJson };

// One line, no trailing newline.
std::string FormatResult(const Result& result, OutputStyle style);
std::string FormatBalanceEvent(const BalanceEvent& event, OutputStyle style);

// Text: one line per account, then one per recent operation (newest
// first). JSON: a single line holding the whole reply.
std::vector<std::string> FormatBalanceReply(const BalanceReply& reply,
                                            OutputStyle style);

// Text: one line per operation (newest first), then a `page` line with
// the cursor for the next page. JSON: a single line.
std::vector<std::string> FormatHistoryReply(const HistoryReply& reply,
                                            OutputStyle style);

// "2026-12-03T20:15:00.123Z" for a Unix epoch time in milliseconds.
std::string FormatUtcMs(std::int64_t time_ms);

}  // namespace wallet::producer
