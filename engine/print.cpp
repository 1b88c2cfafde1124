#include "engine/print.hpp"

#include <fmt/format.h>
#include <vector>

#include "engine/op.hpp"

namespace ddx {
namespace {

// A constant as the expression language writes it: 2, [2, 1, 0.1], or
// [[1, 2], [3, 4]] for a matrix, so that it parses back to the same node.
std::string constant_text(const Graph& g, NodeId id) {
  const std::vector<Rational> values = g.constant_values(id);
  const Shape& shape = g.shape(id);
  if (shape.is_scalar()) return to_string(values.front());
  auto row = [&](std::size_t begin, std::size_t count) {
    std::string s = "[";
    for (std::size_t k = 0; k < count; ++k) s += (k ? ", " : "") + to_string(values[begin + k]);
    return s + "]";
  };
  if (shape.rank == 1) return row(0, values.size());
  const auto cols = static_cast<std::size_t>(shape.cols());
  std::string s = "[";
  for (std::size_t r = 0; r < values.size() / cols; ++r) s += (r ? ", " : "") + row(r * cols, cols);
  return s + "]";
}

// The printed form of node `id` given the printed forms of its inputs and
// their precedences; returns the text and its own precedence.
std::pair<std::string, int> render(const Graph& g, NodeId id, std::span<const std::string> args,
                                   std::span<const int> arg_prec) {
  const Node& n = g.node(id);
  if (n.op == kVarOp) return {g.attr(id).name, 1000};
  if (n.op == kConstOp) {
    const std::string s = constant_text(g, id);
    return {s, s.starts_with('-') ? 0 : 1000};
  }
  const OpInfo& info = op_info(n.op);
  auto wrap = [&](std::size_t k, int need) {
    return arg_prec[k] < need ? "(" + args[k] + ")" : args[k];
  };
  switch (info.notation) {
    case Notation::Infix:
      // Left-associative: the right operand needs strictly tighter binding.
      return {fmt::format("{} {} {}", wrap(0, info.precedence), info.symbol, wrap(1, info.precedence + 1)),
              info.precedence};
    case Notation::Prefix:
      return {fmt::format("{}{}", info.symbol, wrap(0, info.precedence + 1)), info.precedence};
    default: {
      std::string s = fmt::format("{}(", info.symbol.empty() ? info.name : info.symbol);
      for (std::size_t k = 0; k < args.size(); ++k) s += (k ? ", " : "") + args[k];
      if (info.attr_text) s += info.attr_text(g, id);
      return {s + ")", 1000};
    }
  }
}

}  // namespace

std::string node_ref(const Graph& g, NodeId id) {
  if (g.is_variable(id)) return g.attr(id).name;
  if (g.is_constant(id) && g.shape(id).is_scalar()) return constant_text(g, id);
  return fmt::format("%{}", id);
}

std::string node_call(const Graph& g, NodeId id) {
  return node_call(g, id, [&g](NodeId in) { return node_ref(g, in); });
}

std::string node_call(const Graph& g, NodeId id, const std::function<std::string(NodeId)>& name) {
  const Node& n = g.node(id);
  std::vector<std::string> args;
  std::vector<int> prec;
  for (NodeId in : n.inputs()) {
    args.push_back(name(in));
    prec.push_back(1000);
  }
  return render(g, id, args, prec).first;
}

std::string to_infix(const Graph& g, NodeId root, std::size_t max_chars) {
  const std::vector<NodeId> order = topological_order(g, std::span(&root, 1));
  std::vector<std::string> text(order.size());
  std::vector<int> prec(order.size());
  auto index_of = [&](NodeId id) {
    return static_cast<std::size_t>(std::lower_bound(order.begin(), order.end(), id) - order.begin());
  };
  std::vector<std::string> args;
  std::vector<int> arg_prec;
  for (std::size_t i = 0; i < order.size(); ++i) {
    args.clear();
    arg_prec.clear();
    for (NodeId in : g.node(order[i]).inputs()) {
      const std::size_t j = index_of(in);
      args.push_back(text[j]);
      arg_prec.push_back(prec[j]);
    }
    auto [s, p] = render(g, order[i], args, arg_prec);
    if (s.size() > max_chars) {
      s = fmt::format("%{}", order[i]);
      p = 1000;
    }
    text[i] = std::move(s);
    prec[i] = p;
  }
  return text.back();
}

}  // namespace ddx
