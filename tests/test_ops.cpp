// The primitive ops (ops/primitives.hpp): each forward kernel against exact
// values, and each vector-Jacobian rule against central differences.
//
// Forward values: inputs are exact rationals; the graph is evaluated at 100
// digits and compared with the exact rational result (or with a known
// constant such as e), and dyadic inputs whose results are representable are
// compared exactly at every precision.
//
// Vector-Jacobian rules: for an op f and a random weight w (a constant of f's
// shape), reverse mode gives ∂/∂x sum(w · f(x)); it must match the
// Richardson-extrapolated central difference of that scalar at 50 digits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/eval.hpp"
#include "ops/primitives.hpp"

namespace ddx {

// How GoogleTest prints a shape parameter (found by argument-dependent lookup in ddx).
void PrintTo(const Shape& s, std::ostream* os) { *os << to_string(s); }

namespace {

using Values = std::vector<Rational>;

struct Interval {
  double lo, hi;
};

// Seeded random inputs. Doubles are made from the generator's raw bits, so
// every platform draws the same numbers.
class Draw {
 public:
  explicit Draw(std::uint64_t seed) : rng_(seed) {}

  double unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }  // in [0, 1)

  // A double in the interval, as the exact rational it is. Its 53-bit
  // mantissa leaves room in a 50-digit float for x ± h to be exact.
  Rational real(Interval in) { return to_rational(in.lo + (in.hi - in.lo) * unit()); }
  Values reals(std::int64_t count, Interval in) {
    Values v;
    for (std::int64_t k = 0; k < count; ++k) v.push_back(real(in));
    return v;
  }

  // A fraction k/d in the interval with a small denominator that is not a
  // power of two, so rounding to a binary float is never exact.
  Rational fraction(Interval in) {
    static constexpr long kDenominators[] = {3, 7, 10, 12};
    const long d = kDenominators[rng_() % 4];
    const auto lo = static_cast<long>(std::ceil(in.lo * static_cast<double>(d)));
    const auto hi = static_cast<long>(std::floor(in.hi * static_cast<double>(d)));
    const long k = lo + static_cast<long>(rng_() % static_cast<std::uint64_t>(hi - lo + 1));
    return Rational(k, d);
  }
  Values fractions(std::int64_t count, Interval in) {
    Values v;
    for (std::int64_t k = 0; k < count; ++k) v.push_back(fraction(in));
    return v;
  }

 private:
  std::mt19937_64 rng_;
};

// Element (r, c) of a value of shape `s` that broadcasts to a rank-2 result:
// an axis of size 1 (or a missing one) repeats.
const Rational& element(const Values& v, const Shape& s, std::int64_t r, std::int64_t c) {
  const std::int64_t row = s.rank == 2 && s.dims[0] != 1 ? r : 0;
  const std::int64_t col = s.rank >= 1 && s.dims[s.rank - 1] != 1 ? c : 0;
  return v.at(static_cast<std::size_t>(row * s.cols() + col));
}

template <class T> std::vector<T> values_at(Expr e, const ExactBindings& at) {
  const NodeId id = e.id();
  const Evaluation<T> ev(e.graph(), std::span(&id, 1), round_bindings<T>(at));
  return ev.value(id);
}

Rational power(const Rational& x, long k) {
  Rational r = 1;
  for (long i = 0; i < (k < 0 ? -k : k); ++i) r *= x;
  return k < 0 ? Rational(1 / r) : r;
}

Float100 abs100(const Float100& x) { return x < 0 ? Float100(-x) : x; }
Float50 abs50(const Float50& x) { return x < 0 ? Float50(-x) : x; }
Float100 to100(const Rational& r) { return to_scalar<Float100>(r); }

const Float100 kEps100 = std::numeric_limits<Float100>::epsilon();

// ---- central differences at 50 digits -------------------------------------------

// The step: 2^-24, exactly representable, so x ± h and x ± h/2 are exact for a
// 53-bit x in a 168-bit float.
const Float50 kStep = Float50(1) / Float50(16777216);

// Tolerance for |reverse mode − central difference| at 50 digits: 1e-24.
// The Richardson step R = (4·D(h/2) − D(h))/3 cancels the h² term of the
// central difference D(h), leaving −f⁽⁵⁾·h⁴/480. Over the intervals drawn
// below the largest fifth derivative is that of w·x⁻³ at x = 1/2,
// 2520·2⁸ ≈ 6.5e5, so truncation ≤ 6.5e5 · 2⁻⁹⁶ / 480 ≈ 2e-26. Rounding: the
// loss (|L| < 100) is evaluated with relative error ~10ε ≈ 1e-49, divided by
// 2h ≈ 1.2e-7, i.e. ≈ 1e-41. 1e-24 is a hundred times above both, and 20
// orders of magnitude below any wrong rule (which errs by O(|w|)).
const Float50 kDifferenceTolerance("1e-24");

Float50 loss_at(const Graph& g, NodeId loss, const Bindings<Float50>& at) {
  const Evaluation<Float50> ev(g, std::span(&loss, 1), at);
  return ev.scalar(loss);
}

// ∂loss/∂(element k of variable `name`), Richardson-extrapolated.
Float50 central_difference(const Graph& g, NodeId loss, Bindings<Float50> at, const std::string& name,
                           std::size_t k) {
  const Float50 x = at.at(name).at(k);
  auto slope = [&](const Float50& h) {
    at.at(name)[k] = x + h;
    const Float50 up = loss_at(g, loss, at);
    at.at(name)[k] = x - h;
    const Float50 down = loss_at(g, loss, at);
    return Float50((up - down) / (2 * h));
  };
  return (4 * slope(kStep / 2) - slope(kStep)) / 3;
}

// Reverse mode on sum(w · out) for a random weight w, against central
// differences, for every element of every input.
void expect_vjp_matches_central_differences(Expr out, const std::vector<Expr>& inputs, const ExactBindings& at,
                                            Draw& draw) {
  Graph& g = out.graph();
  const Expr w{g, g.constant(draw.reals(out.shape().size(), {-1, 1}), out.shape())};
  const Expr loss = sum(w * out);
  const Gradient gradient = grad(loss, inputs);
  ASSERT_EQ(gradient.gradients.size(), inputs.size());
  const Bindings<Float50> at50 = round_bindings<Float50>(at);
  const Evaluation<Float50> ev(g, gradient.gradients, at50);
  ASSERT_FALSE(ev.nonfinite()) << explain_nonfinite(g, ev, *ev.nonfinite());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string& name = g.attr(inputs[i].id()).name;
    ASSERT_EQ(g.shape(gradient.gradients[i]), inputs[i].shape()) << "the gradient of " << name;
    const auto& reverse = ev.value(gradient.gradients[i]);
    for (std::size_t k = 0; k < reverse.size(); ++k) {
      const Float50 difference = central_difference(g, loss.id(), at50, name, k);
      EXPECT_LE(abs50(reverse[k] - difference), kDifferenceTolerance)
          << "∂L/∂" << name << "[" << k << "]: reverse mode " << reverse[k].str(20) << ", central difference "
          << difference.str(20);
    }
  }
}

// ---- binary elementwise ops -------------------------------------------------------

struct BinaryOp {
  const char* name;
  Expr (*build)(Expr, Expr);
  Rational (*exact)(const Rational&, const Rational&);
  Interval a, b;  // where operands are drawn: away from the op's singularities
};

const BinaryOp kBinaryOps[] = {
    {"add", [](Expr a, Expr b) { return a + b; },
     [](const Rational& a, const Rational& b) -> Rational { return a + b; }, {-2, 2}, {-2, 2}},
    {"sub", [](Expr a, Expr b) { return a - b; },
     [](const Rational& a, const Rational& b) -> Rational { return a - b; }, {-2, 2}, {-2, 2}},
    {"mul", [](Expr a, Expr b) { return a * b; },
     [](const Rational& a, const Rational& b) -> Rational { return a * b; }, {-2, 2}, {-2, 2}},
    {"div", [](Expr a, Expr b) { return a / b; },
     [](const Rational& a, const Rational& b) -> Rational { return a / b; }, {-2, 2}, {0.5, 2}},
};

struct ShapePair {
  const char* label;
  Shape a, b;
};

const ShapePair kShapePairs[] = {
    {"n_n", Shape::vector(3), Shape::vector(3)},
    {"n_Bn", Shape::vector(4), Shape::matrix(2, 4)},
    {"Bn_n", Shape::matrix(2, 4), Shape::vector(4)},
    {"B1_Bn", Shape::matrix(3, 1), Shape::matrix(3, 4)},
    {"Bn_B1", Shape::matrix(3, 4), Shape::matrix(3, 1)},
    {"scalar_n", Shape::scalar(), Shape::vector(3)},
    {"Bn_scalar", Shape::matrix(2, 3), Shape::scalar()},
    {"scalar_scalar", Shape::scalar(), Shape::scalar()},
    {"B1_n", Shape::matrix(2, 1), Shape::vector(3)},
    {"one_Bn", Shape::vector(1), Shape::matrix(2, 3)},
};

void PrintTo(const BinaryOp& op, std::ostream* os) { *os << op.name; }
void PrintTo(const ShapePair& shapes, std::ostream* os) { *os << to_string(shapes.a) << " with " << to_string(shapes.b); }

class BinaryOpTest : public ::testing::TestWithParam<std::tuple<BinaryOp, ShapePair>> {};

// Error bound for one op on inputs rounded to 100 digits: each input carries
// a relative error ≤ ε/2 and the op adds ≤ ε/2 of the result; for div the
// input errors reach the result as |a/b|·ε. 4ε·(|a| + |b| + |result|) covers
// every case with room to spare, and is 1e-99 of the values: a wrong kernel
// is off by far more.
Float100 binary_tolerance(const Rational& a, const Rational& b, const Rational& result) {
  return 4 * kEps100 * (abs100(to100(a)) + abs100(to100(b)) + abs100(to100(result)));
}

TEST_P(BinaryOpTest, ForwardMatchesExactRationalsAt100Digits) {
  const auto& [op, shapes] = GetParam();
  Graph g;
  Draw draw(1001);
  const Expr a = variable(g, "a", shapes.a), b = variable(g, "b", shapes.b);
  const Expr out = op.build(a, b);
  ASSERT_EQ(out.shape(), *broadcast(shapes.a, shapes.b));
  const ExactBindings at{{"a", draw.fractions(shapes.a.size(), op.a)}, {"b", draw.fractions(shapes.b.size(), op.b)}};
  const auto got = values_at<Float100>(out, at);
  const Shape& s = out.shape();
  for (std::int64_t r = 0; r < s.rows(); ++r)
    for (std::int64_t c = 0; c < s.cols(); ++c) {
      const Rational& x = element(at.at("a"), shapes.a, r, c);
      const Rational& y = element(at.at("b"), shapes.b, r, c);
      const Rational want = op.exact(x, y);
      const Float100& value = got.at(static_cast<std::size_t>(r * s.cols() + c));
      EXPECT_LE(abs100(value - to100(want)), binary_tolerance(x, y, want))
          << op.name << "(" << to_string(x) << ", " << to_string(y) << ") = " << value.str(30) << ", expected "
          << to_string(want);
    }
}

TEST_P(BinaryOpTest, VjpMatchesCentralDifferencesAt50Digits) {
  const auto& [op, shapes] = GetParam();
  Graph g;
  Draw draw(2002);
  const Expr a = variable(g, "a", shapes.a), b = variable(g, "b", shapes.b);
  const ExactBindings at{{"a", draw.reals(shapes.a.size(), op.a)}, {"b", draw.reals(shapes.b.size(), op.b)}};
  expect_vjp_matches_central_differences(op.build(a, b), {a, b}, at, draw);
}

TEST_P(BinaryOpTest, VjpForOneOperandOnly) {
  const auto& [op, shapes] = GetParam();
  Graph g;
  Draw draw(3003);
  const Expr a = variable(g, "a", shapes.a), b = variable(g, "b", shapes.b);
  const ExactBindings at{{"a", draw.reals(shapes.a.size(), op.a)}, {"b", draw.reals(shapes.b.size(), op.b)}};
  expect_vjp_matches_central_differences(op.build(a, b), {b}, at, draw);
  expect_vjp_matches_central_differences(op.build(a, b), {a}, at, draw);
}

INSTANTIATE_TEST_SUITE_P(Ops, BinaryOpTest, ::testing::Combine(::testing::ValuesIn(kBinaryOps),
                                                               ::testing::ValuesIn(kShapePairs)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param).label;
                         });

// ---- unary elementwise ops ----------------------------------------------------------

struct UnaryOp {
  const char* name;
  Expr (*build)(Expr);
  Interval x;
};

const UnaryOp kUnaryOps[] = {
    {"neg", [](Expr x) { return -x; }, {-2, 2}},
    {"exp", [](Expr x) { return exp(x); }, {-2, 2}},
    {"log", [](Expr x) { return log(x); }, {0.5, 4}},
    {"pow_minus3", [](Expr x) { return pow(x, -3); }, {0.5, 2}},
    {"pow_minus1", [](Expr x) { return pow(x, -1); }, {0.5, 2}},
    {"pow_0", [](Expr x) { return pow(x, 0); }, {0.5, 2}},
    {"pow_2", [](Expr x) { return pow(x, 2); }, {-2, 2}},
    {"pow_3", [](Expr x) { return pow(x, 3); }, {-2, 2}},
    {"pow_5", [](Expr x) { return pow(x, 5); }, {-2, 2}},
};

const Shape kUnaryShapes[] = {Shape::scalar(), Shape::vector(3), Shape::matrix(2, 3)};

void PrintTo(const UnaryOp& op, std::ostream* os) { *os << op.name; }

class UnaryOpTest : public ::testing::TestWithParam<std::tuple<UnaryOp, Shape>> {};

TEST_P(UnaryOpTest, VjpMatchesCentralDifferencesAt50Digits) {
  const auto& [op, shape] = GetParam();
  Graph g;
  Draw draw(4004);
  const Expr x = variable(g, "x", shape);
  const ExactBindings at{{"x", draw.reals(shape.size(), op.x)}};
  expect_vjp_matches_central_differences(op.build(x), {x}, at, draw);
}

INSTANTIATE_TEST_SUITE_P(Ops, UnaryOpTest, ::testing::Combine(::testing::ValuesIn(kUnaryOps),
                                                              ::testing::ValuesIn(kUnaryShapes)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_rank" +
                                  std::to_string(std::get<1>(info.param).rank);
                         });

TEST(Neg, ForwardIsExact) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(3));
  const ExactBindings at{{"x", {Rational(1, 3), Rational(-2, 7), 0}}};
  const auto got = values_at<Float100>(-x, at);
  for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(got[k], to100(-at.at("x")[k]));  // negation rounds nothing
}

TEST(Pow, ForwardMatchesExactPowers) {
  Graph g;
  Draw draw(5005);
  const Expr x = variable(g, "x", Shape::vector(6));
  const ExactBindings at{{"x", draw.fractions(6, {0.25, 3})}};
  for (long k : {-3L, -2L, -1L, 0L, 2L, 3L, 7L, 10L}) {
    const auto got = values_at<Float100>(pow(x, k), at);
    for (std::size_t i = 0; i < got.size(); ++i) {
      const Rational want = power(at.at("x")[i], k);
      // Repeated squaring: the rounded input's error is multiplied by |k|, and
      // each of the ≤ 2·log2|k| + 2 products and the final reciprocal adds ε:
      // (3|k| + 4)·ε relative bounds it.
      const Float100 tolerance = (3 * std::abs(k) + 4) * kEps100 * abs100(to100(want));
      EXPECT_LE(abs100(got[i] - to100(want)), tolerance)
          << to_string(at.at("x")[i]) << "^" << k << " = " << got[i].str(30);
    }
  }
}

TEST(Pow, ExponentOneIsTheInputItself) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(2));
  EXPECT_EQ(pow(x, 1), x);
}

// d/dx x⁰ = 0 everywhere, including at x = 0 (x⁰ is the constant 1).
TEST(Pow, GradientOfExponentZeroIsZeroAtZero) {
  Graph g;
  const Expr x = variable(g, "x", Shape::scalar());
  const Gradient gradient = grad(pow(x, 0), {x});
  const ExactBindings at{{"x", {0}}};
  const NodeId dx = gradient.gradients.front();
  const Evaluation<double> ev(g, std::span(&dx, 1), round_bindings<double>(at));
  EXPECT_EQ(values_at<double>(pow(x, 0), at).front(), 1.0);
  EXPECT_EQ(ev.scalar(dx), 0.0) << "the rule k·x^(k−1) with k = 0 evaluates 0·x⁻¹ = 0·inf at x = 0";
}

// e, ln 2, ln 3 and ln 10 to 110 digits (beyond what Float100 holds, so each
// constant is the correctly rounded value), for checking exp and log.
const Float100 kE(
    "2.71828182845904523536028747135266249775724709369995957496696762772407663035354759457138217852516642742746639193");
const Float100 kLn2(
    "0.69314718055994530941723212145817656807550013436025525412068000949339362196969471560586332699641868754200148102");
const Float100 kLn3(
    "1.09861228866810969139524523692252570464749055782274945173469433363749429321860896687361575481373208878797002906");
const Float100 kLn10(
    "2.30258509299404568401799145468436420760110148862877297603332790096757260967735248023599720508959829834196778404");

// Boost's exp and log at 100 digits are accurate to a few units in the last
// place, and the argument is rounded once; 16ε relative allows for both and
// still fails at the 99th digit.
void expect_close_to_constant(const Float100& got, const Float100& want, const char* what) {
  EXPECT_LE(abs100(got - want), 16 * kEps100 * abs100(want)) << what << " = " << got.str(100);
}

TEST(Exp, ForwardMatchesKnownConstants) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(5));
  const ExactBindings at{{"x", {0, 1, -1, 2, Rational(1, 2)}}};
  const auto got = values_at<Float100>(exp(x), at);
  EXPECT_EQ(got[0], 1);  // exp(0) = 1 exactly
  expect_close_to_constant(got[1], kE, "exp(1)");
  expect_close_to_constant(got[2], 1 / kE, "exp(-1)");
  expect_close_to_constant(got[3], kE * kE, "exp(2)");
  expect_close_to_constant(got[4], sqrt(kE), "exp(1/2)");
}

TEST(Log, ForwardMatchesKnownConstants) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(6));
  const ExactBindings at{{"x", {1, 2, Rational(1, 2), 3, 10, 6}}};
  const auto got = values_at<Float100>(log(x), at);
  EXPECT_EQ(got[0], 0);  // log(1) = 0 exactly
  expect_close_to_constant(got[1], kLn2, "log(2)");
  expect_close_to_constant(got[2], -kLn2, "log(1/2)");
  expect_close_to_constant(got[3], kLn3, "log(3)");
  expect_close_to_constant(got[4], kLn10, "log(10)");
  expect_close_to_constant(got[5], kLn2 + kLn3, "log(6)");
}

TEST(ExpLog, AtDoubleMatchTheConstantsToTheLastBit) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(2));
  const ExactBindings at{{"x", {1, 2}}};
  const double e = static_cast<double>(kE), ln2 = static_cast<double>(kLn2);
  // The arguments 1 and 2 are exact and libm's exp and log are faithful, so
  // each result is within one unit in the last place of the true value.
  const double got_e = values_at<double>(exp(x), at)[0], got_ln2 = values_at<double>(log(x), at)[1];
  EXPECT_LE(std::abs(got_e - e), std::nextafter(e, 4.0) - e);
  EXPECT_LE(std::abs(got_ln2 - ln2), std::nextafter(ln2, 1.0) - ln2);
}

// ---- every precision on values whose results are representable ------------------

template <class T> class ExactAtEveryPrecision : public ::testing::Test {};
using AllScalars = ::testing::Types<float, double, long double, Float50, Float100>;
TYPED_TEST_SUITE(ExactAtEveryPrecision, AllScalars);

TYPED_TEST(ExactAtEveryPrecision, DyadicArithmetic) {
  using T = TypeParam;
  Graph g;
  const Expr a = variable(g, "a", Shape::vector(3)), b = variable(g, "b", Shape::vector(3));
  const Values av{Rational(1, 2), Rational(-3, 4), Rational(5, 8)}, bv{2, Rational(1, 4), Rational(-1, 8)};
  const ExactBindings at{{"a", av}, {"b", bv}};
  auto expect_exact = [&](Expr e, auto f, const char* what) {
    const auto got = values_at<T>(e, at);
    for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(to_rational(got[k]), Rational(f(av[k], bv[k]))) << what << " " << k;
  };
  expect_exact(a + b, [](const Rational& x, const Rational& y) { return Rational(x + y); }, "add");
  expect_exact(a - b, [](const Rational& x, const Rational& y) { return Rational(x - y); }, "sub");
  expect_exact(a * b, [](const Rational& x, const Rational& y) { return Rational(x * y); }, "mul");
  expect_exact(a / b, [](const Rational& x, const Rational& y) { return Rational(x / y); }, "div");
  expect_exact(-a, [](const Rational& x, const Rational&) { return Rational(-x); }, "neg");
  expect_exact(pow(a, 3), [](const Rational& x, const Rational&) { return power(x, 3); }, "pow 3");
  expect_exact(pow(b, -2), [](const Rational&, const Rational& y) { return power(y, -2); }, "pow -2");
  expect_exact(stop_gradient(a), [](const Rational& x, const Rational&) { return x; }, "stop_gradient");
  expect_exact(equal(a, a * b / b), [](const Rational&, const Rational&) { return Rational(1); }, "equal");
}

TYPED_TEST(ExactAtEveryPrecision, ReductionsAndBroadcasts) {
  using T = TypeParam;
  Graph g;
  // m = [[1/2, -3, 7/4], [-1/8, 5, 2]]
  const Expr m = variable(g, "m", Shape::matrix(2, 3));
  const ExactBindings at{{"m", {Rational(1, 2), -3, Rational(7, 4), Rational(-1, 8), 5, 2}}};
  auto as_rationals = [&](Expr e) {
    Values out;
    for (const T& v : values_at<T>(e, at)) out.push_back(to_rational(v));
    return out;
  };
  EXPECT_EQ(as_rationals(sum(m)), (Values{Rational(49, 8)}));
  EXPECT_EQ(as_rationals(sum(m, 1)), (Values{Rational(-3, 4), Rational(55, 8)}));
  EXPECT_EQ(as_rationals(sum(m, 0)), (Values{Rational(3, 8), 2, Rational(15, 4)}));
  EXPECT_EQ(as_rationals(sum_to(m, Shape::vector(3))), (Values{Rational(3, 8), 2, Rational(15, 4)}));
  EXPECT_EQ(as_rationals(max(m)), (Values{5}));
  EXPECT_EQ(as_rationals(max(m, 1)), (Values{Rational(7, 4), 5}));
  EXPECT_EQ(as_rationals(max(m, -1)), (Values{Rational(7, 4), 5}));
  EXPECT_EQ(as_rationals(max(m, 0)), (Values{Rational(1, 2), 5, 2}));

  const Expr row = variable(g, "row", Shape::vector(3)), col = variable(g, "col", Shape::matrix(2, 1));
  const Expr s = variable(g, "s", Shape::scalar());
  const ExactBindings more{{"row", {1, Rational(-1, 2), 3}}, {"col", {Rational(3, 4), -2}}, {"s", {Rational(5, 16)}}};
  auto broadcast_values = [&](Expr e) {
    Values out;
    for (const T& v : values_at<T>(e, more)) out.push_back(to_rational(v));
    return out;
  };
  EXPECT_EQ(broadcast_values(broadcast_to(row, Shape::matrix(2, 3))), (Values{1, Rational(-1, 2), 3, 1, Rational(-1, 2), 3}));
  EXPECT_EQ(broadcast_values(broadcast_to(col, Shape::matrix(2, 3))),
            (Values{Rational(3, 4), Rational(3, 4), Rational(3, 4), -2, -2, -2}));
  EXPECT_EQ(broadcast_values(broadcast_to(s, Shape::vector(4))), (Values(4, Rational(5, 16))));
  EXPECT_EQ(broadcast_values(broadcast_to(s, Shape::matrix(2, 2))), (Values(4, Rational(5, 16))));
  // Elementwise ops broadcast the same way: [B, 1] with [n] is an outer sum.
  EXPECT_EQ(broadcast_values(col + row), (Values{Rational(7, 4), Rational(1, 4), Rational(15, 4), -1, Rational(-5, 2), 1}));
}

// ---- reductions and broadcasts: vector-Jacobian rules ----------------------------------

struct ReductionCase {
  const char* label;
  Shape from;
  Expr (*build)(Expr);
};

const ReductionCase kReductions[] = {
    {"sum_all_vector", Shape::vector(4), [](Expr x) { return sum(x); }},
    {"sum_all_matrix", Shape::matrix(2, 3), [](Expr x) { return sum(x); }},
    {"sum_axis0_vector", Shape::vector(4), [](Expr x) { return sum(x, 0); }},
    {"sum_axis0", Shape::matrix(2, 3), [](Expr x) { return sum(x, 0); }},
    {"sum_axis1", Shape::matrix(2, 3), [](Expr x) { return sum(x, 1); }},
    {"sum_to_row", Shape::matrix(3, 2), [](Expr x) { return sum_to(x, Shape::vector(2)); }},
    {"max_all_vector", Shape::vector(4), [](Expr x) { return max(x); }},
    {"max_all_matrix", Shape::matrix(2, 3), [](Expr x) { return max(x); }},
    {"max_axis0", Shape::matrix(3, 2), [](Expr x) { return max(x, 0); }},
    {"max_axis1", Shape::matrix(2, 3), [](Expr x) { return max(x, 1); }},
    {"max_axis_last", Shape::vector(5), [](Expr x) { return max(x, -1); }},
    {"broadcast_n_to_Bn", Shape::vector(3), [](Expr x) { return broadcast_to(x, Shape::matrix(2, 3)); }},
    {"broadcast_B1_to_Bn", Shape::matrix(2, 1), [](Expr x) { return broadcast_to(x, Shape::matrix(2, 3)); }},
    {"broadcast_1n_to_Bn", Shape::matrix(1, 3), [](Expr x) { return broadcast_to(x, Shape::matrix(2, 3)); }},
    {"broadcast_scalar_to_n", Shape::scalar(), [](Expr x) { return broadcast_to(x, Shape::vector(4)); }},
    {"broadcast_scalar_to_Bn", Shape::scalar(), [](Expr x) { return broadcast_to(x, Shape::matrix(2, 2)); }},
    {"broadcast_one_to_n", Shape::vector(1), [](Expr x) { return broadcast_to(x, Shape::vector(3)); }},
};

void PrintTo(const ReductionCase& c, std::ostream* os) { *os << c.label << " of " << to_string(c.from); }

class ReductionTest : public ::testing::TestWithParam<ReductionCase> {};

// Random inputs are distinct with probability 1 and their gaps (≈ 1e-16 at
// the very least, ≈ 0.1 typically) dwarf the step 2⁻²⁴, so the maximum stays
// at one element across the whole difference stencil.
TEST_P(ReductionTest, VjpMatchesCentralDifferencesAt50Digits) {
  const ReductionCase& c = GetParam();
  Graph g;
  Draw draw(6006);
  const Expr x = variable(g, "x", c.from);
  const ExactBindings at{{"x", draw.reals(c.from.size(), {-2, 2})}};
  expect_vjp_matches_central_differences(c.build(x), {x}, at, draw);
}

INSTANTIATE_TEST_SUITE_P(Ops, ReductionTest, ::testing::ValuesIn(kReductions),
                         [](const auto& info) { return std::string(info.param.label); });

// ---- max: the adjoint goes to the arg-max; ties split it ----------------------------------

Values gradient_at100(Expr loss, Expr wrt, const ExactBindings& at) {
  const Gradient gradient = grad(loss, {wrt});
  Values out;
  for (const Float100& v : values_at<Float100>(Expr{loss.graph(), gradient.gradients.front()}, at))
    out.push_back(to_rational(v));
  return out;
}

TEST(Max, AdjointGoesToTheArgMax) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(4));
  const ExactBindings at{{"x", {1, -2, 7, 3}}};
  EXPECT_EQ(gradient_at100(max(x), x, at), (Values{0, 0, 1, 0}));
}

TEST(Max, TiesSplitTheAdjointEqually) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(4));
  const ExactBindings at{{"x", {1, 3, 3, 2}}};
  EXPECT_EQ(gradient_at100(max(x), x, at), (Values{0, Rational(1, 2), Rational(1, 2), 0}));
  // The split ḡ still adds up to ḡ: d/dx of 6·max(x) puts 3 on each tie.
  EXPECT_EQ(gradient_at100(max(x) * Rational(6), x, at), (Values{0, 3, 3, 0}));
}

TEST(Max, TiesSplitPerRow) {
  Graph g;
  // Row 0 ties twice, row 1 three times, row 2 not at all; weights 2, 3 and 5
  // make every share an integer: 2/2, 3/3, 5/1.
  const Expr m = variable(g, "m", Shape::matrix(3, 3));
  const Expr w = Expr{g, g.constant({2, 3, 5}, Shape::matrix(3, 1))};
  const ExactBindings at{{"m", {1, 5, 5, 4, 4, 4, 0, -1, 2}}};
  EXPECT_EQ(gradient_at100(sum(w * max(m, 1)), m, at), (Values{0, 1, 1, 1, 1, 1, 0, 0, 5}));
}

TEST(Max, ThreeWayTieGivesAThirdEach) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(3));
  const ExactBindings at{{"x", {Rational(1, 7), Rational(1, 7), Rational(1, 7)}}};
  const Gradient gradient = grad(max(x), {x});
  const auto got = values_at<Float100>(Expr{g, gradient.gradients.front()}, at);
  // ḡ/3 is one rounded division: within half an ulp of 1/3.
  for (const Float100& v : got) EXPECT_LE(abs100(v - to100(Rational(1, 3))), kEps100 / 2) << v.str(30);
}

TEST(Max, AllNegativeAndNaNInputs) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(3));
  EXPECT_EQ(values_at<double>(max(x), ExactBindings{{"x", {-3, -1, -2}}}).front(), -1.0);
  Bindings<double> with_nan{{"x", {1.0, std::numeric_limits<double>::quiet_NaN(), 2.0}}};
  const NodeId id = max(x).id();
  const Evaluation<double> ev(g, std::span(&id, 1), with_nan);
  EXPECT_TRUE(std::isnan(ev.scalar(id))) << "a NaN input must not be hidden by the maximum";
}

// ---- equal and stop_gradient: no adjoint flows --------------------------------------------

TEST(Equal, ForwardIsOneWhereEqualWithBroadcasting) {
  Graph g;
  const Expr m = variable(g, "m", Shape::matrix(2, 3)), row = variable(g, "row", Shape::vector(3));
  const ExactBindings at{{"m", {1, 2, 3, 3, 2, 1}}, {"row", {1, 2, 1}}};
  const auto got = values_at<double>(equal(m, row), at);
  EXPECT_EQ(got, (std::vector<double>{1, 1, 0, 0, 1, 1}));
}

TEST(Equal, HasNoAdjoint) {
  Graph g;
  Draw draw(7007);
  const Expr a = variable(g, "a", Shape::vector(3)), b = variable(g, "b", Shape::vector(3));
  const Expr w{g, g.constant(draw.reals(3, {-1, 1}), Shape::vector(3))};
  const Gradient gradient = grad(sum(w * equal(a, b)), {a, b});
  const ExactBindings at{{"a", {1, 2, 3}}, {"b", {1, 0, 3}}};
  for (NodeId id : gradient.gradients) {
    EXPECT_EQ(g.shape(id), Shape::vector(3));
    EXPECT_EQ(values_at<double>(Expr{g, id}, at), (std::vector<double>{0, 0, 0}));
  }
}

TEST(StopGradient, IsTheIdentityForwardAndZeroBackward) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(3));
  const ExactBindings at{{"x", {Rational(1, 3), -2, Rational(5, 7)}}};
  const auto forward = values_at<Float100>(stop_gradient(x), at);
  for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(forward[k], to100(at.at("x")[k]));

  // L = sum(x · stop_gradient(x)): only the first factor is differentiated, so ∂L/∂x = x, not 2x.
  const Gradient gradient = grad(sum(x * stop_gradient(x)), {x});
  const auto dx = values_at<Float100>(Expr{g, gradient.gradients.front()}, at);
  for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(dx[k], to100(at.at("x")[k]));

  const Gradient none = grad(sum(stop_gradient(x)), {x});
  EXPECT_EQ(values_at<double>(Expr{g, none.gradients.front()}, at), (std::vector<double>{0, 0, 0}));
}

// ---- folding exact identities on constants --------------------------------------------------

TEST(Folding, ExactIdentitiesOnConstantsAddNoNodes) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(3));
  EXPECT_EQ(x * Rational(1), x);
  EXPECT_EQ(Rational(1) * x, x);
  EXPECT_EQ(x + Rational(0), x);
  EXPECT_EQ(Rational(0) + x, x);
  EXPECT_EQ(x - Rational(0), x);
  EXPECT_EQ(x / Rational(1), x);
  EXPECT_EQ(-(-x), x);
  EXPECT_EQ(x * Rational(-1), -x);
  EXPECT_EQ(Rational(0) - x, -x);
  const Expr folded = constant(g, Rational(1, 3)) * constant(g, Rational(3, 4)) + Rational(1, 2);
  ASSERT_NE(g.uniform_constant(folded.id()), nullptr);
  EXPECT_EQ(*g.uniform_constant(folded.id()), Rational(3, 4));
}

TEST(Folding, KeepsTheBroadcastShape) {
  Graph g;
  const Expr s = variable(g, "s", Shape::scalar());
  const Expr ones{g, g.constant({1, 1, 1}, Shape::vector(3))};
  // s·[1, 1, 1] has shape [3]: it must not fold to the scalar s.
  EXPECT_EQ((s * ones).shape(), Shape::vector(3));
  EXPECT_EQ((ones * s).shape(), Shape::vector(3));
  const Expr zeros{g, g.constant({0, 0}, Shape::vector(2))};
  EXPECT_EQ((s + zeros).shape(), Shape::vector(2));
}

// Dividing by an exact 0 is an error in the input, not a value to evaluate to inf.
TEST(Folding, DivisionByTheConstantZeroIsAnError) {
  Graph g;
  EXPECT_THROW(constant(g, 1) / constant(g, 0), std::invalid_argument);
  const Expr x = variable(g, "x", Shape::vector(2));
  EXPECT_THROW(x / constant(g, 0), std::invalid_argument);
  EXPECT_THROW(x / Expr(g, g.constant({1, 0}, Shape::vector(2))), std::invalid_argument);
}

}  // namespace
}  // namespace ddx
