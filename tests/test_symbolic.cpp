// The canonical forms of engine/symbolic: each canonicalisation rule, the
// decision procedure with hypotheses, and soundness on random wrong identities.
#include <gtest/gtest.h>

#include <random>

#include "engine/eval.hpp"
#include "engine/symbolic/decide.hpp"
#include "engine/symbolic/print.hpp"
#include "engine/symbolic/prover.hpp"
#include "engine/symbolic/scalarize.hpp"
#include "ops/composites.hpp"

namespace ddx::sym {
namespace {

class Canonical : public ::testing::Test {
 protected:
  Context ctx;
  Printer printer{ctx};
  PolyRef x = ctx.atom_poly(ctx.symbol("x"));
  PolyRef y = ctx.atom_poly(ctx.symbol("y"));
  std::string text(const PolyRef& p) { return printer.text(p); }
};

TEST_F(Canonical, LikeTermsCollectAndCancel) {
  const PolyRef p = ctx.add(ctx.add(x, y), ctx.sub(x, y));
  EXPECT_EQ(text(p), "2·x");
  EXPECT_TRUE(ctx.sub(p, ctx.scale(x, 2))->is_zero());
}

TEST_F(Canonical, ProductsExpandAndNegativePowersCancel) {
  const PolyRef p = ctx.mul(ctx.add(x, ctx.one()), ctx.sub(x, ctx.one()));  // x² − 1
  EXPECT_EQ(text(p), "x² − 1");
  EXPECT_TRUE(ctx.sub(ctx.mul(ctx.div(ctx.one(), x), x), ctx.one())->is_zero());
}

TEST_F(Canonical, ExpOfASumSplitsIntoAProduct) {
  const PolyRef lhs = ctx.exp(ctx.add(x, y));
  const PolyRef rhs = ctx.mul(ctx.exp(x), ctx.exp(y));
  EXPECT_TRUE(equal(*lhs, *rhs));
  // exp(−x) is exp(x)⁻¹, so exp(x)·exp(−x) = 1.
  EXPECT_TRUE(equal(*ctx.mul(ctx.exp(x), ctx.exp(ctx.neg(x))), *ctx.one()));
  // A rational multiple k = p/q is exp(x/q)^p, so halves combine and cancel.
  const PolyRef half = ctx.exp(ctx.scale(x, Rational(1, 2)));
  const PolyRef three_halves = ctx.exp(ctx.scale(x, Rational(3, 2)));
  EXPECT_TRUE(equal(*ctx.mul(ctx.mul(half, half), half), *three_halves));
  EXPECT_TRUE(equal(*ctx.mul(half, ctx.exp(ctx.scale(x, Rational(-1, 2)))), *ctx.one()));
}

TEST_F(Canonical, LogOfExpIsTheArgument) {
  EXPECT_TRUE(equal(*ctx.log(ctx.exp(ctx.add(x, y))), *ctx.add(x, y)));
}

TEST_F(Canonical, LogOfAProductOfPositiveFactorsSplits) {
  // exp(x)·exp(y)·3 is positive factor by factor.
  const PolyRef product = ctx.scale(ctx.mul(ctx.exp(x), ctx.exp(y)), 3);
  const PolyRef expected = ctx.add(ctx.add(x, y), ctx.log(ctx.constant(3)));
  EXPECT_TRUE(equal(*ctx.log(product), *expected));
}

TEST_F(Canonical, LogOfAFactorOfUnknownSignIsNotSplit) {
  // log(x·y) ≠ log x + log y when x, y < 0: the product stays one atom.
  const PolyRef lhs = ctx.log(ctx.mul(x, y));
  const PolyRef rhs = ctx.add(ctx.log(x), ctx.log(y));
  EXPECT_FALSE(equal(*lhs, *rhs));
}

TEST_F(Canonical, LogOfAConstantAtMostZeroIsADomainError) {
  EXPECT_THROW(ctx.log(ctx.zero()), std::domain_error);
  EXPECT_THROW(ctx.log(ctx.constant(-2)), std::domain_error);
  EXPECT_TRUE(ctx.log(ctx.one())->is_zero());
}

TEST_F(Canonical, DividingByASumNamesIt) {
  // (x + y)/(x + y) = 1 and (2x + 2y)/(x + y) = 2 without expanding anything.
  const PolyRef s = ctx.add(x, y);
  EXPECT_TRUE(equal(*ctx.div(s, s), *ctx.one()));
  EXPECT_TRUE(equal(*ctx.div(ctx.scale(s, 2), s), *ctx.constant(2)));
  // x/(x + y) + y/(x + y) is 1 only once the named sum is unfolded: decide_zero does it.
  const PolyRef sum_of_parts = ctx.add(ctx.div(x, s), ctx.div(y, s));
  const PolyRef difference = ctx.sub(sum_of_parts, ctx.one());
  EXPECT_FALSE(difference->is_zero());
  const Decision d = decide_zero(ctx, difference, {});
  EXPECT_TRUE(d.zero);
  EXPECT_TRUE(d.unfolded);
}

TEST_F(Canonical, DivisionByZeroThrows) { EXPECT_THROW(ctx.div(x, ctx.zero()), std::domain_error); }

TEST_F(Canonical, HypothesesEliminateOneSymbol) {
  const PolyRef a = ctx.atom_poly(ctx.symbol("a", -1, 0)), b = ctx.atom_poly(ctx.symbol("a", -1, 1));
  // a₁ + a₂ = 1 ⇒ x·a₁ + x·a₂ − x = 0, but not without the hypothesis.
  const PolyRef claim = ctx.sub(ctx.mul(x, ctx.add(a, b)), x);
  std::vector<Hypothesis> hyps{{"a₁ + a₂ = 1", ctx.sub(ctx.add(a, b), ctx.one())}};
  prepare(ctx, hyps);
  EXPECT_FALSE(decide_zero(ctx, claim, {}).zero);
  const Decision d = decide_zero(ctx, claim, hyps);
  EXPECT_TRUE(d.zero);
  ASSERT_EQ(d.used.size(), 1u);
  EXPECT_EQ(d.used[0], "a₁ + a₂ = 1");
}

TEST_F(Canonical, ResidualPrintsWithItsCommonFactorOut) {
  const PolyRef a = ctx.atom_poly(ctx.symbol("y", -1, 0)), b = ctx.atom_poly(ctx.symbol("y", -1, 1));
  const PolyRef r = ctx.sub(ctx.mul(x, ctx.add(a, b)), x);
  EXPECT_EQ(printer.factored_text(ctx, r), "x·(y₁ + y₂ − 1)");
  EXPECT_EQ(printer.factored_latex(ctx, r), "x \\left(y_{1} + y_{2} - 1\\right)");
}

// A power of an atom whose LaTeX already has a superscript (e^{x}) is
// bracketed, so that its exponent does not stack onto the inner one; a plain
// symbol takes the exponent directly.
TEST_F(Canonical, LatexPowersOfSuperscriptedAtomsAreBracketed) {
  const PolyRef p = ctx.mul(ctx.mul(ctx.exp(x), ctx.exp(x)), ctx.mul(x, ctx.mul(x, x)));
  EXPECT_EQ(printer.factored_latex(ctx, p), "x^{3} \\left(e^{x}\\right)^{2}");
}

TEST(Coefficient, SmallArithmeticIsExactAndOverflowFallsBack) {
  const Coefficient big = Coefficient(std::int64_t{1} << 62);
  const Coefficient sum = big + big;  // 2^63 does not fit in int64
  EXPECT_FALSE(sum.is_small());
  EXPECT_EQ(sum.rational(), Rational(Integer(1) << 63));
  EXPECT_EQ((sum - big).rational(), Rational(Integer(1) << 62));
  EXPECT_TRUE((sum - big).is_small());  // back in range: back in small form
  EXPECT_EQ((Coefficient(1) / 3 + Coefficient(1) / 6).rational(), Rational(1, 2));
  EXPECT_EQ(Coefficient(Rational(2, 4)), Coefficient(Rational(1, 2)));
  EXPECT_EQ(Coefficient(Rational(1, 2)).hash(), (Coefficient(1) / 2).hash());
  EXPECT_THROW(Coefficient(1) / Coefficient(0), std::domain_error);
}

// ---- soundness: random wrong identities are never proven -------------------

// Builds a random expression over the scalar variables of g.
Expr random_expression(Graph& g, std::mt19937_64& rng, int depth) {
  const std::vector<Expr> leaves{variable(g, "x", Shape::scalar()), variable(g, "y", Shape::scalar()),
                                 variable(g, "w", Shape::scalar()), constant(g, Rational(2)),
                                 constant(g, Rational(1, 3))};
  std::vector<Expr> pool = leaves;
  for (int k = 0; k < depth; ++k) {
    const Expr a = pool[rng() % pool.size()], b = pool[rng() % pool.size()];
    switch (rng() % 7) {
      case 0: pool.push_back(a + b); break;
      case 1: pool.push_back(a - b); break;
      case 2: pool.push_back(a * b); break;
      case 3: pool.push_back(a / (b * b + Rational(1))); break;  // a nonzero denominator
      case 4: pool.push_back(exp(a / Rational(4))); break;
      case 5: pool.push_back(log(exp(a) + exp(b))); break;       // log of a positive sum
      default: pool.push_back(pow(a, static_cast<long>(rng() % 3) + 2)); break;
    }
  }
  return pool.back();
}

TEST(Soundness, RandomWrongIdentitiesAreRefused) {
  std::mt19937_64 rng(20261122);
  int refused = 0, checked = 0;
  for (int trial = 0; trial < 300; ++trial) {
    Graph g;
    const Expr lhs = random_expression(g, rng, 2 + static_cast<int>(rng() % 5));
    // A wrong right-hand side: the left side perturbed, or another random expression.
    Expr rhs;
    switch (trial % 3) {
      case 0: rhs = lhs + Rational(1, 1000); break;
      case 1: rhs = lhs * Rational(1001, 1000); break;
      default: rhs = random_expression(g, rng, 3); break;
    }
    // Keep only claims that are numerically false at a 50-digit random point.
    Bindings<Float50> at{{"x", {Float50("0.37")}}, {"y", {Float50("-1.21")}}, {"w", {Float50("0.83")}}};
    const NodeId roots[] = {lhs.id(), rhs.id()};
    const Evaluation<Float50> ev(g, roots, at);
    if (ev.nonfinite()) continue;
    const Float50 diff = abs(Float50(ev.scalar(lhs.id()) - ev.scalar(rhs.id())));
    // A genuine difference is far above 50-digit rounding (~1e-48 here).
    if (!(diff > Float50(1e-30))) continue;
    ++checked;
    Claim claim;
    claim.graph = &g;
    claim.lhs = lhs.id();
    claim.rhs = rhs.id();
    claim.identity = "random";
    ProverOptions options;
    options.check_steps = false;
    bool proven = false;
    try {
      proven = prove_fixed(claim, options).proven;
    } catch (const std::domain_error&) {
      proven = false;  // outside the prover's domain: not proven, which is sound
    }
    EXPECT_FALSE(proven) << "trial " << trial << ": proved a false identity";
    refused += !proven;
  }
  EXPECT_GT(checked, 200);  // the generator must actually produce false claims
  EXPECT_EQ(refused, checked);
}

TEST(Soundness, TrueRewritesOfRandomExpressionsAreProven) {
  // Completeness on the family: e = (e + w) − w, e = e·(w² + 1)/(w² + 1), e = log(exp(e)).
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 60; ++trial) {
    Graph g;
    const Expr e = random_expression(g, rng, 2 + static_cast<int>(rng() % 4));
    const Expr w = variable(g, "w", Shape::scalar());
    Expr rhs;
    switch (trial % 3) {
      case 0: rhs = (e + w) - w; break;
      case 1: rhs = e * (w * w + Rational(1)) / (w * w + Rational(1)); break;
      default: rhs = log(exp(e)); break;
    }
    Claim claim;
    claim.graph = &g;
    claim.lhs = e.id();
    claim.rhs = rhs.id();
    claim.identity = "rewrite";
    EXPECT_TRUE(prove_fixed(claim).proven) << "trial " << trial;
  }
}

}  // namespace
}  // namespace ddx::sym
