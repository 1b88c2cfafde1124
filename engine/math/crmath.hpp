// Correctly rounded exp and log at float and double: the result is the true
// value rounded to nearest (ties to even), the same on every machine and
// build, with subnormal results rounded (not flushed) and the special values
// of std::exp and std::log. The primitive exp and log ops evaluate with
// these, one element or a whole array at a time, so a composed graph's exp
// and log are exact to the last bit at float and double, and run vectorized.
//
// Each function has a fast path, branch-free so that a loop over an array
// vectorizes, that computes the value to well beyond the precision's bits
// (double: a double-word result with relative error below 2⁻⁷⁵; float: a
// double result with relative error below 2⁻⁵⁰)
// together with a rounding test (Ziv's): the value rounds to the
// same number at both ends of its error interval. When it does, that number
// is the correctly rounded result. When it does not (the true value lies
// within the error bound of a midpoint between two neighbours: about one
// argument in 10⁶ for the double exp, 10⁵ for the double log, 10⁷ for
// float), or the argument is outside the
// fast path's range (NaN, ±inf, results that overflow or are subnormal,
// log of a non-positive or subnormal argument), the element is computed
// again at 50 digits and rounded to nearest by comparing neighbours
// exactly. 50 digits (166 bits) is far beyond what the hardest arguments
// need: no double exp or log lies within 2⁻¹²⁰ relative of a midpoint.
//
// With AVX-512 the array forms run kernels of their own, on tables held in
// registers (crmath.cpp); an element whose test fails there takes the fast
// path above, so the results are the same.
//
// The array forms work 64 elements at a time (fewer than 4 elements, one at
// a time): the fast path over the chunk (vectorized), then the elements
// whose test failed again, one by one. `out` may be `x` itself.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

namespace ddx::cr {

float exp(float x);
double exp(double x);
float log(float x);
double log(double x);

void exp(const float* x, float* out, std::int64_t n);
void exp(const double* x, double* out, std::int64_t n);
void log(const float* x, float* out, std::int64_t n);
void log(const double* x, double* out, std::int64_t n);

// How many elements took the 50-digit path since the program started (all
// threads): for tests and for measuring how rare it is.
std::uint64_t slow_path_count();

template <class T> constexpr bool kCorrectlyRounded = std::is_same_v<T, float> || std::is_same_v<T, double>;

// exp and log at any scalar type ddx evaluates at: correctly rounded at float
// and double; std's (long double) or Boost's (multiprecision) otherwise.
template <class T> T exp_of(const T& x) {
  if constexpr (kCorrectlyRounded<T>) {
    return cr::exp(x);
  } else {
    using std::exp;
    return exp(x);
  }
}
template <class T> T log_of(const T& x) {
  if constexpr (kCorrectlyRounded<T>) {
    return cr::log(x);
  } else {
    using std::log;
    return log(x);
  }
}
template <class T> void exp_of(const T* x, T* out, std::int64_t n) {
  if constexpr (kCorrectlyRounded<T>)
    cr::exp(x, out, n);
  else
    for (std::int64_t k = 0; k < n; ++k) out[k] = exp_of(x[k]);
}
template <class T> void log_of(const T* x, T* out, std::int64_t n) {
  if constexpr (kCorrectlyRounded<T>)
    cr::log(x, out, n);
  else
    for (std::int64_t k = 0; k < n; ++k) out[k] = log_of(x[k]);
}

}  // namespace ddx::cr
