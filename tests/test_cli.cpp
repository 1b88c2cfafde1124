// The command line (cli/main.cpp), run as a user would: exit status 0 when
// every check passes, 1 when a check fails, 2 for bad usage or input, and
// always a message that names the problem.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "run_ddx.hpp"

namespace {

using ddx::testing::CommandResult;
using ddx::testing::run_ddx;

bool mentions(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---- success ---------------------------------------------------------------------------

TEST(Cli, DeriveTheExampleProvesIt) {
  const CommandResult run = run_ddx("derive softmax-ce");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_TRUE(mentions(run.output, "Verdict: [pass] proven numerically")) << run.output;
}

TEST(Cli, JsonHasTheDocumentedShapeWithNumbersAsStrings) {
  const CommandResult run = run_ddx("derive softmax-ce --json");
  ASSERT_EQ(run.status, 0) << run.output;
  nlohmann::json json;
  ASSERT_NO_THROW(json = nlohmann::json::parse(run.output)) << run.output;
  for (const char* key : {"logits", "targets", "probabilities", "loss", "gradient", "expected_gradient", "checks",
                          "passed"})
    ASSERT_TRUE(json.contains(key)) << key;
  for (const char* key : {"logits", "targets", "probabilities", "gradient", "expected_gradient"}) {
    ASSERT_TRUE(json[key].is_array()) << key;
    EXPECT_EQ(json[key].size(), 3u) << key;
    for (const auto& v : json[key]) EXPECT_TRUE(v.is_string()) << key << ": " << v;
  }
  EXPECT_TRUE(json["loss"].is_string());
  EXPECT_EQ(json["passed"], true);
  ASSERT_TRUE(json["checks"].is_array());
  ASSERT_FALSE(json["checks"].empty());
  for (const auto& check : json["checks"]) {
    for (const char* key : {"name", "precision", "max_abs_error", "tolerance", "passed"})
      EXPECT_TRUE(check.contains(key)) << key << " in " << check;
    EXPECT_TRUE(check["name"].is_string());
    EXPECT_TRUE(check["precision"].is_string());
    EXPECT_TRUE(check["max_abs_error"].is_string()) << check;
    EXPECT_TRUE(check["tolerance"].is_string()) << check;
    EXPECT_EQ(check["passed"], true) << check;
    // The numbers in strings are numbers, and the error is within the tolerance.
    EXPECT_LE(std::stod(check["max_abs_error"].get<std::string>()), std::stod(check["tolerance"].get<std::string>()));
  }
  // The seeds' softmax, to 3 decimals: 0.659, 0.242, 0.099.
  const double p0 = std::stod(json["probabilities"][0].get<std::string>());
  EXPECT_NEAR(p0, 0.659, 0.0005);
}

TEST(Cli, OutputIsByteIdenticalAcrossRuns) {
  for (const char* arguments : {"derive softmax-ce", "derive softmax-ce --json",
                                "derive softmax-ce --logits '1,2,3;0,0,1' --targets '0,0.5,0.5;1,0,0' --json"}) {
    const CommandResult first = run_ddx(arguments), second = run_ddx(arguments);
    EXPECT_EQ(first.status, second.status) << arguments;
    EXPECT_EQ(first.output, second.output) << arguments;
    EXPECT_FALSE(first.output.empty()) << arguments;
  }
}

TEST(Cli, OtherInputsThatPass) {
  for (const char* arguments :
       {"derive softmax-ce --samples 3 --seed 7", "derive softmax-ce --logits '1,2;3,4' --target '0;1'",
        "derive softmax-ce --logits 2,1,0.1 --targets 0.2,0.3,0.5", "derive softmax-ce --precision 50",
        "derive softmax-ce --precision float", "derive softmax-ce --temperature 2.5",
        "derive softmax-ce --targets 1,1,0 --allow-unnormalized", "derive softmax-ce --logits 5 --target 0"}) {
    const CommandResult run = run_ddx(arguments);
    EXPECT_EQ(run.status, 0) << arguments << "\n" << run.output;
  }
}

TEST(Cli, HelpAndVersionExitZero) {
  for (const char* arguments : {"--help", "derive --help"}) {
    const CommandResult run = run_ddx(arguments);
    EXPECT_EQ(run.status, 0) << arguments;
    EXPECT_TRUE(mentions(run.output, "derive")) << run.output;
  }
  const CommandResult version = run_ddx("--version");
  EXPECT_EQ(version.status, 0);
  EXPECT_TRUE(mentions(version.output, "ddx")) << version.output;
}

// ---- checks that fail: exit status 1 ------------------------------------------------------

TEST(Cli, ALogitOf1e308OverflowsAndFails) {
  const CommandResult run = run_ddx("derive softmax-ce --logits 1e308,1 --target 1");
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_TRUE(mentions(run.output, "produced inf")) << run.output;
  EXPECT_TRUE(mentions(run.output, "NOT proven")) << run.output;
}

TEST(Cli, ALogitBeyondDoublesRangeIsNamedAsSuch) {
  const CommandResult run = run_ddx("derive softmax-ce --logits 1e400,1 --target 0");
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_TRUE(mentions(run.output, "beyond the range of double")) << run.output;
}

TEST(Cli, ALogitOf1000FailsAtDouble) {
  const CommandResult run = run_ddx("derive softmax-ce --logits 1000,0,0 --target 0");
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_TRUE(mentions(run.output, "exp")) << run.output;
}

// ---- bad usage or input: exit status 2 and a message naming the problem --------------------

struct BadInput {
  const char* label;
  const char* arguments;
  std::vector<const char*> message_parts;  // each must appear in the output
};

void PrintTo(const BadInput& c, std::ostream* os) { *os << "ddx " << c.arguments; }

class CliRejects : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliRejects, WithExitStatus2AndAMessage) {
  const BadInput& c = GetParam();
  const CommandResult run = run_ddx(c.arguments);
  EXPECT_EQ(run.status, 2) << c.arguments << "\n" << run.output;
  for (const char* part : c.message_parts)
    EXPECT_TRUE(mentions(run.output, part)) << "'" << part << "' in the output of ddx " << c.arguments << ":\n"
                                            << run.output;
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, CliRejects,
    ::testing::Values(
        BadInput{"targets_of_wrong_length", "derive softmax-ce --targets 0,1", {"--targets", "2 target value"}},
        BadInput{"non_numeric_logit", "derive softmax-ce --logits abc,1 --target 0", {"--logits", "'abc'"}},
        BadInput{"nan_logit", "derive softmax-ce --logits nan,1 --target 0", {"--logits", "'nan'", "NaN"}},
        BadInput{"inf_logit", "derive softmax-ce --logits inf,1 --target 0", {"--logits", "'inf'", "infinity"}},
        BadInput{"negative_infinity_logit", "derive softmax-ce --logits 1,-Infinity --target 0",
                 {"--logits", "'-Infinity'"}},
        BadInput{"unknown_option", "derive softmax-ce --bogus", {"--bogus"}},
        BadInput{"unknown_derivation", "derive softmax", {"unknown derivation 'softmax'", "softmax-ce"}},
        BadInput{"unknown_precision", "derive softmax-ce --precision quad", {"unknown precision 'quad'"}},
        BadInput{"target_out_of_range", "derive softmax-ce --target 3", {"--target", "'3'", "0 to 2"}},
        BadInput{"negative_target", "derive softmax-ce --target -1", {"--target", "'-1'"}},
        BadInput{"fractional_target", "derive softmax-ce --target 0.5", {"--target", "'0.5'"}},
        BadInput{"target_and_targets", "derive softmax-ce --target 0 --targets 1,0,0", {"--target", "--targets"}},
        BadInput{"unnormalized_targets", "derive softmax-ce --targets 1,1,0", {"sum to 2", "--allow-unnormalized"}},
        BadInput{"missing_derivation_name", "derive", {"name"}},
        BadInput{"missing_subcommand", "", {"subcommand"}},
        BadInput{"zero_temperature", "derive softmax-ce --temperature 0", {"--temperature", "positive"}},
        BadInput{"negative_temperature", "derive softmax-ce --temperature -2", {"--temperature"}},
        BadInput{"non_numeric_temperature", "derive softmax-ce --temperature hot", {"--temperature", "'hot'"}},
        BadInput{"logits_without_target", "derive softmax-ce --logits 1,2", {"--target"}},
        BadInput{"ragged_rows", "derive softmax-ce --logits '1,2;3' --target '0;0'", {"--logits", "row 2"}},
        BadInput{"empty_logit", "derive softmax-ce --logits 1,,2 --target 0", {"--logits", "empty"}},
        BadInput{"too_many_target_rows", "derive softmax-ce --target '0;1'", {"--target", "2 class"}},
        BadInput{"zero_samples", "derive softmax-ce --samples 0", {"--samples"}}),
    [](const auto& info) { return std::string(info.param.label); });

}  // namespace
