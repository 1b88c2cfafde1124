// The vectorized exp (engine/math/vexp.hpp) against a wider reference, and
// the float and double row kernels of ops/fused_math.hpp that run on it
// against the same kernels' generic path at 100 digits (tests/test_fused.cpp
// checks the kernels against the definitions).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engine/scalar.hpp"
#include "ops/fused_math.hpp"
#include "engine/math/vexp.hpp"
#include "ulps.hpp"

namespace ddx {
namespace {

TEST(VectorExp, SpecialValues) {
  EXPECT_EQ(vexp::exp(0.0), 1.0);
  EXPECT_EQ(vexp::exp(-INFINITY), 0.0);
  EXPECT_EQ(vexp::exp(INFINITY), INFINITY);
  EXPECT_TRUE(std::isnan(vexp::exp(NAN)));
  EXPECT_EQ(vexp::exp(-1000.0), 0.0);
  EXPECT_EQ(vexp::exp(710.0), INFINITY);
  EXPECT_EQ(vexp::exp(-745.0), std::numeric_limits<double>::denorm_min());  // exp(−745) ≈ 4.94e−324
  EXPECT_GT(vexp::exp(-700.0), 0.0);
  EXPECT_EQ(vexp::exp(0.0f), 1.0f);
  EXPECT_EQ(vexp::exp(-INFINITY * 1.0f), 0.0f);
  EXPECT_EQ(vexp::exp(INFINITY * 1.0f), INFINITY);
  EXPECT_TRUE(std::isnan(vexp::exp(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(vexp::exp(-200.0f), 0.0f);
  EXPECT_EQ(vexp::exp(89.0f), INFINITY);
  // exp(−100) = 3.72e−44 is subnormal in float: rounded, not flushed.
  EXPECT_LE(ulps(vexp::exp(-100.0f), std::exp(-100.0L)), 1.0);
  EXPECT_GT(vexp::exp(-100.0f), 0.0f);
}

// Every float from −104 to 89 whose bit pattern is ≡ 0 mod 61 (a 1/61 sample
// that visits every pattern of low mantissa bits), every float of the
// subnormal-result range and near overflow, and the worst inputs of an
// exhaustive check. The reference is exp in long double, 11 bits wider than
// needed.
// The bound is the worst error over all 2.2·10⁹ floats of the range, checked
// once outside the suite against exp in double, rounded up in the third
// decimal: 0.875030 ulp with a fused multiply–add (at 0x1.f31782p+3), 0.905677
// without (at 0x1.20601ap+2). The exp's operations fix its values, so a sample
// of the range can only meet or stay under it; a change that makes the float
// exp less accurate fails here. (The exp before r's rounding error was
// carried had worst errors of 0.979 and 0.952 ulp, and 17 126 and 2 956
// floats above 0.9: about 280 and 48 of them in the sample.)
TEST(VectorExp, FloatWithinItsMeasuredBound) {
#if defined(__FMA__)
  constexpr double kBound = 0.876;
#else
  constexpr double kBound = 0.906;
#endif
  double worst = 0;
  float worst_at = 0;
  auto check = [&](float x) {
    const double e = ulps(vexp::exp(x), std::exp(static_cast<long double>(x)));
    if (e > worst) worst = e, worst_at = x;
  };
  // The exhaustive check's worst inputs: with a fused multiply–add, then
  // without, then the earlier exp's with and without.
  for (float x : {0x1.f31782p+3f, -0x1.2e332ep+5f, -0x1.b60b62p+4f, 0x1.20601ap+2f, 0x1.16af62p+6f, 0x1.da211p+5f,
                  -0x1.759aa2p+2f, 0x1.4e8e1ep+2f, -0x1.df842cp+5f, -0x1.762532p+2f})
    check(x);
  for (std::uint32_t bits = 0; bits < 0x7f800000u; bits += 61) {
    const float x = std::bit_cast<float>(bits);
    if (x <= 89.0f) check(x);
    if (x <= 104.0f) check(-x);
  }
  for (float x = -104.0f; x <= -87.0f; x = std::nextafter(x, 0.0f)) check(x);
  for (float x = 88.0f; x <= 89.0f; x = std::nextafter(x, 100.0f)) check(x);
  EXPECT_LE(worst, kBound) << "at x = " << std::hexfloat << worst_at;
}

// Random doubles over the whole range (uniform), near zero (log-uniform
// magnitudes) and in the subnormal-result range, against exp in long double.
TEST(VectorExp, DoubleWithinOneUlp) {
  std::mt19937_64 rng(20261122);
  std::uniform_real_distribution<double> whole(-746.0, 710.0), subnormal(-745.2, -708.0), unit(-1.0, 1.0);
  double worst = 0, worst_at = 0;
  auto check = [&](double x) {
    const double e = ulps(vexp::exp(x), std::exp(static_cast<long double>(x)));
    if (e > worst) worst = e, worst_at = x;
  };
  // Where the rounding of x − n·ln 2, before exp kept its error, made the
  // result 1.002 ulp off (built with a fused multiply–add: test_vexp_native).
  check(-0x1.9dcc1065c6a9fp+7);
  for (int i = 0; i < 300'000; ++i) {
    check(whole(rng));
    check(subnormal(rng));
    check(std::ldexp(unit(rng), -static_cast<int>(rng() % 60)));
  }
  EXPECT_LE(worst, 1.0) << "at x = " << worst_at;
}

// The vector forms give each lane the scalar exp's value, and
// exp_nonpositive gives exp's value for every x ≤ 0 and NaN, bit for bit
// (a NaN only as a NaN: its payload is not kept alike by every build, the
// sanitizers' -O1 among them): the fused kernels mix them (whole vectors,
// then a row's last elements).
// Inputs: every 4099th bit pattern of T's width with the low bits varied
// (both signs, subnormals, infinities, NaNs), uniform values over the range
// between the clamps, and the clamps with their neighbours.
template <class T> void expect_lanes_as_scalar() {
  using C = vexp::detail::ExpConstants<T>;
  typedef T Lanes __attribute__((vector_size(64)));
  constexpr int L = 64 / sizeof(T);
  std::vector<T> xs = {T(0), -T(0), -INFINITY, INFINITY, std::numeric_limits<T>::quiet_NaN(),
                       -std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::denorm_min(),
                       -std::numeric_limits<T>::denorm_min()};
  for (T edge : {C::low, C::high})  // the clamps and their neighbours
    for (T x : {std::nextafter(edge, -INFINITY), edge, std::nextafter(edge, INFINITY)}) xs.push_back(x);
  std::mt19937_64 rng(20261125);
  std::uniform_real_distribution<T> range(C::low, C::high);
  for (int i = 0; i < 200'000; ++i) {
    xs.push_back(range(rng));
    const Bits<T> stride = std::numeric_limits<Bits<T>>::max() / 4099 * static_cast<Bits<T>>(i % 4099);
    xs.push_back(std::bit_cast<T>(static_cast<Bits<T>>(stride + static_cast<Bits<T>>(rng() % 4096))));
  }
  while (xs.size() % L) xs.push_back(T(1));
  int wrong = 0;
  for (std::size_t k = 0; k < xs.size() && wrong < 5; k += L) {
    Lanes v, w;
    std::memcpy(&v, xs.data() + k, sizeof v);
    w = v;
    vexp::exp_lanes(v);
    vexp::exp_nonpositive_lanes(w);
    for (int l = 0; l < L; ++l) {
      const T x = xs[k + l], e = vexp::exp(x);
      const T lane = v[l], nonpositive_lane = w[l];
      if (!same(lane, e))
        ++wrong, ADD_FAILURE() << "exp_lanes at x = " << x << ": " << lane << ", exp: " << e;
      if (x > 0) continue;
      if (!same(vexp::exp_nonpositive(x), e))
        ++wrong, ADD_FAILURE() << "exp_nonpositive at x = " << x << ": " << vexp::exp_nonpositive(x) << ", exp: " << e;
      if (!same(nonpositive_lane, e))
        ++wrong, ADD_FAILURE() << "exp_nonpositive_lanes at x = " << x << ": " << nonpositive_lane << ", exp: " << e;
    }
  }
}

TEST(VectorExp, LanesAndNonPositiveGiveTheScalarValueFloat) { expect_lanes_as_scalar<float>(); }
TEST(VectorExp, LanesAndNonPositiveGiveTheScalarValueDouble) { expect_lanes_as_scalar<double>(); }

// The fused row kernels at float and double on logits [a, 0, 0], target 0:
// loss and every gradient component within 2 ulps (the kernels' target) of
// their generic path at 100 digits.
template <class T> void expect_fused_accurate(double a) {
  const T z[3] = {T(a), T(0), T(0)};
  T grad[3];
  const T loss = fused::cross_entropy_class(z, 3, 0, grad, T(1));
  const Float100 zt[3] = {Float100(a), Float100(0), Float100(0)};
  Float100 grad_t[3];
  const Float100 loss_t = fused::cross_entropy_class(zt, 3, 0, grad_t, Float100(1));
  EXPECT_LE(ulps(loss, static_cast<long double>(loss_t)), 2.0) << "loss at a = " << a;
  for (int j = 0; j < 3; ++j)
    EXPECT_LE(ulps(grad[j], static_cast<long double>(grad_t[j])), 2.0) << "grad " << j << " at a = " << a;
}

TEST(FusedVectorized, MarginGridWithinTwoUlps) {
  for (double a : {1.0, 10.0, 20.0, 30.0, 40.0, 50.0, 100.0, 700.0}) {
    expect_fused_accurate<double>(a);
    if (a <= 100.0) expect_fused_accurate<float>(a);  // exp(−700) is below float's range
  }
}

// The vectorized path and the generic one (at 100 digits, rounded) agree on
// random rows with ties at the max, targets at, before and after the max,
// every row length across the lane boundaries, and every kernel. Tolerances:
// 4 ulps, twice the kernels' 2-ulp target, because the sums here run over up
// to 40 terms added in lanes (another order than the generic loop) with
// scales of 0.25 and logits up to 100 apart; log-softmax and the dense
// gradient are differences (zⱼ − a − l, p·Σy − y), so they are held to a few
// ε relative to their operands, not to their own size.
template <class T> void expect_paths_agree() {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> logit(-30.0, 30.0);
  for (std::int64_t n = 1; n <= 40; ++n) {
    for (int trial = 0; trial < 4; ++trial) {
      std::vector<T> z(n), grad(n), out(n);
      std::vector<Float100> zt(n), grad_t(n), out_t(n);
      for (auto& v : z) v = T(std::round(logit(rng) * (trial % 2 ? 1 : 8)) / 8);  // coarse values tie
      if (trial == 2 && n > 3) z[n / 2] = z[n - 1] = T(100);                     // two maxima
      for (std::int64_t j = 0; j < n; ++j) zt[j] = Float100(z[j]);
      const std::int64_t y = static_cast<std::int64_t>(rng() % n);
      const T loss = fused::cross_entropy_class(z.data(), n, y, grad.data(), T(0.25));
      const Float100 loss_t = fused::cross_entropy_class(zt.data(), n, y, grad_t.data(), Float100(0.25));
      EXPECT_LE(ulps(loss, static_cast<long double>(loss_t)), 4.0) << n << " " << trial;
      EXPECT_EQ(loss, fused::cross_entropy_class(z.data(), n, y, static_cast<T*>(nullptr), T(0.25)));
      for (std::int64_t j = 0; j < n; ++j)
        EXPECT_LE(ulps(grad[j], static_cast<long double>(grad_t[j])), 4.0) << n << " " << trial << " " << j;
      // A scale that is not a power of two (a batch of 3) takes the other
      // way of scaling: a product after the division.
      const T third = T(1) / T(3);
      fused::cross_entropy_class(z.data(), n, y, grad.data(), third);
      fused::cross_entropy_class(zt.data(), n, y, grad_t.data(), Float100(third));
      for (std::int64_t j = 0; j < n; ++j)
        EXPECT_LE(ulps(grad[j], static_cast<long double>(grad_t[j])), 4.0) << n << " " << trial << " " << j;
      EXPECT_LE(ulps(fused::log_sum_exp(z.data(), n), static_cast<long double>(fused::log_sum_exp(zt.data(), n))),
                4.0);
      fused::softmax(z.data(), n, out.data());
      fused::softmax(zt.data(), n, out_t.data());
      for (std::int64_t j = 0; j < n; ++j) EXPECT_LE(ulps(out[j], static_cast<long double>(out_t[j])), 4.0);
      fused::log_softmax(z.data(), n, out.data());
      fused::log_softmax(zt.data(), n, out_t.data());
      for (std::int64_t j = 0; j < n; ++j)
        EXPECT_NEAR(static_cast<double>(out[j]), static_cast<double>(out_t[j]),
                    8 * std::numeric_limits<T>::epsilon() * (1 + std::fabs(static_cast<double>(out_t[j]))));
      const fused::RowSums<T> r = fused::row_sums(z.data(), n);
      const fused::RowSums<Float100> r_t = fused::row_sums(zt.data(), n);
      EXPECT_EQ(r.max, z[fused::arg_max(z.data(), n)]);  // the vectorized max is the max
      EXPECT_LE(ulps(r.s, static_cast<long double>(r_t.s)), 4.0);
      // A target distribution: one-hot at y, then spread over two classes.
      std::vector<T> target(n, T(0));
      std::vector<Float100> target_t(n, Float100(0));
      target[y] = T(1), target_t[y] = Float100(1);
      const T dense = fused::cross_entropy(z.data(), target.data(), n, grad.data(), T(0.25));
      const Float100 dense_t = fused::cross_entropy(zt.data(), target_t.data(), n, grad_t.data(), Float100(0.25));
      EXPECT_LE(ulps(dense, static_cast<long double>(dense_t)), 4.0);
      for (std::int64_t j = 0; j < n; ++j)
        EXPECT_NEAR(static_cast<double>(grad[j]), static_cast<double>(grad_t[j]),
                    4 * std::numeric_limits<T>::epsilon());
    }
  }
}

TEST(FusedVectorized, AgreesWithTheGenericPathFloat) { expect_paths_agree<float>(); }
TEST(FusedVectorized, AgreesWithTheGenericPathDouble) { expect_paths_agree<double>(); }

// A batch gives each row exactly what the row alone gives: the short rows
// (fewer than kGroupedBelow logits) go a group of 64 bytes of rows at a time,
// one row per vector lane, and the rows left over (as many as can be left:
// 15 at float, 7 at double), like a row alone, one at a time in vector
// registers with AVX-512 (n from 1 to 47 floats, 23 doubles, the last vector
// full or not), else as the long rows go (without AVX-512 the groups take
// rows of fewer than 8 at SSE2, none at AVX2). The long rows go row by row, each
// row's max read while the previous row's exps are taken, the row's end in a
// padded vector. Exact equality: the same operations run on the same values
// either way. Each row's max is put at a place that takes its own path
// there: the first element, the ends of a lane block, the middle, the end
// after the lane blocks.
template <class T> void expect_batch_equals_rows() {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> logit(-20.0, 20.0);
  const std::int64_t grouped_f = fused::detail::kGroupedBelow<float>, grouped_d = fused::detail::kGroupedBelow<double>;
  for (std::int64_t n : {std::int64_t{1}, std::int64_t{2}, std::int64_t{3}, std::int64_t{8}, std::int64_t{10},
                         std::int64_t{16}, std::int64_t{17}, grouped_d - 1, grouped_d, grouped_f - 1, grouped_f,
                         std::int64_t{64}, std::int64_t{65}, std::int64_t{100}, std::int64_t{513},
                         std::int64_t{1500}}) {
    if (n < 1) continue;  // kGroupedBelow is 0 with AVX2
    constexpr std::int64_t Lf = fused::detail::kLanes<float>;
    static_assert(Lf % fused::detail::kLanes<double> == 0);
    const std::int64_t rows = 3 * Lf - 1;  // groups of Lf or kLanes<double> rows, and all but one more
    std::vector<T> z(rows * n), y(rows * n, T(0)), grad(rows * n), out(rows * n), row(n), lse(rows);
    std::vector<std::int64_t> labels(rows);
    for (auto& v : z) v = T(logit(rng));
    for (std::int64_t r = 0; r < rows; ++r) {
      constexpr std::int64_t Ld = fused::detail::kLanes<double>;
      const std::int64_t at[] = {0, Ld - 1, Ld, Lf - 1, Lf, n / 2, n - 1};
      z[r * n + at[r % 7] % n] = T(21 + r % 7);  // above the others, and not the previous row's
      labels[r] = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(n));
      y[r * n + labels[r]] = T(1);
    }
    for (const T& scale : {T(0.5), T(0.3)}) {  // folded into the divisor (a power of two), and not
      const T total = fused::cross_entropy_class(z.data(), rows, n, labels.data(), grad.data(), scale);
      T expected_total = T(0);
      for (std::int64_t r = 0; r < rows; ++r) {
        expected_total += fused::cross_entropy_class(z.data() + r * n, n, labels[r], row.data(), scale);
        for (std::int64_t j = 0; j < n; ++j)
          ASSERT_EQ(grad[r * n + j], row[j]) << "n " << n << " row " << r << " scale " << scale;
      }
      EXPECT_EQ(total, expected_total) << "n " << n;
    }
    EXPECT_EQ(fused::cross_entropy(z.data(), y.data(), rows, n, grad.data(), T(0.5)),
              fused::cross_entropy_class(z.data(), rows, n, labels.data(), static_cast<T*>(nullptr), T(0.5)))
        << "one-hot targets, n " << n;
    fused::log_sum_exp(z.data(), rows, n, lse.data());
    for (std::int64_t r = 0; r < rows; ++r) ASSERT_EQ(lse[r], fused::log_sum_exp(z.data() + r * n, n)) << n;
    fused::softmax(z.data(), rows, n, out.data());
    for (std::int64_t r = 0; r < rows; ++r) {
      fused::softmax(z.data() + r * n, n, row.data());
      for (std::int64_t j = 0; j < n; ++j) ASSERT_EQ(out[r * n + j], row[j]) << n;
    }
    fused::log_softmax(z.data(), rows, n, out.data());
    for (std::int64_t r = 0; r < rows; ++r) {
      fused::log_softmax(z.data() + r * n, n, row.data());
      for (std::int64_t j = 0; j < n; ++j) ASSERT_EQ(out[r * n + j], row[j]) << n;
    }
  }
}

// Logits of −∞ (masked classes) have exps and probabilities of exactly 0 in
// every path, and a batch still gives each row what the row alone gives; a
// row's end padded in registers is not taken for −∞ logits of its own.
template <class T> void expect_masked_classes_are_zero() {
  std::mt19937_64 rng(13);
  std::uniform_real_distribution<double> logit(-5.0, 5.0);
  constexpr T minus_inf = -std::numeric_limits<T>::infinity();
  for (std::int64_t n : {std::int64_t{3}, std::int64_t{10}, std::int64_t{16}, std::int64_t{40}, std::int64_t{100},
                         std::int64_t{1500}}) {
    const std::int64_t rows = 3 * fused::detail::kLanes<float> - 1;
    std::vector<T> z(rows * n), grad(rows * n), row(n);
    std::vector<std::int64_t> labels(rows);
    for (auto& v : z) v = T(logit(rng));
    for (std::int64_t r = 0; r < rows; ++r) {
      labels[r] = r % n;
      for (std::int64_t j = (r + 1) % n; j < n; j += 2) z[r * n + j] = minus_inf;  // every other class
      z[r * n + labels[r]] = T(logit(rng));                                        // but y
    }
    const T total = fused::cross_entropy_class(z.data(), rows, n, labels.data(), grad.data(), T(1));
    EXPECT_TRUE(std::isfinite(total)) << n;
    for (std::int64_t r = 0; r < rows; ++r) {
      fused::cross_entropy_class(z.data() + r * n, n, labels[r], row.data(), T(1));
      for (std::int64_t j = 0; j < n; ++j) {
        ASSERT_EQ(grad[r * n + j], row[j]) << "n " << n << " row " << r << " class " << j;
        if (z[r * n + j] == minus_inf) {
          ASSERT_EQ(row[j], T(0)) << "n " << n << " row " << r << " class " << j;
        }
      }
    }
  }
}

TEST(FusedVectorized, MaskedClassesAreZeroOnEveryPathFloat) { expect_masked_classes_are_zero<float>(); }
TEST(FusedVectorized, MaskedClassesAreZeroOnEveryPathDouble) { expect_masked_classes_are_zero<double>(); }

TEST(FusedVectorized, ABatchGivesEachRowWhatTheRowAloneGivesFloat) { expect_batch_equals_rows<float>(); }
TEST(FusedVectorized, ABatchGivesEachRowWhatTheRowAloneGivesDouble) { expect_batch_equals_rows<double>(); }
TEST(FusedVectorized, ABatchGivesEachRowWhatTheRowAloneGivesAt50Digits) { expect_batch_equals_rows<Float50>(); }

// A scale that is a power of two is folded into each row's divisor
// (unscaled_row): the gradient is then exactly 2ᵏ times the gradient at
// scale 1 wherever that product is normal, on every path (the row groups,
// the short rows, the long rows with their scaling in the next row's loop,
// the last row). Every other row has a max of 80, whose exps go down to
// e⁻¹⁰⁰: below float's normal range, where the fold may round differently
// and the check skips them.
template <class T> void expect_power_of_two_scale_exact() {
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> logit(-20.0, 20.0);
  for (std::int64_t n : {std::int64_t{3}, std::int64_t{10}, std::int64_t{40}, std::int64_t{100},
                         std::int64_t{1500}}) {
    const std::int64_t rows = 3 * fused::detail::kLanes<float> - 1;
    std::vector<T> z(rows * n), at_one(rows * n), scaled(rows * n);
    std::vector<std::int64_t> labels(rows);
    for (auto& v : z) v = T(logit(rng));
    for (std::int64_t r = 0; r < rows; ++r) {
      z[r * n + r % n] = T(80 * (r % 2));
      labels[r] = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(n));
    }
    const T loss = fused::cross_entropy_class(z.data(), rows, n, labels.data(), at_one.data(), T(1));
    for (int k : {-1, -7, -20, 3}) {
      const T scale = std::ldexp(T(1), k);
      EXPECT_EQ(fused::cross_entropy_class(z.data(), rows, n, labels.data(), scaled.data(), scale), loss);
      int checked = 0;
      for (std::int64_t i = 0; i < rows * n; ++i) {
        const T expected = std::ldexp(at_one[i], k);
        if (!std::isnormal(expected)) continue;
        ++checked;
        ASSERT_EQ(scaled[i], expected) << "n " << n << " element " << i << " scale 2^" << k;
      }
      EXPECT_GT(checked, rows * n / 2) << "n " << n;
    }
  }
  // The fold itself: the divisor and its reciprocal scaled exactly, scale 1.
  const fused::detail::Unscaled<T> folded =
      fused::detail::unscaled_row(static_cast<T*>(nullptr), T(3), T(T(1) / T(3)), T(0.25), T(4));
  EXPECT_TRUE(folded.folded);
  EXPECT_EQ(folded.d, T(12));
  EXPECT_EQ(folded.rcp, T(T(1) / T(3)) / T(4));
  EXPECT_EQ(folded.scale, T(1));
  const fused::detail::Unscaled<T> kept =
      fused::detail::unscaled_row(static_cast<T*>(nullptr), T(3), T(T(1) / T(3)), T(0.3), T(T(1) / T(0.3)));
  EXPECT_FALSE(kept.folded);
  EXPECT_EQ(kept.d, T(3));
  EXPECT_EQ(kept.scale, T(0.3));
}

TEST(FusedVectorized, APowerOfTwoScaleGivesTheScaledGradientExactlyFloat) { expect_power_of_two_scale_exact<float>(); }
TEST(FusedVectorized, APowerOfTwoScaleGivesTheScaledGradientExactlyDouble) {
  expect_power_of_two_scale_exact<double>();
}

// divide(e, d, 1/d) is the correctly rounded e / d: exactly, on random
// quotients of the kernels' ranges (e in (0, 1], d in [1, 10^4]). It checks
// the correction step, so it runs where there is a fused multiply–add
// (test_vexp_native); without one divide is the division itself.
template <class T> void expect_divide_exact() {
#if !defined(__FMA__)
  GTEST_SKIP() << "built without a fused multiply–add: divide is the division "
                  "(test_vexp_native checks the other path)";
#endif
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int trial = 0; trial < 1000000; ++trial) {
    const T e = T(std::ldexp(1.0 - unit(rng), -static_cast<int>(rng() % 60)));
    const T d = T(1.0 + std::exp(unit(rng) * std::log(1e4)));
    ASSERT_EQ(fused::divide(e, d, T(T(1) / d)), T(e / d)) << e << " / " << d;
  }
}

TEST(FusedVectorized, DivideIsTheCorrectlyRoundedQuotientFloat) { expect_divide_exact<float>(); }
TEST(FusedVectorized, DivideIsTheCorrectlyRoundedQuotientDouble) { expect_divide_exact<double>(); }

}  // namespace
}  // namespace ddx
