// The error of a float or double result against a wider truth, in ulps, or
// none (same bits), for the tests of the vectorized and correctly rounded
// math (engine/math/) and the row kernels that run on it.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace ddx {

template <class T> using Bits = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;

// Same bits (so +0 and −0 differ), or both NaN: how a correctly rounded
// result is compared with the truth.
template <class T> bool same(T a, T b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<Bits<T>>(a) == std::bit_cast<Bits<T>>(b);
}

// A wide truth (a Boost multiprecision number) rounded to nearest in T:
// Boost's conversion or a neighbour, whichever is nearest (compared exactly
// in the wide type); ±inf at and beyond the overflow threshold max + ulp/2;
// a non-finite truth as itself.
template <class T, class Big> T correctly_rounded(const Big& truth) {
  constexpr T max = std::numeric_limits<T>::max();
  if (!isfinite(truth)) return truth.template convert_to<T>();
  const Big threshold = Big(max) + (Big(max) - Big(std::nextafter(max, T(0)))) / 2;
  if (truth >= threshold) return std::numeric_limits<T>::infinity();
  if (truth <= -threshold) return -std::numeric_limits<T>::infinity();
  T c = truth.template convert_to<T>();
  if (std::isinf(c)) c = std::copysign(max, c);
  T best = c;
  for (T neighbour : {std::nextafter(c, -max), std::nextafter(c, max)})
    if (abs(Big(neighbour) - truth) < abs(Big(best) - truth)) best = neighbour;
  return best;
}

// |result − truth| in units of the result type's ulp at the truth (the
// subnormal spacing below the normal range); inf when a finite truth gave a
// non-finite result or the other way round.
template <class T> double ulps(T result, long double truth) {
  constexpr long double kMax = std::numeric_limits<T>::max();
  constexpr int kDigits = std::numeric_limits<T>::digits;
  // Truths at or beyond the overflow threshold round to inf.
  const long double overflow = kMax * (1.0L + std::ldexp(1.0L, -kDigits - 1));
  if (truth >= overflow) return std::isinf(result) && result > 0 ? 0.0 : INFINITY;
  if (!std::isfinite(result)) return INFINITY;
  int exponent = 0;
  (void)std::frexp(std::fabs(truth), &exponent);
  long double ulp = std::ldexp(1.0L, exponent - kDigits);
  const long double smallest = std::numeric_limits<T>::denorm_min();
  if (ulp < smallest) ulp = smallest;
  return static_cast<double>(std::fabs(static_cast<long double>(result) - truth) / ulp);
}

}  // namespace ddx
