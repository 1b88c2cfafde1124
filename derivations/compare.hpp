// ddx compare: four ways to compute softmax–cross-entropy and its gradient,
// measured against a 100-digit reference.
//
// The input is the logit row z = [a, 0, …, 0] of n classes with target class
// 0, for each margin a of a grid. The variants:
//   naive-composed   cross_entropy(softmax(z), y) built from primitives
//                    (ops/composites.hpp), forward and reverse by the engine;
//   stable-composed  stable_softmax_cross_entropy(z, y): the same after the
//                    max shift z − stop_gradient(max z), also by the engine;
//   framework-fused  the fused op as frameworks write it (a kernel here):
//                    lse = a + log Σ exp(zⱼ − a), loss = lse − z_y,
//                    gradient softmax − onehot;
//   ddx-fused        ddx's accurate fused op, the graph op
//                    softmax_cross_entropy (ops/fused.hpp), by the engine.
// For the loss and the gradient's components 0 (the target) and 1 (every
// other component equals it by symmetry) each result is compared with the
// truth: the 100-digit value correctly rounded to the precision.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "derivations/report.hpp"
#include "engine/rational.hpp"
#include "engine/scalar.hpp"

namespace ddx::compare {

enum class Variant { NaiveComposed, StableComposed, FrameworkFused, DdxFused };
enum class Quantity { Loss, GradTarget, GradOther };
enum class Status { Ok, WrongZero, Inf, Nan };

inline constexpr Variant kVariants[] = {Variant::NaiveComposed, Variant::StableComposed, Variant::FrameworkFused,
                                        Variant::DdxFused};
inline constexpr Quantity kQuantities[] = {Quantity::Loss, Quantity::GradTarget, Quantity::GradOther};

// The names of the JSON contract: "naive-composed", "loss", "wrong-zero", ...
std::string_view name_of(Variant v);
std::string_view name_of(Quantity q);
std::string_view name_of(Status s);

// ddx-fused passes when every one of its results up to the underflow limit
// (Row::beyond_underflow) is finite and within this many ulps of the truth:
// the accurate forms round a handful of times, each by half an ulp, and
// their errors do not add up to more than 2 ulps.
inline constexpr double kDdxFusedUlps = 2;

// A margin a of the logits [a, 0, …, 0]: its exact value and its text as
// typed (for labels).
struct Margin {
  Rational value;
  std::string text;
};

struct Options {
  int classes = 3;
  std::vector<Margin> margins;         // in the order given
  std::vector<Precision> precisions;   // float, double, long-double
  bool timing = true;                  // measure time per element (not deterministic)
};

// Parses the command line's strings; throws InputError naming the option:
// --classes outside [2, kMaxClasses] (derivations/inputs.hpp), a margin that is not a number or lies
// outside [−kMaxMargin, kMaxMargin], an unknown or unsupported precision, an
// empty list.
inline constexpr double kMaxMargin = 1e6;
Options parse_options(int classes, std::string_view margins, std::string_view precisions, bool timing);

// ---- error measures, exposed for tests -------------------------------------

// The ulp distance between finite a and b: |ord(a) − ord(b)|, where ord(x)
// counts the representable values of T from 0 to x (ord(±0) = 0, ord(−x) =
// −ord(x)), so adjacent values are 1 apart, a value is 0 from itself and +0
// is 0 from −0. Exact: an integer held in a Float100 (long double's ordinals
// need 80 bits).
template <class T> Float100 ulp_distance(T a, T b);
// Herbie's bits of error: log2(1 + ulps).
double error_bits(const Float100& ulps);
// ok, wrong-zero (value exactly 0 where the truth is not), inf, nan.
template <class T> Status classify(T value, T truth);

// ---- the comparison ---------------------------------------------------------

struct Row {
  Precision precision = Precision::Double;
  std::size_t margin_index = 0;  // into Options::margins
  Variant variant = Variant::NaiveComposed;
  Quantity quantity = Quantity::Loss;
  std::string value;             // round-trip decimal, or "inf", "-inf", "nan"
  std::string truth;
  std::optional<Float100> ulps;  // nullopt when the value is not finite
  std::optional<double> bits;
  Status status = Status::Ok;
  // exp(−|a|) lies below T's smallest normal: the off-max exps are subnormal
  // (or 0) and carry absolute, not relative, rounding errors. The 2-ulp target
  // of ddx-fused holds up to this underflow limit, not beyond.
  bool beyond_underflow = false;
};

// What a variant costs at one precision.
struct Cost {
  Precision precision = Precision::Double;
  Variant variant = Variant::NaiveComposed;
  std::int64_t nodes = 0;        // op nodes of loss and gradient (inputs not counted)
  std::int64_t memory_bytes = 0; // bytes of every value but the inputs z and y (constants included)
  std::optional<double> ns_per_element;  // time per logit, forward + gradient
  std::string evaluated_by;      // "engine graph", "graph op softmax_cross_entropy", "kernel ..."
};

// Per precision and variant, the smallest margin (over the grid, ascending)
// at which some quantity is inf or NaN, is a wrong zero, and has lost half
// its significand's bits (a non-finite result has lost them all).
struct Threshold {
  Precision precision = Precision::Double;
  Variant variant = Variant::NaiveComposed;
  std::optional<std::size_t> overflow, wrong_zero, half_bits;  // margin indices
};

struct Result {
  Options options;
  std::vector<Row> rows;  // precision, then margin, then variant, then quantity
  std::vector<Cost> costs;
  std::vector<Threshold> thresholds;
  // ddx-fused's worst error up to the underflow limit; nullopt when one of
  // its results there is not finite.
  std::optional<Float100> ddx_fused_worst_ulps = Float100(0);

  // ddx-fused within kDdxFusedUlps up to the underflow limit.
  bool passed() const { return ddx_fused_worst_ulps && *ddx_fused_worst_ulps <= kDdxFusedUlps; }
};

Result run(const Options& options);

// Half the significand bits of the precision: 12, 26.5, 32.
double half_bits(Precision p);

// The 100-digit reference of the three quantities at margin a (exact) for
// n classes, from the accurate formulas: loss, ∂L/∂z₀, ∂L/∂z₁.
std::array<Float100, 3> reference(const Rational& a, int classes);

nlohmann::ordered_json to_json(const Result& result);
report::Report to_report(const Result& result);
// "json" (to_json), or any format of report::render; throws InputError
// naming the formats for another.
std::string render(const Result& result, std::string_view format);

}  // namespace ddx::compare
