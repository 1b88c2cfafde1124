// Faithful exp and log (engine/math/faithful.hpp) and the evaluator's
// Math::Faithful mode: the array forms give vexp.hpp's and vlog.hpp's value
// for every element (so their error is those kernels' ≤ 1 ulp, which
// test_vexp and test_vlog measure against a 100-digit truth), within one
// ulp of the correctly rounded value here too; an Evaluation in the mode runs
// them for the exp and log nodes and nothing else changes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "derivations/compare.hpp"
#include "engine/eval.hpp"
#include "engine/math/crmath.hpp"
#include "engine/math/faithful.hpp"
#include "engine/math/vexp.hpp"
#include "engine/math/vlog.hpp"
#include "ops/composites.hpp"
#include "ulps.hpp"

namespace ddx {
namespace {

// Within one ulp of each other (derivations/compare.hpp's distance; both
// NaN count as the same).
template <class T> bool within_one_ulp(T a, T b) { return same(a, b) || compare::ulp_distance(a, b) <= 1; }

// The special values and the limits where exp's and log's results
// overflow, become subnormal or vanish.
template <class T> std::vector<T> special_arguments() {
  constexpr T inf = std::numeric_limits<T>::infinity();
  return {T(0),
          -T(0),
          T(1),
          T(-1),
          inf,
          -inf,
          std::numeric_limits<T>::quiet_NaN(),
          std::numeric_limits<T>::min(),
          std::numeric_limits<T>::denorm_min(),
          std::numeric_limits<T>::max(),
          T(88.5), T(89), T(-87.5), T(-103), T(-104), T(709.5), T(-745), T(1e-30), T(-1e-30)};
}

// Arguments over exp's and log's ranges: the special values, then random ones.
template <class T> std::vector<T> arguments() {
  std::vector<T> xs = special_arguments<T>();
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> wide(-120.0, 120.0), narrow(-2.0, 2.0), scale(-60.0, 60.0);
  for (int i = 0; i < 3000; ++i) {
    xs.push_back(static_cast<T>(wide(rng)));
    xs.push_back(static_cast<T>(narrow(rng)));
    xs.push_back(static_cast<T>(std::ldexp(1.0 + std::abs(narrow(rng)), static_cast<int>(scale(rng)))));
  }
  return xs;
}

template <class T> void expect_arrays_give_the_kernels_values() {
  const std::vector<T> xs = arguments<T>();
  std::int64_t differ_exp = 0, differ_log = 0;
  // Every length up to 70 (the vector loop's remainders), then all of them.
  for (std::size_t n : {std::size_t{1}, std::size_t{3}, std::size_t{17}, std::size_t{70}, xs.size()}) {
    std::vector<T> e(n), l(n);
    faithful::exp(xs.data(), e.data(), static_cast<std::int64_t>(n));
    faithful::log(xs.data(), l.data(), static_cast<std::int64_t>(n));
    for (std::size_t i = 0; i < n; ++i) {
      const T x = xs[i];
      ASSERT_TRUE(same(e[i], vexp::exp(x))) << "exp(" << x << ") at n = " << n;
      ASSERT_TRUE(same(l[i], vexp::log(x))) << "log(" << x << ") at n = " << n;
      // Within one ulp of the correctly rounded value (NaN where it is NaN,
      // the same infinities).
      ASSERT_TRUE(within_one_ulp(e[i], cr::exp(x))) << "exp(" << x << ")";
      ASSERT_TRUE(within_one_ulp(l[i], cr::log(x))) << "log(" << x << ")";
      differ_exp += !same(e[i], cr::exp(x));
      differ_log += !same(l[i], cr::log(x));
    }
  }
  // In place.
  std::vector<T> in_place = xs;
  faithful::exp(in_place.data(), in_place.data(), static_cast<std::int64_t>(xs.size()));
  for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_TRUE(same(in_place[i], vexp::exp(xs[i]))) << xs[i];
  // They are not the correctly rounded functions under another name: some
  // arguments give the other neighbour. (Were there none, the mode's tests
  // below could not tell the two apart.)
  EXPECT_GT(differ_exp, 0);
  EXPECT_GT(differ_log, 0);
}

TEST(Faithful, ArraysGiveTheKernelsValuesWithinOneUlpOfCorrectlyRounded) {
  expect_arrays_give_the_kernels_values<float>();
  expect_arrays_give_the_kernels_values<double>();
}

// The array forms take one of three ways by length (one element at a time
// below 4, whole vectors where they lie, the last elements through a padded
// copy): every length from 0 to 140, each over a window of arguments that
// starts at a different special value, gives the kernels' values out of
// place and in place, and writes nothing past its n elements.
template <class T> void expect_every_length_gives_the_kernels_values() {
  const std::vector<T> pool = arguments<T>();  // the special values first
  const std::size_t specials = special_arguments<T>().size();
  constexpr T guard = T(-12345);
  for (std::size_t n = 0; n <= 140; ++n) {
    const auto first = pool.begin() + static_cast<std::ptrdiff_t>(n % specials);
    const std::vector<T> xs(first, first + static_cast<std::ptrdiff_t>(n));
    for (const bool is_exp : {true, false}) {
      const auto array = [is_exp](const T* x, T* out, std::int64_t m) {
        if (is_exp)
          faithful::exp(x, out, m);
        else
          faithful::log(x, out, m);
      };
      std::vector<T> out(n + 1, guard), in_place = xs;
      array(xs.data(), out.data(), static_cast<std::int64_t>(n));
      array(in_place.data(), in_place.data(), static_cast<std::int64_t>(n));
      const char* name = is_exp ? "exp" : "log";
      EXPECT_EQ(out.back(), guard) << name << " wrote past " << n << " elements";
      for (std::size_t i = 0; i < n; ++i) {
        const T one = is_exp ? vexp::exp(xs[i]) : vexp::log(xs[i]);
        EXPECT_TRUE(same(out[i], one) && same(in_place[i], one))
            << name << " over " << n << " elements, at " << i << " (" << xs[i] << "): " << out[i] << " (in place "
            << in_place[i] << "), the kernel " << one;
      }
    }
  }
}

TEST(Faithful, ArraysOfEveryLengthGiveTheKernelsValues) {
  expect_every_length_gives_the_kernels_values<float>();
  expect_every_length_gives_the_kernels_values<double>();
}

// Graph exp(x) + log(x) over a row of arguments: in each mode its exp and log
// nodes hold the values of that mode's functions.
template <class T> void expect_mode_picks_the_functions(Keep keep) {
  std::vector<T> xs;
  for (T x : arguments<T>())
    if (x > T(0) && x < T(80)) xs.push_back(x);  // finite exp and log: no non-finite stop
  const auto n = static_cast<std::int64_t>(xs.size());
  Graph g;
  const Expr x = variable(g, "x", Shape::matrix(1, n));
  const Expr e = exp(x), l = log(x);
  const NodeId roots[] = {e.id(), l.id()};
  Bindings<T> b;
  b["x"] = xs;
  const Evaluation<T> faithful_ev(g, roots, b, keep, Math::Faithful);
  const Evaluation<T> rounded_ev(g, roots, b, keep);
  ASSERT_FALSE(faithful_ev.nonfinite());
  std::vector<T> fe(xs.size()), fl(xs.size()), ce(xs.size()), cl(xs.size());
  faithful::exp(xs.data(), fe.data(), n);
  faithful::log(xs.data(), fl.data(), n);
  cr::exp(xs.data(), ce.data(), n);
  cr::log(xs.data(), cl.data(), n);
  EXPECT_EQ(faithful_ev.value(e.id()), fe);
  EXPECT_EQ(faithful_ev.value(l.id()), fl);
  EXPECT_EQ(rounded_ev.value(e.id()), ce);
  EXPECT_EQ(rounded_ev.value(l.id()), cl);
  EXPECT_NE(fe, ce);  // so the comparisons above tell the modes apart
}

TEST(Faithful, TheModeEvaluatesExpAndLogWithTheFaithfulFunctions) {
  for (Keep keep : {Keep::All, Keep::Roots}) {
    expect_mode_picks_the_functions<float>(keep);
    expect_mode_picks_the_functions<double>(keep);
  }
}

// The softmax–cross-entropy gradient, mean over the rows, both graphs, in
// blocks of rows and node by node.
struct SoftmaxCe {
  Graph g;
  Expr z, y, loss;
  NodeId grad_z = 0;
  SoftmaxCe(std::int64_t rows, std::int64_t classes, bool stable) {
    z = variable(g, "z", Shape::matrix(rows, classes));
    y = variable(g, "y", Shape::matrix(rows, classes));
    loss = stable ? stable_softmax_cross_entropy(z, y) : cross_entropy(softmax(z), y);
    grad_z = grad(loss, {z}).gradients[0];
  }
};

template <class T> Bindings<T> logits(std::int64_t rows, std::int64_t classes) {
  Bindings<T> b;
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < classes; ++c) {
      b["z"].push_back(static_cast<T>(4 * std::sin(1.3 * static_cast<double>(r * classes + c))));
      b["y"].push_back(c == r % classes ? T(1) : T(0));
    }
  return b;
}

template <class T> void expect_gradient_close_to_correctly_rounded(bool stable) {
  // 40 rows of 300: several blocks of rows in the lean mode.
  constexpr std::int64_t rows = 40, classes = 300;
  SoftmaxCe f(rows, classes, stable);
  const NodeId roots[] = {f.loss.id(), f.grad_z};
  const Bindings<T> b = logits<T>(rows, classes);
  const Evaluation<T> lean(f.g, roots, b, Keep::Roots, Math::Faithful);
  const Evaluation<T> all(f.g, roots, b, Keep::All, Math::Faithful);
  const Evaluation<T> rounded(f.g, roots, b, Keep::Roots);
  // Blocks of rows give node by node's values in this mode too.
  EXPECT_EQ(lean.value(f.grad_z), all.value(f.grad_z));
  EXPECT_EQ(lean.value(f.loss.id()), all.value(f.loss.id()));
  // Each exp and log is at most one ulp from the correctly rounded one: a
  // gradient element (p − y)/rows, |p| ≤ 1, moves by a few rounding errors of
  // p (p = e/Σe: e's and the sum's extra ulp, at most 2⁻ᵖ⁺¹ relative each),
  // so by less than 4·eps/rows; the tolerance 8·eps/rows doubles that.
  const T eps = std::numeric_limits<T>::epsilon();
  const std::vector<T>& g = lean.value(f.grad_z);
  const std::vector<T>& want = rounded.value(f.grad_z);
  for (std::size_t i = 0; i < g.size(); ++i)
    ASSERT_NEAR(g[i], want[i], 8 * eps / rows) << "element " << i << (stable ? " (stable)" : "");
  // The loss, the mean of −log p_y over rows with p_y ≥ e⁻⁸ here, is a few
  // units of eps relative, by the same count: 8·eps·loss.
  EXPECT_NEAR(lean.scalar(f.loss.id()), rounded.scalar(f.loss.id()), 8 * eps * rounded.scalar(f.loss.id()));
}

TEST(Faithful, SoftmaxCrossEntropyGradientIsCloseToTheCorrectlyRoundedOne) {
  for (bool stable : {false, true}) {
    expect_gradient_close_to_correctly_rounded<float>(stable);
    expect_gradient_close_to_correctly_rounded<double>(stable);
  }
}

TEST(Faithful, NonFiniteValuesAreReportedAsInTheDefaultMode) {
  SoftmaxCe f(3, 4, false);
  const NodeId roots[] = {f.loss.id(), f.grad_z};
  Bindings<float> b = logits<float>(3, 4);
  b["z"][6] = 200.0f;  // exp(200) overflows float
  for (Keep keep : {Keep::All, Keep::Roots}) {
    const Evaluation<float> faithful_ev(f.g, roots, b, keep, Math::Faithful);
    const Evaluation<float> rounded(f.g, roots, b, keep);
    ASSERT_TRUE(faithful_ev.nonfinite());
    ASSERT_TRUE(rounded.nonfinite());
    EXPECT_EQ(faithful_ev.nonfinite()->node, rounded.nonfinite()->node);
    EXPECT_EQ(faithful_ev.nonfinite()->element, rounded.nonfinite()->element);
    EXPECT_EQ(faithful_ev.nonfinite()->value, rounded.nonfinite()->value);
  }
}

TEST(Faithful, WiderTypesHaveOneWay) {
  SoftmaxCe f(2, 5, true);
  const NodeId roots[] = {f.grad_z};
  const Bindings<long double> b = logits<long double>(2, 5);
  const Evaluation<long double> faithful_ev(f.g, roots, b, Keep::Roots, Math::Faithful);
  const Evaluation<long double> rounded(f.g, roots, b, Keep::Roots);
  EXPECT_EQ(faithful_ev.value(f.grad_z), rounded.value(f.grad_z));
}

}  // namespace
}  // namespace ddx
