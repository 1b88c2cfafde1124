// Printing nodes and expressions as text.
#pragma once

#include <functional>
#include <string>

#include "engine/graph.hpp"

namespace ddx {

// How a node is referred to in listings: a variable by its name, a scalar
// constant by its value, any other node as %id.
std::string node_ref(const Graph& g, NodeId id);

// One level of a node, its inputs as references: "exp(%2)", "%3 / %5", "sum(%1, axis=1)".
std::string node_call(const Graph& g, NodeId id);
// The same with the inputs referred to by `name` (e.g. their statement names: "log(p)").
std::string node_call(const Graph& g, NodeId id, const std::function<std::string(NodeId)>& name);

// The whole expression in infix notation, e.g. "exp(z) / sum(exp(z))".
// Shared subexpressions are printed in full each time they occur, so the text
// can be much larger than the graph: a subexpression whose text would exceed
// `max_chars` is printed as its reference (%id) instead. Iterative.
std::string to_infix(const Graph& g, NodeId id, std::size_t max_chars = 4000);

}  // namespace ddx
