// Claims typed by users, proved for every n (derivations/claim_general.hpp):
// the gradients and identities of softmax that hold are proven with every step
// checked numerically; false claims (the mean squared error contrast, the
// cross-entropy without Σⱼ yⱼ = 1, random wrong right sides) are refused with a
// nonzero residual; claims without an index form are InputErrors.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <random>

#include "derivations/claim_general.hpp"
#include "derivations/inputs.hpp"
#include "ops/composites.hpp"
#include "ops/primitives.hpp"

namespace ddx {
namespace {

constexpr long kClasses = 4;

// One claim under construction, built with the engine as `ddx prove --claim`
// would build it.
struct ClaimBuilder {
  Graph g;
  sym::Claim claim;

  ClaimBuilder() {
    register_builtin_ops();
    claim.graph = &g;
  }
  Expr vec(const std::string& name) { return variable(g, name, Shape::vector(kClasses)); }
  Expr scalar(const std::string& name) { return variable(g, name, Shape::scalar()); }
  Expr gradient(Expr loss, Expr wrt) { return {g, grad(loss, {wrt}).gradients.front()}; }
  void sums_to_one(Expr y) { claim.hypotheses.push_back({sum(y).id(), constant(g, 1).id(), "sum(y) = 1"}); }
  ClaimBuilder& set(Expr lhs, Expr rhs, std::string identity) {
    claim.lhs = lhs.id();
    claim.rhs = rhs.id();
    claim.identity = std::move(identity);
    return *this;
  }
  Proof prove() { return prove_claim_every_n(claim, kClasses); }
};

Expr cross_entropy_loss(Expr z, Expr y) { return -sum(y * log(softmax(z))); }

void expect_proven(const Proof& proof) {
  EXPECT_TRUE(proof.proven) << proof.identity << "\nresidual: " << proof.residual;
  EXPECT_EQ(proof.residual, "0");
  EXPECT_EQ(proof.classes, "n");
  EXPECT_EQ(proof.route, "index-calculus");
  ASSERT_FALSE(proof.steps.empty());
  for (const ProofStep& s : proof.steps) {
    EXPECT_TRUE(s.numeric_check_passed) << s.rule << ": " << s.numeric_check;
    EXPECT_FALSE(s.rule.empty());
    EXPECT_FALSE(s.before.empty());
    EXPECT_FALSE(s.latex_after.empty());
  }
  EXPECT_EQ(proof.steps.back().after, "0");
}

// Refused, with a residual, and still every step it took was a true rewrite.
void expect_refused(const Proof& proof) {
  EXPECT_FALSE(proof.proven) << proof.identity;
  EXPECT_NE(proof.residual, "0");
  EXPECT_FALSE(proof.residual.empty());
  for (const ProofStep& s : proof.steps) EXPECT_TRUE(s.numeric_check_passed) << s.rule << ": " << s.numeric_check;
}

TEST(ClaimGeneral, SoftmaxCrossEntropyGradientIsPMinusY) {
  ClaimBuilder b;
  const Expr z = b.vec("z"), y = b.vec("y");
  b.sums_to_one(y);
  const Proof proof =
      b.set(b.gradient(cross_entropy_loss(z, y), z), softmax(z) - y, "grad(-sum(y*log(softmax(z))), z) = softmax(z) - y")
          .prove();
  expect_proven(proof);
  ASSERT_EQ(proof.hypotheses.size(), 1u);
  EXPECT_EQ(proof.hypotheses[0], "Σⱼ yⱼ = 1");
  bool used = false;
  for (const ProofStep& s : proof.steps) used = used || s.rule.find("hypothesis") != std::string::npos;
  EXPECT_TRUE(used);
  EXPECT_NE(proof.identity.find("for every n"), std::string::npos);
}

TEST(ClaimGeneral, CrossEntropyWithoutTheHypothesisIsRefused) {
  ClaimBuilder b;
  const Expr z = b.vec("z"), y = b.vec("y");
  const Proof proof = b.set(b.gradient(cross_entropy_loss(z, y), z), softmax(z) - y, "no hypothesis").prove();
  expect_refused(proof);
  EXPECT_NE(proof.residual.find("y"), std::string::npos) << proof.residual;
  EXPECT_TRUE(proof.hypotheses.empty());
}

TEST(ClaimGeneral, TemperatureGradient) {
  ClaimBuilder b;
  const Expr z = b.vec("z"), y = b.vec("y"), t = b.scalar("T");
  b.sums_to_one(y);
  b.claim.positive.insert("T");
  const Expr loss = -sum(y * log(softmax(z, t)));
  expect_proven(b.set(b.gradient(loss, z), (softmax(z, t) - y) / t, "temperature").prove());
}

TEST(ClaimGeneral, SoftmaxSumsToOne) {
  ClaimBuilder b;
  const Expr z = b.vec("z");
  expect_proven(b.set(sum(softmax(z)), constant(b.g, 1), "sum(softmax(z)) = 1").prove());
}

TEST(ClaimGeneral, SoftmaxIsShiftInvariant) {
  ClaimBuilder b;
  const Expr z = b.vec("z"), c = b.scalar("c");
  expect_proven(b.set(softmax(z + c), softmax(z), "softmax(z + c) = softmax(z)").prove());
}

TEST(ClaimGeneral, JacobianVectorProduct) {
  ClaimBuilder b;
  const Expr z = b.vec("z"), v = b.vec("v"), p = softmax(z);
  expect_proven(b.set(b.gradient(sum(v * p), z), p * v - p * sum(p * v), "JVP").prove());
}

TEST(ClaimGeneral, LogSumExpGradientIsSoftmax) {
  ClaimBuilder b;
  const Expr z = b.vec("z");
  expect_proven(b.set(b.gradient(log(sum(exp(z))), z), softmax(z), "grad(log(sum(exp(z))), z) = softmax(z)").prove());
}

// Two hypotheses: label smoothing towards a second distribution u.
TEST(ClaimGeneral, LabelSmoothingWithTwoHypotheses) {
  ClaimBuilder b;
  const Expr z = b.vec("z"), y = b.vec("y"), u = b.vec("u"), e = b.scalar("e");
  b.sums_to_one(y);
  b.sums_to_one(u);
  const Expr targets = (Rational(1) - e) * y + e * u;
  const Proof proof =
      b.set(b.gradient(-sum(targets * log(softmax(z))), z), softmax(z) - targets, "label smoothing").prove();
  expect_proven(proof);
  EXPECT_EQ(proof.hypotheses.size(), 2u);
}

TEST(ClaimGeneral, MeanSquaredErrorGradientIsNotPMinusY) {
  ClaimBuilder b;
  const Expr z = b.vec("z"), y = b.vec("y"), p = softmax(z);
  b.sums_to_one(y);
  expect_refused(b.set(b.gradient(sum(pow(p - y, 2)), z), p - y, "mse contrast").prove());
}

TEST(ClaimGeneral, MeanSquaredErrorGradientIsTheJacobianTimesTwoResiduals) {
  ClaimBuilder b;
  const Expr z = b.vec("z"), y = b.vec("y"), p = softmax(z);
  const Expr v = Rational(2) * (p - y);
  expect_proven(b.set(b.gradient(sum(pow(p - y, 2)), z), p * v - p * sum(p * v), "mse gradient").prove());
}

TEST(ClaimGeneral, StableSoftmaxWithAStoppedMaximum) {
  ClaimBuilder b;
  const Expr z = b.vec("z"), y = b.vec("y");
  b.sums_to_one(y);
  const Expr stable = softmax(z - stop_gradient(max(z)));
  expect_proven(b.set(stable, softmax(z), "softmax(z - max(z)) = softmax(z)").prove());
  ClaimBuilder c;
  const Expr z2 = c.vec("z"), y2 = c.vec("y");
  c.sums_to_one(y2);
  const Expr loss = -sum(y2 * log(softmax(z2 - stop_gradient(max(z2)))));
  expect_proven(c.set(c.gradient(loss, z2), softmax(z2) - y2, "stable cross-entropy").prove());
}

// x/x = 1 needs x ≠ 0: proven when x is assumed positive, not otherwise.
TEST(ClaimGeneral, CancellingNeedsAPositiveVariable) {
  ClaimBuilder b;
  const Expr x = b.vec("x");
  const Shape shape = x.shape();  // a copy: adding the constant may move the graph's nodes
  const Expr ones = broadcast_to(constant(b.g, 1), shape);
  b.set(x / x, ones, "x/x = 1");
  expect_refused(b.prove());
  b.claim.positive.insert("x");
  const Proof proof = b.prove();
  expect_proven(proof);
  bool cancelled = false;
  for (const ProofStep& s : proof.steps) cancelled = cancelled || s.uses.find("x > 0") != std::string::npos;
  EXPECT_TRUE(cancelled);
}

TEST(ClaimGeneral, RandomFalseRewritesAreRefused) {
  std::mt19937 rng(7);
  const std::vector<Rational> coefficients = {1, -1, Rational(1, 3), 3};
  for (int trial = 0; trial < 6; ++trial) {
    ClaimBuilder b;
    const Expr z = b.vec("z"), y = b.vec("y"), p = softmax(z);
    b.sums_to_one(y);
    const std::vector<Expr> atoms = {y, p, z, exp(z), p * y, sum(z)};
    const Expr atom = atoms[rng() % atoms.size()];
    const Rational k = coefficients[rng() % coefficients.size()];
    const Proof proof =
        b.set(b.gradient(cross_entropy_loss(z, y), z), p - y + k * atom, fmt::format("false rewrite {}", trial)).prove();
    SCOPED_TRACE(trial);
    expect_refused(proof);
  }
  // Rewrites of the other identities.
  {
    ClaimBuilder b;
    const Expr z = b.vec("z");
    expect_refused(b.set(sum(softmax(z)), constant(b.g, 2), "sum(softmax(z)) = 2").prove());
  }
  {
    ClaimBuilder b;
    const Expr z = b.vec("z"), c = b.scalar("c");
    expect_refused(b.set(softmax(z * c), softmax(z), "softmax(z c) = softmax(z)").prove());
  }
  {
    ClaimBuilder b;
    const Expr z = b.vec("z"), v = b.vec("v"), p = softmax(z);
    expect_refused(b.set(b.gradient(sum(v * p), z), p * v + p * sum(p * v), "JVP, wrong sign").prove());
  }
}

TEST(ClaimGeneral, ClaimsWithoutAnIndexFormAreInputErrors) {
  {  // a matrix
    ClaimBuilder b;
    const Expr x = variable(b.g, "x", Shape::matrix(2, kClasses));
    b.set(exp(x), exp(x), "matrix");
    EXPECT_THROW(b.prove(), InputError);
  }
  {  // a non-uniform vector constant
    ClaimBuilder b;
    const Expr z = b.vec("z");
    const Expr onehot{b.g, b.g.constant({1, 0, 0, 0}, Shape::vector(kClasses))};
    b.set(z * onehot, z * onehot, "one-hot");
    try {
      b.prove();
      ADD_FAILURE() << "no InputError";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("differ"), std::string::npos) << e.what();
    }
  }
  {  // equal has no index form (the derivative of max)
    ClaimBuilder b;
    const Expr z = b.vec("z");
    b.set(b.gradient(max(z), z), z, "grad of max");
    try {
      b.prove();
      ADD_FAILURE() << "no InputError";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("equal"), std::string::npos) << e.what();
    }
  }
  {  // mean divides by the number of classes: ambiguous for every n
    ClaimBuilder b;
    const Expr z = b.vec("z");
    b.set(mean(z), sum(z) * Rational(1, 3), "mean");
    EXPECT_THROW(b.prove(), InputError);
  }
  {  // one class cannot tell a vector from its sum
    ClaimBuilder b;
    const Expr z = b.vec("z");
    b.set(z, z, "z = z");
    EXPECT_THROW(prove_claim_every_n(b.claim, 1), InputError);
  }
}

}  // namespace
}  // namespace ddx
