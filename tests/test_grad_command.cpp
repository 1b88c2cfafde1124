#include "derivations/grad_command.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include <fmt/format.h>

#include "engine/eval.hpp"
#include "engine/math/crmath.hpp"
#include "engine/math/vexp.hpp"
#include "engine/parser.hpp"
#include "ops/composites.hpp"
#include "run_ddx.hpp"

namespace ddx {
namespace {

GradRequest softmax_ce_request(const std::string& expression) {
  GradRequest r;
  r.expression = expression;
  r.wrt = "z";
  r.at = "z=[2, 1, 0.1]; y=[0, 0, 1]";
  r.precision = Precision::Digits50;
  return r;
}

// p − y at 50 digits, computed directly from the definition of softmax.
std::vector<Float50> expected_p_minus_y() {
  const Float50 z[] = {Float50(2), Float50(1), Float50(1) / 10};
  const Float50 y[] = {0, 0, 1};
  Float50 total = 0;
  for (const Float50& x : z) total += exp(x);
  std::vector<Float50> out;
  for (int k = 0; k < 3; ++k) out.push_back(exp(z[k]) / total - y[k]);
  return out;
}

TEST(GradCommand, TypedCrossEntropyGradientIsPMinusYAt50Digits) {
  for (const char* expression : {"-sum(y * log(softmax(z)))", "p = softmax(z); -sum(y * log(p))",
                                 "cross_entropy(softmax(z), y)"}) {
    const GradResult r = run_grad(softmax_ce_request(expression));
    ASSERT_EQ(r.gradients.size(), 1u);
    ASSERT_EQ(r.gradients[0].values.size(), 3u);
    EXPECT_FALSE(r.nonfinite);
    const auto expected = expected_p_minus_y();
    for (int k = 0; k < 3; ++k) {
      const Float50 got(r.gradients[0].values[k]);
      EXPECT_LT(abs(got - expected[k]), Float50("1e-48")) << expression << " component " << k;
    }
  }
}

TEST(GradCommand, AgreesWithTheExpressionBuiltThroughTheOps) {
  const GradResult typed = run_grad(softmax_ce_request("-sum(y * log(softmax(z)))"));
  Graph g;
  const Expr z = variable(g, "z", Shape::vector(3));
  const Expr y = variable(g, "y", Shape::vector(3));
  const Expr loss = -sum(y * log(softmax(z)));
  const Gradient built = grad(loss, {z});
  Bindings<Float50> b{{"z", {Float50(2), Float50(1), Float50(1) / 10}}, {"y", {0, 0, 1}}};
  std::vector<NodeId> roots{loss.id(), built.gradients[0]};
  const Evaluation<Float50> ev(g, roots, b);
  EXPECT_EQ(typed.value, format_scalar(ev.scalar(loss.id())));
  for (std::size_t k = 0; k < 3; ++k)
    EXPECT_EQ(typed.gradients[0].values[k], format_scalar(ev.value(built.gradients[0])[k]));
}

TEST(GradCommand, SimplifiedUnderTheAssumptionTheComponentsArePMinusY) {
  GradRequest r = softmax_ce_request("p = softmax(z); -sum(y * log(p))");
  r.simplify = true;
  r.assumptions = {"sum(y) = 1"};
  const GradResult result = run_grad(r);
  ASSERT_EQ(result.gradients[0].symbolic.size(), 3u);
  EXPECT_EQ(result.gradients[0].symbolic[0], "−y₁ + p₁");
  EXPECT_EQ(result.gradients[0].symbolic[1], "−y₂ + p₂");
  EXPECT_EQ(result.gradients[0].symbolic[2], "−y₃ + p₃");
  const auto json = render_json(result);
  EXPECT_EQ(json["symbolic"]["z"][2], "−y₃ + p₃");
  EXPECT_EQ(json["expression"], "p = softmax(z); -sum(y * log(p))");
  EXPECT_EQ(json["gradient"]["z"].size(), 3u);

  // Without the assumption the sum Σy stays in every component.
  r.assumptions.clear();
  const GradResult plain = run_grad(r);
  EXPECT_NE(plain.gradients[0].symbolic[0], "−y₁ + p₁");
}

TEST(GradCommand, BadUsageIsAnInvalidArgument) {
  GradRequest r = softmax_ce_request("-sum(y * log(softmax(z)))");
  r.wrt = "q";
  EXPECT_THROW(run_grad(r), std::invalid_argument);
  r = softmax_ce_request("-sum(y * log(softmax(z)))");
  r.at = "z=[2, 1, 0.1]";  // no y
  EXPECT_THROW(run_grad(r), ParseError);
  r = softmax_ce_request("softmax(z)");  // not a scalar
  EXPECT_THROW(run_grad(r), std::invalid_argument);
  r = softmax_ce_request("sum(z)");
  r.at = "z=[2, 1";
  EXPECT_THROW(run_grad(r), std::invalid_argument);
  r = softmax_ce_request("sum(z)");
  r.assumptions = {"sum(z)=1"};  // without --simplify
  EXPECT_THROW(run_grad(r), std::invalid_argument);
}

TEST(GradCommand, NonFiniteValuesAreExplained) {
  GradRequest r = softmax_ce_request("-sum(y * log(softmax(z)))");
  r.at = "z=[1000, 0, 0]; y=[1, 0, 0]";
  r.precision = Precision::Double;
  const GradResult result = run_grad(r);
  ASSERT_TRUE(result.nonfinite);
  EXPECT_NE(result.nonfinite->find("exp(z)"), std::string::npos) << *result.nonfinite;
}

// A float whose exp the faithful function rounds to the truth's other
// neighbour (found, not assumed: the search fails the test when none).
float argument_where_exp_modes_differ() {
  for (float x = 0.5f; x < 2.0f; x = std::nextafter(x, 2.0f))
    if (vexp::exp(x) != cr::exp(x)) return x;
  ADD_FAILURE() << "no float in [0.5, 2) where the faithful and the correctly rounded exp differ";
  return 1.0f;
}

TEST(GradCommand, MathFaithfulEvaluatesExpWithTheFaithfulFunction) {
  const float x = argument_where_exp_modes_differ();
  GradRequest r;
  r.expression = "exp(x)";
  r.wrt = "x";
  r.at = fmt::format("x={:.9g}", x);
  r.precision = Precision::Float;
  const GradResult rounded = run_grad(r);
  r.math = Math::Faithful;
  const GradResult faithful = run_grad(r);
  // d exp(x)/dx = exp(x): the value and the gradient are the node's value.
  EXPECT_EQ(std::stof(rounded.value), cr::exp(x));
  EXPECT_EQ(std::stof(rounded.gradients[0].values[0]), cr::exp(x));
  EXPECT_EQ(std::stof(faithful.value), vexp::exp(x));
  EXPECT_EQ(std::stof(faithful.gradients[0].values[0]), vexp::exp(x));
  EXPECT_EQ(render_json(rounded)["math"], "correctly-rounded");
  EXPECT_EQ(render_json(faithful)["math"], "faithful");
  EXPECT_EQ(render_text(rounded).find("Math:"), std::string::npos);
  EXPECT_NE(render_text(faithful).find("Math:       faithful"), std::string::npos);
}

using ddx::testing::run_ddx;

TEST(GradCli, MathOption) {
  const auto faithful = run_ddx("grad --wrt z --at 'z=[2,1,0.1]; y=[0,0,1]' --precision float --math faithful --json "
                                "-- '-sum(y*log(softmax(z)))'");
  EXPECT_EQ(faithful.status, 0) << faithful.output;
  EXPECT_NE(faithful.output.find("\"math\": \"faithful\""), std::string::npos) << faithful.output;
  const auto unknown = run_ddx("grad --wrt z --at 'z=[2,1,0.1]' --math fast 'sum(z)'");
  EXPECT_EQ(unknown.status, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("--math"), std::string::npos) << unknown.output;
}

TEST(GradCli, ExitStatuses) {
  const auto ok = run_ddx("grad --wrt z --at 'z=[2,1,0.1]; y=[0,0,1]' --json -- '-sum(y*log(softmax(z)))'");
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_NE(ok.output.find("\"gradient\""), std::string::npos);
  EXPECT_NE(ok.output.find("0.6590011388859679"), std::string::npos) << ok.output;

  const auto simplified =
      run_ddx("grad --wrt z --at 'z=[2,1,0.1]; y=[0,0,1]' --simplify --assume 'sum(y)=1' 'p = softmax(z); -sum(y*log(p))'");
  EXPECT_EQ(simplified.status, 0) << simplified.output;
  EXPECT_NE(simplified.output.find("−y₃ + p₃"), std::string::npos) << simplified.output;

  const auto overflow = run_ddx("grad --wrt z --at 'z=[1000,0,0]; y=[1,0,0]' -- '-sum(y*log(softmax(z)))'");
  EXPECT_EQ(overflow.status, 1) << overflow.output;
  EXPECT_NE(overflow.output.find("produced inf"), std::string::npos) << overflow.output;

  const auto typo = run_ddx("grad --wrt z --at 'z=[2,1,0.1]' 'sum(softmx(z))'");
  EXPECT_EQ(typo.status, 2) << typo.output;
  EXPECT_NE(typo.output.find("did you mean 'softmax'?"), std::string::npos) << typo.output;
  EXPECT_NE(typo.output.find("      ^"), std::string::npos) << typo.output;

  const auto missing = run_ddx("grad --wrt z --at 'z=[2,1,0.1]' 'sum(y * z)'");
  EXPECT_EQ(missing.status, 2) << missing.output;
  EXPECT_NE(missing.output.find("'y'"), std::string::npos) << missing.output;

  const auto absent = run_ddx("grad --wrt q --at 'z=[2,1,0.1]' 'sum(z)'");
  EXPECT_EQ(absent.status, 2) << absent.output;
  EXPECT_NE(absent.output.find("'q' does not occur"), std::string::npos) << absent.output;

  EXPECT_EQ(run_ddx("grad --wrt z --at 'z=[2,1' 'sum(z)'").status, 2);
  EXPECT_EQ(run_ddx("grad --wrt z --at 'z=[2,1,0.1]' --precision 7 'sum(z)'").status, 2);
}

}  // namespace
}  // namespace ddx
