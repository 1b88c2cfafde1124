#include "engine/symbolic/prover.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <fmt/format.h>
#include <memory>
#include <random>

#include "engine/eval.hpp"
#include "engine/print.hpp"
#include "engine/symbolic/decide.hpp"
#include "engine/symbolic/print.hpp"
#include "engine/symbolic/scalarize.hpp"

namespace ddx::sym {
namespace {

using Float = Float50;

// Long formulas (hundreds of terms at large n) are cut in the middle.
std::string abbreviate(const std::string& s, std::size_t max = 1500) {
  if (s.size() <= max) return s;
  std::size_t head = max / 2, tail = s.size() - max / 2;
  while (head > 0 && (s[head] & 0xC0) == 0x80) --head;  // keep UTF-8 characters whole
  while (tail < s.size() && (s[tail] & 0xC0) == 0x80) ++tail;
  return s.substr(0, head) + fmt::format(" … ({} characters) … ", tail - head) + s.substr(tail);
}

double uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// A random point that satisfies the hypotheses, and the graph evaluated there.
struct Point {
  Bindings<Float> bindings;
  std::unique_ptr<Evaluation<Float>> graph_values;
};

class NumericChecker {
 public:
  NumericChecker(Context& ctx, const Claim& claim, const std::vector<Hypothesis>& hyps, const ProverOptions& o)
      : ctx_(ctx), claim_(claim) {
    const Graph& g = *claim.graph;
    std::mt19937_64 rng(o.seed);
    std::vector<NodeId> roots{claim.lhs, claim.rhs};
    for (const auto& h : claim.hypotheses) roots.insert(roots.end(), {h.lhs, h.rhs});
    for (int k = 0; k < o.points; ++k) {
      Point p;
      for (NodeId v : g.variables()) {
        const std::string& name = g.attr(v).name;
        auto& values = p.bindings[name];
        const bool positive = claim.positive.contains(name);
        for (std::int64_t e = 0; e < g.shape(v).size(); ++e)
          values.push_back(Float(positive ? 0.5 + 1.5 * uniform(rng) : -2 + 4 * uniform(rng)));
      }
      for (const Hypothesis& h : hyps) {
        const Elimination e = elimination_of(ctx_, h);
        const Float value = evaluator(p).value(e.replacement);
        const Atom& a = ctx_.atom(e.symbol);
        p.bindings.at(a.name).at(index_of(a)) = value;
      }
      p.graph_values = std::make_unique<Evaluation<Float>>(g, roots, p.bindings);
      points_.push_back(std::move(p));
    }
  }

  PolyEvaluator<Float> evaluator(const Point& p) const {
    return PolyEvaluator<Float>(ctx_, [this, &p](const Atom& a) -> Float {
      if (a.kind == AtomKind::Opaque) return p.graph_values->value(static_cast<NodeId>(a.row))[a.col];
      return p.bindings.at(a.name).at(index_of(a));
    });
  }

  // Largest difference of two sides over the points, each side a function of a point.
  template <class A, class B> std::pair<bool, std::string> compare(A side_a, B side_b) const {
    double worst = 0;
    bool ok = true;
    for (const Point& p : points_) {
      const Float a = side_a(p), b = side_b(p);
      const Float diff = abs(Float(a - b));
      // 50-digit evaluation of these expressions errs by ~1e-48 relative; a real
      // difference at a random point is many orders larger than 1e-40.
      const Float tolerance = Float(1e-40) * (1 + abs(a) + abs(b));
      if (!(diff <= tolerance)) ok = false;
      worst = std::max(worst, static_cast<double>(diff));
    }
    return {ok, fmt::format("50 digits, {} random points satisfying the hypotheses: max |difference| {:.1e}",
                            points_.size(), worst)};
  }

  Float graph_value(const Point& p, NodeId node, std::size_t k) const { return p.graph_values->value(node)[k]; }

 private:
  std::size_t index_of(const Atom& a) const {
    for (NodeId v : claim_.graph->variables())
      if (claim_.graph->attr(v).name == a.name) {
        const Shape& s = claim_.graph->shape(v);
        return static_cast<std::size_t>((a.row < 0 ? 0 : a.row) * s.cols() + (a.col < 0 ? 0 : a.col));
      }
    throw std::logic_error("symbol of no variable: " + a.name);
  }

  Context& ctx_;
  const Claim& claim_;
  std::vector<Point> points_;
};

}  // namespace

Proof prove_fixed(const Claim& claim, const ProverOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const Graph& g = *claim.graph;
  if (!(g.shape(claim.lhs) == g.shape(claim.rhs)))
    throw ShapeError(fmt::format("claim: the two sides have shapes {} and {}", to_string(g.shape(claim.lhs)),
                                 to_string(g.shape(claim.rhs))));
  Context ctx;
  Scalarizer scalars(ctx, g, claim.positive);
  std::vector<Value> lhs = scalars.values(claim.lhs);
  std::vector<Value> rhs = scalars.values(claim.rhs);

  std::vector<Hypothesis> hyps;
  for (const auto& h : claim.hypotheses) {
    const auto& l = scalars.values(h.lhs);
    const auto& r = scalars.values(h.rhs);
    for (std::size_t k = 0; k < l.size(); ++k) {
      PolyRef d = ctx.sub(l[k].poly(), r[r.size() == 1 ? 0 : k].poly());
      if (!d->is_zero()) hyps.push_back({h.text, d});
    }
  }

  prepare(ctx, hyps);
  Printer printer(ctx);
  for (const auto& [node, name] : claim.names) printer.name_elements(name, scalars.values(node));
  printer.set_families(g);

  Proof proof;
  proof.identity = claim.identity;
  proof.classes = std::to_string(g.shape(claim.lhs).cols());
  proof.route = "scalarized";
  for (const auto& h : claim.hypotheses) proof.hypotheses.push_back(h.text);

  // Decide every component, keeping only what the trace shows: component k,
  // or the first that fails when k does not.
  const std::size_t size = lhs.size();
  const std::size_t k = std::min(claim.shown_component, size - 1);
  std::vector<char> zero(size, 0);
  std::optional<std::size_t> first_failure;
  std::map<std::size_t, std::pair<PolyRef, Decision>> kept;
  Decider decider(ctx, hyps);
  for (std::size_t c = 0; c < size; ++c) {
    PolyRef residual = ctx.sub(lhs[c].poly(), rhs[c].poly());
    Decision dc = decider.decide(residual);
    zero[c] = dc.zero;
    const bool first = !dc.zero && !first_failure;
    if (first) first_failure = c;
    if (c == k || first) kept.emplace(c, std::make_pair(std::move(residual), std::move(dc)));
    if (c != k && !first) lhs[c] = rhs[c] = Value(ctx.zero());  // release
  }
  proof.proven = !first_failure;
  const std::size_t shown = first_failure && zero[k] ? *first_failure : k;
  const std::string comp = lhs.size() > 1 ? subscript(static_cast<long>(shown) + 1) : "";
  // "p − y" with a subscript reads as (p − y)₁.
  auto component = [&](const std::string& name, const std::string& sub) {
    return name.find(' ') == std::string::npos ? name + sub : "(" + name + ")" + sub;
  };
  const std::string comp_latex = lhs.size() > 1 ? fmt::format("_{{{}}}", shown + 1) : "";
  if (!proof.proven) {
    proof.residual = printer.factored_text(ctx, kept.at(shown).second.reduced);
    proof.residual_latex = printer.factored_latex(ctx, kept.at(shown).second.reduced);
    if (lhs.size() > 1) {
      proof.residual = fmt::format("component {}: {}", shown + 1, proof.residual);
    }
  }

  // The trace, following component `shown`.
  const Decision& d = kept.at(shown).second;
  std::unique_ptr<NumericChecker> checker;
  if (options.check_steps) checker = std::make_unique<NumericChecker>(ctx, claim, hyps, options);
  auto add_step = [&](ProofStep step, auto side_a, auto side_b) {
    if (checker) std::tie(step.numeric_check_passed, step.numeric_check) = checker->compare(side_a, side_b);
    else step.numeric_check = "not checked";
    proof.steps.push_back(std::move(step));
  };
  auto poly_side = [&](PolyRef p) { return [&, p](const auto& pt) { return checker->evaluator(pt).value(p); }; };
  auto graph_side = [&](NodeId n) { return [&, n](const auto& pt) { return checker->graph_value(pt, n, shown); }; };

  const std::string l_text = printer.text(lhs[shown].poly()), r_text = printer.text(rhs[shown].poly());
  add_step({.rule = "scalarize",
            .before = abbreviate(fmt::format("{} = {}", claim.lhs_name, to_infix(g, claim.lhs))),
            .after = abbreviate(fmt::format("{} = {}", component(claim.lhs_name, comp), l_text)),
            .latex_before = abbreviate(claim.lhs_name),
            .latex_after = abbreviate(fmt::format("{}{} = {}", claim.lhs_name, comp_latex, printer.latex(lhs[shown].poly())))},
           graph_side(claim.lhs), poly_side(lhs[shown].poly()));
  add_step({.rule = "scalarize",
            .before = abbreviate(fmt::format("{} = {}", claim.rhs_name, to_infix(g, claim.rhs))),
            .after = abbreviate(fmt::format("{} = {}", component(claim.rhs_name, comp), r_text)),
            .latex_before = abbreviate(claim.rhs_name),
            .latex_after = abbreviate(fmt::format("{}{} = {}", claim.rhs_name, comp_latex, printer.latex(rhs[shown].poly())))},
           graph_side(claim.rhs), poly_side(rhs[shown].poly()));
  const PolyRef& r0 = kept.at(shown).first;
  add_step({.rule = "subtract-and-collect",
            .before = abbreviate(fmt::format("({}) − ({})", l_text, r_text)),
            .after = abbreviate(printer.factored_text(ctx, r0)),
            .latex_before = abbreviate(fmt::format("\\left({}\\right) - \\left({}\\right)", printer.latex(lhs[shown].poly()),
                                                   printer.latex(rhs[shown].poly()))),
            .latex_after = abbreviate(printer.factored_latex(ctx, r0))},
           [&](const auto& pt) {
             auto ev = checker->evaluator(pt);
             return Float(ev.value(lhs[shown].poly()) - ev.value(rhs[shown].poly()));
           },
           poly_side(r0));
  if (!d.used.empty()) {
    std::string uses;
    for (const std::string& u : d.used) uses += (uses.empty() ? "" : "; ") + u;
    add_step({.rule = "hypothesis",
              .before = abbreviate(printer.factored_text(ctx, r0)),
              .after = abbreviate(printer.factored_text(ctx, d.reduced)),
              .latex_before = abbreviate(printer.factored_latex(ctx, r0)),
              .latex_after = abbreviate(printer.factored_latex(ctx, d.reduced)),
              .uses = uses},
             poly_side(r0), poly_side(d.reduced));
  }
  if (d.unfolded) {
    add_step({.rule = "unfold-definitions",
              .before = abbreviate(printer.factored_text(ctx, d.reduced)),
              .after = d.zero ? "0" : abbreviate(printer.factored_text(ctx, d.reduced)),
              .latex_before = abbreviate(printer.factored_latex(ctx, d.reduced)),
              .latex_after = d.zero ? "0" : abbreviate(printer.factored_latex(ctx, d.reduced)),
              .uses = "each named sum stands for its terms, e.g. S = Σⱼ exp(zⱼ)"},
             poly_side(d.reduced), [&](const auto& pt) { return d.zero ? Float(0) : checker->evaluator(pt).value(d.reduced); });
  }
  {
    const std::size_t failures = static_cast<std::size_t>(std::count(zero.begin(), zero.end(), 0));
    ProofStep all{.rule = "every-component",
                  .before = fmt::format("{} − {} for k = 1..{}", component(claim.lhs_name, "ₖ"),
                                        component(claim.rhs_name, "ₖ"), lhs.size()),
                  .after = failures == 0 ? "0 for every k" : fmt::format("nonzero for {} of {} components", failures, lhs.size()),
                  .latex_before = fmt::format("\\left({}\\right)_k - \\left({}\\right)_k,\\ k = 1..{}", claim.lhs_name,
                                              claim.rhs_name, lhs.size()),
                  .latex_after = failures == 0 ? "0" : "\\neq 0",
                  .uses = d.used.empty() ? "" : d.used.front()};
    if (checker) {
      // Every component of the graph's two sides, evaluated directly.
      bool ok = true;
      for (std::size_t c = 0; c < size; ++c) {
        auto r = checker->compare([&](const auto& pt) { return checker->graph_value(pt, claim.lhs, c); },
                                  [&](const auto& pt) { return checker->graph_value(pt, claim.rhs, c); });
        const bool agrees = r.first;
        if (agrees != static_cast<bool>(zero[c])) ok = false;  // the numbers must agree with the decision
      }
      all.numeric_check_passed = ok;
      all.numeric_check = fmt::format("50 digits: each of the {} components of both sides {} at every random point",
                                      lhs.size(), failures == 0 ? "agrees" : "agrees exactly where the prover says so");
    }
    proof.steps.push_back(std::move(all));
  }
  proof.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return proof;
}

}  // namespace ddx::sym
