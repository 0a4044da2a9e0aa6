// `history`: pages through a user's operations, newest first.

#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "common/client.h"
#include "producer/commands.h"
#include "producer/event_format.h"

namespace wallet::producer {
namespace {

constexpr CommandHelp kHelp = {
    "history",
    "--user U [flags]",
    "Asks the worker for the user's operations, newest first, one page of "
    "--limit at a time. The last line names the --before that fetches the "
    "next, older page; with --all every page is fetched in turn. The worker "
    "keeps the latest --history-per-user operations of each user. Exit 0 "
    "on an answer, 1 when the worker refuses the query, 3 on timeout.",
};

std::vector<Flag> HistoryFlags(HistoryOptions& options) {
  return {
      RequiredStringFlag("user", "U", "User to look up.", &options.user),
      IntFlag("limit", "N", "Operations per page, 1..100.", &options.limit, 1,
              kHistoryPageMax),
      IntFlag("before", "SEQ",
              "Only operations older than this seq; 0 starts at the newest.",
              &options.before, 0, INT64_MAX),
      SwitchFlag("all", "Fetch every page, oldest last.", &options.all),
      IntFlag("timeout-ms", "MS", "Give up waiting for a reply after this.",
              &options.timeout_ms, 1, 3'600'000),
      SwitchFlag("json", "Print each page as one JSON line.", &options.json),
  };
}

}  // namespace

int RunHistory(const ProgramContext& context, std::span<char* const> args) {
  HistoryOptions options;
  const std::vector<Flag> flags = HistoryFlags(options);
  if (auto exit_code = ParseCommandFlags(kHelp, flags, args)) {
    return *exit_code;
  }

  QueryClient client(context.zmq, context.global.queries_endpoint,
                     context.security, static_cast<int>(options.timeout_ms));
  const OutputStyle style =
      options.json ? OutputStyle::kJson : OutputStyle::kText;
  HistoryQuery query;
  query.user = options.user;
  query.limit = static_cast<std::uint32_t>(options.limit);
  query.before = static_cast<std::uint64_t>(options.before);
  do {
    auto reply = client.History(query);
    if (auto* error = std::get_if<ClientError>(&reply)) {
      PrintError("history", error->message);
      return error->code == ClientError::Code::kTimeout ? kExitTimeout
                                                        : kExitFailure;
    }
    const HistoryReply& page = std::get<HistoryReply>(reply);
    for (const std::string& line : FormatHistoryReply(page, style)) {
      std::printf("%s\n", line.c_str());
    }
    query.before = page.next_before;
  } while (options.all && query.before != 0);
  return kExitOk;
}

}  // namespace wallet::producer
