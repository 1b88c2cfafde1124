// Expr: a handle to a node of a graph, for building expressions that read
// like the math. The arithmetic operators and functions live in ops/.
#pragma once

#include "engine/graph.hpp"

namespace ddx {

class Expr {
 public:
  Expr() = default;
  Expr(Graph& g, NodeId id) : graph_(&g), id_(id) {}

  bool valid() const { return graph_ != nullptr; }
  explicit operator bool() const { return valid(); }
  Graph& graph() const { return *graph_; }
  NodeId id() const { return id_; }
  const Node& node() const { return graph_->node(id_); }
  // A copy: a reference into the graph would dangle once a node is added.
  Shape shape() const { return graph_->shape(id_); }

  friend bool operator==(const Expr& a, const Expr& b) { return a.graph_ == b.graph_ && a.id_ == b.id_; }

 private:
  Graph* graph_ = nullptr;
  NodeId id_ = 0;
};

inline Expr variable(Graph& g, const std::string& name, Shape shape) { return {g, g.variable(name, shape)}; }
inline Expr constant(Graph& g, const Rational& value) { return {g, g.constant(value)}; }

}  // namespace ddx
