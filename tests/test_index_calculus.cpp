// The index calculus: trees, printers, evaluation, and each rewrite rule on a
// small input (checked through the text printer and numerically).
#include <gtest/gtest.h>

#include <stdexcept>

#include "engine/index/index_rules.hpp"

namespace {

using namespace ddx::index;
namespace R = ddx::index::rules;

Expr z(const std::string& ix) { return symbol("z", ix); }
Expr y(const std::string& ix) { return symbol("y", ix); }
Expr p(const std::string& ix) { return symbol("p", ix); }
Expr sum_exp_z() { return sum_over("k", exp_of(z("k"))); }

Definition softmax() { return {"p", "j", divide(exp_of(z("j")), sum_exp_z())}; }
Definition loss() { return {"L", "", negate(sum_over("j", mul({y("j"), log_of(p("j"))})))}; }
Context softmax_context() { return Context{{loss(), softmax()}}; }

// Applies `rule` to exhaustion; the result must print as `expected` and agree
// with `before` at 50 digits for n = 1, 2, 3, 5, 8 and every free index.
void expect_rewrite(const Rule& rule, const Expr& before, const std::string& expected, const Context& context = {},
                    const NumericCheckOptions& options = {}) {
  const Application app = apply_rules(before, {rule}, context);
  ASSERT_TRUE(app.changed) << rule.name << " did not apply to " << to_text(before);
  EXPECT_EQ(to_text(app.result), expected) << rule.name;
  ASSERT_FALSE(app.rules_fired.empty());
  EXPECT_EQ(app.rules_fired.front(), rule.name);
  const NumericCheck check = check_equal(before, app.result, context, options);
  EXPECT_TRUE(check.passed) << rule.name << ": " << check.description;
}

void expect_no_rewrite(const Rule& rule, const Expr& e, const Context& context = {}) {
  EXPECT_FALSE(apply_rules(e, {rule}, context).changed) << rule.name << " should not apply to " << to_text(e);
}

// ---------------------------------------------------------------- trees and printers

TEST(IndexCalculus, PrintsUnicodeSubscriptsAndFractions) {
  EXPECT_EQ(to_text(softmax().body), "exp(zⱼ)/Σₖ exp(zₖ)");
  EXPECT_EQ(to_text(loss().body), "−Σⱼ yⱼ log pⱼ");
  EXPECT_EQ(to_text(derivative("z", "i", symbol("L"))), "∂L/∂zᵢ");
  EXPECT_EQ(to_text(derivative("z", "i", exp_of(z("i")))), "∂/∂zᵢ(exp(zᵢ))");
  // (−yⱼ/pⱼ)·pⱼ(δᵢⱼ − pᵢ): factors after the fraction stay after it.
  const Expr chain = mul({constant(-1), y("j"), power(p("j"), -1), p("j"), subtract(delta("i", "j"), p("i"))});
  EXPECT_EQ(to_text(sum_over("j", chain)), "Σⱼ (−yⱼ/pⱼ)·pⱼ(δᵢⱼ − pᵢ)");
  EXPECT_EQ(to_text(subtract(p("i"), y("i"))), "pᵢ − yᵢ");
  EXPECT_EQ(to_text(add({negate(y("i")), p("i")})), "pᵢ − yᵢ");  // positive terms first
  EXPECT_EQ(to_text(power(sum_exp_z(), 2)), "(Σₖ exp(zₖ))²");
  EXPECT_EQ(to_text(mul({p("i"), add({sum_over("j", y("j")), constant(-1)})})), "pᵢ(Σⱼ yⱼ − 1)");
  EXPECT_EQ(to_text(divide(subtract(p("i"), y("i")), symbol("T"))), "(pᵢ − yᵢ)/T");
  EXPECT_EQ(to_text(cases("i", "j", p("i"), p("j"))), "{pᵢ if i = j; pⱼ if i ≠ j}");
}

TEST(IndexCalculus, PrintsLatex) {
  EXPECT_EQ(to_latex(softmax().body), "\\frac{e^{z_j}}{\\sum_{k} e^{z_k}}");
  EXPECT_EQ(to_latex(derivative("z", "i", symbol("L"))), "\\frac{\\partial L}{\\partial z_i}");
  EXPECT_EQ(to_latex(mul({p("i"), add({sum_over("j", y("j")), constant(-1)})})),
            "p_i \\left(\\sum_{j} y_j - 1\\right)");
  EXPECT_EQ(to_latex(delta("j", "i")), "\\delta_{ij}");  // δ is symmetric: one spelling
  EXPECT_EQ(to_latex(symbol("ỹ", "j")), "\\tilde{y}_j");
}

TEST(IndexCalculus, AlphaEquivalenceAndCaptureAvoidingSubstitution) {
  EXPECT_TRUE(alpha_equal(sum_over("j", y("j")), sum_over("k", y("k"))));
  EXPECT_FALSE(alpha_equal(sum_over("j", y("j")), sum_over("k", y("j"))));
  EXPECT_TRUE(alpha_equal(delta("i", "j"), delta("j", "i")));
  // j → k inside Σₖ: the bound k is renamed so the new k is not captured.
  const Expr e = sum_over("k", mul({y("j"), z("k")}));
  const Expr s = substitute_index(e, "j", "k");
  EXPECT_EQ(free_indices(s), std::set<std::string>{"k"});
  EXPECT_TRUE(alpha_equal(s, sum_over("m", mul({y("k"), z("m")}))));
  EXPECT_EQ(free_indices(derivative("z", "i", sum_over("j", mul({y("j"), delta("i", "j")})))),
            std::set<std::string>{"i"});
}

TEST(IndexCalculus, EvaluatesAtFiftyDigitsWithExactDerivatives) {
  const Context context = softmax_context();
  Point point;
  point.n = 3;
  point.indexed["z"] = {ddx::Float50(2), ddx::Float50(1), ddx::Float50("0.1")};
  point.indexed["y"] = {ddx::Float50(0), ddx::Float50(0), ddx::Float50(1)};
  // Σᵢ pᵢ = 1
  const ddx::Float50 total = evaluate(sum_over("i", p("i")), context, point, {});
  EXPECT_LT(abs(total - 1), ddx::Float50("1e-48"));
  // ∂L/∂zᵢ = pᵢ − yᵢ, evaluated in forward mode
  for (int i = 1; i <= 3; ++i) {
    const ddx::Float50 grad = evaluate(derivative("z", "i", symbol("L")), context, point, {{"i", i}});
    const ddx::Float50 expected = evaluate(subtract(p("i"), y("i")), context, point, {{"i", i}});
    EXPECT_LT(abs(grad - expected), ddx::Float50("1e-48")) << "i = " << i;
  }
  EXPECT_EQ(evaluate(delta("i", "j"), context, point, {{"i", 2}, {"j", 2}}), 1);
  EXPECT_EQ(evaluate(delta("i", "j"), context, point, {{"i", 2}, {"j", 3}}), 0);
  EXPECT_EQ(evaluate(size_n(), context, point, {}), 3);
}

TEST(IndexCalculus, EvaluationErrorsNameWhatIsMissing) {
  const Context context = softmax_context();
  Point point;
  point.n = 2;
  point.indexed["z"] = {ddx::Float50(1), ddx::Float50(2)};
  try {
    evaluate(z("i"), context, point, {});
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("index i"), std::string::npos) << e.what();
  }
  EXPECT_THROW(evaluate(y("i"), context, point, {{"i", 1}}), std::invalid_argument);
  EXPECT_THROW(evaluate(derivative("z", "i", derivative("z", "i", z("i"))), context, point, {{"i", 1}}),
               std::domain_error);
  // Depth is bounded: a chain deeper than kMaxDepth is refused with a message.
  Expr deep = z("i");
  for (int k = 0; k < kMaxDepth + 10; ++k) deep = negate(deep);
  EXPECT_THROW(evaluate(deep, context, point, {{"i", 1}}), std::length_error);
  EXPECT_THROW(to_text(deep), std::length_error);
}

TEST(IndexCalculus, SimplifyCollectsWithoutCancelling) {
  EXPECT_EQ(to_text(simplify(add({mul({constant(2), p("i")}), negate(p("i")), constant(0)}))), "pᵢ");
  EXPECT_EQ(to_text(simplify(mul({p("i"), p("i"), constant(1)}))), "pᵢ²");
  // x·x⁻¹ needs x ≠ 0: simplify leaves it to the rule "cancel".
  EXPECT_EQ(to_text(simplify(mul({y("j"), power(y("j"), -1)}))), "yⱼ/yⱼ");
  EXPECT_EQ(to_text(simplify(negate(subtract(z("i"), y("i"))))), "yᵢ − zᵢ");
  EXPECT_EQ(to_text(expand(mul({p("i"), subtract(constant(1), p("i"))}))), "pᵢ − pᵢ²");
}

// ---------------------------------------------------------------- derivative rules

TEST(IndexCalculus, DIndex) {
  expect_rewrite(R::d_index(), derivative("z", "i", z("j")), "δᵢⱼ");
  expect_rewrite(R::d_index(), derivative("z", "i", z("i")), "δᵢᵢ");
  expect_no_rewrite(R::d_index(), derivative("z", "i", y("j")));
}

TEST(IndexCalculus, DConst) {
  expect_rewrite(R::d_const(), derivative("z", "i", y("j")), "0");
  expect_rewrite(R::d_const(), derivative("z", "i", sum_over("j", y("j"))), "0");
  expect_no_rewrite(R::d_const(), derivative("z", "i", z("j")));
  // p depends on z through its definition.
  expect_no_rewrite(R::d_const(), derivative("z", "i", p("j")), softmax_context());
}

TEST(IndexCalculus, DSum) {
  expect_rewrite(R::d_sum(), derivative("z", "i", add({z("i"), y("i")})), "∂zᵢ/∂zᵢ + ∂yᵢ/∂zᵢ");
  expect_rewrite(R::d_sum(), derivative("z", "i", negate(sum_over("j", z("j")))), "−Σⱼ ∂zⱼ/∂zᵢ");
  // Σᵢ under ∂/∂zᵢ: the bound i is renamed.
  const Application app = apply_rules(derivative("z", "i", sum_over("i", z("i"))), {R::d_sum()}, {});
  EXPECT_EQ(to_text(app.result), "Σⱼ ∂zⱼ/∂zᵢ");
}

TEST(IndexCalculus, DConstFactorAndProduct) {
  expect_rewrite(R::d_const_factor(), derivative("z", "i", mul({y("j"), z("j")})), "yⱼ·(∂zⱼ/∂zᵢ)");
  expect_rewrite(R::d_product(), derivative("z", "i", mul({z("i"), z("j")})), "(∂zᵢ/∂zᵢ)·zⱼ + zᵢ·(∂zⱼ/∂zᵢ)");
  expect_no_rewrite(R::d_product(), derivative("z", "i", mul({y("j"), z("j")})));
}

TEST(IndexCalculus, DQuotient) {
  expect_rewrite(R::d_quotient(), derivative("z", "i", softmax().body),
                 "(∂/∂zᵢ(exp(zⱼ))·Σₖ exp(zₖ) − exp(zⱼ)·∂/∂zᵢ(Σₖ exp(zₖ)))/(Σₖ exp(zₖ))²");
}

TEST(IndexCalculus, DPowerExpLog) {
  expect_rewrite(R::d_power(), derivative("z", "i", power(z("i"), 3)), "3zᵢ²·(∂zᵢ/∂zᵢ)");
  expect_rewrite(R::d_exp(), derivative("z", "i", exp_of(z("j"))), "exp(zⱼ)·(∂zⱼ/∂zᵢ)");
  expect_rewrite(R::d_log(), derivative("z", "i", log_of(sum_exp_z())), "∂/∂zᵢ(Σₖ exp(zₖ))/Σₖ exp(zₖ)");
}

TEST(IndexCalculus, ChainRuleThroughADefinition) {
  const Context context = softmax_context();
  expect_rewrite(R::chain_rule("p"), derivative("z", "i", symbol("L")), "Σⱼ (∂L/∂pⱼ)·(∂pⱼ/∂zᵢ)", context);
  // F depends on z directly too: the chain through p alone would be wrong.
  expect_no_rewrite(R::chain_rule("p"), derivative("z", "i", mul({z("i"), p("i")})), context);
  expect_no_rewrite(R::chain_rule("p"), derivative("z", "i", p("j")), context);
}

// ---------------------------------------------------------------- sums and deltas

TEST(IndexCalculus, SumLinearityAndFactorOut) {
  expect_rewrite(R::sum_linearity(), sum_over("j", add({y("j"), z("j")})), "Σⱼ yⱼ + Σⱼ zⱼ");
  expect_rewrite(R::sum_factor_out(), sum_over("j", mul({y("j"), p("i")})), "(Σⱼ yⱼ)·pᵢ", softmax_context());
  expect_rewrite(R::sum_factor_out(), sum_over("j", divide(symbol("ε"), size_n())), "nε/n");
  expect_no_rewrite(R::sum_factor_out(), sum_over("j", mul({y("j"), z("j")})));
}

TEST(IndexCalculus, DeltaContraction) {
  expect_rewrite(R::delta_contraction(), sum_over("j", mul({y("j"), delta("i", "j"), power(p("j"), -1)})), "yᵢ/pᵢ",
                 softmax_context());
  expect_rewrite(R::delta_contraction(), sum_over("k", mul({exp_of(z("k")), delta("i", "k")})), "exp(zᵢ)");
  expect_no_rewrite(R::delta_contraction(), sum_over("j", mul({y("j"), delta("i", "k")})));
}

TEST(IndexCalculus, DeltaValueOnlyWhereKnown) {
  expect_rewrite(R::delta_value(), delta("i", "i"), "1");
  expect_rewrite(R::delta_value(), cases("i", "j", delta("i", "i"), delta("i", "j")), "{1 if i = j; 0 if i ≠ j}");
  expect_no_rewrite(R::delta_value(), delta("i", "j"));  // i and j may be equal
}

TEST(IndexCalculus, DeltaCasesAndBack) {
  const Context context = softmax_context();
  expect_rewrite(R::delta_cases(), derivative("z", "i", p("j")), "{∂pᵢ/∂zᵢ if i = j; ∂pⱼ/∂zᵢ if i ≠ j}", context);
  // {pᵢ(1 − pᵢ) if i = j; −pⱼpᵢ if i ≠ j} = −pⱼpᵢ + δᵢⱼpⱼ
  const Expr split = cases("i", "j", mul({p("i"), subtract(constant(1), p("i"))}),
                           mul({constant(-1), p("j"), p("i")}));
  expect_rewrite(R::cases_to_delta(), split, "δᵢⱼpⱼ − pⱼpᵢ", context);
}

TEST(IndexCalculus, HypothesisOnlyWhereItMatches) {
  const Hypothesis h{sum_over("j", y("j")), constant(1)};
  NumericCheckOptions normalized;
  normalized.normalized = {"y"};
  expect_rewrite(R::hypothesis(h), mul({p("i"), sum_over("k", y("k"))}), "pᵢ", softmax_context(), normalized);  // pᵢ·1
  expect_no_rewrite(R::hypothesis(h), sum_over("j", z("j")));
  EXPECT_EQ(R::hypothesis(h).uses, "Σⱼ yⱼ = 1");
}

// ---------------------------------------------------------------- algebra

TEST(IndexCalculus, CancelRecordsWhyTheFactorIsNonzero) {
  const Context context = softmax_context();
  const Expr e = mul({constant(-1), y("j"), power(p("j"), -1), p("j"), subtract(delta("i", "j"), p("i"))});
  const Application app = apply_rules(e, {R::cancel()}, context);
  EXPECT_EQ(to_text(app.result), "−yⱼ(δᵢⱼ − pᵢ)");
  ASSERT_EQ(app.facts.size(), 1u);
  EXPECT_EQ(app.facts[0], "pⱼ ≠ 0 because exp(x) > 0");
  EXPECT_TRUE(check_equal(e, app.result, context, {}).passed);
  // yⱼ may be 0: not cancelled.
  expect_no_rewrite(R::cancel(), mul({y("j"), power(y("j"), -1)}), context);
  expect_rewrite(R::cancel(), mul({size_n(), symbol("ε"), power(size_n(), -1)}), "ε");
}

TEST(IndexCalculus, LogAndExpRules) {
  expect_rewrite(R::log_quotient(), log_of(softmax().body), "log exp(zⱼ) − log(Σₖ exp(zₖ))");
  expect_no_rewrite(R::log_quotient(), log_of(divide(y("j"), z("j"))));  // signs unknown
  expect_rewrite(R::log_exp(), log_of(exp_of(z("j"))), "zⱼ");
  expect_rewrite(R::exp_sum(), exp_of(add({z("i"), symbol("c")})), "exp(zᵢ)·exp(c)");
}

TEST(IndexCalculus, DistributeAndFactor) {
  expect_rewrite(R::distribute(), mul({constant(-1), y("j"), subtract(delta("i", "j"), p("i"))}), "yⱼpᵢ − yⱼδᵢⱼ",
                 softmax_context());
  expect_rewrite(R::factor(), subtract(p("i"), power(p("i"), 2)), "pᵢ(1 − pᵢ)", softmax_context());
  expect_rewrite(R::factor(), subtract(divide(p("i"), symbol("T")), divide(y("i"), symbol("T"))), "(pᵢ − yᵢ)/T",
                 softmax_context());
  expect_no_rewrite(R::factor(), subtract(p("i"), y("i")));
}

TEST(IndexCalculus, RuleSetsThatLoopAreRefused) {
  const Expr e = mul({p("i"), subtract(constant(1), p("i"))});
  EXPECT_THROW(apply_rules(e, {R::distribute(), R::factor()}, softmax_context()), std::logic_error);
}

TEST(IndexCalculus, UnfoldAndFold) {
  const Context context = softmax_context();
  expect_rewrite(R::unfold(softmax()), p("i"), "exp(zᵢ)/Σₖ exp(zₖ)", context);
  // Unfolding inside Σₖ renames the definition's own k.
  expect_rewrite(R::unfold(softmax()), sum_over("k", p("k")), "Σₖ exp(zₖ)/Σₗ exp(zₗ)", context);
  // only under a derivative: the pⱼ beside ∂pⱼ/∂zᵢ stays
  const Expr e = mul({p("j"), derivative("z", "i", p("j"))});
  expect_rewrite(R::unfold(softmax(), true), e, "pⱼ·∂/∂zᵢ(exp(zⱼ)/Σₖ exp(zₖ))", context);
  // ∂/∂pⱼ keeps p: it is the variable there
  expect_no_rewrite(R::unfold(softmax()), derivative("p", "j", p("k")), context);
  // exp(zᵢ)²/(Σₖ exp(zₖ))² folds to pᵢ², exp(zⱼ)exp(zᵢ)/S² to pⱼpᵢ
  expect_rewrite(R::fold(softmax()), mul({constant(-1), power(exp_of(z("i")), 2), power(sum_exp_z(), -2)}), "−pᵢ²",
                 context);
  expect_rewrite(R::fold(softmax()), mul({exp_of(z("j")), exp_of(z("i")), power(sum_exp_z(), -2)}), "pⱼpᵢ",
                 context);
  expect_no_rewrite(R::fold(softmax()), mul({exp_of(z("j")), power(sum_over("k", exp_of(y("k"))), -1)}), context);
  expect_rewrite(R::fold(loss()), loss().body, "L", context);
  // A denominator that carries the index folds only at the same index.
  const Definition ratio{"q", "j", divide(exp_of(z("j")), exp_of(y("j")))};
  const Context with_ratio{{ratio}};
  expect_no_rewrite(R::fold(ratio), divide(exp_of(z("i")), exp_of(y("j"))), with_ratio);
  expect_rewrite(R::fold(ratio), divide(exp_of(z("i")), exp_of(y("i"))), "qᵢ", with_ratio);
}

TEST(IndexCalculus, SimplifyIsOneRule) {
  expect_rewrite(R::simplify(), add({mul({constant(0), p("i")}), mul({p("i"), constant(1)}), negate(y("i"))}),
                 "pᵢ − yᵢ", softmax_context());
}

// ---------------------------------------------------------------- derivations and checks

TEST(IndexCalculus, DerivationRecordsNamedCheckedSteps) {
  Derivation d(softmax_context(), derivative("z", "i", exp_of(z("i"))));
  EXPECT_TRUE(d.apply(R::d_exp()));
  EXPECT_TRUE(d.apply(R::d_index()));
  EXPECT_FALSE(d.apply(R::d_exp()));  // nothing left to do: no step
  ASSERT_EQ(d.steps().size(), 2u);
  EXPECT_EQ(d.steps()[0].rule, "d-exp");
  EXPECT_EQ(d.steps()[0].before, "∂/∂zᵢ(exp(zᵢ))");
  EXPECT_EQ(d.steps()[0].after, "exp(zᵢ)·(∂zᵢ/∂zᵢ)");
  EXPECT_EQ(d.steps()[1].before, d.steps()[0].after);
  EXPECT_EQ(d.steps()[1].after, "exp(zᵢ)·δᵢᵢ");
  EXPECT_FALSE(d.steps()[1].latex_after.empty());
  for (const auto& s : d.steps()) {
    EXPECT_TRUE(s.numeric_check_passed) << s.numeric_check;
    EXPECT_NE(s.numeric_check.find("50 digits"), std::string::npos);
  }
}

TEST(IndexCalculus, AWrongRuleFailsTheNumericCheck) {
  // ∂exp(u) = ∂u (the factor exp(u) forgotten): the rule applies, the check refuses it.
  const Rule wrong{"d-exp", "", [](const Expr& e, const Scope&) -> std::optional<Rewrite> {
                     if (e->kind != Kind::Derivative || e->args[0]->kind != Kind::Exp) return std::nullopt;
                     return Rewrite{derivative(e->name, e->index, e->args[0]->args[0]), ""};
                   }};
  Derivation d(softmax_context(), derivative("z", "i", exp_of(z("i"))));
  EXPECT_TRUE(d.apply(wrong));
  ASSERT_EQ(d.steps().size(), 1u);
  EXPECT_FALSE(d.steps()[0].numeric_check_passed);
  EXPECT_NE(d.steps()[0].numeric_check.find("FAILED"), std::string::npos) << d.steps()[0].numeric_check;
}

TEST(IndexCalculus, NumericCheckCoversEveryFreeIndexAndSize) {
  // δᵢⱼpᵢ = δᵢⱼpⱼ holds; δᵢⱼpᵢ = pᵢ does not (only when i = j).
  const Context context = softmax_context();
  NumericCheck ok = check_equal(mul({delta("i", "j"), p("i")}), mul({delta("i", "j"), p("j")}), context, {});
  EXPECT_TRUE(ok.passed) << ok.description;
  EXPECT_NE(ok.description.find("every i and every j"), std::string::npos) << ok.description;
  NumericCheck bad = check_equal(mul({delta("i", "j"), p("i")}), p("i"), context, {});
  EXPECT_FALSE(bad.passed);
  // Σⱼ yⱼ = 1 holds only for normalized y.
  NumericCheckOptions normalized;
  normalized.normalized = {"y"};
  EXPECT_TRUE(check_equal(sum_over("j", y("j")), constant(1), context, normalized).passed);
  EXPECT_FALSE(check_equal(sum_over("j", y("j")), constant(1), context, {}).passed);
}

}  // namespace
