// Helpers on GCC vectors (vector_size) shared by the kernels of ops/.
#pragma once

#include <cstddef>
#include <utility>

namespace ddx {

// v with its lanes rotated by H: lane l holds v's lane (l + H) mod the lane
// count. Compared with v at H = half the lanes, then a quarter, …, 1, it
// folds every lane into each one in log2 of their number of steps.
template <int H, class V> [[gnu::always_inline]] inline V rotated_lanes(const V& v) {
  constexpr std::size_t n = sizeof(V) / sizeof(v[0]);
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return __builtin_shufflevector(v, v, static_cast<int>((I + H) % n)...);
  }(std::make_index_sequence<n>());
}

}  // namespace ddx
