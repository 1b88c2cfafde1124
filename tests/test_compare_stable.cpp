// The stable composed softmax–cross-entropy (ops/composites.hpp): built from
// primitives after the max shift z − stop_gradient(max z). Its reverse-mode
// gradient must be exactly p − y (the max is a constant for reverse mode, so
// no subgradient reaches it, even when the max is tied), and it must not
// overflow where the unshifted form does.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/eval.hpp"
#include "engine/op.hpp"
#include "ops/composites.hpp"
#include "ops/fused_math.hpp"

namespace ddx {
namespace {

// p − y at 100 digits, p from ddx's fused softmax (ops/fused_math.hpp).
std::vector<Float100> p_minus_y(const std::vector<Float100>& z, const std::vector<Float100>& y) {
  std::vector<Float100> p(z.size());
  fused::softmax(z.data(), static_cast<std::int64_t>(z.size()), p.data());
  for (std::size_t j = 0; j < z.size(); ++j) p[j] -= y[j];
  return p;
}

template <class T> std::vector<T> gradient_at(const std::vector<Rational>& logits, const std::vector<Rational>& target,
                                              bool* finite) {
  Graph g;
  const std::int64_t n = static_cast<std::int64_t>(logits.size());
  const Expr z = variable(g, "z", Shape::vector(n));
  const Expr y = variable(g, "y", Shape::vector(n));
  const Expr loss = stable_softmax_cross_entropy(z, y);
  const Gradient gr = grad(loss, {z});
  const std::vector<NodeId> roots{loss.id(), gr.gradients.front()};
  const Evaluation<T> ev(g, roots, round_bindings<T>(ExactBindings{{"z", logits}, {"y", target}}));
  *finite = !ev.nonfinite().has_value();
  return ev.value(gr.gradients.front());
}

// At 100 digits the graph rounds a few dozen times, each by ~1e-100 relative:
// 1e-95 relative bounds that with room, while a wrong formula is off by a
// quantity of order p itself. The target's component p_y − 1 cancels (it is
// tiny when p_y ≈ 1), so it is held to 1e-95 absolute, the size of its inputs.
const Float100 kTolerance100("1e-95");

TEST(StableComposed, GradientIsPMinusYAt100Digits) {
  const std::vector<std::vector<Rational>> points = {
      {Rational(2), Rational(1), Rational(1, 10)},
      {Rational(3), Rational(3), Rational(0)},      // a tied max: a subgradient would split here
      {Rational(-7), Rational(5, 2), Rational(0), Rational(1)},
      {Rational(800), Rational(0), Rational(0)},  // overflows the unshifted form at double
  };
  for (const auto& logits : points) {
    for (std::size_t target = 0; target < logits.size(); ++target) {
      std::vector<Rational> y(logits.size(), Rational(0));
      y[target] = 1;
      bool finite = false;
      const std::vector<Float100> g = gradient_at<Float100>(logits, y, &finite);
      EXPECT_TRUE(finite);
      std::vector<Float100> z100, y100;
      for (const Rational& r : logits) z100.push_back(to_scalar<Float100>(r));
      for (const Rational& r : y) y100.push_back(to_scalar<Float100>(r));
      const std::vector<Float100> expected = p_minus_y(z100, y100);
      for (std::size_t j = 0; j < g.size(); ++j) {
        const Float100 scale = j == target ? Float100(1) : abs(expected[j]);
        EXPECT_LE(abs(Float100(g[j] - expected[j])), kTolerance100 * scale) << "component " << j << " target " << target;
      }
    }
  }
}

TEST(StableComposed, NoOverflowAtMargin800) {
  const std::vector<Rational> logits = {Rational(800), Rational(0), Rational(0)};
  const std::vector<Rational> y = {Rational(1), Rational(0), Rational(0)};
  bool finite = false;
  const std::vector<double> g = gradient_at<double>(logits, y, &finite);
  EXPECT_TRUE(finite);
  for (double x : g) EXPECT_TRUE(std::isfinite(x));
  // exp(−800) lies below the smallest subnormal double, so p rounds to exactly [1, 0, 0].
  EXPECT_EQ(g[1], 0.0);
  EXPECT_EQ(g[2], 0.0);
  const std::vector<float> gf = gradient_at<float>(logits, y, &finite);
  EXPECT_TRUE(finite);
  for (float x : gf) EXPECT_TRUE(std::isfinite(x));
}

TEST(StableComposed, MaxReceivesNoAdjoint) {
  // The shift is a constant for reverse mode: the sweep sends nothing into
  // the max node, so no equal(…) subgradient node enters the gradient.
  Graph g;
  const Expr z = variable(g, "z", Shape::vector(3));
  const Expr y = variable(g, "y", Shape::vector(3));
  const Gradient gr = grad(stable_softmax_cross_entropy(z, y), {z});
  const std::vector<NodeId> nodes = topological_order(g, std::span(&gr.gradients.front(), 1));
  OpId equal_op = 0;
  ASSERT_NE(find_op("equal", &equal_op), nullptr);
  for (NodeId id : nodes) EXPECT_NE(g.node(id).op, equal_op);
}

}  // namespace
}  // namespace ddx
