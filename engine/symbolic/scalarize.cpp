#include "engine/symbolic/scalarize.hpp"

#include <fmt/format.h>

#include "engine/op.hpp"

namespace ddx::sym {

Scalarizer::Scalarizer(Context& ctx, const Graph& g, std::set<std::string, std::less<>> positive)
    : ctx_(ctx), graph_(g), positive_(std::move(positive)) {}

const std::vector<Value>& Scalarizer::values(NodeId root) {
  if (values_.size() < graph_.size()) {
    values_.resize(graph_.size());
    done_.resize(graph_.size(), 0);
  }
  if (done_[root]) return values_[root];
  ContextScope scope(ctx_);
  std::vector<TensorView<Value>> views;
  const std::vector<NodeId> order = topological_order(graph_, std::span(&root, 1));
  // How many nodes still to be computed in this call use each node.
  std::vector<std::uint32_t> pending_users(graph_.size(), 0);
  for (NodeId id : order)
    if (!done_[id])
      for (NodeId in : graph_.node(id).inputs()) ++pending_users[in];
  for (NodeId id : order) {
    if (done_[id]) continue;
    const Node& n = graph_.node(id);
    const auto size = static_cast<std::size_t>(n.shape.size());
    std::vector<Value> out(size);
    if (n.op == kVarOp) {
      const std::string& name = graph_.attr(id).name;
      const bool positive = positive_.contains(name);
      for (std::size_t k = 0; k < size; ++k) {
        const long row = n.shape.rank == 2 ? static_cast<long>(k / n.shape.cols()) : -1;
        const long col = n.shape.rank == 0 ? -1 : static_cast<long>(k % n.shape.cols());
        out[k] = Value(ctx_.atom_poly(ctx_.symbol(name, row, col, positive)));
      }
    } else if (n.op == kConstOp) {
      if (const Rational* c = graph_.uniform_constant(id))
        std::fill(out.begin(), out.end(), Value(ctx_.constant(*c)));
      else
        for (std::size_t k = 0; k < size; ++k) out[k] = Value(ctx_.constant(graph_.constant_at(id, k)));
    } else if (const auto kernel = op_info(n.op).symbolic) {
      views.clear();
      for (NodeId in : n.inputs()) views.push_back({values_[in].data(), graph_.shape(in)});
      kernel(graph_, id, views, n.shape, out.data());
    } else {
      // No algebraic form: each element is an opaque atom standing for that node's element.
      for (std::size_t k = 0; k < size; ++k) {
        const AtomId a = ctx_.opaque(std::string(op_info(n.op).name), id, static_cast<long>(k));
        out[k] = Value(ctx_.atom_poly(a));
      }
    }
    values_[id] = std::move(out);
    done_[id] = 1;
    for (NodeId in : graph_.node(id).inputs()) {
      const Node& input = graph_.node(in);
      const bool leaf = input.op == kVarOp || input.op == kConstOp;
      if (--pending_users[in] == 0 && in != root && !leaf && values_[in].size() > 1) {
        std::vector<Value>().swap(values_[in]);
        done_[in] = 0;
      }
    }
  }
  return values_[root];
}

}  // namespace ddx::sym
