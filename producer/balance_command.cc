// `balance`: one query, printed per currency with recent operations.

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
    "balance",
    "--user U [flags]",
    "Asks the worker for a user's balance in every currency (balance and "
    "version) and the user's most recent operations, newest first. Exit 0 "
    "on an answer, 1 when the worker refuses the query, 3 on timeout.",
};

std::vector<Flag> BalanceFlags(BalanceOptions& options) {
  return {
      RequiredStringFlag("user", "U", "User to look up.", &options.user),
      IntFlag("timeout-ms", "MS", "Give up waiting for the reply after this.",
              &options.timeout_ms, 1, 3'600'000),
      SwitchFlag("json", "Print the reply as one JSON line.", &options.json),
  };
}

int ReportError(const ClientError& error) {
  PrintError("balance", error.message);
  return error.code == ClientError::Code::kTimeout ? kExitTimeout
                                                   : kExitFailure;
}

}  // namespace

int RunBalance(const ProgramContext& context, std::span<char* const> args) {
  BalanceOptions options;
  const std::vector<Flag> flags = BalanceFlags(options);
  if (auto exit_code = ParseCommandFlags(kHelp, flags, args)) {
    return *exit_code;
  }

  QueryClient client(context.zmq, context.global.queries_endpoint,
                     context.security, static_cast<int>(options.timeout_ms));
  auto reply = client.Balance(options.user);
  if (auto* error = std::get_if<ClientError>(&reply)) {
    return ReportError(*error);
  }
  const OutputStyle style =
      options.json ? OutputStyle::kJson : OutputStyle::kText;
  for (const std::string& line :
       FormatBalanceReply(std::get<BalanceReply>(reply), style)) {
    std::printf("%s\n", line.c_str());
  }
  return kExitOk;
}

}  // namespace wallet::producer
