// The softmax-cross-entropy derivation (derivations/softmax_ce.hpp): input
// validation, the numeric proof and its checks, and the random samples.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "derivations/softmax_ce.hpp"
#include "engine/eval.hpp"

namespace ddx {
namespace {

using Row = std::vector<Rational>;

SoftmaxCeInput input_with(std::vector<Row> logits, std::vector<long> classes) {
  SoftmaxCeInput in;
  in.batch = logits.size() > 1;
  in.logits = std::move(logits);
  in.set_target_classes(std::move(classes));
  return in;
}

// softmax of exact logits at 100 digits, computed without the graph.
std::vector<Float100> softmax100(const Row& z) {
  std::vector<Float100> e;
  Float100 total = 0;
  for (const Rational& r : z) total += e.emplace_back(exp(to_scalar<Float100>(r)));
  for (Float100& x : e) x /= total;
  return e;
}

std::vector<double> as_doubles(const std::vector<std::string>& text) {
  std::vector<double> out;
  for (const std::string& s : text) out.push_back(std::stod(s));
  return out;
}

std::string validation_error_of(const SoftmaxCeInput& in) {
  try {
    validate(in);
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "validate accepted the input";
  return {};
}

void expect_mentions(const std::string& message, std::initializer_list<const char*> parts) {
  for (const char* part : parts) EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' in: " << message;
}

const NumericCheck* find_check(const SoftmaxCeProof& proof, std::string_view name_start, Precision precision) {
  for (const NumericCheck& c : proof.checks)
    if (c.name.starts_with(name_start) && c.precision == precision) return &c;
  return nullptr;
}

// ---- the seeds' example -------------------------------------------------------------

TEST(ProveSoftmaxCe, TheExamplePassesEveryCheck) {
  const SoftmaxCeInput in = SoftmaxCeInput::example();
  EXPECT_EQ(in.logits, (std::vector<Row>{{2, 1, Rational(1, 10)}}));
  EXPECT_EQ(in.targets, (std::vector<Row>{{0, 0, 1}}));
  EXPECT_EQ(in.target_classes, (std::vector<long>{2}));

  const SoftmaxCeProof proof = prove_softmax_ce(in);
  EXPECT_TRUE(proof.passed());
  ASSERT_FALSE(proof.checks.empty());
  for (const NumericCheck& c : proof.checks) {
    EXPECT_TRUE(c.passed) << c.name << " at " << name_of(c.precision) << ": " << c.note;
    EXPECT_LE(c.max_abs_error, c.tolerance) << c.name;
    EXPECT_GT(c.tolerance, 0) << c.name;
  }
  // The checks the proof promises: p sums to 1 and the gradient is p − y at
  // double and at 50 digits, and central differences agree at 50 digits.
  for (Precision p : {Precision::Double, Precision::Digits50}) {
    EXPECT_NE(find_check(proof, "softmax sums to 1", p), nullptr) << name_of(p);
    EXPECT_NE(find_check(proof, "graph gradient = p - y", p), nullptr) << name_of(p);
  }
  EXPECT_NE(find_check(proof, "central differences", Precision::Digits50), nullptr);
  EXPECT_EQ(proof.fd_components, 3);
  EXPECT_FALSE(proof.nonfinite.has_value());
  EXPECT_TRUE(proof.passed());
}

TEST(ProveSoftmaxCe, TheExampleShowsTheSeedsNumbers) {
  const SoftmaxCeProof proof = prove_softmax_ce(SoftmaxCeInput::example());
  const auto p = as_doubles(proof.value_of(proof.p));
  ASSERT_EQ(p.size(), 3u);
  // As printed in the seeds: 0.659, 0.242, 0.099 (3 decimals).
  EXPECT_EQ(fmt::format("{:.3f}", p[0]), "0.659");
  EXPECT_EQ(fmt::format("{:.3f}", p[1]), "0.242");
  EXPECT_EQ(fmt::format("{:.3f}", p[2]), "0.099");
  const auto dz = as_doubles(proof.value_of(proof.gradient.gradients.front()));
  ASSERT_EQ(dz.size(), 3u);
  // As printed: 0.66, 0.24, −0.90 (2 decimals).
  EXPECT_EQ(fmt::format("{:.2f}", dz[0]), "0.66");
  EXPECT_EQ(fmt::format("{:.2f}", dz[1]), "0.24");
  EXPECT_EQ(fmt::format("{:.2f}", dz[2]), "-0.90");
}

TEST(ProveSoftmaxCe, DisplayedValuesAreTheDoubleValuesOfPAndPMinusY) {
  const SoftmaxCeProof proof = prove_softmax_ce(SoftmaxCeInput::example());
  const auto want = softmax100({2, 1, Rational(1, 10)});
  const auto p = as_doubles(proof.value_of(proof.p));
  const auto expected = as_doubles(proof.value_of(proof.expected));
  for (std::size_t k = 0; k < 3; ++k) {
    // Double evaluation of exp, a 3-term sum and a division: within 8 ulps of the 100-digit value.
    const double exact = static_cast<double>(want[k]);
    EXPECT_NEAR(p[k], exact, 8 * std::numeric_limits<double>::epsilon()) << k;
    EXPECT_NEAR(expected[k], exact - (k == 2 ? 1 : 0), 8 * std::numeric_limits<double>::epsilon()) << k;
  }
}

// ---- non-finite values ------------------------------------------------------------------

TEST(ProveSoftmaxCe, ALogitOf1000FailsAtDoubleButPassesAt50Digits) {
  const SoftmaxCeProof proof = prove_softmax_ce(input_with({{1000, 0, 0}}, {0}));
  EXPECT_FALSE(proof.passed());
  for (const NumericCheck& c : proof.checks) {
    if (c.precision == Precision::Double) {
      EXPECT_FALSE(c.passed) << c.name;
      EXPECT_TRUE(std::isnan(c.max_abs_error)) << c.name;
      expect_mentions(c.note, {"not finite", "exp", "inf"});
    } else {
      EXPECT_EQ(c.precision, Precision::Digits50) << c.name;
      EXPECT_TRUE(c.passed) << c.name << ": " << c.note;
    }
  }
  EXPECT_NE(find_check(proof, "graph gradient", Precision::Digits50), nullptr);
  ASSERT_TRUE(proof.nonfinite.has_value()) << "shown at double, the values are not finite";
  expect_mentions(*proof.nonfinite, {"exp", "inf", "1000"});
  EXPECT_FALSE(proof.passed());
}

TEST(ProveSoftmaxCe, ALogitOf1000ShownAt50DigitsIsFinite) {
  SoftmaxCeInput in = input_with({{1000, 0, 0}}, {0});
  in.precision = Precision::Digits50;
  const SoftmaxCeProof proof = prove_softmax_ce(in);
  EXPECT_FALSE(proof.nonfinite.has_value());
  // p₀ = 1/(1 + 2e⁻¹⁰⁰⁰) = 1 − 2e⁻¹⁰⁰⁰ + ...: 1 at 50 digits; p₁ = p₂ = e⁻¹⁰⁰⁰/(1 + 2e⁻¹⁰⁰⁰) ≈ 5.08e-435.
  const auto& p = proof.value_of(proof.p);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(Float50(p[0]), 1);
  const Float50 tiny = exp(Float50(-1000));
  // A handful of roundings and Boost's |x|·ε error in exp(1000) (see test_eval): 1e-45 relative.
  EXPECT_LE(abs(Float50(p[1]) - tiny) / tiny, Float50("1e-45")) << p[1];
}

// ---- batches, temperature, unnormalized targets ------------------------------------------

TEST(ProveSoftmaxCe, ABatchPassesAndIsShownRowByRow) {
  SoftmaxCeInput in = input_with({{2, 1, Rational(1, 10)}, {-1, 3, Rational(1, 2)}}, {2, 1});
  const SoftmaxCeProof proof = prove_softmax_ce(in);
  EXPECT_TRUE(proof.passed());
  EXPECT_EQ(proof.rows(), 2);
  EXPECT_EQ(proof.classes(), 3);
  EXPECT_EQ(proof.graph->shape(proof.z), Shape::matrix(2, 3));
  // The displayed expected gradient is (p − y)/B.
  const auto expected = as_doubles(proof.value_of(proof.expected));
  const auto first = softmax100({2, 1, Rational(1, 10)});
  // (p − y)/2 at double: within a few ulps of values ≤ 1.
  EXPECT_NEAR(expected[2], (static_cast<double>(first[2]) - 1) / 2, 4 * std::numeric_limits<double>::epsilon());
  const auto json = render_json(proof);
  ASSERT_TRUE(json["probabilities"].is_array());
  ASSERT_EQ(json["probabilities"].size(), 2u);
  EXPECT_EQ(json["probabilities"][1].size(), 3u);
}

TEST(ProveSoftmaxCe, ATemperaturePasses) {
  SoftmaxCeInput in = SoftmaxCeInput::example();
  in.temperature = Rational(5, 2);
  const SoftmaxCeProof proof = prove_softmax_ce(in);
  EXPECT_TRUE(proof.passed());
  // The expected gradient is (p − y)/T with p = softmax(z/T).
  const auto expected = as_doubles(proof.value_of(proof.expected));
  const auto p = softmax100({Rational(4, 5), Rational(2, 5), Rational(1, 25)});
  for (std::size_t k = 0; k < 3; ++k)
    EXPECT_NEAR(expected[k], (static_cast<double>(p[k]) - (k == 2 ? 1 : 0)) / 2.5,
                8 * std::numeric_limits<double>::epsilon())
        << k;
}

TEST(ProveSoftmaxCe, UnnormalizedTargetsWhenAllowed) {
  SoftmaxCeInput in = SoftmaxCeInput::example();
  in.targets = {{1, 1, 0}};
  in.target_classes.clear();
  in.allow_unnormalized = true;
  const SoftmaxCeProof proof = prove_softmax_ce(in);
  EXPECT_FALSE(proof.normalized());
  EXPECT_TRUE(proof.passed());
  EXPECT_NE(find_check(proof, "graph gradient = p·Σy - y", Precision::Digits50), nullptr);
  // With Σy = 2 the gradient is 2p − y.
  const auto dz = as_doubles(proof.value_of(proof.gradient.gradients.front()));
  const auto p = softmax100({2, 1, Rational(1, 10)});
  const double y[] = {1, 1, 0};
  for (std::size_t k = 0; k < 3; ++k)
    EXPECT_NEAR(dz[k], 2 * static_cast<double>(p[k]) - y[k], 8 * std::numeric_limits<double>::epsilon()) << k;
}

TEST(ProveSoftmaxCe, OneClass) {
  const SoftmaxCeProof proof = prove_softmax_ce(input_with({{Rational(7, 3)}}, {0}));
  EXPECT_TRUE(proof.passed());
  EXPECT_EQ(as_doubles(proof.value_of(proof.p)), (std::vector<double>{1.0}));
}

// ---- validation ------------------------------------------------------------------------------

TEST(Validate, TargetsOfTheWrongLength) {
  SoftmaxCeInput in = SoftmaxCeInput::example();
  in.targets = {{0, 1}};
  expect_mentions(validation_error_of(in), {"--targets", "2", "3"});
  in.targets = {{0, 0, 0, 1}};
  expect_mentions(validation_error_of(in), {"--targets", "4", "3"});
}

TEST(Validate, TargetsWithTheWrongNumberOfRows) {
  SoftmaxCeInput in = input_with({{1, 2}, {3, 4}}, {0, 1});
  in.targets.pop_back();
  expect_mentions(validation_error_of(in), {"--targets", "1 row", "2 row"});
}

TEST(Validate, UnnormalizedTargetsUnlessAllowed) {
  SoftmaxCeInput in = SoftmaxCeInput::example();
  in.targets = {{Rational(1, 2), Rational(1, 4), Rational(1, 5)}};
  in.target_classes.clear();
  expect_mentions(validation_error_of(in), {"--targets", "0.95", "--allow-unnormalized"});  // 19/20
  in.allow_unnormalized = true;
  EXPECT_NO_THROW(validate(in));
}

TEST(Validate, SoftTargetsMustSumToExactlyOne) {
  SoftmaxCeInput in = SoftmaxCeInput::example();
  in.target_classes.clear();
  in.targets = {{Rational(1, 3), Rational(1, 3), Rational(1, 3)}};
  EXPECT_NO_THROW(validate(in));
  // 0.333 + 0.333 + 0.334 = 1 exactly as decimals; 0.3 + 0.3 + 0.3 is not.
  in.targets = {{parse_rational("0.333"), parse_rational("0.333"), parse_rational("0.334")}};
  EXPECT_NO_THROW(validate(in));
  in.targets = {{parse_rational("0.3"), parse_rational("0.3"), parse_rational("0.3")}};
  EXPECT_THROW(validate(in), InputError);
}

TEST(Validate, TemperatureMustBePositive) {
  SoftmaxCeInput in = SoftmaxCeInput::example();
  in.temperature = 0;
  expect_mentions(validation_error_of(in), {"--temperature", "positive", "0"});
  in.temperature = Rational(-1, 2);
  expect_mentions(validation_error_of(in), {"--temperature", "-0.5"});
  in.temperature = Rational(1, 1000);
  EXPECT_NO_THROW(validate(in));
}

TEST(Validate, NoLogitsOrSeveralRowsWithoutBatch) {
  SoftmaxCeInput empty;
  expect_mentions(validation_error_of(empty), {"--logits"});
  SoftmaxCeInput rows = input_with({{1, 2}, {3, 4}}, {0, 1});
  rows.batch = false;
  expect_mentions(validation_error_of(rows), {"--logits", "one row"});
}

TEST(Validate, ProveValidatesItsInput) {
  SoftmaxCeInput in = SoftmaxCeInput::example();
  in.temperature = 0;
  EXPECT_THROW((void)prove_softmax_ce(in), InputError);
}

// ---- JSON ----------------------------------------------------------------------------------

TEST(RenderJson, HasTheDocumentedKeysAndStringNumbers) {
  const auto json = render_json(prove_softmax_ce(SoftmaxCeInput::example()));
  for (const char* key : {"logits", "targets", "probabilities", "loss", "gradient", "expected_gradient", "checks",
                          "passed"})
    EXPECT_TRUE(json.contains(key)) << key;
  EXPECT_EQ(json["logits"], nlohmann::ordered_json({"2", "1", "0.1"}));
  EXPECT_EQ(json["targets"], nlohmann::ordered_json({"0", "0", "1"}));
  EXPECT_TRUE(json["loss"].is_string());
  for (const char* key : {"probabilities", "gradient", "expected_gradient"}) {
    ASSERT_EQ(json[key].size(), 3u) << key;
    for (const auto& v : json[key]) EXPECT_TRUE(v.is_string()) << key;
  }
  EXPECT_EQ(json["passed"], true);
  // −log p₂ = −log 0.0985659... ≈ 2.3170: the loss, read back from its string.
  EXPECT_NEAR(std::stod(json["loss"].get<std::string>()), -std::log(static_cast<double>(softmax100({2, 1, Rational(1, 10)})[2])),
              4e-15);  // a few roundings of a value ≈ 2.3 (one ulp is 4.4e-16) in the engine and here
}

// ---- random samples --------------------------------------------------------------------------

TEST(RunSamples, SixSamplesPassAndAreDeterministic) {
  const SamplesSummary first = run_samples(6, 42, 1, Precision::Double);
  EXPECT_TRUE(first.passed());
  ASSERT_EQ(first.cases.size(), 6u);
  EXPECT_EQ(first.cases[0].classes, 1000);  // the first two cases pin the ends of n's range
  EXPECT_EQ(first.cases[1].classes, 1);
  const bool both_kinds =
      std::any_of(first.cases.begin(), first.cases.end(), [](const auto& c) { return c.targets == "soft"; }) &&
      std::any_of(first.cases.begin(), first.cases.end(), [](const auto& c) { return c.targets == "one-hot"; });
  EXPECT_TRUE(both_kinds);
  for (const SampleCase& c : first.cases)
    for (const NumericCheck& k : c.checks) EXPECT_TRUE(k.passed) << k.name << " " << name_of(k.precision);

  const SamplesSummary second = run_samples(6, 42, 1, Precision::Double);
  EXPECT_EQ(render_json(first, 42).dump(), render_json(second, 42).dump());
  EXPECT_EQ(render_text(first, 42), render_text(second, 42));
}

TEST(RunSamples, AnInvalidTemperatureIsRejected) {
  EXPECT_THROW((void)run_samples(1, 1, 0, Precision::Double), InputError);
}

}  // namespace
}  // namespace ddx
