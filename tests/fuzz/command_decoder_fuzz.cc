// Fuzz target: the command decoder (common/codec.h) on arbitrary frames.
//
// Besides crashes and sanitizer reports, it checks two properties a
// worker relies on:
//   - PeekUser, which routes frames to apply threads, never reads past
//     the frame and returns a view inside it;
//   - a frame that decodes as valid re-encodes to a frame that decodes to
//     the same command, so what the journal stores and a retry compares is
//     exactly what the game sent.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/codec.h"
#include "common/protocol.h"

namespace {

void Require(bool holds, const char* what) {
  if (holds) return;
  std::fprintf(stderr, "command_decoder_fuzz: %s\n", what);
  std::abort();
}

bool SameLegs(const wallet::Command& a, const wallet::Command& b) {
  if (a.legs.size() != b.legs.size()) return false;
  for (std::size_t i = 0; i < a.legs.size(); ++i) {
    const wallet::Leg& x = a.legs[i];
    const wallet::Leg& y = b.legs[i];
    if (x.op != y.op || x.user != y.user || x.currency != y.currency ||
        x.amount_minor != y.amount_minor) {
      return false;
    }
  }
  return true;
}

bool SameCommand(const wallet::Command& a, const wallet::Command& b) {
  return a.op == b.op && a.key == b.key && a.user == b.user &&
         a.currency == b.currency && a.amount_minor == b.amount_minor &&
         a.source == b.source && a.ref == b.ref && SameLegs(a, b);
}

void CheckPeekUser(std::string_view frame) {
  const std::string_view user = wallet::PeekUser(frame);
  if (user.empty()) return;
  Require(user.data() >= frame.data() &&
              user.data() + user.size() <= frame.data() + frame.size(),
          "PeekUser returned a view outside the frame");
}

void CheckRoundTrip(const wallet::Command& command) {
  static wallet::CommandDecoder again;
  std::string encoded;
  wallet::EncodeCommand(command, encoded);
  const wallet::DecodedCommand decoded = again.Decode(encoded);
  Require(decoded.kind == wallet::DecodedCommand::Kind::kValid,
          "a valid command re-encoded does not decode as valid");
  Require(SameCommand(command, decoded.command),
          "a valid command re-encoded decodes to another command");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  static wallet::CommandDecoder decoder;
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  CheckPeekUser(frame);

  const wallet::DecodedCommand decoded = decoder.Decode(frame);
  switch (decoded.kind) {
    case wallet::DecodedCommand::Kind::kValid:
      Require(decoded.key == decoded.command.key, "valid key mismatch");
      CheckRoundTrip(decoded.command);
      break;
    case wallet::DecodedCommand::Kind::kRejected:
      Require(!decoded.key.empty(), "a rejection without a key");
      Require(decoded.reason != wallet::Reason::kNone,
              "a rejection without a reason");
      break;
    case wallet::DecodedCommand::Kind::kUnreadable:
      break;
  }
  return 0;
}
