#include "derivations/explain.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "derivations/graph_figure.hpp"
#include "derivations/inputs.hpp"
#include "derivations/mathml.hpp"
#include "engine/op.hpp"
#include "engine/print.hpp"
#include "engine/symbolic/print.hpp"

namespace ddx {
namespace {

// "[a, b, c]", or the single element of a scalar; long lists abbreviated.
std::string show(const std::vector<std::string>& values) { return abbreviate_elements(values, 12); }

// The names a reader knows nodes by: variables, and the statements of the program.
std::map<NodeId, std::string> node_names(const Graph& g, const GradSession& s) {
  std::map<NodeId, std::string> names;
  for (NodeId v : g.variables()) names[v] = g.attr(v).name;
  for (const auto& [name, value] : s.program.statements) names.emplace(value.id(), name);
  return names;
}

// "p = %1 / %2" for a named node, "exp(z)" for another, "z" for a variable.
std::string heading(const ExplainedNode& n) {
  if (n.label == n.formula || n.label == fmt::format("%{}", n.id)) return n.formula;
  return fmt::format("{} = {}", n.label, n.formula);
}

std::string argument_name(int arity, int k) {
  if (arity == 1) return "x";
  return std::string(1, static_cast<char>('a' + k));
}

// "a = %1, b = %2": the letters of the op's rule, and the inputs they stand for.
std::string rule_arguments(const Explanation& e, const ExplainedNode& n) {
  std::vector<std::string> args;
  for (std::size_t k = 0; k < n.inputs.size(); ++k)
    args.push_back(fmt::format("{} = {}", argument_name(static_cast<int>(n.inputs.size()), static_cast<int>(k)),
                               e.node(n.inputs[k]).label));
  return join(args);
}

template <class T> void fill(const GradSession& s, Explanation& e) {
  const Graph& g = *s.graph;
  const Gradient& gradient = s.gradient;
  // The partial sums of each adjoint, as the sweep built them, so the page
  // shows exactly the values reverse mode computed.
  std::map<NodeId, const std::vector<NodeId>*> partial;
  std::vector<NodeId> roots{gradient.loss};
  for (const SweepStep& step : gradient.sweep) {
    partial[step.node] = &step.partial_sums;
    roots.push_back(step.adjoint);
    roots.insert(roots.end(), step.accumulated.begin(), step.accumulated.end());
    roots.insert(roots.end(), step.partial_sums.begin(), step.partial_sums.end());
  }
  const Evaluation<T> ev(g, roots, round_bindings<T>(s.bindings));
  const std::map<NodeId, std::string> names = node_names(g, s);
  auto label = [&](NodeId id) -> std::string {
    auto it = names.find(id);
    return it != names.end() ? it->second : node_ref(g, id);
  };

  for (NodeId id : topological_order(g, std::span(&gradient.loss, 1))) {
    ExplainedNode n{.id = id, .label = label(id), .shape = g.shape(id), .value = format_scalars(ev.value(id))};
    for (NodeId in : g.node(id).inputs()) n.inputs.push_back(in);
    if (g.is_variable(id)) {
      n.op = "variable";
      n.formula = g.attr(id).name;
    } else if (g.is_constant(id)) {
      n.op = "constant";
      n.formula = show(n.value);
    } else {
      n.op = std::string(op_info(g.node(id).op).name);
      n.formula = node_call(g, id, label);
    }
    e.forward.push_back(std::move(n));
  }

  // Who sent each contribution: the sweep visits users before their inputs.
  std::map<NodeId, std::vector<NodeId>> senders;
  senders[gradient.loss].push_back(gradient.loss);
  for (const SweepStep& step : gradient.sweep)
    for (const SweepStep::Send& send : step.sends) senders[send.to].push_back(step.node);

  std::map<NodeId, int> arrived;
  for (const SweepStep& step : gradient.sweep) {
    const Node& node = g.node(step.node);
    ExplainedStep x{.node = step.node, .adjoint = format_scalars(ev.value(step.adjoint)),
                    .rule = node.arity > 0 ? std::string(op_info(node.op).vjp_formula) : "",
                    .seed = step.node == gradient.loss};
    for (std::size_t k = 0; k < step.accumulated.size(); ++k)
      x.received.push_back({senders.at(step.node).at(k), format_scalars(ev.value(step.accumulated[k]))});
    std::vector<PartialAdjoint> changes;
    if (x.seed) arrived[step.node] = 1;
    changes.push_back({step.node, x.adjoint, arrived[step.node], true});
    for (const SweepStep::Send& send : step.sends) {
      x.sends.push_back({send.to, argument_name(node.arity, send.input), format_scalars(ev.value(send.contribution))});
      const int count = ++arrived[send.to];
      changes.push_back({send.to, format_scalars(ev.value(partial.at(send.to)->at(count - 1))), count, false});
    }
    e.sweep.push_back(std::move(x));
    e.after_step.push_back(std::move(changes));
  }

  FigureOptions figure{.roots = {gradient.loss}, .names = names};
  for (const ExplainedNode& n : e.forward) figure.values[n.id] = n.value;
  for (const ExplainedStep& st : e.sweep) figure.adjoints[st.node] = st.adjoint;
  e.dot = to_dot(g, figure);
}

}  // namespace

const ExplainedNode& Explanation::node(NodeId id) const {
  for (const ExplainedNode& n : forward)
    if (n.id == id) return n;
  throw std::out_of_range(fmt::format("explain: no node %{}", id));
}

Explanation explain(const GradRequest& request) {
  GradRequest r = request;
  r.simplify = true;
  GradSession session = grad_session(r);
  Explanation e;
  e.at = request.at;
  for (std::size_t k = 0; k < session.gradient.wrt.size(); ++k)
    e.wrt.emplace_back(session.result.gradients[k].name, session.gradient.wrt[k]);
  with_scalar(request.precision, [&]<class T>(std::type_identity<T>) { fill<T>(session, e); });
  e.result = std::move(session.result);
  return e;
}

std::string render_text(const Explanation& e) {
  const GradResult& r = e.result;
  std::string out = fmt::format("Expression: {}\nAt:         {}\nPrecision:  {}\n", r.expression, e.at, describe(r.precision));

  out += "\n1. Forward pass, in evaluation order\n";
  std::size_t width = 0;
  for (const ExplainedNode& n : e.forward) width = std::max(width, heading(n).size());
  for (const ExplainedNode& n : e.forward) {
    const std::string head = heading(n);
    out += fmt::format("  %{:<3} {:<{}}  {:<9} = {}\n", n.id, head, width, n.op, show(n.value));
  }

  out += "\n2. Reverse sweep, from the loss back to the variables\n";
  out += "   ḡ is a node's adjoint ∂L/∂node: the sum of what its users sent it.\n";
  for (const ExplainedStep& s : e.sweep) {
    const ExplainedNode& n = e.node(s.node);
    out += fmt::format("\n  %{} {}{}\n", n.id, heading(n),
                       n.op == "variable" ? "  (a variable: its adjoint is the gradient)" : "");
    if (s.seed) {
      out += fmt::format("    ḡ = {}  (the seed: ∂L/∂L = 1)\n", show(s.adjoint));
    } else if (s.received.size() == 1) {
      out += fmt::format("    ḡ = {}  (from {})\n", show(s.adjoint), e.node(s.received.front().from).label);
    } else {
      out += fmt::format("    ḡ accumulates {} contributions, one per user:\n", s.received.size());
      for (const Received& c : s.received)
        out += fmt::format("      from {:<6} {}\n", e.node(c.from).label, show(c.value));
      out += fmt::format("    ḡ = their sum = {}\n", show(s.adjoint));
    }
    if (!s.rule.empty()) out += fmt::format("    rule of {} ({}): {}\n", n.op, rule_arguments(e, n), s.rule);
    for (const Sent& send : s.sends)
      out += fmt::format("    sends to {} ({}): {}\n", e.node(send.to).label, send.argument, show(send.value));
  }

  out += "\n3. The gradient\n";
  for (const VariableGradient& v : r.gradients) out += fmt::format("  ∂L/∂{} = {}   (reverse mode)\n", v.name, show(v.values));
  if (r.nonfinite) {
    out += fmt::format("  Not finite: {}\n", *r.nonfinite);
    return out;
  }
  out += r.assumptions.empty() ? "  Symbolically:\n" : fmt::format("  Symbolically, assuming {}:\n", join(r.assumptions));
  for (const VariableGradient& v : r.gradients)
    for (std::size_t k = 0; k < v.symbolic.size(); ++k)
      out += fmt::format("    ∂L/∂{}{} = {}\n", v.name, v.symbolic.size() > 1 ? sym::subscript(static_cast<long>(k) + 1) : "",
                         v.symbolic[k]);
  for (const VariableGradient& v : r.gradients)
    out += fmt::format("  The formulas at the point: ∂L/∂{} = {}\n", v.name, show(v.symbolic_values));
  out += fmt::format("  Reverse mode and the formulas {} (largest difference {:.1e}, relative to max(1, |value|)).\n",
                     r.symbolic_agrees ? "agree" : "DIFFER", r.symbolic_difference);
  return out;
}

namespace {

nlohmann::ordered_json node_json(const Explanation& e, NodeId id) {
  return {{"id", id}, {"label", e.node(id).label}};
}


// JSON inside <script>: "</" would end the element.
std::string script_safe(std::string json) {
  for (std::size_t k = 0; (k = json.find("</", k)) != std::string::npos; k += 3) json.replace(k, 2, "<\\/");
  return json;
}

constexpr std::string_view kStyle = R"css(
body { font: 15px/1.45 system-ui, sans-serif; color: #1d1d1f; max-width: 1200px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
code, .mono, td.value, .step { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.92em; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
#stepper { display: flex; gap: 1.5em; align-items: flex-start; flex-wrap: wrap; }
#figure { flex: 1 1 520px; overflow: auto; border: 1px solid #ddd; border-radius: 6px; padding: 4px; }
#figure svg { max-width: 100%; height: auto; }
#panel { flex: 1 1 420px; }
.controls { display: flex; gap: 0.8em; align-items: center; margin-bottom: 0.6em; }
.controls button { font-size: 1em; padding: 0.3em 0.9em; }
.hint { color: #777; font-size: 0.9em; }
#steps { padding-left: 1.6em; } #steps li { margin-bottom: 0.8em; }
tr.current td { background: #ffe9a8; } tr.partial td.status { color: #b36b00; } tr.complete td.status { color: #1b7f3b; }
g.node.current > :is(polygon, ellipse, path) { stroke: #d62728; stroke-width: 3px; fill: #ffe9a8; }
g.node.receiving > :is(polygon, ellipse, path) { fill: #fff3d6; }
g.node.done > :is(polygon, ellipse, path) { fill: #d9f2df; }
.verdict { font-weight: 600; }
)css";

// Steps through the sweep. Without JavaScript every step stays visible.
constexpr std::string_view kScript = R"js(
(function () {
  const changes = JSON.parse(document.getElementById('ddx-changes').textContent);
  const steps = Array.from(document.querySelectorAll('#steps > li'));
  const next = document.getElementById('next'), prev = document.getElementById('prev');
  const counter = document.getElementById('counter');
  const rows = {};
  document.querySelectorAll('#adjoints tr[data-node]').forEach(function (r) { rows[r.dataset.node] = r; });
  let current = 0;
  function mark(id, cls) {
    const n = document.getElementById('node-' + id);
    if (n) n.classList.add(cls);
  }
  function show(k) {
    current = Math.max(0, Math.min(steps.length - 1, k));
    steps.forEach(function (li, i) { li.hidden = i !== current; });
    for (const id in rows) {
      rows[id].className = '';
      rows[id].querySelector('.value').textContent = '—';
      rows[id].querySelector('.status').textContent = '';
    }
    document.querySelectorAll('#figure g.node').forEach(function (n) { n.classList.remove('current', 'receiving', 'done'); });
    for (let i = 0; i <= current; i++) {
      for (const c of changes[i]) {
        const r = rows[c.node];
        r.querySelector('.value').textContent = c.value;
        r.querySelector('.status').textContent = c.complete ? 'complete' : c.count + ' of ' + r.dataset.total + ' received';
        r.className = c.complete ? 'complete' : 'partial';
      }
    }
    for (const id in rows) if (rows[id].className) mark(id, rows[id].className === 'complete' ? 'done' : 'receiving');
    const node = steps[current].dataset.node;
    rows[node].classList.add('current');
    const n = document.getElementById('node-' + node);
    if (n) { n.classList.remove('done'); n.classList.add('current'); }
    counter.textContent = 'Step ' + (current + 1) + ' of ' + steps.length;
    prev.disabled = current === 0;
    next.disabled = current === steps.length - 1;
  }
  next.addEventListener('click', function () { show(current + 1); });
  prev.addEventListener('click', function () { show(current - 1); });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown' || e.key === ' ') { show(current + 1); e.preventDefault(); }
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') { show(current - 1); e.preventDefault(); }
    else if (e.key === 'Home') show(0);
    else if (e.key === 'End') show(steps.length - 1);
  });
  document.querySelector('.controls').hidden = false;
  show(0);
  // #selftest: step through with the keyboard to the end, back and forth once
  // with the buttons, and write what the page shows, for the browser test.
  if (location.hash === '#selftest') {
    let guard = 0;
    while (!next.disabled && guard++ < 100000) document.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight' }));
    prev.click();
    next.click();
    const shown = { counter: counter.textContent, adjoints: {} };
    document.querySelectorAll('#adjoints tr[data-variable]').forEach(function (r) {
      shown.adjoints[r.dataset.variable] = r.querySelector('.value').textContent;
    });
    const out = document.getElementById('selftest');
    out.textContent = JSON.stringify(shown);
    out.hidden = false;
  }
})();
)js";

}  // namespace

nlohmann::ordered_json render_json(const Explanation& e) {
  const GradResult& r = e.result;
  nlohmann::ordered_json j;
  j["expression"] = r.expression;
  j["at"] = e.at;
  j["precision"] = std::string(name_of(r.precision));
  j["value"] = r.value;
  j["forward"] = nlohmann::ordered_json::array();
  for (const ExplainedNode& n : e.forward)
    j["forward"].push_back({{"id", n.id}, {"label", n.label}, {"op", n.op}, {"formula", n.formula},
                            {"inputs", n.inputs}, {"shape", to_string(n.shape)}, {"value", n.value}});
  j["sweep"] = nlohmann::ordered_json::array();
  for (const ExplainedStep& s : e.sweep) {
    nlohmann::ordered_json js = node_json(e, s.node);
    js["received"] = nlohmann::ordered_json::array();
    for (const Received& c : s.received) js["received"].push_back({{"from", c.from}, {"value", c.value}});
    js["adjoint"] = s.adjoint;
    js["rule"] = s.rule;
    js["sends"] = nlohmann::ordered_json::array();
    for (const Sent& x : s.sends) js["sends"].push_back({{"to", x.to}, {"argument", x.argument}, {"value", x.value}});
    j["sweep"].push_back(js);
  }
  const nlohmann::ordered_json grad = render_json(r);
  for (const char* key : {"gradient", "assumptions", "symbolic", "symbolic_values", "symbolic_difference", "symbolic_agrees",
                          "nonfinite"})
    if (grad.contains(key)) j[key] = grad[key];
  return j;
}

std::string render_html(const Explanation& e) {
  const GradResult& r = e.result;
  std::string wrt;
  for (const auto& [name, id] : e.wrt) wrt += (wrt.empty() ? "" : ", ") + name;
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<title>ddx explain: {}</title>\n<style>{}</style>\n</head>\n<body>\n", xml_escape(r.expression), kStyle);
  out += fmt::format("<h1>How reverse mode computes ∂L/∂{}</h1>\n", xml_escape(wrt));
  out += fmt::format("<p>L = <code>{}</code> at <code>{}</code>, computed in {} precision: L = <code>{}</code>.</p>\n",
                     xml_escape(r.expression), xml_escape(e.at), xml_escape(describe(r.precision)), xml_escape(r.value));

  out += "<h2>1. Forward pass</h2>\n<p>Each node in evaluation order, with its inputs and its value.</p>\n";
  out += "<table id=\"forward\">\n<tr><th>node</th><th>computes</th><th>op</th><th>value</th></tr>\n";
  for (const ExplainedNode& n : e.forward)
    out += fmt::format("<tr data-node=\"{}\"><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"value\">{}</td></tr>\n",
                       n.id, xml_escape(n.label == fmt::format("%{}", n.id) || n.label == n.formula ? fmt::format("%{}", n.id)
                                                                                                        : fmt::format("{} (%{})", n.label, n.id)),
                       xml_escape(n.formula), xml_escape(n.op), xml_escape(show(n.value)));
  out += "</table>\n";

  out += "<h2>2. Reverse sweep</h2>\n<p>From the loss back to the variables. A node's adjoint ḡ = ∂L/∂node is the sum "
         "of what its users sent it; its op's rule turns ḡ into what it sends to each of its inputs.</p>\n";
  out += "<div id=\"stepper\">\n<div id=\"figure\">\n";
  std::string error;
  if (const auto svg = dot_to_svg(e.dot, error)) out += svg_for_html(*svg);
  else out += fmt::format("<p>No figure: {}</p>\n", xml_escape(error));
  out += "</div>\n<div id=\"panel\">\n";
  out += "<div class=\"controls\" hidden><button id=\"prev\">◀ Previous</button><span id=\"counter\"></span>"
         "<button id=\"next\">Next ▶</button><span class=\"hint\">or press ← →</span></div>\n<ol id=\"steps\">\n";
  for (const ExplainedStep& s : e.sweep) {
    const ExplainedNode& n = e.node(s.node);
    out += fmt::format("<li class=\"step\" data-node=\"{}\"><b>{}</b>{}<br>\n", s.node, xml_escape(n.label),
                       n.label == n.formula ? "" : " = " + xml_escape(n.formula));
    if (s.seed) {
      out += fmt::format("ḡ = {} — the seed, ∂L/∂L = 1<br>\n", xml_escape(show(s.adjoint)));
    } else if (s.received.size() == 1) {
      out += fmt::format("ḡ = {} (sent by {})<br>\n", xml_escape(show(s.adjoint)), xml_escape(e.node(s.received[0].from).label));
    } else {
      out += fmt::format("ḡ accumulates {} contributions, one per user:<br>\n", s.received.size());
      for (const Received& c : s.received)
        out += fmt::format("&nbsp;&nbsp;from {}: {}<br>\n", xml_escape(e.node(c.from).label), xml_escape(show(c.value)));
      out += fmt::format("ḡ = their sum = {}<br>\n", xml_escape(show(s.adjoint)));
    }
    if (!s.rule.empty())
      out += fmt::format("rule of {} ({}): {}<br>\n", xml_escape(n.op), xml_escape(rule_arguments(e, n)),
                         xml_escape(s.rule));
    if (n.op == "variable") out += "a variable: its adjoint is the gradient<br>\n";
    for (const Sent& x : s.sends)
      out += fmt::format("sends to {} ({}): {}<br>\n", xml_escape(e.node(x.to).label), x.argument, xml_escape(show(x.value)));
    out += "</li>\n";
  }
  out += "</ol>\n<h3>Adjoints so far</h3>\n<table id=\"adjoints\">\n<tr><th>node</th><th>ḡ</th><th></th></tr>\n";
  for (const ExplainedStep& s : e.sweep) {
    const ExplainedNode& n = e.node(s.node);
    std::string variable;
    for (const auto& [name, id] : e.wrt)
      if (id == s.node) variable = fmt::format(" data-variable=\"{}\"", xml_escape(name));
    out += fmt::format("<tr data-node=\"{}\" data-total=\"{}\"{}><td class=\"mono\">{}</td><td class=\"value\">{}</td>"
                       "<td class=\"status\">complete</td></tr>\n",
                       s.node, s.received.size(), variable, xml_escape(n.label), xml_escape(show(s.adjoint)));
  }
  out += "</table>\n</div>\n</div>\n";

  out += "<h2>3. The gradient</h2>\n<table id=\"gradient\">\n";
  for (const VariableGradient& v : r.gradients)
    out += fmt::format("<tr><td>∂L/∂{} by reverse mode</td><td class=\"value\">{}</td></tr>\n", xml_escape(v.name),
                       xml_escape(show(v.values)));
  if (r.nonfinite) {
    out += fmt::format("</table>\n<p class=\"verdict\">Not finite: {}</p>\n", xml_escape(*r.nonfinite));
  } else {
    for (const VariableGradient& v : r.gradients) {
      for (std::size_t k = 0; k < v.symbolic.size(); ++k)
        out += fmt::format("<tr><td>∂L/∂{}{} symbolically{}</td><td class=\"value\">{}</td></tr>\n", xml_escape(v.name),
                           v.symbolic.size() > 1 ? sym::subscript(static_cast<long>(k) + 1) : "",
                           r.assumptions.empty() ? "" : ", assuming " + xml_escape(join(r.assumptions)),
                           xml_escape(v.symbolic[k]));
      out += fmt::format("<tr><td>the formulas at the point</td><td class=\"value\">{}</td></tr>\n",
                         xml_escape(show(v.symbolic_values)));
    }
    out += fmt::format("</table>\n<p class=\"verdict\">Reverse mode and the formulas {} (largest difference {:.1e}, "
                       "relative to max(1, |value|)).</p>\n",
                       r.symbolic_agrees ? "agree" : "DIFFER", r.symbolic_difference);
  }

  nlohmann::json changes = nlohmann::json::array();
  for (const auto& step : e.after_step) {
    nlohmann::json list = nlohmann::json::array();
    for (const PartialAdjoint& c : step)
      list.push_back({{"node", c.node}, {"value", show(c.value)}, {"count", c.contributions}, {"complete", c.complete}});
    changes.push_back(list);
  }
  out += "<pre id=\"selftest\" hidden></pre>\n";
  out += fmt::format("<script type=\"application/json\" id=\"ddx-changes\">{}</script>\n", script_safe(changes.dump()));
  out += fmt::format("<script>{}</script>\n</body>\n</html>\n", kScript);
  return out;
}

}  // namespace ddx
