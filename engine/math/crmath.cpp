// Correctly rounded exp and log (see engine/math/crmath.hpp): the fast paths with
// their error bounds, the tables they read, and the 50-digit path.
//
// Notation: a double-word value is hi + lo with |lo| ≤ ulp(hi)/2. The exact
// transformations used (this file is compiled with -ffp-contract=off, so no
// a·b + c is fused behind their back):
// - Fast2Sum(a, b), |a| ≥ |b|: s = a + b, e = b − (s − a), s + e = a + b;
// - TwoSum(a, b), any order: the six-operation form;
// - TwoProd(a, b): p = a·b, e = fma(a, b, −p) (or Dekker's splitting without
//   a hardware FMA), p + e = a·b.
// Where the error bounds below count the roundings of a product and a sum,
// mul_add fuses them when the machine has an FMA: one rounding, no larger
// than the sum's, so the bounds hold either way. Which build runs does not
// change a result: it is correctly rounded or the test sends it on.
#include "engine/math/crmath.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <limits>
#include <numbers>
#include <tuple>
#include <type_traits>
#include <utility>

#include "engine/scalar.hpp"
#include "engine/math/short_arrays.hpp"
#include "engine/math/vector_clones.hpp"
#include "engine/math/vexp.hpp"
#include "engine/math/vlog.hpp"

namespace ddx::cr {
namespace {

using vexp::detail::mul_add;
using vexp::detail::select;

// ---- exact transformations ---------------------------------------------------

[[gnu::always_inline]] inline double two_prod_error(double a, double b, double p) {
#if defined(__FMA__)
  return __builtin_fma(a, b, -p);
#else
  // Dekker: a and b split into 26-bit halves whose products are exact.
  constexpr double split = 134217729.0;  // 2²⁷ + 1
  const double ca = split * a, cb = split * b;
  const double ah = ca - (ca - a), al = a - ah;
  const double bh = cb - (cb - b), bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
#endif
}

struct Sum2 {
  double hi, lo;
};
[[gnu::always_inline]] inline Sum2 fast_two_sum(double a, double b) {
  const double s = a + b;
  return {s, b - (s - a)};
}
[[gnu::always_inline]] inline Sum2 two_sum(double a, double b) {
  const double s = a + b;
  const double bb = s - a;
  return {s, (a - (s - bb)) + (b - bb)};
}

std::atomic<std::uint64_t> slow_calls{0};

// ---- the 50-digit path ------------------------------------------------------------

// The 50-digit value v rounded to nearest in T: its exact binary value
// rounded once (engine/scalar.hpp), subnormals and overflow to ±inf included.
template <class T> T round_nearest(const Float50& v) { return to_scalar<T>(to_rational(v)); }

// Called only where the fast path's test failed, or outside its range (so
// never for exp(0) or log(1), which the fast paths give exactly).
template <class T> [[gnu::noinline]] T exp_slow(T x) {
  slow_calls.fetch_add(1, std::memory_order_relaxed);
  if (std::isnan(x)) return x;
  // Far beyond the limits the answer is plain (and Float50's exp need not
  // be asked for 2^±10⁵⁰⁰⁰): exp(x) rounds to 0 below −1075·ln 2 and
  // overflows above 1024·ln 2, for float already at −150·ln 2 and 128·ln 2.
  if (x < T(-800)) return T(0);
  if (x > T(800)) return std::numeric_limits<T>::infinity();
  return round_nearest<T>(boost::multiprecision::exp(Float50(x)));
}

template <class T> [[gnu::noinline]] T log_slow(T x) {
  slow_calls.fetch_add(1, std::memory_order_relaxed);
  if (std::isnan(x)) return x;
  if (x < 0) return std::numeric_limits<T>::quiet_NaN();
  if (x == 0) return -std::numeric_limits<T>::infinity();
  if (std::isinf(x)) return x;
  return round_nearest<T>(boost::multiprecision::log(Float50(x)));
}

// ---- double exp -------------------------------------------------------------------
//
// exp(x) = 2^m · 2^(j/128) · exp(r), n = 128·m + j = round(128·x/ln 2),
// r = x − n·ln2/128, |r| ≤ ln2/256 + tiny < 2^−8.52.
// - ln2/128 = L1 + L2 + L3 with L1 and L2 of 35 significant bits, so n·L1
//   and n·L2 are exact (|n| < 2¹⁷); x − n·L1 is exact (Sterbenz), and
//   r = rh + rl comes from TwoSum(x − n·L1, −n·L2) and −n·L3, to 2⁻¹⁰⁰.
// - exp(r) − 1 = rh + rh²/2 + rh³·P(rh) + rl·(1 + rh) with P the Taylor
//   terms 1/3! … 1/7! (truncation < 2⁻⁸³): rh² exact by TwoProd, rh + rh²/2
//   by Fast2Sum, giving e = e_hi + e_lo with the rest (< 2⁻²⁷) in e_lo, its
//   roundings < 2⁻⁷⁹.
// - 2^(j/128) = Th + Tl, a double-word table computed at 50 digits.
// - T·(1 + e) = Th + Th·e_hi (TwoProd, then Fast2Sum with Th) + a tail
//   Th·e_lo + Tl·(1 + e_hi) + the two low parts (< 2⁻²⁶, its roundings
//   < 2⁻⁷⁸).
// The double-word result S + tail, S in [1, 2), is within 2⁻⁷⁶ (relative) of
// exp(x)/2^m; the rounding test allows 2⁻⁷³ (about 1 argument in 2²⁰ fails
// it, and costs the 50-digit path's few microseconds). Multiplying by 2^m is exact
// for x in [−708, 709], where exp(x) is a normal double.

struct ExpTable {
  double hi[128], lo[128];
  double L1, L2, L3;
};

double round_to_bits(const Float50& v, int bits) {
  int e;
  frexp(v, &e);
  const Float50 unit = ldexp(Float50(1), e - bits);
  return static_cast<double>(round(v / unit) * unit);
}

// 2^(j/steps) for j in [0, steps) as double-words hi + lo, at 50 digits.
void pow2_table(int steps, double* hi, double* lo) {
  for (int j = 0; j < steps; ++j) {
    const Float50 v = boost::multiprecision::exp(Float50(j) / steps * boost::multiprecision::log(Float50(2)));
    hi[j] = static_cast<double>(v);
    if (lo) lo[j] = static_cast<double>(v - hi[j]);
  }
}

[[gnu::noinline]] const ExpTable& exp_table() {
  static const ExpTable table = [] {
    ExpTable t{};
    pow2_table(128, t.hi, t.lo);
    const Float50 step = boost::multiprecision::log(Float50(2)) / 128;
    t.L1 = round_to_bits(step, 35);
    t.L2 = round_to_bits(step - t.L1, 35);
    t.L3 = static_cast<double>(step - t.L1 - t.L2);
    return t;
  }();
  return table;
}

constexpr double kExpMin = -708.0, kExpMax = 709.0;

// The fast paths return the value and set `failed` to 1 when the rounding test
// failed (0 otherwise): an integer as wide as the value, so that a loop over
// values and flags vectorizes.
template <class T> using Flag = std::conditional_t<sizeof(T) == 8, std::int64_t, std::int32_t>;
[[gnu::always_inline]] inline double exp_fast(double x, const ExpTable& t, Flag<double>& failed) {
  constexpr double inv_step = 184.66496523378731;  // 128/ln 2 (any nearby value keeps r small)
  constexpr double shifter = 0x1.8p52;
  const bool in_range = (x >= kExpMin) & (x <= kExpMax);
  const double xc = select(in_range, x, 0.0);
  const double tt = mul_add(xc, inv_step, shifter);
  const double nd = tt - shifter;
  const std::int64_t n = std::bit_cast<std::int64_t>(tt) - std::bit_cast<std::int64_t>(shifter);
  const std::int64_t j = n & 127, m = n >> 7;

  const double r1 = mul_add(-nd, t.L1, xc);  // exact
  const Sum2 r = two_sum(r1, -(nd * t.L2));
  const double rh = r.hi, rl = mul_add(-nd, t.L3, r.lo);

  const double sq = rh * rh, sqe = two_prod_error(rh, rh, sq);
  double p = 1.0 / 5040.0;
  p = mul_add(p, rh, 1.0 / 720.0);
  p = mul_add(p, rh, 1.0 / 120.0);
  p = mul_add(p, rh, 1.0 / 24.0);
  p = mul_add(p, rh, 1.0 / 6.0);
  const Sum2 e = fast_two_sum(rh, 0.5 * sq);
  const double e_lo = e.lo + mul_add(sq * rh, p, mul_add(rl, rh, 0.5 * sqe + rl));

  const double th = t.hi[j], tl = t.lo[j];
  const double prod = th * e.hi, prod_err = two_prod_error(th, e.hi, prod);
  const Sum2 s = fast_two_sum(th, prod);
  const double tail = s.lo + (prod_err + mul_add(th, e_lo, mul_add(tl, e.hi, tl)));

  const double eps = s.hi * 0x1p-73;
  const double y1 = s.hi + (tail + eps), y2 = s.hi + (tail - eps);
  failed = !(in_range & (y1 == y2));
  return y1 * std::bit_cast<double>((m + 1023) << 52);
}

// ---- double log -------------------------------------------------------------------
//
// x = 2^k · z with z in [c0, 2·c0), c0 = 0x1.6ap−1 ≈ 0.707 (so no
// cancellation between k·ln 2 and log z), read from the bit pattern; the
// next 8 bits after c0's pick one of 256 subintervals of z, each with a
// double invc ≈ 1/(its midpoint) and log(1/invc) = −log invc as a double-word
// table computed at 50 digits. The two subintervals that meet at 1 use
// invc = 1, so that near x = 1 the result is log1p(z − 1) alone (no
// cancellation against a table value).
// - r = z·invc − 1 = rh + rl exactly: TwoProd, and z·invc − 1 is exact
//   (Sterbenz); |r| < 2⁻⁸.
// - log1p(r) = rh − rh²/2 + rh³/3 + rh⁴·Q(rh) + rl·(1 − rh + rh²), Q the
//   series terms −1/4 … 1/9 (truncation < 2⁻⁸³ relative): rh² exact, rh³/3
//   as a double-word (TwoProd twice, 1/3 as two doubles), the three leading
//   terms summed by Fast2Sum.
// - k·ln2_hi (42 bits: exact) + log(1/invc)_hi + the leading sum by TwoSum;
//   the low parts, k·ln2_lo and the table's low part form the tail.
// Relative error below 2⁻⁷⁵ (the result is ≥ 2⁻⁹·0.99 in size unless z is
// in the two invc = 1 subintervals, where every term is relative to r); the
// rounding test allows 2⁻⁷⁰.

struct LogTable {
  double invc[256], hi[256], lo[256];
  double ln2_hi, ln2_lo, third_hi, third_lo;
};

constexpr std::uint64_t kLogOffset = 0x3fe6a00000000000;  // 0x1.6ap−1

// Subinterval j of [c0, 2·c0) when the `bits` bits after c0's pick it (8
// here, 4 for the AVX-512 float log): its ends, and 1/(its middle).
struct Subinterval {
  double lo, hi;
  Float50 inverse_middle() const { return 2 / (Float50(lo) + Float50(hi)); }
};
Subinterval subinterval(std::uint64_t j, int bits) {
  const int shift = 52 - bits;
  return {std::bit_cast<double>(kLogOffset + (j << shift)), std::bit_cast<double>(kLogOffset + ((j + 1) << shift))};
}

[[gnu::noinline]] const LogTable& log_table() {
  static const LogTable table = [] {
    LogTable t{};
    for (std::uint64_t j = 0; j < 256; ++j) {
      const Subinterval z = subinterval(j, 8);
      const bool meets_one = z.lo == 1.0 || z.hi == 1.0;
      t.invc[j] = meets_one ? 1.0 : static_cast<double>(z.inverse_middle());
      const Float50 v = -boost::multiprecision::log(Float50(t.invc[j]));
      t.hi[j] = static_cast<double>(v);
      t.lo[j] = static_cast<double>(v - t.hi[j]);
    }
    const Float50 ln2 = boost::multiprecision::log(Float50(2));
    t.ln2_hi = round_to_bits(ln2, 42);
    t.ln2_lo = static_cast<double>(ln2 - t.ln2_hi);
    t.third_hi = static_cast<double>(Float50(1) / 3);
    t.third_lo = static_cast<double>(Float50(1) / 3 - t.third_hi);
    return t;
  }();
  return table;
}

// x = 2ᵏ·z with z in [c0, 2·c0), and j, the subinterval of z, for a
// positive normal double x, from the bits with logical shifts only: b's
// exponent field holds k + 1023 (≥ 0) and its significand that of z. k comes
// out as a double by its bits (2⁵² + m holds the integer m in its low bits,
// so this is exact): AVX2 has neither a 64-bit arithmetic shift nor a 64-bit
// integer conversion, and with them the loops stayed scalar below AVX-512.
struct LogSplit {
  double k;
  std::uint64_t j;
  double z;
};
[[gnu::always_inline]] inline LogSplit log_split(double x) {
  const std::uint64_t b = std::bit_cast<std::uint64_t>(x) + (std::bit_cast<std::uint64_t>(1.0) - kLogOffset);
  return {std::bit_cast<double>((b >> 52) | std::bit_cast<std::uint64_t>(0x1p52)) - (0x1p52 + 1023.0),
          (b >> 44) & 255, std::bit_cast<double>((b & 0x000fffffffffffffull) + kLogOffset)};
}

[[gnu::always_inline]] inline double log_fast(double x, const LogTable& t, Flag<double>& failed) {
  constexpr double smallest = std::numeric_limits<double>::min(), largest = std::numeric_limits<double>::max();
  const bool in_range = (x >= smallest) & (x <= largest);
  const auto [kd, j, z] = log_split(select(in_range, x, 1.0));

  const double invc = t.invc[j];
  const double pz = z * invc;
  const double rl = two_prod_error(z, invc, pz);
  const double rh = pz - 1.0;

  const double sq = rh * rh, sqe = two_prod_error(rh, rh, sq);
  const double cube = sq * rh, cube_err = two_prod_error(sq, rh, cube) + sqe * rh;
  const double c3 = cube * t.third_hi;
  const double c3_err = two_prod_error(cube, t.third_hi, c3) + mul_add(cube, t.third_lo, cube_err * t.third_hi);
  double q = 1.0 / 9.0;
  q = mul_add(q, rh, -1.0 / 8.0);
  q = mul_add(q, rh, 1.0 / 7.0);
  q = mul_add(q, rh, -1.0 / 6.0);
  q = mul_add(q, rh, 1.0 / 5.0);
  q = mul_add(q, rh, -1.0 / 4.0);
  const Sum2 s1 = fast_two_sum(rh, -0.5 * sq);
  const Sum2 s2 = fast_two_sum(s1.hi, c3);
  const double lead_lo =
      (s1.lo + s2.lo) + ((c3_err - 0.5 * sqe) + mul_add(sq * sq, q, rl * ((1.0 - rh) + sq)));

  const Sum2 a = two_sum(kd * t.ln2_hi, t.hi[j]);
  const Sum2 b = two_sum(a.hi, s2.hi);
  const double tail = (a.lo + b.lo) + mul_add(kd, t.ln2_lo, lead_lo + t.lo[j]);

  const double eps = std::abs(b.hi) * 0x1p-70;
  const double y1 = b.hi + (tail + eps), y2 = b.hi + (tail - eps);
  failed = !(in_range & (y1 == y2));
  return y1;
}

// ---- float: double-precision kernels, rounded once ------------------------------
//
// A float's exp and log are computed in double to well beyond float's 24
// bits, then rounded once, with a rounding test as for double: the float is
// correctly rounded when y·(1 ± m) round to the same float, m at least six
// times the kernel's proven relative error bound (far more than the
// roundings of y ± y·m, 2⁻⁵³ each, can take away). Float arguments have few
// bits and a small range, which the kernels below use: they are about twice
// as fast as vexp.hpp's double exp and vlog.hpp's double log would be,
// rounded the same way.

[[gnu::always_inline]] inline float round_checked(double y, double m, bool valid, Flag<float>& failed) {
  const double margin = std::abs(y) * m;
  const float lo = static_cast<float>(y - margin), hi = static_cast<float>(y + margin);
  failed = !(valid & (lo == hi));
  return lo;
}

// exp(x) = 2ⁿ·exp(r), n = round(x/ln 2), r = x − n·ln 2, for float x in
// [−104, 89] (beyond, exp rounds to 0 or overflows: the slow path says which).
// - n comes from the shifter (its low bits; no float-int conversion), so
//   |n| ≤ 151 and |r| ≤ ln2/2 + tiny < 0.35 (also when the product x·log2e
//   is rounded first, without an FMA).
// - r = (x − n·ln2_hi) − n·ln2_lo, ln2_hi of 32 significant bits: n·ln2_hi
//   is exact, and so is the subtraction (for n ≠ 0, |x| > 0.34, so x and
//   n·ln2_hi are multiples of 2⁻³² and the difference has < 32 bits). The
//   second step rounds once (< 2⁻⁵⁵ absolute) and ln2 − ln2_hi − ln2_lo,
//   times n, is < 2⁻⁷⁸: exp(r) is off by < 2⁻⁵⁴·exp(r).
// - exp(r) = 1 + (r + r²·P(r)), P the Taylor terms 1/2! … 1/12!: truncation
//   < 0.35¹³/13!·1.03 < 2⁻⁵¹·⁶·exp(r) (exp(r) > 0.70). P by Estrin's scheme
//   (P ≈ 0.5: the four roundings near 0.5 are < 2⁻⁵² absolute, the others
//   scaled down by powers of r; times r² ≤ 0.1225, < 2⁻⁵⁴·exp(r)); with r²'s
//   and the final sums' roundings, < 2⁻⁵² relative in all.
// - 2ⁿ enters the exponent field directly: the result is a normal double for
//   every n here, so this is exact.
// Relative error < 2⁻⁵⁰·⁶; the test allows m = 2⁻⁴⁸.
[[gnu::always_inline]] inline float exp_fast(float x, Flag<float>& failed) {
  constexpr double log2e = std::numbers::log2e;
  constexpr double ln2_hi = vexp::detail::Ln2<double>::hi, ln2_lo = vexp::detail::Ln2<double>::lo;
  constexpr double shifter = 0x1.8p52;
  const bool in_range = (x >= -104.0f) & (x <= 89.0f);
  const double xd = select(in_range, x, 0.0f);
  const double t = mul_add(xd, log2e, shifter);
  const double nd = t - shifter;
  const std::int64_t n = std::bit_cast<std::int64_t>(t) - std::bit_cast<std::int64_t>(shifter);
  const double r = mul_add(-nd, ln2_lo, mul_add(-nd, ln2_hi, xd));
  // P(r) = 1/2! + r/3! + … + r¹⁰/12! by Estrin's scheme (4 steps deep
  // instead of Horner's 10).
  const double r2 = r * r;
  const double p = vexp::detail::estrin_tail<12>(r, r2);
  const double u = 1.0 + mul_add(p, r2, r);
  const double y = std::bit_cast<double>(std::bit_cast<std::int64_t>(u) + (n << 52));
  return round_checked(y, 0x1p-48, in_range, failed);
}

// log(x) for float x > 0 (subnormals included: as doubles they are normal),
// on the double log's table and split: x = 2ᵏ·z, z in [c0, 2·c0), j the
// subinterval of z, as in log_fast above.
// - r = z·invc − 1: z·invc = pz + rl exactly (TwoProd), pz − 1 exact
//   (Sterbenz), so r is rounded once: 2⁻⁵³ relative. |r| ≤ 2⁻⁸ (in the two
//   subintervals that meet 1, where invc = 1, r = z − 1 exactly), ≤ 2⁻⁹
//   elsewhere.
// - log1p(r) = r + r²·Q(r), Q the Taylor terms −1/2 … −1/6: truncation
//   < |r|⁷/7·1.01, relative to log1p(r) < 2⁻⁵⁰·⁷ at |r| ≤ 2⁻⁸.
// - y = (k·ln 2 + log(1/invc)) + log1p(r), ln 2 and the table's high part as
//   doubles (each 2⁻⁵³ relative). Where invc = 1 and k = 0, y is log1p(r)
//   alone. Elsewhere log1p(r) is small beside y: with k = 0, |y| ≥ 2⁻⁹ ≥ |r|,
//   and the table value is at most 2|y|; with k ≠ 0, |y| ≥ 0.3465·|k|, the
//   first sum is within 2⁻⁹ of y and the table value below |y|. The
//   roundings and ln 2's error (2⁻⁵⁴·|k|) sum to < 6·2⁻⁵³·|y|.
// Relative error < 2⁻⁵⁰; the test allows m = 2⁻⁴⁷.
[[gnu::always_inline]] inline float log_fast(float x, const LogTable& t, Flag<float>& failed) {
  constexpr double ln2 = std::numbers::ln2;
  constexpr float largest = std::numeric_limits<float>::max();
  const bool in_range = (x > 0.0f) & (x <= largest);
  const auto [kd, j, z] = log_split(select(in_range, x, 1.0f));

  const double invc = t.invc[j];
  const double pz = z * invc;
  const double r = (pz - 1.0) + two_prod_error(z, invc, pz);
  double q = -1.0 / 6.0;
  q = mul_add(q, r, 1.0 / 5.0);
  q = mul_add(q, r, -1.0 / 4.0);
  q = mul_add(q, r, 1.0 / 3.0);
  q = mul_add(q, r, -0.5);
  const double y = mul_add(kd, ln2, t.hi[j]) + mul_add(q, r * r, r);
  return round_checked(y, 0x1p-47, in_range, failed);
}

// ---- float with AVX-512: tables of 16 in two registers ------------------------
//
// The float kernels above read tables of 256 (log) or none (exp, at the cost
// of a polynomial of degree 12). With AVX-512 a table of 16 doubles fits in
// two vector registers and one permute (vpermt2pd) reads it for 8 lanes at
// once, where a gather from memory costs several times more. These kernels
// use that: 8 floats at a time, in double, with a rounding test on the
// bits (round_checked8). Over arrays of 4096 floats (the evaluator's block),
// on a Zen 5 machine, the exp takes 0.93 ns per element where the kernel
// above took 1.19, the log 1.15 where it took 1.63 (vector_clones.hpp says
// where they are built). Every float's result is checked against the truth
// by tests/crmath_exhaustive.cpp.
#if DDX_AVX512_VERSION
namespace avx512 {

using D8 [[gnu::vector_size(64)]] = double;
using I8 [[gnu::vector_size(64)]] = std::int64_t;
using U8 [[gnu::vector_size(64)]] = std::uint64_t;

// 16 doubles, as the two registers a permute reads.
struct Table16 {
  alignas(64) double v[16];
};
struct Registers16 {
  __m512d low, high;
};
// The vector helpers below stand beside std::bit_cast and vexp.hpp's splat
// and mul_add on purpose: those are compiled without AVX-512 in the portable
// build, where a 512-bit vector left out of line (as the sanitizers' build
// leaves std::bit_cast) changes the ABI, which GCC warns of, and where
// mul_add does not fuse (__FMA__ is the command line's, not the target
// attribute's). split8 is log_split on 8 lanes, for the same reason.
//
// v's bits as a vector of type To of the same size (a GCC vector cast).
template <class To, class From> DDX_AVX512_INLINE To as(From v) {
  static_assert(sizeof(To) == sizeof(From));
  return (To)v;
}
DDX_AVX512_INLINE Registers16 registers(const Table16& t) { return {_mm512_load_pd(t.v), _mm512_load_pd(t.v + 8)}; }
// t[j] in each lane, j in [0, 16).
DDX_AVX512_INLINE D8 lookup(const Registers16& t, I8 j) {
  return _mm512_permutex2var_pd(t.low, as<__m512i>(j), t.high);
}
DDX_AVX512_INLINE D8 fma(D8 a, D8 b, D8 c) { return _mm512_fmadd_pd(a, b, c); }
DDX_AVX512_INLINE D8 splat(double c) { return _mm512_set1_pd(c); }
DDX_AVX512_INLINE D8 pair(D8 r, double c0, double c1) { return fma(r, splat(c1), splat(c0)); }  // c0 + c1·r

// exp(x) = 2^(n>>4) · 2^(j/16) · exp(r), n = round(16·x/ln 2), j = n & 15,
// r = x − n·ln2/16, for float x in [−87, 89] (others: the kernel above).
// - n comes from the shifter as in the kernel above: |n| ≤ 2055, and
//   |r| ≤ (ln2/16)·(1/2 + 2⁻⁴⁰) < 0.02167 = ρ.
// - r = (x − n·hi) − n·lo with hi, lo = Ln2<double>'s parts over 16: n·hi has
//   at most 44 significant bits and x − n·hi is exact (for n ≠ 0, |x| >
//   2⁻⁶, so x and n·hi are multiples of 2⁻³⁶ and their difference, < 2⁻⁵,
//   has fewer than 32 bits): one FMA each, the second rounding r once
//   (< 2⁻⁵³·ρ), and ln2/16 − hi − lo, times n, is < 2⁻⁷⁸. exp(r) is off by
//   < 2⁻⁵⁹·exp(r).
// - exp(r) = 1 + (r + r²·P(r)), P the Taylor terms 1/2! … 1/7! by Estrin's
//   scheme: truncation < ρ⁸/8!·1.03 < 2⁻⁵⁹·⁴; P's roundings (< 2⁻⁵² absolute)
//   times r² < 2⁻¹¹, and r + r²·P rounded once (< 2⁻⁵³·0.022), are < 2⁻⁵⁸
//   in all; u = 1 + (…) rounds once more (< 2⁻⁵³/0.978).
// - 2^(j/16) from the table, rounded (< 2⁻⁵³), times u, rounded (< 2⁻⁵³).
// - 2^(n>>4) enters the exponent field: the result is a normal double for
//   every n here, so this is exact.
// Relative error < 3.1·2⁻⁵³ < 2⁻⁵¹·³; the test allows m = 2⁻⁴⁸ (round_checked8).
struct ExpTable16 {
  Table16 pow2;  // 2^(j/16)
};
DDX_AVX512_INLINE D8 exp8(D8 x, const Registers16& pow2) {
  using vexp::detail::inv_factorial;
  constexpr double shifter = vexp::detail::ExpConstants<double>::shifter;
  constexpr double hi = vexp::detail::Ln2<double>::hi / 16, lo = vexp::detail::Ln2<double>::lo / 16;
  const D8 t = fma(x, splat(16 * std::numbers::log2e), splat(shifter));
  const D8 nd = t - shifter;
  const I8 n = as<I8>(t) - std::bit_cast<std::int64_t>(shifter);
  const D8 r = fma(-nd, splat(lo), fma(-nd, splat(hi), x));
  const D8 r2 = r * r, r4 = r2 * r2;
  const D8 p = fma(r4, pair(r, inv_factorial<double>(6), inv_factorial<double>(7)),
                   fma(r2, pair(r, inv_factorial<double>(4), inv_factorial<double>(5)),
                       pair(r, inv_factorial<double>(2), inv_factorial<double>(3))));
  const D8 u = 1.0 + fma(p, r2, r);
  const D8 y = lookup(pow2, n & 15) * u;
  return as<D8>(as<I8>(y) + ((n >> 4) << 52));
}

// log(x) for float x > 0 (subnormals included: as doubles they are normal):
// x = 2ᵏ·z, z in [c0, 2·c0), as in log_split, and j the subinterval of z
// from the 4 bits after c0's, 16 subintervals instead of 256.
// - invc ≈ 1/(the subinterval's middle) rounded to 8 significant bits,
//   and 1 in the subinterval holding 1 (j = 9: z in [0.98828125,
//   1.0390625)), whose table value is then 0. z has at most 24 significant
//   bits, so z·invc (≤ 32) is exact, and lies in [0.96, 1.04]: r = z·invc − 1
//   is exact (Sterbenz), |r| ≤ ρ = 0.0390625 (in j = 9; ≤ 0.03 elsewhere).
// - log1p(r) = r + r²·Q(r), Q the series terms −1/2, 1/3, … −1/12 by
//   Estrin's scheme: truncation < ρ¹²/13·1.02·|r| < 2⁻⁵⁹·⁸·|r|; Q's
//   roundings (< 2⁻⁵¹ absolute) times r² < 2⁻⁹, and r + r²·Q rounded once:
//   < 1.1·2⁻⁵³·|log1p(r)| in all.
// - y = (k·ln 2 + log(1/invc)) + log1p(r), the table's value and ln 2 as
//   doubles (each < 2⁻⁵³ relative), the first sum in one FMA. With k = 0
//   and j = 9, y is log1p(r) alone. With k = 0 elsewhere, |y| ≥ 0.0117, the
//   table value is at most 2.61·|y| (j = 8) and log1p(r) at most 3.61·|y|:
//   < 7.6·2⁻⁵³·|y| in all. With k ≠ 0, |y| ≥ 0.3465·|k| and the table value
//   and log1p(r) are below |y| and 0.113·|y|: < 4.7·2⁻⁵³·|y|.
// Relative error < 7.6·2⁻⁵³ < 2⁻⁵⁰; the test allows m = 2⁻⁴⁷.
struct LogTable16 {
  Table16 invc, log_inv;  // invc, and log(1/invc)
};
// log_split on 8 lanes, with the 4 bits after c0's for j (in j's low
// bits, all a permute reads).
struct Split8 {
  D8 k;
  I8 j;
  D8 z;
};
DDX_AVX512_INLINE Split8 split8(D8 x) {
  const U8 b = as<U8>(x) + (std::bit_cast<std::uint64_t>(1.0) - kLogOffset);
  return {as<D8>((b >> 52) | std::bit_cast<std::uint64_t>(0x1p52)) - (0x1p52 + 1023.0), as<I8>(b >> 48),
          as<D8>((b & 0x000fffffffffffffull) + kLogOffset)};
}
DDX_AVX512_INLINE D8 log8(D8 x, const Registers16& invc, const Registers16& log_inv) {
  const auto [kd, j, z] = split8(x);
  const D8 r = fma(z, lookup(invc, j), splat(-1.0));  // exact
  const D8 r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  // Q = Σ c_i·r^i, c_i = (−1)^(i+1)/(i+2), i = 0 … 10.
  const D8 q03 = fma(r2, pair(r, -1.0 / 4, 1.0 / 5), pair(r, -1.0 / 2, 1.0 / 3));
  const D8 q47 = fma(r2, pair(r, -1.0 / 8, 1.0 / 9), pair(r, -1.0 / 6, 1.0 / 7));
  const D8 q8a = fma(r2, splat(-1.0 / 12), pair(r, -1.0 / 10, 1.0 / 11));
  const D8 q = fma(r8, q8a, fma(r4, q47, q03));
  return fma(kd, splat(std::numbers::ln2), lookup(log_inv, j)) + fma(r2, q, r);
}

// The rounding test, 8 lanes, on y's bits: y rounds to float by dropping
// the low 29 bits of its significand, so the true value (within m·|y|, m the
// relative bound the test allows, so within ulps = m·2⁵³ units in the last
// place of y, as |y| < 2⁵³ such units) rounds to the same float as y unless those 29 bits lie within `ulps` of a
// half, 2²⁸: a float's midpoint in y's binade, where the neighbouring
// binades' midpoints are 2²⁷ units away or more. This holds where the float
// is normal (or ±inf, exp's overflow: beyond the largest float's midpoint);
// the callers send subnormal results to the kernels above. Returns y rounded
// to float in `out`, and a bit set for each lane whose test failed or that
// is not `valid`. Three integer operations where rounding y ± y·m and
// comparing took six on the vector unit: 10–12% of each kernel.
DDX_AVX512_INLINE unsigned round_checked8(D8 y, double m, __mmask8 valid, float* out) {
  // (The conversions are the zero-masked forms: the plain ones start from an
  // undefined register, which the sanitizers' build warns of.)
  _mm256_storeu_ps(out, _mm512_maskz_cvtpd_ps(0xff, y));
  const auto ulps = static_cast<std::int64_t>(m * 0x1p53);
  constexpr std::int64_t half = std::int64_t{1} << 28, dropped = 2 * half - 1;
  const I8 from_midpoint = (as<I8>(y) & dropped) - (half - ulps);  // near: in [0, 2·ulps]
  const __mmask8 near =
      _mm512_cmp_epu64_mask(as<__m512i>(from_midpoint), _mm512_set1_epi64(2 * ulps), _MM_CMPINT_LE);
  return (~valid | near) & 0xffu;
}

// A float kernel's 8 lanes: x in double, the kernel's value, rounded to
// float in out; a bit set for each lane whose test failed or that is outside
// the kernel's range.
template <class Kernel> DDX_AVX512_INLINE unsigned rounded_to_float(const Kernel& kernel, const float* x, float* out) {
  const D8 xd = _mm512_maskz_cvtps_pd(0xff, _mm256_loadu_ps(x));
  const __mmask8 in_range = kernel.in_range(xd);
  return round_checked8(kernel(xd, in_range), Kernel::m, in_range, out);
}

// Each kernel for `pass`: its table in registers, and `eight`, its values
// and failed tests for 8 lanes. A float kernel also says which lanes its
// range takes (the others compute on a value inside it, 0 for exp and 1 for
// log, and fail), and its test's m. exp's range stops at −87, where its
// float result is still normal (exp(−87) > 2⁻¹²⁶): below, the kernel above
// rounds it.
struct ExpFloat {
  using Table = ExpTable16;
  static constexpr double m = 0x1p-48;
  Registers16 pow2;
  DDX_AVX512_INLINE explicit ExpFloat(const Table& t) : pow2(registers(t.pow2)) {}
  DDX_AVX512_INLINE __mmask8 in_range(D8 x) const {
    return _mm512_cmp_pd_mask(x, splat(-87.0), _CMP_GE_OQ) & _mm512_cmp_pd_mask(x, splat(89.0), _CMP_LE_OQ);
  }
  DDX_AVX512_INLINE D8 operator()(D8 x, __mmask8 in_range) const { return exp8(_mm512_maskz_mov_pd(in_range, x), pow2); }
  DDX_AVX512_INLINE unsigned eight(const float* x, float* out) const { return rounded_to_float(*this, x, out); }
};
struct LogFloat {
  using Table = LogTable16;
  static constexpr double m = 0x1p-47;
  Registers16 invc, log_inv;
  DDX_AVX512_INLINE explicit LogFloat(const Table& t) : invc(registers(t.invc)), log_inv(registers(t.log_inv)) {}
  DDX_AVX512_INLINE __mmask8 in_range(D8 x) const {
    return _mm512_cmp_pd_mask(x, splat(0.0), _CMP_GT_OQ) &
           _mm512_cmp_pd_mask(x, splat(std::numeric_limits<float>::max()), _CMP_LE_OQ);
  }
  DDX_AVX512_INLINE D8 operator()(D8 x, __mmask8 in_range) const {
    return log8(_mm512_mask_mov_pd(splat(1.0), in_range, x), invc, log_inv);
  }
  DDX_AVX512_INLINE unsigned eight(const float* x, float* out) const { return rounded_to_float(*this, x, out); }
};

// ---- double exp with AVX-512: a double-word table of 16 in four registers ----
//
// The double exp above on 8 lanes, with 16 steps of ln2 in place of 128: no
// gather, at the price of a wider r and so more terms, and a looser test
// that sends about 1 lane in 2¹³ on to that kernel. Over arrays of 4096
// doubles, on a Zen 5 machine, 1.13 ns per element where the kernel above
// took 2.03 (the fused kernel's faithful exp: 1.05).
// exp(x) = 2^(n>>4) · 2^(j/16) · exp(r), n = round(16·x/ln 2), j = n & 15,
// for x in [−708, 709] (others, and the lanes whose test fails: the kernel
// above).
// - n from the shifter, |n| < 2¹⁴, |r| ≤ (ln2/16)·(1/2 + 2⁻³⁸) < 2⁻⁵·⁵².
// - r = rh + rl, rh = x − n·L1 and rl = −n·L2 rounded, L1 = ln2/16 rounded
//   and L2 the rest rounded. rh is exact: it is a multiple of 2⁻⁵⁸ (x's
//   units, and L1's of 2⁻⁵⁷, when n ≠ 0 so |x| > 2⁻⁶) below 2⁻⁵·⁵, and one
//   FMA rounds it only if it is not a double. |rl| < 2⁻⁴⁴, off by < 2⁻⁹⁶
//   with what L1 + L2 leaves of ln2/16.
// - exp(r) = exp(rh)·(1 + rl + …), rl²/2 < 2⁻⁸⁹, and exp(rh) − 1 = rh +
//   rh²/2 + rh³·P(rh), P the Taylor terms 1/3! … 1/9!: truncation
//   < |rh|¹⁰/10!·1.03 < 2⁻⁷⁶·⁹. So exp(r) − 1 = e_hi + e_lo + B, where
//   rh + sq/2 = e_hi + e_lo exactly (sq = rh² rounded, Fast2Sum) and
//   B = cube·(1 + rl)·P + (rh² − sq)/2 + rl·(1 + e_hi), cube = sq·rh
//   rounded: left out are rl·(e_lo + (rh² − sq)/2) < 2⁻¹⁰² and
//   (rh² − sq)·rh·P < 2⁻⁷³·¹.
// - B's roundings, absolute: P's (< 4·2⁻⁵³·P, P < 0.172) times
//   |cube| < 2⁻¹⁶·⁵⁶, < 2⁻⁷⁰·¹; cube's and cube·(1 + rl)'s, < 2⁻⁷²·¹ each;
//   the FMA that adds the rest, |B| < 2⁻¹⁹·¹, < 2⁻⁷³; the rest's own,
//   < 2⁻⁹⁶. In all, with the two left out and the truncation, < 2⁻⁶⁹·².
//   e_lo + B rounds once more (< 2⁻⁷³).
// - 2^(j/16) = Th + Tl from the table (to 2⁻¹⁰⁶); T·(1 + e) as in the
//   kernel above: Th·e_hi by TwoProd, Fast2Sum with Th, then the tail
//   s_lo + (Th·e_hi's error + Th·(e_lo + B) + Tl·(1 + e_hi)), three
//   roundings below 2⁻⁷² each (the sums are below 2⁻¹⁸·¹), and Tl·(e_lo +
//   B) < 2⁻⁷² left out.
// Absolute error of s_hi + tail against T·exp(r), Th < 1.92: < 1.92·(2⁻⁶⁹·²
// + 2⁻⁷³) + 4·2⁻⁷² < 2⁻⁶⁷·⁸, where T·exp(r) > 0.978. The test: y1 = s_hi +
// (tail + ε) and y2 = s_hi + (tail − ε) with ε = 2⁻⁶⁶ absolute (tail ± ε
// rounded, < 2⁻⁷² off) bracket the true value; where they are equal, y1 is
// its correct rounding. 2^(n>>4) then enters the exponent field: exact, as
// exp(x) is normal on the range.
struct ExpDoubleTable16 {
  Table16 hi, lo;  // 2^(j/16) = hi + lo
  double L1, L2;   // ln2/16 rounded, and the rest rounded
};
struct Pair8 {
  D8 hi, lo;
};
DDX_AVX512_INLINE D8 fms(D8 a, D8 b, D8 c) { return _mm512_fmsub_pd(a, b, c); }  // a·b − c, rounded once
DDX_AVX512_INLINE Pair8 fast_two_sum8(D8 a, D8 b) {
  const D8 s = a + b;
  return {s, b - (s - a)};
}
// The double kernels' rounding test, as the kernels above take it: hi + tail
// rounded, in `y`, where hi + (tail ± eps) round alike; the lanes where they
// do not, or that are not `valid`, as set bits.
DDX_AVX512_INLINE unsigned sum_checked8(D8 hi, D8 tail, D8 eps, __mmask8 valid, D8& y) {
  y = hi + (tail + eps);
  return ~_mm512_mask_cmp_pd_mask(valid, y, hi + (tail - eps), _CMP_EQ_OQ) & 0xffu;
}
struct ExpDouble {
  using Table = ExpDoubleTable16;
  static constexpr double eps = 0x1p-66;
  Registers16 hi, lo;
  double L1, L2;
  DDX_AVX512_INLINE explicit ExpDouble(const Table& t) : hi(registers(t.hi)), lo(registers(t.lo)), L1(t.L1), L2(t.L2) {}
  DDX_AVX512_INLINE unsigned eight(const double* in, double* out) const {
    using vexp::detail::inv_factorial;
    constexpr double shifter = vexp::detail::ExpConstants<double>::shifter;
    const D8 x = _mm512_loadu_pd(in);
    const __mmask8 in_range =
        _mm512_cmp_pd_mask(x, splat(kExpMin), _CMP_GE_OQ) & _mm512_cmp_pd_mask(x, splat(kExpMax), _CMP_LE_OQ);
    const D8 t = fma(x, splat(16 * std::numbers::log2e), splat(shifter));
    const D8 nd = t - shifter;
    const D8 rh = fma(nd, splat(-L1), x), rl = nd * -L2;  // rh exact

    const D8 sq = rh * rh, sq_err = fms(rh, rh, sq);
    const Pair8 e = fast_two_sum8(rh, 0.5 * sq);
    const D8 sq2 = sq * sq;
    const D8 p = fma(sq2, fma(sq, splat(inv_factorial<double>(9)), pair(rh, inv_factorial<double>(7), inv_factorial<double>(8))),
                     fma(sq, pair(rh, inv_factorial<double>(5), inv_factorial<double>(6)),
                         pair(rh, inv_factorial<double>(3), inv_factorial<double>(4))));
    const D8 cube = sq * rh;
    const D8 b = fma(fma(cube, rl, cube), p, fma(splat(0.5), sq_err, fma(rl, e.hi, rl)));
    const D8 e_lo = e.lo + b;

    const I8 j = as<I8>(t);  // n & 15 in its low bits, all a permute reads
    const D8 th = lookup(hi, j), tl = lookup(lo, j);
    const D8 prod = th * e.hi, prod_err = fms(th, e.hi, prod);
    const Pair8 s = fast_two_sum8(th, prod);
    const D8 tail = s.lo + (prod_err + fma(th, e_lo, fma(tl, e.hi, tl)));
    D8 y;
    const unsigned failed = sum_checked8(s.hi, tail, splat(eps), in_range, y);
    // (n >> 4) << 52 from t's bits 4 … 15, which hold n's modulo 2¹⁶.
    const U8 scale = as<U8>((j >> 4) << 52);
    _mm512_storeu_pd(out, as<__m512d>(as<U8>(y) + scale));
    return failed;
  }
};

// ---- double log with AVX-512: two tables of 16, one after the other -----------
//
// The double log above reads 1/c and log(1/c) for one of 256 subintervals of
// z, with gathers. Here two steps of 16 do it, each read by a permute from
// registers: the float log's 16 subintervals of z and its invc1 (8 bits),
// then one of 16 cells of width 1/216 for p1 = z·invc1 (in [0.970, 1.040)),
// with invc2 ≈ 1/(the cell's centre) to 16 bits. Each is 1 where it takes in
// 1, so that near x = 1 the result is log1p(z − 1) alone. Over arrays of
// 4096 doubles, on a Zen 5 machine, 1.50 ns per element where the kernel
// above took 3.14 (the fused kernel's faithful log: 1.24).
// - x = 2ᵏ·z, j1 and z as in log8. i = round(216·p1) − 209 in [0, 16), the
//   cell of centre cᵢ = (209 + i)/216, from p1 = z·invc1 rounded (which
//   moves an edge of a cell by 2⁻⁵², no more). invc = invc1·invc2 has at
//   most 24 bits: exact.
// - r = z·invc − 1 = rh + rl exactly: TwoProd, and p − 1 is exact
//   (Sterbenz). |r| ≤ (1/432)/(209/216) + 2⁻¹⁶ < 2⁻⁸·⁶⁹, |rl| ≤ 2⁻⁵³.
// - log1p(r) = rh − rh²/2 + rh³·Q(rh) + rl·(1 − rh + rh²), Q the series
//   terms 1/3, −1/4 … −1/8: truncation < |r|⁹/9 < 2⁻⁸¹·⁴, rl's terms left
//   out < 2⁻⁷⁹. rh − sq/2 = L_hi + L_lo exactly (sq = rh² rounded, its
//   error exact, Fast2Sum); R = cube·Q − (rh² − sq)/2 + rl·(1 − rh + sq),
//   cube = sq·rh rounded: Q's, cube's and R's roundings, and
//   (rh² − sq)·rh·Q left out, < 2⁻⁵¹·|r|³/3 < 2⁻⁷⁸·⁶ in all.
// - A = k·ln2_hi + T1_hi + T2_hi, the tables' log(1/invc) and ln 2 to
//   multiples of 2⁻⁴² (ln2_hi of 42 bits, |k| ≤ 1024): exact, as |A| < 2¹⁰.
//   A and L_hi by Fast2Sum: A is 0, or at least log(217/216) > 2⁻⁷·⁸ > |r|
//   (|A| is the log of a cell's centre, or of invc1·invc2 where z is at
//   least 0.0117 from 1). The low parts (T1_lo, T2_lo, k·ln2_lo, L_lo + R,
//   the Fast2Sum's) form the tail: three roundings, each < 2⁻⁸⁰ where
//   k = 0 (the sums are below 2⁻²⁷).
// Where k = 0 and invc = 1, y = log1p(r) and every error is relative to r:
// < 2⁻⁶⁹ relative. Elsewhere with k = 0, |y| ≥ log(1 + 1/432) > 2⁻⁸·⁷⁷
// (z outside the middle cell, or at least 0.0117 from 1) and the errors
// above add to < 2⁻⁷⁷ absolute, < 2⁻⁶⁸·² relative; with k ≠ 0, |y| > 0.346
// and they are smaller still. The test: y1 = y_hi + (tail + ε) and y2 =
// y_hi + (tail − ε), ε = |y_hi|·2⁻⁶⁶, as the exp's.
struct LogDoubleTable16 {
  // Cell i of p1 has centre (kFirstCell + i)/kCellsPerUnit; kMiddleCell's is 1.
  static constexpr int kCellsPerUnit = 216, kFirstCell = 209, kMiddleCell = kCellsPerUnit - kFirstCell;
  Table16 invc1, invc2;   // 1/c for z's subinterval, and for p1's cell
  Table16 t1_hi, t1_lo;   // log(1/invc1) = t1_hi + t1_lo, t1_hi a multiple of 2⁻⁴²
  Table16 t2_hi, t2_lo;   // log(1/invc2), the same way
  double ln2_hi, ln2_lo;  // ln 2 = ln2_hi (42 bits) + ln2_lo
};
struct LogDouble {
  using Table = LogDoubleTable16;
  static constexpr double m = 0x1p-66;
  Registers16 invc1, invc2, t1_hi, t1_lo, t2_hi, t2_lo;
  double ln2_hi, ln2_lo;
  DDX_AVX512_INLINE explicit LogDouble(const Table& t)
      : invc1(registers(t.invc1)), invc2(registers(t.invc2)), t1_hi(registers(t.t1_hi)), t1_lo(registers(t.t1_lo)),
        t2_hi(registers(t.t2_hi)), t2_lo(registers(t.t2_lo)), ln2_hi(t.ln2_hi), ln2_lo(t.ln2_lo) {}
  DDX_AVX512_INLINE unsigned eight(const double* in, double* out) const {
    constexpr double shifter = vexp::detail::ExpConstants<double>::shifter;
    const D8 x = _mm512_loadu_pd(in);
    const __mmask8 in_range = _mm512_cmp_pd_mask(x, splat(std::numeric_limits<double>::min()), _CMP_GE_OQ) &
                              _mm512_cmp_pd_mask(x, splat(std::numeric_limits<double>::max()), _CMP_LE_OQ);
    const auto [kd, j1, z] = split8(x);
    const D8 c1 = lookup(invc1, j1);
    constexpr double scale = Table::kCellsPerUnit, first = Table::kFirstCell;
    const I8 i = as<I8>(fma(z * c1, splat(scale), splat(shifter - first)));  // the cell in its low bits
    const D8 invc = c1 * lookup(invc2, i);  // exact
    const D8 p = z * invc, rl = fms(z, invc, p);
    const D8 rh = p - 1.0;  // exact

    const D8 sq = rh * rh, sq_err = fms(rh, rh, sq);
    const Pair8 lead = fast_two_sum8(rh, -0.5 * sq);
    const D8 sq2 = sq * sq;
    const D8 q = fma(sq2, pair(rh, 1.0 / 7, -1.0 / 8), fma(sq, pair(rh, 1.0 / 5, -1.0 / 6), pair(rh, 1.0 / 3, -1.0 / 4)));
    const D8 r = fma(sq * rh, q, fma(splat(-0.5), sq_err, fma(rl, sq - rh, rl)));

    const D8 a = fma(kd, splat(ln2_hi), lookup(t1_hi, j1)) + lookup(t2_hi, i);  // exact
    const Pair8 y = fast_two_sum8(a, lead.hi);
    const D8 lows = fma(kd, splat(ln2_lo), lookup(t1_lo, j1) + lookup(t2_lo, i));
    const D8 tail = y.lo + ((lead.lo + r) + lows);
    D8 rounded;
    const unsigned failed = sum_checked8(y.hi, tail, _mm512_abs_pd(y.hi) * m, in_range, rounded);
    _mm512_storeu_pd(out, rounded);
    return failed;
  }
};

// values[i] = the kernel's value at x[i], i < n (a multiple of 8, at most
// 64), and a bit set in the result for each i whose test failed.
template <class Kernel, class T>
DDX_AVX512_FUNCTION std::uint64_t pass(const typename Kernel::Table& table, const T* x, std::int64_t n, T* values) {
  const Kernel kernel(table);
  std::uint64_t failed = 0;
  for (std::int64_t i = 0; i < n; i += 8) failed |= std::uint64_t{kernel.eight(x + i, values + i)} << i;
  return failed;
}

// The tables, at 50 digits.
[[gnu::noinline]] const ExpTable16& exp_table16() {
  static const ExpTable16 table = [] {
    ExpTable16 t{};
    pow2_table(16, t.pow2.v, nullptr);
    return t;
  }();
  return table;
}
[[gnu::noinline]] const ExpDoubleTable16& exp_double_table16() {
  static const ExpDoubleTable16 table = [] {
    ExpDoubleTable16 t{};
    pow2_table(16, t.hi.v, t.lo.v);
    const Float50 step = boost::multiprecision::log(Float50(2)) / 16;
    t.L1 = static_cast<double>(step);
    t.L2 = static_cast<double>(step - t.L1);
    return t;
  }();
  return table;
}
[[gnu::noinline]] const LogTable16& log_table16() {
  static const LogTable16 table = [] {
    LogTable16 t{};
    for (std::uint64_t j = 0; j < 16; ++j) {
      const Subinterval z = subinterval(j, 4);
      t.invc.v[j] = z.lo <= 1.0 && 1.0 < z.hi ? 1.0 : round_to_bits(z.inverse_middle(), 8);
      t.log_inv.v[j] = static_cast<double>(-boost::multiprecision::log(Float50(t.invc.v[j])));
    }
    return t;
  }();
  return table;
}

// A multiple of 2⁻⁴² nearest v, and the rest rounded.
std::pair<double, double> split_at_2_42(const Float50& v) {
  const double hi = static_cast<double>(round(ldexp(v, 42))) * 0x1p-42;
  return {hi, static_cast<double>(v - hi)};
}
[[gnu::noinline]] const LogDoubleTable16& log_double_table16() {
  static const LogDoubleTable16 table = [] {
    LogDoubleTable16 t{};
    for (int j = 0; j < 16; ++j) {
      t.invc1.v[j] = log_table16().invc.v[j];
      t.invc2.v[j] = j == t.kMiddleCell ? 1.0 : round_to_bits(Float50(t.kCellsPerUnit) / (t.kFirstCell + j), 16);
      std::tie(t.t1_hi.v[j], t.t1_lo.v[j]) = split_at_2_42(-boost::multiprecision::log(Float50(t.invc1.v[j])));
      std::tie(t.t2_hi.v[j], t.t2_lo.v[j]) = split_at_2_42(-boost::multiprecision::log(Float50(t.invc2.v[j])));
    }
    t.ln2_hi = log_table().ln2_hi;
    t.ln2_lo = log_table().ln2_lo;
    return t;
  }();
  return table;
}

}  // namespace avx512
#endif

// ---- one element, and arrays ---------------------------------------------------

// Each fast path as a function object of (x, failed), with its table.
struct ExpDouble {
  const ExpTable& t;
  [[gnu::always_inline]] double operator()(double x, Flag<double>& failed) const { return exp_fast(x, t, failed); }
};
struct LogDouble {
  const LogTable& t;
  [[gnu::always_inline]] double operator()(double x, Flag<double>& failed) const { return log_fast(x, t, failed); }
};
struct ExpFloat {
  [[gnu::always_inline]] float operator()(float x, Flag<float>& failed) const { return exp_fast(x, failed); }
};
struct LogFloat {
  const LogTable& t;
  [[gnu::always_inline]] float operator()(float x, Flag<float>& failed) const { return log_fast(x, t, failed); }
};

#if DDX_AVX512_VERSION
// An AVX-512 kernel over arrays, with the portable one it extends: an
// element whose test failed is tried again with that, then the slow path.
template <class Portable, class Kernel> struct WithAvx512 : Portable {
  const typename Kernel::Table& table;
  template <class T> [[gnu::always_inline]] std::uint64_t pass(const T* x, std::int64_t n, T* values) const {
    return avx512::pass<Kernel>(table, x, n, values);
  }
};
#endif

// fast(x)'s value where its test passed, slow(x) where it failed.
template <class T, class Fast, class Slow> [[gnu::always_inline]] inline T checked(T x, Fast fast, Slow slow) {
  Flag<T> failed;
  const T y = fast(x, failed);
  return failed ? slow(x) : y;
}

// values[i] = fast(x[i]) for i < n (a multiple of 16, at most 64), and the
// elements to compute again, bit i for element i: here all of them if any
// test failed. A fast path with a vector form of its own (`pass`) runs that
// instead, and says which tests failed.
template <class T, class Fast>
[[gnu::always_inline]] inline std::uint64_t fast_pass(const T* x, std::int64_t n, T* values, Fast fast) {
  if constexpr (requires { fast.pass(x, n, values); }) return fast.pass(x, n, values);
  Flag<T> any = 0;
  for (std::int64_t i = 0; i < n; ++i) {  // ddx:vectorized
    Flag<T> failed;
    values[i] = fast(x[i], failed);
    any |= failed;
  }
  return any ? ~std::uint64_t{0} : 0;
}

// The fast path over 64 elements at a time, then, only in a chunk where some
// element failed its test, each element fast_pass names again (`checked`):
// its fast value if that passed, the slow path's otherwise. The results of a
// chunk go to a local array first: out may be x itself, and the vectorizer
// can see that the stores do not touch the tables the fast path reads. The
// fast path must be inlined into the loop for it to vectorize: the array
// functions below are flattened (the slow path is noinline).
// - A whole chunk is read where it is, in a loop of a fixed 64 elements
//   (13% faster than a loop of a variable count over a copy, at float).
// - A short last chunk is copied and padded with ones (in the fast path's
//   range of both functions) to a multiple of 16, so that the loop runs whole
//   vectors and no element takes a scalar remainder (short_arrays.hpp).
// - Fewer than kScalarBelow elements take the scalar path one by one.
template <class T, class Fast, class Slow>
[[gnu::always_inline]] inline void map_checked(const T* x, T* out, std::int64_t n, Fast fast, Slow slow) {
  using namespace short_arrays;
  constexpr std::int64_t kChunk = 64;
  if (n < kScalarBelow) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = checked(x[i], fast, slow);
    return;
  }
  alignas(64) T args[kChunk], values[kChunk];
  for (std::int64_t base = 0; base < n; base += kChunk) {
    const std::int64_t m = std::min(kChunk, n - base);
    const T* chunk = x + base;
    std::uint64_t redo;
    if (m == kChunk) {
      redo = fast_pass(chunk, kChunk, values, fast);
    } else {
      const std::int64_t padded = (m + 15) & ~std::int64_t{15};
      pad_in(chunk, m, padded, args);
      chunk = args;
      redo = fast_pass(chunk, padded, values, fast) & ((std::uint64_t{1} << m) - 1);
    }
    for (; redo != 0; redo &= redo - 1) {
      const int i = std::countr_zero(redo);
      values[i] = checked(chunk[i], fast, slow);
    }
    copy_out(values, m, out + base);
  }
}

}  // namespace

std::uint64_t slow_path_count() { return slow_calls.load(std::memory_order_relaxed); }

double exp(double x) { return checked(x, ExpDouble{exp_table()}, exp_slow<double>); }
float exp(float x) { return checked(x, ExpFloat{}, exp_slow<float>); }
double log(double x) { return checked(x, LogDouble{log_table()}, log_slow<double>); }
float log(float x) { return checked(x, LogFloat{log_table()}, log_slow<float>); }

// Each array form is compiled for each vector level (vector_clones.hpp); every
// clone computes the same correctly rounded values. The tables are fetched
// outside: the flattened clones must not inline the code that builds them.
namespace {
DDX_VECTOR_CLONES void exp_array(const ExpTable& t, const double* x, double* out, std::int64_t n) {
  map_checked(x, out, n, ExpDouble{t}, exp_slow<double>);
}
DDX_VECTOR_CLONES void exp_array(const float* x, float* out, std::int64_t n) {
  map_checked(x, out, n, ExpFloat{}, exp_slow<float>);
}
DDX_VECTOR_CLONES void log_array(const LogTable& t, const double* x, double* out, std::int64_t n) {
  map_checked(x, out, n, LogDouble{t}, log_slow<double>);
}
DDX_VECTOR_CLONES void log_array(const LogTable& t, const float* x, float* out, std::int64_t n) {
  map_checked(x, out, n, LogFloat{t}, log_slow<float>);
}
#if DDX_AVX512_VERSION
DDX_AVX512_FUNCTION void exp_array_avx512(const avx512::ExpTable16& t, const float* x, float* out, std::int64_t n) {
  map_checked(x, out, n, WithAvx512<ExpFloat, avx512::ExpFloat>{{}, t}, exp_slow<float>);
}
DDX_AVX512_FUNCTION void exp_array_avx512(const ExpTable& t, const avx512::ExpDoubleTable16& t16, const double* x,
                                          double* out, std::int64_t n) {
  map_checked(x, out, n, WithAvx512<ExpDouble, avx512::ExpDouble>{{t}, t16}, exp_slow<double>);
}
DDX_AVX512_FUNCTION void log_array_avx512(const LogTable& t, const avx512::LogDoubleTable16& t16, const double* x,
                                          double* out, std::int64_t n) {
  map_checked(x, out, n, WithAvx512<LogDouble, avx512::LogDouble>{{t}, t16}, log_slow<double>);
}
DDX_AVX512_FUNCTION void log_array_avx512(const LogTable& t, const avx512::LogTable16& t16, const float* x, float* out,
                                          std::int64_t n) {
  map_checked(x, out, n, WithAvx512<LogFloat, avx512::LogFloat>{{t}, t16}, log_slow<float>);
}
#endif
}  // namespace

void exp(const double* x, double* out, std::int64_t n) {
#if DDX_AVX512_VERSION
  if (avx512_runs()) return exp_array_avx512(exp_table(), avx512::exp_double_table16(), x, out, n);
#endif
  exp_array(exp_table(), x, out, n);
}
void exp(const float* x, float* out, std::int64_t n) {
#if DDX_AVX512_VERSION
  if (avx512_runs()) return exp_array_avx512(avx512::exp_table16(), x, out, n);
#endif
  exp_array(x, out, n);
}
void log(const double* x, double* out, std::int64_t n) {
#if DDX_AVX512_VERSION
  if (avx512_runs()) return log_array_avx512(log_table(), avx512::log_double_table16(), x, out, n);
#endif
  log_array(log_table(), x, out, n);
}
void log(const float* x, float* out, std::int64_t n) {
#if DDX_AVX512_VERSION
  if (avx512_runs()) return log_array_avx512(log_table(), avx512::log_table16(), x, out, n);
#endif
  log_array(log_table(), x, out, n);
}

}  // namespace ddx::cr
