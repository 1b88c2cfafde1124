// A branch-free log and log1p for float and double that the compiler
// vectorizes without -ffast-math, next to exp in vexp.hpp: the fused ops
// take log1p of the off-max sum s (log Σ exp = a + log1p(s)) with it, at
// float and double. Error ≤ 1 ulp over the whole domain (measured over every
// float and millions of doubles: at most 0.66 ulp with FMA, 0.73 without),
// subnormal inputs included; log(1) = 0, log1p(±0) = ±0, and tiny x gives
// log1p(x) = x. Special values as std::log and std::log1p: log(±0) = −inf,
// log(x < 0) = NaN, log1p(−1) = −inf, log1p(x < −1) = NaN, +inf → +inf, NaN
// propagates.
//
// log(x), x = 2ᵏ·m with m in [√2/2, √2), f = m − 1 (exact):
// - k and m come from the bit pattern: adding the pattern of 1 − √2/2 carries
//   into the exponent field exactly when the significand is ≥ √2, the low bits
//   then hold m; k is read from the exponent field by the magic-number trick
//   (no float-int conversion). Subnormal x are first scaled by 2⁵⁴ (2²⁵ for
//   float) and k lowered to match;
// - log(1 + f) = f − f²/2 + s·(f²/2 + R(s²)), s = f/(2 + f), where R is a
//   minimax polynomial for log((1 + s)/(1 − s)) − 2s divided by s, on
//   s² ≤ (3 − 2√2)² (7 terms for double, 4 fitted for float);
// - the result k·ln2 + f − f²/2 + small is summed in two parts: k·ln2_hi (exact,
//   Cody–Waite) + f and then − f²/2 are exact two-term sums (Fast2Sum, the
//   first operand is the larger), f²/2's rounding error comes from an FMA
//   (zero without one); their low parts, that error, k·ln2_lo, the s·(…) term
//   (and log1p's correction) form a tail added to the high part last.
// log1p(x): u = 1 + x rounded. When u's k is 0 (x in about [−0.29, 0.41]),
// f = x itself, so no rounding of 1 + x enters (this also makes tiny x come
// out as x, correctly rounded). Otherwise f = m − 1 from u and the rounding
// error of 1 + x, exact by Fast2Sum (x − (u − 1) for x < 1, 1 − (u − x)
// above), enters as log(1 + x) = log(u) + err/u; it is dropped above 2⁵⁴ (2²⁵
// for float) where it is below the result's ulp.
//
// Branch-free: every value is computed for every x and the special cases are
// chosen at the end. The choices are bitwise selects (detail::select), not ?:
// on computed values: GCC turns those into branches, sinks the kernel into
// one of them and, without AVX-512's masked operations, then refuses to
// vectorize the loop (the division may trap). With bitwise selects
// `for (i…) out[i] = log(in[i])` vectorizes at -O3 with AVX2 or AVX-512
// (and SSE2 for float).
#pragma once

#include <bit>
#include <cstdint>
#include <limits>

#include "engine/math/vexp.hpp"

namespace ddx::vexp {

namespace detail {

// c ? a : b on the bit patterns.
inline double select(bool c, double a, double b) {
  const std::uint64_t mask = 0 - static_cast<std::uint64_t>(c);
  return std::bit_cast<double>((std::bit_cast<std::uint64_t>(a) & mask) | (std::bit_cast<std::uint64_t>(b) & ~mask));
}

inline float select(bool c, float a, float b) {
  const std::uint32_t mask = 0 - static_cast<std::uint32_t>(c);
  return std::bit_cast<float>((std::bit_cast<std::uint32_t>(a) & mask) | (std::bit_cast<std::uint32_t>(b) & ~mask));
}

// x = 2ᵏ·m with m in [√2/2, √2), for x positive and normal.
template <class T> struct Split {
  T k, m;
};

inline Split<double> split(double x) {
  constexpr std::uint64_t half_sqrt2 = 0x3fe6a09e667f3bcdull;  // √2/2
  const std::uint64_t b = std::bit_cast<std::uint64_t>(x) + (0x3ff0000000000000ull - half_sqrt2);
  const double k = std::bit_cast<double>((b >> 52) | 0x4330000000000000ull) - (0x1p52 + 1023.0);
  const double m = std::bit_cast<double>((b & 0x000fffffffffffffull) + half_sqrt2);
  return {k, m};
}

inline Split<float> split(float x) {
  constexpr std::uint32_t half_sqrt2 = 0x3f3504f3u;  // √2/2
  const std::uint32_t b = std::bit_cast<std::uint32_t>(x) + (0x3f800000u - half_sqrt2);
  const float k = std::bit_cast<float>((b >> 23) | 0x4b000000u) - (0x1p23f + 127.0f);
  const float m = std::bit_cast<float>((b & 0x007fffffu) + half_sqrt2);
  return {k, m};
}

// log(2ᵏ·(1 + f)) + c for 1 + f in [√2/2, √2), k an integer, |c| ≲ ε.
inline double log_kernel(double k, double f, double c) {
  constexpr double ln2_hi = Ln2<double>::hi, ln2_lo = Ln2<double>::lo;
  constexpr double lg1 = 6.666666666666735130e-01;
  constexpr double lg2 = 3.999999999940941908e-01;
  constexpr double lg3 = 2.857142874366239149e-01;
  constexpr double lg4 = 2.222219843214978396e-01;
  constexpr double lg5 = 1.818357216161805012e-01;
  constexpr double lg6 = 1.531383769920937332e-01;
  constexpr double lg7 = 1.479819860511658591e-01;
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double r = z * mul_add(w, mul_add(w, mul_add(w, lg7, lg5), lg3), lg1) +
                   w * mul_add(w, mul_add(w, lg6, lg4), lg2);
  const double a = k * ln2_hi;
  const double hi = a + f;  // hi + lo = a + f
  const double lo = f - (hi - a);
  const double hf = 0.5 * f;
  const double h = hf * f;                     // f²/2
  const double h_lo = mul_add(hf, f, -h);      // f²/2 − h
  const double y = hi - h;                     // y + y_lo = hi − h
  const double y_lo = (hi - y) - h;
  const double t = mul_add(s, h + r, mul_add(k, ln2_lo, c));
  return y + (((lo + y_lo) - h_lo) + t);
}

inline float log_kernel(float k, float f, float c) {
  constexpr float ln2_hi = Ln2<float>::hi, ln2_lo = Ln2<float>::lo;
  // Near-minimax fit of R(z)/z on 0 ≤ z ≤ 0.0295, rounded to float: the
  // polynomial's error is below 2⁻³¹ of the result.
  constexpr float lg1 = 0x1.555556p-1f;
  constexpr float lg2 = 0x1.9999f0p-2f;
  constexpr float lg3 = 0x1.245a08p-2f;
  constexpr float lg4 = 0x1.de4738p-3f;
  const float s = f / (2.0f + f);
  const float z = s * s;
  const float w = z * z;
  const float r = z * mul_add(w, lg3, lg1) + w * mul_add(w, lg4, lg2);
  const float a = k * ln2_hi;
  const float hi = a + f;
  const float lo = f - (hi - a);
  const float hf = 0.5f * f;
  const float h = hf * f;
  const float h_lo = mul_add(hf, f, -h);
  const float y = hi - h;
  const float y_lo = (hi - y) - h;
  const float t = mul_add(s, h + r, mul_add(k, ln2_lo, c));
  return y + (((lo + y_lo) - h_lo) + t);
}

// log(x) at float or double: the special values, and subnormal x scaled
// into the normal range by 2^(digits + 1) first. (These two are always
// inlined: a loop calling them vectorizes only then.)
template <class T> [[gnu::always_inline]] inline T log_of(T x) {
  constexpr T inf = std::numeric_limits<T>::infinity();
  constexpr int shift = std::numeric_limits<T>::digits + 1;
  constexpr T scale = T(std::uint64_t{1} << shift);
  const bool sub = x < std::numeric_limits<T>::min();
  const auto [k, m] = split(x * select(sub, scale, T(1)));
  const T y = log_kernel(k - select(sub, T(shift), T(0)), m - T(1), T(0));
  T special = select(x < T(0), std::numeric_limits<T>::quiet_NaN(), x);
  special = select(x == T(0), -inf, special);
  return select((x > T(0)) & (x < inf), y, special);
}

// log1p(x) at float or double: log(u) for u = 1 + x rounded, corrected by
// the rounding error of 1 + x (exact by Fast2Sum) over u; x itself when u's k
// is 0; the correction dropped at and above 2^(digits + 1), where it is below
// the result's ulp.
template <class T> [[gnu::always_inline]] inline T log1p_of(T x) {
  constexpr T inf = std::numeric_limits<T>::infinity();
  constexpr T large = T(std::uint64_t{1} << (std::numeric_limits<T>::digits + 1));
  const T u = T(1) + x;
  const auto [k, m] = split(u);
  const bool near = k == T(0);
  const T err = select(x < T(1), x - (u - T(1)), T(1) - (u - x));
  const T c = select(near | (x >= large), T(0), err) / u;
  const T y = log_kernel(k, select(near, x, m - T(1)), c);
  T special = select(x < T(-1), std::numeric_limits<T>::quiet_NaN(), x);
  special = select(x == T(-1), -inf, special);
  return select((x > T(-1)) & (x < inf) & (x != T(0)), y, special);
}

}  // namespace detail

inline double log(double x) { return detail::log_of(x); }
inline float log(float x) { return detail::log_of(x); }
inline double log1p(double x) { return detail::log1p_of(x); }
inline float log1p(float x) { return detail::log1p_of(x); }

}  // namespace ddx::vexp
