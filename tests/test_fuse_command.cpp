// ddx fuse (derivations/fuse.hpp, cli/fuse.cpp), and the fused functions
// through ddx grad at every precision.
#include "derivations/fuse.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "run_ddx.hpp"

namespace ddx {
namespace {

using testing::run_ddx;

TEST(FuseCommand, CrossEntropyIsFusedProvenAndAgreesAtThePoint) {
  const auto run = run_ddx("fuse --at \"z=[2,1,0.1]; y=[0,0,1]\" -- \"-sum(y * log(softmax(z)))\"");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("Before:     -sum(y * log(exp(z) / sum(exp(z), axis=0)))"), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("After:      softmax_cross_entropy(z, y)"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("crossentropy_softmax_to_fused   proven"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("the two graphs agree"), std::string::npos) << run.output;
}

TEST(FuseCommand, JsonHoldsTheRecordsAndBothGraphsAtThePoint) {
  const auto run = run_ddx("fuse \"cross_entropy(softmax(z, T), y)\" --shape \"z=[2,3]; y=[2,3]; T=[]\" "
                           "--at \"z=[[2,1,0.1],[0,1,2]]; y=[[0,0,1],[0.5,0.5,0]]; T=2\" --json");
  ASSERT_EQ(run.status, 0) << run.output;
  const auto j = nlohmann::json::parse(run.output);
  EXPECT_EQ(j["after"], "softmax_cross_entropy(z / T, y)");
  EXPECT_TRUE(j["changed"]);
  EXPECT_TRUE(j["all_proven"]);
  ASSERT_EQ(j["rewrites"].size(), 1u);
  const auto& w = j["rewrites"][0];
  EXPECT_EQ(w["rule"], "crossentropy_softmax_to_fused");
  EXPECT_EQ(w["fused"]["expression"], "softmax_cross_entropy(z / T, y)");
  EXPECT_EQ(w["replaced"][0]["id"], w["root"]["id"]);
  EXPECT_TRUE(w["proof"]["proven"]);
  EXPECT_TRUE(j["point"]["agree"]);
  EXPECT_EQ(j["point"]["gradient"]["z"]["fused"].size(), 6u);
  EXPECT_EQ(j["point"]["gradient"]["T"]["composed"].size(), 1u);
  EXPECT_LT(j["nodes_after"].get<int>(), j["nodes_before"].get<int>());
}

TEST(FuseCommand, NothingToFuseIsReportedAndExitsZero) {
  const auto run = run_ddx("fuse \"sum(exp(z) * y)\"");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("Nothing to fuse: the graph is unchanged."), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("After:      sum(exp(z) * y)"), std::string::npos) << run.output;
}

TEST(FuseCommand, TraceShowsTheProofSteps) {
  const auto run = run_ddx("fuse \"log(sum(exp(z), axis=1))\" --shape \"z=[2,4]\" --trace");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("logsumexp_to_fused"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("[scalarize]"), std::string::npos) << run.output;
}

TEST(FuseCommand, BadInputExitsTwoWithAMessage) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"fuse \"softmax(\"", "column 9: expected a number, a name or '('"},
      {"fuse \"softmax(z)\" --shape \"z=[0]\"", "--shape 'z=[0]'"},
      {"fuse \"softmax_cross_entropy(z, y)\" --shape \"z=[3]; y=[4]\"",
       "softmax_cross_entropy: the targets y have shape [4]"},
      {"fuse --at \"z=[1,2,3]\" -- \"-sum(y * log(softmax(z)))\"", "--at: no value for 'y'"},
      {"fuse", "give the expression as an argument or with --file PATH"},
  };
  for (const auto& [args, message] : cases) {
    const auto run = run_ddx(args);
    EXPECT_EQ(run.status, 2) << args << "\n" << run.output;
    EXPECT_NE(run.output.find(message), std::string::npos) << args << "\n" << run.output;
  }
}

TEST(FuseCommand, HelpNamesTheOptionsAndTheRules) {
  const auto run = run_ddx("fuse --help");
  EXPECT_EQ(run.status, 0) << run.output;
  for (const char* s : {"--shape", "--at", "--json", "--trace", "crossentropy_softmax_to_fused", "logsumexp_to_fused"})
    EXPECT_NE(run.output.find(s), std::string::npos) << s << "\n" << run.output;
}

TEST(FuseCommand, LibraryResultMatchesTheCommandLine) {
  FuseRequest r;
  r.expression = "p = softmax(z); -sum(y * log(p))";
  r.at = "z=[2,1,0.1]; y=[0,0,1]";
  const FuseResult result = run_fuse(r);
  EXPECT_EQ(result.exit_status(), 0);
  ASSERT_TRUE(result.point);
  EXPECT_TRUE(result.point->agree);
  EXPECT_LE(result.point->largest_difference, kAgreement);
  ASSERT_EQ(result.point->gradients.size(), 2u);  // z and y
  EXPECT_EQ(render_json(result)["rewrites"][0]["rule"], "crossentropy_softmax_to_fused");
}

TEST(FusedFunctionsInGrad, EveryPrecisionEvaluatesTheFusedCrossEntropy) {
  for (const char* precision : {"float", "double", "long-double", "50", "100"}) {
    const auto run = run_ddx(std::string("grad \"softmax_cross_entropy(z, y)\" --wrt z --at \"z=[2,1,0.1]; y=[0,0,1]\" "
                                         "--json --precision ") +
                             precision);
    ASSERT_EQ(run.status, 0) << precision << "\n" << run.output;
    const auto j = nlohmann::json::parse(run.output);
    EXPECT_EQ(j["gradient"]["z"].size(), 3u);
    // The gradient p − y sums to 0; its target component is p₃ − 1 < 0.
    EXPECT_EQ(j["gradient"]["z"][2].get<std::string>().front(), '-') << precision;
  }
  for (const char* expression : {"sum(log_softmax_fused(z) * y)", "sum(log_sum_exp(z))"}) {
    const auto run = run_ddx(std::string("grad \"") + expression + "\" --wrt z --at \"z=[2,1,0.1]; y=[0,0,1]\"");
    EXPECT_EQ(run.status, 0) << expression << "\n" << run.output;
  }
}

}  // namespace
}  // namespace ddx
