// A branch-free exp for float and double that the compiler vectorizes
// without -ffast-math: error ≤ 1 ulp over the whole range, subnormal results
// rounded (not flushed), exp(−inf) = 0, exp(+inf) = inf, NaN propagates.
//
// exp(x) = 2ⁿ · exp(r), n = round(x / ln 2), r = x − n·ln 2 (|r| ≤ ln2/2):
// - n comes from adding 1.5·2^(p−1) (p = mantissa bits): the sum rounds x/ln 2
//   to an integer and its low bits hold n, so no float-to-int conversion;
// - r = (x − n·ln2_hi) − n·ln2_lo, where ln2_hi has trailing zero bits so that
//   n·ln2_hi and the subtraction are exact (Cody–Waite);
// - exp(r) = 1 + (r + r²·P(r)) with P the Taylor tail (by Estrin's scheme)
//   and r's own rounding carried into the sum, so the result's error is the
//   last addition's half ulp plus a small fraction: measured, at most 0.93
//   ulp over 160 million random doubles, 0.875 over every float (0.906
//   without a fused multiply–add; tests/test_vexp.cpp holds the float exp
//   to these);
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

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

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

// The widest vector register of the target, in bytes: the kernels' GCC
// vectors are this wide. GCC 12 splits the arithmetic of a wider one into
// registers, but not its selects (x < low ? low : x), which it makes lane by
// lane in scalar code.
#if defined(__AVX512F__)
inline constexpr std::size_t kRegisterBytes = 64;
#elif defined(__AVX__)
inline constexpr std::size_t kRegisterBytes = 32;
#else
inline constexpr std::size_t kRegisterBytes = 16;
#endif

// a·b + c lane by lane, with mul_add's rounding (GCC turns the loop into the
// vector multiply–add).
template <class V>
  requires(!std::is_arithmetic_v<V>)
[[gnu::always_inline]] inline V mul_add(V a, V b, V c) {
  V out;
  for (std::size_t l = 0; l < sizeof(V) / sizeof(ScalarOf<V>); ++l) out[l] = mul_add(a[l], b[l], c[l]);
  return out;
}

// x clamped to [low, high] (Upper), or from below only, with a NaN x passed
// as it is. On a 512-bit vector with AVX-512, one max and one min
// instruction (whose second operand is what they give when either is NaN):
// GCC makes each select a compare and a blend there. Else two selects one
// after the other: written as one nested select, the scalar form's
// vectorized loops were 15% slower (GCC's split paths above).
template <bool Upper, class V> [[gnu::always_inline]] inline V clamped(V x, V low, V high) {
#if defined(__AVX512F__)
  if constexpr (!std::is_arithmetic_v<V> && sizeof(V) == 64) {
    if constexpr (std::is_same_v<ScalarOf<V>, float>) {
      const __m512 c = _mm512_max_ps(std::bit_cast<__m512>(low), std::bit_cast<__m512>(x));
      return std::bit_cast<V>(Upper ? _mm512_min_ps(std::bit_cast<__m512>(high), c) : c);
    } else {
      const __m512d c = _mm512_max_pd(std::bit_cast<__m512d>(low), std::bit_cast<__m512d>(x));
      return std::bit_cast<V>(Upper ? _mm512_min_pd(std::bit_cast<__m512d>(high), c) : c);
    }
  }
#endif
  V c = x < low ? low : x;
  if constexpr (Upper) c = x > high ? high : c;
  return c;
}

// Which arguments an exp takes: any, or only x ≤ 0 (and NaN), whose results
// cannot overflow, so the clamp has no upper side.
enum class Range { All, NonPositive };

// The constants of exp at double and float: the shifter 1.5·2^(p−1), the
// clamp (exp rounds to 0 below −745.14 and −103.97, overflows above 709.79
// and 88.73), the exponent's bias and field position, and the degree m of
// the Taylor polynomial.
template <class T> struct ExpConstants;
template <> struct ExpConstants<double> {
  static constexpr double shifter = 0x1.8p52, low = -746.0, high = 710.0;
  static constexpr int bias = 1023, mantissa = 52, degree = 13;
};
template <> struct ExpConstants<float> {
  static constexpr float shifter = 0x1.8p23f, low = -105.0f, high = 89.0f;
  static constexpr int bias = 127, mantissa = 23, degree = 8;
};

// 1/k! rounded to T (k! is exact in T for the degrees above).
template <class T> constexpr T inv_factorial(int k) {
  std::int64_t f = 1;
  for (int i = 2; i <= k; ++i) f *= i;
  return T(1) / static_cast<T>(f);
}

// The polynomial Σ r^(k−K)/k! over the N terms k = K … K + N − 1, by
// Estrin's scheme: the terms split where the lower part has h of them, h the
// largest power of two below N, into the lower part plus r^h times the upper,
// each part split the same way; so pairs 1/k! + r/(k+1)!, then pairs of
// those with r², then with r⁴, r⁸, a part without a partner carried up as it
// is. Its chain of dependent steps is about log2 N long where Horner's is N,
// so more elements' exps are in flight at once. r2, r4, r8: r², r⁴, r⁸.
// Written as compile-time recursion: a loop over an array of vectors made
// the kernels several times slower.
template <int K, int N, class V> [[gnu::always_inline]] inline V estrin(V r, V r2, V r4, V r8) {
  if constexpr (N == 1) {
    constexpr ScalarOf<V> c = inv_factorial<ScalarOf<V>>(K);
    return splat<V>(c);
  } else {
    constexpr int h = static_cast<int>(std::bit_floor(static_cast<unsigned>(N - 1)));
    const V high = estrin<K + h, N - h>(r, r2, r4, r8), low = estrin<K, h>(r, r2, r4, r8);
    if constexpr (h == 1) return mul_add(high, r, low);
    else if constexpr (h == 2) return mul_add(high, r2, low);
    else if constexpr (h == 4) return mul_add(high, r4, low);
    else return mul_add(high, r8, low);
  }
}

// P(r) = 1/2! + r/3! + … + r^(M−2)/M!, the Taylor series of exp after 1 + r,
// over r² (r2 = r·r), by Estrin's scheme. exp here and crmath.cpp's float exp
// evaluate their polynomials with it.
template <int M, class V> [[gnu::always_inline]] inline V estrin_tail(V r, V r2) {
  static_assert(M >= 3 && M <= 17, "Taylor terms to M: r^(2^i) for i < 4, and M! exact in T");
  const V r4 = r2 * r2;
  return estrin<2, M - 1>(r, r2, r4, r4 * r4);
}

template <Range R, class V> [[gnu::always_inline]] inline V exp_body(V x) {
  using T = ScalarOf<V>;
  using C = ExpConstants<T>;
  using Bits = typename Lanes<V>::Bits;
  const V shifter = splat<V>(C::shifter);
  const V xc = clamped<R == Range::All>(x, splat<V>(C::low), splat<V>(C::high));
  const V t = xc * std::numbers::log2e_v<T> + shifter;
  const V nt = t - shifter;
  // r = x − n·ln2 rounds when the two parts are subtracted: that rounding
  // alone, up to |r|/2 of an ulp of u, took the error past 1 ulp (1.002 at
  // x = −0x1.9dcc1065c6a9fp+7, double). Its error corr is added back with
  // the polynomial's term: exact by Fast2Sum when |x − n·ln2_hi| ≥ |n·ln2_lo|,
  // that is unless |r| < 2⁻²² (double) or 2⁻¹² (float), where r's rounding is
  // far below u's ulp.
  const V r_hi = xc - nt * Ln2<T>::hi;  // exact
  const V r_lo = -(nt * Ln2<T>::lo);
  const V r = r_hi + r_lo;
  const V corr = (r_hi - r) + r_lo;
  const V r2 = r * r;
  const V u = T(1) + (r + mul_add(estrin_tail<C::degree>(r, r2), r2, corr));
  // u·2ⁿ rounded once (a subnormal result too): on a 512-bit vector with
  // AVX-512, one vscalef (u·2^⌊nt⌋); else two products, by 2^(n − ⌊n/2⌋),
  // exact, then by 2^⌊n/2⌋, so that neither factor leaves the normal range.
  // The same values either way (tests/test_vexp.cpp, built native).
#if defined(__AVX512F__)
  if constexpr (!std::is_arithmetic_v<V> && sizeof(V) == 64) {
    if constexpr (std::is_same_v<T, float>)
      return std::bit_cast<V>(_mm512_scalef_ps(std::bit_cast<__m512>(u), std::bit_cast<__m512>(nt)));
    else
      return std::bit_cast<V>(_mm512_scalef_pd(std::bit_cast<__m512d>(u), std::bit_cast<__m512d>(nt)));
  }
#endif
  const Bits n = std::bit_cast<Bits>(t) - std::bit_cast<Bits>(shifter);
  const Bits n_low = n >> 1;
  const Bits n_high = n - n_low;
  const V scale_low = std::bit_cast<V>((n_low + C::bias) << C::mantissa);
  const V scale_high = std::bit_cast<V>((n_high + C::bias) << C::mantissa);
  // A NaN x passes the clamp's comparisons as it is and every step after,
  // so y is NaN: no select for it.
  return (u * scale_high) * scale_low;
}

}  // namespace detail

// exp of one float or double. Always inlined, as exp_nonpositive below: a
// loop of calls vectorizes only once the call is gone, and the body is past
// what GCC inlines by its own measure at some targets (AVX-512).
[[gnu::always_inline]] inline double exp(double x) { return detail::exp_body<detail::Range::All>(x); }
[[gnu::always_inline]] inline float exp(float x) { return detail::exp_body<detail::Range::All>(x); }

// exp(x) for x ≤ 0 (or NaN), as exp gives it, with one comparison and one
// select less: the kernels' shifted logits zⱼ − max z are never positive.
[[gnu::always_inline]] inline double exp_nonpositive(double x) { return detail::exp_body<detail::Range::NonPositive>(x); }
[[gnu::always_inline]] inline float exp_nonpositive(float x) { return detail::exp_body<detail::Range::NonPositive>(x); }

// The same on every lane of a GCC vector of floats or doubles, in place
// (each lane gets the scalar call's value).
template <class V>
  requires(!std::is_arithmetic_v<V>)
[[gnu::always_inline]] inline void exp_lanes(V& x) {
  x = detail::exp_body<detail::Range::All>(x);
}
template <class V>
  requires(!std::is_arithmetic_v<V>)
[[gnu::always_inline]] inline void exp_nonpositive_lanes(V& x) {
  x = detail::exp_body<detail::Range::NonPositive>(x);
}

}  // namespace ddx::vexp
