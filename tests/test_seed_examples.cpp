#include "derivations/seed_examples.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>
#include <tuple>

namespace ddx {
namespace {

constexpr const char* kSeed002 = "002_feabd07930def885.txt";
constexpr const char* kSeed003 = "003_dfa30b3aab0a934f.txt";

const std::vector<SeedCheck>& checks() {
  static const std::vector<SeedCheck> all = check_seed_examples();
  return all;
}

// The check whose example description contains `example`, with this quantity and seed figure.
const SeedCheck& check_for(std::string_view example, std::string_view quantity, std::string_view seed_figure) {
  for (const auto& c : checks())
    if (c.example.find(example) != std::string::npos && c.quantity == quantity && c.seed_figure == seed_figure)
      return c;
  ADD_FAILURE() << "no check " << example << " / " << quantity << " / " << seed_figure;
  static const SeedCheck none;
  return none;
}

// ---- format_like_seed_figure: the rounding itself ---------------------------------

TEST(SeedFigureFormat, SameDecimalsAsTheSeed) {
  EXPECT_EQ(format_like_seed_figure("0.66", Float100("0.659001")), "0.66");
  EXPECT_EQ(format_like_seed_figure("0.659", Float100("0.659001")), "0.659");
  EXPECT_EQ(format_like_seed_figure("0.10", Float100("0.0985659")), "0.10");
  EXPECT_EQ(format_like_seed_figure("461", Float100("458.21")), "458");
  EXPECT_EQ(format_like_seed_figure("1.000", Float100(1)), "1.000");
  EXPECT_EQ(format_like_seed_figure("0", Float100(0)), "0");
}

TEST(SeedFigureFormat, TiesGoToEven) {
  EXPECT_EQ(format_like_seed_figure("0.00", Float100("0.125")), "0.12");
  EXPECT_EQ(format_like_seed_figure("0.00", Float100("0.375")), "0.38");
  EXPECT_EQ(format_like_seed_figure("0", Float100("2.5")), "2");
  EXPECT_EQ(format_like_seed_figure("0", Float100("3.5")), "4");
}

TEST(SeedFigureFormat, SignsPercentagesAndPowersOfTen) {
  EXPECT_EQ(format_like_seed_figure("-0.90", Float100("-0.90143")), "-0.90");
  EXPECT_EQ(format_like_seed_figure("0.00", Float100("-0.001")), "0.00");  // no "-0.00"
  EXPECT_EQ(format_like_seed_figure("65.9%", Float100("0.6590011")), "65.9%");
  EXPECT_EQ(format_like_seed_figure("90%", Float100("0.9014")), "90%");
  EXPECT_EQ(format_like_seed_figure("2.7 × 10^43", Float100("2.6881171e43")), "2.7 × 10^43");
  EXPECT_EQ(format_like_seed_figure("3.7 × 10^-44", Float100("3.720076e-44")), "3.7 × 10^-44");
  EXPECT_EQ(format_like_seed_figure("2.7 × 10^43", Float100("9.96e5")), "1.0 × 10^6");  // carry into the exponent
}

TEST(SeedFigureFormat, RejectsWhatIsNotAFigure) {
  EXPECT_THROW(format_like_seed_figure("about 3", Float100(3)), std::invalid_argument);
  EXPECT_THROW(format_like_seed_figure("", Float100(3)), std::invalid_argument);
  EXPECT_THROW(format_like_seed_figure("1.2.3", Float100(3)), std::invalid_argument);
}

// ---- coverage: every numeric example of the seeds -------------------------------

TEST(SeedExamples, CoverEveryPrintedExample) {
  // Seed 002: the three-class example (p, gradient, "90%") and the converged one.
  // Seed 003: softmax step by step (exponentials, their sum, p, percentages, Σp, loss),
  // close and spread-out logits, dividing by the sum (two inputs), the
  // temperature table (3 rows), the −log p table, the 461 ratio, the 100-patient
  // average, the worked example (two targets), the overflow/underflow figures
  // (100 digits and float/double), subtracting the maximum, and p − y at 0.8 and 0.15.
  EXPECT_GE(checks().size(), 89u);
  std::size_t from002 = 0, from003 = 0;
  std::set<std::string> examples;
  for (const auto& c : checks()) {
    from002 += c.source == kSeed002;
    from003 += c.source == kSeed003;
    examples.insert(c.source + c.example);
  }
  EXPECT_EQ(from002, 13u);
  EXPECT_GE(from003, 76u);
  EXPECT_GE(examples.size(), 23u);
  for (std::string_view what :
       {"three classes", "after convergence", "softmax step by step", "close logits", "spread-out logits",
        "dividing by the sum instead", "dividing by the sum, negative", "T = 0.5", "T = 1", "T = 2",
        "loss of the correct class", "balance one confident mistake", "99 samples", "target class 1",
        "target class 2", "large exponential: z = 100", "in float32 (the seed: it overflows)",
        "huge exponential in double", "tiny exponential: z = -100", "in float32 (the seed: it rounds to 0)",
        "subtracting the largest logit", "p = 0.8", "p = 0.15"}) {
    EXPECT_TRUE(std::any_of(checks().begin(), checks().end(),
                            [&](const SeedCheck& c) { return c.example.find(what) != std::string::npos; }))
        << what;
  }
  const auto none = seeds_without_numeric_examples();
  EXPECT_EQ(none.size(), 3u);
  for (const auto& c : checks()) EXPECT_EQ(std::count(none.begin(), none.end(), c.source), 0);
}

TEST(SeedExamples, EveryRowIsConsistent) {
  for (const auto& c : checks()) {
    EXPECT_EQ(c.matches, c.seed_figure == c.ddx_figure) << c.example << " " << c.quantity;
    EXPECT_EQ(c.matches, c.note.empty()) << c.example << " " << c.quantity;
    EXPECT_FALSE(c.ddx_figure.empty());
  }
}

// ---- each ddx figure is correctly rounded: recomputed here in long double -------

std::string fixed(long double x, std::string_view like) {
  const auto dot = like.find('.');
  const int decimals = dot == std::string_view::npos ? 0 : static_cast<int>(like.size() - dot - 1);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*Lf", decimals, x);
  return buf;
}

TEST(SeedExamples, FiguresAreCorrectlyRounded) {
  auto softmax = [](std::vector<long double> z, long double T = 1) {
    long double s = 0;
    for (auto& v : z) s += (v = std::exp(v / T));
    for (auto& v : z) v /= s;
    return z;
  };
  const auto p = softmax({2.0L, 1.0L, 0.1L});
  const auto w = softmax({1.0L, 3.0L, 0.5L});
  const auto t = softmax({2.0L, 1.0L, 0.0L}, 0.5L);
  const auto c = softmax({0.1L, 0.2L, 5.0L});
  const std::vector<std::tuple<std::string_view, std::string_view, std::string_view, long double>> expected{
      {"three classes", "p[0]", "0.66", p[0]},
      {"three classes", "∂L/∂z[2]", "-0.90", p[2] - 1},
      {"after convergence", "∂L/∂z[2]", "-0.02", c[2] - 1},
      {"step by step", "exp(z)[2]", "1.105", std::exp(0.1L)},
      {"step by step", "Σ exp(z)", "11.212", std::exp(2.0L) + std::exp(1.0L) + std::exp(0.1L)},
      {"step by step", "p[2]", "0.099", p[2]},
      {"step by step", "L", "0.42", -std::log(p[0])},
      {"target class 1", "Σ exp(z)", "24.453", std::exp(1.0L) + std::exp(3.0L) + std::exp(0.5L)},
      {"target class 1", "L", "0.197", -std::log(w[1])},
      {"target class 2", "L", "2.70", -std::log(w[2])},
      {"T = 0.5", "p[0]", "0.844", t[0]},
      {"T = 0.5", "p[2]", "0.042", t[2]},
      {"loss of the correct class", "(−log p)[1]", "0.11", -std::log(0.9L)},
      {"loss of the correct class", "(−log p)[5]", "6.91", -std::log(0.001L)},
      {"balance one confident mistake", "(−log p₀) / (−log p₁)", "461", std::log(0.01L) / std::log(0.99L)},
      {"99 samples", "mean loss", "0.056", (-99 * std::log(0.99L) - std::log(0.01L)) / 100},
      {"subtracting the largest logit", "exp(z − max(z))[1]", "0.368", std::exp(-1.0L)},
      {"dividing by the sum instead", "(z / Σ z)[1]", "0.323", 1.0L / 3.1L},
  };
  for (const auto& [example, quantity, seed, value] : expected)
    EXPECT_EQ(check_for(example, quantity, seed).ddx_figure, fixed(value, seed)) << example << " " << quantity;
  EXPECT_EQ(check_for("step by step", "p[0]", "65.9%").ddx_figure, fixed(100 * p[0], "65.9") + "%");
  EXPECT_EQ(check_for("three classes", "(1 − p)[2]", "90%").ddx_figure, fixed(100 * (1 - p[2]), "90") + "%");
}

// ---- the seeds' wrong figures, and only those, differ ------------------------------

TEST(SeedExamples, TemperatureTableOfSeed003) {
  // T = 0.5: matches neither [2, 1, 0] (0.867, 0.117, 0.016) nor [2, 1, 0.1].
  const std::vector<std::tuple<const char*, const char*, const char*>> half{
      {"p[0]", "0.844", "0.867"}, {"p[1]", "0.114", "0.117"}, {"p[2]", "0.042", "0.016"}};
  for (const auto& [q, seed, truth] : half) {
    const SeedCheck& c = check_for("T = 0.5", q, seed);
    EXPECT_FALSE(c.matches);
    EXPECT_EQ(c.ddx_figure, truth);
    EXPECT_NE(c.note.find("either"), std::string::npos) << c.note;
  }
  // T = 1: the seed's row is softmax([2, 1, 0.1]); for [2, 1, 0] it is 0.665, 0.245, 0.090.
  const std::vector<std::tuple<const char*, const char*, const char*>> one{
      {"p[0]", "0.659", "0.665"}, {"p[1]", "0.242", "0.245"}, {"p[2]", "0.099", "0.090"}};
  for (const auto& [q, seed, truth] : one) {
    const SeedCheck& c = check_for("T = 1:", q, seed);
    EXPECT_FALSE(c.matches);
    EXPECT_EQ(c.ddx_figure, truth);
    EXPECT_NE(c.note.find("other inputs"), std::string::npos) << c.note;
  }
  // T = 2: two figures right, the last one 0.186, not 0.187.
  EXPECT_TRUE(check_for("T = 2", "p[0]", "0.506").matches);
  EXPECT_TRUE(check_for("T = 2", "p[1]", "0.307").matches);
  const SeedCheck& last = check_for("T = 2", "p[2]", "0.187");
  EXPECT_FALSE(last.matches);
  EXPECT_EQ(last.ddx_figure, "0.186");
}

TEST(SeedExamples, ExactlyTheseFiguresDiffer) {
  const std::set<std::tuple<std::string, std::string, std::string>> differ{
      {"step by step", "Σ exp(z)", "11.212"},       // the sum of the rounded terms; exactly 11.2125…
      {"T = 0.5", "p[0]", "0.844"},
      {"T = 0.5", "p[1]", "0.114"},
      {"T = 0.5", "p[2]", "0.042"},
      {"T = 1:", "p[0]", "0.659"},
      {"T = 1:", "p[1]", "0.242"},
      {"T = 1:", "p[2]", "0.099"},
      {"T = 2", "p[2]", "0.187"},
      {"balance one confident mistake", "(−log p₀) / (−log p₁)", "461"},  // 4.61 / 0.01; exactly 458.2
      {"it rounds to 0", "exp(z)", "0"},                                   // a float32 subnormal, not 0
  };
  for (const auto& [example, quantity, seed] : differ) EXPECT_FALSE(check_for(example, quantity, seed).matches);
  std::size_t differing = 0;
  for (const auto& c : checks()) differing += !c.matches;
  EXPECT_EQ(differing, differ.size());

  EXPECT_EQ(check_for("step by step", "Σ exp(z)", "11.212").ddx_figure, "11.213");
  EXPECT_EQ(7389 + 2718 + 1105, 11212);  // what the note says the seed did
  EXPECT_EQ(check_for("balance one confident mistake", "(−log p₀) / (−log p₁)", "461").ddx_figure, "458");
}

TEST(SeedExamples, OverflowAndUnderflowAtFloatAndDouble) {
  const SeedCheck& huge = check_for("huge exponential in double", "exp(z)", "Infinity");
  EXPECT_TRUE(huge.matches);
  EXPECT_TRUE(std::isinf(std::exp(1000.0)));
  const SeedCheck& big = check_for("it overflows", "exp(z)", "inf");
  EXPECT_TRUE(big.matches);
  EXPECT_TRUE(std::isinf(std::exp(100.0f)));
  const SeedCheck& tiny = check_for("it rounds to 0", "exp(z)", "0");
  EXPECT_FALSE(tiny.matches);
  const float f = std::exp(-100.0f);
  EXPECT_GT(f, 0.0f);
  EXPECT_LT(f, std::numeric_limits<float>::min());  // subnormal
  EXPECT_EQ(f, std::ldexp(27.0f, -149));
  EXPECT_EQ(tiny.ddx_figure, "3.8e-44");
  EXPECT_TRUE(check_for("large exponential: z = 100", "exp(z)", "2.7 × 10^43").matches);
  EXPECT_TRUE(check_for("tiny exponential: z = -100", "exp(z)", "3.7 × 10^-44").matches);
}

// ---- rendering ---------------------------------------------------------------------------

TEST(SeedExamples, ReportHasARowPerCheckWithItsVerdictAndASummary) {
  const report::Report r = seed_examples_report(checks());
  std::size_t rows = 0, failed_rows = 0;
  for (const report::Section& s : r.sections)
    for (const report::Block& b : s.blocks)
      if (const auto* t = std::get_if<report::Table>(&b)) {
        for (const report::Row& row : t->rows) {
          ++rows;
          failed_rows += row.passed == false;
          const std::string& verdict = std::get<std::string>(row.cells.at(3));
          EXPECT_TRUE(verdict == "matches at the printed precision" || verdict == "differs") << verdict;
          EXPECT_EQ(*row.passed, verdict != "differs");
        }
      }
  EXPECT_EQ(rows, checks().size());
  EXPECT_EQ(failed_rows, 10u);
  const std::string text = report::render_text(r);
  EXPECT_NE(text.find("89 checked, 79 match at the printed precision, 10 differ"), std::string::npos) << text;
  EXPECT_NE(text.find(kSeed003), std::string::npos);
}

TEST(SeedExamples, Json) {
  const auto j = render_seed_checks_json(checks());
  ASSERT_EQ(j["checks"].size(), checks().size());
  EXPECT_EQ(j["summary"]["checked"], checks().size());
  EXPECT_EQ(j["summary"]["differ"], 10);
  EXPECT_EQ(j["summary"]["match"], checks().size() - 10);
  const auto& first = j["checks"][0];
  for (const char* key : {"source", "example", "quantity", "seed_figure", "ddx_figure", "matches", "verdict", "note"})
    EXPECT_TRUE(first.contains(key)) << key;
  EXPECT_EQ(j["rounding"], std::string(kSeedRounding));
}

TEST(SeedExamples, Deterministic) {
  EXPECT_EQ(report::render_text(seed_examples_report(check_seed_examples())),
            report::render_text(seed_examples_report(checks())));
}

}  // namespace
}  // namespace ddx
