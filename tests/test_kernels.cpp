// The loop helpers of ops/kernels.hpp against the element-by-element
// definition (broadcast_index for every output element): every broadcast of
// two operands, every reduction target, every broadcast to a shape, at shapes
// with 1, 3, 4 and 7 rows (the per-row reduction runs four rows at a time),
// and for the elementwise helpers rows of every short-row width.
// Exact equality: the helpers promise the same operations, on the same
// elements, in the same order.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "ops/kernels.hpp"
#include "ulps.hpp"

namespace ddx {
namespace {

std::vector<double> random_values(std::int64_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> value(-10.0, 10.0);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& x : v) x = value(rng);
  return v;
}

// The shapes that broadcast to rows × cols: (rows or 1) × (cols or 1).
std::vector<Shape> broadcasting_to(std::int64_t rows, std::int64_t cols) {
  return {Shape::matrix(rows, cols), Shape::matrix(rows, 1), Shape::matrix(1, cols), Shape::matrix(1, 1)};
}

const std::vector<std::pair<std::int64_t, std::int64_t>> kShapes = {{1, 1}, {1, 5}, {3, 1}, {3, 5}, {4, 6}, {7, 9}};

template <class T> bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// The same bits, or NaN both: arithmetic on a NaN gives a NaN whose sign
// depends on the order of a commutative operation's operands, which the
// compiler may swap.
template <class T> bool same_values(const std::vector<T>& a, const std::vector<T>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), same<T>);
}

// Values for the elementwise helpers: random, with −0 and NaN here and there
// (a broadcast copies them bit for bit).
template <class T> std::vector<T> values_with_specials(std::int64_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> value(-10.0, 10.0);
  std::vector<T> v(static_cast<std::size_t>(n));
  for (T& x : v) x = T(value(rng));
  for (std::size_t k = 5; k < v.size(); k += 13) v[k] = T(-0.0);
  for (std::size_t k = 11; k < v.size(); k += 37) v[k] = -std::numeric_limits<T>::quiet_NaN();
  return v;
}

// The shapes of the elementwise helpers' tests: 1 to 600 rows, the short
// rows of ops/kernels.hpp at float and double (2–31 and 2–15 columns: each
// lane width, columns that are and are not a power of two, blocks of rows
// that end inside the value), and longer rows.
const std::int64_t kRows[] = {1, 3, 4, 7, 103, 600};
const std::int64_t kCols[] = {1, 2, 3, 5, 8, 9, 15, 16, 17, 31, 32, 40};

template <class T> void expect_map_binary_definition() {
  std::mt19937_64 rng(3);
  const auto f = [](T a, T b) { return T(a / b + std::sqrt(std::fabs(a))); };  // not symmetric
  for (std::int64_t rows : kRows)
    for (std::int64_t cols : kCols) {
      const Shape out_shape = Shape::matrix(rows, cols);
      for (const Shape& sa : broadcasting_to(rows, cols))
        for (const Shape& sb : broadcasting_to(rows, cols)) {
          const auto a = values_with_specials<T>(sa.size(), rng), b = values_with_specials<T>(sb.size(), rng);
          std::vector<T> out(static_cast<std::size_t>(out_shape.size())), expected(out.size());
          kernels::map_binary<T>({a.data(), sa}, {b.data(), sb}, out_shape, out.data(), f);
          for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < cols; ++c)
              expected[r * cols + c] = f(a[kernels::broadcast_index(sa, r, c)], b[kernels::broadcast_index(sb, r, c)]);
          ASSERT_TRUE(same_values(out, expected)) << to_string(sa) << " with " << to_string(sb);
          if (sa == out_shape) {  // in place: the output is the first operand
            std::vector<T> in_place = a;
            kernels::map_binary<T>({in_place.data(), sa}, {b.data(), sb}, out_shape, in_place.data(), f);
            ASSERT_TRUE(same_values(in_place, expected)) << "in place, " << to_string(sa) << " with " << to_string(sb);
          }
          if (sb == out_shape) {  // in place: the output is the second operand
            std::vector<T> in_place = b;
            kernels::map_binary<T>({a.data(), sa}, {in_place.data(), sb}, out_shape, in_place.data(), f);
            ASSERT_TRUE(same_values(in_place, expected)) << to_string(sa) << " with " << to_string(sb) << " in place";
          }
        }
    }
}

TEST(Kernels, MapBinaryIsTheElementwiseDefinitionFloat) { expect_map_binary_definition<float>(); }
TEST(Kernels, MapBinaryIsTheElementwiseDefinitionDouble) { expect_map_binary_definition<double>(); }

template <class T> void expect_broadcast_rows_definition() {
  std::mt19937_64 rng(5);
  for (std::int64_t rows : kRows)
    for (std::int64_t cols : kCols) {
      const Shape out_shape = Shape::matrix(rows, cols);
      for (const Shape& s : broadcasting_to(rows, cols)) {
        const auto x = values_with_specials<T>(s.size(), rng);
        std::vector<T> out(static_cast<std::size_t>(out_shape.size())), expected(out.size());
        kernels::broadcast_rows<T>({x.data(), s}, out_shape, out.data());
        for (std::int64_t r = 0; r < rows; ++r)
          for (std::int64_t c = 0; c < cols; ++c) expected[r * cols + c] = x[kernels::broadcast_index(s, r, c)];
        ASSERT_TRUE(same_bits(out, expected)) << to_string(s) << " to " << to_string(out_shape);
      }
    }
}

TEST(Kernels, BroadcastRowsCopiesTheElementBroadcastIndexPicksFloat) { expect_broadcast_rows_definition<float>(); }
TEST(Kernels, BroadcastRowsCopiesTheElementBroadcastIndexPicksDouble) { expect_broadcast_rows_definition<double>(); }

TEST(Kernels, ReduceToFoldsInRowMajorOrder) {
  std::mt19937_64 rng(4);
  const auto sum = [](double acc, double x) { return acc + x; };
  const auto max = [](double acc, double x) { return x > acc ? x : acc; };
  for (auto [rows, cols] : kShapes) {
    const Shape in_shape = Shape::matrix(rows, cols);
    const auto x = random_values(in_shape.size(), rng);
    for (const Shape& target : broadcasting_to(rows, cols)) {
      std::vector<double> out(static_cast<std::size_t>(target.size()));
      std::vector<double> expected(out.size(), 0.0);
      kernels::reduce_to<double>({x.data(), in_shape}, target, out.data(), 0.0, sum);
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < cols; ++c) {
          double& o = expected[static_cast<std::size_t>(kernels::broadcast_index(target, r, c))];
          o = o + x[r * cols + c];
        }
      EXPECT_EQ(out, expected) << "sum of " << to_string(in_shape) << " to " << to_string(target);
      kernels::reduce_to<double>({x.data(), in_shape}, target, out.data(), -INFINITY, max);
      std::fill(expected.begin(), expected.end(), -INFINITY);
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < cols; ++c) {
          double& o = expected[static_cast<std::size_t>(kernels::broadcast_index(target, r, c))];
          o = max(o, x[r * cols + c]);
        }
      EXPECT_EQ(out, expected) << "max of " << to_string(in_shape) << " to " << to_string(target);
    }
  }
}

// sum_to against its definition written out: a row's (or the whole value's)
// elements in kSumLanes lanes, lane l taking the elements l, l + L, … from
// 0, the lanes then added left to right from 0; the other targets in
// row-major order. Runs shorter than, equal to and longer than the lanes,
// at float (16 lanes) and double (8). Exact equality: the same additions in
// the same order.
template <class T> T lanes_by_definition(const std::vector<T>& run) {
  constexpr std::int64_t L = kernels::kSumLanes<T>;
  std::vector<T> lane(L, T(0));
  for (std::size_t k = 0; k < run.size(); ++k) lane[k % L] = T(lane[k % L] + run[k]);
  T total(0);
  for (const T& v : lane) total = T(total + v);
  return total;
}

template <class T> void expect_sum_to_definition() {
  std::mt19937_64 rng(6);
  std::uniform_real_distribution<double> value(-1.0, 1.0);
  for (std::int64_t rows : {1, 3, 5, 9})  // (rows by fours, and the rest one by one)
    for (std::int64_t cols : {1, 7, 8, 9, 16, 17, 40, 100}) {
      const Shape in_shape = Shape::matrix(rows, cols);
      std::vector<T> x(static_cast<std::size_t>(in_shape.size()));
      for (T& v : x) v = T(value(rng) * std::ldexp(1.0, static_cast<int>(rng() % 40) - 20));  // rounding matters
      for (const Shape& target : broadcasting_to(rows, cols)) {
        std::vector<T> out(static_cast<std::size_t>(target.size())), expected(out.size(), T(0));
        kernels::sum_to<T>({x.data(), in_shape}, target, out.data());
        if (target.size() == 1) {
          expected[0] = lanes_by_definition(x);
        } else if (target.cols() == 1) {
          for (std::int64_t r = 0; r < rows; ++r)
            expected[r] = lanes_by_definition(std::vector<T>(x.begin() + r * cols, x.begin() + (r + 1) * cols));
        } else {
          for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < cols; ++c) {
              T& o = expected[static_cast<std::size_t>(kernels::broadcast_index(target, r, c))];
              o = T(o + x[r * cols + c]);
            }
        }
        EXPECT_EQ(out, expected) << "sum of " << to_string(in_shape) << " to " << to_string(target);
      }
    }
}

TEST(Kernels, SumToAddsRowsInLanesFloat) { expect_sum_to_definition<float>(); }
TEST(Kernels, SumToAddsRowsInLanesDouble) { expect_sum_to_definition<double>(); }

// max_to against the maximum's fold written out: in row-major order from
// −inf, x replaces the running value when it is larger or NaN, unless the
// running value is NaN already. Compared bit for bit: a zero maximum keeps
// the sign of the first zero, and the first NaN's sign is kept. Rows with
// many ties (zeros of both signs), with an inf or a NaN at a random place,
// and ordinary rows; runs shorter than a 32-byte vector (reduce_to's fold)
// and as long or longer (the vector lanes, with lengths that are and are not
// a multiple of the vector's).
template <class T> void expect_max_to_definition() {
  std::mt19937_64 rng(9);
  std::normal_distribution<double> normal(0.0, 3.0);
  const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  const T ties[] = {T(0), T(-0.0), T(-1), T(-0.0)};
  for (std::int64_t rows : {1, 3, 5, 9})
    for (std::int64_t cols : {1, 3, 4, 7, 8, 9, 16, 17, 40, 100})
      for (int kind = 0; kind < 6; ++kind) {
        const Shape in_shape = Shape::matrix(rows, cols);
        std::vector<T> x(static_cast<std::size_t>(in_shape.size()));
        for (T& v : x) v = kind == 1 ? ties[rng() % 4] : T(normal(rng));
        const std::size_t at = rng() % x.size();
        if (kind == 2) x[at] = inf;
        if (kind == 3) x[at] = -inf;
        if (kind == 4) x[at] = nan, x[rng() % x.size()] = -nan;  // the first one stays
        if (kind == 5) x[at] = T(-0.0), x[rng() % x.size()] = T(0);  // rows of ordinary values with zeros
        for (const Shape& target : broadcasting_to(rows, cols)) {
          std::vector<T> out(static_cast<std::size_t>(target.size())), expected(out.size(), -inf);
          kernels::max_to<T>({x.data(), in_shape}, target, out.data());
          for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < cols; ++c) {
              T& o = expected[static_cast<std::size_t>(kernels::broadcast_index(target, r, c))];
              const T v = x[r * cols + c];
              if ((v > o || std::isnan(v)) && !std::isnan(o)) o = v;
            }
          EXPECT_TRUE(same_bits(out, expected))
              << "max of " << to_string(in_shape) << " to " << to_string(target) << ", rows of kind " << kind;
        }
      }
}

TEST(Kernels, MaxToIsTheFoldBitForBitFloat) { expect_max_to_definition<float>(); }
TEST(Kernels, MaxToIsTheFoldBitForBitDouble) { expect_max_to_definition<double>(); }

// A run no longer than the lanes is added left to right, as reduce_to adds.
TEST(Kernels, LaneSumOfAShortRunIsTheLeftToRightSum) {
  std::mt19937_64 rng(8);
  const auto x = random_values(kernels::kSumLanes<double>, rng);
  double sequential = 0.0;
  for (std::int64_t m = 0; m <= kernels::kSumLanes<double>; ++m) {
    EXPECT_EQ(kernels::lane_sum(x.data(), m), sequential) << m;
    if (m < kernels::kSumLanes<double>) sequential += x[m];
  }
}

// A sum to one value taken in parts, in order, each part's elements to the
// lanes of their positions (what the evaluator does with a value a chain
// produces a block of rows at a time): the value of sum_to on the whole run,
// bit for bit, for runs of 0–150 elements cut into parts of every length
// from 1 to 40 (so parts start at every lane) and into random parts.
template <class T> void expect_sum_in_parts_is_the_whole_sum() {
  std::mt19937_64 rng(10);
  constexpr std::int64_t L = kernels::kSumLanes<T>;
  for (std::int64_t m = 0; m <= 150; ++m) {
    std::vector<T> x;
    for (double v : random_values(m, rng)) x.push_back(T(std::ldexp(v, static_cast<int>(rng() % 40) - 20)));
    T whole = T(0);
    kernels::sum_to<T>({x.data(), Shape::matrix(1, m)}, Shape::matrix(1, 1), &whole);
    const auto in_parts = [&](auto next_length) {
      T lanes[L] = {};
      for (std::int64_t first = 0; first < m;) {
        const std::int64_t length = std::min(next_length(), m - first);
        kernels::lane_add(lanes, first, x.data() + first, length);
        first += length;
      }
      return kernels::lane_total(lanes);
    };
    for (std::int64_t part = 1; part <= 40; ++part)
      EXPECT_TRUE(same<T>(in_parts([&] { return part; }), whole)) << m << " elements in parts of " << part;
    for (int trial = 0; trial < 5; ++trial)
      EXPECT_TRUE(same<T>(in_parts([&] { return std::int64_t(1 + rng() % 23); }), whole))
          << m << " elements in random parts";
  }
}

TEST(Kernels, SumInPartsIsTheWholeSumFloat) { expect_sum_in_parts_is_the_whole_sum<float>(); }
TEST(Kernels, SumInPartsIsTheWholeSumDouble) { expect_sum_in_parts_is_the_whole_sum<double>(); }

}  // namespace
}  // namespace ddx
