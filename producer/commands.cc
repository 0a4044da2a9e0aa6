#include "producer/commands.h"

#include <cstdio>
#include <string>

namespace wallet::producer {
namespace {

void PrintCommandHelp(const CommandHelp& help, std::span<const Flag> flags) {
  std::printf("Usage: %.*s [global flags] %.*s %.*s\n\n",
              static_cast<int>(kProgramName.size()), kProgramName.data(),
              static_cast<int>(help.name.size()), help.name.data(),
              static_cast<int>(help.synopsis.size()), help.synopsis.data());
  PrintWrapped(stdout, "", help.about);
  std::printf("\nFlags:\n");
  PrintFlagHelp(stdout, flags);
}

}  // namespace

std::optional<int> ParseCommandFlags(const CommandHelp& help,
                                     std::span<const Flag> flags,
                                     std::span<char* const> args) {
  std::size_t index = 0;
  const FlagParseResult parsed =
      ParseFlags(flags, args, index, /*stop_at_positional=*/false);
  if (parsed.help) {
    PrintCommandHelp(help, flags);
    return kExitOk;
  }
  if (parsed.error) return UsageError(help.name, *parsed.error);
  return std::nullopt;
}

int UsageError(std::string_view command, std::string_view message) {
  PrintError(command, message);
  std::string hint(kProgramName);
  if (!command.empty()) hint.append(" ").append(command);
  std::fprintf(stderr, "Run '%s --help' for the flags.\n", hint.c_str());
  return kExitUsage;
}

void PrintError(std::string_view command, std::string_view message) {
  std::fprintf(stderr, "%.*s%s%.*s: %.*s\n",
               static_cast<int>(kProgramName.size()), kProgramName.data(),
               command.empty() ? "" : " ", static_cast<int>(command.size()),
               command.data(), static_cast<int>(message.size()),
               message.data());
}

}  // namespace wallet::producer
