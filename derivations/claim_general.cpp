#include "derivations/claim_general.hpp"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <map>
#include <random>
#include <stdexcept>

#include "derivations/inputs.hpp"
#include "engine/eval.hpp"
#include "engine/index/index_rules.hpp"
#include "engine/op.hpp"
#include "engine/print.hpp"

namespace ddx {
namespace {

namespace ix = index;
namespace R = index::rules;
using IndexExpr = index::Expr;
using index::Rule;
using Clock = std::chrono::steady_clock;

// The free index of every vector over the classes.
const std::string kFree = "i";

// A translated claim: larger trees than this are not rewritten (shared
// subexpressions of a gradient graph are copied into the tree each time).
constexpr std::size_t kMaxTreeNodes = 20000;

// The translation is checked against the graph up to this many classes.
constexpr long kMaxCheckedClasses = 64;

// ---------------------------------------------------------------- graph -> index calculus

std::string describe(const Graph& g, NodeId id) {
  const std::string name(op_info(g.node(id).op).name);
  return fmt::format("node {} ({}: {})", node_ref(g, id), name, to_infix(g, id, 120));
}

// Whether a node is a vector over the classes (it carries the free index).
// Scalars and the size-1 axis a reduction keeps are not; anything else is
// refused.
bool indexed(const Graph& g, NodeId id, long classes) {
  const Shape& s = g.shape(id);
  if (s.rank == 0) return false;
  if (s.rank == 2)
    throw InputError(fmt::format("--general: {} has shape {}: a proof for every n handles scalars and vectors over "
                                 "the classes, not matrices",
                                 describe(g, id), to_string(s)));
  if (s.dims[0] == classes) return true;
  if (s.dims[0] == 1) return false;
  throw InputError(fmt::format("--general: {} has shape {}, an axis that is not the {} classes", describe(g, id),
                               to_string(s), classes));
}

// A constant as a number. Refused: non-uniform vectors ([1,0,0] has no value
// "for every n"), and numbers that may stand for n: the graph was built at
// n = classes, and mean() divides by n, so 1/4 at 4 classes may mean 1/n.
IndexExpr constant_form(const Graph& g, NodeId id, long classes) {
  const Rational* value = g.uniform_constant(id);
  if (!value)
    throw InputError(fmt::format("--general: {} is a vector constant whose elements differ; only a constant with "
                                 "the same value in every class has a meaning for every n",
                                 describe(g, id)));
  if (*value != 0) {
    using boost::multiprecision::cpp_int;
    const cpp_int num = abs(numerator(*value)), den = denominator(*value);
    if (num % classes == 0 || den % classes == 0)
      throw InputError(fmt::format(
          "--general: {}: the constant {} is a multiple of the number of classes the claim was built with ({}) or of "
          "its inverse, so it may stand for n (mean divides by n) and its meaning for every n is ambiguous; build the "
          "claim with another number of classes",
          describe(g, id), to_string(*value), classes));
  }
  return ix::constant(*value);
}

struct Translation {
  std::map<NodeId, IndexExpr> form;
  std::map<std::string, NodeId> opaque;  // opaque scalar symbols (max) and the node they stand for
};

// The index form of every node the roots depend on, in topological order
// (iterative: graphs can be deep).
Translation translate(const Graph& g, const std::vector<NodeId>& roots, long classes) {
  Translation out;
  for (NodeId id : topological_order(g, roots)) {
    const Node& node = g.node(id);
    const bool vector = indexed(g, id, classes);
    if (g.is_constant(id)) {
      out.form[id] = constant_form(g, id, classes);
      continue;
    }
    if (g.is_variable(id)) {
      out.form[id] = ix::symbol(g.attr(id).name, vector ? kFree : "");
      continue;
    }
    const OpInfo& info = op_info(node.op);
    if (!info.index_form)
      throw InputError(fmt::format("--general: {}: the op '{}' has no form in index notation", describe(g, id),
                                   info.name));
    std::vector<IndexExpr> inputs;
    IndexFormContext context{.graph = g, .node = id, .inputs = {}, .result_indexed = vector, .free_index = kFree};
    for (std::size_t k = 0; k < node.arity; ++k) {
      inputs.push_back(out.form.at(node.in[k]));
      context.input_indexed[k] = indexed(g, node.in[k], classes);
    }
    context.inputs = inputs;
    IndexExpr form = info.index_form(context);
    // A symbol an op introduced (max over the classes) stands for this node's value.
    if (form->kind == ix::Kind::Symbol && form->index.empty()) out.opaque[form->name] = id;
    out.form[id] = std::move(form);
  }
  return out;
}

// Tree size of each translated node, without expanding the trees.
std::size_t tree_size(const Graph& g, NodeId root) {
  std::map<NodeId, std::size_t> size;
  for (NodeId id : topological_order(g, std::vector<NodeId>{root})) {
    std::size_t s = 1;
    for (NodeId in : g.node(id).inputs()) s = std::min(kMaxTreeNodes * 10, s + size[in]);
    size[id] = s;
  }
  return size[root];
}

// ---------------------------------------------------------------- checking the translation

// Evaluates the graph at `classes` and the index forms at n = classes at the
// same random values, so a wrong index form cannot go unnoticed. Throws
// std::logic_error (a bug in ddx, not in the claim) on a mismatch. Nested Σ
// cost n^depth to evaluate, so the check runs for up to kMaxCheckedClasses
// classes (the index forms do not depend on the number of classes).
void check_translation(const Graph& g, const std::vector<NodeId>& roots, const Translation& t, long classes,
                       const std::set<std::string>& normalized, const std::set<std::string>& positive) {
  std::mt19937_64 rng(20260122);
  auto unit = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  std::vector<NodeId> wanted = roots;
  for (const auto& [name, id] : t.opaque) wanted.push_back(id);
  for (int point = 0; point < 2; ++point) {
    Bindings<Float50> bindings;
    ix::Point at;
    at.n = static_cast<int>(classes);
    for (NodeId v : g.variables()) {
      const std::string& name = g.attr(v).name;
      if (!t.form.count(v)) continue;
      const std::int64_t size = g.shape(v).size();
      std::vector<Float50> values;
      if (normalized.count(name)) {
        double total = 0;
        std::vector<double> raw;
        for (std::int64_t k = 0; k < size; ++k) total += raw.emplace_back(0.1 + unit());
        for (double r : raw) values.push_back(Float50(r) / Float50(total));
      } else {
        for (std::int64_t k = 0; k < size; ++k)
          values.push_back(Float50(positive.count(name) || size == 1 ? 0.25 + 1.75 * unit() : 6 * unit() - 3));
      }
      bindings[name] = values;
      if (t.form.at(v)->index.empty()) at.scalars[name] = values.front();
      else at.indexed[name] = values;
    }
    const Evaluation<Float50> ev(g, wanted, bindings);
    for (const auto& [name, id] : t.opaque) at.scalars[name] = ev.scalar(id);
    for (NodeId root : roots) {
      const std::vector<Float50>& expected = ev.value(root);
      const IndexExpr& form = t.form.at(root);
      const bool vector = expected.size() > 1;
      const std::vector<long> classes_to_check =
          vector ? std::vector<long>{1, (classes + 1) / 2, classes} : std::vector<long>{1};
      for (long c : classes_to_check) {
        const Float50& want = expected[static_cast<std::size_t>(vector ? c - 1 : 0)];
        if (!is_finite(want)) continue;
        Float50 got;
        try {
          got = ix::evaluate(form, {}, at, {{kFree, static_cast<int>(c)}});
        } catch (const std::exception&) {
          continue;  // e.g. an opaque symbol without a value: nothing to compare
        }
        if (!(relative_difference(want, got) <= Float50(1e-30)))
          throw std::logic_error(fmt::format("--general: the index form of {} disagrees with the graph at class {}: "
                                             "{} against {} (an op's index form is wrong)",
                                             describe(g, root), c, got.str(20), want.str(20)));
      }
    }
  }
}

// ---------------------------------------------------------------- canonical order

// A sort key for a term or factor: its text with bound indices renamed by
// depth, so terms equal up to bound names sort together.
IndexExpr rename_bound(const IndexExpr& e, int depth) {
  if (depth > ix::kMaxDepth) throw std::length_error("index expression too deep");
  if (e->args.empty()) return e;
  if (e->kind == ix::Kind::Sum) {
    const std::string name = fmt::format("#{}", depth);
    return ix::sum_over(name, rename_bound(ix::substitute_index(e->args[0], e->index, name), depth + 1));
  }
  std::vector<IndexExpr> args;
  for (const IndexExpr& a : e->args) args.push_back(rename_bound(a, depth + 1));
  return ix::with_args(*e, std::move(args));
}

std::string sort_key(const IndexExpr& e) { return ix::to_text(rename_bound(e, 0)); }

// Sorts the terms of every sum and the factors of every product (numbers
// first), bottom-up: like terms then sit side by side for simplify to collect.
IndexExpr sort_terms(const IndexExpr& e, int depth) {
  if (depth > ix::kMaxDepth) throw std::length_error("index expression too deep");
  if (e->args.empty()) return e;
  std::vector<IndexExpr> args;
  for (const IndexExpr& a : e->args) args.push_back(sort_terms(a, depth + 1));
  if (e->kind == ix::Kind::Add || e->kind == ix::Kind::Mul) {
    std::vector<std::pair<std::string, IndexExpr>> keyed;
    for (IndexExpr& a : args) keyed.emplace_back((a->kind == ix::Kind::Constant ? "0" : "1") + sort_key(a), a);
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    args.clear();
    for (auto& [key, a] : keyed) args.push_back(std::move(a));
  }
  return ix::with_args(*e, std::move(args));
}

IndexExpr canonical(const IndexExpr& e) {
  IndexExpr current = ix::simplify(e);
  for (int round = 0; round < 8; ++round) {
    IndexExpr next = ix::simplify(sort_terms(current, 0));
    if (ix::to_text(next) == ix::to_text(current) && ix::alpha_equal(next, current)) return next;
    current = next;
  }
  return current;
}

// Counts tree nodes, stopping at `limit`.
std::size_t count_nodes(const IndexExpr& e, std::size_t limit) {
  std::size_t total = 0;
  std::vector<const ix::Node*> stack{e.get()};
  while (!stack.empty() && total < limit) {
    const ix::Node* n = stack.back();
    stack.pop_back();
    ++total;
    for (const IndexExpr& a : n->args) stack.push_back(a.get());
  }
  return total;
}

// ---------------------------------------------------------------- the rules of this route

Rule order_rule() {
  return {"order", "a + b = b + a, ab = ba; like terms collected",
          [](const IndexExpr& e, const ix::Scope&) -> std::optional<ix::Rewrite> {
            return ix::Rewrite{canonical(e), ""};
          }};
}

// Multiplies out every product of sums and every positive power of a sum
// (rules::distribute does not expand powers); refused when the result would
// be too large to continue.
Rule expand_rule() {
  return {"expand", "a(b + c) = ab + ac", [](const IndexExpr& e, const ix::Scope&) -> std::optional<ix::Rewrite> {
            IndexExpr expanded = ix::expand(e);
            if (count_nodes(expanded, kMaxTreeNodes + 1) > kMaxTreeNodes) return std::nullopt;
            return ix::Rewrite{std::move(expanded), ""};
          }};
}

struct Translated {
  IndexExpr lhs, rhs;
  std::vector<ix::Hypothesis> hypotheses;
  std::vector<std::string> hypothesis_texts;
  std::set<std::string> normalized;  // symbols with Σⱼ xⱼ = 1
};

bool mentions_symbol(const IndexExpr& e) {
  if (e->kind == ix::Kind::Symbol) return true;
  return std::any_of(e->args.begin(), e->args.end(), mentions_symbol);
}

Proof not_attempted(Proof proof, const std::string& why, Clock::time_point started) {
  proof.proven = false;
  proof.residual = why;
  proof.residual_latex = "\\text{" + why + "}";
  proof.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return proof;
}

}  // namespace

Proof prove_claim_every_n(const sym::Claim& claim, long classes) {
  const auto started = Clock::now();
  if (!claim.graph) throw std::invalid_argument("prove_claim_every_n: the claim has no graph");
  if (classes < 2)
    throw InputError(fmt::format("--general: --classes must be at least 2 (got {}): with one class a vector and a "
                                 "sum over it cannot be told apart",
                                 classes));
  const Graph& g = *claim.graph;
  if (!(g.shape(claim.lhs) == g.shape(claim.rhs)))
    throw InputError(fmt::format("--general: the sides have shapes {} and {}", to_string(g.shape(claim.lhs)),
                                 to_string(g.shape(claim.rhs))));

  Proof proof;
  proof.identity = claim.identity + " for every n";
  proof.classes = "n";
  proof.route = "index-calculus";

  std::vector<NodeId> roots{claim.lhs, claim.rhs};
  for (const auto& h : claim.hypotheses) roots.insert(roots.end(), {h.lhs, h.rhs});
  for (NodeId root : roots)
    if (tree_size(g, root) > kMaxTreeNodes)
      return not_attempted(std::move(proof),
                           fmt::format("not attempted: written as a tree, {} exceeds {} nodes",
                                       describe(g, root), kMaxTreeNodes),
                           started);
  const Translation translation = translate(g, roots, classes);

  // Hypotheses: each a rewrite of its left side into its right side (a side
  // that is a plain number goes right, so a rule never rewrites a number).
  Translated t{.lhs = translation.form.at(claim.lhs), .rhs = translation.form.at(claim.rhs)};
  for (const auto& h : claim.hypotheses) {
    IndexExpr a = canonical(translation.form.at(h.lhs)), b = canonical(translation.form.at(h.rhs));
    if (!mentions_symbol(a) && !mentions_symbol(b)) continue;  // between numbers: nothing to use
    if (!mentions_symbol(a)) std::swap(a, b);
    const ix::Hypothesis hyp{a, b};
    if (a->kind == ix::Kind::Sum && a->args[0]->kind == ix::Kind::Symbol && a->args[0]->index == a->index &&
        ix::is_constant(b, 1))
      t.normalized.insert(a->args[0]->name);
    t.hypotheses.push_back(hyp);
    proof.hypotheses.push_back(ix::hypothesis_text(hyp));
  }

  ix::Context context;
  ix::NumericCheckOptions checks;
  checks.normalized = t.normalized;
  std::set<std::string> positive;
  for (const auto& name : claim.positive) {
    positive.insert(name);
    context.positive.insert(name);
    if (!t.normalized.count(name)) checks.positive.insert(name);
  }
  if (classes <= kMaxCheckedClasses)
    check_translation(g, {claim.lhs, claim.rhs}, translation, classes, t.normalized, positive);

  std::vector<Rule> hypothesis_rules;
  for (std::size_t k = 0; k < t.hypotheses.size(); ++k) {
    Rule rule = R::hypothesis(t.hypotheses[k], t.hypotheses.size() == 1 ? "hypothesis"
                                                                          : fmt::format("hypothesis {}", k + 1));
    hypothesis_rules.push_back(std::move(rule));
  }

  // lhs − rhs, rewritten in rounds until a round changes nothing: logs and
  // exps opened up, products multiplied out, sums split and constants taken
  // out of them, the hypotheses used, x·x⁻¹ cancelled for x > 0, terms put in
  // one order so like terms collect.
  ix::Derivation derivation(context, ix::subtract(t.lhs, t.rhs), checks);
  const std::vector<std::vector<Rule>> phases = {
      {R::log_quotient(), R::log_exp(), R::exp_sum()},
      {expand_rule()},
      {R::sum_linearity(), R::sum_factor_out()},
      hypothesis_rules,
      {R::cancel()},
      {order_rule()},
  };
  std::string stopped;
  try {
    for (int round = 0; round < 12; ++round) {
      bool changed = false;
      for (const auto& phase : phases)
        if (!phase.empty() && derivation.apply(phase)) changed = true;
      if (!changed || ix::is_constant(derivation.current(), 0)) break;
    }
  } catch (const std::logic_error& e) {
    // Rules that loop, or a tree too deep (std::length_error): stop where they are.
    stopped = e.what();
  }

  proof.steps = derivation.steps();
  const IndexExpr residual = ix::reduced_difference(derivation.current(), ix::constant(0), context);
  proof.proven = ix::is_constant(residual, 0) && proof.steps_checked() && !proof.steps.empty();
  if (!proof.proven) {
    proof.residual = ix::to_text(residual);
    proof.residual_latex = ix::to_latex(residual);
    if (!stopped.empty()) proof.residual += " (the rewriting stopped: " + stopped + ")";
  }
  proof.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return proof;
}

}  // namespace ddx
