// The scalar types ddx evaluates at, and exact conversions between them and
// rationals (engine/scalar.hpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "engine/scalar.hpp"
#include "ulps.hpp"

namespace ddx {
namespace {

constexpr Precision kAllPrecisions[] = {Precision::Float, Precision::Double, Precision::LongDouble,
                                        Precision::Digits50, Precision::Digits100};

// A finite double with a random sign, exponent and mantissa, straight from the generator's bits.
double random_finite_double(std::mt19937_64& rng) {
  while (true) {
    const std::uint64_t bits = rng();
    double x;
    std::memcpy(&x, &bits, sizeof x);
    if (std::isfinite(x)) return x;
  }
}

Integer power_of_two(unsigned exponent) {
  Integer r = 1;
  r <<= exponent;
  return r;
}

TEST(Precision, NamesReadBack) {
  for (Precision p : kAllPrecisions) EXPECT_EQ(parse_precision(name_of(p)), p) << name_of(p);
  EXPECT_EQ(name_of(Precision::LongDouble), "long-double");
  EXPECT_EQ(name_of(Precision::Digits50), "50");
  EXPECT_EQ(describe(Precision::Digits100), "100-digit");
}

TEST(Precision, UnknownNameListsTheValidOnes) {
  try {
    (void)parse_precision("quad");
    FAIL() << "'quad' was accepted";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'quad'"), std::string::npos) << message;
    for (Precision p : kAllPrecisions) EXPECT_NE(message.find(name_of(p)), std::string::npos) << message;
  }
}

TEST(Precision, WithScalarCallsWithTheMatchingType) {
  for (Precision p : kAllPrecisions) {
    const Precision seen = with_scalar(p, [](auto tag) { return precision_of<typename decltype(tag)::type>(); });
    EXPECT_EQ(seen, p) << name_of(p);
  }
}

TEST(ToRational, IsTheExactBinaryValue) {
  EXPECT_EQ(to_rational(0.5), Rational(1, 2));
  EXPECT_EQ(to_rational(-0.75), Rational(-3, 4));
  EXPECT_EQ(to_rational(0.0), Rational(0));
  EXPECT_EQ(to_rational(3.0f), Rational(3));
  // The double nearest 0.1 is 3602879701896397 / 2^55.
  EXPECT_EQ(to_rational(0.1), Rational(Integer(3602879701896397LL), power_of_two(55)));
  EXPECT_EQ(to_rational(std::numeric_limits<double>::denorm_min()), Rational(Integer(1), power_of_two(1074)));
  EXPECT_EQ(to_rational(-std::ldexp(1.0, 600)), Rational(-power_of_two(600)));
  // long double keeps 64 mantissa bits.
  const long double fine = 1.0L + std::ldexp(1.0L, -63);
  EXPECT_EQ(to_rational(fine), Rational(power_of_two(63) + 1, power_of_two(63)));
}

TEST(ToRational, RoundTripsThroughToScalarAtEveryWidth) {
  std::mt19937_64 rng(20240611);
  for (int i = 0; i < 2000; ++i) {
    const double x = random_finite_double(rng);
    const Rational r = to_rational(x);
    EXPECT_EQ(to_scalar<double>(r), x) << format_scalar(x);
    EXPECT_EQ(to_rational(static_cast<long double>(x)), r);
    EXPECT_EQ(to_rational(Float50(x)), r);
    EXPECT_EQ(to_rational(Float100(x)), r);
    EXPECT_EQ(to_scalar<Float50>(r), Float50(x));
  }
}

TEST(ToScalar, RoundsToNearest) {
  EXPECT_EQ(to_scalar<double>(Rational(1, 10)), 0.1);
  EXPECT_EQ(to_scalar<double>(Rational(1, 3)), 1.0 / 3.0);
  EXPECT_EQ(to_scalar<float>(Rational(1, 3)), 1.0f / 3.0f);
  EXPECT_EQ(to_scalar<Float50>(Rational(2, 7)), Float50(2) / Float50(7));
  EXPECT_EQ(to_scalar<Float100>(Rational(-5, 11)), Float100(-5) / Float100(11));
}

// Rounding first to 100 digits and then to double rounds twice. A rational a
// hair above the midpoint between two doubles must round up; rounded to 100
// digits first it lands exactly on the midpoint and ties-to-even rounds it down.
TEST(ToScalar, IsCorrectlyRoundedJustAboveAMidpoint) {
  const Rational just_above_midpoint =
      Rational(1) + Rational(Integer(1), power_of_two(53)) + Rational(Integer(1), power_of_two(400));
  EXPECT_EQ(to_scalar<double>(just_above_midpoint), 1.0 + std::ldexp(1.0, -52))
      << "to_scalar<double> rounds via Float100 and lands on the tie";
}

// Below the normal range Boost's conversion can land one step off the
// nearest subnormal; to_scalar picks the nearest by exact comparison, ties to
// even. Checked on values e^(−x) that fall among the subnormals, against
// the neighbour comparison of tests/ulps.hpp, and on exact ties.
template <class T> void expect_subnormals_rounded_to_nearest(double from, double step) {
  for (int i = 0; i < 2000; ++i) {
    const Float100 v = exp(Float100(-(from + i * step)));
    const T got = to_scalar<T>(to_rational(v));
    EXPECT_EQ(got, correctly_rounded<T>(v)) << v.str(30);
  }
  const T tiny = std::numeric_limits<T>::denorm_min();
  EXPECT_EQ(to_scalar<T>(to_rational(T(2) * tiny) + to_rational(tiny) / 2), T(2) * tiny) << "a tie goes to the even";
  EXPECT_EQ(to_scalar<T>(to_rational(T(3) * tiny) + to_rational(tiny) / 2), T(4) * tiny) << "a tie goes to the even";
  EXPECT_EQ(to_scalar<T>(to_rational(tiny) / 2), T(0)) << "half the smallest subnormal rounds to even: 0";
}
TEST(ToScalar, SubnormalsAreCorrectlyRounded) {
  expect_subnormals_rounded_to_nearest<float>(88.0, 0.0085);    // e^−88 … e^−105: float's subnormals
  expect_subnormals_rounded_to_nearest<double>(709.0, 0.018);   // e^−709 … e^−745: double's
}

TEST(FormatScalar, NonFiniteValues) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(format_scalar(inf), "inf");
  EXPECT_EQ(format_scalar(-inf), "-inf");
  EXPECT_EQ(format_scalar(std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(format_scalar(std::numeric_limits<Float50>::infinity()), "inf");
  EXPECT_EQ(format_scalar(-std::numeric_limits<Float100>::infinity()), "-inf");
  EXPECT_EQ(format_scalar(std::numeric_limits<Float50>::quiet_NaN()), "nan");
}

TEST(FormatScalar, ShortestRoundTripForFloatAndDouble) {
  EXPECT_EQ(format_scalar(0.1), "0.1");
  EXPECT_EQ(format_scalar(0.1f), "0.1");
  EXPECT_EQ(format_scalar(-2.5), "-2.5");
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    const double x = random_finite_double(rng);
    EXPECT_EQ(std::strtod(format_scalar(x).c_str(), nullptr), x) << format_scalar(x);
  }
}

TEST(FormatScalar, LongDoubleReadsBack) {
  const long double x = 1.0L / 3.0L, y = 1.0L + std::ldexp(1.0L, -63);
  EXPECT_EQ(std::strtold(format_scalar(x).c_str(), nullptr), x) << format_scalar(x);
  EXPECT_EQ(std::strtold(format_scalar(y).c_str(), nullptr), y) << format_scalar(y);
}

// The header promises text that reads back as the same value at every precision.
template <class T> void expect_reads_back(const T& x) {
  const std::string text = format_scalar(x);
  EXPECT_EQ(T(text), x) << "format_scalar gave " << text;
}

TEST(FormatScalar, MultiprecisionReadsBack) {
  expect_reads_back(Float50(1) / Float50(3));
  expect_reads_back(Float50(2) / Float50(7));
  expect_reads_back(Float100(1) / Float100(3));
  expect_reads_back(Float100(-10) / Float100(7));
}

TEST(FormatScalar, MultiprecisionShowsFiftyAndHundredDigits) {
  // 1/3 at 50 digits: at least 50 threes after the point.
  const std::string third = format_scalar(Float50(1) / Float50(3));
  EXPECT_NE(third.find("0." + std::string(50, '3')), std::string::npos) << third;
  const std::string third100 = format_scalar(Float100(1) / Float100(3));
  EXPECT_NE(third100.find("0." + std::string(100, '3')), std::string::npos) << third100;
}

}  // namespace
}  // namespace ddx
