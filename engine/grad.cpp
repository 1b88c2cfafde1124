#include "engine/grad.hpp"

#include <fmt/format.h>

#include "engine/op.hpp"
#include "engine/print.hpp"

namespace ddx {

Gradient reverse_mode(Graph& g, NodeId loss, std::span<const NodeId> wrt, const AdjointAlgebra& algebra) {
  if (!g.shape(loss).is_scalar())
    throw ShapeError(fmt::format("grad: the differentiated expression must be a scalar, but {} has shape {}",
                                 node_ref(g, loss), to_string(g.shape(loss))));
  Gradient result;
  result.wrt.assign(wrt.begin(), wrt.end());
  result.loss = loss;
  result.seed = g.constant(Rational(1));

  const std::vector<NodeId> order = topological_order(g, std::span(&loss, 1));
  // Only nodes that depend on some wrt variable carry an adjoint.
  std::vector<char> relevant(g.size(), 0);
  for (NodeId w : wrt) relevant.at(w) = 1;
  for (NodeId id : order)
    for (NodeId in : g.node(id).inputs()) relevant[id] |= relevant[in];

  std::vector<std::vector<NodeId>> contributions(g.size());
  contributions[loss].push_back(result.seed);
  std::vector<NodeId> adjoint(g.size(), 0);
  std::vector<char> has_adjoint(g.size(), 0);

  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const NodeId id = *it;
    if (!relevant[id] || contributions[id].empty()) continue;
    // ḡ = the sum of every contribution this node received.
    Expr total{g, contributions[id].front()};
    std::vector<NodeId> partial_sums{total.id()};
    for (std::size_t k = 1; k < contributions[id].size(); ++k) {
      total = algebra.add(total, {g, contributions[id][k]});
      partial_sums.push_back(total.id());
    }
    adjoint[id] = total.id();
    has_adjoint[id] = 1;

    SweepStep step{.node = id,
                   .adjoint = total.id(),
                   .accumulated = std::move(contributions[id]),
                   .partial_sums = std::move(partial_sums)};
    contributions[id].clear();
    const Node node = g.node(id);  // copy: adding nodes may reallocate
    const OpInfo& info = op_info(node.op);
    if (node.arity > 0 && info.vjp) {
      VjpContext ctx{g, id, total.id(), {}};
      bool any = false;
      for (int k = 0; k < node.arity; ++k) any |= (ctx.needs[k] = relevant[node.in[k]] != 0);
      if (any) {
        const auto sent = info.vjp(ctx);
        for (int k = 0; k < node.arity; ++k) {
          if (!ctx.needs[k] || !sent[k].valid()) continue;
          const NodeId input = node.in[k];
          Expr c = sent[k];
          if (!(c.shape() == g.shape(input))) c = algebra.sum_to(c, g.shape(input));
          contributions[input].push_back(c.id());
          step.sends.push_back({k, input, c.id()});
        }
      }
    }
    result.sweep.push_back(std::move(step));
  }

  for (NodeId w : wrt) {
    if (has_adjoint[w]) {
      result.gradients.push_back(adjoint[w]);
    } else {
      const Shape& s = g.shape(w);
      result.gradients.push_back(g.fill(0, s));
    }
  }
  return result;
}

}  // namespace ddx
