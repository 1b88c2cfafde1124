// The expression DAG. Nodes are immutable and hash-consed: adding a node that
// is structurally equal to an existing one (same op, inputs and attributes)
// returns the existing node. Inputs always have smaller ids than the node that
// uses them, so ascending id order is a topological order.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/rational.hpp"
#include "engine/shape.hpp"

namespace ddx {

using NodeId = std::uint32_t;
using OpId = std::uint16_t;
inline constexpr int kMaxInputs = 3;
// The most elements one node's value may have (broadcasting a long column
// against a long row multiplies sizes): Graph::add refuses larger results.
inline constexpr std::int64_t kMaxElements = std::int64_t{1} << 25;

// Attributes that make two nodes with the same op and inputs different.
struct Attr {
  std::string name;              // a variable's name
  // A constant's values, row-major, one per element; a constant whose
  // elements are all equal holds that value once (Graph::constant keeps it
  // so), so a large uniform constant costs one number.
  std::vector<Rational> values;
  Shape shape;                   // a target shape (reductions, broadcasts)
  long integer = 0;              // an integer parameter (an exponent, say)

  friend bool operator==(const Attr&, const Attr&) = default;
};

struct Node {
  OpId op = 0;
  std::uint8_t arity = 0;
  std::array<NodeId, kMaxInputs> in{};
  Shape shape;
  std::uint32_t attr = 0;  // index into Graph's attribute table; 0 is the empty Attr

  std::span<const NodeId> inputs() const { return {in.data(), arity}; }
};

class Graph {
 public:
  Graph();
  Graph(const Graph&) = delete;  // Exprs point at their graph
  Graph& operator=(const Graph&) = delete;

  // Adds (or finds) the node op(inputs) with attributes attr. The shape is
  // inferred by the op's shape rule, which throws ShapeError on a mismatch
  // (and so does a shape of more than kMaxElements elements).
  NodeId add(OpId op, std::span<const NodeId> inputs, Attr attr = {});

  // Leaves. A variable is identified by its name; declaring a name again with
  // another shape throws. A constant holds exact rationals, one per element
  // (one for all when they are equal).
  NodeId variable(const std::string& name, Shape shape);
  NodeId constant(std::vector<Rational> values, Shape shape);
  NodeId constant(const Rational& value) { return fill(value, Shape::scalar()); }
  // The constant of the given shape whose every element is `value`.
  NodeId fill(const Rational& value, Shape shape);

  const Node& node(NodeId id) const { return nodes_[id]; }
  const Attr& attr(NodeId id) const { return attrs_[nodes_[id].attr]; }
  const Shape& shape(NodeId id) const { return nodes_[id].shape; }
  std::size_t size() const { return nodes_.size(); }

  bool is_constant(NodeId id) const;
  bool is_variable(NodeId id) const;
  // The value of a constant node whose elements are all equal, if it is one.
  const Rational* uniform_constant(NodeId id) const;
  // Element k (row-major) of a constant node, and all its elements.
  const Rational& constant_at(NodeId id, std::int64_t k) const;
  std::vector<Rational> constant_values(NodeId id) const;
  // Variables in order of declaration.
  const std::vector<NodeId>& variables() const { return variables_; }

 private:
  NodeId insert(Node node, Attr attr);
  std::uint64_t hash(const Node& node, const Attr& attr) const;

  std::vector<Node> nodes_;
  std::vector<Attr> attrs_;
  std::unordered_multimap<std::uint64_t, NodeId> index_;
  std::vector<NodeId> variables_;
};

// All ancestors of `roots` (roots included), in topological order. Iterative.
std::vector<NodeId> topological_order(const Graph& g, std::span<const NodeId> roots);

}  // namespace ddx
