// A branch-free exp for float and double that the compiler vectorizes
// without -ffast-math: error ≤ 1 ulp over the whole range, subnormal results
// rounded (not flushed), exp(−inf) = 0, exp(+inf) = inf, NaN propagates.
//
// exp(x) = 2ⁿ · exp(r), n = round(x / ln 2), r = x − n·ln 2 (|r| ≤ ln2/2):
// - n comes from adding 1.5·2^(p−1) (p = mantissa bits): the sum rounds x/ln 2
//   to an integer and its low bits hold n, so no float-to-int conversion;
// - r = (x − n·ln2_hi) − n·ln2_lo, where ln2_hi has trailing zero bits so that
//   n·ln2_hi and the subtraction are exact (Cody–Waite);
// - exp(r) = 1 + (r + r²·P(r)) with P the Taylor tail, so the result's error
//   is the last addition's half ulp plus a small fraction;
// - 2ⁿ is applied as two powers of two 2^(n−⌊n/2⌋)·2^⌊n/2⌋: the first product
//   is exact and the second rounds once, also into the subnormal range, and
//   overflows to inf exactly when exp(x) does.
// x is clamped first so that n stays in range; the clamp keeps the results
// at the limits (below the clamp exp rounds to 0, above it to inf).
#pragma once

#include <bit>
#include <cstdint>
#include <numbers>

namespace ddx::vexp {

namespace detail {

#if defined(__FMA__)
inline double mul_add(double a, double b, double c) { return __builtin_fma(a, b, c); }
inline float mul_add(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
#else
inline double mul_add(double a, double b, double c) { return a * b + c; }
inline float mul_add(float a, float b, float c) { return a * b + c; }
#endif

// ln 2 = hi + lo (+ < 2⁻⁸⁶ for double, 2⁻⁴⁴ for float), hi with trailing zero
// bits (32 significant bits for double, 16 for float), so that n·hi is exact
// for the integers n that exp's and log's reductions multiply it by
// (Cody–Waite); the exp and log kernels here and in crmath.cpp share it.
template <class T> struct Ln2;
template <> struct Ln2<double> {
  static constexpr double hi = 6.93147180369123816490e-01;
  static constexpr double lo = 1.90821492927058770002e-10;
};
template <> struct Ln2<float> {
  static constexpr float hi = 0.693145751953125f;
  static constexpr float lo = 1.428606765330187045e-06f;
};

}  // namespace detail

inline double exp(double x) {
  constexpr double log2e = std::numbers::log2e;
  constexpr double ln2_hi = detail::Ln2<double>::hi, ln2_lo = detail::Ln2<double>::lo;
  constexpr double shifter = 0x1.8p52;
  // exp(x) rounds to 0 below −745.14 and overflows above 709.79.
  const double xc = x < -746.0 ? -746.0 : (x > 710.0 ? 710.0 : x);
  const double t = xc * log2e + shifter;
  const double nd = t - shifter;
  const std::int64_t n = std::bit_cast<std::int64_t>(t) - std::bit_cast<std::int64_t>(shifter);
  const double r = (xc - nd * ln2_hi) - nd * ln2_lo;
  using detail::mul_add;
  double p = 1.0 / 6227020800.0;                 // 1/13!
  p = mul_add(p, r, 1.0 / 479001600.0);          // 1/12!
  p = mul_add(p, r, 1.0 / 39916800.0);           // 1/11!
  p = mul_add(p, r, 1.0 / 3628800.0);            // 1/10!
  p = mul_add(p, r, 1.0 / 362880.0);             // 1/9!
  p = mul_add(p, r, 1.0 / 40320.0);              // 1/8!
  p = mul_add(p, r, 1.0 / 5040.0);               // 1/7!
  p = mul_add(p, r, 1.0 / 720.0);                // 1/6!
  p = mul_add(p, r, 1.0 / 120.0);                // 1/5!
  p = mul_add(p, r, 1.0 / 24.0);                 // 1/4!
  p = mul_add(p, r, 1.0 / 6.0);                  // 1/3!
  p = mul_add(p, r, 0.5);                        // 1/2!
  const double u = 1.0 + mul_add(p, r * r, r);
  const std::int64_t n_low = n >> 1;
  const std::int64_t n_high = n - n_low;
  const double scale_low = std::bit_cast<double>((n_low + 1023) << 52);
  const double scale_high = std::bit_cast<double>((n_high + 1023) << 52);
  const double y = (u * scale_high) * scale_low;
  return x != x ? x : y;
}

inline float exp(float x) {
  constexpr float log2e = std::numbers::log2e_v<float>;
  constexpr float ln2_hi = detail::Ln2<float>::hi, ln2_lo = detail::Ln2<float>::lo;
  constexpr float shifter = 0x1.8p23f;
  // exp(x) rounds to 0 below −103.97 and overflows above 88.73.
  const float xc = x < -105.0f ? -105.0f : (x > 89.0f ? 89.0f : x);
  const float t = xc * log2e + shifter;
  const float nf = t - shifter;
  const std::int32_t n = std::bit_cast<std::int32_t>(t) - std::bit_cast<std::int32_t>(shifter);
  const float r = (xc - nf * ln2_hi) - nf * ln2_lo;
  using detail::mul_add;
  float p = 1.0f / 40320.0f;       // 1/8!
  p = mul_add(p, r, 1.0f / 5040.0f);  // 1/7!
  p = mul_add(p, r, 1.0f / 720.0f);   // 1/6!
  p = mul_add(p, r, 1.0f / 120.0f);   // 1/5!
  p = mul_add(p, r, 1.0f / 24.0f);    // 1/4!
  p = mul_add(p, r, 1.0f / 6.0f);     // 1/3!
  p = mul_add(p, r, 0.5f);            // 1/2!
  const float u = 1.0f + mul_add(p, r * r, r);
  const std::int32_t n_low = n >> 1;
  const std::int32_t n_high = n - n_low;
  const float scale_low = std::bit_cast<float>((n_low + 127) << 23);
  const float scale_high = std::bit_cast<float>((n_high + 127) << 23);
  const float y = (u * scale_high) * scale_low;
  return x != x ? x : y;
}

}  // namespace ddx::vexp
