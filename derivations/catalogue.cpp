#include "derivations/catalogue.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "derivations/inputs.hpp"

namespace ddx {

SoftmaxCeInput softmax_ce_input(const DerivationArguments& a) {
  SoftmaxCeInput in;
  in.logits = parse_rows(a.logits, "--logits");
  in.batch = a.logits.find(';') != std::string::npos;
  in.temperature = parse_number(a.temperature, "--temperature");
  in.precision = parse_precision(a.precision);
  in.allow_unnormalized = a.allow_unnormalized;
  const auto n = static_cast<long>(in.logits.front().size());
  if (!a.target.empty() && !a.targets.empty()) throw InputError("--target and --targets: give one, not both");
  if (!a.targets.empty()) {
    in.targets = parse_rows(a.targets, "--targets");
  } else if (!a.target.empty()) {
    auto classes = parse_classes(a.target, "--target", n);
    if (classes.size() != in.logits.size())
      throw InputError(fmt::format("--target: {} class(es) for {} row(s) of logits", classes.size(), in.logits.size()));
    in.set_target_classes(std::move(classes));
  } else if (a.logits == DerivationArguments{}.logits) {
    in.set_target_classes({2});  // the seeds' example
  } else {
    throw InputError("--target or --targets is required with --logits (e.g. --target 0)");
  }
  if (a.classes < 0 || a.classes == 1 || a.classes > 12)
    throw InputError(fmt::format("--classes: {} is not a number of classes from 2 to 12 for the fixed-n proof",
                                 a.classes));
  validate(in);
  return in;
}

long fixed_classes(const DerivationArguments& a, const SoftmaxCeInput& in) {
  return a.classes > 0 ? a.classes : std::clamp<long>(static_cast<long>(in.logits.front().size()), 2, 12);
}

const std::vector<Derivation>& derivations() {
  static const std::vector<Derivation> list = {
      {"softmax-ce",
       "the gradient of cross-entropy after softmax is p − y: definitions, Jacobian, chain rule, the prover's "
       "simplification, the proof for every n, the numeric proof, the reverse sweep, and why frameworks fuse",
       true, &softmax_ce_report},
      {"temperature", "softmax of z/T: the gradient is (p − y)/T, and how T sharpens or flattens p", true,
       &temperature_report},
      {"label-smoothing", "smoothed targets (1 − ε)y + ε/n still sum to 1, so the gradient is p − ỹ", true,
       &label_smoothing_report},
      {"sigmoid-bce",
       "two classes: softmax is σ of the logit difference, and binary cross-entropy has gradient σ(x) − y", true,
       &sigmoid_bce_report},
      {"batch-mean", "a batch of B rows with the mean loss: the gradient of each row is (p − y)/B", true,
       &batch_mean_report},
      {"log-softmax", "cross-entropy written with log-softmax: the same gradient p − y, and why log-softmax is "
                      "computed as z − lse(z)", true, &log_softmax_report},
      {"mse-softmax", "the contrast: mean squared error after softmax does not give p − y; the residual is shown",
       true, &mse_softmax_report},
      {"seed-examples",
       "every numeric example the seed articles print, recomputed by the engine and compared at the printed precision",
       false, &seed_examples_report},
  };
  return list;
}

const Derivation& find_derivation(std::string_view name) {
  for (const Derivation& d : derivations())
    if (d.name == name) return d;
  std::vector<std::string> known;
  for (const Derivation& d : derivations()) known.push_back(d.name);
  throw InputError(fmt::format("unknown derivation '{}'; known derivations: {}", name, join(known)));
}

}  // namespace ddx
