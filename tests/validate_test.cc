// Field rules of protocol v1 (common/validate.h): each predicate's length
// bounds, exactly its charset, and well-formed UTF-8.
#include "common/validate.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/protocol.h"

namespace wallet {
namespace {

using Predicate = bool (*)(std::string_view);

// One input to one predicate and the answer the protocol requires.
struct RuleCase {
  std::string name;
  Predicate rule;
  std::string text;
  bool valid;
};

void PrintTo(const RuleCase& c, std::ostream* os) { *os << c.name; }

std::string Repeat(std::string_view unit, std::size_t times) {
  std::string text;
  for (std::size_t i = 0; i < times; ++i) text.append(unit);
  return text;
}

std::vector<RuleCase> LengthCases() {
  const std::string a = "a";
  return {
      {"key_empty", IsValidKey, "", false},
      {"key_1_byte", IsValidKey, a, true},
      {"key_at_max", IsValidKey, Repeat(a, kKeyBytesMax), true},
      {"key_over_max", IsValidKey, Repeat(a, kKeyBytesMax + 1), false},
      {"user_empty", IsValidUser, "", false},
      {"user_1_byte", IsValidUser, a, true},
      {"user_at_max", IsValidUser, Repeat(a, kUserBytesMax), true},
      {"user_over_max", IsValidUser, Repeat(a, kUserBytesMax + 1), false},
      {"currency_empty", IsValidCurrency, "", false},
      {"currency_1_byte", IsValidCurrency, a, true},
      {"currency_at_max", IsValidCurrency, Repeat(a, kCurrencyBytesMax), true},
      {"currency_over_max", IsValidCurrency, Repeat(a, kCurrencyBytesMax + 1),
       false},
      {"source_empty", IsValidSource, "", false},
      {"source_1_byte", IsValidSource, a, true},
      {"source_at_max", IsValidSource, Repeat(a, kSourceBytesMax), true},
      {"source_over_max", IsValidSource, Repeat(a, kSourceBytesMax + 1), false},
      {"ref_empty", IsValidRef, "", true},
      {"ref_at_max", IsValidRef, Repeat(a, kRefBytesMax), true},
      {"ref_over_max", IsValidRef, Repeat(a, kRefBytesMax + 1), false},
      // The limit counts bytes, not characters.
      {"ref_at_max_in_2_byte_chars", IsValidRef,
       Repeat("\xc3\xa9", kRefBytesMax / 2), true},
      {"ref_over_max_in_2_byte_chars", IsValidRef,
       Repeat("\xc3\xa9", kRefBytesMax / 2) + a, false},
      {"ref_at_max_ending_in_2_byte_char", IsValidRef,
       Repeat(a, kRefBytesMax - 2) + "\xc3\xa9", true},
      {"ref_over_max_ending_in_2_byte_char", IsValidRef,
       Repeat(a, kRefBytesMax - 1) + "\xc3\xa9", false},
  };
}

std::vector<RuleCase> RefContentCases() {
  return {
      {"ref_printable_ascii", IsValidRef, "order #77 (retry)", true},
      {"ref_space_only", IsValidRef, " ", true},
      {"ref_multibyte_text", IsValidRef,
       "\xe6\x97\xa5\xe6\x9c\xac \xe2\x82\xac \xf0\x9f\x8e\xae", true},
      {"ref_nul", IsValidRef, std::string(1, '\0'), false},
      {"ref_tab", IsValidRef, "a\tb", false},
      {"ref_newline", IsValidRef, "a\nb", false},
      {"ref_unit_separator", IsValidRef, "a\x1f", false},
      {"ref_del", IsValidRef, "a\x7f", false},
      {"ref_invalid_utf8", IsValidRef, "a\xc3(", false},
      {"ref_lone_continuation", IsValidRef, "\x80", false},
      {"ref_surrogate", IsValidRef, "\xed\xa0\x80", false},
  };
}

std::vector<RuleCase> Utf8Cases() {
  return {
      {"utf8_empty", IsValidUtf8, "", true},
      {"utf8_ascii", IsValidUtf8, "plain", true},
      {"utf8_nul_is_well_formed", IsValidUtf8, std::string(1, '\0'), true},
      {"utf8_2_byte", IsValidUtf8, "caf\xc3\xa9", true},
      {"utf8_3_byte", IsValidUtf8, "\xe2\x82\xac", true},
      {"utf8_4_byte", IsValidUtf8, "\xf0\x9f\x98\x80", true},
      {"utf8_mixed_lengths", IsValidUtf8,
       "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", true},
      // The smallest and largest code point of each length.
      {"utf8_min_2_byte_u0080", IsValidUtf8, "\xc2\x80", true},
      {"utf8_max_2_byte_u07ff", IsValidUtf8, "\xdf\xbf", true},
      {"utf8_min_3_byte_u0800", IsValidUtf8, "\xe0\xa0\x80", true},
      {"utf8_max_3_byte_uffff", IsValidUtf8, "\xef\xbf\xbf", true},
      {"utf8_min_4_byte_u10000", IsValidUtf8, "\xf0\x90\x80\x80", true},
      {"utf8_max_code_point_u10ffff", IsValidUtf8, "\xf4\x8f\xbf\xbf", true},
      // Overlongs: a shorter form exists.
      {"utf8_overlong_nul_c0_80", IsValidUtf8, "\xc0\x80", false},
      {"utf8_overlong_slash_c0_af", IsValidUtf8, "\xc0\xaf", false},
      {"utf8_overlong_c1_bf", IsValidUtf8, "\xc1\xbf", false},
      {"utf8_overlong_3_byte_u07ff", IsValidUtf8, "\xe0\x9f\xbf", false},
      {"utf8_overlong_3_byte_nul", IsValidUtf8, "\xe0\x80\x80", false},
      {"utf8_overlong_4_byte_uffff", IsValidUtf8, "\xf0\x8f\xbf\xbf", false},
      {"utf8_overlong_4_byte_nul", IsValidUtf8, "\xf0\x80\x80\x80", false},
      // UTF-16 surrogates are not characters.
      {"utf8_surrogate_first_ud800", IsValidUtf8, "\xed\xa0\x80", false},
      {"utf8_surrogate_last_udfff", IsValidUtf8, "\xed\xbf\xbf", false},
      {"utf8_surrogate_pair", IsValidUtf8, "\xed\xa0\xbd\xed\xb8\x80", false},
      {"utf8_before_surrogates_ud7ff", IsValidUtf8, "\xed\x9f\xbf", true},
      {"utf8_after_surrogates_ue000", IsValidUtf8, "\xee\x80\x80", true},
      // Truncated sequences, at the end and before another character.
      {"utf8_truncated_2_of_2", IsValidUtf8, "\xc3", false},
      {"utf8_truncated_3_of_3", IsValidUtf8, "\xe2\x82", false},
      {"utf8_truncated_4_of_4", IsValidUtf8, "\xf0\x9f\x98", false},
      {"utf8_truncated_then_ascii", IsValidUtf8,
       "\xe2\x82"
       "a",
       false},
      {"utf8_lone_continuation", IsValidUtf8, "a\x80", false},
      {"utf8_extra_continuation", IsValidUtf8, "\xc3\xa9\xa9", false},
      // Beyond U+10FFFF and lead bytes that never occur.
      {"utf8_above_max_u110000", IsValidUtf8, "\xf4\x90\x80\x80", false},
      {"utf8_lead_f5", IsValidUtf8, "\xf5\x80\x80\x80", false},
      {"utf8_lead_f7_max", IsValidUtf8, "\xf7\xbf\xbf\xbf", false},
      {"utf8_5_byte_form", IsValidUtf8, "\xf8\x88\x80\x80\x80", false},
      {"utf8_6_byte_form", IsValidUtf8, "\xfc\x84\x80\x80\x80\x80", false},
      {"utf8_byte_fe", IsValidUtf8, "\xfe", false},
      {"utf8_byte_ff", IsValidUtf8, "\xff", false},
  };
}

std::vector<RuleCase> AllRuleCases() {
  std::vector<RuleCase> cases = LengthCases();
  for (auto* more : {RefContentCases, Utf8Cases}) {
    for (RuleCase& c : more()) cases.push_back(std::move(c));
  }
  return cases;
}

class FieldRuleAnswers : public ::testing::TestWithParam<RuleCase> {};

TEST_P(FieldRuleAnswers, AsTheProtocolRequires) {
  const RuleCase& c = GetParam();
  EXPECT_EQ(c.rule(c.text), c.valid);
}

INSTANTIATE_TEST_SUITE_P(Table, FieldRuleAnswers,
                         ::testing::ValuesIn(AllRuleCases()),
                         ::testing::PrintToStringParamName());

// A predicate and every byte it accepts in a one-byte string; all 256
// byte values are tried, so a widened or narrowed charset fails.
struct CharsetCase {
  std::string name;
  Predicate rule;
  std::string allowed;
};

void PrintTo(const CharsetCase& c, std::ostream* os) { *os << c.name; }

std::string ByteRange(char first, char last) {
  std::string bytes;
  for (char c = first; c <= last; ++c) bytes.push_back(c);
  return bytes;
}

std::vector<CharsetCase> CharsetCases() {
  const std::string alnum =
      ByteRange('A', 'Z') + ByteRange('a', 'z') + ByteRange('0', '9');
  const std::string id_chars = alnum + "._:@-";
  return {
      {"key_printable_ascii_without_space", IsValidKey, ByteRange('!', '~')},
      {"user_id_chars", IsValidUser, id_chars},
      {"source_id_chars", IsValidSource, id_chars},
      {"currency_alnum_and_underscore", IsValidCurrency, alnum + "_"},
      // A single byte is UTF-8 only below 0x80.
      {"ref_printable_ascii_with_space", IsValidRef, ByteRange(' ', '~')},
  };
}

class FieldRuleCharset : public ::testing::TestWithParam<CharsetCase> {};

TEST_P(FieldRuleCharset, AcceptsExactlyItsBytes) {
  const CharsetCase& c = GetParam();
  for (int value = 0; value <= 0xff; ++value) {
    const std::string text(1, static_cast<char>(value));
    const bool allowed = c.allowed.find(text) != std::string::npos;
    EXPECT_EQ(c.rule(text), allowed) << "byte 0x" << std::hex << value;
  }
}

INSTANTIATE_TEST_SUITE_P(Table, FieldRuleCharset,
                         ::testing::ValuesIn(CharsetCases()),
                         ::testing::PrintToStringParamName());

}  // namespace
}  // namespace wallet
