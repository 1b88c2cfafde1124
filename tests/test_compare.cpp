// ddx compare (derivations/compare.hpp): the error measures on cases checkable
// by hand, the 100-digit reference against the composed graph at 100 digits,
// and the comparison's findings on the margin grid, each derived from the
// math of the variant rather than typed in.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "derivations/compare.hpp"
#include "derivations/inputs.hpp"
#include "engine/eval.hpp"
#include "ops/composites.hpp"

namespace ddx::compare {
namespace {

const char* const kGrid = "1,10,20,30,40,50,100,700,800";

Result default_run(int classes = 3) {
  return run(parse_options(classes, kGrid, "float,double,long-double", /*timing=*/false));
}

const Row& row_of(const Result& r, Precision p, std::string_view margin, Variant v, Quantity q) {
  for (const Row& row : r.rows)
    if (row.precision == p && r.options.margins[row.margin_index].text == margin && row.variant == v && row.quantity == q)
      return row;
  throw std::logic_error("no such row");
}

// ---- ulps, bits, status ---------------------------------------------------------

TEST(CompareUlps, HandCheckableCases) {
  EXPECT_EQ(ulp_distance(1.0f, 1.0f), 0);
  EXPECT_EQ(ulp_distance(1.0f, std::nextafter(1.0f, 2.0f)), 1);
  EXPECT_EQ(ulp_distance(std::nextafter(1.0f, 0.0f), std::nextafter(1.0f, 2.0f)), 2);
  EXPECT_EQ(ulp_distance(0.0, -0.0), 0);
  EXPECT_EQ(ulp_distance(0.0, std::numeric_limits<double>::denorm_min()), 1);
  EXPECT_EQ(ulp_distance(-std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::denorm_min()), 2);
  // The largest subnormal and the smallest normal are neighbours.
  const double min_normal = std::numeric_limits<double>::min();
  EXPECT_EQ(ulp_distance(std::nextafter(min_normal, 0.0), min_normal), 1);
  // [1, 2) holds 2^52 doubles, 2^23 floats, 2^63 x87 long doubles.
  EXPECT_EQ(ulp_distance(1.0, 2.0), ldexp(Float100(1), 52));
  EXPECT_EQ(ulp_distance(1.0f, 2.0f), ldexp(Float100(1), 23));
  EXPECT_EQ(ulp_distance(1.0L, 2.0L), ldexp(Float100(1), std::numeric_limits<long double>::digits - 1));
  EXPECT_EQ(ulp_distance(1.0L, std::nextafter(1.0L, 2.0L)), 1);
  // Across zero: from −x to x is twice x's ordinal.
  EXPECT_EQ(ulp_distance(-1.0f, 1.0f), 2 * ulp_distance(0.0f, 1.0f));
  // For doubles the ordinal of a positive value is its bit pattern.
  EXPECT_EQ(ulp_distance(0.0, 1.0), Float100(0x3ff0000000000000ULL));
  EXPECT_EQ(ulp_distance(0.0f, 3.0f), Float100(0x40400000U));
}

TEST(CompareUlps, Bits) {
  EXPECT_EQ(error_bits(0), 0);
  EXPECT_EQ(error_bits(1), 1);
  EXPECT_EQ(error_bits(3), 2);
  EXPECT_EQ(error_bits(ldexp(Float100(1), 52) - 1), 52);
}

TEST(CompareUlps, Status) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(classify(1e-30, 1e-30), Status::Ok);
  EXPECT_EQ(classify(2.0, 1.0), Status::Ok);  // wrong but not one of the named failures
  EXPECT_EQ(classify(0.0, 1e-30), Status::WrongZero);
  EXPECT_EQ(classify(-0.0, 1e-30), Status::WrongZero);
  EXPECT_EQ(classify(0.0, 0.0), Status::Ok);   // the truth rounds to 0 too
  EXPECT_EQ(classify(-0.0, 0.0), Status::Ok);
  EXPECT_EQ(classify(inf, 1.0), Status::Inf);
  EXPECT_EQ(classify(-inf, 1.0), Status::Inf);
  EXPECT_EQ(classify(std::nan(""), 1.0), Status::Nan);
  EXPECT_EQ(classify(0.0f, 1e-30f), Status::WrongZero);
}

// ---- the reference ----------------------------------------------------------------

// The reference comes from the accurate formulas; the composed graph at 100
// digits computes the same quantities another way. It subtracts p₀ from 1,
// losing about log10(1/loss) digits (≤ 22 for a ≤ 50), plus a few dozen
// roundings of 1e-100: 1e-70 relative leaves room on both sides, while a
// mistake in either is off by a quantity of order the value.
TEST(CompareReference, AgreesWithTheComposedGraphAt100Digits) {
  const Float100 tolerance("1e-70");
  for (int n : {2, 3, 10}) {
    Graph g;
    const Expr z = variable(g, "z", Shape::vector(n));
    const Expr y = variable(g, "y", Shape::vector(n));
    const Expr loss = cross_entropy(softmax(z), y);
    const NodeId gradient = grad(loss, {z}).gradients.front();
    const std::vector<NodeId> roots{loss.id(), gradient};
    for (int a : {-5, 0, 1, 10, 20, 30, 40, 50}) {
      std::vector<Rational> logits(static_cast<std::size_t>(n), Rational(0)), onehot(logits.size(), Rational(0));
      logits[0] = a;
      onehot[0] = 1;
      const Evaluation<Float100> ev(g, roots, round_bindings<Float100>(ExactBindings{{"z", logits}, {"y", onehot}}));
      const std::array<Float100, 3> composed{ev.scalar(loss.id()), ev.value(gradient)[0], ev.value(gradient)[1]};
      const std::array<Float100, 3> ref = reference(Rational(a), n);
      for (int q = 0; q < 3; ++q)
        EXPECT_LE(abs(Float100(composed[q] - ref[q])), tolerance * abs(ref[q])) << "n " << n << " a " << a << " q " << q;
    }
  }
}

// ---- findings on the grid ----------------------------------------------------------

// ddx's fused op stays within kDdxFusedUlps of the correctly rounded truth for
// every quantity, margin and precision up to the underflow limit, and never
// returns a wrong zero. Beyond it each of the n − 1 subnormal exps rounds by
// up to half the smallest subnormal, which is the loss's own ulp there, and
// the final operations add one more ulp: n/2 + 1 ulps bound the error.
// With many classes every term of the sum of exps is the same exp(−a), the
// case where the roundings of a sum in working precision pile up (18 ulps at
// 100 classes, 131 at 1000 before the sum was compensated).
TEST(CompareGrid, DdxFusedWithinTwoUlpsUpToUnderflow) {
  for (int classes : {3, 10, 100, 1000}) {
    const Result r = default_run(classes);
    EXPECT_TRUE(r.passed());
    for (const Row& row : r.rows) {
      if (row.variant != Variant::DdxFused) continue;
      EXPECT_EQ(row.status, Status::Ok) << name_of(row.precision) << " " << r.options.margins[row.margin_index].text;
      ASSERT_TRUE(row.ulps.has_value());
      const double bound = row.beyond_underflow ? classes / 2.0 + 1 : kDdxFusedUlps;
      EXPECT_LE(*row.ulps, bound) << name_of(row.precision) << " a=" << r.options.margins[row.margin_index].text << " "
                                  << name_of(row.quantity) << " value " << row.value << " truth " << row.truth;
    }
  }
}

// The underflow limit is where exp(−a) drops below the smallest normal:
// a > −log(min), about 87.3 for float and 708.4 for double.
TEST(CompareGrid, UnderflowLimit) {
  const Result r = default_run();
  for (const Row& row : r.rows) {
    const double a = to_scalar<double>(r.options.margins[row.margin_index].value);
    const double limit = row.precision == Precision::Float    ? -std::log(double(std::numeric_limits<float>::min()))
                         : row.precision == Precision::Double ? -std::log(std::numeric_limits<double>::min())
                                                              : -static_cast<double>(std::log(std::numeric_limits<long double>::min()));
    EXPECT_EQ(row.beyond_underflow, a > limit) << name_of(row.precision) << " a=" << a;
  }
}

// The truth column is the reference rounded once to the precision.
TEST(CompareGrid, TruthIsTheReferenceRounded) {
  const Result r = default_run();
  for (const Row& row : r.rows) {
    const std::array<Float100, 3> ref = reference(r.options.margins[row.margin_index].value, r.options.classes);
    const Float100 exact = ref[static_cast<int>(row.quantity)];
    const std::string expected = row.precision == Precision::Float    ? format_scalar(to_scalar<float>(to_rational(exact)))
                                 : row.precision == Precision::Double ? format_scalar(to_scalar<double>(to_rational(exact)))
                                                                      : format_scalar(to_scalar<long double>(to_rational(exact)));
    EXPECT_EQ(row.truth, expected);
  }
}

// The framework form computes Σ = 1 + s with s = (n−1)·e^(−a) (the exps of
// −a are accurate to an ulp). Its gradient's target component 1/Σ − 1 is
// exactly 0 once 1 + s rounds to 1, i.e. s < ε/2; its loss fl(a + log Σ) − a
// is 0 once log Σ ≈ s falls below half an ulp of a (for a ≥ 1 that happens
// no later). Margins whose s lies within a factor 2 of either boundary
// depend on the exp's last bit and are not judged.
template <class T> void expect_framework_zeros(const Result& r, Precision p, std::set<std::string>* zero_loss_margins) {
  const double eps = std::numeric_limits<T>::epsilon();
  for (std::size_t m = 0; m < r.options.margins.size(); ++m) {
    const Rational& a = r.options.margins[m].value;
    const double s = static_cast<double>(Float100((r.options.classes - 1) * exp(Float100(-to_scalar<Float100>(a)))));
    const T a_t = to_scalar<T>(a);
    const double half_ulp_a = static_cast<double>(std::nextafter(a_t, std::numeric_limits<T>::infinity()) - a_t) / 2;
    const std::string& text = r.options.margins[m].text;
    const Row& loss = row_of(r, p, text, Variant::FrameworkFused, Quantity::Loss);
    const Row& target = row_of(r, p, text, Variant::FrameworkFused, Quantity::GradTarget);
    if (loss.truth == "0") continue;  // the truth itself underflows: a zero is right
    // Below 1 an ulp of a is finer than ε: then Σ rounding to 1 decides.
    const double zero_below = std::max(half_ulp_a, eps / 2);
    if (s < zero_below / 2) {
      EXPECT_EQ(loss.status, Status::WrongZero) << name_of(p) << " a=" << text;
      zero_loss_margins->insert(text);
    } else if (s > 2 * zero_below) {
      EXPECT_NE(loss.status, Status::WrongZero) << name_of(p) << " a=" << text;
    }
    if (target.truth == "0") continue;
    if (s < eps / 4) {
      EXPECT_EQ(target.status, Status::WrongZero) << name_of(p) << " a=" << text;
    } else if (s > eps) {
      EXPECT_NE(target.status, Status::WrongZero) << name_of(p) << " a=" << text;
    }
  }
}

TEST(CompareGrid, FrameworkFusedWrongZerosFollowFromRounding) {
  const Result r = default_run();
  std::set<std::string> double_zeros, float_zeros;
  expect_framework_zeros<double>(r, Precision::Double, &double_zeros);
  expect_framework_zeros<float>(r, Precision::Float, &float_zeros);
  // The derivation puts a = 40 in double (s = 2e^−40 ≈ 8.5e-18 < ε/2 ≈ 1.1e-16)
  // and a = 20 in float (s = 2e^−20 ≈ 4.1e-9 < ε/2 ≈ 6e-8) among the zeros,
  // and not a = 30 in double nor a = 10 in float.
  EXPECT_TRUE(double_zeros.count("40"));
  EXPECT_FALSE(double_zeros.count("30"));
  EXPECT_TRUE(float_zeros.count("20"));
  EXPECT_FALSE(float_zeros.count("10"));
}

// The naive graph computes exp(a) itself: beyond log(max of T) it is inf, and
// softmax's inf/inf is NaN. Below that bound (with a factor 0.99 so that the
// sum of the exps does not reach it either) everything stays finite.
template <class T> void expect_naive_overflow(const Result& r, Precision p, std::set<std::string>* nonfinite) {
  const double limit = std::log(static_cast<double>(std::numeric_limits<T>::max()));
  for (std::size_t m = 0; m < r.options.margins.size(); ++m) {
    const double a = to_scalar<double>(r.options.margins[m].value);
    for (Quantity q : kQuantities) {
      const Row& row = row_of(r, p, r.options.margins[m].text, Variant::NaiveComposed, q);
      const bool bad = row.status == Status::Inf || row.status == Status::Nan;
      if (a > limit) {
        EXPECT_TRUE(bad) << name_of(p) << " a=" << a << " " << name_of(q);
        nonfinite->insert(r.options.margins[m].text);
      } else if (a < 0.99 * limit) {
        EXPECT_FALSE(bad) << name_of(p) << " a=" << a << " " << name_of(q);
      }
    }
  }
}

TEST(CompareGrid, NaiveComposedOverflowsBeyondLogMax) {
  const Result r = default_run();
  std::set<std::string> double_bad, float_bad;
  expect_naive_overflow<double>(r, Precision::Double, &double_bad);
  expect_naive_overflow<float>(r, Precision::Float, &float_bad);
  EXPECT_TRUE(double_bad.count("800"));  // 800 > log(DBL_MAX) ≈ 709.8
  EXPECT_FALSE(double_bad.count("700"));
  EXPECT_TRUE(float_bad.count("100"));   // 100 > log(FLT_MAX) ≈ 88.7
  // The shifted forms never overflow.
  for (const Row& row : r.rows) {
    if (row.variant != Variant::NaiveComposed) {
      EXPECT_TRUE(row.status == Status::Ok || row.status == Status::WrongZero);
    }
  }
}

// Each threshold is the first margin, in ascending order, where the rows show
// the event; none for ddx-fused.
TEST(CompareGrid, ThresholdsFollowTheRows) {
  // Out of order on purpose: thresholds are over ascending margins.
  const Result r = run(parse_options(3, "800,1,40,10,20,30,700", "float,double", false));
  ASSERT_EQ(r.thresholds.size(), 2u * 4u);
  for (const Threshold& t : r.thresholds) {
    std::optional<Rational> overflow, wrong_zero, half;
    for (const Row& row : r.rows) {
      if (row.precision != t.precision || row.variant != t.variant) continue;
      const Rational& a = r.options.margins[row.margin_index].value;
      const auto lower = [&](std::optional<Rational>& first, bool event) {
        if (event && (!first || a < *first)) first = a;
      };
      const bool nonfinite = row.status == Status::Inf || row.status == Status::Nan;
      lower(overflow, nonfinite);
      lower(wrong_zero, row.status == Status::WrongZero);
      lower(half, nonfinite || (row.bits && *row.bits > half_bits(t.precision)));
    }
    const auto margin = [&](std::optional<std::size_t> m) {
      return m ? std::optional<Rational>(r.options.margins[*m].value) : std::nullopt;
    };
    EXPECT_EQ(margin(t.overflow), overflow) << name_of(t.precision) << " " << name_of(t.variant);
    EXPECT_EQ(margin(t.wrong_zero), wrong_zero) << name_of(t.precision) << " " << name_of(t.variant);
    EXPECT_EQ(margin(t.half_bits), half) << name_of(t.precision) << " " << name_of(t.variant);
    if (t.variant == Variant::DdxFused) {
      EXPECT_FALSE(t.overflow);
      EXPECT_FALSE(t.wrong_zero);
      EXPECT_FALSE(t.half_bits);
    }
    if (t.variant == Variant::NaiveComposed && t.precision == Precision::Double) {
      ASSERT_TRUE(t.overflow);
      EXPECT_EQ(r.options.margins[*t.overflow].text, "800");
    }
  }
  EXPECT_DOUBLE_EQ(half_bits(Precision::Float), 12);
  EXPECT_DOUBLE_EQ(half_bits(Precision::Double), 26.5);
  EXPECT_DOUBLE_EQ(half_bits(Precision::LongDouble), std::numeric_limits<long double>::digits / 2.0);
}

// ---- options ----------------------------------------------------------------------------

TEST(CompareOptions, BadInputsNameTheOption) {
  const auto message = [](int classes, std::string_view margins, std::string_view precisions) -> std::string {
    try {
      parse_options(classes, margins, precisions, false);
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message(1, "1", "double").find("--classes"), std::string::npos);
  EXPECT_NE(message(3, "1,abc", "double").find("--margins"), std::string::npos);
  EXPECT_NE(message(3, "1,,2", "double").find("--margins"), std::string::npos);
  EXPECT_NE(message(3, "", "double").find("--margins"), std::string::npos);
  EXPECT_NE(message(3, "1e7", "double").find("--margins"), std::string::npos);
  EXPECT_NE(message(3, "1", "quad").find("--precisions"), std::string::npos);
  EXPECT_NE(message(3, "1", "100").find("--precisions"), std::string::npos);
  EXPECT_NE(message(3, "1", "").find("--precisions"), std::string::npos);
  EXPECT_EQ(message(3, " 1 , 2.5,-3 ", "double, float"), "");
}

TEST(CompareOutput, RowsInContractOrder) {
  const Result r = run(parse_options(4, "1,40", "double,float", false));
  ASSERT_EQ(r.rows.size(), 2u * 2u * 4u * 3u);
  std::size_t k = 0;
  for (Precision p : {Precision::Double, Precision::Float})
    for (std::size_t m = 0; m < 2; ++m)
      for (Variant v : kVariants)
        for (Quantity q : kQuantities) {
          const Row& row = r.rows[k++];
          EXPECT_EQ(row.precision, p);
          EXPECT_EQ(row.margin_index, m);
          EXPECT_EQ(row.variant, v);
          EXPECT_EQ(row.quantity, q);
        }
  EXPECT_EQ(name_of(Variant::NaiveComposed), "naive-composed");
  EXPECT_EQ(name_of(Variant::StableComposed), "stable-composed");
  EXPECT_EQ(name_of(Variant::FrameworkFused), "framework-fused");
  EXPECT_EQ(name_of(Variant::DdxFused), "ddx-fused");
  EXPECT_EQ(name_of(Quantity::Loss), "loss");
  EXPECT_EQ(name_of(Quantity::GradTarget), "grad-target");
  EXPECT_EQ(name_of(Quantity::GradOther), "grad-other");
  EXPECT_EQ(name_of(Status::Ok), "ok");
  EXPECT_EQ(name_of(Status::WrongZero), "wrong-zero");
  EXPECT_EQ(name_of(Status::Inf), "inf");
  EXPECT_EQ(name_of(Status::Nan), "nan");
}

TEST(CompareOutput, DeterministicWithoutTiming) {
  const Options o = parse_options(3, kGrid, "float,double,long-double", false);
  const Result a = run(o), b = run(o);
  for (const char* format : {"text", "md", "html", "json"}) EXPECT_EQ(render(a, format), render(b, format)) << format;
  EXPECT_THROW(render(a, "pdf"), InputError);
}

TEST(CompareOutput, ChartsInHtmlDataElsewhere) {
  const Result r = run(parse_options(3, "1,40,800", "double", false));
  const std::string html = render(r, "html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("ddx-fused"), std::string::npos);
  const std::string text = render(r, "text");
  EXPECT_EQ(text.find("<svg"), std::string::npos);
  EXPECT_NE(text.find("inf/NaN"), std::string::npos);  // naive-composed at 800
  EXPECT_NE(text.find("WRONG ZERO"), std::string::npos);  // framework-fused at 40
  EXPECT_EQ(text.find("ns / element"), std::string::npos);
}

}  // namespace
}  // namespace ddx::compare
