// The short end of an array through a vector loop: the array functions of
// crmath.cpp and faithful.cpp run whole vectors only (a loop of a fixed
// count, with no scalar remainder), so the last elements, fewer than a
// whole number of vectors, go in through a local copy padded with ones (in
// the range of exp and log alike) and their values come back out of one.
//
// Where the whole build targets AVX-512, each vector is one masked load and
// one whole store in, one masked store out: the vector loop's loads then find
// each vector in one store, where an element-by-element copy made them wait
// for its stores to leave the core (a store-forwarding stall), and GCC copied
// the values out with a string move. A correctly rounded exp of 10 floats
// took 61–68 ns with those copies and 29–31 ns with these (10 doubles 82–93
// and 58–63, a log of 10 floats 83 and 56). The clones of a portable build
// (vector_clones.hpp) cannot take the intrinsics: there the copies stay.
//
// Below kScalarBelow elements an array goes one element at a time: one pass
// of the vector loop costs its whole latency, 45–55 ns for a single element
// of a correctly rounded exp (10 ns one by one).
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ddx::short_arrays {

inline constexpr std::int64_t kScalarBelow = 4;

#if defined(__AVX512F__)
// The mask of the first r of a vector's L lanes (none for r ≤ 0, all for r ≥ L).
inline unsigned first_lanes(std::int64_t r, std::int64_t L) {
  return r >= L ? (1u << L) - 1 : r <= 0 ? 0u : (1u << r) - 1;
}
#endif

// args[0, m) = x[0, m), args[m, padded) = 1; padded a multiple of 16 (a
// whole number of vectors at every level).
template <class T> [[gnu::always_inline]] inline void pad_in(const T* x, std::int64_t m, std::int64_t padded, T* args) {
#if defined(__AVX512F__)
  constexpr std::int64_t L = 64 / sizeof(T);
  for (std::int64_t p = 0; p < padded; p += L) {
    const std::int64_t r = m - p;  // lanes of this vector in x (x + p is not formed past its end)
    const unsigned mask = first_lanes(r, L);
    if constexpr (std::is_same_v<T, float>)
      _mm512_storeu_ps(args + p, r <= 0 ? _mm512_set1_ps(1.0f)
                                        : _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), static_cast<__mmask16>(mask), x + p));
    else
      _mm512_storeu_pd(args + p, r <= 0 ? _mm512_set1_pd(1.0)
                                        : _mm512_mask_loadu_pd(_mm512_set1_pd(1.0), static_cast<__mmask8>(mask), x + p));
  }
#else
  std::copy(x, x + m, args);
  std::fill(args + m, args + padded, T(1));
#endif
}

// out[0, m) = values[0, m), nothing written past out + m; values holds a
// whole number of vectors.
template <class T> [[gnu::always_inline]] inline void copy_out(const T* values, std::int64_t m, T* out) {
#if defined(__AVX512F__)
  constexpr std::int64_t L = 64 / sizeof(T);
  for (std::int64_t p = 0; p < m; p += L) {
    const unsigned mask = first_lanes(m - p, L);
    if constexpr (std::is_same_v<T, float>)
      _mm512_mask_storeu_ps(out + p, static_cast<__mmask16>(mask), _mm512_loadu_ps(values + p));
    else
      _mm512_mask_storeu_pd(out + p, static_cast<__mmask8>(mask), _mm512_loadu_pd(values + p));
  }
#else
  std::copy(values, values + m, out);
#endif
}

}  // namespace ddx::short_arrays
