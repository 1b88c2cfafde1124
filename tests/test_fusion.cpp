// The fusion pass (ops/fusion.hpp) and the graph rewriting under it
// (engine/rewrite.hpp): every rewrite proven and checked numerically at a
// random point, value and gradients; graphs with nothing to fuse unchanged.
#include "ops/fusion.hpp"

#include <gtest/gtest.h>

#include <random>

#include "derivations/fuse.hpp"
#include "engine/eval.hpp"
#include "engine/op.hpp"
#include "engine/print.hpp"
#include "ops/composites.hpp"
#include "ops/fused.hpp"
#include "ops/functions.hpp"

namespace ddx {
namespace {

using Shapes = std::map<std::string, Shape, std::less<>>;

struct Parsed {
  std::unique_ptr<Graph> graph = std::make_unique<Graph>();
  NodeId root = 0;
};

Parsed parse(const std::string& text, const Shapes& shapes) {
  Parsed p;
  ParseContext context = builtin_parse_context(shapes);
  context.other_variables = Shape::vector(3);
  p.root = parse_program(*p.graph, text, context).result.id();
  return p;
}

// Seeded values for every variable: logits in [-3, 3], a temperature or
// other positive scalar in [0.5, 2], targets a distribution per row.
ExactBindings random_point(const Graph& g, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> logit(-3000, 3000), positive(500, 2000), weight(1, 100);
  ExactBindings out;
  for (NodeId v : g.variables()) {
    const std::string& name = g.attr(v).name;
    const Shape& s = g.shape(v);
    auto& values = out[name];
    if (name == "y") {
      for (std::int64_t r = 0; r < s.rows(); ++r) {
        std::vector<int> w(static_cast<std::size_t>(s.cols()));
        int total = 0;
        for (int& x : w) total += x = weight(rng);
        for (int x : w) values.push_back(Rational(x, total));
      }
    } else {
      for (std::int64_t k = 0; k < s.size(); ++k)
        values.push_back(s.is_scalar() ? Rational(positive(rng), 1000) : Rational(logit(rng), 1000));
    }
  }
  return out;
}

// Both graphs at 100 digits, rounding a few dozen times each by ~1e-100
// relative, agree to kAgreement (1e-90) in relative_difference, as ddx fuse
// requires; a rewrite that changed the value differs by far more.
void expect_same_values(Graph& g, NodeId a, NodeId b, std::uint64_t seed, const std::string& what) {
  std::vector<NodeId> roots{a, b};
  std::vector<Expr> wrt;
  for (NodeId v : topological_order(g, std::span(&a, 1)))
    if (g.is_variable(v)) wrt.emplace_back(g, v);
  std::size_t compared = 1;
  if (g.shape(a).is_scalar()) {
    const Gradient ga = grad(Expr(g, a), wrt), gb = grad(Expr(g, b), wrt);
    for (std::size_t k = 0; k < wrt.size(); ++k) roots.insert(roots.end(), {ga.gradients[k], gb.gradients[k]});
    compared += wrt.size();
  }
  const Evaluation<Float100> ev(g, roots, round_bindings<Float100>(random_point(g, seed)));
  for (std::size_t k = 0; k < compared; ++k) {
    const auto &x = ev.value(roots[2 * k]), &y = ev.value(roots[2 * k + 1]);
    ASSERT_EQ(x.size(), y.size());
    for (std::size_t e = 0; e < x.size(); ++e) {
      EXPECT_LE(relative_difference(x[e], y[e]), Float100(kAgreement))
          << what << (k == 0 ? " value" : " gradient " + std::to_string(k)) << " element " << e;
    }
  }
}

std::vector<std::string> rules_of(const FusionResult& r) {
  std::vector<std::string> out;
  for (const FusionRecord& w : r.rewrites) out.push_back(w.rule);
  return out;
}

struct Example {
  std::string expression;
  Shapes shapes;
  std::vector<std::string> rules;  // the rewrites expected, bottom-up
  std::string after;               // the fused expression printed
};

const std::vector<Example>& examples() {
  static const std::vector<Example> list{
      {"-sum(y * log(softmax(z)))", {}, {"crossentropy_softmax_to_fused"}, "softmax_cross_entropy(z, y)"},
      {"p = softmax(z); -sum(y * log(p))", {}, {"crossentropy_softmax_to_fused"}, "softmax_cross_entropy(z, y)"},
      {"cross_entropy(softmax(z), y)", {}, {"crossentropy_softmax_to_fused"}, "softmax_cross_entropy(z, y)"},
      {"-sum(log(softmax(z)) * y)", {}, {"crossentropy_softmax_to_fused"}, "softmax_cross_entropy(z, y)"},
      {"sum(-y * log(softmax(z)))", {}, {"crossentropy_softmax_to_fused"}, "softmax_cross_entropy(z, y)"},
      // batch mean, and the sum over the batch (B times the mean)
      {"cross_entropy(softmax(z), y)", {{"z", Shape::matrix(2, 3)}, {"y", Shape::matrix(2, 3)}},
       {"crossentropy_softmax_to_fused"}, "softmax_cross_entropy(z, y)"},
      {"-sum(y * log(softmax(z))) / 4", {{"z", Shape::matrix(4, 3)}, {"y", Shape::matrix(4, 3)}},
       {"crossentropy_softmax_to_fused"}, "softmax_cross_entropy(z, y)"},
      {"-sum(y * log(softmax(z)))", {{"z", Shape::matrix(2, 3)}, {"y", Shape::matrix(2, 3)}},
       {"crossentropy_softmax_to_fused"}, "softmax_cross_entropy(z, y) * 2"},
      {"mean(-sum(y * log(softmax(z)), axis=1))", {{"z", Shape::matrix(2, 3)}, {"y", Shape::matrix(2, 3)}},
       {"crossentropy_softmax_to_fused"}, "softmax_cross_entropy(z, y)"},
      // temperature
      {"cross_entropy(softmax(z, T), y)", {{"T", Shape::scalar()}}, {"crossentropy_softmax_to_fused"},
       "softmax_cross_entropy(z / T, y)"},
      {"-sum(y * log(softmax(z / T)))", {{"z", Shape::matrix(2, 3)}, {"y", Shape::matrix(2, 3)}, {"T", Shape::scalar()}},
       {"crossentropy_softmax_to_fused"}, "softmax_cross_entropy(z / T, y) * 2"},
      // log-softmax written out, and the max-shift dropped
      {"-sum(y * (z - log(sum(exp(z), axis=0))))", {}, {"crossentropy_softmax_to_fused"}, "softmax_cross_entropy(z, y)"},
      {"s = z - stop_gradient(max(z)); -sum(y * log(exp(s) / sum(exp(s))))", {}, {"crossentropy_softmax_to_fused"},
       "softmax_cross_entropy(z, y)"},
      // the smaller patterns
      {"log(softmax(z))", {}, {"log_softmax_to_fused"}, "log_softmax_fused(z)"},
      {"log(softmax(z))", {{"z", Shape::matrix(2, 3)}}, {"log_softmax_to_fused"}, "log_softmax_fused(z)"},
      {"z - log(sum(exp(z), axis=1))", {{"z", Shape::matrix(2, 3)}}, {"log_softmax_to_fused"}, "log_softmax_fused(z)"},
      {"log(sum(exp(z), axis=1))", {{"z", Shape::matrix(2, 3)}}, {"logsumexp_to_fused"}, "log_sum_exp(z)"},
      {"log(sum(exp(z)))", {}, {"logsumexp_to_fused"}, "sum(log_sum_exp(z))"},
      {"softmax(z)", {}, {"softmax_to_fused"}, "softmax_fused(z)"},
      // several in one graph
      {"p = softmax(z); -sum(y * log(p)) + sum(p * p) + sum(log(sum(exp(2 * z))))", {},
       {"crossentropy_softmax_to_fused", "softmax_to_fused", "logsumexp_to_fused"},
       "softmax_cross_entropy(z, y) + sum(softmax_fused(z) * softmax_fused(z)) + sum(log_sum_exp(2 * z))"},
  };
  return list;
}

TEST(Fusion, EveryRewriteIsProvenAndTheGraphsAgreeAtARandomPoint) {
  std::uint64_t seed = 1;
  for (const Example& ex : examples()) {
    Parsed p = parse(ex.expression, ex.shapes);
    Graph& g = *p.graph;
    const FusionResult r = fuse(g, std::span(&p.root, 1));
    auto rules = rules_of(r), expected = ex.rules;
    std::sort(rules.begin(), rules.end());
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(rules, expected) << ex.expression;
    EXPECT_EQ(to_infix(g, r.roots.front()), ex.after) << ex.expression;
    EXPECT_TRUE(r.all_proven()) << ex.expression;
    for (const FusionRecord& w : r.rewrites) {
      EXPECT_TRUE(w.proof.proven) << ex.expression << ": " << w.rule << " residual " << w.proof.residual;
      EXPECT_TRUE(w.proof.steps_checked()) << ex.expression << ": " << w.rule;
      ASSERT_FALSE(w.replaced.empty());
      EXPECT_EQ(w.replaced.front().id, w.root);
      EXPECT_EQ(w.before, to_infix(g, w.root));
      EXPECT_EQ(w.after, to_infix(g, w.fused));
      // Each rewrite on its own preserves the value.
      expect_same_values(g, w.root, w.fused, seed, ex.expression + ": " + w.rule);
    }
    expect_same_values(g, p.root, r.roots.front(), seed++, ex.expression);
  }
}

TEST(Fusion, TheStableComposedFormsFuseOnTheUnshiftedLogits) {
  for (const Shape& shape : {Shape::vector(4), Shape::matrix(3, 4)}) {
    Graph g;
    const Expr z = variable(g, "z", shape), y = variable(g, "y", shape);
    const NodeId roots[] = {stable_softmax_cross_entropy(z, y).id(), stable_log_softmax(z).id()};
    const FusionResult r = fuse(g, roots);
    auto rules = rules_of(r);
    std::sort(rules.begin(), rules.end());
    EXPECT_EQ(rules, (std::vector<std::string>{"crossentropy_softmax_to_fused", "log_softmax_to_fused"}));
    EXPECT_TRUE(r.all_proven());
    EXPECT_EQ(to_infix(g, r.roots[0]), "softmax_cross_entropy(z, y)");
    EXPECT_EQ(to_infix(g, r.roots[1]), "log_softmax_fused(z)");
    for (int k = 0; k < 2; ++k) expect_same_values(g, roots[k], r.roots[k], 11, "stable " + to_string(shape));
  }
}

TEST(Fusion, TheFusedGraphIsSmaller) {
  Parsed p = parse("-sum(y * log(softmax(z)))", {});
  const FusionResult r = fuse(*p.graph, std::span(&p.root, 1), {.prove = false});
  const NodeId after = r.roots.front();
  EXPECT_LT(topological_order(*p.graph, std::span(&after, 1)).size(),
            topological_order(*p.graph, std::span(&p.root, 1)).size());
  EXPECT_EQ(p.graph->node(after).op, fused_op_ids().softmax_cross_entropy);
}

TEST(Fusion, NothingToFuseLeavesTheGraphUnchanged) {
  for (const char* text : {"sum(exp(z) * y)", "log(sum(exp(z) * y))", "exp(z) / sum(exp(y))", "log(sum(exp(z)) + 1)",
                           "softmax_cross_entropy(z, y)", "-sum(y * log(z))"}) {
    Parsed p = parse(text, {});
    const std::size_t before = p.graph->size();
    const std::string printed = to_infix(*p.graph, p.root);
    const FusionResult r = fuse(*p.graph, std::span(&p.root, 1));
    EXPECT_TRUE(r.rewrites.empty()) << text;
    EXPECT_EQ(r.roots.front(), p.root) << text;
    EXPECT_EQ(p.graph->size(), before) << text;
    EXPECT_EQ(to_infix(*p.graph, r.roots.front()), printed) << text;
  }
}

// Only the pattern inside is fused; the factor outside it stays.
TEST(Fusion, APatternInsideALargerExpressionIsFusedAlone) {
  Parsed p = parse("sum(y * log(softmax(z))) * sum(y)", {});
  const FusionResult r = fuse(*p.graph, std::span(&p.root, 1));
  EXPECT_EQ(rules_of(r), std::vector<std::string>{"crossentropy_softmax_to_fused"});
  EXPECT_NE(to_infix(*p.graph, r.roots.front()).find("sum(y)"), std::string::npos)
      << to_infix(*p.graph, r.roots.front());
}

TEST(Fusion, RecordsNameTheReplacedNodes) {
  Parsed p = parse("p = softmax(z); -sum(y * log(p))", {});
  const FusionResult r = fuse(*p.graph, std::span(&p.root, 1));
  ASSERT_EQ(r.rewrites.size(), 1u);
  const FusionRecord& w = r.rewrites.front();
  std::vector<std::string> nodes;
  for (const auto& n : w.replaced) nodes.push_back(n.node);
  // neg, sum, mul, log, div, exp, sum of exp
  EXPECT_EQ(nodes.size(), 7u);
  EXPECT_EQ(w.before, "-sum(y * log(exp(z) / sum(exp(z), axis=0)))");
  EXPECT_EQ(w.after, "softmax_cross_entropy(z, y)");
  EXPECT_EQ(w.proof.classes, "3");  // the length of the rows
}

TEST(Fusion, ASharedSoftmaxStaysForItsOtherUsers) {
  Parsed p = parse("p = softmax(z); -sum(y * log(p)) + sum(p * y)", {});
  const FusionResult r = fuse(*p.graph, std::span(&p.root, 1));
  EXPECT_EQ(to_infix(*p.graph, r.roots.front()), "softmax_cross_entropy(z, y) + sum(softmax_fused(z) * y)");
  expect_same_values(*p.graph, p.root, r.roots.front(), 7, "shared softmax");
}

TEST(Rewrite, ARuleThatChangesTheShapeIsALogicError) {
  Graph g;
  const NodeId z = g.variable("z", Shape::vector(3));
  const NodeId e = exp(Expr(g, z)).id();
  const RewriteRule wrong = [](const Graph& h, NodeId id) -> std::optional<RewriteMatch> {
    if (h.is_variable(id) || h.is_constant(id)) return std::nullopt;
    return RewriteMatch{.rule = "wrong", .leaves = {h.node(id).in[0]}, .replaced = {id},
                        .build = [](Graph& x, std::span<const NodeId> l) { return sum(Expr(x, l[0])).id(); }};
  };
  EXPECT_THROW(rewrite(g, std::span(&e, 1), std::span(&wrong, 1)), std::logic_error);
}

}  // namespace
}  // namespace ddx
