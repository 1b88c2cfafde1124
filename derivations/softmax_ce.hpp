// The numeric proof that reverse mode, run on softmax + cross-entropy built
// from primitives, gives p − y: the graph, its forward values, the reverse
// sweep, and checks at several precisions against p − y and against central
// differences.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "derivations/inputs.hpp"
#include "engine/grad.hpp"
#include "engine/scalar.hpp"

namespace ddx {

struct SoftmaxCeInput {
  std::vector<std::vector<Rational>> logits;   // B rows of n logits
  std::vector<std::vector<Rational>> targets;  // same shape; each row sums to 1 unless allow_unnormalized
  std::vector<long> target_classes;            // when the targets are one-hot, the class of each row
  Rational temperature{1};
  Precision precision = Precision::Double;     // the precision values are shown at
  bool allow_unnormalized = false;
  bool batch = false;                          // the input was given as rows ([B, n] even when B = 1)

  // The seeds' example: logits 2, 1, 0.1 and target class 2.
  static SoftmaxCeInput example();
  // One-hot rows from class indices.
  void set_target_classes(std::vector<long> classes);
};

// Throws InputError naming the problem (sizes, normalisation, temperature).
void validate(const SoftmaxCeInput& input);

struct NumericCheck {
  std::string name;
  Precision precision;
  double max_abs_error = 0;  // NaN when the evaluation was not finite
  double tolerance = 0;
  bool passed = false;
  std::string note;          // how the tolerance was chosen, or why the check failed
};

// The values of one node at the display precision, as decimal strings.
struct NodeValues {
  NodeId node;
  std::vector<std::string> values;
};

struct SoftmaxCeProof {
  SoftmaxCeInput input;
  std::unique_ptr<Graph> graph;
  NodeId z = 0, y = 0, p = 0, loss = 0, expected = 0;
  Gradient gradient;
  std::vector<NodeId> forward_order;        // the nodes of L, in evaluation order
  std::vector<NodeValues> values;           // every node of interest, at input.precision
  std::optional<std::string> nonfinite;     // at the display precision
  std::vector<NumericCheck> checks;
  std::int64_t fd_components = 0;           // how many components the finite-difference check covered

  bool passed() const;
  const std::vector<std::string>& value_of(NodeId id) const;
  std::int64_t rows() const { return static_cast<std::int64_t>(input.logits.size()); }
  std::int64_t classes() const { return static_cast<std::int64_t>(input.logits.front().size()); }
  bool normalized() const;
};

// A check's max |error| for tables: three significant digits, or "not finite".
std::string format_error(double max_abs_error);

// Builds the graph, differentiates it and runs every check.
SoftmaxCeProof prove_softmax_ce(const SoftmaxCeInput& input);

nlohmann::ordered_json render_json(const SoftmaxCeProof& proof);

// --samples K --seed S: random cases, summarised by the worst error per precision.
struct SampleCase {
  std::int64_t rows = 1, classes = 1;
  std::string targets;  // "one-hot" or "soft"
  double scale = 1;     // logits drawn uniformly from [-scale, scale]
  std::vector<NumericCheck> checks;
};
struct SamplesSummary {
  std::vector<SampleCase> cases;
  bool passed() const;
};
SamplesSummary run_samples(int count, std::uint64_t seed, const Rational& temperature, Precision precision);
std::string render_text(const SamplesSummary& summary, std::uint64_t seed);
nlohmann::ordered_json render_json(const SamplesSummary& summary, std::uint64_t seed);

}  // namespace ddx
