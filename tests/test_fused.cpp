// The fused ops of ops/fused.hpp: agreement with the composed forms at 100
// digits, gradients p − y (batched, soft targets), second derivatives, shape
// errors, the expression language, and the accuracy targets on logits
// [a, 0, 0] in float and double.
#include "ops/fused.hpp"

#include <gtest/gtest.h>

#include <boost/multiprecision/cpp_bin_float.hpp>
#include <cstdint>
#include <random>

#include "derivations/compare.hpp"
#include "engine/eval.hpp"
#include "engine/print.hpp"
#include "ops/composites.hpp"
#include "ops/functions.hpp"
#include "ulps.hpp"

namespace ddx {
namespace {

// Both sides at 100 digits (cpp_bin_float_100 rounds to ~1e-100 relative) go
// through at most a few dozen roundings each, so they agree to 1e-95 in
// relative_difference; a wrong formula differs by far more.
const Float100 kTolerance("1e-95");

void expect_close(const std::vector<Float100>& a, const std::vector<Float100>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_LE(relative_difference(a[k], b[k]), kTolerance)
        << what << " element " << k << ": " << format_scalar(a[k]) << " vs " << format_scalar(b[k]);
  }
}

// Seeded logits in [-3, 3] and a soft target distribution per row.
struct Point {
  std::vector<Rational> z, y;
};
Point random_point(const Shape& s, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> logit(-3000, 3000), weight(1, 100);
  Point p;
  for (std::int64_t r = 0; r < s.rows(); ++r) {
    std::vector<int> w;
    int total = 0;
    for (std::int64_t c = 0; c < s.cols(); ++c) {
      p.z.push_back(Rational(logit(rng), 1000));
      total += w.emplace_back(weight(rng));
    }
    for (int x : w) p.y.push_back(Rational(x, total));
  }
  return p;
}

Bindings<Float100> bindings(const Point& p) {
  return round_bindings<Float100>(ExactBindings{{"z", p.z}, {"y", p.y}});
}

struct Case {
  Shape shape;
  std::uint64_t seed;
};
const Case kCases[] = {{Shape::vector(3), 1}, {Shape::vector(7), 2}, {Shape::matrix(2, 3), 3},
                       {Shape::matrix(4, 5), 4}, {Shape::vector(1), 5}};

TEST(Fused, ForwardAgreesWithTheComposedFormsAt100Digits) {
  for (const Case& c : kCases) {
    Graph g;
    const Expr z = variable(g, "z", c.shape), y = variable(g, "y", c.shape);
    const std::vector<std::pair<Expr, Expr>> pairs{
        {softmax_cross_entropy(z, y), cross_entropy(softmax(z), y)},
        {log_softmax_fused(z), log(softmax(z))},
        {log_sum_exp(z), log(sum(exp(z), -1))},
        {softmax_fused(z), softmax(z)},
    };
    std::vector<NodeId> roots;
    for (const auto& [f, composed] : pairs) roots.insert(roots.end(), {f.id(), composed.id()});
    const Evaluation<Float100> ev(g, roots, bindings(random_point(c.shape, c.seed)));
    for (const auto& [f, composed] : pairs) {
      EXPECT_EQ(f.shape(), composed.shape()) << to_infix(g, f.id());
      expect_close(ev.value(f.id()), ev.value(composed.id()), to_infix(g, f.id()) + " at " + to_string(c.shape));
    }
  }
}

TEST(Fused, GradientIsPMinusYOverTheRowsAndMinusLogSoftmaxForTheTargets) {
  for (const Case& c : kCases) {
    Graph g;
    const Expr z = variable(g, "z", c.shape), y = variable(g, "y", c.shape);
    const Gradient d = grad(softmax_cross_entropy(z, y), {z, y});
    const Rational rows(c.shape.rows());
    const Expr expected_z = (softmax(z) - y) / rows;  // composed, rows of y sum to 1
    const Expr expected_y = -log(softmax(z)) / rows;
    const std::vector<NodeId> roots{d.gradients[0], d.gradients[1], expected_z.id(), expected_y.id()};
    const Evaluation<Float100> ev(g, roots, bindings(random_point(c.shape, c.seed)));
    expect_close(ev.value(d.gradients[0]), ev.value(expected_z.id()), "dL/dz at " + to_string(c.shape));
    expect_close(ev.value(d.gradients[1]), ev.value(expected_y.id()), "dL/dy at " + to_string(c.shape));
  }
}

TEST(Fused, EveryGradientAgreesWithTheComposedGraphIncludingSecondDerivatives) {
  for (const Case& c : kCases) {
    Graph g;
    const Expr z = variable(g, "z", c.shape), y = variable(g, "y", c.shape), v = variable(g, "v", c.shape);
    const std::vector<std::pair<Expr, Expr>> losses{
        {softmax_cross_entropy(z, y), cross_entropy(softmax(z), y)},
        {sum(log_softmax_fused(z) * v), sum(log(softmax(z)) * v)},
        {sum(log_sum_exp(z) * sum(v, -1)), sum(log(sum(exp(z), -1)) * sum(v, -1))},
        {sum(softmax_fused(z) * v), sum(softmax(z) * v)},
    };
    std::vector<std::pair<NodeId, NodeId>> compared;
    for (const auto& [f, composed] : losses) {
      const Gradient df = grad(f, {z, y}), dc = grad(composed, {z, y});
      for (std::size_t k = 0; k < 2; ++k) compared.emplace_back(df.gradients[k], dc.gradients[k]);
      // A Hessian-vector product: the gradient of ⟨∂f/∂z, v⟩.
      const Gradient hf = grad(sum(Expr(g, df.gradients[0]) * v), {z, y});
      const Gradient hc = grad(sum(Expr(g, dc.gradients[0]) * v), {z, y});
      for (std::size_t k = 0; k < 2; ++k) compared.emplace_back(hf.gradients[k], hc.gradients[k]);
    }
    std::vector<NodeId> roots;
    for (const auto& [a, b] : compared) roots.insert(roots.end(), {a, b});
    Bindings<Float100> b = bindings(random_point(c.shape, c.seed));
    b["v"] = round_bindings<Float100>(ExactBindings{{"v", random_point(c.shape, c.seed + 100).z}})["v"];
    const Evaluation<Float100> ev(g, roots, b);
    for (const auto& [a, bb] : compared)
      expect_close(ev.value(a), ev.value(bb), to_infix(g, a, 200) + " at " + to_string(c.shape));
  }
}

TEST(Fused, SoftTargetsThatDoNotSumToOneGetPTimesTheirMassMinusY) {
  Graph g;
  const Expr z = variable(g, "z", Shape::vector(3)), y = variable(g, "y", Shape::vector(3));
  const Gradient d = grad(softmax_cross_entropy(z, y), {z});
  const Expr expected = softmax(z) * sum(y, -1) - y;
  const std::vector<NodeId> roots{d.gradients[0], expected.id()};
  const ExactBindings point{{"z", {Rational(2), Rational(1), Rational(1, 10)}},
                            {"y", {Rational(1, 2), Rational(1, 4), Rational(3, 4)}}};
  const Evaluation<Float100> ev(g, roots, round_bindings<Float100>(point));
  expect_close(ev.value(d.gradients[0]), ev.value(expected.id()), "unnormalised targets");
}

TEST(Fused, ShapesOfTheResults) {
  Graph g;
  const Expr v = variable(g, "v", Shape::vector(4)), m = variable(g, "m", Shape::matrix(2, 4));
  EXPECT_EQ(log_sum_exp(v).shape(), Shape::vector(1));
  EXPECT_EQ(log_sum_exp(m).shape(), Shape::matrix(2, 1));
  EXPECT_EQ(log_softmax_fused(m).shape(), m.shape());
  EXPECT_EQ(softmax_cross_entropy(m, m).shape(), Shape::scalar());
  EXPECT_EQ(softmax_cross_entropy_grad(m, m).shape(), m.shape());
}

TEST(Fused, ShapeErrorsNameTheOpAndTheShapes) {
  Graph g;
  const Expr z = variable(g, "z", Shape::vector(3)), y4 = variable(g, "y", Shape::vector(4));
  const Expr batch = variable(g, "b", Shape::matrix(2, 3)), s = variable(g, "s", Shape::scalar());
  auto message = [](auto f) {
    try {
      f();
    } catch (const ShapeError& e) {
      return std::string(e.what());
    }
    return std::string("no ShapeError");
  };
  const std::string mismatch = message([&] { softmax_cross_entropy(z, y4); });
  EXPECT_NE(mismatch.find("softmax_cross_entropy"), std::string::npos) << mismatch;
  EXPECT_NE(mismatch.find("[4]"), std::string::npos) << mismatch;
  EXPECT_NE(mismatch.find("[3]"), std::string::npos) << mismatch;
  EXPECT_NE(message([&] { softmax_cross_entropy(batch, z); }).find("[2, 3]"), std::string::npos);
  for (auto f : {+[](Expr x) { return log_sum_exp(x); }, +[](Expr x) { return log_softmax_fused(x); },
                 +[](Expr x) { return softmax_fused(x); }}) {
    const std::string m = message([&] { f(s); });
    EXPECT_NE(m.find("vector [n] or a batch [B, n]"), std::string::npos) << m;
  }
}

TEST(Fused, CallableByNameAndPrintedFormsParseBack) {
  Graph g;
  const ParseContext context =
      builtin_parse_context({{"z", Shape::matrix(2, 3)}, {"y", Shape::matrix(2, 3)}});
  for (const char* text : {"softmax_cross_entropy(z, y)", "log_softmax_fused(z)", "log_sum_exp(z)",
                           "sum(log_sum_exp(z / 2))", "grad(softmax_cross_entropy(z, y), z)",
                           "grad(softmax_cross_entropy(z, y), y)", "grad(sum(log_softmax_fused(z) * y), z)",
                           "grad(sum(grad(softmax_cross_entropy(z, y), z) * y), z)"}) {
    const Expr e = parse_program(g, text, context).result;
    const std::string printed = to_infix(g, e.id());
    const Expr again = parse_program(g, printed, context).result;
    EXPECT_EQ(again.id(), e.id()) << text << " printed as " << printed;
  }
  const Expr e = parse_program(g, "softmax_cross_entropy(z, y)", context).result;
  EXPECT_EQ(to_infix(g, e.id()), "softmax_cross_entropy(z, y)");
}

// ---- accuracy in ulps --------------------------------------------------------------

using Big = boost::multiprecision::number<boost::multiprecision::cpp_bin_float<1000>>;

template <class T> Float100 ulps(T value, const Big& truth) {
  return compare::ulp_distance(value, correctly_rounded<T>(truth));
}

// The loss and gradient of logits [a, 0, 0] with target class 0 from the
// definitions, −log p₀ and p − y with p = exp(z) / Σ exp(z), at 1000 digits:
// enough that the cancellation in −log p₀ (p₀ = 1 − 2e⁻ᵃ, a ≤ 700) leaves
// more than 600 digits.
std::vector<Big> definition_at(long a) {
  const Big z[3] = {Big(a), Big(0), Big(0)};
  Big total = 0;
  for (const Big& x : z) total += exp(x);
  std::vector<Big> out{-log(exp(z[0]) / total)};
  for (int k = 0; k < 3; ++k) out.push_back(exp(z[k]) / total - (k == 0 ? 1 : 0));
  return out;
}

template <class T> void check_margins() {
  Graph g;
  const Expr z = variable(g, "z", Shape::vector(3)), y = variable(g, "y", Shape::vector(3));
  const Expr loss = softmax_cross_entropy(z, y);
  const Gradient d = grad(loss, {z});
  for (long a : {1, 10, 20, 30, 40, 50, 100, 700}) {
    const Bindings<T> b{{"z", {T(a), T(0), T(0)}}, {"y", {T(1), T(0), T(0)}}};
    const std::vector<NodeId> roots{loss.id(), d.gradients[0]};
    const Evaluation<T> ev(g, roots, b);
    std::vector<T> got{ev.scalar(loss.id())};
    for (const T& x : ev.value(d.gradients[0])) got.push_back(x);
    const std::vector<Big> truth = definition_at(a);
    const char* names[] = {"loss", "dL/dz1", "dL/dz2", "dL/dz3"};
    for (std::size_t k = 0; k < truth.size(); ++k)
      EXPECT_LE(ulps(got[k], truth[k]), compare::kDdxFusedUlps) << describe(precision_of<T>()) << ", a = " << a << ", " << names[k]
                                           << ": " << format_scalar(got[k]) << ", correctly rounded "
                                           << format_scalar(correctly_rounded<T>(truth[k]));
  }
}

TEST(FusedAccuracy, WithinTwoUlpsOnLogitsA00InFloat) { check_margins<float>(); }
TEST(FusedAccuracy, WithinTwoUlpsOnLogitsA00InDouble) { check_margins<double>(); }

}  // namespace
}  // namespace ddx
