// Figures of a graph: DOT text for graphviz, and SVG through graphviz.
//
// A figure draws tensor-level nodes (one box per node of the Graph, so a
// softmax over n = 10 is a handful of boxes, not 10 scalar chains), each
// labelled with its op in the op table's notation, its name, its shape, and
// optionally its forward value and its adjoint ḡ. With gradient roots, the
// forward graph and the gradient graph are drawn side by side in two
// clusters; a gradient node that reuses a forward result has an edge from
// the forward node (the node is shared, not drawn twice).
//
// Ids, for styling and for highlighting in an HTML page (graphviz copies them
// into the SVG: <g id="node-5" class="node forward op op-exp">):
//   node-<NodeId>            every node
//   edge-<input>-<user>      every edge, in data-flow direction (input → user);
//                            one edge per distinct pair (x*x has one edge, labelled "a,b")
//   cluster-forward, cluster-gradient   the clusters (only with gradient roots)
// Classes of a node: "forward" or "gradient"; "variable", "constant" or "op";
// "op-<op name>"; "root" (a forward root), "gradient-root", and "shared" (a
// forward node a gradient node uses). Edges: "reuse" when they go from a
// forward node to a gradient node, else "forward" or "gradient".
//
// The text is deterministic: the same graph and options give byte-identical
// DOT, and dot_to_svg strips the only varying part of graphviz's output (its
// version comment).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/graph.hpp"

namespace ddx {

struct FigureOptions {
  // The nodes to draw with their ancestors. When both lists are empty the
  // whole graph is drawn.
  std::vector<NodeId> roots;           // the forward results, e.g. the loss
  std::vector<NodeId> gradient_roots;  // e.g. Gradient::gradients
  // Statement or variable names ("p", "∂L/∂z"); a variable is named by itself.
  std::map<NodeId, std::string> names;
  // Forward values and adjoints ḡ = ∂L/∂node, one string per element in
  // row-major order, already formatted. Long lists are abbreviated.
  std::map<NodeId, std::vector<std::string>> values;
  std::map<NodeId, std::vector<std::string>> adjoints;
  std::string title;             // drawn above the figure when not empty
  std::size_t max_elements = 4;  // longer lists show their first max_elements - 1, "…", and the last
};

// The figure as DOT text (UTF-8).
std::string to_dot(const Graph& g, const FigureOptions& options);

// "[a, b, c, …, z]" for a list longer than max_elements (at least 2), else
// all elements; a single element is shown without brackets.
std::string abbreviate_elements(std::span<const std::string> elements, std::size_t max_elements = 4);

// The text of a DOT quoted string (without the quotes): escapes '"' and '\',
// and turns newlines into spaces.
std::string dot_escape(std::string_view text);

// Runs graphviz (`program -Tsvg`, no shell) on `dot` and returns the SVG, with
// graphviz's version comment removed so the output is deterministic. On
// failure returns nullopt and sets `error`: graphviz not installed, or its
// exit status and messages.
std::optional<std::string> dot_to_svg(std::string_view dot, std::string& error, const std::string& program = "dot");

// The SVG without its XML prolog, DOCTYPE and comments, to embed inline in HTML.
std::string svg_for_html(std::string_view svg);

}  // namespace ddx
