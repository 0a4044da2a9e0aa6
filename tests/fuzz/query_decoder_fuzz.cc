// Fuzz target: the query decoder (common/codec.h) on arbitrary frames.
//
// Besides crashes and sanitizer reports, it checks that every frame gets
// an answer (a request or a named error) and that a decoded request
// re-encodes to a frame that decodes to the same request.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "common/codec.h"
#include "common/protocol.h"

namespace {

void Require(bool holds, const char* what) {
  if (holds) return;
  std::fprintf(stderr, "query_decoder_fuzz: %s\n", what);
  std::abort();
}

void CheckBalance(const wallet::BalanceQuery& query) {
  std::string encoded;
  wallet::EncodeBalanceQuery(query.user, encoded);
  const wallet::Query again = wallet::DecodeQuery(encoded);
  const auto* same = std::get_if<wallet::BalanceQuery>(&again);
  Require(same != nullptr && same->user == query.user,
          "a balance query re-encoded decodes to something else");
}

void CheckHistory(const wallet::HistoryQuery& query) {
  Require(query.limit >= 1 && query.limit <= wallet::kHistoryPageMax,
          "a history query with a page size out of range");
  std::string encoded;
  wallet::EncodeHistoryQuery(query, encoded);
  const wallet::Query again = wallet::DecodeQuery(encoded);
  const auto* same = std::get_if<wallet::HistoryQuery>(&again);
  Require(same != nullptr && same->user == query.user &&
              same->limit == query.limit && same->before == query.before,
          "a history query re-encoded decodes to something else");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  const wallet::Query query = wallet::DecodeQuery(frame);
  if (const auto* balance = std::get_if<wallet::BalanceQuery>(&query)) {
    CheckBalance(*balance);
  } else if (const auto* history = std::get_if<wallet::HistoryQuery>(&query)) {
    CheckHistory(*history);
  } else {
    Require(!std::get<std::string_view>(query).empty(),
            "an error answer without a name");
  }
  return 0;
}
