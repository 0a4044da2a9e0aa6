// MessagePack encoding and decoding of every protocol v1 message.
//
// Decoders validate fully and never throw: a frame is either a whole valid
// message or a rejection with a reason. Encoders append to a caller-owned
// std::string so that a batch of messages can share one buffer.
//
// Thread safety: free functions are reentrant; a CommandDecoder belongs to
// one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "common/protocol.h"

namespace wallet {

// The outcome of decoding one command frame.
struct DecodedCommand {
  enum class Kind {
    kValid,       // `command` is valid and ready to apply.
    kRejected,    // `key` is readable; reply `rejected` with `reason`.
    kUnreadable,  // No readable key: count and drop, nothing to answer.
  };
  Kind kind = Kind::kUnreadable;
  Command command;          // All fields valid for kValid.
  std::string_view key;     // Readable key, for kValid and kRejected.
  std::string_view source;  // Valid source when known, else empty.
  Reason reason = Reason::kNone;
  std::string_view detail;  // Static text naming the failed rule.
};

// Decodes command frames. Keeps a scratch area between calls so that the
// hot path does not allocate per command; the views in a DecodedCommand
// point into the frame and stay valid while the frame lives.
class CommandDecoder {
 public:
  CommandDecoder();
  ~CommandDecoder();
  CommandDecoder(const CommandDecoder&) = delete;
  CommandDecoder& operator=(const CommandDecoder&) = delete;

  DecodedCommand Decode(std::string_view frame);

 private:
  struct Scratch;
  std::unique_ptr<Scratch> scratch_;
};

// Finds the top-level `user` string of a command frame without decoding
// the rest or allocating; empty if there is none. It validates nothing: the
// worker uses it only to keep each user's commands on one apply thread.
std::string_view PeekUser(std::string_view frame);

// Command encoding, for clients.
void EncodeCommand(const Command& command, std::string& out);

// Results. `command` is null when the frame did not decode far enough; the
// payload then carries the key, status, reason and detail only.
void EncodeResult(std::string_view key, const Command* command,
                  const Outcome& outcome, std::string_view detail,
                  std::string& out);
// Decodes a result payload (the second frame). Returns false on anything
// that is not a well-formed v1 result.
bool DecodeResult(std::string_view payload, Result& result);

// Balance events for an applied command; for a batch, one per leg, on the
// leg's user's topic, with the leg's op and the batch's key and source.
void EncodeBalanceEvent(const Command& command, const Outcome& outcome,
                        std::string& out);
void EncodeLegBalanceEvent(const Command& command, const Outcome& outcome,
                           std::size_t leg, std::string& out);
bool DecodeBalanceEvent(std::string_view payload, BalanceEvent& event);

// Queries. A query frame decodes to a request or to an error name that the
// server sends back with EncodeQueryError.
using Query =
    std::variant<BalanceQuery, HistoryQuery, std::string_view /* error */>;
Query DecodeQuery(std::string_view frame);
void EncodeBalanceQuery(std::string_view user, std::string& out);
void EncodeHistoryQuery(const HistoryQuery& query, std::string& out);
void EncodeBalanceReply(const BalanceReply& reply, std::string& out);
void EncodeHistoryReply(const HistoryReply& reply, std::string& out);
void EncodeQueryError(std::string_view error, std::string& out);
// Decodes a reply. On a server error, returns false and sets `error` to
// its name; on a malformed reply, returns false with "malformed_reply".
bool DecodeBalanceReply(std::string_view payload, BalanceReply& reply,
                        std::string& error);
bool DecodeHistoryReply(std::string_view payload, HistoryReply& reply,
                        std::string& error);

// Query error names (docs/protocol.md lists them).
inline constexpr std::string_view kQueryErrorMalformed = "malformed_request";
inline constexpr std::string_view kQueryErrorVersion = "unsupported_version";
inline constexpr std::string_view kQueryErrorOp = "unsupported_op";
inline constexpr std::string_view kQueryErrorUser = "invalid_user";
// History: `limit` not an int in 1..kHistoryPageMax, or `before` not a
// non-negative int.
inline constexpr std::string_view kQueryErrorLimit = "invalid_limit";
inline constexpr std::string_view kQueryErrorCursor = "invalid_cursor";
// The worker's storage has failed; it answers nothing it cannot vouch for.
inline constexpr std::string_view kQueryErrorUnavailable = "unavailable";

}  // namespace wallet
