#include "common/protocol.h"

#include <array>

namespace wallet {
namespace {

// Wire names, indexed by enum value.
constexpr std::array<std::string_view, kOpCount> kOpNames = {"topup", "reward",
                                                             "spend", "batch"};
constexpr std::array<std::string_view, 3> kStatusNames = {
    "applied", "duplicate", "rejected"};
constexpr std::array<std::string_view,
                     static_cast<std::size_t>(kReasonLast) + 1>
    kReasonNames = {
        "",
        "invalid_command",
        "unsupported_version",
        "unsupported_op",
        "key_conflict",
        "balance_overflow",
        "insufficient_funds",
        "forbidden",
};
constexpr std::array<std::string_view, 8> kFieldNames = {
    "", "op", "user", "currency", "amount", "source", "ref", "legs"};

template <typename Enum, std::size_t N>
std::optional<Enum> ParseName(const std::array<std::string_view, N>& names,
                              std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (!names[i].empty() && names[i] == name) {
      return static_cast<Enum>(i);
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view OpName(Op op) {
  return kOpNames.at(static_cast<std::size_t>(op));
}
std::string_view StatusName(Status status) {
  return kStatusNames.at(static_cast<std::size_t>(status));
}
std::string_view ReasonName(Reason reason) {
  return kReasonNames.at(static_cast<std::size_t>(reason));
}
std::string_view FieldName(Field field) {
  return kFieldNames.at(static_cast<std::size_t>(field));
}

std::optional<Op> ParseOp(std::string_view name) {
  return ParseName<Op>(kOpNames, name);
}
std::optional<Status> ParseStatus(std::string_view name) {
  return ParseName<Status>(kStatusNames, name);
}
std::optional<Reason> ParseReason(std::string_view name) {
  return ParseName<Reason>(kReasonNames, name);
}
std::optional<Field> ParseField(std::string_view name) {
  return ParseName<Field>(kFieldNames, name);
}

std::int64_t SignedDelta(Op op, std::int64_t amount_minor) {
  switch (op) {
    case Op::kTopup:
    case Op::kReward:
      return amount_minor;
    case Op::kSpend:
      return -amount_minor;
    case Op::kBatch:
      break;  // Each leg carries its own delta.
  }
  return 0;
}

std::string ResultTopic(std::string_view source) {
  std::string topic(kResultTopicPrefix);
  topic.append(source);
  topic.push_back('/');
  return topic;
}

std::string BalanceTopic(std::string_view user) {
  std::string topic(kBalanceTopicPrefix);
  topic.append(user);
  topic.push_back('/');
  return topic;
}

}  // namespace wallet
