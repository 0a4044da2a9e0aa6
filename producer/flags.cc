#include "producer/flags.h"

#include <charconv>
#include <set>

namespace wallet::producer {
namespace {

constexpr std::string_view kFlagPrefix = "--";
// Help text is wrapped to fit a terminal of this width.
constexpr std::size_t kHelpColumns = 79;
constexpr std::string_view kHelpIndent = "      ";

std::optional<std::string> MissingValue(std::string_view name) {
  return "flag --" + std::string(name) + " needs a value";
}

const Flag* FindFlag(std::span<const Flag> flags, std::string_view name) {
  for (const Flag& flag : flags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

bool IsFlagLike(std::string_view arg) { return arg.starts_with(kFlagPrefix); }

// Splits "--name=value" into its parts; `value` is nullopt without '='.
void SplitArg(std::string_view arg, std::string_view& name,
              std::optional<std::string_view>& value) {
  arg.remove_prefix(kFlagPrefix.size());
  const std::size_t equals = arg.find('=');
  if (equals == std::string_view::npos) {
    name = arg;
    value = std::nullopt;
    return;
  }
  name = arg.substr(0, equals);
  value = arg.substr(equals + 1);
}

// Takes the flag's value from `=value` or the next argument, by arity.
std::optional<std::string> ApplyFlag(
    const Flag& flag, std::optional<std::string_view> inline_value,
    std::span<char* const> args, std::size_t& index) {
  std::optional<std::string_view> value = inline_value;
  if (flag.arity == FlagArity::kNone) {
    if (value) return "flag --" + std::string(flag.name) + " takes no value";
    return flag.store(std::nullopt);
  }
  const bool next_is_value = index < args.size() && !IsFlagLike(args[index]);
  if (!value && flag.arity == FlagArity::kRequired) {
    if (index >= args.size()) return MissingValue(flag.name);
    value = args[index++];
  } else if (!value && next_is_value) {
    value = args[index++];
  }
  return flag.store(value);
}

std::optional<std::string> CheckRequired(
    std::span<const Flag> flags, const std::set<std::string_view>& seen) {
  for (const Flag& flag : flags) {
    if (flag.required && !seen.contains(flag.name)) {
      return "missing required flag --" + std::string(flag.name);
    }
  }
  return std::nullopt;
}

std::string BadValue(std::string_view name, std::string_view value,
                     std::string_view rule) {
  return "bad value '" + std::string(value) + "' for --" + std::string(name) +
         ": " + std::string(rule);
}

}  // namespace

std::optional<std::int64_t> ParseInt64(std::string_view text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

Flag StringFlag(std::string_view name, std::string_view value_name,
                std::string_view help, std::string* target,
                std::string_view default_text) {
  Flag flag;
  flag.name = name;
  flag.value_name = value_name;
  flag.help = help;
  flag.default_text =
      default_text.empty() ? "\"" + *target + "\"" : std::string(default_text);
  flag.store = [target](std::optional<std::string_view> value) {
    target->assign(*value);
    return std::optional<std::string>();
  };
  return flag;
}

Flag RequiredStringFlag(std::string_view name, std::string_view value_name,
                        std::string_view help, std::string* target) {
  Flag flag = StringFlag(name, value_name, help, target, "none, required");
  flag.required = true;
  return flag;
}

Flag IntFlag(std::string_view name, std::string_view value_name,
             std::string_view help, std::int64_t* target, std::int64_t min,
             std::int64_t max, std::string_view default_text) {
  Flag flag;
  flag.name = name;
  flag.value_name = value_name;
  flag.help = help;
  flag.default_text = default_text.empty() ? std::to_string(*target)
                                           : std::string(default_text);
  flag.store =
      [name, target, min, max](
          std::optional<std::string_view> value) -> std::optional<std::string> {
    const std::optional<std::int64_t> parsed = ParseInt64(*value);
    if (!parsed || *parsed < min || *parsed > max) {
      const bool any = min == INT64_MIN && max == INT64_MAX;
      return BadValue(name, *value,
                      any ? std::string("want an integer")
                          : "want an integer in " + std::to_string(min) + ".." +
                                std::to_string(max));
    }
    *target = *parsed;
    return std::nullopt;
  };
  return flag;
}

Flag RequiredIntFlag(std::string_view name, std::string_view value_name,
                     std::string_view help, std::int64_t* target,
                     std::int64_t min, std::int64_t max) {
  Flag flag =
      IntFlag(name, value_name, help, target, min, max, "none, required");
  flag.required = true;
  return flag;
}

Flag SwitchFlag(std::string_view name, std::string_view help, bool* target) {
  Flag flag;
  flag.name = name;
  flag.help = help;
  flag.arity = FlagArity::kNone;
  flag.default_text = *target ? "on" : "off";
  flag.store = [target](std::optional<std::string_view>) {
    *target = true;
    return std::optional<std::string>();
  };
  return flag;
}

Flag OptionalValueFlag(std::string_view name, std::string_view value_name,
                       std::string_view help,
                       std::optional<std::string>* target,
                       std::string_view default_text) {
  Flag flag;
  flag.name = name;
  flag.value_name = value_name;
  flag.help = help;
  flag.arity = FlagArity::kOptional;
  flag.default_text = default_text;
  flag.store = [target](std::optional<std::string_view> value) {
    *target = std::string(value.value_or(""));
    return std::optional<std::string>();
  };
  return flag;
}

FlagParseResult ParseFlags(std::span<const Flag> flags,
                           std::span<char* const> args, std::size_t& index,
                           bool stop_at_positional) {
  FlagParseResult result;
  std::set<std::string_view> seen;
  while (index < args.size()) {
    const std::string_view arg = args[index];
    if (arg == "--help" || arg == "-h") {
      result.help = true;
      return result;
    }
    if (!IsFlagLike(arg)) {
      if (stop_at_positional) break;
      result.error = "unexpected argument '" + std::string(arg) + "'";
      return result;
    }
    std::string_view name;
    std::optional<std::string_view> inline_value;
    SplitArg(arg, name, inline_value);
    const Flag* flag = FindFlag(flags, name);
    if (flag == nullptr) {
      result.error = "unknown flag --" + std::string(name);
      return result;
    }
    ++index;
    result.error = ApplyFlag(*flag, inline_value, args, index);
    if (result.error) return result;
    seen.insert(flag->name);
  }
  result.error = CheckRequired(flags, seen);
  return result;
}

void PrintWrapped(std::FILE* out, std::string_view indent,
                  std::string_view text) {
  std::string line(indent);
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view()
                                           : text.substr(space + 1);
    if (line.size() > indent.size() &&
        line.size() + 1 + word.size() > kHelpColumns) {
      std::fprintf(out, "%s\n", line.c_str());
      line.assign(indent);
    }
    if (line.size() > indent.size()) line.push_back(' ');
    line.append(word);
  }
  std::fprintf(out, "%s\n", line.c_str());
}

void PrintFlagHelp(std::FILE* out, std::span<const Flag> flags) {
  for (const Flag& flag : flags) {
    std::string usage = "  --" + std::string(flag.name);
    if (flag.arity == FlagArity::kRequired) {
      usage += " " + std::string(flag.value_name);
    } else if (flag.arity == FlagArity::kOptional) {
      usage += " [" + std::string(flag.value_name) + "]";
    }
    std::fprintf(out, "%s\n", usage.c_str());
    PrintWrapped(
        out, kHelpIndent,
        std::string(flag.help) + " Default: " + flag.default_text + ".");
  }
  std::fprintf(out, "  --help\n%sPrint this help and exit.\n",
               std::string(kHelpIndent).c_str());
}

}  // namespace wallet::producer
