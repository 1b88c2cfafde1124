// The math of the fused softmax–cross-entropy ops, one row at a time, in the
// accurate forms of Blanchard, Higham & Higham ("Accurately computing the
// log-sum-exp and softmax functions", IMA J. Numer. Anal. 2021).
//
// For a row z of n logits let a = max z, k = the first index where zₖ = a,
// eⱼ = exp(zⱼ − a) and s = Σ_{j≠k} eⱼ (so eₖ = 1 is never added to s). Then
//
//   lse(z)          = a + log1p(s)
//   log_softmax(z)ⱼ = (zⱼ − a) − log1p(s)
//   softmax(z)ⱼ     = eⱼ / (1 + s)
//   L(z, class y)   = (a − z_y) + log1p(s)       two non-negative terms
//   ∂L/∂z_y         = p_y − 1 = −(1 + s_y)/(1 + s)   s_y = Σ_{j∉{k,y}} eⱼ (y ≠
//   k)
//                   = −s/(1 + s)                     (y = k)
//
// so no result is a difference of two nearly equal numbers: the loss keeps its
// relative accuracy when it is 1e-300, and so does the target's gradient.
//
// Every function is a template over the scalar type (float, double, long
// double, Float50, Float100) and reads and writes plain arrays: a batch of
// rows ([rows, n], row-major), or one row.
//
// For float and double the row loops run on the vectorized exp and log1p of
// engine/math/vexp.hpp and vlog.hpp, in three passes: the max; exp stored
// (in the output) and summed; the scale. exp runs once per element; short
// rows go 64 bytes of rows at a time, one row per lane (those left over, and
// a row alone, in vector registers one at a time), and a longer row's max is
// read during the previous row's exp pass and its scale done during the next
// row's (over_rows). The sums use one
// accumulator per vector lane (so the loop vectorizes without reassociating
// flags), float's in double and double's compensated (ExpSums); the eₖ = 1 of
// the maxima are counted apart and added as integers, so s is still
// Σ_{j≠k} eⱼ with no 1 ever added to the small terms.
#pragma once

#include <algorithm>
#include <bit>
#include <boost/multiprecision/cpp_bin_float.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "engine/math/vexp.hpp"
#include "engine/math/vlog.hpp"
#include "ops/lanes.hpp"

namespace ddx::fused {

// Float and double take the vectorized row loops.
template <class T> inline constexpr bool kVectorized = std::is_same_v<T, float> || std::is_same_v<T, double>;

// A GCC vector of floats or doubles: the explicit lanes of the row loops.
template <class T> inline constexpr bool kLaneVector = false;
template <class T>
  requires(!std::is_class_v<T> && !std::is_pointer_v<T> && requires(T v) { v[0]; })
inline constexpr bool kLaneVector<T> = kVectorized<std::remove_cvref_t<decltype(std::declval<T>()[0])>>;

// e / d from rcp = 1/d (rounded to nearest). With a fused multiply–add the
// quotient q = e·rcp is within an ulp, the residual e − q·d is exact, and one
// correction step q + residual·rcp rounds to the correctly rounded e / d (for
// results in the normal range): three multiply–adds instead of a division,
// and the same value. T may be a GCC vector of floats or doubles (lane by
// lane, the same values).
template <class T> [[gnu::always_inline]] inline T divide(const T& e, const T& d, const T& rcp) {
#if defined(__FMA__)
  if constexpr (kVectorized<T> || kLaneVector<T>) {
    const T q = e * rcp;
    return vexp::detail::mul_add(vexp::detail::mul_add(-q, d, e), rcp, q);
  }
#endif
  (void)rcp;
  return e / d;
}

// scale·eⱼ/(1 + s) from rcp = 1/(1 + s): a probability times scale.
template <class T> [[gnu::always_inline]] inline T scaled_quotient(const T e, const T d, const T rcp, const T scale) {
  return scale * divide(e, d, rcp);
}

namespace detail {

// Vector lanes per accumulator block: one register of the target's widest
// (512 bits with AVX-512, 256 with AVX, else 128). A wider GCC vector would
// have its selects made lane by lane in scalar code (vexp::detail::
// kRegisterBytes): 64-byte lanes made the fused kernel 2–9× slower without
// AVX-512 (bench/NOTES.md).
template <class T> inline constexpr int kLanes = static_cast<int>(vexp::detail::kRegisterBytes / sizeof(T));

// The lanes of one such register of T.
template <class T> using LanesOf [[gnu::vector_size(vexp::detail::kRegisterBytes)]] = T;

// The vector {0, 1, …, kLanes − 1} (one constant, not built lane by lane).
template <class T> constexpr LanesOf<T> lane_indices() {
  return []<std::size_t... I>(std::index_sequence<I...>) {
    return LanesOf<T>{static_cast<T>(I)...};
  }(std::make_index_sequence<kLanes<T>>());
}

// The largest lane of m, comparing it with itself rotated by H lanes, then
// by H/2, …, 1: among equal lanes, the lowest.
template <class T, int H = kLanes<T> / 2> [[gnu::always_inline]] inline T max_of_lanes(LanesOf<T> m) {
  if constexpr (H == 0) {
    return m[0];
  } else {
    const LanesOf<T> shifted = rotated_lanes<H>(m);
    return max_of_lanes<T, H / 2>(shifted > m ? shifted : m);
  }
}

// The first m (1 ≤ m ≤ kLanes<T>) values at p in the first lanes of a
// vector, fill in the others; and the first m lanes of v stored to p. Neither
// reads or writes past p + m: one masked load or store with AVX-512 or AVX,
// else lane by lane through memory.
template <class T> [[gnu::always_inline]] inline LanesOf<T> load_first(const T* p, int m, T fill) {
#if defined(__AVX512F__)
  const auto mask = static_cast<std::uint16_t>((1u << m) - 1);
  if constexpr (std::is_same_v<T, float>)
    return std::bit_cast<LanesOf<T>>(_mm512_mask_loadu_ps(_mm512_set1_ps(fill), mask, p));
  else
    return std::bit_cast<LanesOf<T>>(_mm512_mask_loadu_pd(_mm512_set1_pd(fill), static_cast<__mmask8>(mask), p));
#elif defined(__AVX__)
  const auto in = lane_indices<T>() < T(m);
  LanesOf<T> v;
  if constexpr (std::is_same_v<T, float>)
    v = std::bit_cast<LanesOf<T>>(_mm256_maskload_ps(p, std::bit_cast<__m256i>(in)));
  else
    v = std::bit_cast<LanesOf<T>>(_mm256_maskload_pd(p, std::bit_cast<__m256i>(in)));
  return in ? v : vexp::detail::splat<LanesOf<T>>(fill);
#else
  T lanes[kLanes<T>];
  for (int l = 0; l < kLanes<T>; ++l) lanes[l] = l < m ? p[l] : fill;
  LanesOf<T> v;
  std::memcpy(&v, lanes, sizeof v);
  return v;
#endif
}
template <class T> [[gnu::always_inline]] inline void store_first(T* p, int m, LanesOf<T> v) {
#if defined(__AVX512F__)
  const auto mask = static_cast<std::uint16_t>((1u << m) - 1);
  if constexpr (std::is_same_v<T, float>)
    _mm512_mask_storeu_ps(p, mask, std::bit_cast<__m512>(v));
  else
    _mm512_mask_storeu_pd(p, static_cast<__mmask8>(mask), std::bit_cast<__m512d>(v));
#elif defined(__AVX__)
  const auto in = std::bit_cast<__m256i>(lane_indices<T>() < T(m));
  if constexpr (std::is_same_v<T, float>)
    _mm256_maskstore_ps(p, in, std::bit_cast<__m256>(v));
  else
    _mm256_maskstore_pd(p, in, std::bit_cast<__m256d>(v));
#else
  for (int l = 0; l < m; ++l) p[l] = v[l];
#endif
}

// max z over a row (the first element if n = 1), a register of lanes at a
// time.
template <class T> T row_max(const T* z, std::int64_t n) {
  constexpr int L = kLanes<T>;
  using Lanes = LanesOf<T>;
  T m = z[0];
  std::int64_t j = 0;
  if (n >= L) {
    Lanes lane, next;
    std::memcpy(&lane, z, sizeof lane);
    for (j = L; j + L <= n; j += L) {
      std::memcpy(&next, z + j, sizeof next);
      lane = next > lane ? next : lane;
    }
    for (int l = 0; l < L; ++l) m = lane[l] > m ? lane[l] : m;
  }
  T m2 = m;  // the rest in two chains, so short rows wait half as long
  for (; j + 1 < n; j += 2) {
    m = z[j] > m ? z[j] : m;
    m2 = z[j + 1] > m2 ? z[j + 1] : m2;
  }
  if (j < n) m = z[j] > m ? z[j] : m;
  return m2 > m ? m2 : m;
}

// Off-max sums of one row: Σ exp(zⱼ − a) over the j with zⱼ ≠ a, and the
// count of the j with zⱼ = a (whose exp is exactly 1), one accumulator per
// lane. Mode Compute computes the exps, Store also writes them to e.
enum class Exps { Compute, Store };

// The off-max sum is kept where its rounding errors stay far below an ulp
// of T: added in T, the errors of the additions pile up to about n/L units
// in the last place when the terms are alike (logits [a, 0, …, 0] lost 18
// ulps at 100 classes and 14 499 at 100 000). Float's is added in double,
// where its terms are exact and its n additions (of terms of one sign) lose
// at most about n/L·2⁻⁵³ of it: s is its one rounding to float. Double's is
// compensated: each addition's error is kept (TwoSum, exactly) in an error
// term of its own, added in at the end.
template <class T> inline constexpr bool kSumInDouble = std::is_same_v<T, float>;
template <class T> using SumOf = std::conditional_t<kSumInDouble<T>, double, T>;

template <class T> struct ExpSums {
  SumOf<T> off_max = 0;  // Σ_{zⱼ≠a} eⱼ, with (compensated) the rounding errors of its additions in off_err
  SumOf<T> off_err = 0;
  T at_max = T(0);       // #{j : zⱼ = a}

  // s = Σ_{j≠k} eⱼ: the maxima after the first are exact ones.
  T s() const { return T(SumOf<T>(off_max + SumOf<T>(at_max - T(1))) + off_err); }
};

// sum + x into sum, the addition's rounding error into err (TwoSum: the
// error is exact; err's own additions are of terms ulp-sized against sum):
// for one value, or lane by lane for a GCC vector. Adding 0 leaves both as
// they are.
template <class V> [[gnu::always_inline]] inline void add_compensated(V& sum, V& err, const V x) {
  const V t = sum + x;
  const V bb = t - sum;
  err += (sum - (t - bb)) + (x - bb);
  sum = t;
}

// x (a value of SumOf<T>, or a GCC vector of them) into a partial off-max
// sum of T: added to sum in double for float; for double, added
// compensated, its error into err.
template <class T, class V> [[gnu::always_inline]] inline void add_to_sum(V& sum, V& err, const V x) {
  if constexpr (kSumInDouble<T>)
    sum += x;
  else
    add_compensated(sum, err, x);
}

// What one exp x = exp(zⱼ − a) adds to the off-max sum (x, or 0 when zⱼ = a)
// and to the count of the other terms, those not at the max (1 when zⱼ ≠ a,
// as a select, which GCC makes a masked addition):
// for one logit, or lane by lane for a GCC vector of them. The maxima are
// the row's n terms less the others.
template <class V, class T> [[gnu::always_inline]] inline V off_max_term(const V zj, const T a, const V x) {
  return zj == a ? vexp::detail::splat<V>(T(0)) : x;
}
template <class V, class T> [[gnu::always_inline]] inline void count_other(V& count, const V zj, const T a) {
  count = zj == a ? count : count + T(1);
}

// The count of a row's other terms, those not at the max, on the comparison
// the sums make. With AVX-512 the comparison is a mask register and the
// count its population count, added in an integer register (a vector
// operation fewer per tally, and a vector register free); else a count per
// lane, added as a select.
#if defined(__AVX512F__)
template <class T> using OtherCount = std::int64_t;
#else
template <class T> using OtherCount = LanesOf<T>;
#endif

// A row's off-max sums one per lane of a register of T (partial p takes
// the terms in lane p), and the count of the other terms (OtherCount).
// Float's partials are doubles, two registers of them: lanes [0, L/2) in
// low, [L/2, L) in high. Double's are a register with a register of their
// errors.
template <class T> struct LaneSums;
template <> struct LaneSums<float> {
  LanesOf<double> low{}, high{};
  OtherCount<float> others{};
};
template <> struct LaneSums<double> {
  LanesOf<double> off{}, err{};
  OtherCount<double> others{};
};

// A register of floats converted to doubles: two registers' worth.
using FloatLanesAsDoubles [[gnu::vector_size(2 * vexp::detail::kRegisterBytes)]] = double;

// The lanes [Part·N, Part·N + N) of w, N the lanes of a register of doubles.
template <int Part, class W> [[gnu::always_inline]] inline LanesOf<double> part_of(const W& w) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return __builtin_shufflevector(w, w, static_cast<int>(Part * sizeof...(I) + I)...);
  }(std::make_index_sequence<kLanes<double>>());
}

// A register of exps x = exp(zⱼ − a) into a row's lane sums: off_max_term
// (x, or 0 at a maximum) into the partials, which leaves a partial as it is
// when it is 0, and the other terms counted on the same comparison. With
// AVX-512, the comparison's mask zeroes the maxima (for float, in the
// conversions to double) and is counted by popcount.
template <class T, class Lanes>
[[gnu::always_inline]] inline void tally(LaneSums<T>& sums, const Lanes zj, const T a, const Lanes x) {
#if defined(__AVX512F__)
  static_assert(sizeof(Lanes) == 64);
  if constexpr (kSumInDouble<T>) {
    const __mmask16 other = _mm512_cmp_ps_mask(std::bit_cast<__m512>(zj), _mm512_set1_ps(a), _CMP_NEQ_UQ);
    const auto half = [&]<int... I>(std::integer_sequence<int, I...>) {
      return std::bit_cast<__m256>(__builtin_shufflevector(x, x, I...));
    };
    const __m256 low = half(std::integer_sequence<int, 0, 1, 2, 3, 4, 5, 6, 7>{});
    const __m256 high = half(std::integer_sequence<int, 8, 9, 10, 11, 12, 13, 14, 15>{});
    sums.low += std::bit_cast<LanesOf<double>>(_mm512_maskz_cvtps_pd(other, low));
    sums.high += std::bit_cast<LanesOf<double>>(_mm512_maskz_cvtps_pd(static_cast<__mmask8>(other >> 8), high));
    sums.others += std::popcount(static_cast<unsigned>(other));
  } else {
    const __mmask8 other = _mm512_cmp_pd_mask(std::bit_cast<__m512d>(zj), _mm512_set1_pd(a), _CMP_NEQ_UQ);
    add_compensated(sums.off, sums.err, std::bit_cast<Lanes>(_mm512_maskz_mov_pd(other, std::bit_cast<__m512d>(x))));
    sums.others += std::popcount(static_cast<unsigned>(other));
  }
#else
  const Lanes off = off_max_term(zj, a, x);
  if constexpr (kSumInDouble<T>) {
    const auto wide = __builtin_convertvector(off, FloatLanesAsDoubles);
    sums.low += part_of<0>(wide);
    sums.high += part_of<1>(wide);
  } else {
    add_compensated(sums.off, sums.err, off);
  }
  count_other(sums.others, zj, a);
#endif
}

// One step of the folds below: partial sum q (off_q, with its error err_q
// when compensated) into partial sum p: for one value, or lane by lane for
// a GCC vector.
template <class T, class V>
[[gnu::always_inline]] inline void fold_into(V& off_p, V& err_p, const V& off_q, const V& err_q) {
  add_to_sum<T>(off_p, err_p, off_q);
  if constexpr (!kSumInDouble<T>) err_p += err_q;
}

// The lanes of v added by halves: lane p taking lane p + H for H = half the
// lanes, a quarter, …, 1 (fold_into), so that the sum is in lane 0 after
// log2 of the lanes steps; err the errors of compensated sums.
template <class T, class V, int H = static_cast<int>(sizeof(V) / sizeof(SumOf<T>)) / 2>
[[gnu::always_inline]] inline void fold_halves(V& v, V& err) {
  if constexpr (H > 0) {
    fold_into<T>(v, err, rotated_lanes<H>(v), rotated_lanes<H>(err));
    fold_halves<T, V, H / 2>(v, err);
  }
}

// The sum of a register's lanes, by halves (exact for counts, which are
// integers: in any order).
template <class T, int H = kLanes<T> / 2> [[gnu::always_inline]] inline T sum_of_lanes(LanesOf<T> v) {
  if constexpr (H == 0)
    return v[0];
  else
    return sum_of_lanes<T, H / 2>(v + rotated_lanes<H>(v));
}

// The count of the other terms in its OtherCount form.
template <class T> [[gnu::always_inline]] inline std::int64_t others_in(const std::int64_t count) { return count; }
template <class T> [[gnu::always_inline]] inline std::int64_t others_in(const LanesOf<T>& count) {
  return static_cast<std::int64_t>(sum_of_lanes<T>(count));
}

// A row's kLanes<T> partial sums into one, for a row of n terms (lanes past
// its end hold maxima): by halves, partial p taking partial p + H for H =
// kLanes/2, kLanes/4, …, 1, so the partials' sum is in lane 0 after log2
// kLanes steps, not kLanes (for float, the first step is low + high). Every
// path gives a row this fold (over_row_groups the same steps on partials
// held a vector each). The maxima are the n terms less the others.
template <class T> [[gnu::always_inline]] inline ExpSums<T> fold_lanes(LaneSums<T> sums, std::int64_t n) {
  const T at_max = T(n - others_in<T>(sums.others));
  if constexpr (kSumInDouble<T>) {
    LanesOf<double> off = sums.low, none{};
    fold_into<T>(off, none, sums.high, none);
    fold_halves<T>(off, none);
    return {off[0], 0.0, at_max};
  } else {
    fold_halves<T>(sums.off, sums.err);
    return {sums.off[0], sums.err[0], at_max};
  }
}

// fold_lanes on a vector of rows at once (a GCC vector V of SumOf<T>, one
// row per lane): partial p of row l in lane l of off[p] (and err[p]),
// kLanes<T> partials; the sums end in off[0] (and err[0]).
template <class T, class V, int H = kLanes<T> / 2>
[[gnu::always_inline]] inline void fold_partials(V* off, V* err) {
  for (int p = 0; p < H; ++p) fold_into<T>(off[p], err[p], off[p + H], err[p + H]);
  if constexpr (H > 1) fold_partials<T, V, H / 2>(off, err);
}

// The exps of a row (n of them, as the row exp_sums runs on) still to be
// scaled to scale·eⱼ/d (what Normalised asks for): scaled_quotient(eⱼ, d,
// rcp, scale) with rcp = 1/d, or, with scale folded in (unscaled_row),
// divide(eⱼ, d, rcp) and scale 1.
template <class T> struct Unscaled {
  T* __restrict e;
  T d, rcp, scale;
  bool folded = false;  // scale is 1: kept as a flag, not compared in exp_sums' loop, where
                        // GCC redid the comparison on the vector unit every iteration
};

// Whether x is a power of two (±2ᵏ) in T's normal range.
template <class T> [[gnu::always_inline]] inline bool is_power_of_two(const T x) {
  using Bits = typename vexp::detail::Lanes<T>::Bits;
  constexpr Bits mantissa = (Bits(1) << (std::numeric_limits<T>::digits - 1)) - 1;
  return std::isnormal(x) && (std::bit_cast<Bits>(x) & mantissa) == 0;
}

// Row e's scaling by scale·eⱼ/d, rcp = 1/d. At float and double a scale that
// is a power of two (1/B for a batch of B = 2ᵏ rows) is folded into the
// divisor: eⱼ/(d/scale), with rcp·scale its reciprocal. Both are exact when
// they are normal, so every product and residual of divide is the unfolded
// one times a power of two: the same quotient wherever it is normal, with
// one multiplication fewer per element. Every path scales through this, so
// a row gets the same values (subnormal ones too) whichever path it takes.
// inverse is 1/scale (computed once for many rows where it can be).
template <class T>
[[gnu::always_inline]] inline Unscaled<T> unscaled_row(T* e, const T d, const T rcp, const T scale, const T inverse) {
  if constexpr (kVectorized<T>) {
    const T folded_d = d * inverse, folded_rcp = rcp * scale;
    if (is_power_of_two(scale) && std::isnormal(folded_d) && std::isnormal(folded_rcp))
      return {e, folded_d, folded_rcp, T(1), true};
  }
  return {e, d, rcp, scale};
}

// That scaling in a pass of its own.
template <class T> [[gnu::always_inline]] inline void scale_row(const Unscaled<T> row, std::int64_t n) {
  const T d = row.d, rcp = row.rcp, scale = row.scale;  // locals: e may alias what row came from
  for (std::int64_t j = 0; j < n; ++j) row.e[j] = scaled_quotient(row.e[j], d, rcp, scale);
}

// With next not null (the next row, n values), also *next_max = max next,
// read in the same loop: the next row's max pass then costs no pass of its
// own (the exp loop has room for a load and a max per vector). With previous
// not null, the previous row's exps are scaled in the same loop: a pass of
// their own is bound by its stores, and here they share the loop with the
// exps' arithmetic.
template <Exps Mode, class T>
ExpSums<T> exp_sums(const T* __restrict z, const T a, T* __restrict e, std::int64_t n,
                    const T* __restrict next = nullptr, T* next_max = nullptr,
                    const Unscaled<T>* previous = nullptr) {
  constexpr int L = kLanes<T>;
  // The lanes as explicit vectors: GCC's own vectorization of a scalar exp in
  // this loop masks out the lanes it finds constant after splitting the paths of
  // exp's clamp, about a fifth more instructions.
  using Lanes = LanesOf<T>;
  const auto load = [](const T* p) {
    Lanes v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  // The next row streams from memory: its line kAhead logits on is asked
  // for now (1 KB ahead: 5–9% faster at 1024×32000 than the hardware's
  // prefetch alone, with z, e and the next row in three streams).
  constexpr std::int64_t kAhead = 1024 / sizeof(T);
  LaneSums<T> sums;
  Lanes top;
  const Unscaled<T> by = previous ? *previous : Unscaled<T>{nullptr, T(0), T(0), T(0)};
  T* __restrict unscaled = by.e;
  using vexp::detail::splat;
  const Lanes d = splat<Lanes>(by.d), rcp = splat<Lanes>(by.rcp), scale = splat<Lanes>(by.scale);
  const bool folded = by.folded;  // then the product by scale = 1 is left out
  std::int64_t j = 0;
  const bool whole = n >= L;  // a vector's worth of the row: else all of it is the end below
  if (next && whole) top = load(next);
  // Each vector is tallied kLag vectors after its exp. A tally's operations
  // wait for the end of the exp's chain of dependent steps (about 50
  // cycles), and while they wait they hold places in the processor's
  // scheduler that the next vectors' exps need; kLag vectors on, the exp is
  // done (3–9% faster at 256×1000 and 1024×32000; bench/NOTES.md). Two
  // vectors since the tally's count went to an integer register and the
  // scale into the divisor: three then left GCC short of vector registers.
  // The tallies keep their order, so the sums are the same. The pending slots
  // start as maxima with exp 0, which a tally takes as adding 0 (sum and
  // error unchanged) and counts as no other term.
  constexpr int kLag = 2;
  Lanes lag_z[kLag], lag_x[kLag];
  for (int i = 0; i < kLag; ++i) lag_z[i] = splat<Lanes>(a), lag_x[i] = Lanes{};
  for (; j + L <= n; j += L) {
    const Lanes zj = load(z + j);
    Lanes x = zj - a;
    vexp::exp_nonpositive_lanes(x);
    if constexpr (Mode == Exps::Store) std::memcpy(e + j, &x, sizeof x);
    tally(sums, lag_z[0], a, lag_x[0]);
    for (int i = 0; i + 1 < kLag; ++i) lag_z[i] = lag_z[i + 1], lag_x[i] = lag_x[i + 1];
    lag_z[kLag - 1] = zj, lag_x[kLag - 1] = x;
    if (next) {
      __builtin_prefetch(next + std::min(j + kAhead, n - 1));
      const Lanes v = load(next + j);
      top = v > top ? v : top;
    }
    if (unscaled) {
      Lanes q = divide(load(unscaled + j), d, rcp);
      if (!folded) q *= scale;
      std::memcpy(unscaled + j, &q, sizeof q);
    }
  }
  // The row's end, fewer than L logits, as one more vector: the lanes past
  // it hold a, maxima that add nothing (and whose exps are 1: exp(−∞) would
  // go through exp's clamp to a subnormal product, a microcode assist). Each
  // term is in the lane the tally of the whole vectors would give it, and is
  // added last.
  const int rest = static_cast<int>(n - j);
  Lanes end_z, end_x;
  if (rest > 0) {
    end_z = load_first(z + j, rest, a);
    end_x = end_z - a;
    vexp::exp_nonpositive_lanes(end_x);
    if constexpr (Mode == Exps::Store) store_first<T>(e + j, rest, end_x);
  }
  for (int i = 0; i < kLag; ++i) tally(sums, lag_z[i], a, lag_x[i]);
  if (rest > 0) tally(sums, end_z, a, end_x);
  if (next) {
    if (whole && rest > 0) {
      const Lanes v = load_first(next + j, rest, -std::numeric_limits<T>::infinity());
      top = v > top ? v : top;
    }
    *next_max = whole ? max_of_lanes<T>(top) : row_max(next, n);
  }
  if (unscaled && rest > 0)
    store_first<T>(unscaled + j, rest, scaled_quotient(load_first(unscaled + j, rest, T(0)), d, rcp, scale));
  return fold_lanes(sums, n);
}

// Transposes, for the row groups below (rows into columns and back): whole
// W×W tiles in vector registers, W values of T to the widest vector the
// target shuffles in one instruction, and the edges element by element.
#if defined(__AVX__)
inline constexpr int kShuffleBytes = 32;
#else
inline constexpr int kShuffleBytes = 16;
#endif

// Bit S of the row index and of the column index of a tile swapped: with x,
// y rows i and i + S (bit S of i clear), x's odd S-wide blocks trade places
// with y's even ones.
template <int S, class V, std::size_t... C>
[[gnu::always_inline]] inline void swap_blocks(V& x, V& y, std::index_sequence<C...>) {
  constexpr int W = sizeof...(C);
  const V lo = __builtin_shufflevector(x, y, (int(C) & S ? W + int(C) - S : int(C))...);
  const V hi = __builtin_shufflevector(x, y, (int(C) & S ? W + int(C) : int(C) + S)...);
  x = lo;
  y = hi;
}

// Every bit from S down to 1, on the rows r[0..W) of a W×W tile: its
// transpose.
template <int S, std::size_t I, class V, class Tile> [[gnu::always_inline]] inline void swap_rows(V* r, Tile tile) {
  if constexpr (!(I & S)) swap_blocks<S>(r[I], r[I + S], tile);
}
template <int S, class V, std::size_t... I>
[[gnu::always_inline]] inline void swap_bits(V* r, std::index_sequence<I...> tile) {
  if constexpr (S >= 1) {
    (swap_rows<S, I>(r, tile), ...);
    swap_bits<S / 2>(r, tile);
  }
}

// One W×W tile, dst[j·ld_dst + i] = src[i·ld_src + j] for i, j < W, its
// rows held in W registers (every index a constant, so none goes to memory).
template <class T, std::size_t... I>
[[gnu::always_inline]] inline void transpose_tile(const T* src, std::int64_t ld_src, T* dst, std::int64_t ld_dst,
                                                  std::index_sequence<I...> tile) {
  constexpr int W = sizeof...(I);
  typedef T V __attribute__((vector_size(sizeof(T) * W)));
  V r[W];
  (std::memcpy(&r[I], src + I * ld_src, sizeof(V)), ...);
  swap_bits<W / 2>(r, tile);
  (std::memcpy(dst + I * ld_dst, &r[I], sizeof(V)), ...);
}

// dst[j·ld_dst + i] = src[i·ld_src + j] for i < rows, j < cols.
template <class T>
void transpose(const T* __restrict src, std::int64_t ld_src, T* __restrict dst, std::int64_t ld_dst,
               std::int64_t rows, std::int64_t cols) {
  constexpr int W = kShuffleBytes / static_cast<int>(sizeof(T));
  const std::int64_t whole_rows = rows - rows % W, whole_cols = cols - cols % W;
  for (std::int64_t i0 = 0; i0 < whole_rows; i0 += W)
    for (std::int64_t j0 = 0; j0 < whole_cols; j0 += W)
      transpose_tile(src + i0 * ld_src + j0, ld_src, dst + j0 * ld_dst + i0, ld_dst, std::make_index_sequence<W>{});
  for (std::int64_t i = 0; i < rows; ++i)  // the edges: the last columns, then the last rows
    for (std::int64_t j = i < whole_rows ? whole_cols : 0; j < cols; ++j) dst[j * ld_dst + i] = src[i * ld_src + j];
}

// Rows shorter than this go in row groups (over_row_groups, below); longer
// ones one at a time through exp_sums. With AVX-512 the groups are the
// faster below three vectors of logits (float n < 48, double n < 24), the
// row loop from there on (at 64 floats in 0.8 of the groups' time, at 128 in
// 0.6). With AVX2 the groups' loops, over 64 bytes of rows in two
// registers, took 1.07–5.6 times the row loop's time at every n from 3 to
// 256 (bench/NOTES.md): no row goes in a group there. With SSE2 alone, where
// a row of up to 5 logits took the row loop 1.1–2.5 times the groups' time
// (and from 8 on 0.36–0.87), rows of fewer than 8 do.
#if defined(__AVX512F__)
template <class T> inline constexpr std::int64_t kGroupedBelow = 3 * kLanes<T>;
#elif defined(__AVX__)
template <class T> inline constexpr std::int64_t kGroupedBelow = 0;
#else
template <class T> inline constexpr std::int64_t kGroupedBelow = 8;
#endif

}  // namespace detail

// log1p at every scalar type: float and double on the vectorizable one.
template <class T> T log1p_of(const T& s) {
  if constexpr (kVectorized<T>) {
    return vexp::log1p(s);
  } else {
    using boost::multiprecision::log1p;
    using std::log1p;
    return log1p(s);
  }
}

// a = max z and the first index k where it is attained.
template <class T> std::int64_t arg_max(const T* z, std::int64_t n) {
  std::int64_t k = 0;
  for (std::int64_t j = 1; j < n; ++j)
    if (z[j] > z[k]) k = j;
  return k;
}

// How over_rows leaves the exps it keeps: as they are (no Normalised), or as
// probabilities times scale, scale·eⱼ/(1 + s), written while the rows are
// still in vector lanes. RowSums then also holds rcp = 1/(1 + s) and, with
// labels not null, the exp at labels[r] before the scaling.
template <class T> struct Normalised {
  T scale;
  const std::int64_t* labels = nullptr;
};

// What one row's forward pass leaves for the rest: the max a,
// s = Σ_{j≠k} exp(zⱼ − a) and log1p(s).
template <class T> struct RowSums {
  T max;
  T s;
  T log1p_s;
  // When over_rows leaves the exps Normalised: 1/(1 + s), and exp(z_y − a)
  // at y = labels[r] when it is given labels.
  T rcp = T(0);
  T at_label = T(0);
};

namespace detail {

// What Normalised asks of row r's exps e (after its sums, before finish):
// sums.at_label and sums.rcp set, and the scaling still to do. The first
// form is given the exp at the row's label (used only when how has labels),
// the second reads it from e.
template <class T>
[[gnu::always_inline]] inline Unscaled<T> to_normalise(T* e, RowSums<T>& sums, const Normalised<T>& how,
                                                      const T at_label) {
  if (how.labels) sums.at_label = at_label;
  const T d = T(1) + sums.s, rcp = T(1) / d;
  sums.rcp = rcp;
  return unscaled_row(e, d, rcp, how.scale, T(1) / how.scale);
}
template <class T>
[[gnu::always_inline]] inline Unscaled<T> to_normalise(T* e, std::int64_t r, RowSums<T>& sums,
                                                      const Normalised<T>& how) {
  return to_normalise(e, sums, how, how.labels ? e[how.labels[r]] : T(0));
}

// Normalised on one row's exps e in place.
template <class T>
[[gnu::always_inline]] inline void normalise(T* e, std::int64_t n, std::int64_t r, RowSums<T>& sums,
                                           const Normalised<T>& how) {
  scale_row(to_normalise(e, r, sums, how), n);
}

// finish(r, sums, e), its result (if it has one) added to total.
template <class T, class Finish>
[[gnu::always_inline]] inline void finish_row(Finish& finish, T& total, std::int64_t r, const RowSums<T>& sums, T* e) {
  if constexpr (std::is_void_v<std::invoke_result_t<Finish&, std::int64_t, const RowSums<T>&, T*>>)
    finish(r, sums, e);
  else
    total += finish(r, sums, e);
}

// The end of a row in the row paths: its n exps e Normalised first when how
// is given (only where the exps are kept), then finish_row.
template <class T, class Finish>
[[gnu::always_inline]] inline void end_row(Finish& finish, T& total, std::int64_t r, RowSums<T>& sums, T* e,
                                         std::int64_t n, const Normalised<T>* how) {
  if (how) normalise(e, n, r, sums, *how);
  finish_row(finish, total, r, sums, e);
}

// over_rows for short rows (n < kGroupedBelow), 64 bytes of rows at a time (16
// at float, 8 at double), row l of a group in vector lane l: the group is
// copied into columns (logit j of every row side by side), so that the max,
// the count of the other terms, the exps, the sums and the log1p are each one vector
// operation per logit for the whole group, with no per-row reduction, scalar
// tail or short loop. The exps go back into rows only when exps is not null.
// Each row gets exactly what exp_sums gives it: its sum is kept in kLanes
// partial sums, term j in partial j mod kLanes, added in the same order and
// folded by fold_lanes' steps (the count of the others is an exact integer
// in any order). Normalised scales the columns before they go back. Takes the rows
// of whole groups; returns how many it took.
template <class T, class Finish>
std::int64_t over_row_groups(const T* z, std::int64_t rows, std::int64_t n, T* exps, const Normalised<T>* how,
                             Finish& finish, T& total) {
  // Rows per group: 64 bytes of T, whatever the target's registers (the
  // loops over a group's rows vectorize in as many registers as it takes).
  constexpr int G = static_cast<int>(64 / sizeof(T));
  constexpr int L = kLanes<T>;  // exp_sums' partial sums
  T col[(kGroupedBelow<T> - 1) * G];  // col[j·G + l]: logit j of row l, then its exp
  const std::int64_t grouped = rows - rows % G;
  T sum = total;  // in a register, not behind total's address
  for (std::int64_t r0 = 0; r0 < grouped; r0 += G) {
    const T* zg = z + r0 * n;
    transpose(zg, n, col, G, G, n);
    T a[G], others[G];
    SumOf<T> off[L][G], err[L][G];
    for (int l = 0; l < G; ++l) a[l] = col[l], others[l] = T(0);
    for (std::int64_t j = 1; j < n; ++j)
      for (int l = 0; l < G; ++l) a[l] = col[j * G + l] > a[l] ? col[j * G + l] : a[l];
    // tally's two halves in two loops: GCC 12 vectorizes neither loop with both.
    for (std::int64_t j = 0; j < n; ++j)  // ddx:vectorized
      for (int l = 0; l < G; ++l) count_other(others[l], col[j * G + l], a[l]);
    for (int p = 0; p < L; ++p)
      for (int l = 0; l < G; ++l) off[p][l] = 0, err[p][l] = 0;
    for (std::int64_t j0 = 0; j0 < n; j0 += L)
      for (int p = 0; p < L && j0 + p < n; ++p) {
        T* c = col + (j0 + p) * G;
        for (int l = 0; l < G; ++l) {  // ddx:vectorized
          const T x = vexp::exp_nonpositive(T(c[l] - a[l]));
          add_to_sum<T>(off[p][l], err[p][l], SumOf<T>(off_max_term(c[l], a[l], x)));
          c[l] = x;
        }
      }
    // fold_lanes' steps, for the whole group at once: partial p a vector
    // of the group's rows.
    using Rows [[gnu::vector_size(G * sizeof(SumOf<T>))]] = SumOf<T>;
    Rows offv[L], errv[L];
    static_assert(sizeof offv == sizeof off);
    std::memcpy(offv, off, sizeof off);
    std::memcpy(errv, err, sizeof err);
    fold_partials<T>(offv, errv);
    T s[G], log1p_s[G];
    for (int l = 0; l < G; ++l) s[l] = ExpSums<T>{offv[0][l], errv[0][l], T(T(n) - others[l])}.s();
    for (int l = 0; l < G; ++l) log1p_s[l] = vexp::log1p(s[l]);
    T rcp[G] = {}, at_label[G] = {};
    T* e = exps ? exps + r0 * n : nullptr;
    if (e) {
      if (how) {
        if (how->labels)
          for (int l = 0; l < G; ++l) at_label[l] = col[how->labels[r0 + l] * G + l];
        T d[G], by_d[G], by_rcp[G], by_scale[G];  // unscaled_row's, each row's
        // Per group, not hoisted before the groups: hoisted, GCC 12 at x86-64
        // stopped vectorizing the count loop above for one instantiation.
        const T inverse_scale = T(1) / how->scale;
        for (int l = 0; l < G; ++l) {
          d[l] = T(1) + s[l], rcp[l] = T(1) / d[l];
          const Unscaled<T> by = unscaled_row(static_cast<T*>(nullptr), d[l], rcp[l], how->scale, inverse_scale);
          by_d[l] = by.d, by_rcp[l] = by.rcp, by_scale[l] = by.scale;
        }
        for (std::int64_t j = 0; j < n; ++j)  // ddx:vectorized nest
          for (int l = 0; l < G; ++l)
            col[j * G + l] = scaled_quotient(col[j * G + l], by_d[l], by_rcp[l], by_scale[l]);
      }
      transpose(col, G, e, n, n, G);
    }
    for (int l = 0; l < G; ++l)
      finish_row(finish, sum, r0 + l, RowSums<T>{a[l], s[l], log1p_s[l], rcp[l], at_label[l]}, e ? e + l * n : nullptr);
  }
  total = sum;
  return grouped;
}

// Short rows left over after the groups, with AVX-512: in vector registers
// one at a time, whose masked loads and stores read and write a row's end
// without touching what follows it.
#if defined(__AVX512F__)

// Vectors of the rows over_short_rows takes: up to kShortVectors·kLanes<T>
// logits (48 floats, 24 doubles), every row the groups take.
inline constexpr int kShortVectors = 3;
static_assert(kGroupedBelow<float> - 1 <= kShortVectors * kLanes<float> &&
              kGroupedBelow<double> - 1 <= kShortVectors * kLanes<double>);

// One short row r (n ≤ V·kLanes<T>) in V vector registers, the last one
// padded past the row's end: the max, the exps, their sums, the log1p, and
// Normalised while the exps are still in registers. The row gets what
// exp_sums gives it: term j in lane j mod kLanes, the lanes folded by
// fold_lanes.
template <int V, class T, class Finish>
[[gnu::always_inline]] inline void short_row(const T* z, std::int64_t r, std::int64_t n, T* exps,
                                           const Normalised<T>* how, Finish& finish, T& total) {
  constexpr int L = kLanes<T>;
  using Lanes = LanesOf<T>;
  using vexp::detail::splat;
  const T* zr = z + r * n;
  const int last = static_cast<int>(n - (V - 1) * L);  // lanes of the last vector
  Lanes v[V];
  for (int i = 0; i + 1 < V; ++i) std::memcpy(&v[i], zr + i * L, sizeof(Lanes));
  v[V - 1] = load_first<T>(zr + (V - 1) * L, last, -std::numeric_limits<T>::infinity());
  Lanes top = v[0];
  for (int i = 1; i < V; ++i) top = v[i] > top ? v[i] : top;
  RowSums<T> sums;
  sums.max = max_of_lanes<T>(top);
  const T a = sums.max;
  // The padding, −∞ for the max, then becomes a: maxima, which add nothing
  // and which fold_lanes, counting the other terms, leaves out of the count
  // (also in a row of −∞, a = −∞); and their exps are 1 (exp(−∞) goes
  // through exp's clamp to a subnormal product, a microcode assist here,
  // about a fifth of a row of 10).
  v[V - 1] = lane_indices<T>() < T(last) ? v[V - 1] : a;
  LaneSums<T> lanes;
  for (int i = 0; i < V; ++i) {
    Lanes x = v[i] - a;
    vexp::exp_nonpositive_lanes(x);
    tally(lanes, v[i], a, x);
    v[i] = x;
  }
  sums.s = fold_lanes(lanes, n).s();
  sums.log1p_s = log1p_of(sums.s);
  T* e = exps ? exps + r * n : nullptr;
  const auto store = [&] {
    for (int i = 0; i + 1 < V; ++i) std::memcpy(e + i * L, &v[i], sizeof(Lanes));
    store_first<T>(e + (V - 1) * L, last, v[V - 1]);
  };
  if (e && how) {
    const std::int64_t y = how->labels ? how->labels[r] : 0;
    const Unscaled<T> to = to_normalise(e, sums, *how, v[y / L][y % L]);  // the label's exp, from registers
    const Lanes d = splat<Lanes>(to.d), rcp = splat<Lanes>(to.rcp), scale = splat<Lanes>(to.scale);
    for (int i = 0; i < V; ++i) v[i] = scaled_quotient(v[i], d, rcp, scale);
  }
  if (e) store();
  finish_row(finish, total, r, sums, e);
}

// over_rows for the rows left after the groups, first to rows − 1 (n ≤
// kShortVectors·kLanes<T>): one at a time in vector registers (short_row): a
// single row of 10 in 0.6–0.7 of the time of the passes over blocks of rows
// that took them before.
template <class T, class Finish>
void over_short_rows(const T* z, std::int64_t first, std::int64_t rows, std::int64_t n, T* exps,
                     const Normalised<T>* how, Finish& finish, T& total) {
  constexpr int L = kLanes<T>;
  T sum = total;
  const auto each = [&]<int V> {
    for (std::int64_t r = first; r < rows; ++r) short_row<V>(z, r, n, exps, how, finish, sum);
  };
  switch ((n + L - 1) / L) {
    case 1: each.template operator()<1>(); break;
    case 2: each.template operator()<2>(); break;
    default: each.template operator()<3>(); break;
  }
  total = sum;
}

#endif  // defined(__AVX512F__)

}  // namespace detail

// The forward pass of every row of z ([rows, n], row-major), then
// finish(r, sums, e) for each row r, e (T*) the row's exps exp(zⱼ − a) (eₖ =
// 1), or nullptr when they were not kept. The exps are written to exps when it
// is not null ([rows, n]); without it they may not be kept.
//
// Float and double: rows shorter than kGroupedBelow go 64 bytes of rows at
// a time, one row per vector lane (over_row_groups), and with AVX-512 the
// fewer rows left over one at a time in vector registers (over_short_rows).
// Longer rows, and the rows left over without AVX-512, go one at a time,
// their exps computed while summing and the next row's max taken in the same
// loop. Every way gives a row the same values.
//
// With how not null (and exps not null), the exps are left Normalised:
// finish sees scale·eⱼ/(1 + s), and sums.rcp and sums.at_label. Returns the
// sum over the rows, in row order, of what finish returns (0 when it returns
// nothing), so a loss is summed in a register.
template <class T, class Finish>
T over_rows(const T* z, std::int64_t rows, std::int64_t n, T* exps, Finish&& finish,
            const Normalised<T>* how = nullptr) {
  T total = T(0);
  if constexpr (kVectorized<T>) {
    std::int64_t first = 0;  // the rows from first on go one at a time
    if constexpr (detail::kGroupedBelow<T> > 0) {
      if (n < detail::kGroupedBelow<T>) {
        first = detail::over_row_groups(z, rows, n, exps, how, finish, total);
#if defined(__AVX512F__)
        detail::over_short_rows(z, first, rows, n, exps, how, finish, total);
        return total;
#endif
      }
    }
    // A row's exps, when Normalised, are scaled in the next row's exp loop,
    // and it is finished after that loop (the last row on its own).
    const bool normalised = exps && how;
    T max = rows > first ? detail::row_max(z + first * n, n) : T(0);
    RowSums<T> waiting;  // the row before r, when it waits for its scaling
    detail::Unscaled<T> unscaled;
    for (std::int64_t r = first; r < rows; ++r) {
      const T* zr = z + r * n;
      T* e = exps ? exps + r * n : nullptr;
      const bool waits = normalised && r > first;
      RowSums<T> sums;
      sums.max = max;
      const T* next = r + 1 < rows ? zr + n : nullptr;
      const detail::Unscaled<T>* previous = waits ? &unscaled : nullptr;
      sums.s = e ? detail::exp_sums<detail::Exps::Store>(zr, sums.max, e, n, next, &max, previous).s()
                 : detail::exp_sums<detail::Exps::Compute>(zr, sums.max, static_cast<T*>(nullptr), n, next, &max).s();
      if (waits) detail::finish_row(finish, total, r - 1, waiting, unscaled.e);
      sums.log1p_s = log1p_of(sums.s);
      if (normalised) {
        unscaled = detail::to_normalise(e, r, sums, *how);
        waiting = sums;
      } else {
        detail::finish_row(finish, total, r, sums, e);
      }
    }
    if (normalised && rows > first) {
      detail::scale_row(unscaled, n);
      detail::finish_row(finish, total, rows - 1, waiting, unscaled.e);
    }
  } else {
    using boost::multiprecision::exp;
    using std::exp;
    std::vector<T> scratch(exps ? 0 : static_cast<std::size_t>(n));
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* zr = z + r * n;
      T* e = exps ? exps + r * n : scratch.data();
      RowSums<T> sums;
      const std::int64_t k = arg_max(zr, n);
      sums.max = zr[k];
      // The other exps, compensated as ExpSums adds them.
      T s = T(0), err = T(0);
      for (std::int64_t j = 0; j < n; ++j) {
        e[j] = j == k ? T(1) : T(exp(T(zr[j] - sums.max)));
        if (j != k) detail::add_compensated(s, err, e[j]);
      }
      sums.s = T(s + err);
      sums.log1p_s = log1p_of(sums.s);
      detail::end_row(finish, total, r, sums, e, n, exps ? how : nullptr);
    }
  }
  return total;
}

// One row's sums; with exps not null, exps[j] = exp(zⱼ − a) for every j.
template <class T> RowSums<T> row_sums(const T* z, std::int64_t n, T* exps = nullptr) {
  RowSums<T> out;
  over_rows(z, 1, n, exps, [&](std::int64_t, const RowSums<T>& sums, T*) { out = sums; });
  return out;
}

// out[r] = log Σⱼ exp(z_rj) = a + log1p(s), for each of the rows.
template <class T> void log_sum_exp(const T* z, std::int64_t rows, std::int64_t n, T* out) {
  over_rows(z, rows, n, static_cast<T*>(nullptr),
            [&](std::int64_t r, const RowSums<T>& q, T*) { out[r] = q.max + q.log1p_s; });
}

// out[j] = (zⱼ − a) − log1p(s), row by row.
template <class T> void log_softmax(const T* z, std::int64_t rows, std::int64_t n, T* out) {
  over_rows(z, rows, n, static_cast<T*>(nullptr), [&](std::int64_t r, const RowSums<T>& q, T*) {
    for (std::int64_t j = 0; j < n; ++j) out[r * n + j] = T(z[r * n + j] - q.max) - q.log1p_s;
  });
}

// out[j] = eⱼ / (1 + s), row by row (eₖ = 1 gives 1/(1 + s)).
template <class T> void softmax(const T* z, std::int64_t rows, std::int64_t n, T* out) {
  const Normalised<T> probabilities{T(1)};
  over_rows(z, rows, n, out, [](std::int64_t, const RowSums<T>&, T*) {}, &probabilities);
}

// The losses −log p_y of the rows, with target class labels[r] for row r
// (0 ≤ labels[r] < n, not checked here), summed; when grad is not null,
// scale·(p − onehot(y)) written to it.
// The target's component: −s/(1 + s) when z_y is a max (then e_y = 1 and
// 1 + s_y = s), else −(1 + s_y)/(1 + s) with s_y = s − e_y, which loses
// nothing that matters: e_y ≤ 1 and s_y is added to 1, so its absolute error
// (an ulp of max(s, 1)) stays within an ulp of 1 + s_y.
template <class T> T cross_entropy_class(const T* z, std::int64_t rows, std::int64_t n, const std::int64_t *labels,
                                         T* grad, const T& scale) {
  const Normalised<T> probabilities{scale, labels};
  return over_rows(
      z, rows, n, grad,
      [&](std::int64_t r, const RowSums<T>& q, T* g) {  // g: scale·p, the row of grad
        const T* zr = z + r * n;
        const std::int64_t y = labels[r];
        if (g) {
          const T target = zr[y] == q.max ? q.s : T(T(1) + T(q.s - q.at_label));
          g[y] = -scale * divide(target, T(1) + q.s, q.rcp);
        }
        return T(T(q.max - zr[y]) + q.log1p_s);
      },
      &probabilities);
}

// One row's loss with target class y (and its gradient, as above).
template <class T> T cross_entropy_class(const T* z, std::int64_t n, std::int64_t y, T* grad, const T& scale) {
  return cross_entropy_class(z, 1, n, &y, grad, scale);
}

// The losses −Σⱼ yⱼ log pⱼ of the rows with target distributions y ([rows,
// n]), summed; when grad is not null, scale·(p·Σy − y) written to it (with
// Σy = 1 that is scale·(p − y)). The component at k is written as
// Σ_{j≠k} yⱼ − Σy·s/(1 + s), so a one-hot target at the max gets −s/(1 + s),
// as cross_entropy_class does.
template <class T> T cross_entropy(const T* z, const T* y, std::int64_t rows, std::int64_t n, T* grad, const T& scale) {
  const Normalised<T> probabilities{T(1)};
  return over_rows(
      z, rows, n, grad,
      [&](std::int64_t r, const RowSums<T>& q, T* p) {  // p: the probabilities, the row of grad
        const T* zr = z + r * n;
        const T* yr = y + r * n;
        const std::int64_t k = arg_max(zr, n);
        T loss = T(0), mass = T(0), others = T(0);
        for (std::int64_t j = 0; j < n; ++j) {
          loss += yr[j] * T(T(q.max - zr[j]) + q.log1p_s);
          mass += yr[j];
          if (j != k) others += yr[j];
        }
        if (p)
          for (std::int64_t j = 0; j < n; ++j)
            p[j] = j == k ? T(scale * T(others - T(mass * divide(q.s, T(1) + q.s, q.rcp))))
                          : T(scale * T(T(p[j] * mass) - yr[j]));
        return loss;
      },
      &probabilities);
}

// One row's loss with target distribution y (and its gradient, as above).
template <class T> T cross_entropy(const T* z, const T* y, std::int64_t n, T* grad, const T& scale) {
  return cross_entropy(z, y, 1, n, grad, scale);
}

// One row: log Σ exp(zⱼ), log_softmax and softmax.
template <class T> T log_sum_exp(const T* z, std::int64_t n) {
  T out;
  log_sum_exp(z, 1, n, &out);
  return out;
}
template <class T> void log_softmax(const T* z, std::int64_t n, T* out) { log_softmax(z, 1, n, out); }
template <class T> void softmax(const T* z, std::int64_t n, T* out) { softmax(z, 1, n, out); }

}  // namespace ddx::fused
