#include "derivations/report_sections.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <fmt/format.h>

#include "derivations/graph_figure.hpp"
#include "derivations/inputs.hpp"
#include "engine/index/index_rules.hpp"
#include "engine/op.hpp"
#include "engine/print.hpp"

namespace ddx::report {

Math definition_math(const index::Definition& d) {
  return math(index::definition_latex(d), index::definition_text(d));
}

std::string proof_outcome(const Proof& proof) {
  const std::string scope = proof.classes == "n" ? "for every n" : fmt::format("for n = {}", proof.classes);
  const std::string checked = proof.steps_checked() ? "each checked numerically" : "a step FAILED its numeric check";
  if (proof.proven)
    return fmt::format("proven {} (route {}, {} steps, {})", scope, proof.route, proof.steps.size(), checked);
  return fmt::format("not proven {}: the residual (left side minus right side) is {}", scope, proof.residual);
}

void add_proof(Section& section, const Proof& proof, bool expect_proven) {
  Paragraph claim = paragraph("Claim: ", emph(proof.identity), ".");
  if (!proof.hypotheses.empty()) claim.runs.emplace_back(text(" Hypotheses: " + join(proof.hypotheses, "; ") + "."));
  section.add(std::move(claim));
  section.add(steps_from_proof(proof));
  if (!proof.proven)
    section.add(paragraph("What is left when the claim's right side is subtracted from its left side:"))
        .add(display(math(proof.residual_latex, proof.residual)));
  section.add(verdict(proof.proven == expect_proven && proof.steps_checked(), proof_outcome(proof)));
}

std::string describe_input(const SoftmaxCeInput& in) {
  std::string rows;
  for (std::size_t r = 0; r < in.logits.size(); ++r) {
    const std::string target = r < in.target_classes.size()
                                   ? fmt::format("target class {}", in.target_classes[r])
                                   : "targets y = " + abbreviate_elements(to_strings(in.targets[r]), 12);
    rows += fmt::format("{}logits z = {}, {}", rows.empty() ? "" : "; ", abbreviate_elements(to_strings(in.logits[r]), 12),
                        target);
  }
  if (in.logits.size() > 1) rows = fmt::format("a batch of {} rows: {}", in.logits.size(), rows);
  return fmt::format("{}, temperature T = {}", rows, to_string(in.temperature));
}

namespace {

std::string scale_text(const SoftmaxCeProof& pr) {
  const bool unit_t = pr.input.temperature == 1;
  if (pr.rows() > 1) return unit_t ? "/B" : "/(B·T)";
  return unit_t ? "" : "/T";
}

}  // namespace

void add_numeric_proof(Section& section, const SoftmaxCeProof& pr, std::size_t max_rows) {
  const std::string claim = (pr.normalized() ? "(p − y)" : "(p·Σy − y)") + scale_text(pr);
  const auto& got = pr.value_of(pr.gradient.gradients.front());
  const auto& want = pr.value_of(pr.expected);
  Table gradient{.caption = fmt::format("The graph's gradient beside {} at {} precision", claim,
                                        describe(pr.input.precision)),
                 .header = {"component", "∂L/∂z from the graph", claim},
                 .rows = {}};
  const std::size_t shown = std::min(got.size(), max_rows);
  const auto n = static_cast<std::size_t>(pr.classes());
  for (std::size_t k = 0; k < shown; ++k) {
    const std::string index = pr.rows() > 1 ? fmt::format("[{}, {}]", k / n, k % n) : fmt::format("{}", k);
    gradient.rows.push_back(Row{{index, got[k], want[k]}, std::nullopt});
  }
  section.add(std::move(gradient));
  if (shown < got.size())
    section.add(paragraph(fmt::format("({} more components are checked but not listed.)", got.size() - shown)));
  if (pr.nonfinite) section.add(paragraph("Non-finite values: ", code(*pr.nonfinite)));

  Table checks{.caption = "The checks and their tolerances",
               .header = {"check", "precision", "max |error|", "tolerance", "why this tolerance"},
               .rows = {}};
  for (const NumericCheck& c : pr.checks)
    checks.rows.push_back(Row{{c.name, std::string(name_of(c.precision)), format_error(c.max_abs_error),
                               fmt::format("{:.2e}", c.tolerance), c.note},
                              c.passed});
  section.add(std::move(checks));
  if (pr.fd_components < pr.rows() * pr.classes())
    section.add(paragraph(fmt::format("Central differences checked {} of {} components.", pr.fd_components,
                                      pr.rows() * pr.classes())));
  const auto passed = std::count_if(pr.checks.begin(), pr.checks.end(), [](const auto& c) { return c.passed; });
  section.add(pr.passed()
                  ? verdict(true, fmt::format("proven numerically: ∂L/∂z = {} ({} of {} checks passed)", claim, passed,
                                              pr.checks.size()))
                  : verdict(false, fmt::format("NOT proven: {} of {} checks failed", pr.checks.size() - passed,
                                               pr.checks.size())));
}

namespace {

// The statement names of the softmax–cross-entropy graph's nodes.
std::map<NodeId, std::string> node_names(const SoftmaxCeProof& pr) {
  return {{pr.z, "z"}, {pr.y, "y"}, {pr.p, "p"}, {pr.loss, "L"}};
}

// How tables refer to a node: its statement name, else %id.
std::function<std::string(NodeId)> node_label(const SoftmaxCeProof& pr) {
  return [&pr, names = node_names(pr)](NodeId id) {
    auto it = names.find(id);
    return it != names.end() ? it->second : node_ref(*pr.graph, id);
  };
}

}  // namespace

Figure reverse_mode_figure(const SoftmaxCeProof& pr) {
  FigureOptions options{.roots = {pr.loss}, .names = node_names(pr)};
  for (NodeId id : pr.forward_order) options.values[id] = pr.value_of(id);
  for (const SweepStep& s : pr.gradient.sweep) options.adjoints[s.node] = pr.value_of(s.adjoint);
  Figure f{.caption = fmt::format("The composed graph of L at {} precision: each node's op, forward value and "
                                  "adjoint ḡ = ∂L/∂node (vectors abbreviated)",
                                  describe(pr.input.precision)),
           .dot = to_dot(*pr.graph, options),
           .svg = ""};
  std::string error;
  if (auto svg = dot_to_svg(f.dot, error)) f.svg = *svg;
  return f;
}

Table forward_table(const SoftmaxCeProof& pr) {
  const Graph& g = *pr.graph;
  const auto ref = node_label(pr);
  Table t{.caption = fmt::format("The forward pass at {} precision, in evaluation order", describe(pr.input.precision)),
          .header = {"node", "computes", "shape", "value"},
          .rows = {}};
  for (NodeId id : pr.forward_order) {
    const Node& n = g.node(id);
    const std::string computes = n.op == kVarOp ? "input" : n.op == kConstOp ? "constant" : node_call(g, id, ref);
    t.rows.push_back(Row{{ref(id), computes, to_string(n.shape), abbreviate_elements(pr.value_of(id))}, std::nullopt});
  }
  return t;
}

Table sweep_table(const SoftmaxCeProof& pr) {
  const Graph& g = *pr.graph;
  const auto ref = node_label(pr);
  Table t{.caption = "The reverse sweep, in order: ḡ of each node, the rule of its op, and what it sends to its inputs",
          .header = {"step", "node", "ḡ = ∂L/∂node", "rule", "sends"},
          .rows = {}};
  int step = 0;
  for (const SweepStep& s : pr.gradient.sweep) {
    const Node& n = g.node(s.node);
    const std::string rule = s.node == pr.loss ? "seed: ḡ = 1"
                             : n.op == kVarOp  ? "input: its ḡ is the gradient"
                             : n.op == kConstOp ? "constant"
                                                : fmt::format("{}: {}", op_info(n.op).name, op_info(n.op).vjp_formula);
    std::string adjoint = abbreviate_elements(pr.value_of(s.adjoint));
    if (s.accumulated.size() > 1) adjoint += fmt::format(" (sum of {} contributions)", s.accumulated.size());
    std::string sends;
    for (const auto& send : s.sends)
      sends += fmt::format("{}→ {}: {}", sends.empty() ? "" : "; ", ref(send.to), abbreviate_elements(pr.value_of(send.contribution)));
    const std::string node = n.op == kVarOp || n.op == kConstOp ? ref(s.node)
                                                                 : fmt::format("{} = {}", ref(s.node), node_call(g, s.node, ref));
    t.rows.push_back(Row{{std::to_string(++step), node, adjoint, rule, sends}, std::nullopt});
  }
  return t;
}

}  // namespace ddx::report
