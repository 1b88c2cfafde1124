// The array loops of engine/math/faithful.hpp, one clone per vector level.
// `out` may be `x` itself: each element is read before it is written.
#include "engine/math/faithful.hpp"

#include "engine/math/short_arrays.hpp"
#include "engine/math/vector_clones.hpp"
#include "engine/math/vexp.hpp"
#include "engine/math/vlog.hpp"

namespace ddx::faithful {
namespace {

// out[i] = f(x[i]) in whole vectors: the elements past the last multiple of
// kTail go through a local copy padded with ones (short_arrays.hpp), in a
// loop of a fixed kTail elements, so that a short array (a row of ten) takes
// one vector pass instead of a scalar call per element; fewer than
// kScalarBelow elements go one by one. In a loop of independent calls: a log
// of one double (a row's sum) 58–62 ns through the vector pass, 12–13 one
// by one; an exp of 10 floats 49–51 ns with copies element by element, 8–9
// with the masked ones (AVX-512), of 10 doubles 61–64 and 22–24.
template <class T, class F> [[gnu::always_inline]] inline void map_whole_vectors(const T* x, T* out, std::int64_t n, F f) {
  using namespace short_arrays;
  if (n < kScalarBelow) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
    return;
  }
  constexpr std::int64_t kTail = 16;  // a whole number of vectors at every level
  const std::int64_t whole = n - n % kTail;
  for (std::int64_t i = 0; i < whole; ++i) out[i] = f(x[i]);  // ddx:vectorized
  if (whole == n) return;
  alignas(64) T args[kTail], values[kTail];
  pad_in(x + whole, n - whole, kTail, args);
  for (std::int64_t i = 0; i < kTail; ++i) values[i] = f(args[i]);  // ddx:vectorized
  copy_out(values, n - whole, out + whole);
}

// The exp's lambda always inlined: left to GCC's measure of this file's
// growth, one of its calls stayed a call at AVX-512, and that loop scalar.
template <class T> DDX_VECTOR_CLONES void exp_array(const T* x, T* out, std::int64_t n) {
  map_whole_vectors(x, out, n, [](T v) __attribute__((always_inline)) { return vexp::exp(v); });
}
template <class T> DDX_VECTOR_CLONES void log_array(const T* x, T* out, std::int64_t n) {
  map_whole_vectors(x, out, n, [](T v) { return vexp::log(v); });
}

}  // namespace

void exp(const float* x, float* out, std::int64_t n) { exp_array(x, out, n); }
void exp(const double* x, double* out, std::int64_t n) { exp_array(x, out, n); }
void log(const float* x, float* out, std::int64_t n) { log_array(x, out, n); }
void log(const double* x, double* out, std::int64_t n) { log_array(x, out, n); }

}  // namespace ddx::faithful
