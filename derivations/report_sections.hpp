// Building blocks the derivation reports share: a proof as steps and a
// verdict, the engine's definitions as display math, and the numeric proof of
// softmax–cross-entropy as tables, a figure of the reverse sweep and a verdict.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "derivations/report.hpp"
#include "derivations/softmax_ce.hpp"
#include "engine/eval.hpp"
#include "engine/index/index_expr.hpp"
#include "engine/proof.hpp"

namespace ddx::report {

// "name := body" of an index-calculus definition, e.g. pⱼ := exp(zⱼ)/Σₖ exp(zₖ).
Math definition_math(const index::Definition& definition);

// The claim (and its hypotheses), every step with its rule, and a verdict:
// passed when proven == expect_proven. A proof that is not proven shows its
// residual.
void add_proof(Section& section, const Proof& proof, bool expect_proven = true);

// The proof's verdict sentence: "proven for every n (route textbook, 24 steps,
// each checked numerically)" or "not proven: the residual is …".
std::string proof_outcome(const Proof& proof);

// The numeric proof of `proof` (derivations/softmax_ce.hpp): the graph's
// gradient beside p − y at the display precision (at most `max_rows`
// components), the checks with their tolerances, and a verdict.
void add_numeric_proof(Section& section, const SoftmaxCeProof& proof, std::size_t max_rows = 12);

// The composed graph drawn with each node's op, forward value and adjoint
// (DOT, and SVG when graphviz is installed).
Figure reverse_mode_figure(const SoftmaxCeProof& proof);

// Each node of L in evaluation order: what it computes, its shape, its value.
Table forward_table(const SoftmaxCeProof& proof);

// The sweep in order: each node's adjoint, the rule of its op, what it sent.
Table sweep_table(const SoftmaxCeProof& proof);

// The example's input as a sentence: "logits z = [2, 1, 0.1], target class 2, T = 1".
std::string describe_input(const SoftmaxCeInput& input);

}  // namespace ddx::report
