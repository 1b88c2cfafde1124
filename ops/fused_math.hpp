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
#pragma once

#include <boost/multiprecision/cpp_bin_float.hpp>
#include <cmath>
#include <cstdint>

namespace ddx::fused {

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

template <class T> RowSums<T> row_sums(const T* z, std::int64_t n) {
  using std::exp;
  using boost::multiprecision::exp;
  const std::int64_t k = arg_max(z, n);
  const T a = z[k];
  T s = T(0);
  for (std::int64_t j = 0; j < n; ++j)
    if (j != k) s += exp(T(z[j] - a));
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
  using std::exp;
  using boost::multiprecision::exp;
  const RowSums<T> r = row_sums(z, n);
  const T denominator = T(1) + r.s;
  for (std::int64_t j = 0; j < n; ++j) out[j] = j == r.arg_max ? T(1) / denominator : T(exp(T(z[j] - r.max)) / denominator);
}

// The loss −log p_y of one row with target class y, and (when grad is not
// null) scale·(p − onehot(y)) written to grad.
template <class T> T cross_entropy_class(const T* z, std::int64_t n, std::int64_t y, T* grad, const T& scale) {
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
  using std::exp;
  using boost::multiprecision::exp;
  const RowSums<T> r = row_sums(z, n);
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
                               : T(scale * T(T(T(exp(T(z[j] - r.max)) / denominator) * mass) - y[j]));
  }
  return loss;
}

}  // namespace ddx::fused
