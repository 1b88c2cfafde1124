#include "derivations/fuse.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "derivations/grad_command.hpp"
#include "derivations/graph_command.hpp"
#include "derivations/identities.hpp"
#include "derivations/inputs.hpp"
#include "engine/eval.hpp"
#include "engine/print.hpp"
#include "ops/functions.hpp"
#include "ops/primitives.hpp"

namespace ddx {
namespace {


std::size_t count_nodes(const Graph& g, NodeId root) { return topological_order(g, std::span(&root, 1)).size(); }

// The roots evaluated at the point: the value of each graph, then its gradients.
struct Roots {
  NodeId composed = 0, fused = 0;
  std::vector<NodeId> composed_grads, fused_grads;
};

// The largest relative_difference of the two graphs' values at 100 digits.
double largest_difference(const Graph& g, const Roots& r, const std::vector<NodeId>& all, const ExactBindings& point) {
  const Evaluation<Float100> ev(g, all, round_bindings<Float100>(point));
  double worst = 0;
  auto compare = [&](NodeId a, NodeId b) {
    const auto &x = ev.value(a), &y = ev.value(b);
    for (std::size_t k = 0; k < x.size(); ++k) {
      const double d = static_cast<double>(relative_difference(x[k], y[k]));
      if (!(d <= worst)) worst = d;  // NaN wins
    }
  };
  compare(r.composed, r.fused);
  for (std::size_t k = 0; k < r.composed_grads.size(); ++k) compare(r.composed_grads[k], r.fused_grads[k]);
  return worst;
}

FusedPoint evaluate_point(Graph& g, NodeId composed, NodeId fused, const ExactBindings& point, Precision precision) {
  FusedPoint out;
  out.precision = precision;
  Roots r{composed, fused, {}, {}};
  if (g.shape(composed).is_scalar()) {
    // Gradients with respect to every variable of the typed expression.
    std::vector<Expr> wrt;
    for (NodeId v : topological_order(g, std::span(&composed, 1)))
      if (g.is_variable(v)) wrt.emplace_back(g, v);
    r.composed_grads = grad(Expr(g, composed), wrt).gradients;
    r.fused_grads = grad(Expr(g, fused), wrt).gradients;
    for (const Expr& w : wrt) out.gradients.push_back({.name = g.attr(w.id()).name});
  }
  std::vector<NodeId> all{r.composed, r.fused};
  all.insert(all.end(), r.composed_grads.begin(), r.composed_grads.end());
  all.insert(all.end(), r.fused_grads.begin(), r.fused_grads.end());
  const FormattedValues v = evaluate_formatted(g, all, point, precision);
  out.nonfinite = v.nonfinite;
  out.composed_value = v[r.composed];
  out.fused_value = v[r.fused];
  for (std::size_t k = 0; k < r.composed_grads.size(); ++k) {
    out.gradients[k].composed = v[r.composed_grads[k]];
    out.gradients[k].fused = v[r.fused_grads[k]];
  }
  out.largest_difference = largest_difference(g, r, all, point);
  out.agree = out.largest_difference <= kAgreement;
  return out;
}

std::string bracketed(const std::vector<std::string>& items) {
  return items.size() == 1 ? items.front() : "[" + join(items) + "]";
}

}  // namespace

int FuseResult::exit_status() const {
  if (!fusion.all_proven()) return 1;
  for (const FusionRecord& r : fusion.rewrites)
    if (!r.proof.steps_checked()) return 1;
  if (point && !point->agree) return 1;
  return 0;
}

FuseResult run_fuse(const FuseRequest& request) {
  check_classes(request.classes);
  PointValues point;
  ParseContext context = builtin_parse_context(variable_shapes(request.shape, request.at, point));
  context.other_variables = Shape::vector(request.classes);

  Graph g;
  const ParsedProgram program = parse_program(g, request.expression, context);
  const NodeId root = program.result.id();
  if (!request.at.empty())
    for (NodeId id : topological_order(g, std::span(&root, 1)))
      if (g.is_variable(id) && !point.values.count(g.attr(id).name))
        throw InputError(fmt::format("--at: no value for '{}' (give every variable a value)", g.attr(id).name));

  FuseResult result;
  result.expression = request.expression;
  result.before = to_infix(g, root);
  result.nodes_before = count_nodes(g, root);
  result.fusion = fuse(g, std::span(&root, 1), {.prove = true, .check_steps = request.check_steps});
  const NodeId fused = result.fusion.roots.front();
  result.after = to_infix(g, fused);
  result.nodes_after = count_nodes(g, fused);
  if (!request.at.empty()) result.point = evaluate_point(g, root, fused, point.values, request.precision);
  return result;
}

std::string render_text(const FuseResult& r, bool trace) {
  std::string out = fmt::format("Expression: {}\n", r.expression);
  out += fmt::format("Before:     {}   ({} nodes)\n", r.before, r.nodes_before);
  out += fmt::format("After:      {}   ({} nodes)\n", r.after, r.nodes_after);
  if (!r.changed()) out += "Nothing to fuse: the graph is unchanged.\n";
  for (std::size_t k = 0; k < r.fusion.rewrites.size(); ++k) {
    const FusionRecord& w = r.fusion.rewrites[k];
    const Proof& p = w.proof;
    out += fmt::format("\nRewrite {}: {}   {}\n", k + 1, w.rule,
                       p.proven ? fmt::format("proven ({}, n = {}, {:.3f} s{})", p.route, p.classes, p.seconds,
                                              p.steps_checked() ? ", every step checked numerically" : "")
                                : "NOT proven");
    out += fmt::format("  composed: {}\n", w.before);
    out += fmt::format("  fused:    %{} = {}\n", w.fused, w.after);
    out += "  replaced:";
    for (const auto& n : w.replaced) out += fmt::format(" %{} = {};", n.id, n.node);
    out.back() = '\n';
    if (!p.proven) out += fmt::format("  residual: {}\n", p.residual);
    if (trace) out += indent(render_text(p, true), "  | ");
  }
  if (r.point) {
    const FusedPoint& pt = *r.point;
    out += fmt::format("\nAt the point ({} precision)\n", describe(pt.precision));
    out += fmt::format("  value        composed {}\n               fused    {}\n", bracketed(pt.composed_value),
                       bracketed(pt.fused_value));
    for (const auto& v : pt.gradients)
      out += fmt::format("  {:<12} composed {}\n               fused    {}\n", "∂/∂" + v.name, bracketed(v.composed),
                         bracketed(v.fused));
    if (pt.nonfinite) out += fmt::format("  non-finite values: {}\n", *pt.nonfinite);
    out += fmt::format("  at 100 digits the two graphs {} (largest difference {:.1e}, relative to max(1, |value|))\n",
                       pt.agree ? "agree" : "DIFFER", pt.largest_difference);
  }
  return out;
}

nlohmann::ordered_json render_json(const FuseResult& r) {
  using json = nlohmann::ordered_json;
  json j;
  j["expression"] = r.expression;
  j["before"] = r.before;
  j["after"] = r.after;
  j["nodes_before"] = r.nodes_before;
  j["nodes_after"] = r.nodes_after;
  j["changed"] = r.changed();
  j["all_proven"] = r.fusion.all_proven();
  j["rewrites"] = json::array();
  for (const FusionRecord& w : r.fusion.rewrites) {
    json rw;
    rw["rule"] = w.rule;
    rw["root"] = {{"id", w.root}, {"expression", w.before}};
    rw["replaced"] = json::array();
    for (const auto& n : w.replaced) rw["replaced"].push_back({{"id", n.id}, {"node", n.node}});
    rw["fused"] = {{"id", w.fused}, {"expression", w.after}};
    rw["proof"] = json::parse(render_json(w.proof));
    j["rewrites"].push_back(std::move(rw));
  }
  if (r.point) {
    const FusedPoint& pt = *r.point;
    json p;
    p["precision"] = std::string(name_of(pt.precision));
    p["value"] = {{"composed", pt.composed_value}, {"fused", pt.fused_value}};
    p["gradient"] = json::object();
    for (const auto& v : pt.gradients) p["gradient"][v.name] = {{"composed", v.composed}, {"fused", v.fused}};
    p["largest_difference"] = pt.largest_difference;
    p["agree"] = pt.agree;
    p["nonfinite"] = pt.nonfinite ? json(*pt.nonfinite) : json(nullptr);
    j["point"] = std::move(p);
  } else {
    j["point"] = nullptr;
  }
  return j;
}

}  // namespace ddx
