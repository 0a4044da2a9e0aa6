// wallet-producer: a command-line client of the wallet worker. It sends
// one command, prints a balance, watches events, or runs a load test that
// verifies every result and balance end to end.
//
// Usage: wallet-producer [global flags] SUBCOMMAND [flags]

#include <zmq.hpp>

#include <array>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "common/log.h"
#include "producer/commands.h"
#include "producer/stop_signal.h"

namespace wallet::producer {
namespace {

struct Subcommand {
  std::string_view name;
  std::string_view summary;
  int (*run)(const ProgramContext&, std::span<char* const>);
};

constexpr std::array<Subcommand, 7> kSubcommands = {{
    {"send", "send one command and print its result", RunSend},
    {"balance", "print a user's balances and recent operations", RunBalance},
    {"history", "page through a user's operations, newest first", RunHistory},
    {"watch", "print results and balance events as they happen", RunWatch},
    {"load", "load-test the worker and verify every outcome", RunLoad},
    {"audit", "check that acknowledged credits survive a restart", RunAudit},
    {"keygen", "write a CURVE key pair for a worker or a client", RunKeygen},
}};

std::vector<Flag> GlobalFlags(GlobalOptions& options) {
  return {
      StringFlag("commands", "EP", "Worker endpoint that takes commands.",
                 &options.commands_endpoint),
      StringFlag("events", "EP",
                 "Worker endpoint that publishes results and balance events.",
                 &options.events_endpoint),
      StringFlag("queries", "EP", "Worker endpoint that answers queries.",
                 &options.queries_endpoint),
      StringFlag("log-level", "LEVEL",
                 "Operator log level on stderr: error, warn, info or debug.",
                 &options.log_level),
      StringFlag("server-key", "FILE",
                 "The worker's public key file: talk CURVE to it (with "
                 "--client-key).",
                 &options.server_key_file, "none"),
      StringFlag("client-key", "FILE",
                 "This client's secret key file (keygen's PATH_secret).",
                 &options.client_key_file, "none"),
  };
}

void PrintMainHelp(std::span<const Flag> flags) {
  std::printf(
      "Usage: %.*s [global flags] SUBCOMMAND [flags]\n\n"
      "A client of the wallet worker. Exit codes: 0 success, 1 rejected or "
      "failed,\n2 bad flags, 3 timed out.\n\nSubcommands:\n",
      static_cast<int>(kProgramName.size()), kProgramName.data());
  for (const Subcommand& command : kSubcommands) {
    std::printf("  %-9.*s %.*s\n", static_cast<int>(command.name.size()),
                command.name.data(), static_cast<int>(command.summary.size()),
                command.summary.data());
  }
  std::printf("\nGlobal flags (before the subcommand):\n");
  PrintFlagHelp(stdout, flags);
  std::printf("\nRun '%.*s SUBCOMMAND --help' for its flags.\n",
              static_cast<int>(kProgramName.size()), kProgramName.data());
}

const Subcommand* FindSubcommand(std::string_view name) {
  for (const Subcommand& command : kSubcommands) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

std::optional<std::string> ApplyLogLevel(const GlobalOptions& options) {
  LogLevel level = LogLevel::kInfo;
  if (!ParseLogLevel(options.log_level.c_str(), level)) {
    return "bad value '" + options.log_level +
           "' for --log-level: want error, warn, info or debug";
  }
  SetLogLevel(level);
  return std::nullopt;
}

int Main(std::span<char* const> args) {
  GlobalOptions options;
  const std::vector<Flag> flags = GlobalFlags(options);
  std::size_t index = 0;
  const FlagParseResult parsed =
      ParseFlags(flags, args, index, /*stop_at_positional=*/true);
  if (parsed.help) {
    PrintMainHelp(flags);
    return kExitOk;
  }
  if (parsed.error) return UsageError("", *parsed.error);
  if (const auto error = ApplyLogLevel(options)) return UsageError("", *error);
  if (index == args.size()) return UsageError("", "missing subcommand");

  const Subcommand* command = FindSubcommand(args[index]);
  if (command == nullptr) {
    return UsageError("",
                      "unknown subcommand '" + std::string(args[index]) + "'");
  }
  ClientSecurity security;
  if (options.server_key_file.empty() != options.client_key_file.empty()) {
    return UsageError("", "--server-key and --client-key go together");
  }
  if (!options.server_key_file.empty()) {
    std::string error;
    if (!LoadClientSecurity(options.server_key_file, options.client_key_file,
                            security, error)) {
      PrintError("", error);
      return kExitFailure;
    }
  }
  InstallStopSignalHandlers();
  zmq::context_t zmq_context(1);
  const ProgramContext context{options, security, zmq_context};
  return command->run(context, args.subspan(index + 1));
}

}  // namespace
}  // namespace wallet::producer

int main(int argc, char** argv) {
  const std::span<char* const> args(argv + 1,
                                    static_cast<std::size_t>(argc - 1));
  return wallet::producer::Main(args);
}
