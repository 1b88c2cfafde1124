// The fusion pass: finds composed softmax patterns in any graph and replaces
// each with the fused op of ops/fused.hpp, with the engine's graph rewriting
// (engine/rewrite.hpp). The rules, each recorded by name:
//
//   crossentropy_softmax_to_fused   c·Σ y·log softmax(x) → softmax_cross_entropy(x, y)·(−c·B)
//                                   (−Σ y·log p, its batch mean, any scalar multiple;
//                                   log softmax in any form below; x may be z / T)
//   log_softmax_to_fused            log(softmax(x)), x − log Σ exp(x) → log_softmax_fused(x)
//   logsumexp_to_fused              log(sum(exp(x), last axis)) → log_sum_exp(x)
//   softmax_to_fused                exp(x) / sum(exp(x), last axis) → softmax_fused(x)
//
// softmax(x) is exp(x) / sum(exp(x)) summed along the last axis (for a vector
// also the full sum); a shift by a row constant, x − c with c one value per
// row (the max-shift exp(x − stop_gradient(max(x)))), is dropped, since the
// fused ops shift by the max themselves and softmax does not depend on it.
//
// Every rewrite is proven: the matched node equals the replacement built on
// the same inputs, decided by the fixed-n prover (engine/symbolic/prover.hpp)
// at the graph's own shapes; the proof is part of the record.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "engine/proof.hpp"
#include "engine/rewrite.hpp"

namespace ddx {

std::span<const RewriteRule> fusion_rules();

struct FusionRecord {
  std::string rule;  // "crossentropy_softmax_to_fused", ...
  NodeId root = 0;   // the matched node (the value the rewrite replaces)
  std::string before;  // the matched node as an expression
  struct Replaced {
    NodeId id;
    std::string node;  // one level: "exp(%2)", "%3 / %5"
  };
  std::vector<Replaced> replaced;  // the pattern's nodes, root first
  NodeId fused = 0;                // the node it introduced, in the rewritten graph
  std::string after;               // that node as an expression
  Proof proof;                     // before = the fused node on the same inputs
};

struct FusionOptions {
  bool prove = true;        // false: records carry an unproven, empty proof
  bool check_steps = true;  // check each proof step numerically (engine/symbolic/prover.hpp)
};

struct FusionResult {
  std::vector<NodeId> roots;  // the rewritten roots
  std::vector<FusionRecord> rewrites;
  bool all_proven() const;
};

// Fuses the graph that `roots` depend on. A graph with nothing to fuse keeps
// its roots (same node ids).
FusionResult fuse(Graph& g, std::span<const NodeId> roots, const FusionOptions& options = {});

}  // namespace ddx
