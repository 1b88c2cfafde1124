// DDX_VECTOR_CLONES: compiles an array function (an element loop that the
// compiler vectorizes) for the baseline x86-64 and for the AVX2 and AVX-512
// levels (x86-64-v3 and v4), chosen at load time by the CPU, and inlines
// everything it calls into each clone (flatten), so the loop body is
// vectorized for that level. Where the build already targets AVX2 or more
// (-march=native), only the flattening. Clang, which builds the fuzzer,
// cannot combine the two attributes; there the loop bodies must be inlined
// by their own always_inline.
#pragma once

#if defined(__clang__)
#define DDX_VECTOR_CLONES
#elif defined(__x86_64__) && !defined(__AVX2__)
#define DDX_VECTOR_CLONES [[gnu::target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4"), gnu::flatten]]
#else
#define DDX_VECTOR_CLONES [[gnu::flatten]]
#endif
