// Numeric evaluation (engine/eval.hpp): bindings, what is evaluated, and the
// detection and explanation of the first non-finite value.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/eval.hpp"
#include "engine/print.hpp"
#include "ops/primitives.hpp"

namespace ddx {
namespace {

template <class T> Evaluation<T> evaluate(Expr root, const ExactBindings& at) {
  const NodeId id = root.id();
  return Evaluation<T>(root.graph(), std::span(&id, 1), round_bindings<T>(at));
}

void expect_mentions(const std::string& message, std::initializer_list<std::string> parts) {
  for (const std::string& part : parts)
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' in: " << message;
}

template <class F> std::string binding_error_of(F evaluate_it) {
  try {
    evaluate_it();
  } catch (const BindingError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no BindingError was thrown";
  return {};
}

TEST(Bindings, AMissingVariableIsNamed) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(2)), y = variable(g, "weights", Shape::vector(2));
  const std::string message = binding_error_of([&] { (void)evaluate<double>(x * y, {{"x", {1, 2}}}); });
  expect_mentions(message, {"'weights'"});
}

TEST(Bindings, TheWrongNumberOfValuesNamesTheVariableAndItsShape) {
  Graph g;
  const Expr x = variable(g, "x", Shape::matrix(2, 3));
  const std::string message = binding_error_of([&] { (void)evaluate<double>(exp(x), {{"x", {1, 2, 3}}}); });
  expect_mentions(message, {"'x'", "[2, 3]", "6", "3"});
}

TEST(Bindings, RoundBindingsRoundsEachValue) {
  const ExactBindings exact{{"x", {Rational(1, 3), Rational(-5, 2)}}, {"y", {}}};
  const Bindings<double> rounded = round_bindings<double>(exact);
  EXPECT_EQ(rounded.at("x"), (std::vector<double>{1.0 / 3.0, -2.5}));
  EXPECT_TRUE(rounded.at("y").empty());
}

TEST(Evaluation, ComputesOnlyTheAncestorsOfTheRoots) {
  Graph g;
  const Expr x = variable(g, "x", Shape::scalar()), y = variable(g, "y", Shape::scalar());
  const Expr used = exp(x), unused = log(y);
  const auto ev = evaluate<double>(used, {{"x", {0}}});  // y needs no value: it is not an ancestor
  EXPECT_TRUE(ev.has(used.id()));
  EXPECT_TRUE(ev.has(x.id()));
  EXPECT_FALSE(ev.has(unused.id()));
  EXPECT_FALSE(ev.has(y.id()));
  EXPECT_THROW((void)ev.value(unused.id()), std::out_of_range);
  EXPECT_EQ(ev.scalar(used.id()), 1.0);
  EXPECT_EQ(ev.order(), (std::vector<NodeId>{x.id(), used.id()}));
}

TEST(Evaluation, ConstantsAreRoundedAtTheEvaluationPrecision) {
  Graph g;
  const Expr third = constant(g, Rational(1, 3));
  const Expr x = variable(g, "x", Shape::scalar());
  const Expr product = x * third;
  EXPECT_EQ(evaluate<float>(product, {{"x", {1}}}).scalar(product.id()), 1.0f / 3.0f);
  EXPECT_EQ(evaluate<double>(product, {{"x", {1}}}).scalar(product.id()), 1.0 / 3.0);
  EXPECT_EQ(evaluate<Float50>(product, {{"x", {1}}}).scalar(product.id()), Float50(1) / 3);
}

TEST(Evaluation, AFiniteGraphReportsNothing) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(3));
  const Expr e = exp(x);
  const auto ev = evaluate<double>(e / sum(e), {{"x", {1, 2, 3}}});
  EXPECT_FALSE(ev.nonfinite().has_value());
}

// ---- non-finite values --------------------------------------------------------------

// exp(x) / (exp(x) + 1) at x = 1000: exp overflows to inf first; the add and
// the div then see inf (and produce nan), but the report names the exp node.
class Overflow : public ::testing::Test {
 protected:
  Graph g;
  Expr x = variable(g, "x", Shape::scalar());
  Expr e = exp(x);
  Expr ratio = e / (e + Rational(1));
  ExactBindings at{{"x", {1000}}};
};

TEST_F(Overflow, AtDoubleTheExpNodeIsReported) {
  const auto ev = evaluate<double>(ratio, at);
  ASSERT_TRUE(ev.nonfinite().has_value());
  EXPECT_EQ(ev.nonfinite()->node, e.id()) << "reported " << node_call(g, ev.nonfinite()->node);
  EXPECT_EQ(ev.nonfinite()->element, 0);
  EXPECT_EQ(ev.nonfinite()->value, "inf");
  EXPECT_TRUE(std::isnan(ev.scalar(ratio.id())));  // inf / inf downstream
}

TEST_F(Overflow, TheExplanationNamesTheOpAndTheInputValue) {
  const auto ev = evaluate<double>(ratio, at);
  ASSERT_TRUE(ev.nonfinite().has_value());
  const std::string message = explain_nonfinite(g, ev, *ev.nonfinite());
  expect_mentions(message, {"exp(x)", "inf", "x = 1000", "double"});
  EXPECT_EQ(message.find("nan"), std::string::npos) << "the later div is not the culprit: " << message;
}

TEST_F(Overflow, AtFiftyDigitsExpOf1000IsFinite) {
  const auto ev = evaluate<Float50>(ratio, at);
  EXPECT_FALSE(ev.nonfinite().has_value()) << explain_nonfinite(g, ev, *ev.nonfinite());
  // e¹⁰⁰⁰ = 1.97007111401704699388887935224332312531693798532384579 × 10⁴³⁴.
  // Boost reduces the argument by multiples of ln 2 held at working precision,
  // so its relative error grows like |x|·ε (exp's condition number): 4·1000·ε
  // relative allows for that and still pins the first 46 digits.
  const Float50 want("1.97007111401704699388887935224332312531693798532384579e434");
  const Float50 got = ev.scalar(e.id());
  EXPECT_LE(abs(got - want), 4000 * std::numeric_limits<Float50>::epsilon() * want) << got.str(50);
  // e¹⁰⁰⁰/(e¹⁰⁰⁰ + 1) rounds to 1 at 50 digits.
  EXPECT_EQ(ev.scalar(ratio.id()), 1);
}

TEST_F(Overflow, FloatOverflowsSoonerThanDouble) {
  const ExactBindings at100{{"x", {100}}};
  const auto in_float = evaluate<float>(ratio, at100);
  ASSERT_TRUE(in_float.nonfinite().has_value());
  EXPECT_EQ(in_float.nonfinite()->node, e.id());
  expect_mentions(explain_nonfinite(g, in_float, *in_float.nonfinite()), {"float", "x = 100"});
  EXPECT_FALSE(evaluate<double>(ratio, at100).nonfinite().has_value());
}

TEST(NonFinite, LogOfZeroIsReportedWithItsInput) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(3));
  const Expr l = log(x);
  const Expr loss = sum(l * x);
  const auto ev = evaluate<double>(loss, {{"x", {2, 0, 1}}});
  ASSERT_TRUE(ev.nonfinite().has_value());
  EXPECT_EQ(ev.nonfinite()->node, l.id());
  EXPECT_EQ(ev.nonfinite()->element, 1);
  EXPECT_EQ(ev.nonfinite()->value, "-inf");
  expect_mentions(explain_nonfinite(g, ev, *ev.nonfinite()), {"log(x)", "-inf", "element 1", "x = 0"});
}

// The cheap look for inf and NaN (every value folded into lanes, the last
// elements of a value into one more) must see a bad element wherever it is:
// in a run shorter than the lanes, in the lanes, in the elements after them;
// in both modes, and again on a rerun after a run with none.
template <class T> void expect_every_position_found() {
  for (std::int64_t n : {1, 5, 8, 15, 16, 17, 40}) {
    Graph g;
    const Expr x = variable(g, "x", Shape::vector(n));
    const Expr l = log(x);
    const Expr loss = sum(l * x);
    const NodeId roots[] = {loss.id()};
    for (std::int64_t bad = 0; bad < n; ++bad) {
      Bindings<T> fine{{"x", std::vector<T>(static_cast<std::size_t>(n), T(2))}}, zero = fine;
      zero["x"][static_cast<std::size_t>(bad)] = T(0);
      for (Keep keep : {Keep::All, Keep::Roots}) {
        Evaluation<T> ev(g, roots, fine, keep);
        EXPECT_FALSE(ev.nonfinite().has_value()) << n;
        ev.rerun(zero);
        ASSERT_TRUE(ev.nonfinite().has_value()) << "n = " << n << ", element " << bad;
        EXPECT_EQ(ev.nonfinite()->node, l.id());
        EXPECT_EQ(ev.nonfinite()->element, bad);
        ev.rerun(fine);
        EXPECT_FALSE(ev.nonfinite().has_value()) << n;
      }
    }
  }
}
TEST(NonFinite, FoundAtEveryPositionFloat) { expect_every_position_found<float>(); }
TEST(NonFinite, FoundAtEveryPositionDouble) { expect_every_position_found<double>(); }

TEST(NonFinite, ZeroOverZeroIsNaN) {
  Graph g;
  const Expr a = variable(g, "a", Shape::scalar()), b = variable(g, "b", Shape::scalar());
  const Expr q = a / b;
  const auto ev = evaluate<double>(q, {{"a", {0}}, {"b", {0}}});
  ASSERT_TRUE(ev.nonfinite().has_value());
  EXPECT_EQ(ev.nonfinite()->node, q.id());
  EXPECT_EQ(ev.nonfinite()->value, "nan");
  expect_mentions(explain_nonfinite(g, ev, *ev.nonfinite()), {"a / b", "nan", "a = 0", "b = 0"});
}

// A value that is finite as an exact rational but beyond the range of the
// evaluation's precision is not "produced" by any op: the explanation says so.
TEST(NonFinite, AnInputBeyondThePrecisionsRangeIsNamedAsSuch) {
  Graph g;
  const Expr z = variable(g, "z", Shape::vector(2));
  const Expr e = exp(z);
  const ExactBindings at{{"z", {1, parse_rational("1e400")}}};
  const auto ev = evaluate<double>(e, at);
  ASSERT_TRUE(ev.nonfinite().has_value());
  EXPECT_EQ(ev.nonfinite()->node, z.id());
  EXPECT_EQ(ev.nonfinite()->element, 1);
  expect_mentions(explain_nonfinite(g, ev, *ev.nonfinite()), {"variable z", "beyond the range", "double", "inf"});
  EXPECT_FALSE(evaluate<Float50>(z * Rational(2), at).nonfinite().has_value()) << "1e400 is finite at 50 digits";

  const Expr big = constant(g, parse_rational("-1e39"));  // beyond float's range (≈ 3.4e38)
  const auto in_float = evaluate<float>(big, {});
  ASSERT_TRUE(in_float.nonfinite().has_value());
  expect_mentions(explain_nonfinite(g, in_float, *in_float.nonfinite()), {"constant", "float", "-inf"});
}

// The explanation shows the input elements that fed the bad element, through broadcasting.
TEST(NonFinite, TheExplanationFollowsBroadcasting) {
  Graph g;
  const Expr m = variable(g, "m", Shape::matrix(2, 3)), s = variable(g, "s", Shape::matrix(2, 1));
  const Expr q = m / s;
  const auto ev = evaluate<double>(q, {{"m", {1, 2, 3, 4, 5, 6}}, {"s", {1, 0}}});
  ASSERT_TRUE(ev.nonfinite().has_value());
  EXPECT_EQ(ev.nonfinite()->node, q.id());
  EXPECT_EQ(ev.nonfinite()->element, 3);  // row 1, column 0
  expect_mentions(explain_nonfinite(g, ev, *ev.nonfinite()), {"m = 4", "s = 0", "element 3"});

  const Expr row = variable(g, "row", Shape::vector(3));
  const Expr p = m / row;
  const auto ev2 = evaluate<double>(p, {{"m", {1, 2, 3, 4, 5, 6}}, {"row", {1, 2, 0}}});
  ASSERT_TRUE(ev2.nonfinite().has_value());
  EXPECT_EQ(ev2.nonfinite()->element, 2);
  expect_mentions(explain_nonfinite(g, ev2, *ev2.nonfinite()), {"m = 3", "row = 0"});
}

}  // namespace
}  // namespace ddx
