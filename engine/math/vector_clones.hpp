// DDX_VECTOR_CLONES: compiles an array function (an element loop that the
// compiler vectorizes) for the baseline x86-64 and for the AVX2 and AVX-512
// levels (x86-64-v3 and v4), chosen at load time by the CPU, and inlines
// everything it calls into each clone (flatten), so the loop body is
// vectorized for that level. Where the build already targets AVX2 or more
// (-march=native), only the flattening. Clang, which builds the fuzzer,
// cannot combine the two attributes; there the loop bodies must be inlined
// by their own always_inline.
//
// DDX_AVX512_VERSION: 1 where a function written for AVX-512 alone (its
// intrinsics, 512-bit vectors) can be built beside a portable one, 0
// elsewhere. It can where the build targets AVX-512 (-march=native on such
// a machine), and where GCC builds for the baseline x86-64: there the
// function is compiled for x86-64-v4 and `avx512_runs()` says, once per
// process, whether this CPU can run it. DDX_AVX512_FUNCTION marks such a
// function (flattened, as a clone is), DDX_AVX512_INLINE the helpers it
// inlines.
#pragma once

#if defined(__clang__)
#define DDX_VECTOR_CLONES
#elif defined(__x86_64__) && !defined(__AVX2__)
#define DDX_VECTOR_CLONES [[gnu::target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4"), gnu::flatten]]
#else
#define DDX_VECTOR_CLONES [[gnu::flatten]]
#endif

#if defined(__AVX512F__)
#define DDX_AVX512_VERSION 1
#define DDX_AVX512_FUNCTION [[gnu::flatten]]
#define DDX_AVX512_INLINE [[gnu::always_inline]] inline
#elif defined(__x86_64__) && !defined(__AVX2__) && !defined(__clang__)
#define DDX_AVX512_VERSION 1
#define DDX_AVX512_FUNCTION [[gnu::target("arch=x86-64-v4"), gnu::flatten]]
#define DDX_AVX512_INLINE [[gnu::target("arch=x86-64-v4"), gnu::always_inline]] inline
#else
#define DDX_AVX512_VERSION 0
#endif

#if DDX_AVX512_VERSION
#include <immintrin.h>

namespace ddx {
inline bool avx512_runs() {
#if defined(__AVX512F__)
  return true;
#else
  static const bool runs = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("x86-64-v4") != 0;
  }();
  return runs;
#endif
}
}  // namespace ddx
#endif
