// ddx prove --claim: identities typed by the user, decided by the fixed-n
// prover, with the exit statuses of ddx prove (0 proven, 1 refuted, 2 bad usage).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "derivations/claim.hpp"
#include "derivations/inputs.hpp"
#include "run_ddx.hpp"

namespace ddx {
namespace {

using testing::run_ddx;

const char* kSoftmaxCe = "grad(-sum(y*log(softmax(z))), z) == softmax(z) - y";

Proof prove(std::string claim, std::vector<std::string> assumptions = {}, long classes = 3, std::string scalars = "",
            std::string positive = "") {
  ClaimRequest r;
  r.claim = std::move(claim);
  r.assumptions = std::move(assumptions);
  r.classes = classes;
  r.scalars = std::move(scalars);
  r.positive = std::move(positive);
  return prove_claim(r);
}

TEST(Claim, SoftmaxCrossEntropyIsPMinusYGivenNormalizedTargets) {
  for (long n : {1, 2, 4, 7}) {
    const Proof p = prove(kSoftmaxCe, {"sum(y) = 1"}, n);
    EXPECT_TRUE(p.proven) << "n = " << n << ": " << p.residual;
    EXPECT_TRUE(p.steps_checked());
    EXPECT_EQ(p.classes, std::to_string(n));
    EXPECT_EQ(p.hypotheses, std::vector<std::string>{"sum(y) = 1"});
  }
}

TEST(Claim, WithoutTheHypothesisTheResidualIsShown) {
  const Proof p = prove(kSoftmaxCe);
  EXPECT_FALSE(p.proven);
  // The residual is p₁·(Σy − 1), written with the softmax's own name when it has one.
  EXPECT_NE(p.residual.find("y₁ + y₂ + y₃ − 1"), std::string::npos) << p.residual;
}

TEST(Claim, StatementsBeforeTheClaimHoldOnBothSidesAndNameTheResidual) {
  const Proof p = prove("p = softmax(z); grad(-sum(y*log(p)), z) == p - y");
  EXPECT_FALSE(p.proven);
  EXPECT_NE(p.residual.find("p₁"), std::string::npos) << p.residual;
  EXPECT_EQ(p.identity, "grad(-sum(y*log(p)), z) = p - y, where p = softmax(z)");
  EXPECT_TRUE(prove("p = softmax(z)\ngrad(-sum(y*log(p)), z) == p - y", {"sum(y)=1"}).proven);
}

TEST(Claim, ScalarAndPositiveVariables) {
  EXPECT_TRUE(prove("grad(-sum(y*log(softmax(z, T))), z) == (softmax(z, T) - y)/T", {"sum(y) = 1"}, 3, "T", "T").proven);
  EXPECT_TRUE(prove("softmax(z + c) == softmax(z)", {}, 4, "c").proven);
  // The same claim with c a vector is false: each logit moves differently.
  EXPECT_FALSE(prove("softmax(z + c) == softmax(z)", {}, 4).proven);
}

TEST(Claim, AScalarSideStandsForEveryElement) {
  EXPECT_TRUE(prove("grad(sum(softmax(z)), z) == 0").proven);
  EXPECT_TRUE(prove("sum(softmax(z)) == 1").proven);
}

TEST(Claim, FalseClaimsAreNeverProven) {
  // The contrast: squared error after softmax does not give p − y.
  EXPECT_FALSE(prove("grad(sum((softmax(z) - y)^2), z) == softmax(z) - y", {"sum(y) = 1"}).proven);
  // Off by a tiny constant, a factor, a swapped sign, a wrong power.
  for (const char* claim : {"grad(-sum(y*log(softmax(z))), z) == softmax(z) - y + 1e-40",
                            "grad(-sum(y*log(softmax(z))), z) == 2*(softmax(z) - y)",
                            "grad(-sum(y*log(softmax(z))), z) == y - softmax(z)",
                            "grad(-sum(y*log(softmax(z))), z) == softmax(z)^2 - y",
                            "grad(sum(exp(z)), z) == exp(2*z)", "sum(softmax(z)) == 1 + 1e-30"}) {
    const Proof p = prove(claim, {"sum(y) = 1"});
    EXPECT_FALSE(p.proven) << claim;
    EXPECT_NE(p.residual, "0") << claim;
  }
}

TEST(Claim, BadClaimsAreInputErrors) {
  EXPECT_THROW(prove("sum(z) = 1"), InputError);                  // no ==
  EXPECT_THROW(prove("sum(z) == 1 == 1"), InputError);            // two
  EXPECT_THROW(prove("z == [1, 2]"), InputError);                 // shapes
  EXPECT_THROW(prove("sum(z) == 1", {}, 3, "T"), InputError);     // --scalar names nothing
  EXPECT_THROW(prove("sum(z) == 1", {}, 3, "", "T"), InputError);  // --positive names nothing
  EXPECT_THROW(prove("sum(z) == 1", {"z"}), InputError);          // an assumption that is no equation
  EXPECT_THROW(prove("sum(z) == 1", {"z = [1, 2]"}), InputError);  // its sides' shapes differ
  EXPECT_THROW(prove("sum(z) == 1", {}, 0), InputError);
  EXPECT_THROW(prove("grad(z, z) == z"), std::invalid_argument);      // not a scalar
  EXPECT_THROW(prove("grad(sum(z), 2) == z"), std::invalid_argument);  // not a variable
  EXPECT_THROW(prove("sum(z) == (1"), std::invalid_argument);
}

TEST(ClaimCli, ExitStatusesAndJson) {
  auto proven = run_ddx(std::string("prove --claim \"") + kSoftmaxCe + "\" --assume \"sum(y) = 1\" --classes 4 --json");
  EXPECT_EQ(proven.status, 0) << proven.output;
  const auto j = nlohmann::json::parse(proven.output);
  EXPECT_TRUE(j.at("proven").get<bool>());
  EXPECT_EQ(j.at("classes"), 4);
  EXPECT_EQ(j.at("residual"), "0");
  EXPECT_FALSE(j.at("steps").empty());

  auto refuted = run_ddx(std::string("prove --claim \"") + kSoftmaxCe + "\" --classes 2");
  EXPECT_EQ(refuted.status, 1) << refuted.output;
  EXPECT_NE(refuted.output.find("NOT proven"), std::string::npos);
  EXPECT_NE(refuted.output.find("Residual"), std::string::npos);

  auto traced = run_ddx(std::string("prove --claim \"") + kSoftmaxCe + "\" --assume \"sum(y)=1\" --trace");
  EXPECT_EQ(traced.status, 0);
  EXPECT_NE(traced.output.find("[hypothesis]  using sum(y)=1"), std::string::npos) << traced.output;
}

TEST(ClaimCli, BadUsageExitsWithTwo) {
  struct Case {
    const char* args;
    const char* message;
  };
  for (const Case& c : {Case{"prove --claim \"sum(z) = 1\"", "expected an equation with =="},
                        Case{"prove softmax-ce --claim \"sum(z) == 1\"", "not both"},
                        Case{"prove --claim \"sum(z) == 1\" --route direct", "--route"},
                        Case{"prove --claim \"sum(z) == 1\" --no-hypothesis", "leave out --assume"},
                        Case{"prove softmax-ce --assume \"sum(y)=1\"", "only with --claim"},
                        Case{"prove --claim \"sum(zz) == (1\"", "column"},
                        Case{"prove --claim \"sofmax(z) == z\"", "softmax"}}) {
    const auto r = run_ddx(c.args);
    EXPECT_EQ(r.status, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
  }
}

TEST(ClaimCli, ForEveryN) {
  auto proven = run_ddx(std::string("prove --general --claim \"") + kSoftmaxCe + "\" --assume \"sum(y) = 1\" --json");
  EXPECT_EQ(proven.status, 0) << proven.output;
  const auto j = nlohmann::json::parse(proven.output);
  EXPECT_EQ(j.at("classes"), "n");
  EXPECT_TRUE(j.at("proven").get<bool>());
  EXPECT_FALSE(j.at("steps").empty());

  auto refuted = run_ddx(std::string("prove --general --claim \"") + kSoftmaxCe + "\"");
  EXPECT_EQ(refuted.status, 1) << refuted.output;
  EXPECT_NE(refuted.output.find("Σₖ yₖ − 1"), std::string::npos) << refuted.output;

  // A constant equal to the number of classes the graph is first built with
  // (7) is ambiguous there; the claim is then built with another.
  auto seven = run_ddx("prove --general --claim \"grad(sum(7*z), z) == 7\"");
  EXPECT_EQ(seven.status, 0) << seven.output;

  auto both = run_ddx("prove --general --classes 4 --claim \"sum(softmax(z)) == 1\"");
  EXPECT_EQ(both.status, 2) << both.output;
  auto matrix = run_ddx("prove --general --claim \"sum(z) == sum([[1, 2], [3, 4]])\"");
  EXPECT_EQ(matrix.status, 2) << matrix.output;
}

TEST(GradFunction, IsReverseModeInsideTheLanguage) {
  // d/dz Σ grad(Σ z³, z) = d/dz Σ 3z² = 6z.
  const auto r = run_ddx("grad \"sum(grad(sum(z*z*z), z))\" --wrt z --at \"z=[1, 2]\" --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j.at("value"), "15");
  EXPECT_EQ(j.at("gradient").at("z"), (std::vector<std::string>{"6", "12"}));
}

}  // namespace
}  // namespace ddx
