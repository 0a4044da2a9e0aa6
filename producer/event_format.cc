#include "producer/event_format.h"

#include <cstdio>
#include <ctime>

#include "producer/json_output.h"
#include "producer/text_output.h"

namespace wallet::producer {
namespace {

// Both writers share one shape, so the field order is written once.
template <typename Writer>
void WriteResultFields(const Result& result, Writer& out) {
  out.Str("key", result.key);
  out.Str("status", StatusName(result.outcome.status));
  if (result.outcome.status == Status::kRejected) {
    out.Str("reason", ReasonName(result.outcome.reason));
  }
  if (result.outcome.reason == Reason::kKeyConflict) {
    out.Str("field", FieldName(result.outcome.field));
  }
  if (!result.detail.empty()) out.Str("detail", result.detail);
  if (result.has_command) {
    out.Str("op", OpName(result.op));
    out.Str("user", result.user);
    if (result.op != Op::kBatch) {
      out.Str("currency", result.currency);
      out.Int("amount", result.amount_minor);
    }
    out.Str("source", result.source);
    if (!result.ref.empty()) out.Str("ref", result.ref);
  }
  if (result.outcome.failed_leg >= 0) {
    out.Int("failed_leg", result.outcome.failed_leg);
  }
  if (result.outcome.has_balance) {
    out.Int("balance", result.outcome.balance_minor);
    out.Uint("version", result.outcome.version);
  }
  // A batch: leg_<i>=op:user:currency:amount, then the account after it.
  for (std::size_t i = 0; i < result.legs.size(); ++i) {
    const LegResult& leg = result.legs[i];
    const std::string name = "leg_" + std::to_string(i);
    out.Str(name, std::string(OpName(leg.op)) + ":" + leg.user + ":" +
                      leg.currency + ":" + std::to_string(leg.amount_minor));
    if (leg.has_balance) {
      out.Int(name + "_balance", leg.balance_minor);
      out.Uint(name + "_version", leg.version);
    }
  }
}

template <typename Writer>
void WriteBalanceEventFields(const BalanceEvent& event, Writer& out) {
  out.Str("user", event.user);
  out.Str("currency", event.currency);
  out.Int("balance", event.balance_minor);
  out.Int("delta", event.delta_minor);
  out.Uint("version", event.version);
  out.Str("key", event.key);
  out.Str("op", OpName(event.op));
  out.Str("source", event.source);
}

template <typename Writer>
void WriteRecentFields(const RecentOp& op, Writer& out) {
  out.Str("time", FormatUtcMs(op.time_ms));
  out.Str("op", OpName(op.op));
  out.Str("currency", op.currency);
  out.Int("amount", op.amount_minor);
  out.Int("balance", op.balance_minor);
  out.Uint("version", op.version);
  out.Str("key", op.key);
  out.Str("source", op.source);
  if (!op.ref.empty()) out.Str("ref", op.ref);
  out.Uint("seq", op.seq);
}

std::vector<std::string> BalanceReplyText(const BalanceReply& reply) {
  std::vector<std::string> lines;
  if (reply.balances.empty()) {
    lines.push_back(KeyValueLine("balance")
                        .Str("user", reply.user)
                        .Str("accounts", "0")
                        .text());
  }
  for (const AccountBalance& account : reply.balances) {
    lines.push_back(KeyValueLine("balance")
                        .Str("user", reply.user)
                        .Str("currency", account.currency)
                        .Int("balance", account.balance_minor)
                        .Uint("version", account.version)
                        .text());
  }
  for (const RecentOp& op : reply.recent) {
    KeyValueLine line("recent");
    line.Str("user", reply.user);
    WriteRecentFields(op, line);
    lines.push_back(line.text());
  }
  return lines;
}

std::string BalanceReplyJson(const BalanceReply& reply) {
  std::vector<std::string> balances;
  for (const AccountBalance& account : reply.balances) {
    balances.push_back(JsonObject()
                           .Str("currency", account.currency)
                           .Int("balance", account.balance_minor)
                           .Uint("version", account.version)
                           .Finish());
  }
  std::vector<std::string> recent;
  for (const RecentOp& op : reply.recent) {
    JsonObject object;
    WriteRecentFields(op, object);
    object.Int("time_ms", op.time_ms);
    recent.push_back(object.Finish());
  }
  return JsonObject()
      .Str("user", reply.user)
      .Raw("balances", JsonArray(balances))
      .Raw("recent", JsonArray(recent))
      .Finish();
}

}  // namespace

std::string FormatResult(const Result& result, OutputStyle style) {
  if (style == OutputStyle::kJson) {
    JsonObject object;
    object.Str("event", "result");
    WriteResultFields(result, object);
    return object.Finish();
  }
  KeyValueLine line("result");
  WriteResultFields(result, line);
  return line.text();
}

std::string FormatBalanceEvent(const BalanceEvent& event, OutputStyle style) {
  if (style == OutputStyle::kJson) {
    JsonObject object;
    object.Str("event", "balance");
    WriteBalanceEventFields(event, object);
    return object.Finish();
  }
  KeyValueLine line("balance");
  WriteBalanceEventFields(event, line);
  return line.text();
}

std::vector<std::string> FormatBalanceReply(const BalanceReply& reply,
                                            OutputStyle style) {
  if (style == OutputStyle::kJson) return {BalanceReplyJson(reply)};
  return BalanceReplyText(reply);
}

std::vector<std::string> FormatHistoryReply(const HistoryReply& reply,
                                            OutputStyle style) {
  if (style == OutputStyle::kJson) {
    std::vector<std::string> ops;
    for (const RecentOp& op : reply.ops) {
      JsonObject object;
      WriteRecentFields(op, object);
      object.Int("time_ms", op.time_ms);
      ops.push_back(object.Finish());
    }
    JsonObject page;
    page.Str("user", reply.user).Raw("ops", JsonArray(ops));
    if (reply.next_before > 0) page.Uint("next_before", reply.next_before);
    return {page.Finish()};
  }
  std::vector<std::string> lines;
  for (const RecentOp& op : reply.ops) {
    KeyValueLine line("history");
    line.Str("user", reply.user);
    WriteRecentFields(op, line);
    lines.push_back(line.text());
  }
  KeyValueLine end("page");
  end.Str("user", reply.user).Uint("ops", reply.ops.size());
  if (reply.next_before > 0) {
    end.Uint("next_before", reply.next_before);
  } else {
    end.Str("next_before", "none");
  }
  lines.push_back(end.text());
  return lines;
}

std::string FormatUtcMs(std::int64_t time_ms) {
  const std::int64_t seconds_part = time_ms / 1000;
  const auto seconds = static_cast<std::time_t>(seconds_part);
  const auto millis = static_cast<int>(time_ms - seconds_part * 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  // Sized for any int the fields could hold, so nothing truncates.
  char text[80];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                utc.tm_min, utc.tm_sec, millis < 0 ? 0 : millis);
  return text;
}

}  // namespace wallet::producer
