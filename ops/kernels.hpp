// Loop helpers shared by the op kernels: elementwise maps with broadcasting
// and reductions to a target shape. Rank <= 2, so an index is (row, col) and
// a value of shape s is s.rows() x s.cols() (a vector is one row).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "engine/op.hpp"
#include "ops/lanes.hpp"

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

// The first element of row r of a value that broadcasts to the output (its
// rows are 1 or the output's; its columns 1 or the output's).
template <class T> const T* broadcast_row(const TensorView<T>& x, std::int64_t r) {
  return x.data + (x.shape.rows() == 1 ? 0 : r) * x.shape.cols();
}

// The types the vector paths below take (GCC/Clang vector extensions).
template <class T> inline constexpr bool kVectorType = std::is_same_v<T, float> || std::is_same_v<T, double>;

// Short rows: at float and double, rows of 2 to 2·64 bytes − 1 of elements
// (2–31 floats, 2–15 doubles). A loop over a row that short costs its loop
// control and scalar tail, not its arithmetic, so a row is written as two
// vectors of W lanes, W the largest power of two ≤ cols (at most 64 bytes):
// the row's first W elements and its last W, which overlap the first when
// cols < 2·W (an element in both is written twice with the same value).
template <class T> inline constexpr int kShortRowWidest = static_cast<int>(64 / sizeof(T));

template <class T> bool is_short_row(std::int64_t cols) {
  if constexpr (kVectorType<T>) return cols >= 2 && cols < 2 * kShortRowWidest<T>;
  return false;
}

// f(W) with W the short-row lane count for cols (is_short_row(cols)): the
// first power of two from 2 whose double exceeds cols, or the widest.
template <class T, int W = 2, class F> void with_short_row_width(std::int64_t cols, F f) {
  if constexpr (kVectorType<T>) {
    if constexpr (W < kShortRowWidest<T>)
      if (cols >= 2 * W) return with_short_row_width<T, 2 * W>(cols, f);
    f(std::integral_constant<int, W>{});
  }
}

// Rows first to first + m of x broadcast to cols columns, written to out
// (m·cols elements): each row a copy of x's row r (or row 0), or its one
// value spread, as two vectors of W lanes.
template <int W, class T, std::size_t... L>
[[gnu::always_inline]] inline void broadcast_short_rows(const TensorView<T>& x, std::int64_t first, std::int64_t m,
                                                        std::int64_t cols, T* out, std::index_sequence<L...>) {
  typedef T Lanes __attribute__((vector_size(W * sizeof(T))));
  const T* xr = broadcast_row(x, first);
  const std::int64_t step = x.shape.rows() == 1 ? 0 : x.shape.cols();
  if (x.shape.cols() == cols) {
    for (std::int64_t i = 0; i < m; ++i, xr += step) {
      Lanes head, tail;
      std::memcpy(&head, xr, sizeof head);
      std::memcpy(&tail, xr + cols - W, sizeof tail);
      std::memcpy(out + i * cols, &head, sizeof head);
      std::memcpy(out + i * cols + cols - W, &tail, sizeof tail);
    }
  } else {
    for (std::int64_t i = 0; i < m; ++i, xr += step) {
      const Lanes spread = {((void)L, xr[0])...};  // a copy, not arithmetic: −0 and NaN stay as they are
      std::memcpy(out + i * cols, &spread, sizeof spread);
      std::memcpy(out + i * cols + cols - W, &spread, sizeof spread);
    }
  }
}
template <int W, class T>
void broadcast_short_rows(const TensorView<T>& x, std::int64_t first, std::int64_t m, std::int64_t cols, T* out) {
  broadcast_short_rows<W>(x, first, m, cols, out, std::make_index_sequence<W>{});
}

// Elements per block of short rows in map_binary.
inline constexpr std::int64_t kShortRowBlock = 1024;

// Row by row, each operand either a full row or one value spread over it, so
// the inner loops are plain (and vectorize). Short rows of several rows go a
// block of rows at a time: an operand that is not the whole output is first
// broadcast to the block, then f runs over the block in one flat loop (a
// single row keeps its one loop, as short as the broadcast would be). Every
// element is f of the same two elements as broadcast_index would pick.
template <class T, class F>
void map_binary(const TensorView<T>& a, const TensorView<T>& b, const Shape& out_shape, T* out, F f) {
  if (a.shape == out_shape && b.shape == out_shape) {
    const std::int64_t n = out_shape.size();
    for (std::int64_t k = 0; k < n; ++k) out[k] = f(a.data[k], b.data[k]);
    return;
  }
  const std::int64_t rows = out_shape.rows(), cols = out_shape.cols();
  if (rows > 1 && is_short_row<T>(cols)) {
    with_short_row_width<T>(cols, [&](auto width) {
      constexpr int W = decltype(width)::value;
      T a_block[kShortRowBlock], b_block[kShortRowBlock];
      const std::int64_t per_block = kShortRowBlock / cols;
      for (std::int64_t r0 = 0; r0 < rows; r0 += per_block) {
        const std::int64_t m = rows - r0 < per_block ? rows - r0 : per_block;
        const auto block_of = [&](const TensorView<T>& x, T* scratch) -> const T* {
          if (x.shape == out_shape) return x.data + r0 * cols;
          broadcast_short_rows<W>(x, r0, m, cols, scratch);
          return scratch;
        };
        const T* ab = block_of(a, a_block);
        const T* bb = block_of(b, b_block);
        T* o = out + r0 * cols;
        for (std::int64_t k = 0; k < m * cols; ++k) o[k] = f(ab[k], bb[k]);
      }
    });
    return;
  }
  const bool a_full = a.shape.cols() == cols, b_full = b.shape.cols() == cols;
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* ar = broadcast_row(a, r);
    const T* br = broadcast_row(b, r);
    T* o = out + r * cols;
    if (a_full && b_full) {
      for (std::int64_t c = 0; c < cols; ++c) o[c] = f(ar[c], br[c]);
    } else if (a_full) {
      const T bv = br[0];
      for (std::int64_t c = 0; c < cols; ++c) o[c] = f(ar[c], bv);
    } else if (b_full) {
      const T av = ar[0];
      for (std::int64_t c = 0; c < cols; ++c) o[c] = f(av, br[c]);
    } else {
      const T v = f(ar[0], br[0]);
      for (std::int64_t c = 0; c < cols; ++c) o[c] = v;
    }
  }
}

// out (shape s) = x broadcast: each row a copy of x's row r (or row 0), or
// its one value spread.
template <class T> void broadcast_rows(const TensorView<T>& x, const Shape& s, T* out) {
  const std::int64_t rows = s.rows(), cols = s.cols();
  if (rows > 1 && is_short_row<T>(cols)) {
    with_short_row_width<T>(cols,
                            [&](auto width) { broadcast_short_rows<decltype(width)::value>(x, 0, rows, cols, out); });
    return;
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* xr = broadcast_row(x, r);
    T* o = out + r * cols;
    if (x.shape.cols() == cols)
      std::copy(xr, xr + cols, o);
    else
      std::fill(o, o + cols, xr[0]);
  }
}

// out (shape `target`) = fold of x's elements that broadcast onto each output
// element, each output element folding its elements in row-major order. The
// common targets have their own loops (the same folds in the same order):
// one value per row (four rows at a time, so four independent chains), one
// per column (a row at a time over all columns), one in all.
template <class T, class F>
void reduce_to(const TensorView<T>& x, const Shape& target, T* out, const T& init, F combine) {
  const std::int64_t rows = x.shape.rows(), cols = x.shape.cols();
  const std::int64_t n = target.size();
  if (target.cols() == 1 && target.rows() == rows && rows > 1) {
    std::int64_t r = 0;
    for (; r + 4 <= rows; r += 4) {
      const T* x0 = x.data + r * cols;
      T acc0 = init, acc1 = init, acc2 = init, acc3 = init;
      for (std::int64_t c = 0; c < cols; ++c) {
        acc0 = combine(acc0, x0[c]);
        acc1 = combine(acc1, x0[cols + c]);
        acc2 = combine(acc2, x0[2 * cols + c]);
        acc3 = combine(acc3, x0[3 * cols + c]);
      }
      out[r] = acc0, out[r + 1] = acc1, out[r + 2] = acc2, out[r + 3] = acc3;
    }
    for (; r < rows; ++r) {
      T acc = init;
      for (std::int64_t c = 0; c < cols; ++c) acc = combine(acc, x.data[r * cols + c]);
      out[r] = acc;
    }
    return;
  }
  for (std::int64_t k = 0; k < n; ++k) out[k] = init;
  if (target.rows() == 1 && target.cols() == cols && cols > 1) {
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) out[c] = combine(out[c], x.data[r * cols + c]);
    return;
  }
  if (n == 1) {
    T acc = init;
    for (std::int64_t k = 0; k < rows * cols; ++k) acc = combine(acc, x.data[k]);
    out[0] = acc;
    return;
  }
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) {
      T& o = out[broadcast_index(target, r, c)];
      o = combine(o, x.data[r * cols + c]);
    }
}

// Lanes of a sum: the elements of one 64-byte vector register at float and
// double (16 and 8), 4 at long double, 1 (a plain left-to-right sum) at the
// multiprecision types. A property of the type, not of the machine: every
// build adds in the same order and gets the same bits.
template <class T> inline constexpr std::int64_t kSumLanes = std::max<std::int64_t>(1, 64 / sizeof(T));

// lane[r][l] += x[r·stride + k + l] for the whole runs of L = kSumLanes<T>
// elements from k on, while k + L ≤ m; returns where they end. At float and
// double each row's lanes are one 64-byte vector, held in a register (as
// arrays GCC kept them in memory, each addition waiting for the store of the
// one before, or assembled the vector from scalars).
template <class T, int R>
std::int64_t add_whole_lanes(T (&lane)[R][kSumLanes<T>], const T* x, std::int64_t stride, std::int64_t k,
                             std::int64_t m) {
  constexpr std::int64_t L = kSumLanes<T>;
  if constexpr (kVectorType<T>) {
    typedef T Lanes __attribute__((vector_size(L * sizeof(T))));
    Lanes acc[R], v;
    for (int r = 0; r < R; ++r) std::memcpy(&acc[r], lane[r], sizeof(Lanes));
    for (; k + L <= m; k += L)
      for (int r = 0; r < R; ++r) {
        std::memcpy(&v, x + r * stride + k, sizeof v);
        acc[r] += v;
      }
    for (int r = 0; r < R; ++r) std::memcpy(lane[r], &acc[r], sizeof(Lanes));
  } else {
    for (; k + L <= m; k += L)
      for (int r = 0; r < R; ++r)
        for (std::int64_t l = 0; l < L; ++l) lane[r][l] = T(lane[r][l] + x[r * stride + k + l]);
  }
  return k;
}

// x[0] + … + x[m−1] in kSumLanes<T> lanes: lane l adds the elements l, l + L,
// l + 2L, … in order, starting from 0, and the lanes are then added left to
// right, starting from 0. For m ≤ L that is the left-to-right sum itself;
// longer runs vectorize (each lane is its own chain, so nothing is
// reassociated) and their rounding error grows with m/L instead of m.
//
// lane_sums<T, R> adds R rows this way at once (row r at x + r·stride, m
// elements each, its sum to out[r]): the same sums, as R independent chains
// whose latencies overlap (the final fold of the lanes is a chain of L
// dependent additions per row, most of the time of a short row).
template <class T, int R> void lane_sums(const T* x, std::int64_t stride, std::int64_t m, T* out) {
  constexpr std::int64_t L = kSumLanes<T>;
  T lane[R][L];
  for (int r = 0; r < R; ++r)
    for (std::int64_t l = 0; l < L; ++l) lane[r][l] = T(0);
  std::int64_t k = add_whole_lanes<T, R>(lane, x, stride, 0, m);
  for (std::int64_t l = 0; k < m; ++k, ++l)
    for (int r = 0; r < R; ++r) lane[r][l] = T(lane[r][l] + x[r * stride + k]);
  T total[R];
  for (int r = 0; r < R; ++r) total[r] = T(0);
  for (std::int64_t l = 0; l < L; ++l)
    for (int r = 0; r < R; ++r) total[r] = T(total[r] + lane[r][l]);
  for (int r = 0; r < R; ++r) out[r] = total[r];
}

// The same sum of a run given in parts, in order: lane_add adds a part,
// x[0..m), whose elements come after `first` elements of the run, each to
// the lane of its position in the run (lane l takes the positions l mod L),
// into lanes that start at 0; lane_total then adds the lanes left to right
// from 0. A run added whole or in any parts gets lane_sums' value.
template <class T> void lane_add(T* lanes, std::int64_t first, const T* x, std::int64_t m) {
  constexpr std::int64_t L = kSumLanes<T>;
  T lane[1][L];  // a local copy: x cannot alias it
  for (std::int64_t l = 0; l < L; ++l) lane[0][l] = lanes[l];
  std::int64_t k = 0;
  for (std::int64_t l = first % L; l != 0 && l < L && k < m; ++k, ++l) lane[0][l] = T(lane[0][l] + x[k]);  // to lane 0
  k = add_whole_lanes<T, 1>(lane, x, 0, k, m);
  for (std::int64_t l = 0; k < m; ++k, ++l) lane[0][l] = T(lane[0][l] + x[k]);
  for (std::int64_t l = 0; l < L; ++l) lanes[l] = lane[0][l];
}
template <class T> T lane_total(const T* lanes) {
  T total = T(0);
  for (std::int64_t l = 0; l < kSumLanes<T>; ++l) total = T(total + lanes[l]);
  return total;
}

template <class T> T lane_sum(const T* x, std::int64_t m) {
  T lanes[kSumLanes<T>];
  std::fill(lanes, lanes + kSumLanes<T>, T(0));
  lane_add(lanes, 0, x, m);
  return lane_total(lanes);
}

// out (shape `target`) = the sum of x's elements that broadcast onto each
// output element: a row's (or the whole value's) elements by lane_sum, the
// other targets as reduce_to adds them (in row-major order).
template <class T> void sum_to(const TensorView<T>& x, const Shape& target, T* out) {
  const std::int64_t rows = x.shape.rows(), cols = x.shape.cols();
  const auto add = [](const T& acc, const T& v) { return T(acc + v); };
  if (target.cols() == 1 && target.rows() == rows && rows > 1 && cols > kSumLanes<T>) {
    std::int64_t r = 0;
    for (; r + 4 <= rows; r += 4) lane_sums<T, 4>(x.data + r * cols, cols, cols, out + r);
    for (; r < rows; ++r) out[r] = lane_sum(x.data + r * cols, cols);
  } else if (target.size() == 1 && x.shape.size() > kSumLanes<T>) {
    out[0] = lane_sum(x.data, x.shape.size());
  } else {  // short rows: reduce_to's four rows at a time (the same sums as lane_sum)
    reduce_to(x, target, out, T(0), add);
  }
}

// The maximum's fold: the first NaN if there is one (it is not hidden), else
// the first element equal to the largest.
template <class T> T first_max(const T& acc, const T& x) { return (x > acc || x != x) && acc == acc ? x : acc; }

// first_max folded over x[0..m) of float or double, m ≥ 32 bytes of
// elements, in the lanes of one 32-byte vector: the plain vector maximum
// (which lanes the elements fall in cannot change the largest, so the last
// lanes are read as the last 32 bytes, some elements twice), and a running
// sum of x − x, 0 unless an inf or NaN passed. Equal elements have the same
// bits unless they are zeros of two signs, so the largest is the fold's value
// except when it is 0 or the run holds an inf or NaN: those runs are folded
// again left to right. The lanes are folded into one by halves, in log2 of
// their number of steps (3 for 8 lanes, where one lane after the other took
// 7): for a short row that fold is most of the work. (GCC 12 leaves the
// same loop over an array of lanes scalar.)
template <class T> inline constexpr std::int64_t kLaneMaxRun = 32 / sizeof(T);  // lane_max's shortest run

// lane_max's lanes folded into each one: top by the maximum, check by the sum,
// each lane with the lane H further on, then H/2, …, 1.
template <int H, class V> [[gnu::always_inline]] inline void fold_max_lanes(V& top, V& check) {
  if constexpr (H > 0) {
    const V t = rotated_lanes<H>(top);
    top = t > top ? t : top;
    check += rotated_lanes<H>(check);
    fold_max_lanes<H / 2>(top, check);
  }
}

template <class T> T lane_max(const T* x, std::int64_t m) {
  static_assert(kVectorType<T>);
  constexpr std::int64_t L = kLaneMaxRun<T>;
  typedef T Lanes __attribute__((vector_size(32)));
  // Four running maxima and sums over long runs, so that four vectors are
  // taken at a time (one chain of maxima waited on each one's latency).
  constexpr int kChains = 4;
  Lanes top[kChains], check[kChains];
  std::memcpy(&top[0], x, sizeof top[0]);
  check[0] = top[0] - top[0];
  const auto take = [&](int i, const T* at) {
    Lanes v;
    std::memcpy(&v, at, sizeof v);
    top[i] = v > top[i] ? v : top[i];
    check[i] += v - v;
  };
  std::int64_t k = L;
  if (k + kChains * L <= m) {
    for (int i = 1; i < kChains; ++i) top[i] = top[0], check[i] = check[0];
    for (; k + kChains * L <= m; k += kChains * L)
      for (int i = 0; i < kChains; ++i) take(i, x + k + i * L);
    for (int i = 1; i < kChains; ++i) top[0] = top[i] > top[0] ? top[i] : top[0], check[0] += check[i];
  }
  for (; k + L <= m; k += L) take(0, x + k);
  take(0, x + m - L);
  fold_max_lanes<L / 2>(top[0], check[0]);
  const T largest = top[0][0], odd = check[0][0];
  if (odd == T(0) && largest != T(0)) return largest;
  T acc = x[0];
  for (std::int64_t j = 1; j < m; ++j) acc = first_max(acc, x[j]);
  return acc;
}

// out (shape `target`) = the maximum (first_max's fold) of x's elements that
// broadcast onto each output element: at float and double a row's (or the
// whole value's) runs of at least 32 bytes by lane_max (rows of 10 floats
// too: a row of elements folded one by one is a chain of dependent
// compares), the rest by reduce_to.
template <class T> void max_to(const TensorView<T>& x, const Shape& target, T* out) {
  const std::int64_t rows = x.shape.rows(), cols = x.shape.cols();
  if constexpr (kVectorType<T>) {
    if (target.cols() == 1 && target.rows() == rows && rows > 1 && cols >= kLaneMaxRun<T>) {
      for (std::int64_t r = 0; r < rows; ++r) out[r] = lane_max(x.data + r * cols, cols);
      return;
    }
    if (target.size() == 1 && x.shape.size() >= kLaneMaxRun<T>) {
      out[0] = lane_max(x.data, x.shape.size());
      return;
    }
  }
  reduce_to(x, target, out, T(-std::numeric_limits<T>::infinity()),
            [](const T& acc, const T& v) { return first_max(acc, v); });
}

// Instantiates Op::forward<T> for every scalar type ddx evaluates at.
template <class Op, class... Ts> KernelTuple<Ts...> kernel_table_for(std::tuple<Ts...>*) {
  return {&Op::template forward<Ts>...};
}
template <class Op> KernelTable kernel_table() {
  return kernel_table_for<Op>(static_cast<ScalarTypes*>(nullptr));
}

// Instantiates Op::add<T> and Op::finish<T> (an OpInfo::accumulators entry)
// for every scalar type.
template <class Op, class... Ts> std::tuple<Accumulator<Ts>...> accumulator_table_for(std::tuple<Ts...>*) {
  return {Accumulator<Ts>{&Op::template add<Ts>, &Op::template finish<Ts>}...};
}
template <class Op> AccumulatorTable accumulator_table() {
  return accumulator_table_for<Op>(static_cast<ScalarTypes*>(nullptr));
}

}  // namespace ddx::kernels
