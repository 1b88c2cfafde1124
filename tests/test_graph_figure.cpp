#include "derivations/graph_figure.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <regex>
#include <set>
#include <string>

#include "engine/grad.hpp"
#include "ops/composites.hpp"
#include "ops/primitives.hpp"

namespace ddx {
namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + what.size())) ++n;
  return n;
}

// The DOT statement of node `id` (one line).
std::string node_line(const std::string& dot, NodeId id) {
  const std::string key = "n" + std::to_string(id) + " [id=\"node-" + std::to_string(id) + "\"";
  const std::size_t start = dot.find(key);
  if (start == std::string::npos) return "";
  return dot.substr(start, dot.find('\n', start) - start);
}

struct SoftmaxCe {
  Graph g;
  Expr z, y, loss;
  explicit SoftmaxCe(long n = 3) {
    z = variable(g, "z", Shape::vector(n));
    y = variable(g, "y", Shape::vector(n));
    loss = cross_entropy(softmax(z), y);
  }
};

TEST(GraphFigure, OneNodePerGraphNodeWithIdsAndEdgesMatchingInputs) {
  SoftmaxCe f;
  FigureOptions o;
  o.roots = {f.loss.id()};
  const std::string dot = to_dot(f.g, o);
  const std::vector<NodeId> nodes = topological_order(f.g, o.roots);
  EXPECT_EQ(count(dot, "[id=\"node-"), nodes.size());
  std::size_t edges = 0;
  for (NodeId id : nodes) {
    const std::string line = node_line(dot, id);
    ASSERT_FALSE(line.empty()) << "node " << id << "\n" << dot;
    EXPECT_NE(line.find("class=\"forward "), std::string::npos) << line;
    EXPECT_NE(line.find("%" + std::to_string(id)), std::string::npos) << line;
    std::set<NodeId> inputs;
    for (NodeId in : f.g.node(id).inputs()) inputs.insert(in);
    for (NodeId in : inputs)
      EXPECT_NE(dot.find(fmt::format("n{} -> n{} [id=\"edge-{}-{}\"", in, id, in, id)), std::string::npos)
          << in << " -> " << id;
    edges += inputs.size();
  }
  EXPECT_EQ(count(dot, " -> "), edges);
  EXPECT_EQ(dot.find("cluster"), std::string::npos);  // no gradient: no clusters
}

TEST(GraphFigure, LabelsShowOpNotationNameAndShape) {
  SoftmaxCe f;
  FigureOptions o;
  o.roots = {f.loss.id()};
  o.names[f.loss.id()] = "L";
  const Expr e = exp(f.z);
  const std::string dot = to_dot(f.g, o);
  EXPECT_NE(node_line(dot, f.z.id()).find("label=\"z\\n%" + std::to_string(f.z.id()) + "  [3]\""), std::string::npos)
      << node_line(dot, f.z.id());
  EXPECT_NE(node_line(dot, f.z.id()).find("class=\"forward variable op-"), std::string::npos);
  EXPECT_NE(node_line(dot, e.id()).find("label=\"exp(x)\\n"), std::string::npos) << node_line(dot, e.id());
  EXPECT_NE(node_line(dot, e.id()).find("op-exp"), std::string::npos);
  EXPECT_NE(node_line(dot, f.loss.id()).find("label=\"L = "), std::string::npos) << node_line(dot, f.loss.id());
  EXPECT_NE(node_line(dot, f.loss.id()).find(" root"), std::string::npos);
  // The division of softmax is infix, its edges are labelled with the argument letters.
  EXPECT_NE(dot.find("label=\"a / b\\n"), std::string::npos) << dot;
  EXPECT_NE(dot.find(", label=\"a\""), std::string::npos);
  EXPECT_NE(dot.find(", label=\"b\""), std::string::npos);
  EXPECT_NE(dot.find("sum(x, axis=0)"), std::string::npos) << dot;
}

TEST(GraphFigure, RepeatedInputIsOneEdgeWithBothLetters) {
  Graph g;
  const Expr x = variable(g, "x", Shape::scalar());
  const Expr sq = x * x;
  FigureOptions o;
  o.roots = {sq.id()};
  const std::string dot = to_dot(g, o);
  EXPECT_EQ(count(dot, fmt::format("id=\"edge-{}-{}\"", x.id(), sq.id())), 1u);
  EXPECT_NE(dot.find("label=\"a,b\""), std::string::npos) << dot;
}

TEST(GraphFigure, GradientClusterSharesForwardNodes) {
  SoftmaxCe f;
  const Gradient d = grad(f.loss, {f.z});
  FigureOptions o;
  o.roots = {f.loss.id()};
  o.gradient_roots = d.gradients;
  const std::string dot = to_dot(f.g, o);
  EXPECT_NE(dot.find("subgraph cluster_forward {"), std::string::npos);
  EXPECT_NE(dot.find("subgraph cluster_gradient {"), std::string::npos);
  EXPECT_NE(dot.find("id=\"cluster-forward\""), std::string::npos);
  EXPECT_NE(dot.find("id=\"cluster-gradient\""), std::string::npos);

  const std::vector<NodeId> forward = topological_order(f.g, o.roots);
  const std::vector<NodeId> all = topological_order(f.g, std::vector<NodeId>{f.loss.id(), d.gradients[0]});
  // Every node is drawn once, in its cluster.
  EXPECT_EQ(count(dot, "[id=\"node-"), all.size());
  for (NodeId id : all) EXPECT_EQ(count(dot, fmt::format("[id=\"node-{}\"", id)), 1u) << id;
  const std::size_t gradient_start = dot.find("subgraph cluster_gradient");
  for (NodeId id : forward) EXPECT_LT(dot.find(fmt::format("[id=\"node-{}\"", id)), gradient_start) << id;

  // Some gradient node uses a forward result: its edge comes from the forward node.
  std::size_t reuse = 0;
  for (NodeId id : all) {
    if (std::binary_search(forward.begin(), forward.end(), id)) continue;
    EXPECT_GT(dot.find(fmt::format("[id=\"node-{}\", class=\"gradient ", id)), gradient_start) << id;
    for (NodeId in : f.g.node(id).inputs())
      if (std::binary_search(forward.begin(), forward.end(), in)) {
        ++reuse;
        EXPECT_NE(dot.find(fmt::format("n{} -> n{} [id=\"edge-{}-{}\", class=\"reuse\"", in, id, in, id)),
                  std::string::npos);
        EXPECT_NE(node_line(dot, in).find(" shared"), std::string::npos) << node_line(dot, in);
      }
  }
  EXPECT_GT(reuse, 0u);
  EXPECT_NE(node_line(dot, d.gradients[0]).find("gradient-root"), std::string::npos);
}

TEST(GraphFigure, Deterministic) {
  SoftmaxCe a, b;
  const Gradient da = grad(a.loss, {a.z}), db = grad(b.loss, {b.z});
  FigureOptions oa, ob;
  oa.roots = {a.loss.id()};
  oa.gradient_roots = da.gradients;
  oa.title = "softmax";
  ob.roots = {b.loss.id()};
  ob.gradient_roots = db.gradients;
  ob.title = "softmax";
  EXPECT_EQ(to_dot(a.g, oa), to_dot(b.g, ob));
  EXPECT_EQ(to_dot(a.g, oa), to_dot(a.g, oa));
}

TEST(GraphFigure, EscapesLabels) {
  EXPECT_EQ(dot_escape("a\"b\\c\nd"), "a\\\"b\\\\c d");
  EXPECT_EQ(dot_escape("Σⱼ ḡ"), "Σⱼ ḡ");
  Graph g;
  const Expr x = variable(g, "x", Shape::scalar());
  const Expr e = exp(x);
  FigureOptions o;
  o.roots = {e.id()};
  o.names[e.id()] = "say \"Σ\" \\n";
  o.title = "t\"itle";
  const std::string dot = to_dot(g, o);
  EXPECT_NE(dot.find("label=\"say \\\"Σ\\\" \\\\n = exp(x)\\n"), std::string::npos) << dot;
  EXPECT_NE(dot.find("label=\"t\\\"itle\""), std::string::npos) << dot;
}

TEST(GraphFigure, AbbreviatesLongValuesAndConstants) {
  EXPECT_EQ(abbreviate_elements(std::vector<std::string>{"1"}), "1");
  EXPECT_EQ(abbreviate_elements(std::vector<std::string>{"1", "2", "3", "4"}), "[1, 2, 3, 4]");
  EXPECT_EQ(abbreviate_elements(std::vector<std::string>{"1", "2", "3", "4", "5"}), "[1, 2, 3, …, 5]");

  SoftmaxCe f(10);
  std::vector<Rational> ten;
  for (int k = 0; k < 10; ++k) ten.push_back(Rational(k + 1, 7));
  const Expr c{f.g, f.g.constant(ten, Shape::vector(10))};
  const Expr shifted = sum(f.z * c);
  FigureOptions o;
  o.roots = {f.loss.id(), shifted.id()};
  std::vector<std::string> values, adjoints;
  for (int k = 0; k < 10; ++k) values.push_back("v" + std::to_string(k)), adjoints.push_back("g" + std::to_string(k));
  o.values[f.z.id()] = values;
  o.adjoints[f.z.id()] = adjoints;
  const std::string dot = to_dot(f.g, o);
  const std::string z = node_line(dot, f.z.id());
  EXPECT_NE(z.find("\\nvalue [v0, v1, v2, …, v9]"), std::string::npos) << z;
  EXPECT_NE(z.find("\\nḡ [g0, g1, g2, …, g9]"), std::string::npos) << z;
  EXPECT_EQ(z.find("v5"), std::string::npos);
  EXPECT_NE(node_line(dot, c.id()).find("[1/7, 2/7, 3/7, …, 10/7]"), std::string::npos) << node_line(dot, c.id());
  // Tensor-level: the n = 10 graph has as many nodes as the n = 3 one.
  SoftmaxCe small(3);
  EXPECT_EQ(topological_order(f.g, std::vector<NodeId>{f.loss.id()}).size(),
            topological_order(small.g, std::vector<NodeId>{small.loss.id()}).size());
  for (const std::string& line : {z}) EXPECT_LT(line.size(), 400u);
}

TEST(GraphFigure, WholeGraphWhenNoRoots) {
  SoftmaxCe f;
  const std::string dot = to_dot(f.g, {});
  EXPECT_EQ(count(dot, "[id=\"node-"), f.g.size());
}

// ---- graphviz ----------------------------------------------------------------

bool have_graphviz() {
  std::string error;
  return dot_to_svg("digraph { a }", error).has_value();
}

TEST(GraphFigure, SvgFromGraphvizHasEveryNodeIdAndIsDeterministic) {
  if (!have_graphviz()) GTEST_SKIP() << "graphviz (dot) is not installed";
  SoftmaxCe f;
  const Gradient d = grad(f.loss, {f.z});
  FigureOptions o;
  o.roots = {f.loss.id()};
  o.gradient_roots = d.gradients;
  o.title = "L = −Σ y log softmax(z)";
  const std::string dot = to_dot(f.g, o);
  std::string error;
  const std::optional<std::string> svg = dot_to_svg(dot, error);
  ASSERT_TRUE(svg) << error;
  EXPECT_NE(svg->find("<svg"), std::string::npos);
  EXPECT_EQ(svg->find("Generated by graphviz"), std::string::npos);
  for (NodeId id : topological_order(f.g, std::vector<NodeId>{f.loss.id(), d.gradients[0]}))
    EXPECT_NE(svg->find(fmt::format("<g id=\"node-{}\" class=\"node ", id)), std::string::npos) << id;
  EXPECT_NE(svg->find("id=\"edge-"), std::string::npos);
  EXPECT_NE(svg->find("id=\"cluster-gradient\""), std::string::npos);
  EXPECT_NE(svg->find("Σ"), std::string::npos);
  const std::optional<std::string> again = dot_to_svg(dot, error);
  ASSERT_TRUE(again);
  EXPECT_EQ(*svg, *again);

  const std::string inline_svg = svg_for_html(*svg);
  EXPECT_EQ(inline_svg.rfind("<svg", 0), 0u) << inline_svg.substr(0, 200);
  EXPECT_EQ(inline_svg.find("<!--"), std::string::npos);
  EXPECT_EQ(inline_svg.find("<?xml"), std::string::npos);
  EXPECT_EQ(inline_svg.find("DOCTYPE"), std::string::npos);
  EXPECT_NE(inline_svg.find("</svg>"), std::string::npos);
}

TEST(GraphFigure, LargeInputDoesNotDeadlock) {
  if (!have_graphviz()) GTEST_SKIP() << "graphviz (dot) is not installed";
  // 2 MB of input, far more than a pipe buffer, and an output of many nodes.
  std::string dot = "digraph big {\n";
  for (int k = 0; k < 40000; ++k) dot += "// padding padding padding padding padding padding\n";
  for (int k = 0; k < 300; ++k) dot += fmt::format("  n{} [id=\"node-{}\", label=\"node {}\"];\n", k, k, k);
  dot += "}\n";
  std::string error;
  const std::optional<std::string> svg = dot_to_svg(dot, error);
  ASSERT_TRUE(svg) << error;
  EXPECT_NE(svg->find("id=\"node-299\""), std::string::npos);
}

TEST(GraphFigure, GraphvizErrorsAreReported) {
  std::string error;
  EXPECT_FALSE(dot_to_svg("digraph { a }", error, "ddx-no-such-graphviz-program"));
  EXPECT_NE(error.find("graphviz is not installed"), std::string::npos) << error;
  EXPECT_NE(error.find("ddx-no-such-graphviz-program"), std::string::npos) << error;
  if (!have_graphviz()) GTEST_SKIP() << "graphviz (dot) is not installed";
  error.clear();
  EXPECT_FALSE(dot_to_svg("digraph { a -> }", error));
  EXPECT_NE(error.find("failed"), std::string::npos) << error;
  EXPECT_NE(error.find("syntax error"), std::string::npos) << error;
}

}  // namespace
}  // namespace ddx
