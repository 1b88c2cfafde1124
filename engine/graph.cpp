#include "engine/graph.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <functional>

#include "engine/expr.hpp"
#include "engine/op.hpp"

namespace ddx {
namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  // 64-bit variant of boost::hash_combine.
  return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 12) + (h >> 4));
}

// Refuses a value of more than kMaxElements elements; `what` names it.
void check_elements(const Shape& shape, const std::string& what) {
  if (shape.size() > kMaxElements)
    throw ShapeError(fmt::format("{} would have shape {}, {} elements; the limit is {}", what, to_string(shape),
                                 shape.size(), kMaxElements));
}

std::vector<OpInfo>& registry() {
  static std::vector<OpInfo> ops = [] {
    std::vector<OpInfo> v;
    OpInfo constant{.name = "const", .arity = 0};
    OpInfo variable{.name = "var", .arity = 0};
    v.push_back(constant);
    v.push_back(variable);
    return v;
  }();
  return ops;
}

}  // namespace

OpId register_op(OpInfo info) {
  auto& ops = registry();
  if (find_op(info.name)) throw std::logic_error(fmt::format("op '{}' registered twice", info.name));
  ops.push_back(std::move(info));
  return static_cast<OpId>(ops.size() - 1);
}

const OpInfo& op_info(OpId id) { return registry().at(id); }

const OpInfo* find_op(std::string_view name, OpId* id) {
  const auto& ops = registry();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].name == name) {
      if (id) *id = static_cast<OpId>(i);
      return &ops[i];
    }
  }
  return nullptr;
}

std::size_t op_count() { return registry().size(); }

Graph::Graph() { attrs_.emplace_back(); }

std::uint64_t Graph::hash(const Node& n, const Attr& a) const {
  std::uint64_t h = mix(n.op, n.arity);
  for (NodeId i : n.inputs()) h = mix(h, i);
  h = mix(h, std::hash<std::string>{}(a.name));
  for (const Rational& r : a.values) h = mix(h, std::hash<std::string>{}(r.str()));
  h = mix(h, static_cast<std::uint64_t>(a.shape.rank));
  for (int i = 0; i < a.shape.rank; ++i) h = mix(h, static_cast<std::uint64_t>(a.shape.dims[i]));
  return mix(h, static_cast<std::uint64_t>(a.integer));
}

NodeId Graph::insert(Node node, Attr attr) {
  const std::uint64_t h = hash(node, attr);
  auto [lo, hi] = index_.equal_range(h);
  for (auto it = lo; it != hi; ++it) {
    const Node& other = nodes_[it->second];
    if (other.op == node.op && other.arity == node.arity &&
        std::equal(other.in.begin(), other.in.begin() + other.arity, node.in.begin()) &&
        attrs_[other.attr] == attr)
      return it->second;
  }
  if (nodes_.size() >= std::numeric_limits<NodeId>::max())
    throw std::length_error("graph too large: more than 4294967295 nodes");
  if (attr == Attr{}) {
    node.attr = 0;
  } else {
    node.attr = static_cast<std::uint32_t>(attrs_.size());
    attrs_.push_back(std::move(attr));
  }
  const auto id = static_cast<NodeId>(nodes_.size());
  nodes_.push_back(node);
  index_.emplace(h, id);
  return id;
}

NodeId Graph::add(OpId op, std::span<const NodeId> inputs, Attr attr) {
  const OpInfo& info = op_info(op);
  if (static_cast<int>(inputs.size()) != info.arity)
    throw std::invalid_argument(
        fmt::format("{} takes {} argument(s), got {}", info.name, info.arity, inputs.size()));
  Node node;
  node.op = op;
  node.arity = static_cast<std::uint8_t>(inputs.size());
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    if (inputs[k] >= nodes_.size()) throw std::out_of_range(fmt::format("{}: no node %{}", info.name, inputs[k]));
    node.in[k] = inputs[k];
  }
  node.shape = info.infer_shape(*this, inputs, attr);
  check_elements(node.shape, fmt::format("{}: the result", info.name));
  return insert(node, std::move(attr));
}

NodeId Graph::variable(const std::string& name, Shape shape) {
  for (NodeId v : variables_) {
    if (attrs_[nodes_[v].attr].name == name) {
      if (nodes_[v].shape == shape) return v;
      throw ShapeError(fmt::format("variable '{}' is declared with shape {}, not {}", name,
                                   to_string(nodes_[v].shape), to_string(shape)));
    }
  }
  Node node;
  node.op = kVarOp;
  node.shape = shape;
  const NodeId id = insert(node, Attr{.name = name});
  variables_.push_back(id);
  return id;
}

NodeId Graph::constant(std::vector<Rational> values, Shape shape) {
  if (static_cast<std::int64_t>(values.size()) != shape.size())
    throw ShapeError(fmt::format("constant of shape {} needs {} values, got {}", to_string(shape),
                                 shape.size(), values.size()));
  // One form per value: equal elements are held once.
  const auto equal_first = [&](const Rational& r) { return r == values.front(); };
  if (values.size() > 1 && std::all_of(values.begin() + 1, values.end(), equal_first)) values.resize(1);
  Node node;
  node.op = kConstOp;
  node.shape = shape;
  // The shape is part of a constant's identity: [-1] of shape [1] is not the scalar -1.
  return insert(node, Attr{.values = std::move(values), .shape = shape});
}

NodeId Graph::fill(const Rational& value, Shape shape) {
  check_elements(shape, "a constant");
  Node node;
  node.op = kConstOp;
  node.shape = shape;
  return insert(node, Attr{.values = {value}, .shape = shape});
}

bool Graph::is_constant(NodeId id) const { return nodes_[id].op == kConstOp; }
bool Graph::is_variable(NodeId id) const { return nodes_[id].op == kVarOp; }

const Rational* Graph::uniform_constant(NodeId id) const {
  if (!is_constant(id)) return nullptr;
  const auto& v = attrs_[nodes_[id].attr].values;
  return v.size() == 1 ? &v.front() : nullptr;
}

const Rational& Graph::constant_at(NodeId id, std::int64_t k) const {
  const auto& v = attrs_[nodes_[id].attr].values;
  return v.size() == 1 ? v.front() : v[static_cast<std::size_t>(k)];
}

std::vector<Rational> Graph::constant_values(NodeId id) const {
  const auto& v = attrs_[nodes_[id].attr].values;
  return v.size() == 1 ? std::vector<Rational>(static_cast<std::size_t>(nodes_[id].shape.size()), v.front()) : v;
}

std::vector<NodeId> topological_order(const Graph& g, std::span<const NodeId> roots) {
  // Inputs have smaller ids than their users, so marking ancestors with an
  // explicit stack and sorting by id gives a topological order.
  std::vector<char> seen(g.size(), 0);
  std::vector<NodeId> stack(roots.begin(), roots.end());
  std::vector<NodeId> order;
  while (!stack.empty()) {
    const NodeId n = stack.back();
    stack.pop_back();
    if (seen[n]) continue;
    seen[n] = 1;
    order.push_back(n);
    for (NodeId i : g.node(n).inputs())
      if (!seen[i]) stack.push_back(i);
  }
  std::sort(order.begin(), order.end());
  return order;
}

Expr VjpContext::input(int k) const { return {graph, graph.node(node).in[k]}; }
Expr VjpContext::result() const { return {graph, node}; }
Expr VjpContext::grad() const { return {graph, adjoint}; }

}  // namespace ddx
