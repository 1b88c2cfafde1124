// Proofs for every number of classes n, in the index calculus
// (engine/index/): the gradient of cross-entropy after softmax is p − y, by
// the textbook route (chain rule through p, quotient rule split into the
// cases i = j and i ≠ j) and the direct route (simplify L first), and the
// related identities. Every formula in a trace is produced by applying rules
// to the previous one; every step is checked numerically at 50 digits.
#pragma once

#include <string>
#include <vector>

#include "engine/index/index_rules.hpp"
#include "engine/proof.hpp"

namespace ddx {

// The definitions the proofs unfold, in index notation (index::to_text and
// index::to_latex print them): pⱼ := exp(zⱼ)/Σₖ exp(zₖ) (of zⱼ/T with a
// temperature), L := −Σⱼ tⱼ log pⱼ for the targets t, ỹⱼ := (1 − ε)yⱼ + ε/n.
index::Definition softmax_definition(bool with_temperature);
index::Definition loss_definition(const std::string& targets);
index::Definition smoothed_targets_definition();

// "softmax-ce", "softmax-sums-to-one", "shift-invariance", "softmax-jacobian",
// "temperature", "label-smoothing".
std::vector<std::string> every_n_identities();

// The routes of an identity, the default first ("textbook" and "direct" for
// softmax-ce). Throws std::invalid_argument naming an unknown identity.
std::vector<std::string> every_n_routes(const std::string& identity);

// Proves `identity` for every n by `route` ("" for the default route). With
// use_hypothesis false, the hypothesis Σⱼ yⱼ = 1 is not available: a claim
// that needs it is not proven, and the residual shows what is missing.
// `replacements` replace the standard rules of the same name (a test can
// substitute a wrong rule and see the numeric check catch it). Throws
// std::invalid_argument naming an unknown identity or route.
Proof prove_every_n(const std::string& identity, const std::string& route = "", bool use_hypothesis = true,
                    const std::vector<index::Rule>& replacements = {});

}  // namespace ddx
