// Reverse-mode differentiation as a graph transformation.
//
// reverse_mode(g, L, {z, ...}) sweeps the ancestors of L once, in reverse
// topological order. Each node's adjoint ḡ (∂L/∂node) is the sum of the
// contributions sent to it by its users; the node's op turns ḡ into
// contributions for its own inputs by its vector-Jacobian rule. All of this
// happens by adding nodes to the same graph, so a gradient is an ordinary
// expression: it can be evaluated at any precision, printed, and differentiated again.
#pragma once

#include <span>
#include <vector>

#include "engine/expr.hpp"

namespace ddx {

// The two ops the sweep itself needs: adding contributions, and summing a
// contribution over broadcast axes back to its input's shape. ops/ supplies them.
struct AdjointAlgebra {
  Expr (*add)(Expr, Expr);
  Expr (*sum_to)(Expr, Shape);
};

// One node's turn in the sweep.
struct SweepStep {
  NodeId node = 0;
  NodeId adjoint = 0;                  // ḡ for this node
  std::vector<NodeId> accumulated;     // the contributions summed into ḡ (several when the node fans out)
  std::vector<NodeId> partial_sums;    // the running total after each contribution (the last is ḡ)
  struct Send {
    int input = 0;        // which argument of the node
    NodeId to = 0;        // the input node
    NodeId contribution;  // what was sent, already summed to the input's shape
  };
  std::vector<Send> sends;
};

struct Gradient {
  std::vector<NodeId> wrt;         // the variables, as asked
  std::vector<NodeId> gradients;   // ∂L/∂wrt[k], same shape as wrt[k]
  NodeId loss = 0;
  NodeId seed = 0;                 // the adjoint of L itself (the constant 1)
  std::vector<SweepStep> sweep;    // in sweep order (reverse topological)
};

// Differentiates the scalar `loss` with respect to each of `wrt`. A variable
// the loss does not depend on gets a zero gradient. Throws ShapeError when the
// loss is not a scalar.
Gradient reverse_mode(Graph& g, NodeId loss, std::span<const NodeId> wrt, const AdjointAlgebra& algebra);

}  // namespace ddx
