// Shapes and the broadcasting rule of engine/shape.hpp.
#include <gtest/gtest.h>

#include <string>

#include "engine/shape.hpp"

namespace ddx {
namespace {

const Shape kScalar = Shape::scalar();

TEST(Shape, SizeRowsAndColumns) {
  EXPECT_EQ(kScalar.size(), 1);
  EXPECT_EQ(kScalar.rows(), 1);
  EXPECT_EQ(kScalar.cols(), 1);
  EXPECT_TRUE(kScalar.is_scalar());

  const Shape v = Shape::vector(5);
  EXPECT_EQ(v.rank, 1);
  EXPECT_EQ(v.size(), 5);
  EXPECT_EQ(v.rows(), 1);  // a vector is one row
  EXPECT_EQ(v.cols(), 5);
  EXPECT_FALSE(v.is_scalar());

  const Shape m = Shape::matrix(4, 7);
  EXPECT_EQ(m.rank, 2);
  EXPECT_EQ(m.size(), 28);
  EXPECT_EQ(m.rows(), 4);
  EXPECT_EQ(m.cols(), 7);
}

TEST(Shape, ToString) {
  EXPECT_EQ(to_string(kScalar), "scalar");
  EXPECT_EQ(to_string(Shape::vector(3)), "[3]");
  EXPECT_EQ(to_string(Shape::matrix(2, 3)), "[2, 3]");
}

TEST(Shape, EqualityComparesRankAndTheUsedDimensionsOnly) {
  EXPECT_EQ(Shape::vector(3), Shape::vector(3));
  EXPECT_NE(Shape::vector(3), Shape::vector(4));
  EXPECT_NE(Shape::vector(3), Shape::matrix(1, 3));  // [3] and [1, 3] broadcast alike but are different shapes
  EXPECT_NE(kScalar, Shape::vector(1));
  // dims beyond the rank are not part of the shape.
  const Shape with_junk{1, {3, 99}};
  EXPECT_EQ(with_junk, Shape::vector(3));
}

struct BroadcastCase {
  Shape a, b;
  std::optional<Shape> expected;
};

// A test name for a shape: "scalar", "3", "2x3".
std::string label(const Shape& s) {
  switch (s.rank) {
    case 0: return "scalar";
    case 1: return std::to_string(s.dims[0]);
    default: return std::to_string(s.dims[0]) + "x" + std::to_string(s.dims[1]);
  }
}

void PrintTo(const BroadcastCase& c, std::ostream* os) { *os << to_string(c.a) << " with " << to_string(c.b); }

class BroadcastRule : public ::testing::TestWithParam<BroadcastCase> {};

TEST_P(BroadcastRule, GivesTheExpectedShapeInBothOrders) {
  const auto& c = GetParam();
  const auto ab = broadcast(c.a, c.b), ba = broadcast(c.b, c.a);
  ASSERT_EQ(ab.has_value(), c.expected.has_value()) << to_string(c.a) << " with " << to_string(c.b);
  ASSERT_EQ(ba.has_value(), c.expected.has_value()) << to_string(c.b) << " with " << to_string(c.a);
  if (c.expected) {
    EXPECT_EQ(*ab, *c.expected) << to_string(*ab);
    EXPECT_EQ(*ba, *c.expected) << to_string(*ba);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, BroadcastRule,
    ::testing::Values(
        BroadcastCase{Shape::scalar(), Shape::scalar(), Shape::scalar()},
        BroadcastCase{Shape::scalar(), Shape::vector(4), Shape::vector(4)},
        BroadcastCase{Shape::scalar(), Shape::matrix(2, 4), Shape::matrix(2, 4)},
        BroadcastCase{Shape::vector(4), Shape::vector(4), Shape::vector(4)},
        BroadcastCase{Shape::vector(1), Shape::vector(4), Shape::vector(4)},
        // [n] with [B, n]: the vector is repeated for every row.
        BroadcastCase{Shape::vector(4), Shape::matrix(3, 4), Shape::matrix(3, 4)},
        // [B, 1] with [B, n]: a reduced axis kept as size 1 combines row by row.
        BroadcastCase{Shape::matrix(3, 1), Shape::matrix(3, 4), Shape::matrix(3, 4)},
        BroadcastCase{Shape::matrix(1, 4), Shape::matrix(3, 4), Shape::matrix(3, 4)},
        // An outer product of shapes: [B, 1] with [n] or [1, n].
        BroadcastCase{Shape::matrix(3, 1), Shape::vector(4), Shape::matrix(3, 4)},
        BroadcastCase{Shape::matrix(3, 1), Shape::matrix(1, 4), Shape::matrix(3, 4)},
        BroadcastCase{Shape::vector(1), Shape::matrix(3, 4), Shape::matrix(3, 4)},
        // Mismatches.
        BroadcastCase{Shape::vector(3), Shape::vector(4), std::nullopt},
        BroadcastCase{Shape::vector(3), Shape::matrix(3, 4), std::nullopt},
        BroadcastCase{Shape::matrix(2, 4), Shape::matrix(3, 4), std::nullopt},
        BroadcastCase{Shape::matrix(2, 1), Shape::matrix(3, 4), std::nullopt}),
    [](const auto& info) { return label(info.param.a) + "_with_" + label(info.param.b); });

TEST(Shape, BroadcastsToIsOneDirectional) {
  EXPECT_TRUE(broadcasts_to(kScalar, Shape::matrix(2, 3)));
  EXPECT_TRUE(broadcasts_to(Shape::vector(3), Shape::matrix(2, 3)));
  EXPECT_TRUE(broadcasts_to(Shape::matrix(2, 1), Shape::matrix(2, 3)));
  EXPECT_TRUE(broadcasts_to(Shape::matrix(2, 3), Shape::matrix(2, 3)));

  EXPECT_FALSE(broadcasts_to(Shape::matrix(2, 3), Shape::vector(3)));
  EXPECT_FALSE(broadcasts_to(Shape::matrix(2, 3), Shape::matrix(2, 1)));
  EXPECT_FALSE(broadcasts_to(Shape::vector(3), kScalar));
  // [2, 1] and [3] broadcast together to [2, 3], but neither becomes the other.
  EXPECT_FALSE(broadcasts_to(Shape::matrix(2, 1), Shape::vector(3)));
  EXPECT_FALSE(broadcasts_to(Shape::vector(3), Shape::matrix(2, 1)));
}

}  // namespace
}  // namespace ddx
