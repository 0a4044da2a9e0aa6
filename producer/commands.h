// The subcommands of wallet-producer and what they share: the parsed
// global options, the ZeroMQ context, exit codes and the help/usage
// conventions.
//
// Each Run* function parses its own flags from `args` (the arguments after
// the subcommand name), owns every socket it opens, and returns the
// process exit code.
#pragma once

#include <zmq.hpp>

#include <optional>
#include <span>
#include <string_view>

#include "producer/flags.h"
#include "producer/producer_options.h"

namespace wallet::producer {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // Rejected, FAIL, or an error.
inline constexpr int kExitUsage = 2;    // Bad flags.
inline constexpr int kExitTimeout = 3;  // No answer in time.

inline constexpr std::string_view kProgramName = "wallet-producer";

struct ProgramContext {
  const GlobalOptions& global;
  // CURVE credentials from --server-key and --client-key; empty (plain
  // TCP) without them. Every socket a subcommand opens uses them.
  const ClientSecurity& security;
  // Shared by every socket of the process; sockets stay per thread.
  zmq::context_t& zmq;
};

int RunSend(const ProgramContext& context, std::span<char* const> args);
int RunBalance(const ProgramContext& context, std::span<char* const> args);
int RunHistory(const ProgramContext& context, std::span<char* const> args);
int RunWatch(const ProgramContext& context, std::span<char* const> args);
int RunLoad(const ProgramContext& context, std::span<char* const> args);
int RunAudit(const ProgramContext& context, std::span<char* const> args);
int RunKeygen(const ProgramContext& context, std::span<char* const> args);

// What --help prints above a subcommand's flags.
struct CommandHelp {
  std::string_view name;      // "send"
  std::string_view synopsis;  // "--user U --currency C --amount N [...]"
  std::string_view about;     // A paragraph; wrapped when printed.
};

// Parses a subcommand's flags. Returns an exit code when the command
// should end now (help printed: 0; bad flags reported: 2).
std::optional<int> ParseCommandFlags(const CommandHelp& help,
                                     std::span<const Flag> flags,
                                     std::span<char* const> args);

// Reports a bad flag or flag combination on stderr; returns kExitUsage.
int UsageError(std::string_view command, std::string_view message);

// Reports a runtime failure on stderr, e.g. "wallet-producer send: ...".
void PrintError(std::string_view command, std::string_view message);

}  // namespace wallet::producer
