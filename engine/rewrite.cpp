#include "engine/rewrite.hpp"

#include <fmt/format.h>

#include "engine/op.hpp"

namespace ddx {

RewriteResult rewrite(Graph& g, std::span<const NodeId> roots, std::span<const RewriteRule> rules) {
  const std::vector<NodeId> order = topological_order(g, roots);
  const std::size_t size = g.size();  // nodes added by the rebuild are not visited

  // Top down: a node is visited when something outside every matched pattern
  // uses it (or it is a root).
  std::vector<char> needed(size, 0);
  for (NodeId r : roots) needed[r] = 1;
  std::vector<std::optional<RewriteMatch>> matches(size);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const NodeId id = *it;
    if (!needed[id]) continue;
    for (const RewriteRule& rule : rules) {
      if ((matches[id] = rule(g, id))) break;
    }
    if (matches[id]) {
      for (NodeId leaf : matches[id]->leaves) needed[leaf] = 1;
    } else {
      for (NodeId in : g.node(id).inputs()) needed[in] = 1;
    }
  }

  // Bottom up: rebuild with the replacements.
  RewriteResult result;
  std::vector<NodeId> mapped(size);
  for (NodeId id = 0; id < size; ++id) mapped[id] = id;
  for (NodeId id : order) {
    if (!needed[id]) continue;
    if (auto& m = matches[id]) {
      std::vector<NodeId> leaves;
      for (NodeId leaf : m->leaves) leaves.push_back(mapped[leaf]);
      const NodeId local = m->build(g, m->leaves);
      const NodeId replacement = m->build(g, leaves);
      for (NodeId built : {local, replacement})
        if (!(g.shape(built) == g.shape(id)))
          throw std::logic_error(fmt::format("rewrite {}: the replacement of %{} has shape {}, not {}", m->rule, id,
                                             to_string(g.shape(built)), to_string(g.shape(id))));
      mapped[id] = replacement;
      result.applied.push_back({std::move(*m), id, local, replacement});
      continue;
    }
    const Node node = g.node(id);  // copy: adding nodes may reallocate
    bool changed = false;
    std::array<NodeId, kMaxInputs> in{};
    for (std::size_t k = 0; k < node.arity; ++k) {
      in[k] = mapped[node.in[k]];
      changed |= in[k] != node.in[k];
    }
    if (changed) mapped[id] = g.add(node.op, std::span(in.data(), node.arity), Attr(g.attr(id)));
  }
  for (NodeId r : roots) result.roots.push_back(mapped[r]);
  return result;
}

}  // namespace ddx
