// The identity catalogue of derivations/identities: every identity proven (or,
// for the contrast, refused) at several n, every step checked numerically, and
// the refusals without the hypothesis showing their residual.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "derivations/identities.hpp"

namespace ddx {
namespace {

class EveryIdentity : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryIdentity, IsDecidedAsExpectedWithEveryStepChecked) {
  const std::string name = GetParam();
  bool expect = true;
  for (const IdentityInfo& i : identities())
    if (i.name == name) expect = i.expect_proven;
  const long sizes[] = {1, 2, 3, 7};
  for (long n : sizes) {
    if (name == "two-classes" && n != 2) continue;  // two classes by definition
    ProveOptions o;
    o.classes = n;
    const Proof p = prove_identity(name, o);
    // With one class, MSE after softmax has p = 1 and zero gradient, as does p − y when y = 1.
    const bool expected = expect || (name == "mse-softmax" && n == 1);
    EXPECT_EQ(p.proven, expected) << name << " at n = " << n << ": residual " << p.residual;
    EXPECT_TRUE(p.steps_checked()) << name << " at n = " << n;
    EXPECT_GE(p.steps.size(), 4u);
    for (const ProofStep& s : p.steps) {
      EXPECT_FALSE(s.rule.empty());
      EXPECT_FALSE(s.before.empty());
      EXPECT_FALSE(s.after.empty());
      EXPECT_FALSE(s.latex_after.empty());
    }
    if (p.proven) EXPECT_EQ(p.residual, "0");
    else EXPECT_NE(p.residual, "0");
  }
}

std::vector<std::string> identity_names() {
  std::vector<std::string> names;
  for (const IdentityInfo& i : identities()) names.push_back(i.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Catalogue, EveryIdentity, ::testing::ValuesIn(identity_names()),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

TEST(Identities, WithoutTheHypothesisTheGradientIsNotPMinusY) {
  ProveOptions o;
  o.use_hypothesis = false;
  o.classes = 3;
  Proof p = prove_identity("softmax-ce", o);
  EXPECT_FALSE(p.proven);
  EXPECT_EQ(p.residual, "component 1: p₁·(y₁ + y₂ + y₃ − 1)");
  EXPECT_EQ(p.residual_latex, "p_{1} \\left(y_{1} + y_{2} + y_{3} - 1\\right)");
  o.classes = 10;  // a whole family of symbols reads as a sum
  p = prove_identity("softmax-ce", o);
  EXPECT_EQ(p.residual, "component 1: p₁·(Σⱼ yⱼ − 1)");
  EXPECT_TRUE(p.steps_checked());
}

TEST(Identities, TemperatureAndLabelSmoothingNeedTheHypothesisToo) {
  ProveOptions o;
  o.use_hypothesis = false;
  EXPECT_FALSE(prove_identity("temperature", o).proven);
  EXPECT_FALSE(prove_identity("label-smoothing", o).proven);
  EXPECT_FALSE(prove_identity("batch-mean", o).proven);
}

TEST(Identities, TheContrastShowsItsResidualAndItsTrueGradientProves) {
  const Proof wrong = prove_identity("mse-softmax", {});
  EXPECT_FALSE(wrong.proven);
  EXPECT_NE(wrong.residual.find("p₁"), std::string::npos);
  EXPECT_TRUE(prove_identity("mse-softmax-jacobian", {}).proven);
}

TEST(Identities, LargeNIsProvenForEveryComponent) {
  ProveOptions o;
  o.classes = 300;
  o.check_steps = false;
  const Proof p = prove_identity("softmax-ce", o);
  EXPECT_TRUE(p.proven);
  EXPECT_EQ(p.classes, "300");
  EXPECT_EQ(p.steps.back().after, "0 for every k");
}

TEST(Identities, JsonHasTheDocumentedKeys) {
  const auto j = nlohmann::json::parse(render_json(prove_identity("softmax-ce", {})));
  for (const char* key : {"identity", "classes", "proven", "residual", "steps", "seconds"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["classes"], 3);
  EXPECT_EQ(j["proven"], true);
  EXPECT_EQ(j["residual"], "0");
  for (const auto& s : j["steps"])
    for (const char* key : {"rule", "before", "after", "latex_before", "latex_after", "numeric_check_passed"})
      EXPECT_TRUE(s.contains(key)) << key;
}

TEST(Identities, UnknownNamesAndBadSizesAreErrors) {
  EXPECT_THROW(prove_identity("no-such-identity", {}), std::invalid_argument);
  ProveOptions o;
  o.classes = 0;
  EXPECT_THROW(prove_identity("softmax-ce", o), std::invalid_argument);
}

}  // namespace
}  // namespace ddx
