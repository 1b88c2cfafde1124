// Proofs for every n: each identity and route proven with every step checked
// numerically, the refusal without the hypothesis, and a wrong rule caught.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <stdexcept>

#include "derivations/every_n.hpp"

namespace {

using ddx::Proof;
using ddx::prove_every_n;

// Proofs are deterministic and take a few seconds each: computed once.
const Proof& proof_of(const std::string& identity, const std::string& route, bool use_hypothesis = true) {
  static std::map<std::tuple<std::string, std::string, bool>, Proof> cache;
  const auto key = std::make_tuple(identity, route, use_hypothesis);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, prove_every_n(identity, route, use_hypothesis)).first;
  return it->second;
}

bool has_step(const Proof& proof, const std::string& rule) {
  return std::any_of(proof.steps.begin(), proof.steps.end(),
                     [&](const ddx::ProofStep& s) { return s.rule.find(rule) != std::string::npos; });
}

bool reaches(const Proof& proof, const std::string& text) {
  return std::any_of(proof.steps.begin(), proof.steps.end(),
                     [&](const ddx::ProofStep& s) { return s.after == text; });
}

// Every step follows from the previous one and held at 50 digits.
void expect_well_formed(const Proof& proof) {
  EXPECT_EQ(proof.classes, "n");
  EXPECT_FALSE(proof.route.empty());
  ASSERT_FALSE(proof.steps.empty());
  for (std::size_t k = 0; k < proof.steps.size(); ++k) {
    const ddx::ProofStep& s = proof.steps[k];
    EXPECT_FALSE(s.rule.empty());
    EXPECT_NE(s.before, s.after) << "step " << k + 1;
    EXPECT_FALSE(s.latex_before.empty());
    EXPECT_FALSE(s.latex_after.empty());
    EXPECT_TRUE(s.numeric_check_passed) << "step " << k + 1 << " (" << s.rule << "): " << s.numeric_check;
    EXPECT_NE(s.numeric_check.find("n = 1, 2, 3, 5, 8"), std::string::npos) << s.numeric_check;
  }
  EXPECT_TRUE(proof.steps_checked());
}

void expect_proven(const Proof& proof, const std::string& last) {
  expect_well_formed(proof);
  EXPECT_TRUE(proof.proven) << proof.identity << " residual " << proof.residual;
  EXPECT_EQ(proof.residual, "0");
  EXPECT_EQ(proof.residual_latex, "0");
  EXPECT_EQ(proof.steps.back().after, last);
}

TEST(EveryN, ListsItsIdentitiesAndRoutes) {
  EXPECT_EQ(ddx::every_n_identities(),
            (std::vector<std::string>{"softmax-ce", "softmax-sums-to-one", "shift-invariance", "softmax-jacobian",
                                      "temperature", "label-smoothing"}));
  EXPECT_EQ(ddx::every_n_routes("softmax-ce"), (std::vector<std::string>{"textbook", "direct"}));
}

TEST(EveryN, UnknownIdentityOrRouteIsNamed) {
  try {
    prove_every_n("softmax-mse", "direct", true);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("softmax-mse"), std::string::npos);
  }
  try {
    prove_every_n("softmax-ce", "sideways", true);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("sideways"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("textbook"), std::string::npos);
  }
}

TEST(EveryN, TextbookRoute) {
  const Proof& proof = proof_of("softmax-ce", "textbook");
  expect_proven(proof, "pᵢ − yᵢ");
  EXPECT_EQ(proof.route, "textbook");
  EXPECT_GE(proof.steps.size(), 8u);
  EXPECT_LE(proof.steps.size(), 25u);
  EXPECT_EQ(proof.steps.front().before, "∂L/∂zᵢ");
  EXPECT_EQ(proof.hypotheses, std::vector<std::string>{"Σⱼ yⱼ = 1"});
  // The chain rule over j, ∂L/∂pⱼ = −yⱼ/pⱼ, both cases of ∂pⱼ/∂zᵢ derived by
  // the quotient rule, combined with δ, then cancel, contract, hypothesis.
  EXPECT_EQ(proof.steps.front().rule, "chain-rule");
  EXPECT_TRUE(reaches(proof, "Σⱼ (−yⱼ/pⱼ)·(∂pⱼ/∂zᵢ)"));
  EXPECT_TRUE(has_step(proof, "d-quotient"));
  EXPECT_TRUE(reaches(proof, "Σⱼ (−yⱼ/pⱼ)·{pᵢ(1 − pᵢ) if i = j; −pⱼpᵢ if i ≠ j}"));
  EXPECT_TRUE(reaches(proof, "Σⱼ (−yⱼ/pⱼ)·pⱼ(δᵢⱼ − pᵢ)"));
  EXPECT_TRUE(reaches(proof, "(Σⱼ yⱼ)·pᵢ − yᵢ"));
  for (const char* rule : {"delta-cases", "cases-to-delta", "delta-contraction", "cancel", "sum-hypothesis", "fold p",
                           "unfold p", "unfold L"})
    EXPECT_TRUE(has_step(proof, rule)) << rule;
  const auto cancel = std::find_if(proof.steps.begin(), proof.steps.end(), [](const ddx::ProofStep& s) {
    return s.rule == "cancel" && s.after == "Σⱼ (−yⱼ(δᵢⱼ − pᵢ))";
  });
  ASSERT_NE(cancel, proof.steps.end());
  EXPECT_EQ(cancel->uses, "pⱼ ≠ 0 because exp(x) > 0");
  const auto hypothesis = std::find_if(proof.steps.begin(), proof.steps.end(),
                                       [](const ddx::ProofStep& s) { return s.rule == "sum-hypothesis"; });
  ASSERT_NE(hypothesis, proof.steps.end());
  EXPECT_EQ(hypothesis->uses, "Σⱼ yⱼ = 1");
  EXPECT_EQ(proof.steps.back().latex_after, "p_i - y_i");
}

TEST(EveryN, DirectRoute) {
  const Proof& proof = proof_of("softmax-ce", "direct");
  expect_proven(proof, "pᵢ − yᵢ");
  EXPECT_EQ(proof.route, "direct");
  EXPECT_GE(proof.steps.size(), 8u);
  EXPECT_LE(proof.steps.size(), 25u);
  // L = log Σₖ exp(zₖ) − Σⱼ yⱼzⱼ before any derivative is taken.
  EXPECT_TRUE(reaches(proof, "∂/∂zᵢ(log(Σₖ exp(zₖ)) − Σⱼ yⱼzⱼ)"));
  for (const char* rule : {"log-quotient", "log-exp", "sum-linearity", "sum-factor-out", "sum-hypothesis", "d-log"})
    EXPECT_TRUE(has_step(proof, rule)) << rule;
}

TEST(EveryN, TextbookRouteRefusesWithoutTheHypothesis) {
  const Proof& proof = proof_of("softmax-ce", "textbook", false);
  expect_well_formed(proof);  // every step still holds, for y of any sum
  EXPECT_FALSE(proof.proven);
  EXPECT_EQ(proof.residual, "pᵢ(Σⱼ yⱼ − 1)");
  EXPECT_EQ(proof.residual_latex, "p_i \\left(\\sum_{j} y_j - 1\\right)");
  EXPECT_FALSE(has_step(proof, "sum-hypothesis"));
  EXPECT_TRUE(proof.hypotheses.empty());
  EXPECT_NE(proof.steps.back().after, "pᵢ − yᵢ");
  EXPECT_EQ(proof.steps.back().after, "(Σⱼ yⱼ)·pᵢ − yᵢ");
}

TEST(EveryN, DirectRouteRefusesWithoutTheHypothesis) {
  const Proof& proof = proof_of("softmax-ce", "direct", false);
  expect_well_formed(proof);
  EXPECT_FALSE(proof.proven);
  EXPECT_EQ(proof.residual, "pᵢ(Σⱼ yⱼ − 1)");
}

TEST(EveryN, SoftmaxSumsToOne) {
  const Proof& proof = proof_of("softmax-sums-to-one", "");
  expect_proven(proof, "1");
  EXPECT_EQ(proof.steps.front().before, "Σᵢ pᵢ");
}

TEST(EveryN, ShiftInvariance) {
  const Proof& proof = proof_of("shift-invariance", "");
  expect_proven(proof, "pᵢ");
  EXPECT_EQ(proof.steps.front().before, "exp(zᵢ + c)/Σₖ exp(zₖ + c)");
  EXPECT_TRUE(has_step(proof, "exp-sum"));
  EXPECT_NE(proof.identity.find("every scalar c"), std::string::npos);
}

TEST(EveryN, SoftmaxJacobian) {
  const Proof& proof = proof_of("softmax-jacobian", "");
  expect_proven(proof, "pᵢ(δᵢⱼ − pⱼ)");
  EXPECT_EQ(proof.steps.front().before, "∂pᵢ/∂zⱼ");
  EXPECT_TRUE(has_step(proof, "d-quotient"));
  EXPECT_TRUE(has_step(proof, "cases-to-delta"));
  // checked for every i and every j
  EXPECT_NE(proof.steps.front().numeric_check.find("every i and every j"), std::string::npos);
}

TEST(EveryN, Temperature) {
  const Proof& proof = proof_of("temperature", "");
  expect_proven(proof, "(pᵢ − yᵢ)/T");
  EXPECT_NE(proof.identity.find("exp(zⱼ/T)"), std::string::npos) << proof.identity;
}

TEST(EveryN, LabelSmoothing) {
  const Proof& proof = proof_of("label-smoothing", "");
  expect_proven(proof, "pᵢ − ỹᵢ");
  EXPECT_TRUE(reaches(proof, "1"));  // Σⱼ ỹⱼ = 1 first
  EXPECT_EQ(proof.steps.front().before, "Σⱼ ỹⱼ");
  const auto lemma = std::find_if(proof.steps.begin(), proof.steps.end(),
                                  [](const ddx::ProofStep& s) { return s.uses == "Σⱼ ỹⱼ = 1 (proved above from Σⱼ yⱼ = 1)"; });
  EXPECT_NE(lemma, proof.steps.end());
  EXPECT_FALSE(proof_of("label-smoothing", "", false).proven);
}

TEST(EveryN, TemperatureRefusesWithoutTheHypothesis) {
  const Proof& proof = proof_of("temperature", "", false);
  EXPECT_FALSE(proof.proven);
  EXPECT_EQ(proof.residual, "pᵢ(Σⱼ yⱼ − 1)/T");
}

TEST(EveryN, AWrongRuleIsCaughtByTheNumericCheck) {
  using namespace ddx::index;
  // ∂log u = ∂u·u instead of ∂u/u. The route still reaches an expression,
  // but the step that used the wrong rule fails its check and the proof fails.
  const Rule wrong_log{"d-log", "", [](const Expr& e, const Scope&) -> std::optional<Rewrite> {
                         if (e->kind != Kind::Derivative || e->args[0]->kind != Kind::Log) return std::nullopt;
                         const Expr& u = e->args[0]->args[0];
                         return Rewrite{mul({derivative(e->name, e->index, u), u}), ""};
                       }};
  const Proof proof = prove_every_n("softmax-ce", "direct", true, {wrong_log});
  EXPECT_FALSE(proof.proven);
  const auto failing = std::find_if(proof.steps.begin(), proof.steps.end(),
                                    [](const ddx::ProofStep& s) { return !s.numeric_check_passed; });
  ASSERT_NE(failing, proof.steps.end());
  EXPECT_EQ(failing->rule, "d-log");
  EXPECT_NE(failing->numeric_check.find("FAILED"), std::string::npos) << failing->numeric_check;

  // A wrong quotient rule (f'g + fg' over g²) in the Jacobian is caught too.
  const Rule wrong_quotient{
      "d-quotient", "", [](const Expr& e, const Scope& scope) -> std::optional<Rewrite> {
        std::optional<Rewrite> right = rules::d_quotient().rewrite(e, scope);
        if (!right) return std::nullopt;
        // flip the sign of the second term of the numerator
        std::vector<Expr> factors = factors_of(right->result);
        for (Expr& f : factors)
          if (f->kind == Kind::Add) f = add({f->args[0], f->args[1]->args[0]});
        return Rewrite{mul(factors), ""};
      }};
  const Proof jacobian = prove_every_n("softmax-jacobian", "", true, {wrong_quotient});
  EXPECT_FALSE(jacobian.proven);
  EXPECT_FALSE(jacobian.steps_checked());
}

TEST(EveryN, TracesAreDeterministic) {
  const Proof again = prove_every_n("softmax-ce", "direct", true);
  const Proof& first = proof_of("softmax-ce", "direct");
  ASSERT_EQ(again.steps.size(), first.steps.size());
  for (std::size_t k = 0; k < again.steps.size(); ++k) {
    EXPECT_EQ(again.steps[k].after, first.steps[k].after);
    EXPECT_EQ(again.steps[k].latex_after, first.steps[k].latex_after);
    EXPECT_EQ(again.steps[k].numeric_check, first.steps[k].numeric_check);
  }
}

}  // namespace
