// Hand-written command-line flags for wallet-producer.
//
// A subcommand declares a table of Flag entries bound to the fields of its
// options struct. The same table parses argv and prints --help, and a
// flag's documented default is read from the field it is bound to, so a
// flag cannot exist without a printed default.
//
// Accepted forms: `--name value`, `--name=value`, and `--name` alone for
// switches and for flags whose value is optional. Errors come back as
// messages for the caller to print; nothing here exits or throws.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace wallet::producer {

enum class FlagArity {
  kNone,      // A switch: `--json`.
  kRequired,  // Always takes a value: `--user U`.
  kOptional,  // Takes a value if one follows: `--results [SOURCE]`.
};

struct Flag {
  std::string_view name;        // Without the leading dashes.
  std::string_view value_name;  // "N", "EP", ...; empty for switches.
  std::string default_text;     // Printed by --help.
  std::string_view help;        // One sentence.
  FlagArity arity = FlagArity::kRequired;
  bool required = false;  // Parsing fails when a required flag is absent.
  // Stores a value (nullopt: flag given without one) or returns why the
  // value is bad.
  std::function<std::optional<std::string>(std::optional<std::string_view>)>
      store;
};

// Builders. `default_text` empty means "print the bound field's value".
Flag StringFlag(std::string_view name, std::string_view value_name,
                std::string_view help, std::string* target,
                std::string_view default_text = {});
Flag RequiredStringFlag(std::string_view name, std::string_view value_name,
                        std::string_view help, std::string* target);
Flag IntFlag(std::string_view name, std::string_view value_name,
             std::string_view help, std::int64_t* target, std::int64_t min,
             std::int64_t max, std::string_view default_text = {});
Flag RequiredIntFlag(std::string_view name, std::string_view value_name,
                     std::string_view help, std::int64_t* target,
                     std::int64_t min, std::int64_t max);
Flag SwitchFlag(std::string_view name, std::string_view help, bool* target);
// `--name` alone sets `target` to "" (meaning "all"); `--name X` to X.
Flag OptionalValueFlag(std::string_view name, std::string_view value_name,
                       std::string_view help,
                       std::optional<std::string>* target,
                       std::string_view default_text);

// What a parse found. `help` is set when --help or -h was given; the
// caller prints help and exits 0 without looking at the other fields.
struct FlagParseResult {
  bool help = false;
  std::optional<std::string> error;
};

// Parses `args` from `index`. With `stop_at_positional`, stops at the first
// argument that is not a flag and leaves `index` on it; otherwise any
// positional argument is an error.
FlagParseResult ParseFlags(std::span<const Flag> flags,
                           std::span<char* const> args, std::size_t& index,
                           bool stop_at_positional);

// Prints every flag, its value name, meaning and default.
void PrintFlagHelp(std::FILE* out, std::span<const Flag> flags);
// Prints `text` word-wrapped, each line starting with `indent`.
void PrintWrapped(std::FILE* out, std::string_view indent,
                  std::string_view text);

// Parses a whole decimal int64; no sign tricks, no trailing bytes.
std::optional<std::int64_t> ParseInt64(std::string_view text);

}  // namespace wallet::producer
