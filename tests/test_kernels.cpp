// The loop helpers of ops/kernels.hpp against the element-by-element
// definition (broadcast_index for every output element): every broadcast of
// two operands, every reduction target, every broadcast to a shape, at shapes
// with 1, 3, 4 and 7 rows (the per-row reduction runs four rows at a time).
// Exact equality: the helpers promise the same operations, on the same
// elements, in the same order.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "ops/kernels.hpp"

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

TEST(Kernels, MapBinaryIsTheElementwiseDefinition) {
  std::mt19937_64 rng(3);
  const auto f = [](double a, double b) { return a / b + std::sqrt(std::fabs(a)); };  // not symmetric
  for (auto [rows, cols] : kShapes) {
    const Shape out_shape = Shape::matrix(rows, cols);
    for (const Shape& sa : broadcasting_to(rows, cols))
      for (const Shape& sb : broadcasting_to(rows, cols)) {
        const auto a = random_values(sa.size(), rng), b = random_values(sb.size(), rng);
        std::vector<double> out(static_cast<std::size_t>(out_shape.size()));
        kernels::map_binary<double>({a.data(), sa}, {b.data(), sb}, out_shape, out.data(), f);
        for (std::int64_t r = 0; r < rows; ++r)
          for (std::int64_t c = 0; c < cols; ++c)
            ASSERT_EQ(out[r * cols + c],
                      f(a[kernels::broadcast_index(sa, r, c)], b[kernels::broadcast_index(sb, r, c)]))
                << to_string(sa) << " with " << to_string(sb) << " at (" << r << ", " << c << ")";
      }
  }
}

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

TEST(Kernels, BroadcastRowsCopiesTheElementBroadcastIndexPicks) {
  std::mt19937_64 rng(5);
  for (auto [rows, cols] : kShapes) {
    const Shape out_shape = Shape::matrix(rows, cols);
    for (const Shape& s : broadcasting_to(rows, cols)) {
      const auto x = random_values(s.size(), rng);
      std::vector<double> out(static_cast<std::size_t>(out_shape.size()));
      kernels::broadcast_rows<double>({x.data(), s}, out_shape, out.data());
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < cols; ++c)
          ASSERT_EQ(out[r * cols + c], x[kernels::broadcast_index(s, r, c)]) << to_string(s);
    }
  }
}

}  // namespace
}  // namespace ddx
