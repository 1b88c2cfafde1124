// exp and log of arrays within 1 ulp at float and double: the vectorized
// exp and log of engine/math/vexp.hpp and vlog.hpp, the ones the fused
// kernels take. An Evaluation in Math::Faithful (engine/eval.hpp) evaluates
// the primitive exp and log ops with these instead of the correctly rounded
// ones of crmath.hpp. Over arrays of 4096 on a Zen 5 machine, where those
// run their AVX-512 kernels, exp 0.41 against 0.94 ns per element (float)
// and 1.05 against 1.13 (double), log 0.56 against 1.16 and 1.24 against
// 1.50; without those kernels the double ones are about 2× and 2.5× faster.
// But a result may be the truth's other neighbour, and which one may depend
// on the build (whether the machine code fuses multiply–adds). Special
// values as std::exp and std::log.
// At long double and multiprecision, the same as crmath.hpp's exp_of and
// log_of (std's and Boost's).
#pragma once

#include <cstdint>

#include "engine/math/crmath.hpp"

namespace ddx::faithful {

void exp(const float* x, float* out, std::int64_t n);
void exp(const double* x, double* out, std::int64_t n);
void log(const float* x, float* out, std::int64_t n);
void log(const double* x, double* out, std::int64_t n);

template <class T> void exp_of(const T* x, T* out, std::int64_t n) {
  if constexpr (cr::kCorrectlyRounded<T>)
    faithful::exp(x, out, n);
  else
    cr::exp_of(x, out, n);
}
template <class T> void log_of(const T* x, T* out, std::int64_t n) {
  if constexpr (cr::kCorrectlyRounded<T>)
    faithful::log(x, out, n);
  else
    cr::log_of(x, out, n);
}

}  // namespace ddx::faithful
