#include "worker/pipeline/applier.h"

#include "common/log.h"

namespace wallet {
namespace {

constexpr std::size_t kEventBytesPerCommand = 320;
RateLimiter g_dropped_log(1000);
RateLimiter g_forbidden_log(1000);

}  // namespace

Applier::Applier(Wallet& wallet, Journal& journal, const AccessList* access,
                 CommandLanes& lanes, BoundedQueue<EventBatch>& out,
                 PipelineCounters& counters)
    : wallet_(wallet),
      journal_(journal),
      access_(access),
      lanes_(lanes),
      out_(out),
      counters_(counters) {}

Applier::~Applier() { Join(); }

void Applier::Start() {
  for (BoundedQueue<CommandBatch>& lane : lanes_) {
    threads_.emplace_back([this, &lane] { Run(lane); });
  }
}

void Applier::Join() {
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void Applier::Run(BoundedQueue<CommandBatch>& lane) {
  CommandDecoder decoder;
  std::vector<CommandBatch> batches;
  while (lane.PopUpTo(kApplyBatchesMax, batches)) {
    // Up to kApplyBatchesMax queued batches become one batch of events:
    // one hand-off to the publisher for a backlog.
    EventBatch out;
    std::size_t frames = 0;
    for (const CommandBatch& batch : batches) frames += batch.frames.size();
    out.events.reserve(2 * frames);
    // A credit's result and balance event take about 300 bytes with their
    // topics: reserving them up front saves the copies of a growing buffer.
    out.bytes.reserve(kEventBytesPerCommand * frames);
    Tally tally;
    SenderCache sender;
    const std::int64_t now_ms = WallClockMs();
    for (const CommandBatch& batch : batches) {
      for (const zmq::message_t& frame : batch.frames) {
        ApplyFrame(decoder, frame, now_ms, sender, out, tally);
      }
    }
    batches.clear();
    // Read after the last apply: covers this batch's records and, for a
    // duplicate, the record of its first application.
    out.journal_position = journal_.appended_position();
    Count(tally);
    out_.Push(std::move(out));
  }
}

bool Applier::Authorize(const zmq::message_t& frame,
                        const DecodedCommand& decoded, SenderCache& sender,
                        EventBatch& out, Tally& tally) {
  const char* user_id = zmq_msg_gets(frame.handle(), "User-Id");
  if (user_id != sender.user_id) {
    sender.user_id = user_id;
    sender.rights = user_id == nullptr ? nullptr : access_->FindByName(user_id);
  }
  // No rights means a frame that skipped the handshake check: refused.
  const ClientRights* rights = sender.rights;
  if (rights != nullptr &&
      (decoded.source.empty() || rights->MaySendAs(decoded.source))) {
    return true;
  }
  ++tally.rejected;
  ++tally.forbidden;
  Outcome outcome;
  outcome.reason = Reason::kForbidden;
  // The answer goes to the sender's own topic, never to the one it named:
  // no key can put results on another game's topic.
  const std::string_view topic = rights != nullptr && !rights->sources.empty()
                                     ? rights->sources.front()
                                     : std::string_view{};
  AddEvent(out, kResultTopicPrefix, topic, [&](std::string& b) {
    EncodeResult(decoded.key, nullptr, outcome,
                 "this client may not send as this source", b);
  });
  std::uint64_t suppressed = 0;
  if (g_forbidden_log.Allow(suppressed)) {
    Log(LogLevel::kWarn, "apply",
        "event=forbidden client=%s source=%.*s suppressed=%lu",
        rights != nullptr ? rights->name.c_str() : "-",
        static_cast<int>(decoded.source.size()), decoded.source.data(),
        static_cast<unsigned long>(suppressed));
  }
  return false;
}

void Applier::ApplyFrame(CommandDecoder& decoder, const zmq::message_t& frame,
                         std::int64_t now_ms, SenderCache& sender,
                         EventBatch& out, Tally& tally) {
  const DecodedCommand decoded = decoder.Decode(frame.to_string_view());
  if (decoded.kind == DecodedCommand::Kind::kUnreadable) {
    ++tally.dropped;
    std::uint64_t suppressed = 0;
    if (g_dropped_log.Allow(suppressed)) {
      Log(LogLevel::kWarn, "apply",
          "event=dropped reason=no_readable_key bytes=%zu suppressed=%lu",
          frame.size(), static_cast<unsigned long>(suppressed));
    }
    return;
  }
  if (access_ != nullptr && !Authorize(frame, decoded, sender, out, tally)) {
    return;
  }
  if (decoded.kind == DecodedCommand::Kind::kRejected) {
    ++tally.rejected;
    Outcome outcome;
    outcome.reason = decoded.reason;
    AddEvent(out, kResultTopicPrefix, decoded.source, [&](std::string& b) {
      EncodeResult(decoded.key, nullptr, outcome, decoded.detail, b);
    });
    return;
  }
  const Command& command = decoded.command;
  const Outcome outcome = wallet_.Apply(command, now_ms, journal_);
  switch (outcome.status) {
    case Status::kApplied:
      ++tally.applied;
      break;
    case Status::kDuplicate:
      ++tally.duplicates;
      break;
    case Status::kRejected:
      ++tally.rejected;
      if (outcome.reason == Reason::kKeyConflict) ++tally.conflicts;
      break;
  }
  AddEvent(out, kResultTopicPrefix, command.source, [&](std::string& b) {
    EncodeResult(command.key, &command, outcome, {}, b);
  });
  if (outcome.status != Status::kApplied) return;
  if (command.op != Op::kBatch) {
    AddEvent(out, kBalanceTopicPrefix, command.user,
             [&](std::string& b) { EncodeBalanceEvent(command, outcome, b); });
    return;
  }
  for (std::size_t leg = 0; leg < command.legs.size(); ++leg) {
    AddEvent(out, kBalanceTopicPrefix, command.legs[leg].user,
             [&](std::string& b) {
               EncodeLegBalanceEvent(command, outcome, leg, b);
             });
  }
}

void Applier::Count(const Tally& tally) {
  counters_.applied.fetch_add(tally.applied, std::memory_order_relaxed);
  counters_.duplicates.fetch_add(tally.duplicates, std::memory_order_relaxed);
  counters_.rejected.fetch_add(tally.rejected, std::memory_order_relaxed);
  counters_.conflicts.fetch_add(tally.conflicts, std::memory_order_relaxed);
  counters_.dropped.fetch_add(tally.dropped, std::memory_order_relaxed);
  counters_.forbidden.fetch_add(tally.forbidden, std::memory_order_relaxed);
}

}  // namespace wallet
