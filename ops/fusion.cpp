#include "ops/fusion.hpp"

#include <fmt/format.h>

#include <optional>
#include <stdexcept>

#include "engine/op.hpp"
#include "engine/print.hpp"
#include "engine/symbolic/prover.hpp"
#include "ops/fused.hpp"

namespace ddx {
namespace {

struct Ops {
  OpId sub, mul, div, neg, exp, log, sum;
};
const Ops& ops() {
  static const Ops table = [] {
    register_builtin_ops();
    auto id = [](std::string_view name) {
      OpId op = 0;
      if (!find_op(name, &op)) throw std::logic_error(fmt::format("fusion: no op '{}'", name));
      return op;
    };
    return Ops{id("sub"), id("mul"), id("div"), id("neg"), id("exp"), id("log"), id("sum")};
  }();
  return table;
}

bool is(const Graph& g, NodeId id, OpId op) { return g.node(id).op == op; }
NodeId arg(const Graph& g, NodeId id, int k = 0) { return g.node(id).in[k]; }

// A scalar constant's value.
const Rational* scalar_constant(const Graph& g, NodeId id) {
  return g.shape(id).is_scalar() ? g.uniform_constant(id) : nullptr;
}

// `s` sums `x` along its last axis, one value per row: sum(x, axis=-1), or
// for a vector also the full sum.
bool is_row_sum(const Graph& g, NodeId s, NodeId x) {
  if (!is(g, s, ops().sum) || arg(g, s) != x) return false;
  const Shape& from = g.shape(x);
  const Shape& to = g.shape(s);
  if (from.rank == 1 && to.is_scalar()) return true;
  return from.rank > 0 && to == from.row_reduced();
}

// x0 when x = x0 − c with c one value per row (the max-shift), else x:
// softmax and log-softmax of x0 − c are those of x0.
NodeId without_row_shift(const Graph& g, NodeId x, std::vector<NodeId>& nodes) {
  if (!is(g, x, ops().sub)) return x;
  const NodeId x0 = arg(g, x, 0), c = arg(g, x, 1);
  const Shape &sx = g.shape(x), &sc = g.shape(c);
  if (!(g.shape(x0) == sx) || sc.cols() != 1 || !broadcasts_to(sc, sx)) return x;
  nodes.insert(nodes.end(), {x, c});
  return x0;
}

// The logits x of exp(x) / sum(exp(x)) (with a row shift dropped), adding
// the pattern's nodes to `nodes`.
std::optional<NodeId> composed_softmax(const Graph& g, NodeId id, std::vector<NodeId>& nodes) {
  if (!is(g, id, ops().div)) return std::nullopt;
  const NodeId e = arg(g, id, 0), s = arg(g, id, 1);
  if (!is(g, e, ops().exp) || !is_row_sum(g, s, e)) return std::nullopt;
  nodes.insert(nodes.end(), {id, e, s});
  return without_row_shift(g, arg(g, e), nodes);
}

// The x of log(sum(exp(x))) summed along the last axis.
std::optional<NodeId> composed_log_sum_exp(const Graph& g, NodeId id, std::vector<NodeId>& nodes) {
  if (!is(g, id, ops().log)) return std::nullopt;
  const NodeId s = arg(g, id);
  if (!is(g, s, ops().sum) || !is(g, arg(g, s), ops().exp) || !is_row_sum(g, s, arg(g, s))) return std::nullopt;
  nodes.insert(nodes.end(), {id, s, arg(g, s)});
  return arg(g, arg(g, s));
}

// The x of a log-softmax: log(softmax(x)), x − log Σ exp(x) (composed or
// log_sum_exp; the max-shifted form w − log Σ exp(w), w = x − c, included),
// or log_softmax_fused(x).
std::optional<NodeId> log_softmax_of(const Graph& g, NodeId id, std::vector<NodeId>& nodes) {
  const std::size_t mark = nodes.size();
  if (is(g, id, fused_op_ids().log_softmax)) {
    nodes.push_back(id);
    return arg(g, id);
  }
  if (is(g, id, ops().log)) {
    nodes.push_back(id);
    if (auto x = composed_softmax(g, arg(g, id), nodes)) return x;
  }
  if (is(g, id, ops().sub)) {
    nodes.push_back(id);
    const NodeId x = arg(g, id, 0), l = arg(g, id, 1);
    if (is(g, l, fused_op_ids().log_sum_exp) && arg(g, l) == x) {
      nodes.push_back(l);
      return without_row_shift(g, x, nodes);
    }
    if (auto lx = composed_log_sum_exp(g, l, nodes); lx && *lx == x) return without_row_shift(g, x, nodes);
  }
  nodes.resize(mark);
  return std::nullopt;
}

Expr at(Graph& g, NodeId id) { return {g, id}; }

// c·Σ y·log softmax(x): from a scalar root down through negations, scalar
// constant factors and sums to the product y·log softmax(x).
std::optional<RewriteMatch> cross_entropy_rule(const Graph& g, NodeId root) {
  if (!g.shape(root).is_scalar()) return std::nullopt;
  std::vector<NodeId> nodes;
  Rational factor(1);
  bool summed = false;
  NodeId cur = root;
  for (;;) {
    const Node& n = g.node(cur);
    const Rational *left = n.arity == 2 ? scalar_constant(g, n.in[0]) : nullptr,
                   *right = n.arity == 2 ? scalar_constant(g, n.in[1]) : nullptr;
    if (n.op == ops().neg) {
      factor = -factor;
    } else if (n.op == ops().div && right && *right != 0) {
      factor /= *right;
    } else if (n.op == ops().mul && (left || right)) {
      factor *= left ? *left : *right;
      nodes.push_back(cur);
      cur = left ? n.in[1] : n.in[0];
      continue;
    } else if (n.op == ops().sum) {
      summed = true;
    } else {
      break;
    }
    nodes.push_back(cur);
    cur = n.in[0];
  }
  if (!summed || !is(g, cur, ops().mul)) return std::nullopt;
  nodes.push_back(cur);
  for (int side = 0; side < 2; ++side) {
    std::vector<NodeId> inner;
    NodeId y = arg(g, cur, 1 - side);
    const auto x = log_softmax_of(g, arg(g, cur, side), inner);
    if (!x) continue;
    Rational sign(1);
    if (is(g, y, ops().neg)) {
      inner.push_back(y);
      y = arg(g, y);
      sign = -1;
    }
    if (!(g.shape(y) == g.shape(*x)) || !(g.shape(arg(g, cur)) == g.shape(*x))) continue;
    nodes.insert(nodes.end(), inner.begin(), inner.end());
    // c·Σ y·log softmax(x) = −c·B·softmax_cross_entropy(x, y), B the rows.
    const Rational scale = -factor * sign * Rational(g.shape(*x).rows());
    return RewriteMatch{.rule = "crossentropy_softmax_to_fused",
                        .leaves = {*x, y},
                        .replaced = std::move(nodes),
                        .build = [scale](Graph& h, std::span<const NodeId> l) {
                          return (softmax_cross_entropy(at(h, l[0]), at(h, l[1])) * scale).id();
                        }};
  }
  return std::nullopt;
}

std::optional<RewriteMatch> log_softmax_rule(const Graph& g, NodeId root) {
  if (is(g, root, fused_op_ids().log_softmax)) return std::nullopt;  // already fused
  std::vector<NodeId> nodes;
  const auto x = log_softmax_of(g, root, nodes);
  if (!x || !(g.shape(*x) == g.shape(root))) return std::nullopt;
  return RewriteMatch{.rule = "log_softmax_to_fused", .leaves = {*x}, .replaced = std::move(nodes),
                      .build = [](Graph& h, std::span<const NodeId> l) { return log_softmax_fused(at(h, l[0])).id(); }};
}

std::optional<RewriteMatch> log_sum_exp_rule(const Graph& g, NodeId root) {
  std::vector<NodeId> nodes;
  const auto x = composed_log_sum_exp(g, root, nodes);
  if (!x) return std::nullopt;
  // A vector's full sum is a scalar: the one element of log_sum_exp's [1].
  const bool scalar = g.shape(root).is_scalar();
  return RewriteMatch{.rule = "logsumexp_to_fused", .leaves = {*x}, .replaced = std::move(nodes),
                      .build = [scalar](Graph& h, std::span<const NodeId> l) {
                        const Expr lse = log_sum_exp(at(h, l[0]));
                        return (scalar ? sum(lse) : lse).id();
                      }};
}

std::optional<RewriteMatch> softmax_rule(const Graph& g, NodeId root) {
  std::vector<NodeId> nodes;
  const auto x = composed_softmax(g, root, nodes);
  if (!x) return std::nullopt;
  return RewriteMatch{.rule = "softmax_to_fused", .leaves = {*x}, .replaced = std::move(nodes),
                      .build = [](Graph& h, std::span<const NodeId> l) { return softmax_fused(at(h, l[0])).id(); }};
}

Proof prove_rewrite(const Graph& g, const AppliedRewrite& a, const FusionOptions& options) {
  sym::Claim claim;
  claim.graph = &g;
  claim.lhs = a.root;
  claim.rhs = a.local;
  claim.lhs_name = "composed";
  claim.rhs_name = "fused";
  claim.identity = fmt::format("{} = {}", to_infix(g, a.root), to_infix(g, a.local));
  sym::ProverOptions prover;
  prover.check_steps = options.check_steps;
  // The classes are the length of the rows the pattern works on (the prover
  // would name the length of the matched node, 1 for a scalar loss).
  const std::string classes = std::to_string(g.shape(a.match.leaves.front()).cols());
  try {
    Proof proof = sym::prove_fixed(claim, prover);
    proof.classes = classes;
    return proof;
  } catch (const std::domain_error& e) {  // the symbolic algebra meets log(0) or 1/0: no canonical form
    Proof failed;
    failed.identity = claim.identity;
    failed.route = "scalarized";
    failed.classes = classes;
    failed.residual = fmt::format("no symbolic form: {}", e.what());
    return failed;
  }
}

}  // namespace

std::span<const RewriteRule> fusion_rules() {
  static const std::vector<RewriteRule> rules{cross_entropy_rule, log_softmax_rule, log_sum_exp_rule, softmax_rule};
  return rules;
}

bool FusionResult::all_proven() const {
  for (const FusionRecord& r : rewrites)
    if (!r.proof.proven) return false;
  return true;
}

FusionResult fuse(Graph& g, std::span<const NodeId> roots, const FusionOptions& options) {
  RewriteResult rewritten = rewrite(g, roots, fusion_rules());
  FusionResult out;
  out.roots = std::move(rewritten.roots);
  for (const AppliedRewrite& a : rewritten.applied) {
    FusionRecord r{.rule = a.match.rule, .root = a.root, .before = to_infix(g, a.root)};
    for (NodeId id : a.match.replaced) r.replaced.push_back({id, node_call(g, id)});
    r.fused = a.replacement;
    r.after = to_infix(g, a.replacement);
    if (options.prove) r.proof = prove_rewrite(g, a, options);
    out.rewrites.push_back(std::move(r));
  }
  return out;
}

}  // namespace ddx
