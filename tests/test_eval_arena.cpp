// The evaluator's lean mode (engine/eval.hpp, Keep::Roots): buffers planned
// from liveness and reused, the same values as keeping every node, and rerun()
// at new bindings in the same buffers.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/eval.hpp"
#include "ops/composites.hpp"

namespace ddx {
namespace {

struct SoftmaxCeGraph {
  Graph g;
  Expr z, y, loss;
  NodeId grad_z = 0;

  SoftmaxCeGraph(std::int64_t rows, std::int64_t classes) {
    z = variable(g, "z", Shape::matrix(rows, classes));
    y = variable(g, "y", Shape::matrix(rows, classes));
    loss = cross_entropy(softmax(z), y);
    grad_z = grad(loss, {z}).gradients[0];
  }
};

template <class T> Bindings<T> point(std::int64_t rows, std::int64_t classes, int seed) {
  Bindings<T> b;
  auto& z = b["z"];
  auto& y = b["y"];
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < classes; ++c) {
      z.push_back(static_cast<T>(std::sin(1.7 * static_cast<double>(seed + r * classes + c))));
      y.push_back(c == (r + seed) % classes ? T(1) : T(0));
    }
  return b;
}

TEST(EvalArena, LeanModeMatchesKeepingEveryValue) {
  SoftmaxCeGraph f(4, 5);
  const NodeId roots[] = {f.loss.id(), f.grad_z};
  const Bindings<double> b = point<double>(4, 5, 1);
  const Evaluation<double> all(f.g, roots, b);
  const Evaluation<double> lean(f.g, roots, b, Keep::Roots);
  EXPECT_EQ(all.value(roots[0]), lean.value(roots[0]));
  EXPECT_EQ(all.value(roots[1]), lean.value(roots[1]));
  // Intermediates share buffers and are not readable; the roots are.
  EXPECT_LT(lean.buffer_count(), all.buffer_count());
  EXPECT_EQ(all.buffer_count(), all.order().size());
  EXPECT_TRUE(lean.has(roots[0]) && lean.has(roots[1]));
  EXPECT_TRUE(all.has(f.z.id()));
  EXPECT_FALSE(lean.has(f.z.id()));
  EXPECT_THROW((void)lean.value(f.z.id()), std::out_of_range);
}

TEST(EvalArena, RerunEqualsAFreshEvaluation) {
  SoftmaxCeGraph f(3, 7);
  const NodeId roots[] = {f.loss.id(), f.grad_z};
  for (Keep keep : {Keep::All, Keep::Roots}) {
    Evaluation<float> ev(f.g, roots, point<float>(3, 7, 1), keep);
    for (int seed = 2; seed < 5; ++seed) {
      const Bindings<float> b = point<float>(3, 7, seed);
      ev.rerun(b);
      const Evaluation<float> fresh(f.g, roots, b);
      EXPECT_EQ(ev.value(roots[0]), fresh.value(roots[0])) << seed;
      EXPECT_EQ(ev.value(roots[1]), fresh.value(roots[1])) << seed;
    }
  }
}

TEST(EvalArena, LeanModeStillReportsTheFirstNonFiniteNode) {
  SoftmaxCeGraph f(2, 3);
  const NodeId roots[] = {f.loss.id(), f.grad_z};
  Bindings<float> b = point<float>(2, 3, 1);
  Evaluation<float> ev(f.g, roots, b, Keep::Roots);
  EXPECT_FALSE(ev.nonfinite());
  b["z"][4] = 200.0f;  // exp(200) overflows float
  ev.rerun(b);
  ASSERT_TRUE(ev.nonfinite());
  const Evaluation<float> all(f.g, roots, b);
  ASSERT_TRUE(all.nonfinite());
  EXPECT_EQ(ev.nonfinite()->node, all.nonfinite()->node);
  EXPECT_EQ(ev.nonfinite()->element, all.nonfinite()->element);
  b["z"][4] = 0.5f;
  ev.rerun(b);
  EXPECT_FALSE(ev.nonfinite());
}

TEST(EvalArena, MultiprecisionValuesAgree) {
  SoftmaxCeGraph f(2, 4);
  const NodeId roots[] = {f.grad_z};
  const Bindings<Float50> b = point<Float50>(2, 4, 3);
  const Evaluation<Float50> all(f.g, roots, b);
  const Evaluation<Float50> lean(f.g, roots, b, Keep::Roots);
  EXPECT_EQ(all.value(f.grad_z), lean.value(f.grad_z));
}

}  // namespace
}  // namespace ddx
