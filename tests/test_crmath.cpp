// The correctly rounded exp and log (engine/math/crmath.hpp): every result is
// compared for equality (no tolerance: correct rounding has exactly one right
// answer) with the true value rounded to nearest, the truth computed at 120
// digits and rounded by comparing neighbours exactly. The samples cover the
// whole domain, the neighbourhood of 1 for log, the subnormal and overflow
// edges, and the arguments whose fast-path test fails (found by search), so
// both the fast path's error bound and the 50-digit path are exercised.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <boost/multiprecision/cpp_bin_float.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "engine/math/crmath.hpp"
#include "ulps.hpp"

namespace ddx {
namespace {

using Big = boost::multiprecision::number<boost::multiprecision::cpp_bin_float<120>>;

template <class T> T true_exp(T x) { return correctly_rounded<T>(exp(Big(x))); }
template <class T> T true_log(T x) { return correctly_rounded<T>(log(Big(x))); }

// Checks f(x) == truth(x) for every x, and the array form against the
// scalar form on the same arguments (and in place); reports the first few
// mismatches.
template <class T, class Scalar, class Array, class Truth>
void expect_correctly_rounded(const std::vector<T>& xs, Scalar scalar, Array array, Truth truth, const char* what) {
  std::vector<T> out(xs.size()), in_place = xs;
  array(xs.data(), out.data(), static_cast<std::int64_t>(xs.size()));
  array(in_place.data(), in_place.data(), static_cast<std::int64_t>(xs.size()));
  int wrong = 0;
  for (std::size_t i = 0; i < xs.size() && wrong < 5; ++i) {
    const T want = truth(xs[i]), got = scalar(xs[i]);
    if (!same(got, want)) {
      ++wrong;
      ADD_FAILURE() << what << "(" << std::hexfloat << xs[i] << ") = " << got << ", correctly rounded " << want;
    }
    if (!same(out[i], got) || !same(in_place[i], got)) {
      ++wrong;
      ADD_FAILURE() << what << " over an array differs from one element at " << std::hexfloat << xs[i] << ": "
                    << out[i] << " (in place " << in_place[i] << ") vs " << got;
    }
  }
}

template <class T> T uniform(std::mt19937_64& rng, T lo, T hi) {
  return std::uniform_real_distribution<T>(lo, hi)(rng);
}

// A positive T with a uniformly random bit pattern below +inf: every binade,
// subnormals included, equally likely.
template <class T> T random_positive(std::mt19937_64& rng) {
  const Bits<T> inf = std::bit_cast<Bits<T>>(std::numeric_limits<T>::infinity());
  return std::bit_cast<T>(static_cast<Bits<T>>(rng() % inf));
}

template <class T> std::vector<T> exp_arguments(std::size_t count) {
  std::mt19937_64 rng(20261122);
  const T lo = std::is_same_v<T, float> ? T(-110) : T(-750), hi = std::is_same_v<T, float> ? T(90) : T(712);
  std::vector<T> xs;
  for (std::size_t i = 0; i < count; ++i) {
    switch (i % 4) {
      case 0: xs.push_back(uniform<T>(rng, lo, hi)); break;    // the whole range, both edges
      case 1: xs.push_back(uniform<T>(rng, T(-20), T(5))); break;  // where softmax logits live
      case 2: xs.push_back(std::ldexp(uniform<T>(rng, T(-1), T(1)), -static_cast<int>(rng() % 60))); break;  // near 0
      default: {  // the subnormal and overflow edges
        const T edge = (rng() & 1) ? (std::is_same_v<T, float> ? T(-87.3) : T(-708.4)) : hi - T(2.5);
        xs.push_back(edge + uniform<T>(rng, T(-20), T(2)));
      }
    }
  }
  return xs;
}

template <class T> std::vector<T> log_arguments(std::size_t count) {
  std::mt19937_64 rng(11222026);
  std::vector<T> xs;
  for (std::size_t i = 0; i < count; ++i) {
    switch (i % 4) {
      case 0: xs.push_back(random_positive<T>(rng)); break;  // every binade, subnormals too
      case 1: xs.push_back(uniform<T>(rng, T(0), T(1))); break;  // probabilities
      case 2: xs.push_back(T(1) + std::ldexp(uniform<T>(rng, T(-1), T(1)), -static_cast<int>(rng() % 40))); break;  // near 1
      default: xs.push_back(uniform<T>(rng, T(1), T(1e4))); break;  // sums of exponentials
    }
  }
  return xs;
}

template <class T> std::vector<T> special_arguments() {
  constexpr T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  constexpr T max = std::numeric_limits<T>::max(), tiny = std::numeric_limits<T>::denorm_min();
  constexpr T min = std::numeric_limits<T>::min();
  return {T(0), -T(0), T(1), T(-1), T(2), T(0.5), inf, -inf, nan, max, -max, tiny, -tiny, min, T(1e-30),
          std::nextafter(T(1), T(0)), std::nextafter(T(1), T(2))};
}

// The scalar and array forms of each function, as the checks take them.
struct Exp {
  static constexpr const char* name = "exp";
  template <class T> static T one(T x) { return cr::exp(x); }
  template <class T> static void array(const T* x, T* out, std::int64_t n) { cr::exp(x, out, n); }
};
struct Log {
  static constexpr const char* name = "log";
  template <class T> static T one(T x) { return cr::log(x); }
  template <class T> static void array(const T* x, T* out, std::int64_t n) { cr::log(x, out, n); }
};

// Both kinds of sample, for the scalar and array forms.
template <class F, class T> void check(std::vector<T> xs, T (*truth)(T)) {
  for (T s : special_arguments<T>()) xs.push_back(s);
  expect_correctly_rounded<T>(xs, F::template one<T>, F::template array<T>, truth, F::name);
}
template <class T> void check_exp(std::size_t count) { check<Exp>(exp_arguments<T>(count), true_exp<T>); }
template <class T> void check_log(std::size_t count) { check<Log>(log_arguments<T>(count), true_log<T>); }

// 40 000 samples each: a few seconds at 120 digits.
TEST(CorrectlyRounded, ExpDouble) { check_exp<double>(40000); }
TEST(CorrectlyRounded, ExpFloat) { check_exp<float>(40000); }
TEST(CorrectlyRounded, LogDouble) { check_log<double>(40000); }
TEST(CorrectlyRounded, LogFloat) { check_log<float>(40000); }

// The array forms take one of three ways by length (one element at a time
// below 4, a padded copy for a short last chunk, whole chunks where they
// lie): every length from 0 to 140, each over a window of arguments that
// starts at a different one of the special values (from inf on, so that even
// the shortest windows hold arguments the fast path sends on to the 50-digit
// path), gives what the scalar form gives, out of place and in place, and
// writes nothing past its n elements.
template <class F, class T> void check_every_length() {
  std::vector<T> pool = special_arguments<T>();
  const std::size_t specials = pool.size();
  const auto inf_at = static_cast<std::size_t>(
      std::find(pool.begin(), pool.end(), std::numeric_limits<T>::infinity()) - pool.begin());
  const std::vector<T> ordinary = exp_arguments<T>(150);
  pool.insert(pool.end(), ordinary.begin(), ordinary.end());
  constexpr T guard = T(-12345);
  for (std::size_t n = 0; n <= 140; ++n) {
    const auto first = pool.begin() + static_cast<std::ptrdiff_t>((inf_at + n) % specials);
    const std::vector<T> xs(first, first + static_cast<std::ptrdiff_t>(n));
    std::vector<T> out(n + 1, guard), in_place = xs;
    F::array(xs.data(), out.data(), static_cast<std::int64_t>(n));
    F::array(in_place.data(), in_place.data(), static_cast<std::int64_t>(n));
    EXPECT_EQ(out.back(), guard) << F::name << " wrote past " << n << " elements";
    for (std::size_t i = 0; i < n; ++i) {
      const T one = F::one(xs[i]);
      EXPECT_TRUE(same(out[i], one) && same(in_place[i], one))
          << F::name << " over " << n << " elements, at " << i << " (" << std::hexfloat << xs[i] << "): " << out[i]
          << " (in place " << in_place[i] << "), one element " << one;
    }
  }
}

TEST(CorrectlyRounded, ArraysOfEveryLengthGiveWhatOneElementGives) {
  check_every_length<Exp, float>();
  check_every_length<Log, float>();
  check_every_length<Exp, double>();
  check_every_length<Log, double>();
}

TEST(CorrectlyRounded, SpecialValues) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(cr::exp(0.0), 1.0);
  EXPECT_EQ(cr::exp(-inf), 0.0);
  EXPECT_EQ(cr::exp(inf), inf);
  EXPECT_EQ(cr::exp(710.0), inf);
  EXPECT_EQ(cr::exp(-746.0), 0.0);
  EXPECT_EQ(cr::exp(-745.0), std::numeric_limits<double>::denorm_min());  // e⁻⁷⁴⁵ ≈ 4.9e−324
  EXPECT_TRUE(std::isnan(cr::exp(std::nan(""))));
  EXPECT_EQ(cr::exp(-100.0f), true_exp(-100.0f)) << "a subnormal float, rounded, not flushed";
  EXPECT_GT(cr::exp(-100.0f), 0.0f);
  EXPECT_TRUE(same(cr::log(1.0), 0.0)) << "log(1) is +0";
  EXPECT_EQ(cr::log(0.0), -inf);
  EXPECT_EQ(cr::log(-0.0), -inf);
  EXPECT_TRUE(std::isnan(cr::log(-1.0)));
  EXPECT_EQ(cr::log(inf), inf);
  EXPECT_TRUE(same(cr::log(1.0f), 0.0f));
  EXPECT_TRUE(std::isnan(cr::log(-0.5f)));
}

// Arguments whose fast-path value lies within its error bound of a midpoint
// are the ones the rounding test sends to the 50-digit path: searched for
// among many arguments (the count of slow-path calls tells which), then
// checked against the truth, one element and as an array (where the AVX-512
// kernels must send them on too). The search also bounds how rare they are:
// with the fast path's test at 2⁻⁷³ and 2⁻⁷⁰ relative (double exp and log),
// about 2⁻²⁰ and 2⁻¹⁷ of the arguments fail it, at 2⁻⁴⁸ and 2⁻⁴⁷ (float)
// about 2⁻²³; more than 2⁻¹² would make exp and log slow (a wrong bound or
// a broken fast path would show here). candidate(i) gives the i-th of count
// arguments.
template <class F, class T, class Candidate>
void check_hard_cases(std::size_t count, Candidate candidate, T (*truth)(T), std::size_t want_at_least) {
  std::vector<T> hard;
  for (std::size_t i = 0; i < count; ++i) {
    const T x = candidate(i);
    const std::uint64_t before = cr::slow_path_count();
    (void)F::one(x);
    if (cr::slow_path_count() != before) hard.push_back(x);
  }
  EXPECT_LE(hard.size(), count >> 12) << F::name << ": the fast path's test fails too often";
  EXPECT_GE(hard.size(), want_at_least) << F::name << ": too few hard arguments found to test the slow path";
  expect_correctly_rounded<T>(hard, F::template one<T>, F::template array<T>, truth, F::name);
}

TEST(CorrectlyRounded, ArgumentsNearAMidpointTakeTheSlowPathAndRoundRightly) {
  std::mt19937_64 rng(7);
  std::vector<double> exp_args, log_args;
  for (int i = 0; i < 4'000'000; ++i) log_args.push_back(i % 2 ? uniform(rng, 1e-300, 1e300) : uniform(rng, 0.5, 2.0));
  for (int i = 0; i < 1 << 25; ++i) exp_args.push_back(uniform(rng, -700.0, 700.0));
  // 2²² arguments for log at a rate near 2⁻¹⁷, 2²⁵ for exp at 2⁻²⁰: a few
  // dozen each.
  const auto exp_arg = [&](std::size_t i) { return exp_args[i]; };
  const auto log_arg = [&](std::size_t i) { return log_args[i]; };
  check_hard_cases<Exp>(exp_args.size(), exp_arg, true_exp<double>, 3);
  check_hard_cases<Log>(log_args.size(), log_arg, true_log<double>, 3);
}

// How many floats lie in [a, b) (a and b of the same sign, |a| < |b|), and
// the i-th of them from a on.
std::size_t floats_between(float a, float b) {
  return std::bit_cast<std::uint32_t>(b) - std::bit_cast<std::uint32_t>(a);
}
float float_from(float a, std::size_t i) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(std::bit_cast<std::uint32_t>(a) + i));
}
// Every float in ±[1, 64), the positive ones first: 2²⁶·⁶ arguments for exp.
const std::size_t kFloatsIn1To64 = floats_between(1.0f, 64.0f);
float signed_float_in_1_to_64(std::size_t i) {
  const float x = float_from(1.0f, i % kFloatsIn1To64);
  return i < kFloatsIn1To64 ? x : -x;
}

TEST(CorrectlyRounded, FloatArgumentsNearAMidpointTakeTheSlowPathAndRoundRightly) {
  // Every float in ±[1, 64) for exp and every 8th float in [2⁻³⁰, 2³⁰) for
  // log: 2²⁶·⁶ and 2²⁵·⁹ arguments. The tests' intervals (2⁻⁴⁷ and 2⁻⁴⁶ wide,
  // relative) against float's spacing (2⁻²⁴ to 2⁻²³ relative) let about one
  // argument in 2²³ (exp) and 2²² (log) fail: about a dozen hard cases each.
  const std::uint32_t low = std::bit_cast<std::uint32_t>(0x1p-30f), high = std::bit_cast<std::uint32_t>(0x1p30f);
  const auto log_arg = [&](std::size_t i) { return std::bit_cast<float>(static_cast<std::uint32_t>(low + 8 * i)); };
  check_hard_cases<Exp>(2 * kFloatsIn1To64, signed_float_in_1_to_64, true_exp<float>, 3);
  check_hard_cases<Log>((high - low) / 8, log_arg, true_log<float>, 3);
}

// The float array forms run a kernel of their own on AVX-512 machines
// (crmath.cpp): on exp's arguments above, and on every float whose exp is
// subnormal, or near float's overflow, and every 64th positive float for
// log (subnormals included), they give exactly what one element gives (its
// correct rounding is checked above), and their rounding test sends at most
// 2⁻¹² of them on (exp's subnormal results, which the array kernel hands
// to the scalar one, do not reach the 50-digit path either).
template <class F, class Candidate> void check_array_against_one(std::size_t count, Candidate candidate) {
  using T = decltype(candidate(std::size_t{0}));
  constexpr std::size_t kBatch = 1 << 20;
  std::vector<T> xs, ys;
  std::uint64_t slow = 0;
  int wrong = 0;
  for (std::size_t base = 0; base < count; base += kBatch) {
    xs.clear();
    for (std::size_t i = base; i < std::min(count, base + kBatch); ++i) xs.push_back(candidate(i));
    ys.resize(xs.size());
    const std::uint64_t before = cr::slow_path_count();
    F::array(xs.data(), ys.data(), static_cast<std::int64_t>(xs.size()));
    slow += cr::slow_path_count() - before;
    for (std::size_t i = 0; i < xs.size() && wrong < 5; ++i)
      if (!same(ys[i], F::one(xs[i]))) {
        ++wrong;
        ADD_FAILURE() << F::name << " over an array at " << std::hexfloat << xs[i] << ": " << ys[i]
                      << ", one element " << F::one(xs[i]);
      }
  }
  EXPECT_LE(slow, count >> 12) << F::name << ": the array kernel's test fails too often";
}

TEST(CorrectlyRounded, FloatArraysGiveWhatOneElementGives) {
  const auto from = [](float a) { return [a](std::size_t i) { return float_from(a, i); }; };
  // Every float in ±[1, 64), then exp's edges within its fast paths' range
  // (beyond, the 50-digit path by design): [−104, −86) (subnormal results
  // below −87.34) and [88, 89) (overflow above 88.72).
  check_array_against_one<Exp>(2 * kFloatsIn1To64, signed_float_in_1_to_64);
  check_array_against_one<Exp>(floats_between(-86.0f, -104.0f), from(-86.0f));
  check_array_against_one<Exp>(floats_between(88.0f, 89.0f), from(88.0f));
  // log: every 64th positive float from the smallest subnormal up, and
  // every float in [0.5, 2).
  const float smallest = std::numeric_limits<float>::denorm_min();
  check_array_against_one<Log>(floats_between(smallest, std::numeric_limits<float>::max()) / 64,
                               [&](std::size_t i) { return float_from(smallest, 64 * i); });
  check_array_against_one<Log>(floats_between(0.5f, 2.0f), from(0.5f));
}

// The double exp and log over arrays also run kernels of their own on
// AVX-512 machines, with rounding tests at 2⁻⁶⁶ where the scalar ones' are
// at 2⁻⁷³ and 2⁻⁷⁰: on 2²⁴ random arguments each, about 2¹¹ of which lie
// within 2⁻⁶⁴ of a midpoint and a dozen or a hundred within the scalar
// test's bound (which reach the 50-digit path), they give what one element
// gives. A kernel whose error exceeded its test's bound would round some of
// the first wrongly: the exp's without its rl·rh³ term does, the log's
// without the last two terms of its series or without its rl terms, and
// the exp's with no test at all (its errors reach near its bound, the
// log's stay far below it).
TEST(CorrectlyRounded, DoubleArraysGiveWhatOneElementGives) {
  std::mt19937_64 rng(20261207);
  const auto random_exp_argument = [&](std::size_t i) {
    switch (i % 4) {
      case 0: return uniform(rng, -708.0, 709.0);  // every n (beyond, the 50-digit path by design)
      case 1: return uniform(rng, -20.0, 5.0);     // where softmax logits live
      case 2: return std::ldexp(uniform(rng, -1.0, 1.0), -static_cast<int>(rng() % 8));  // n small, or 0
      default: return (rng() & 1) ? uniform(rng, 700.0, 709.0) : uniform(rng, -708.0, -700.0);  // near the ends
    }
  };
  check_array_against_one<Exp>(std::size_t{1} << 24, random_exp_argument);
  const auto random_log_argument = [&](std::size_t i) {
    switch (i % 4) {
      case 0: {  // every binade (subnormals, the 50-digit path's by design, left out)
        double x;
        do x = random_positive<double>(rng);
        while (x < std::numeric_limits<double>::min());
        return x;
      }
      case 1: return uniform(rng, 0.0, 1.0);          // probabilities
      case 2: return 1.0 + std::ldexp(uniform(rng, -1.0, 1.0), -static_cast<int>(rng() % 12));  // near 1
      default: return uniform(rng, 1.0, 1e4);         // sums of exponentials
    }
  };
  check_array_against_one<Log>(std::size_t{1} << 24, random_log_argument);
}

// The floats whose exp (within 8 units in the last place of a double) or
// log (within 2) lies nearest a midpoint between two floats, found by
// scanning every float in the fast paths' ranges with the correctly
// rounded double exp and log: the hardest cases of a rounding test. The
// array forms (a kernel of their own with AVX-512) and one element each give
// the correctly rounded float; a rounding test that is too lax fails here.
TEST(CorrectlyRounded, FloatArraysRoundTheHardestArgumentsRightly) {
  const std::vector<float> exp_args = {
      -0x1p-25f, -0x1.c1c4b8p-10f, -0x1.e1dbe2p-8f, -0x1.d2259ap+3f, 0x1.fffffep-25f, 0x1p-24f,
      0x1.7ffffep-23f, 0x1.bffffap-22f, 0x1.dffff2p-21f, 0x1.efffe2p-20f, 0x1.f7ffc2p-19f, 0x1.fbff82p-18f,
      0x1.fdff02p-17f, 0x1.747de2p-15f, 0x1.cd3982p-14f, 0x1.8d7cb6p-12f, 0x1.cb763ap-12f, 0x1.344e9cp-5f,
      0x1.036492p+1f, 0x1.62b666p+1f, 0x1.112856p+6f};
  const std::vector<float> log_args = {
      0x1.917748p-100f, 0x1.390ffp-93f, 0x1.088d96p-74f, 0x1.22d57p-65f, 0x1.c7f44cp-46f, 0x1.cc24d6p-44f,
      0x1.fa45fp-44f, 0x1.98496ep-39f, 0x1.925308p-35f, 0x1.b97c7p-14f, 0x1.f0ddep-8f, 0x1.827a74p-7f,
      0x1.2f1fd6p+3f, 0x1.9ab656p+13f, 0x1.cb534cp+13f, 0x1.bacb4ap+25f, 0x1.c09d7cp+27f, 0x1.0be824p+30f,
      0x1.d1309cp+62f, 0x1.b121a6p+76f, 0x1.5190cp+78f, 0x1.577ac6p+78f, 0x1.6351d8p+95f, 0x1.cfd86ep+116f};
  check<Exp>(exp_args, true_exp<float>);
  check<Log>(log_args, true_log<float>);
}

}  // namespace
}  // namespace ddx
