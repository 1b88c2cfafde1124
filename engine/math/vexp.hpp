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
#include <concepts>
#include <cstddef>
#include <numbers>
#include <type_traits>
#include <utility>

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

// What exp computes on: one float or double, or a GCC vector of them. A
// loop of scalar calls is left to the compiler to vectorize; inside a loop
// that does more than exp, GCC 12 may split the clamp's paths and keep
// masked copies of the lanes it found constant (about a fifth more
// instructions per vector), so such a loop calls the vector form instead.
template <class V> struct Lanes {
  using Scalar = V;
  using Bits = std::conditional_t<sizeof(V) == 4, std::int32_t, std::int64_t>;
};
template <class V>
  requires(!std::is_arithmetic_v<V>)
struct Lanes<V> {
  using Scalar = std::remove_cvref_t<decltype(std::declval<V>()[0])>;
  using Bits [[gnu::vector_size(sizeof(V))]] = std::conditional_t<sizeof(Scalar) == 4, std::int32_t, std::int64_t>;
};
template <class V> using ScalarOf = typename Lanes<V>::Scalar;

// c in every lane.
template <class V> V splat(ScalarOf<V> c) {
  if constexpr (std::is_arithmetic_v<V>)
    return c;
  else
    return V{} + c;
}

// a·b + c lane by lane, with mul_add's rounding (GCC turns the loop into the
// vector multiply–add).
template <class V>
  requires(!std::is_arithmetic_v<V>)
[[gnu::always_inline]] inline V mul_add(V a, V b, V c) {
  V out;
  for (std::size_t l = 0; l < sizeof(V) / sizeof(ScalarOf<V>); ++l) out[l] = mul_add(a[l], b[l], c[l]);
  return out;
}

// Which arguments an exp takes: any, or only x ≤ 0 (and NaN), whose results
// cannot overflow, so the clamp has no upper side.
enum class Range { All, NonPositive };

template <Range R, class V>
  requires std::same_as<ScalarOf<V>, double>
[[gnu::always_inline]] inline V exp_lanes(V x) {
  using Bits = typename Lanes<V>::Bits;
  constexpr double log2e = std::numbers::log2e;
  constexpr double ln2_hi = Ln2<double>::hi, ln2_lo = Ln2<double>::lo;
  const V shifter = splat<V>(0x1.8p52);
  // exp(x) rounds to 0 below −745.14 and overflows above 709.79. Two
  // selects one after the other: written as one nested select, the scalar
  // form's vectorized loops were 15% slower (the split paths above).
  const V low = splat<V>(-746.0), high = splat<V>(710.0);
  V xc = x < low ? low : x;
  if constexpr (R == Range::All) xc = x > high ? high : xc;
  const V t = xc * log2e + shifter;
  const V nd = t - shifter;
  const Bits n = std::bit_cast<Bits>(t) - std::bit_cast<Bits>(shifter);
  const V r = (xc - nd * ln2_hi) - nd * ln2_lo;
  V p = splat<V>(1.0 / 6227020800.0);                 // 1/13!
  p = mul_add(p, r, splat<V>(1.0 / 479001600.0));     // 1/12!
  p = mul_add(p, r, splat<V>(1.0 / 39916800.0));      // 1/11!
  p = mul_add(p, r, splat<V>(1.0 / 3628800.0));       // 1/10!
  p = mul_add(p, r, splat<V>(1.0 / 362880.0));        // 1/9!
  p = mul_add(p, r, splat<V>(1.0 / 40320.0));         // 1/8!
  p = mul_add(p, r, splat<V>(1.0 / 5040.0));          // 1/7!
  p = mul_add(p, r, splat<V>(1.0 / 720.0));           // 1/6!
  p = mul_add(p, r, splat<V>(1.0 / 120.0));           // 1/5!
  p = mul_add(p, r, splat<V>(1.0 / 24.0));            // 1/4!
  p = mul_add(p, r, splat<V>(1.0 / 6.0));             // 1/3!
  p = mul_add(p, r, splat<V>(0.5));                   // 1/2!
  const V u = 1.0 + mul_add(p, r * r, r);
  const Bits n_low = n >> 1;
  const Bits n_high = n - n_low;
  const V scale_low = std::bit_cast<V>((n_low + 1023) << 52);
  const V scale_high = std::bit_cast<V>((n_high + 1023) << 52);
  const V y = (u * scale_high) * scale_low;
  return x != x ? x : y;
}

template <Range R, class V>
  requires std::same_as<ScalarOf<V>, float>
[[gnu::always_inline]] inline V exp_lanes(V x) {
  using Bits = typename Lanes<V>::Bits;
  constexpr float log2e = std::numbers::log2e_v<float>;
  constexpr float ln2_hi = Ln2<float>::hi, ln2_lo = Ln2<float>::lo;
  const V shifter = splat<V>(0x1.8p23f);
  // exp(x) rounds to 0 below −103.97 and overflows above 88.73.
  const V low = splat<V>(-105.0f), high = splat<V>(89.0f);
  V xc = x < low ? low : x;
  if constexpr (R == Range::All) xc = x > high ? high : xc;
  const V t = xc * log2e + shifter;
  const V nf = t - shifter;
  const Bits n = std::bit_cast<Bits>(t) - std::bit_cast<Bits>(shifter);
  const V r = (xc - nf * ln2_hi) - nf * ln2_lo;
  V p = splat<V>(1.0f / 40320.0f);                 // 1/8!
  p = mul_add(p, r, splat<V>(1.0f / 5040.0f));     // 1/7!
  p = mul_add(p, r, splat<V>(1.0f / 720.0f));      // 1/6!
  p = mul_add(p, r, splat<V>(1.0f / 120.0f));      // 1/5!
  p = mul_add(p, r, splat<V>(1.0f / 24.0f));       // 1/4!
  p = mul_add(p, r, splat<V>(1.0f / 6.0f));        // 1/3!
  p = mul_add(p, r, splat<V>(0.5f));               // 1/2!
  const V u = 1.0f + mul_add(p, r * r, r);
  const Bits n_low = n >> 1;
  const Bits n_high = n - n_low;
  const V scale_low = std::bit_cast<V>((n_low + 127) << 23);
  const V scale_high = std::bit_cast<V>((n_high + 127) << 23);
  const V y = (u * scale_high) * scale_low;
  return x != x ? x : y;
}

}  // namespace detail

// exp of one float or double.
inline double exp(double x) { return detail::exp_lanes<detail::Range::All>(x); }
inline float exp(float x) { return detail::exp_lanes<detail::Range::All>(x); }

// exp(x) for x ≤ 0 (or NaN), as exp gives it, with one comparison and one
// select less: the kernels' shifted logits zⱼ − max z are never positive.
inline double exp_nonpositive(double x) { return detail::exp_lanes<detail::Range::NonPositive>(x); }
inline float exp_nonpositive(float x) { return detail::exp_lanes<detail::Range::NonPositive>(x); }

// The same on every lane of a GCC vector of floats or doubles, in place
// (each lane gets the scalar call's value).
template <class V>
  requires(!std::is_arithmetic_v<V>)
[[gnu::always_inline]] inline void exp_lanes(V& x) {
  x = detail::exp_lanes<detail::Range::All>(x);
}
template <class V>
  requires(!std::is_arithmetic_v<V>)
[[gnu::always_inline]] inline void exp_nonpositive_lanes(V& x) {
  x = detail::exp_lanes<detail::Range::NonPositive>(x);
}

}  // namespace ddx::vexp
