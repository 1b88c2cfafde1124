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
//   ∂L/∂z_y         = p_y − 1 = −(1 + s_y)/(1 + s)   s_y = Σ_{j∉{k,y}} eⱼ (y ≠ k)
//                   = −s/(1 + s)                     (y = k)
//
// so no result is a difference of two nearly equal numbers: the loss keeps its
// relative accuracy when it is 1e-300, and so does the target's gradient.
//
// Every function is a template over the scalar type (float, double, long
// double, Float50, Float100) and reads and writes plain arrays.
//
// For float and double the row loops run on the vectorized exp of
// ops/vexp.hpp, in three passes: the max; exp stored (in the output) and
// summed; the scale. exp runs once per element. The sums use one
// accumulator per vector lane (so the loop vectorizes without reassociating
// flags); the eₖ = 1 of the maxima are counted apart and added as integers, so
// s is still Σ_{j≠k} eⱼ with no 1 ever added to the small terms.
#pragma once

#include <boost/multiprecision/cpp_bin_float.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ops/vexp.hpp"

namespace ddx::fused {

// Float and double take the vectorized row loops.
template <class T> inline constexpr bool kVectorized = std::is_same_v<T, float> || std::is_same_v<T, double>;

namespace detail {

// Vector lanes per accumulator block: one 512-bit register.
template <class T> inline constexpr int kLanes = static_cast<int>(64 / sizeof(T));

// max z over a row (the first element if n = 1), a 512-bit vector of lanes
// at a time (GCC/Clang vector extension: narrower units split it).
template <class T> T row_max(const T* z, std::int64_t n) {
  constexpr int L = kLanes<T>;
  typedef T Lanes __attribute__((vector_size(64)));
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
  for (; j < n; ++j) m = z[j] > m ? z[j] : m;
  return m;
}

// The first index where z equals a (a = max z).
template <class T> std::int64_t first_at(const T* z, std::int64_t n, const T& a) {
  for (std::int64_t j = 0; j < n; ++j)
    if (z[j] == a) return j;
  return 0;
}

// Off-max sums of one row: Σ exp(zⱼ − a) over the j with zⱼ ≠ a, and the
// count of the j with zⱼ = a (whose exp is exactly 1). With Store,
// out[j] = exp(zⱼ − a) for every j.
template <class T> struct ExpSums {
  T off_max_lanes[kLanes<T>] = {};
  T at_max_lanes[kLanes<T>] = {};

  template <bool Store> void add(const T* __restrict z, const T a, T* __restrict out, std::int64_t n) {
    constexpr int L = kLanes<T>;
    // Local lanes, so the stores to out cannot alias them.
    T off[L], at[L];
    for (int l = 0; l < L; ++l) off[l] = off_max_lanes[l], at[l] = at_max_lanes[l];
    std::int64_t j = 0;
    for (; j + L <= n; j += L)
      for (int l = 0; l < L; ++l) {
        const T x = z[j + l];
        const T e = vexp::exp(T(x - a));
        if constexpr (Store) out[j + l] = e;
        off[l] += x == a ? T(0) : e;
        at[l] += x == a ? T(1) : T(0);
      }
    for (int l = 0; j < n; ++j, ++l) {
      const T x = z[j];
      const T e = vexp::exp(T(x - a));
      if constexpr (Store) out[j] = e;
      off[l] += x == a ? T(0) : e;
      at[l] += x == a ? T(1) : T(0);
    }
    for (int l = 0; l < L; ++l) off_max_lanes[l] = off[l], at_max_lanes[l] = at[l];
  }
  T off_max() const {
    T s = T(0);
    for (int l = 0; l < kLanes<T>; ++l) s += off_max_lanes[l];
    return s;
  }
  T at_max() const {
    T c = T(0);
    for (int l = 0; l < kLanes<T>; ++l) c += at_max_lanes[l];
    return c;
  }
};

// s = Σ_{j≠k} exp(zⱼ − a), exps stored to out when it is not null.
template <class T> T off_max_sum(const T* z, std::int64_t n, const T& a, T* out) {
  ExpSums<T> sums;
  if (out)
    sums.template add<true>(z, a, out, n);
  else
    sums.template add<false>(z, a, nullptr, n);
  return sums.off_max() + T(sums.at_max() - T(1));
}

}  // namespace detail

// a = max z and the first index k where it is attained.
template <class T> std::int64_t arg_max(const T* z, std::int64_t n) {
  std::int64_t k = 0;
  for (std::int64_t j = 1; j < n; ++j)
    if (z[j] > z[k]) k = j;
  return k;
}

// What one row's forward pass leaves for the others: the max, where it is,
// and s = Σ_{j≠k} exp(zⱼ − a).
template <class T> struct RowSums {
  T max;
  std::int64_t arg_max = 0;
  T s;
};

// With exps not null, exps[j] = exp(zⱼ − a) for every j (1 at the max).
template <class T> RowSums<T> row_sums(const T* z, std::int64_t n, T* exps = nullptr) {
  if constexpr (kVectorized<T>) {
    const T a = detail::row_max(z, n);
    return {a, detail::first_at(z, n, a), detail::off_max_sum(z, n, a, exps)};
  }
  using std::exp;
  using boost::multiprecision::exp;
  const std::int64_t k = arg_max(z, n);
  const T a = z[k];
  T s = T(0);
  for (std::int64_t j = 0; j < n; ++j) {
    const T e = j == k ? T(1) : T(exp(T(z[j] - a)));
    if (exps) exps[j] = e;
    if (j != k) s += e;
  }
  return {a, k, s};
}

template <class T> T log1p_of(const T& s) {
  using std::log1p;
  using boost::multiprecision::log1p;
  return log1p(s);
}

// log Σ exp(zⱼ) = a + log1p(s).
template <class T> T log_sum_exp(const T* z, std::int64_t n) {
  const RowSums<T> r = row_sums(z, n);
  return r.max + log1p_of(r.s);
}

// out[j] = (zⱼ − a) − log1p(s).
template <class T> void log_softmax(const T* z, std::int64_t n, T* out) {
  const RowSums<T> r = row_sums(z, n);
  const T l = log1p_of(r.s);
  for (std::int64_t j = 0; j < n; ++j) out[j] = T(z[j] - r.max) - l;
}

// out[j] = eⱼ / (1 + s).
template <class T> void softmax(const T* z, std::int64_t n, T* out) {
  const RowSums<T> r = row_sums(z, n, out);
  const T denominator = T(1) + r.s;
  for (std::int64_t j = 0; j < n; ++j) out[j] = out[j] / denominator;  // eₖ = 1 gives 1/(1 + s)
}

// The loss −log p_y of one row with target class y, and (when grad is not
// null) scale·(p − onehot(y)) written to grad.
template <class T> T cross_entropy_class(const T* z, std::int64_t n, std::int64_t y, T* grad, const T& scale) {
  if constexpr (kVectorized<T>) {
    // The exps go to grad (when given). s_y = s − e_y loses nothing that
    // matters: e_y ≤ 1 and the result is added to 1, so its absolute error
    // (a few ulps of max(s, 1)) stays within a few ulps of 1 + s_y.
    const T a = detail::row_max(z, n);
    detail::ExpSums<T> sums;
    if (grad)
      sums.template add<true>(z, a, grad, n);
    else
      sums.template add<false>(z, a, nullptr, n);
    const T others = sums.off_max();  // Σ_{zⱼ≠a} eⱼ
    const T ones = sums.at_max();     // #{j : zⱼ = a} ≥ 1
    const T s = others + T(ones - T(1));
    const bool y_at_max = z[y] == a;
    const bool y_is_k = y_at_max && detail::first_at(z, n, a) == y;  // y is the first max
    T s_y = T(0);                                                  // Σ_{j∉{k,y}} eⱼ
    if (!y_is_k) s_y = y_at_max ? T(others + T(ones - T(2))) : T(T(others - vexp::exp(T(z[y] - a))) + T(ones - T(1)));
    const T loss = T(a - z[y]) + log1p_of(s);
    if (grad) {
      const T denominator = T(1) + s;
      for (std::int64_t j = 0; j < n; ++j) grad[j] = scale * T(grad[j] / denominator);
      grad[y] = y_is_k ? T(-scale * T(s / denominator)) : T(-scale * T(T(T(1) + s_y) / denominator));
    }
    return loss;
  }
  using std::exp;
  using boost::multiprecision::exp;
  const RowSums<T> r = row_sums(z, n);
  const T loss = T(r.max - z[y]) + log1p_of(r.s);
  if (grad) {
    const T denominator = T(1) + r.s;
    T s_y = T(0);  // Σ_{j∉{k,y}} eⱼ, summed as s was
    for (std::int64_t j = 0; j < n; ++j) {
      if (j == r.arg_max) {
        grad[j] = scale / denominator;
        continue;
      }
      const T e = exp(T(z[j] - r.max));
      grad[j] = scale * T(e / denominator);
      if (j != y) s_y += e;
    }
    grad[y] = y == r.arg_max ? T(-scale * T(r.s / denominator)) : T(-scale * T(T(T(1) + s_y) / denominator));
  }
  return loss;
}

// The loss −Σⱼ yⱼ log pⱼ of one row with a target distribution y, and (when
// grad is not null) scale·(p·Σy − y); with Σy = 1 that is scale·(p − y). The
// component at k is written as Σ_{j≠k} yⱼ − Σy·s/(1 + s), so a one-hot target
// at the max gets −s/(1 + s), as cross_entropy_class does.
template <class T> T cross_entropy(const T* z, const T* y, std::int64_t n, T* grad, const T& scale) {
  const RowSums<T> r = row_sums(z, n, grad);  // the exps go to grad, for the gradient pass below
  const T l = log1p_of(r.s);
  T loss = T(0), mass = T(0), others = T(0);
  for (std::int64_t j = 0; j < n; ++j) {
    loss += y[j] * T(T(r.max - z[j]) + l);
    mass += y[j];
    if (j != r.arg_max) others += y[j];
  }
  if (grad) {
    const T denominator = T(1) + r.s;
    for (std::int64_t j = 0; j < n; ++j)
      grad[j] = j == r.arg_max ? T(scale * T(others - T(mass * T(r.s / denominator))))
                               : T(scale * T(T(T(grad[j] / denominator) * mass) - y[j]));
  }
  return loss;
}

}  // namespace ddx::fused
