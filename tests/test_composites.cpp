// Softmax, cross-entropy and friends built from primitives (ops/composites.hpp):
// their values, the seeds' worked example, and the gradient of
// cross_entropy(softmax(z), y), which reverse mode must find to be p − y.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/eval.hpp"
#include "ops/composites.hpp"

namespace ddx {
namespace {

using Values = std::vector<Rational>;

const Float50 kEps50 = std::numeric_limits<Float50>::epsilon();

template <class T> std::vector<T> values_at(Expr e, const ExactBindings& at) {
  const NodeId id = e.id();
  const Evaluation<T> ev(e.graph(), std::span(&id, 1), round_bindings<T>(at));
  EXPECT_FALSE(ev.nonfinite().has_value());
  return ev.value(id);
}

// Seeded random logits and targets. Doubles come from the generator's raw bits.
class Draw {
 public:
  explicit Draw(std::uint64_t seed) : rng_(seed) {}

  double unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }  // in [0, 1)
  Values logits(std::int64_t n, double scale) {
    Values z;
    for (std::int64_t k = 0; k < n; ++k) z.push_back(to_rational(scale * (2 * unit() - 1)));
    return z;
  }
  long index(std::int64_t n) { return static_cast<long>(rng_() % static_cast<std::uint64_t>(n)); }
  // Integer weights over their total: a distribution that sums to 1 exactly.
  Values soft_targets(std::int64_t n) {
    std::vector<Integer> weights;
    Integer total = 0;
    for (std::int64_t k = 0; k < n; ++k) total += weights.emplace_back(static_cast<long>(rng_() % 1001));
    if (total == 0) weights[0] = total = 1;
    Values y;
    for (const Integer& w : weights) y.emplace_back(w, total);
    return y;
  }

 private:
  std::mt19937_64 rng_;
};

Values one_hot(std::int64_t n, long k) {
  Values y(static_cast<std::size_t>(n), Rational(0));
  y.at(static_cast<std::size_t>(k)) = 1;
  return y;
}

Rational total_of(const Values& v) {
  Rational s = 0;
  for (const Rational& r : v) s += r;
  return s;
}

// softmax(z/T) at 100 digits, independently of the graph and stably:
// exp(zᵢ/T − max) / Σⱼ exp(zⱼ/T − max).
std::vector<Float100> softmax100(const Values& z, const Rational& T = 1) {
  std::vector<Float100> scaled;
  for (const Rational& r : z) scaled.push_back(to_scalar<Float100>(Rational(r / T)));
  const Float100 top = *std::max_element(scaled.begin(), scaled.end());
  Float100 total = 0;
  for (Float100& s : scaled) total += (s = exp(s - top));
  for (Float100& s : scaled) s /= total;
  return scaled;
}

// The decimal the seeds print for a value: rounded to `decimals` places.
std::string printed(double x, int decimals) { return fmt::format("{:.{}f}", x, decimals); }

// ---- softmax --------------------------------------------------------------------------

TEST(Softmax, MatchesTheIndependentFormulaAndSumsToOne) {
  Draw draw(11);
  for (std::int64_t n : {1, 2, 3, 10, 1000}) {
    Graph g;
    const Expr z = variable(g, "z", Shape::vector(n));
    const Values logits = draw.logits(n, 10);
    const auto p = values_at<Float50>(softmax(z), {{"z", logits}});
    const auto want = softmax100(logits);
    Float50 total = 0;
    for (std::size_t k = 0; k < p.size(); ++k) {
      // pᵢ = eᵢ / Σ e: the sum of n positive terms is off by ≤ (n − 1)ε
      // relative, exp by a few ulps, the division by ε/2: (n + 4)ε relative.
      EXPECT_LE(abs(p[k] - Float50(want[k])), (n + 4) * kEps50 * Float50(want[k])) << "n = " << n << ", k = " << k;
      total += p[k];
    }
    // n values each within (n + 4)ε relative of numbers summing to 1, plus n − 1
    // roundings in the test's own sum: 2(n + 4)ε.
    EXPECT_LE(abs(total - 1), 2 * (n + 4) * kEps50) << "n = " << n;
  }
}

TEST(Softmax, RowsOfABatchAreIndependentDistributions) {
  Graph g;
  const Expr z = variable(g, "z", Shape::matrix(2, 3));
  const Values rows{2, 1, Rational(1, 10), -5, 0, 5};
  const auto p = values_at<Float50>(softmax(z), {{"z", rows}});
  ASSERT_EQ(p.size(), 6u);
  const auto first = softmax100({2, 1, Rational(1, 10)}), second = softmax100({-5, 0, 5});
  for (std::size_t k = 0; k < 3; ++k) {
    // As above with n = 3: 7ε relative.
    EXPECT_LE(abs(p[k] - Float50(first[k])), 7 * kEps50 * Float50(first[k]));
    EXPECT_LE(abs(p[3 + k] - Float50(second[k])), 7 * kEps50 * Float50(second[k]));
  }
}

TEST(Softmax, TemperatureDividesTheLogits) {
  Graph g;
  const Expr z = variable(g, "z", Shape::vector(3));
  const Values logits{2, 1, 0};
  for (const Rational& T : {Rational(1, 2), Rational(2), Rational(3, 10)}) {
    const auto p = values_at<Float50>(softmax(z, constant(g, T)), {{"z", logits}});
    const auto want = softmax100(logits, T);
    // z/T is rounded once (relative ε/2, i.e. ε|z/T|/2 ≤ 4ε absolute in the
    // exponent, hence ≤ 4ε relative in each exp) on top of the 7ε of n = 3: 16ε.
    for (std::size_t k = 0; k < 3; ++k)
      EXPECT_LE(abs(p[k] - Float50(want[k])), 16 * kEps50 * Float50(want[k])) << "T = " << to_string(T);
  }
}

// ---- the seeds' worked example -----------------------------------------------------------

// Logits 2, 1, 0.1 (cat, dog, bird): the seeds print softmax ≈ 0.659, 0.242,
// 0.099 (to 3 decimals) and 0.66, 0.24, 0.10 (to 2), and for the true class 2
// the gradient ≈ 0.66, 0.24, −0.90 (to 2). The engine's values, at double,
// rounded to the same number of decimals, must print the same.
class SeedExample : public ::testing::Test {
 protected:
  Graph g;
  Expr z = variable(g, "z", Shape::vector(3));
  Expr y = variable(g, "y", Shape::vector(3));
  Expr p = softmax(z);
  Expr loss = cross_entropy(p, y);
  ExactBindings at(long target) const { return {{"z", {2, 1, Rational(1, 10)}}, {"y", one_hot(3, target)}}; }
};

TEST_F(SeedExample, SoftmaxToThreeAndTwoDecimals) {
  const auto probabilities = values_at<double>(p, at(2));
  EXPECT_EQ(printed(probabilities[0], 3), "0.659");
  EXPECT_EQ(printed(probabilities[1], 3), "0.242");
  EXPECT_EQ(printed(probabilities[2], 3), "0.099");
  EXPECT_EQ(printed(probabilities[0], 2), "0.66");
  EXPECT_EQ(printed(probabilities[1], 2), "0.24");
  EXPECT_EQ(printed(probabilities[2], 2), "0.10");
}

TEST_F(SeedExample, GradientForTargetClassTwo) {
  const Gradient gradient = grad(loss, {z});
  const auto dz = values_at<double>(Expr{g, gradient.gradients[0]}, at(2));
  EXPECT_EQ(printed(dz[0], 2), "0.66");
  EXPECT_EQ(printed(dz[1], 2), "0.24");
  EXPECT_EQ(printed(dz[2], 2), "-0.90");
}

TEST_F(SeedExample, LossForTheCatIsAboutPoint42) {
  // The seeds print the pipeline [2, 1, 0.1] → [0.659, 0.242, 0.099] → 0.42, the
  // loss −log 0.659 of the true class 0.
  EXPECT_EQ(printed(values_at<double>(loss, at(0)).front(), 2), "0.42");
}

// The seeds' second example: logits 1, 3, 0.5 give 0.111, 0.821, 0.067; the loss
// is 0.197 when the true class is 1 (dog) and 2.70 when it is 2 (bird).
TEST(SeedExample2, CatDogBird) {
  Graph g;
  const Expr z = variable(g, "z", Shape::vector(3)), y = variable(g, "y", Shape::vector(3));
  const Expr p = softmax(z), loss = cross_entropy(p, y);
  const Values logits{1, 3, Rational(1, 2)};
  const auto probabilities = values_at<double>(p, {{"z", logits}});
  EXPECT_EQ(printed(probabilities[0], 3), "0.111");
  EXPECT_EQ(printed(probabilities[1], 3), "0.821");
  EXPECT_EQ(printed(probabilities[2], 3), "0.067");
  EXPECT_EQ(printed(values_at<double>(loss, {{"z", logits}, {"y", one_hot(3, 1)}}).front(), 3), "0.197");
  EXPECT_EQ(printed(values_at<double>(loss, {{"z", logits}, {"y", one_hot(3, 2)}}).front(), 2), "2.70");
}

// ---- the gradient of cross-entropy through softmax is p − y ------------------------------

// Tolerance for |∂L/∂z − (p − y)/(B·T)| at 50 digits, per component:
//   2(n + 10 + 2·max|z/T|)·ε / (B·T).
// Reverse mode gives ∂L/∂zᵢ = −yᵢ·eᵢ/(pᵢ·s) + eᵢ·Σⱼ yⱼ/s (s = Σ e). The first
// term is yᵢ·(1 + a few ε); the second sums n same-signed terms ((n − 1)ε
// relative) plus a few more roundings, on a value pᵢ·Σy = pᵢ. So the error is
// ≤ (n + 10)·ε·(yᵢ + pᵢ) ≤ 2(n + 10)ε. Dividing z by T rounds the exponent by
// ε·|z/T|/2, which exp turns into a relative error of that size in every eᵢ
// (hence the |z/T| term, absent when T = 1 folds away). The mean over B rows
// and the 1/T chain factor scale everything by 1/(B·T). The reference p is
// computed at 100 digits, so its own error is negligible.
double gradient_tolerance_in_eps(std::int64_t n, std::int64_t rows, const Rational& T, const Values& logits) {
  double largest = 0;
  for (const Rational& z : logits) largest = std::max(largest, std::abs(to_scalar<double>(Rational(z / T))));
  const double extra = T == 1 ? 0 : 2 * largest;
  return 2 * (static_cast<double>(n) + 10 + extra) / (static_cast<double>(rows) * to_scalar<double>(T));
}

// Builds L = cross_entropy(softmax(z, T), y) for `rows` rows of n (a vector
// when rows = 0) and checks ∂L/∂z against (p − y)/(B·T) computed at 100 digits.
void expect_gradient_is_p_minus_y(std::int64_t rows, std::int64_t n, const Values& logits, const Values& targets,
                                  const Rational& T = 1) {
  ASSERT_EQ(total_of(targets), rows == 0 ? 1 : rows) << "every row of targets must sum to exactly 1";
  Graph g;
  const Shape shape = rows == 0 ? Shape::vector(n) : Shape::matrix(rows, n);
  const Expr z = variable(g, "z", shape), y = variable(g, "y", shape);
  const Expr p = T == 1 ? softmax(z) : softmax(z, constant(g, T));
  const Gradient gradient = grad(cross_entropy(p, y), {z});
  const auto dz = values_at<Float50>(Expr{g, gradient.gradients[0]}, {{"z", logits}, {"y", targets}});
  const std::int64_t batch = rows == 0 ? 1 : rows;
  const Float50 tolerance = gradient_tolerance_in_eps(n, batch, T, logits) * kEps50;
  for (std::int64_t r = 0; r < batch; ++r) {
    const auto begin = logits.begin() + r * n;
    const auto p_row = softmax100(Values(begin, begin + n), T);
    for (std::int64_t k = 0; k < n; ++k) {
      const auto i = static_cast<std::size_t>(r * n + k);
      const Float100 want = (p_row[static_cast<std::size_t>(k)] - to_scalar<Float100>(targets[i])) /
                            to_scalar<Float100>(Rational(T * batch));
      EXPECT_LE(abs(dz[i] - Float50(want)), tolerance)
          << "n = " << n << ", row " << r << ", component " << k << ": " << dz[i].str(50) << " vs "
          << want.str(50);
    }
  }
}

class CrossEntropyGradient : public ::testing::TestWithParam<std::int64_t> {};

TEST_P(CrossEntropyGradient, IsPMinusYForOneHotTargets) {
  const std::int64_t n = GetParam();
  Draw draw(100 + static_cast<std::uint64_t>(n));
  for (int point = 0; point < 3; ++point) {
    const Values z = draw.logits(n, 8);
    expect_gradient_is_p_minus_y(0, n, z, one_hot(n, draw.index(n)));
  }
}

TEST_P(CrossEntropyGradient, IsPMinusYForSoftTargets) {
  const std::int64_t n = GetParam();
  Draw draw(200 + static_cast<std::uint64_t>(n));
  for (int point = 0; point < 3; ++point) {
    const Values z = draw.logits(n, 8);
    expect_gradient_is_p_minus_y(0, n, z, draw.soft_targets(n));
  }
}

TEST_P(CrossEntropyGradient, IsPMinusYOverBForABatchMean) {
  const std::int64_t n = GetParam();
  constexpr std::int64_t kRows = 3;  // 1/3 is not a binary fraction: the mean's division rounds
  Draw draw(300 + static_cast<std::uint64_t>(n));
  Values z, y;
  for (std::int64_t r = 0; r < kRows; ++r) {
    const Values row = draw.logits(n, 8);
    z.insert(z.end(), row.begin(), row.end());
    const Values target = r % 2 == 0 ? one_hot(n, draw.index(n)) : draw.soft_targets(n);
    y.insert(y.end(), target.begin(), target.end());
  }
  expect_gradient_is_p_minus_y(kRows, n, z, y);
}

TEST_P(CrossEntropyGradient, IsPMinusYOverTWithATemperature) {
  const std::int64_t n = GetParam();
  Draw draw(400 + static_cast<std::uint64_t>(n));
  for (const Rational& T : {Rational(1, 2), Rational(5, 2), Rational(3, 10)}) {
    const Values z = draw.logits(n, 8);
    expect_gradient_is_p_minus_y(0, n, z, draw.soft_targets(n), T);
  }
}

INSTANTIATE_TEST_SUITE_P(Classes, CrossEntropyGradient, ::testing::Values(1, 2, 3, 10, 1000),
                         [](const auto& info) { return "n" + std::to_string(info.param); });

TEST(CrossEntropy, IsMinusLogOfTheTrueClassAndTheMeanOverRows) {
  Graph g;
  const Expr p = variable(g, "p", Shape::matrix(2, 3)), y = variable(g, "y", Shape::matrix(2, 3));
  const Expr loss = cross_entropy(p, y);
  EXPECT_TRUE(loss.shape().is_scalar());
  // Row 0: −log(1/2) = ln 2. Row 1: −(½·log ¼ + ½·log ½) = 3/2·ln 2. Mean: 5/4·ln 2.
  const Values probabilities{Rational(1, 2), Rational(1, 4), Rational(1, 4), Rational(1, 4), Rational(1, 2),
                             Rational(1, 4)};
  const Values targets{1, 0, 0, Rational(1, 2), Rational(1, 2), 0};
  const Float50 got = values_at<Float50>(loss, {{"p", probabilities}, {"y", targets}}).front();
  const Float50 want = 5 * log(Float50(2)) / 4;
  // Six logs (a few ulps each), six products and a sum of values ≤ 1.4: 16ε.
  EXPECT_LE(abs(got - want), 16 * kEps50) << got.str(50);
}

TEST(LogSoftmax, IsZMinusLogSumExp) {
  Graph g;
  const Expr z = variable(g, "z", Shape::vector(4));
  const Values logits{3, -1, Rational(1, 4), 0};
  const auto got = values_at<Float50>(log_softmax(z), {{"z", logits}});
  Float100 total = 0;
  for (const Rational& r : logits) total += exp(to_scalar<Float100>(r));
  for (std::size_t k = 0; k < 4; ++k) {
    const Float100 want = to_scalar<Float100>(logits[k]) - log(total);
    // log of p (≤ 7ε relative as above) adds ≤ 7ε absolute, plus log's own few ulps of |log p| ≤ 4.1: 32ε.
    EXPECT_LE(abs(got[k] - Float50(want)), 32 * kEps50) << k;
  }
}

TEST(Sigmoid, MatchesTheLogisticFunction) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(5));
  const Values points{0, 1, -1, 10, Rational(-7, 2)};
  const auto got = values_at<Float50>(sigmoid(x), {{"x", points}});
  EXPECT_EQ(got[0], Float50(1) / 2);  // 1/(1 + e⁰) = 1/2 exactly
  for (std::size_t k = 1; k < points.size(); ++k) {
    const Float100 t = exp(to_scalar<Float100>(points[k]));
    const Float100 want = t / (1 + t);  // eˣ/(1 + eˣ), a different arrangement of the same function
    // exp, add and div, each within a couple of ulps, on values ≤ 1: 8ε.
    EXPECT_LE(abs(got[k] - Float50(want)), 8 * kEps50) << to_string(points[k]);
  }
}

TEST(Mean, IsTheSumOverTheCount) {
  Graph g;
  const Expr m = variable(g, "m", Shape::matrix(2, 3));
  const auto got = values_at<double>(mean(m), {{"m", {1, 2, 3, 4, 5, 9}}});
  EXPECT_EQ(got.front(), 4.0);  // 24/6, every step exact
  const Gradient gradient = grad(mean(m), {m});
  const auto dm = values_at<Float100>(Expr{g, gradient.gradients[0]}, {{"m", {1, 2, 3, 4, 5, 9}}});
  for (const Float100& v : dm) EXPECT_EQ(v, Float100(1) / 6);  // 1/6 rounded once
}

}  // namespace
}  // namespace ddx
