// `ddx prove` through the command line: exit statuses (0 proven, 1 refuted,
// 2 bad usage), the residual without the hypothesis, and the JSON keys.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "run_ddx.hpp"

namespace {

using ddx::testing::CommandResult;
using ddx::testing::run_ddx;

TEST(ProveCli, ProvenExitsZero) {
  const CommandResult r = run_ddx("prove softmax-ce --classes 4");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Proven"), std::string::npos);
}

TEST(ProveCli, RefutedExitsOneAndPrintsTheResidual) {
  CommandResult r = run_ddx("prove softmax-ce --no-hypothesis --classes 3");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("p₁·(y₁ + y₂ + y₃ − 1)"), std::string::npos) << r.output;
  r = run_ddx("prove mse-softmax");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("NOT proven"), std::string::npos);
}

TEST(ProveCli, EveryNProofsRunFromTheCommandLine) {
  CommandResult r = run_ddx("prove softmax-ce --general --route direct --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["classes"], "n");
  EXPECT_EQ(j["proven"], true);
  EXPECT_EQ(j["residual"], "0");
  r = run_ddx("prove softmax-ce --general --no-hypothesis");
  EXPECT_EQ(r.status, 1) << r.output;
}

TEST(ProveCli, JsonHasTheDocumentedKeys) {
  const CommandResult r = run_ddx("prove temperature --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  for (const char* key : {"identity", "classes", "proven", "residual", "steps", "seconds"})
    EXPECT_TRUE(j.contains(key)) << key;
  for (const auto& s : j["steps"])
    for (const char* key : {"rule", "before", "after", "latex_before", "latex_after", "numeric_check_passed"})
      EXPECT_TRUE(s.contains(key)) << key;
}

TEST(ProveCli, ListNamesEveryIdentity) {
  const CommandResult r = run_ddx("prove --list");
  EXPECT_EQ(r.status, 0);
  for (const char* name : {"softmax-ce", "softmax-sums-to-one", "shift-invariance", "softmax-jacobian", "temperature",
                           "batch-mean", "two-classes", "sigmoid-bce", "label-smoothing", "mse-softmax"})
    EXPECT_NE(r.output.find(name), std::string::npos) << name;
}

TEST(ProveCli, BadUsageExitsTwo) {
  for (const char* args : {"prove", "prove no-such-identity", "prove softmax-ce --classes 0", "prove softmax-ce --classes x",
                           "prove batch-mean --general", "prove softmax-ce --route direct",
                           "prove softmax-ce --general --route sideways", "prove softmax-ce --bogus"}) {
    const CommandResult r = run_ddx(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
    EXPECT_FALSE(r.output.empty()) << args;
  }
}

}  // namespace
