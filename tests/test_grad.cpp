// Reverse mode as a graph transformation (engine/grad.hpp, grad() in
// ops/primitives.hpp): gradients are nodes of the same graph, fan-out sums
// adjoints, gradients differentiate again, and deep graphs do not recurse.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/eval.hpp"
#include "ops/composites.hpp"

namespace ddx {
namespace {

template <class T> std::vector<T> values_at(Expr e, const ExactBindings& at) {
  const NodeId id = e.id();
  const Evaluation<T> ev(e.graph(), std::span(&id, 1), round_bindings<T>(at));
  return ev.value(id);
}

const SweepStep* step_for(const Gradient& gradient, NodeId node) {
  for (const SweepStep& step : gradient.sweep)
    if (step.node == node) return &step;
  return nullptr;
}

const Float50 kEps50 = std::numeric_limits<Float50>::epsilon();

TEST(ReverseMode, GradientsAreNodesOfTheSameGraph) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(3));
  const Expr loss = sum(exp(x) * x);
  const std::size_t before = g.size();
  const Gradient gradient = grad(loss, {x});
  EXPECT_GT(g.size(), before) << "the gradient's nodes are added to the graph";
  ASSERT_EQ(gradient.gradients.size(), 1u);
  EXPECT_LT(gradient.gradients[0], g.size());
  EXPECT_EQ(g.shape(gradient.gradients[0]), Shape::vector(3));
  EXPECT_EQ(gradient.wrt, (std::vector<NodeId>{x.id()}));
  EXPECT_EQ(gradient.loss, loss.id());
  ASSERT_NE(g.uniform_constant(gradient.seed), nullptr);
  EXPECT_EQ(*g.uniform_constant(gradient.seed), 1);

  // d/dx Σ x·eˣ = (1 + x)·eˣ, exactly 1 at x = 0.
  const auto dx = values_at<double>(Expr{g, gradient.gradients[0]}, {{"x", {0, 1, -1}}});
  EXPECT_EQ(dx[0], 1.0);
  EXPECT_NEAR(dx[1], 2 * std::exp(1.0), 1e-15);   // a few roundings of values ≈ 5.4
  EXPECT_NEAR(dx[2], 0.0, 1e-16);                 // (1 − 1)·e⁻¹: a few roundings of values ≈ 0.37
}

TEST(ReverseMode, TheSweepRunsInReverseTopologicalOrderFromTheSeed) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(2)), y = variable(g, "y", Shape::vector(2));
  const Expr loss = sum(log(x * y + exp(x)));
  const Gradient gradient = grad(loss, {x, y});
  ASSERT_FALSE(gradient.sweep.empty());
  EXPECT_EQ(gradient.sweep.front().node, loss.id());
  EXPECT_EQ(gradient.sweep.front().adjoint, gradient.seed);
  for (std::size_t k = 1; k < gradient.sweep.size(); ++k)
    EXPECT_LT(gradient.sweep[k].node, gradient.sweep[k - 1].node);
  // Every send goes to an input of the node, and that input has its own step later.
  for (const SweepStep& step : gradient.sweep)
    for (const auto& send : step.sends) {
      EXPECT_EQ(g.node(step.node).in[send.input], send.to);
      EXPECT_EQ(g.shape(send.contribution), g.shape(send.to)) << "contributions arrive summed to the input's shape";
      const SweepStep* receiver = step_for(gradient, send.to);
      ASSERT_NE(receiver, nullptr);
      EXPECT_NE(std::find(receiver->accumulated.begin(), receiver->accumulated.end(), send.contribution),
                receiver->accumulated.end());
    }
}

TEST(ReverseMode, FanOutSumsTheAdjoints) {
  Graph g;
  const Expr x = variable(g, "x", Shape::scalar());
  const Gradient gradient = grad(x * x, {x});
  const SweepStep* step = step_for(gradient, x.id());
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(step->accumulated.size(), 2u) << "x is used twice by the one mul";
  EXPECT_EQ(step->adjoint, gradient.gradients[0]);
  for (const Rational& at : {Rational(3), Rational(-1, 7), Rational(0)}) {
    const auto dx = values_at<Float100>(Expr{g, gradient.gradients[0]}, {{"x", {at}}});
    // The adjoint is x + x: the rounded x, doubled exactly.
    EXPECT_EQ(dx.front(), 2 * to_scalar<Float100>(at)) << to_string(at);
  }
}

TEST(ReverseMode, FanOutAcrossSeveralUsers) {
  Graph g;
  const Expr x = variable(g, "x", Shape::scalar());
  const Expr e = exp(x);
  // e is used by the mul (twice) and by the add: three contributions.
  const Gradient gradient = grad(e * e + e, {x});
  const SweepStep* step = step_for(gradient, e.id());
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(step->accumulated.size(), 3u);
  // d/dx (e²ˣ + eˣ) = 2e²ˣ + eˣ; at x = 0 that is 3 exactly.
  EXPECT_EQ(values_at<double>(Expr{g, gradient.gradients[0]}, {{"x", {0}}}).front(), 3.0);
}

TEST(ReverseMode, AVariableTheLossDoesNotUseGetsZerosOfItsShape) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(2)), unused = variable(g, "unused", Shape::matrix(2, 3));
  const Gradient gradient = grad(sum(exp(x)), {x, unused});
  ASSERT_EQ(gradient.gradients.size(), 2u);
  EXPECT_EQ(g.shape(gradient.gradients[1]), Shape::matrix(2, 3));
  const Rational* zero = g.uniform_constant(gradient.gradients[1]);
  ASSERT_NE(zero, nullptr);
  EXPECT_EQ(*zero, 0);
}

// Zero gradients are constants; variables of different shapes but equal size
// must each get zeros of their own shape.
TEST(ReverseMode, ZeroGradientsOfEqualSizeKeepTheirOwnShapes) {
  Graph g;
  const Expr x = variable(g, "x", Shape::scalar());
  const Expr a = variable(g, "a", Shape::matrix(2, 3)), b = variable(g, "b", Shape::matrix(3, 2)),
             c = variable(g, "c", Shape::vector(6)), d = variable(g, "d", Shape::vector(1));
  const Gradient gradient = grad(exp(x), {a, b, c, d});
  ASSERT_EQ(gradient.gradients.size(), 4u);
  EXPECT_EQ(g.shape(gradient.gradients[0]), a.shape());
  EXPECT_EQ(g.shape(gradient.gradients[1]), b.shape()) << to_string(g.shape(gradient.gradients[1]));
  EXPECT_EQ(g.shape(gradient.gradients[2]), c.shape()) << to_string(g.shape(gradient.gradients[2]));
  EXPECT_EQ(g.shape(gradient.gradients[3]), d.shape()) << to_string(g.shape(gradient.gradients[3]));
}

TEST(ReverseMode, TheLossMustBeAScalar) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(3));
  try {
    (void)grad(exp(x), {x});
    FAIL() << "a vector loss was differentiated";
  } catch (const ShapeError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("scalar"), std::string::npos) << message;
    EXPECT_NE(message.find("[3]"), std::string::npos) << message;
  }
}

TEST(ReverseMode, VariablesOfAnotherGraphAreRejected) {
  Graph g, other;
  const Expr x = variable(g, "x", Shape::scalar()), y = variable(other, "y", Shape::scalar());
  EXPECT_THROW((void)grad(exp(x), {y}), std::invalid_argument);
}

TEST(ReverseMode, WithRespectToAnIntermediateNode) {
  Graph g;
  const Expr x = variable(g, "x", Shape::scalar());
  const Expr u = exp(x);
  const Gradient gradient = grad(log(u) * Rational(3), {u});
  // ∂(3·log u)/∂u = 3/u; at x = 0, u = 1.
  EXPECT_EQ(values_at<double>(Expr{g, gradient.gradients[0]}, {{"x", {0}}}).front(), 3.0);
}

TEST(ReverseMode, SameVariableTwiceInWrt) {
  Graph g;
  const Expr x = variable(g, "x", Shape::scalar());
  const Gradient gradient = grad(x * x * x, {x, x});
  ASSERT_EQ(gradient.gradients.size(), 2u);
  EXPECT_EQ(gradient.gradients[0], gradient.gradients[1]);
  EXPECT_EQ(values_at<double>(Expr{g, gradient.gradients[0]}, {{"x", {2}}}).front(), 12.0);  // 3x²
}

TEST(ReverseMode, MixedPartialsOfAProduct) {
  Graph g;
  const Expr x = variable(g, "x", Shape::scalar()), y = variable(g, "y", Shape::scalar());
  const Gradient first = grad(x * x * y, {x});
  const Gradient second = grad(Expr{g, first.gradients[0]}, {y});
  // ∂²(x²y)/∂y∂x = 2x.
  EXPECT_EQ(values_at<double>(Expr{g, second.gradients[0]}, {{"x", {5}}, {"y", {-3}}}).front(), 10.0);
}

// ---- the gradient is itself differentiable -----------------------------------------

// softplus(x) = log(1 + eˣ); softplus' = σ(x); softplus'' = σ(x)(1 − σ(x));
// softplus''' = σ(1 − σ)(1 − 2σ). Written without cancellation: with
// t = e^−|x|, σ(1 − σ) = t/(1 + t)² and 1 − 2σ = −sign(x)·(1 − t)/(1 + t).
Float50 sigma_times_one_minus_sigma(const Float50& x) {
  const Float50 t = exp(-abs(x));
  return t / ((1 + t) * (1 + t));
}
Float50 third_derivative_of_softplus(const Float50& x) {
  const Float50 t = exp(-abs(x));
  const Float50 one_minus_two_sigma = (x < 0 ? 1 : -1) * (1 - t) / (1 + t);
  return sigma_times_one_minus_sigma(x) * one_minus_two_sigma;
}

class Softplus : public ::testing::TestWithParam<Rational> {
 protected:
  Graph g;
  Expr x = variable(g, "x", Shape::scalar());
  Expr softplus = log(Rational(1) + exp(x));
};

// Tolerance for the second derivative: 64ε absolute at 50 digits (ε ≈ 5.3e-51).
// The graph of d²/dx² has about a dozen nodes (exp, add, div, mul, neg); each
// rounds once (≤ ε/2 relative), Boost's exp is within a few ulps, and every
// intermediate value is at most e^|x|-scaled ratios whose quotients are ≤ 1,
// so the absolute error is at most ~20ε. 64ε is that with a factor of 3, and
// any wrong rule would be off by O(σ(1 − σ)) ≥ 1e-4 here.
TEST_P(Softplus, SecondDerivativeIsSigmaTimesOneMinusSigmaAt50Digits) {
  const Gradient first = grad(softplus, {x});
  const Gradient second = grad(Expr{g, first.gradients[0]}, {x});
  const Rational at = GetParam();
  const Float50 got = values_at<Float50>(Expr{g, second.gradients[0]}, {{"x", {at}}}).front();
  const Float50 want = sigma_times_one_minus_sigma(to_scalar<Float50>(at));
  EXPECT_LE(abs(got - want), 64 * kEps50) << "x = " << to_string(at) << ": " << got.str(50) << " vs " << want.str(50);
}

// The third derivative: one more sweep, a graph twice as large; 256ε allows
// for the doubled number of roundings with the same factor of margin.
TEST_P(Softplus, ThirdDerivativeAt50Digits) {
  const Gradient first = grad(softplus, {x});
  const Gradient second = grad(Expr{g, first.gradients[0]}, {x});
  const Gradient third = grad(Expr{g, second.gradients[0]}, {x});
  const Rational at = GetParam();
  const Float50 got = values_at<Float50>(Expr{g, third.gradients[0]}, {{"x", {at}}}).front();
  const Float50 want = third_derivative_of_softplus(to_scalar<Float50>(at));
  EXPECT_LE(abs(got - want), 256 * kEps50) << "x = " << to_string(at) << ": " << got.str(50) << " vs " << want.str(50);
}

TEST_P(Softplus, FirstDerivativeIsSigmoidAt50Digits) {
  const Gradient first = grad(softplus, {x});
  const Rational at = GetParam();
  const Float50 got = values_at<Float50>(Expr{g, first.gradients[0]}, {{"x", {at}}}).front();
  const Float50 want = 1 / (1 + exp(-to_scalar<Float50>(at)));
  // A handful of roundings of values ≤ 1 (see above): 16ε.
  EXPECT_LE(abs(got - want), 16 * kEps50) << got.str(50);
}

INSTANTIATE_TEST_SUITE_P(Points, Softplus,
                         ::testing::Values(Rational(0), Rational(1, 2), Rational(-1, 3), Rational(2), Rational(-3),
                                           Rational(7), Rational(-12), Rational(25, 4)),
                         [](const auto& info) { return "case" + std::to_string(info.index); });

// ---- deep graphs -----------------------------------------------------------------------

// y₀ = x, yₖ = yₖ₋₁·c + x for k = 1..N: N = 500,000 muls and adds, a
// 1,000,000-node chain. Its reverse sweep builds another chain of the same
// depth (ḡₖ₋₁ = ḡₖ·c, and x accumulates N + 1 contributions). With c = 1 and
// x = 1/2 every value is exact in double: y_N = (N + 1)/2 and ∂y_N/∂x = Σ cᵏ = N + 1.
// Nothing here may recurse: evaluation and the sweep are iterative.
TEST(DeepChain, AMillionNodesEvaluateAndDifferentiateExactly) {
  constexpr int kLinks = 500'000;
  Graph g;
  const Expr x = variable(g, "x", Shape::scalar()), c = variable(g, "c", Shape::scalar());
  Expr y = x;
  for (int k = 0; k < kLinks; ++k) y = y * c + x;
  ASSERT_GE(g.size(), 1'000'000u);

  const Gradient gradient = grad(y, {x});
  const SweepStep* x_step = step_for(gradient, x.id());
  ASSERT_NE(x_step, nullptr);
  EXPECT_EQ(x_step->accumulated.size(), static_cast<std::size_t>(kLinks) + 1);

  const std::vector<NodeId> roots{y.id(), gradient.gradients[0]};
  const Evaluation<double> ev(g, roots, round_bindings<double>({{"x", {Rational(1, 2)}}, {"c", {1}}}));
  EXPECT_FALSE(ev.nonfinite().has_value());
  EXPECT_EQ(ev.scalar(y.id()), (kLinks + 1) / 2.0);
  EXPECT_EQ(ev.scalar(gradient.gradients[0]), static_cast<double>(kLinks + 1));
}

}  // namespace
}  // namespace ddx
