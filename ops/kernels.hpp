// Loop helpers shared by the op kernels: elementwise maps with broadcasting
// and reductions to a target shape. Rank <= 2, so an index is (row, col) and
// a value of shape s is s.rows() x s.cols() (a vector is one row).
#pragma once

#include <cstdint>

#include "engine/op.hpp"

namespace ddx::kernels {

// Index of element (r, c) of the output within a value of shape s that
// broadcasts to the output.
inline std::int64_t broadcast_index(const Shape& s, std::int64_t r, std::int64_t c) {
  return (s.rows() == 1 ? 0 : r) * s.cols() + (s.cols() == 1 ? 0 : c);
}

template <class T, class F> void map_unary(const TensorView<T>& x, T* out, F f) {
  const std::int64_t n = x.shape.size();
  for (std::int64_t k = 0; k < n; ++k) out[k] = f(x.data[k]);
}

template <class T, class F>
void map_binary(const TensorView<T>& a, const TensorView<T>& b, const Shape& out_shape, T* out, F f) {
  if (a.shape == out_shape && b.shape == out_shape) {
    const std::int64_t n = out_shape.size();
    for (std::int64_t k = 0; k < n; ++k) out[k] = f(a.data[k], b.data[k]);
    return;
  }
  const std::int64_t rows = out_shape.rows(), cols = out_shape.cols();
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c)
      out[r * cols + c] = f(a.data[broadcast_index(a.shape, r, c)], b.data[broadcast_index(b.shape, r, c)]);
}

// out (shape `target`) = fold of x's elements that broadcast onto each output element.
template <class T, class F>
void reduce_to(const TensorView<T>& x, const Shape& target, T* out, const T& init, F combine) {
  const std::int64_t n = target.size();
  for (std::int64_t k = 0; k < n; ++k) out[k] = init;
  const std::int64_t rows = x.shape.rows(), cols = x.shape.cols();
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) {
      T& o = out[broadcast_index(target, r, c)];
      o = combine(o, x.data[r * cols + c]);
    }
}

// Instantiates Op::forward<T> for every scalar type ddx evaluates at.
template <class Op, class... Ts> KernelTuple<Ts...> kernel_table_for(std::tuple<Ts...>*) {
  return {&Op::template forward<Ts>...};
}
template <class Op> KernelTable kernel_table() {
  return kernel_table_for<Op>(static_cast<ScalarTypes*>(nullptr));
}

}  // namespace ddx::kernels
