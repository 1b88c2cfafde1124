// Graph rewriting: replace the subgraphs that rules recognise, and rebuild
// everything above them.
//
// A rule looks at one node and, when the node is the root of a pattern it
// knows, returns a match: the pattern's inputs (its leaves), the nodes the
// pattern consists of, and how to build the replacement from leaves. The
// rewrite visits the nodes the roots depend on from the top down (users before
// their inputs), so the largest pattern at a node wins and nodes inside a
// matched pattern are not matched again unless something outside the pattern
// uses them. Then it rebuilds bottom-up in the same graph: a matched node
// becomes its replacement built on the rewritten leaves, a node whose inputs
// changed is added again with the new inputs, and every other node stays what
// it is, so a graph in which no rule matches keeps its node ids.
//
// The engine knows no rule: they come from ops/ (ops/fusion.hpp).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/graph.hpp"

namespace ddx {

struct RewriteMatch {
  std::string rule;              // the rule's name, e.g. "logsumexp_to_fused"
  std::vector<NodeId> leaves;    // the pattern's inputs
  std::vector<NodeId> replaced;  // the pattern's nodes, its root first
  // Builds the replacement on leaves (in the order of `leaves`); the result
  // must have the root's shape.
  std::function<NodeId(Graph&, std::span<const NodeId> leaves)> build;
};

// Returns a match when `node` is the root of a pattern the rule knows.
using RewriteRule = std::function<std::optional<RewriteMatch>(const Graph&, NodeId node)>;

struct AppliedRewrite {
  RewriteMatch match;
  NodeId root = 0;         // the matched node, in the graph before the rewrite
  NodeId local = 0;        // the replacement built on the original leaves: the rewrite step itself, root = local
  NodeId replacement = 0;  // the replacement built on the rewritten leaves, part of the new graph
};

struct RewriteResult {
  std::vector<NodeId> roots;           // the new roots, one per root given
  std::vector<AppliedRewrite> applied;  // in the order of the rebuild (bottom-up)
};

// Rewrites the graph that `roots` depend on with `rules` (tried in order at
// each node; the first match wins). Throws std::logic_error when a rule's
// replacement has another shape than the node it replaces.
RewriteResult rewrite(Graph& g, std::span<const NodeId> roots, std::span<const RewriteRule> rules);

}  // namespace ddx
