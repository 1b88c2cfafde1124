// ddx explain: the forward pass, the reverse sweep with its accumulations,
// and the gradient beside the symbolic one, on the seeds' example and on
// expressions where a node feeds several users.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "derivations/explain.hpp"
#include "run_ddx.hpp"

namespace ddx {
namespace {

using testing::run_ddx;

Explanation explain_at(const std::string& expression, const std::string& wrt, const std::string& at,
                       Precision precision = Precision::Double) {
  GradRequest r;
  r.expression = expression;
  r.wrt = wrt;
  r.at = at;
  r.precision = precision;
  return explain(r);
}

TEST(Explain, SeedExampleForwardPassSweepAndGradient) {
  const Explanation e = explain_at("p = softmax(z); -sum(y*log(p))", "z", "z=[2,1,0.1]; y=[0,0,1]");
  // z, exp, sum, divide (p), y, log, multiply, sum, negate.
  ASSERT_EQ(e.forward.size(), 9u);
  EXPECT_EQ(e.forward.front().label, "z");
  EXPECT_EQ(e.forward.back().op, "neg");
  EXPECT_EQ(e.forward[3].label, "p");
  // p = softmax(z) and the gradient p − y, from long double arithmetic: the
  // double values reverse mode shows are within 4 ulps of them (a handful of
  // roundings, each at most half an ulp, in exp, the sum, the division and
  // the sweep).
  const long double z[] = {2, 1, 0.1L}, y[] = {0, 0, 1};
  const long double total = std::exp(z[0]) + std::exp(z[1]) + std::exp(z[2]);
  for (std::size_t k = 0; k < 3; ++k) {
    const double p = static_cast<double>(std::exp(z[k]) / total);
    EXPECT_NEAR(std::stod(e.forward[3].value[k]), p, 4 * std::numeric_limits<double>::epsilon() * p) << k;
    const double g = static_cast<double>(std::exp(z[k]) / total - y[k]);
    EXPECT_NEAR(std::stod(e.result.gradients.front().values[k]), g,
                4 * std::numeric_limits<double>::epsilon() * std::abs(g)) << k;
  }
  // y carries no adjoint: the sweep visits the 8 nodes between L and z.
  ASSERT_EQ(e.sweep.size(), 8u);
  EXPECT_TRUE(e.sweep.front().seed);
  EXPECT_EQ(e.sweep.front().adjoint, std::vector<std::string>{"1"});
  EXPECT_EQ(e.node(e.sweep.back().node).label, "z");
  // exp(z) feeds the division and the sum: its adjoint accumulates two contributions.
  const auto fan_out = std::find_if(e.sweep.begin(), e.sweep.end(), [](const ExplainedStep& s) { return s.received.size() > 1; });
  ASSERT_NE(fan_out, e.sweep.end());
  EXPECT_EQ(e.node(fan_out->node).op, "exp");
  EXPECT_EQ(fan_out->received.size(), 2u);
  for (std::size_t k = 0; k < 3; ++k) {
    const double sum = std::stod(fan_out->received[0].value[k]) + std::stod(fan_out->received[1].value[k]);
    EXPECT_EQ(sum, std::stod(fan_out->adjoint[k]));  // the same double additions as the graph's own
  }
  // The gradient is the last node's adjoint, and agrees with p − y.
  EXPECT_EQ(e.sweep.back().adjoint, e.result.gradients.front().values);
  EXPECT_TRUE(e.result.symbolic_agrees);
}

TEST(Explain, PartialAdjointsEndAtTheFinalOnes) {
  // x feeds three users: x*x (twice, as both arguments) and exp(x).
  const Explanation e = explain_at("x*x + exp(x)", "x", "x=0.5");
  std::map<NodeId, std::string> last;
  std::map<NodeId, int> count;
  for (const auto& step : e.after_step)
    for (const PartialAdjoint& c : step) {
      last[c.node] = c.value.front();
      count[c.node] = c.contributions;
    }
  for (const ExplainedStep& s : e.sweep) {
    EXPECT_EQ(last.at(s.node), s.adjoint.front()) << e.node(s.node).label;
    EXPECT_EQ(count.at(s.node), static_cast<int>(s.received.size())) << e.node(s.node).label;
  }
  const ExplainedStep& x = e.sweep.back();
  EXPECT_EQ(x.received.size(), 3u);  // from a (x·x), b (x·x) and exp
  EXPECT_EQ(std::stod(x.adjoint.front()), 2 * 0.5 + std::exp(0.5));
}

TEST(Explain, TextShowsEveryPartAndTheAccumulation) {
  const auto r = run_ddx("explain \"p = softmax(z); -sum(y*log(p))\" --wrt z --at \"z=[2,1,0.1]; y=[0,0,1]\" --assume \"sum(y)=1\"");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* part : {"1. Forward pass", "2. Reverse sweep", "3. The gradient", "p = %1 / %2", "(the seed: ∂L/∂L = 1)",
                           "ḡ accumulates 2 contributions", "rule of div (a = %1, b = %2): ā += ḡ/b; b̄ −= ḡ·result/b",
                           "sends to p (x)", "∂L/∂z₁ = −y₁ + p₁", "Reverse mode and the formulas agree"})
    EXPECT_NE(r.output.find(part), std::string::npos) << part << "\n" << r.output;
}

TEST(Explain, JsonAndPrecision) {
  const auto r = run_ddx("explain \"sum(exp(z))\" --wrt z --at \"z=[0, 1]\" --precision 50 --format json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  for (const char* key : {"expression", "at", "precision", "value", "forward", "sweep", "gradient", "symbolic", "symbolic_agrees"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j.at("precision"), "50");
  // e to 49 significant digits (the 50-digit type prints a few guard digits more).
  EXPECT_EQ(j.at("gradient").at("z").at(1).get<std::string>().rfind("2.71828182845904523536028747135266249775724709369", 0), 0u);
  EXPECT_EQ(j.at("sweep").size(), 3u);
}

TEST(Explain, HtmlIsSelfContainedAndReadableWithoutScript) {
  const auto r = run_ddx("explain \"p = softmax(z); -sum(y*log(p))\" --wrt z --at \"z=[2,1,0.1]; y=[0,0,1]\" --format html");
  ASSERT_EQ(r.status, 0);
  const std::string& html = r.output;
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  // Every step is in the page, none hidden until the script runs.
  std::size_t steps = 0;
  for (std::size_t k = 0; (k = html.find("<li class=\"step\"", k)) != std::string::npos; ++k) ++steps;
  EXPECT_EQ(steps, 8u);
  EXPECT_EQ(html.find("<li class=\"step\" hidden"), std::string::npos);
  // Same input, same bytes.
  EXPECT_EQ(run_ddx("explain \"p = softmax(z); -sum(y*log(p))\" --wrt z --at \"z=[2,1,0.1]; y=[0,0,1]\" --format html").output,
            html);
}

TEST(Explain, BadUsage) {
  struct Case {
    const char* args;
    const char* message;
  };
  for (const Case& c : {Case{"explain \"sum(z)\" --wrt z --at \"z=[1,2]\" --format pdf", "--format"},
                        Case{"explain \"sum(z*w)\" --wrt z --at \"z=[1,2]\"", "'w'"},
                        Case{"explain \"sum(z)\" --wrt w --at \"z=[1,2]\"", "--wrt: 'w' does not occur"},
                        Case{"explain \"z\" --wrt z --at \"z=[1,2]\"", "wrap it in sum"},
                        Case{"explain --wrt z --at \"z=[1,2]\"", "give the expression"}}) {
    const auto r = run_ddx(c.args);
    EXPECT_EQ(r.status, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
  }
  // A loss that overflows is explained, and the exit status says it is not finite.
  const auto overflow = run_ddx("explain \"sum(exp(z))\" --wrt z --at \"z=[1000, 0]\"");
  EXPECT_EQ(overflow.status, 1) << overflow.output;
  EXPECT_NE(overflow.output.find("Not finite"), std::string::npos) << overflow.output;
}

}  // namespace
}  // namespace ddx
