// The derivations `ddx derive` knows: each has a name, a one-line summary,
// and builds a report (derivations/report.hpp) that every renderer turns into
// text, Markdown, LaTeX, HTML or JSON. Every formula and number in a report is
// produced by the engine: the definitions by the index calculus's printer, the
// derivation steps by the provers, the numbers by evaluating graphs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "derivations/report.hpp"
#include "derivations/softmax_ce.hpp"

namespace ddx {

// The example a derivation works through, as given on the command line.
struct DerivationArguments {
  std::string logits = "2,1,0.1";  // ';' separates the rows of a batch
  std::string target;              // class per row, 0-based
  std::string targets;             // a distribution per row
  std::string temperature = "1";
  std::string precision = "double";
  bool allow_unnormalized = false;
  long classes = 0;                // n of the fixed-n symbolic proof; 0: the number of logits
  bool example_given = false;      // --logits, --target(s) or --temperature was given
};

// The softmax–cross-entropy example of the arguments: without --logits the
// seeds' example (2, 1, 0.1; class 2). Throws InputError naming the option.
SoftmaxCeInput softmax_ce_input(const DerivationArguments& arguments);

// n of the fixed-n symbolic proofs: --classes, or the number of logits
// (clamped to 2..12, the sizes the prover handles in well under a second).
long fixed_classes(const DerivationArguments& arguments, const SoftmaxCeInput& input);

struct Derivation {
  std::string name;     // "softmax-ce"
  std::string summary;  // one line
  bool takes_example;   // uses --logits, --target(s), --temperature, --classes
  report::Report (*build)(const DerivationArguments& arguments);
};

// In the order `ddx derive --list` shows them.
const std::vector<Derivation>& derivations();

// The derivation named `name`; throws InputError listing the known ones.
const Derivation& find_derivation(std::string_view name);

// The reports (derivations/softmax_ce_report.cpp, derivations/variant_reports.cpp,
// derivations/seed_examples.cpp).
report::Report softmax_ce_report(const DerivationArguments& arguments);
report::Report temperature_report(const DerivationArguments& arguments);
report::Report label_smoothing_report(const DerivationArguments& arguments);
report::Report sigmoid_bce_report(const DerivationArguments& arguments);
report::Report batch_mean_report(const DerivationArguments& arguments);
report::Report log_softmax_report(const DerivationArguments& arguments);
report::Report mse_softmax_report(const DerivationArguments& arguments);
report::Report seed_examples_report(const DerivationArguments& arguments);

}  // namespace ddx
