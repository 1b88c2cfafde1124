// The hash-consed expression DAG (engine/graph.hpp): one node per structure,
// variables by name, shape errors that name the op and the shapes.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "engine/op.hpp"
#include "engine/print.hpp"
#include "ops/primitives.hpp"

namespace ddx {
namespace {

// Runs `build` and returns the ShapeError's message, or fails the test.
template <class F> std::string shape_error_of(F build) {
  try {
    build();
  } catch (const ShapeError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ShapeError was thrown";
  return {};
}

void expect_mentions(const std::string& message, std::initializer_list<const char*> parts) {
  for (const char* part : parts) EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' in: " << message;
}

class GraphTest : public ::testing::Test {
 protected:
  Graph g;
  Expr x = variable(g, "x", Shape::vector(3));
  Expr y = variable(g, "y", Shape::vector(3));
};

TEST_F(GraphTest, StructurallyEqualNodesAreOneNode) {
  const std::size_t before = g.size();
  const Expr a = exp(x) + y * x;
  const std::size_t after_first = g.size();
  const Expr b = exp(x) + y * x;
  EXPECT_EQ(a, b);
  EXPECT_EQ(g.size(), after_first) << "building the same expression again added nodes";
  EXPECT_EQ(after_first - before, 3u);  // exp, mul, add
  EXPECT_EQ(log(a), log(b));
}

TEST_F(GraphTest, DifferentStructureGivesDifferentNodes) {
  EXPECT_NE(x + y, y + x);  // operand order is structure; no canonical ordering is promised
  EXPECT_NE(x - y, x + y);
  EXPECT_NE(exp(x), log(x));
  EXPECT_NE(pow(x, 2), pow(x, 3));  // attributes are structure
  EXPECT_NE(sum(x), max(x));
  const Expr m = variable(g, "m", Shape::matrix(2, 3));
  EXPECT_NE(sum(m, 0), sum(m, 1));
  EXPECT_NE(sum(m), sum(m, 1));
  EXPECT_EQ(sum(m, 1), sum(m, -1));  // axis −1 is axis 1 of a matrix
}

TEST_F(GraphTest, ConstantsAreHashConsedByExactValue) {
  const Expr half = constant(g, Rational(1, 2));
  EXPECT_EQ(constant(g, Rational(2, 4)), half);
  EXPECT_EQ(constant(g, parse_rational("0.5")), half);
  EXPECT_NE(constant(g, Rational(1, 3)), half);
  EXPECT_NE(constant(g, Rational(-1, 2)), half);

  const NodeId vec = g.constant({1, 2, 3}, Shape::vector(3));
  EXPECT_EQ(g.constant({1, 2, 3}, Shape::vector(3)), vec);
  EXPECT_NE(g.constant({1, 2, 4}, Shape::vector(3)), vec);
}

// A constant's shape is part of its structure: [1, 2, 3] as [3] and as [1, 3]
// are two nodes, and each keeps the shape it was asked for.
TEST_F(GraphTest, ConstantsWithEqualValuesAndDifferentShapesAreDifferentNodes) {
  const NodeId vec = g.constant({1, 2, 3}, Shape::vector(3));
  const NodeId row = g.constant({1, 2, 3}, Shape::matrix(1, 3));
  EXPECT_NE(row, vec);
  EXPECT_EQ(g.shape(row), Shape::matrix(1, 3)) << "got a node of shape " << to_string(g.shape(row));

  const NodeId one = g.constant(Rational(1));
  const NodeId one_vector = g.constant({1}, Shape::vector(1));
  EXPECT_EQ(g.shape(one), Shape::scalar());
  EXPECT_EQ(g.shape(one_vector), Shape::vector(1)) << "got a node of shape " << to_string(g.shape(one_vector));

  const NodeId zeros23 = g.constant(std::vector<Rational>(6, 0), Shape::matrix(2, 3));
  const NodeId zeros32 = g.constant(std::vector<Rational>(6, 0), Shape::matrix(3, 2));
  EXPECT_EQ(g.shape(zeros23), Shape::matrix(2, 3));
  EXPECT_EQ(g.shape(zeros32), Shape::matrix(3, 2)) << "got a node of shape " << to_string(g.shape(zeros32));
}

TEST_F(GraphTest, ManyDistinctConstantsStayDistinct) {
  std::vector<NodeId> ids;
  for (int k = -500; k < 500; ++k) ids.push_back(g.constant(Rational(k, 7)));
  std::vector<NodeId> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end()) << "two different constants share a node";
  for (int k = -500; k < 500; ++k) {
    const NodeId id = ids[static_cast<std::size_t>(k + 500)];
    EXPECT_EQ(g.constant(Rational(k, 7)), id);
    ASSERT_NE(g.uniform_constant(id), nullptr);
    EXPECT_EQ(*g.uniform_constant(id), Rational(k, 7));
  }
}

TEST_F(GraphTest, VariablesAreIdentifiedByName) {
  EXPECT_EQ(variable(g, "x", Shape::vector(3)), x);
  EXPECT_NE(variable(g, "x2", Shape::vector(3)), x);
  // A variable and a constant never coincide.
  EXPECT_NE(g.constant({0, 0, 0}, Shape::vector(3)), x.id());
  ASSERT_EQ(g.variables().size(), 3u);
  EXPECT_EQ(g.variables()[0], x.id());  // in order of declaration
  EXPECT_EQ(g.variables()[1], y.id());
  EXPECT_EQ(g.attr(x.id()).name, "x");
  EXPECT_TRUE(g.is_variable(x.id()));
  EXPECT_FALSE(g.is_constant(x.id()));
}

TEST_F(GraphTest, RedeclaringAVariableWithAnotherShapeThrows) {
  const std::string message = shape_error_of([&] { (void)variable(g, "x", Shape::vector(4)); });
  expect_mentions(message, {"'x'", "[3]", "[4]"});
  EXPECT_THROW((void)variable(g, "x", Shape::scalar()), ShapeError);
  EXPECT_THROW((void)variable(g, "x", Shape::matrix(1, 3)), ShapeError);
}

TEST_F(GraphTest, ShapeErrorsNameTheOpAndBothShapes) {
  const Expr w = variable(g, "w", Shape::vector(4));
  const Expr m = variable(g, "m", Shape::matrix(2, 5));
  expect_mentions(shape_error_of([&] { (void)(x + w); }), {"add", "[3]", "[4]"});
  expect_mentions(shape_error_of([&] { (void)(x - w); }), {"sub", "[3]", "[4]"});
  expect_mentions(shape_error_of([&] { (void)(w * x); }), {"mul", "[4]", "[3]"});
  expect_mentions(shape_error_of([&] { (void)(x / m); }), {"div", "[3]", "[2, 5]"});
  expect_mentions(shape_error_of([&] { (void)equal(m, x); }), {"equal", "[2, 5]", "[3]"});
  expect_mentions(shape_error_of([&] { (void)broadcast_to(x, Shape::matrix(2, 4)); }),
                  {"broadcast", "[3]", "[2, 4]"});
  expect_mentions(shape_error_of([&] { (void)sum_to(m, Shape::vector(3)); }), {"sum", "[2, 5]", "[3]"});
  expect_mentions(shape_error_of([&] { (void)sum(x, 1); }), {"sum", "axis 1", "[3]"});
  expect_mentions(shape_error_of([&] { (void)max(m, 2); }), {"max", "axis 2", "[2, 5]"});
}

TEST_F(GraphTest, AShapeErrorAddsNoNode) {
  const Expr w = variable(g, "w", Shape::vector(4));
  const std::size_t before = g.size();
  EXPECT_THROW((void)(x + w), ShapeError);
  EXPECT_EQ(g.size(), before);
}

TEST_F(GraphTest, ConstantNeedsOneValuePerElement) {
  const std::string message = shape_error_of([&] { (void)g.constant({1, 2}, Shape::vector(3)); });
  expect_mentions(message, {"[3]", "3", "2"});
}

TEST_F(GraphTest, AddChecksArityAndInputs) {
  register_builtin_ops();
  OpId exp_op = 0;
  ASSERT_NE(find_op("exp", &exp_op), nullptr);
  const std::vector<NodeId> two{x.id(), y.id()};
  EXPECT_THROW((void)g.add(exp_op, two), std::invalid_argument);
  const std::vector<NodeId> missing{static_cast<NodeId>(g.size() + 10)};
  EXPECT_THROW((void)g.add(exp_op, missing), std::out_of_range);
  const std::vector<NodeId> one{x.id()};
  EXPECT_EQ(g.add(exp_op, one), exp(x).id());
}

TEST_F(GraphTest, InputsHaveSmallerIdsAndTopologicalOrderIsAscending) {
  const Expr e = exp(x);
  const Expr root = log(e / sum(e)) * y;
  for (NodeId id = 0; id < g.size(); ++id)
    for (NodeId in : g.node(id).inputs()) EXPECT_LT(in, id) << node_call(g, id);

  const NodeId r = root.id();
  const std::vector<NodeId> order = topological_order(g, std::span(&r, 1));
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(order.back(), r);
  // Exactly the ancestors: x, y, exp, sum, div, log, mul.
  EXPECT_EQ(order.size(), 7u);
  EXPECT_NE(std::find(order.begin(), order.end(), e.id()), order.end());
  const Expr unrelated = exp(y);
  EXPECT_EQ(std::find(order.begin(), order.end(), unrelated.id()), order.end());
}

TEST_F(GraphTest, TopologicalOrderOfSeveralRootsHasNoDuplicates) {
  const Expr a = exp(x), b = a * a, c = b + a;
  const std::vector<NodeId> roots{c.id(), b.id(), c.id()};
  const std::vector<NodeId> order = topological_order(g, roots);
  EXPECT_EQ(order, (std::vector<NodeId>{x.id(), a.id(), b.id(), c.id()}));
}

TEST_F(GraphTest, UniformConstant) {
  EXPECT_EQ(g.uniform_constant(x.id()), nullptr);
  const NodeId same = g.constant({Rational(1, 3), Rational(1, 3)}, Shape::vector(2));
  ASSERT_NE(g.uniform_constant(same), nullptr);
  EXPECT_EQ(*g.uniform_constant(same), Rational(1, 3));
  EXPECT_EQ(g.uniform_constant(g.constant({1, 2}, Shape::vector(2))), nullptr);
}

TEST_F(GraphTest, AUniformConstantIsHeldOnceAndIsOneNode) {
  const NodeId dense = g.constant({Rational(-1, 4), Rational(-1, 4), Rational(-1, 4)}, Shape::vector(3));
  const NodeId filled = g.fill(Rational(-1, 4), Shape::vector(3));
  EXPECT_EQ(dense, filled);  // one form per value, so hash-consing finds it
  EXPECT_EQ(g.attr(filled).values.size(), 1u);
  EXPECT_EQ(g.constant_at(filled, 2), Rational(-1, 4));
  EXPECT_EQ(g.constant_values(filled), (std::vector<Rational>(3, Rational(-1, 4))));
  EXPECT_EQ(to_infix(g, filled), "[-0.25, -0.25, -0.25]");
  // Another shape is another constant.
  EXPECT_NE(g.fill(Rational(-1, 4), Shape::matrix(1, 3)), filled);
  const NodeId mixed = g.constant({1, 2, 2}, Shape::vector(3));
  EXPECT_EQ(g.attr(mixed).values.size(), 3u);
  EXPECT_EQ(g.constant_at(mixed, 1), Rational(2));
  EXPECT_EQ(g.constant_values(mixed), (std::vector<Rational>{1, 2, 2}));
}

TEST_F(GraphTest, BroadcastingAScalarConstantToTheLargestShapeCostsOneValue) {
  // The seed of a batch mean's gradient is such a constant: dense, it would
  // hold kMaxElements rationals (gigabytes).
  const Shape largest = Shape::matrix(kMaxElements / 1024, 1024);
  const Expr seed = broadcast_to(constant(g, Rational(-1, 1024)), largest);
  ASSERT_TRUE(g.is_constant(seed.id()));
  EXPECT_EQ(seed.shape(), largest);
  EXPECT_EQ(g.attr(seed.id()).values.size(), 1u);
  EXPECT_EQ(g.constant_at(seed.id(), kMaxElements - 1), Rational(-1, 1024));
  const std::string error = shape_error_of([&] { g.fill(1, Shape::matrix(kMaxElements, 2)); });
  EXPECT_NE(error.find(fmt::format("a constant would have shape [{}, 2], {} elements; the limit is {}", kMaxElements,
                                   2 * kMaxElements, kMaxElements)),
            std::string::npos)
      << error;
}

TEST_F(GraphTest, ShapesAreInferred) {
  const Expr m = variable(g, "m", Shape::matrix(2, 3));
  const Expr col = variable(g, "col", Shape::matrix(2, 1));
  EXPECT_EQ((x + m).shape(), Shape::matrix(2, 3));
  EXPECT_EQ((col * m).shape(), Shape::matrix(2, 3));
  EXPECT_EQ((x * Rational(2)).shape(), Shape::vector(3));
  EXPECT_EQ(sum(m).shape(), Shape::scalar());
  EXPECT_EQ(sum(m, 1).shape(), Shape::matrix(2, 1));
  EXPECT_EQ(sum(m, 0).shape(), Shape::matrix(1, 3));
  EXPECT_EQ(max(x, 0).shape(), Shape::vector(1));
  EXPECT_EQ(broadcast_to(col, Shape::matrix(2, 3)).shape(), Shape::matrix(2, 3));
  EXPECT_EQ(equal(x, m).shape(), Shape::matrix(2, 3));
}

TEST(Graph, OperandsFromTwoGraphsAreRejected) {
  Graph g1, g2;
  const Expr a = variable(g1, "a", Shape::scalar());
  const Expr b = variable(g2, "b", Shape::scalar());
  EXPECT_THROW((void)(a + b), std::invalid_argument);
}

TEST(OpTable, EveryPrimitiveIsRegisteredWithARule) {
  register_builtin_ops();
  for (const char* name : {"add", "sub", "mul", "div", "neg", "exp", "log", "pow", "sum", "max", "broadcast"}) {
    const OpInfo* info = find_op(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_NE(info->vjp, nullptr) << name << " has no vector-Jacobian rule";
    EXPECT_NE(info->infer_shape, nullptr) << name;
    EXPECT_FALSE(info->vjp_formula.empty()) << name;
  }
  for (const char* name : {"equal", "stop_gradient"}) {
    const OpInfo* info = find_op(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(info->vjp, nullptr) << name << " must let no adjoint through";
  }
  EXPECT_EQ(find_op("no-such-op"), nullptr);
  EXPECT_EQ(op_info(kConstOp).name, "const");
  EXPECT_EQ(op_info(kVarOp).name, "var");
}

TEST(OpTable, RegisteringANameTwiceThrows) {
  register_builtin_ops();
  EXPECT_THROW((void)register_op(OpInfo{.name = "exp", .arity = 1}), std::logic_error);
}

}  // namespace
}  // namespace ddx
