// Exact rationals: parsing what users type and printing it back (engine/rational.hpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/rational.hpp"

namespace ddx {
namespace {

Rational ratio(long num, long den) { return Rational(num, den); }

Integer power_of_two(unsigned exponent) {
  Integer r = 1;
  r <<= exponent;
  return r;
}

struct ParseCase {
  std::string text;
  Rational expected;
};

class ParseRational : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseRational, IsExact) {
  const auto& c = GetParam();
  EXPECT_EQ(parse_rational(c.text), c.expected) << "'" << c.text << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Texts, ParseRational,
    ::testing::Values(ParseCase{"2", 2}, ParseCase{"0", 0}, ParseCase{"-0", 0}, ParseCase{"+3", 3},
                      ParseCase{"-0.1", ratio(-1, 10)}, ParseCase{"0.1", ratio(1, 10)},
                      ParseCase{"1e-3", ratio(1, 1000)}, ParseCase{"2.5E+10", Rational(25000000000LL)},
                      ParseCase{"1E2", 100}, ParseCase{"1/3", ratio(1, 3)}, ParseCase{"-7/2", ratio(-7, 2)},
                      ParseCase{"6/4", ratio(3, 2)}, ParseCase{"0.5/0.25", 2}, ParseCase{"1 / 3", ratio(1, 3)},
                      ParseCase{"  42  ", 42}, ParseCase{".5", ratio(1, 2)}, ParseCase{"5.", 5},
                      ParseCase{"007", 7}, ParseCase{"1.25e-1", ratio(1, 8)},
                      // A decimal is exact: 0.1 + 0.2 = 0.3 as rationals.
                      ParseCase{"0.30000000000000000000000000000001",
                                Rational(Integer("30000000000000000000000000000001"),
                                         Integer("100000000000000000000000000000000"))}));

TEST(ParseRational, DecimalsAreExactNotRounded) {
  EXPECT_EQ(parse_rational("0.1") + parse_rational("0.2"), parse_rational("0.3"));
}

TEST(ParseRational, LargeExponentsWithinTheLimitAreExact) {
  Integer ten_to_300 = 1;
  for (int i = 0; i < 300; ++i) ten_to_300 *= 10;
  EXPECT_EQ(parse_rational("1e300"), Rational(ten_to_300));
  EXPECT_EQ(parse_rational("1e-300"), Rational(Integer(1), ten_to_300));
}

class ParseRationalRejects : public ::testing::TestWithParam<std::string> {};

TEST_P(ParseRationalRejects, WithAMessageNamingTheText) {
  const std::string& text = GetParam();
  try {
    (void)parse_rational(text);
    FAIL() << "'" << text << "' was accepted";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'" + text + "'"), std::string::npos) << message;
  }
}

INSTANTIATE_TEST_SUITE_P(Texts, ParseRationalRejects,
                         ::testing::Values("", "   ", "abc", "1e", "1e+", "1.2.3", "--1", "1 2", "1/0", "1/",
                                           "/2", "0x10", "1,5", "nan", "NaN", "-nan", "inf", "-inf", "+Inf",
                                           "infinity", "-Infinity", "1e10001", "1e-10001", "e5", "."));

TEST(ParseRationalRejects, NanAndInfinitySayWhy) {
  for (const char* text : {"nan", "inf", "-Infinity"}) {
    try {
      (void)parse_rational(text);
      FAIL() << text << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("finite"), std::string::npos) << e.what();
    }
  }
}

TEST(RationalToString, IntegersFractionsAndTerminatingDecimals) {
  EXPECT_EQ(to_string(Rational(3)), "3");
  EXPECT_EQ(to_string(Rational(0)), "0");
  EXPECT_EQ(to_string(Rational(-5)), "-5");
  EXPECT_EQ(to_string(ratio(-1, 3)), "-1/3");
  EXPECT_EQ(to_string(ratio(2, 7)), "2/7");
  EXPECT_EQ(to_string(ratio(1, 10)), "0.1");
  EXPECT_EQ(to_string(ratio(-1, 8)), "-0.125");
  EXPECT_EQ(to_string(ratio(5, 2)), "2.5");
  EXPECT_EQ(to_string(ratio(-7, 2)), "-3.5");
  EXPECT_EQ(to_string(ratio(1, 1024)), "0.0009765625");
  EXPECT_EQ(to_string(ratio(123, 100)), "1.23");
  EXPECT_EQ(to_string(ratio(1, 6)), "1/6");  // 6 = 2·3 does not terminate
}

// A denominator of 10000 digits is printed without dividing out its 10000
// factors of 2 and 5 one at a time (the fuzzer found `16e-9204` taking seconds).
TEST(RationalToString, HugeDenominatorsArePromptAndExact) {
  EXPECT_EQ(to_string(parse_rational("1e-10000")), "1/1" + std::string(10000, '0'));
  EXPECT_EQ(to_string(parse_rational("16e-9204")),
            "1/" + Integer(boost::multiprecision::pow(Integer(10), 9204) / 16).str());
  EXPECT_EQ(to_string(parse_rational("1e-30")), "0." + std::string(29, '0') + "1");
  EXPECT_EQ(to_string(parse_rational("1e-31")), "1/1" + std::string(31, '0'));
}

TEST(RationalToString, ReadsBackAsTheSameValue) {
  const std::vector<Rational> values{
      ratio(1, 3),  ratio(-22, 7), ratio(1, 1000000), ratio(-999, 1000), Rational(Integer(1), power_of_two(40)),
      Rational(Integer(-3), power_of_two(64)), Rational(power_of_two(100) + 1), ratio(7, 5 * 5 * 5 * 5 * 5 * 5)};
  for (const Rational& r : values) EXPECT_EQ(parse_rational(to_string(r)), r) << to_string(r);
}

TEST(RationalToLatex, FractionsUseFrac) {
  EXPECT_EQ(to_latex(Rational(3)), "3");
  EXPECT_EQ(to_latex(ratio(1, 10)), "0.1");
  EXPECT_EQ(to_latex(ratio(-1, 3)), "-\\frac{1}{3}");
  EXPECT_EQ(to_latex(ratio(22, 7)), "\\frac{22}{7}");
}

}  // namespace
}  // namespace ddx
