// The evaluator's lean mode (engine/eval.hpp, Keep::Roots): buffers planned
// from liveness and reused, the same values as keeping every node, rerun()
// at new bindings in the same buffers, and batches run a block of rows at a
// time with the values of running node by node.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "engine/eval.hpp"
#include "engine/op.hpp"
#include "engine/print.hpp"
#include "engine/parser.hpp"
#include "ops/composites.hpp"
#include "ops/functions.hpp"
#include "ops/fused.hpp"

namespace ddx {
namespace {

struct SoftmaxCeGraph {
  Graph g;
  Expr z, y, loss;
  NodeId grad_z = 0;

  // The composed loss (or the max-shifted one), mean over the rows.
  SoftmaxCeGraph(std::int64_t rows, std::int64_t classes, bool stable = false) {
    z = variable(g, "z", Shape::matrix(rows, classes));
    y = variable(g, "y", Shape::matrix(rows, classes));
    loss = stable ? stable_softmax_cross_entropy(z, y) : cross_entropy(softmax(z), y);
    grad_z = grad(loss, {z}).gradients[0];
  }
};

template <class T> Bindings<T> point(std::int64_t rows, std::int64_t classes, int seed) {
  Bindings<T> b;
  auto& z = b["z"];
  auto& y = b["y"];
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < classes; ++c) {
      z.push_back(static_cast<T>(std::sin(1.7 * static_cast<double>(seed + r * classes + c))));
      y.push_back(c == (r + seed) % classes ? T(1) : T(0));
    }
  return b;
}

TEST(EvalArena, LeanModeMatchesKeepingEveryValue) {
  SoftmaxCeGraph f(4, 5);
  const NodeId roots[] = {f.loss.id(), f.grad_z};
  const Bindings<double> b = point<double>(4, 5, 1);
  const Evaluation<double> all(f.g, roots, b);
  const Evaluation<double> lean(f.g, roots, b, Keep::Roots);
  EXPECT_EQ(all.value(roots[0]), lean.value(roots[0]));
  EXPECT_EQ(all.value(roots[1]), lean.value(roots[1]));
  // Intermediates share buffers and are not readable; the roots are.
  EXPECT_LT(lean.buffer_count(), all.buffer_count());
  EXPECT_EQ(all.buffer_count(), all.order().size());
  EXPECT_TRUE(lean.has(roots[0]) && lean.has(roots[1]));
  EXPECT_TRUE(all.has(f.z.id()));
  EXPECT_FALSE(lean.has(f.z.id()));
  EXPECT_THROW((void)lean.value(f.z.id()), std::out_of_range);
}

TEST(EvalArena, RerunEqualsAFreshEvaluation) {
  SoftmaxCeGraph f(3, 7);
  const NodeId roots[] = {f.loss.id(), f.grad_z};
  for (Keep keep : {Keep::All, Keep::Roots}) {
    Evaluation<float> ev(f.g, roots, point<float>(3, 7, 1), keep);
    for (int seed = 2; seed < 5; ++seed) {
      const Bindings<float> b = point<float>(3, 7, seed);
      ev.rerun(b);
      const Evaluation<float> fresh(f.g, roots, b);
      EXPECT_EQ(ev.value(roots[0]), fresh.value(roots[0])) << seed;
      EXPECT_EQ(ev.value(roots[1]), fresh.value(roots[1])) << seed;
    }
  }
}

// rerun(values) takes the variables' values in the order of variables()
// (by name: y, z here) and gives what rerun(bindings) gives, in both modes;
// a variable that is a root is copied into its buffer, so it keeps the value
// of the run. Too few spans or a span of the wrong length is refused with
// the variable named.
TEST(EvalArena, RerunByPositionEqualsRerunByName) {
  SoftmaxCeGraph f(3, 7);
  const NodeId roots[] = {f.loss.id(), f.grad_z, f.y.id()};
  for (Keep keep : {Keep::All, Keep::Roots}) {
    Evaluation<double> ev(f.g, roots, point<double>(3, 7, 1), keep);
    ASSERT_EQ(ev.variables(), (std::vector<std::string>{"y", "z"}));
    for (int seed = 2; seed < 5; ++seed) {
      Bindings<double> b = point<double>(3, 7, seed);
      const std::span<const double> values[] = {b["y"], b["z"]};
      ev.rerun(values);
      const Evaluation<double> by_name(f.g, roots, b);
      EXPECT_EQ(ev.value(roots[0]), by_name.value(roots[0])) << seed;
      EXPECT_EQ(ev.value(roots[1]), by_name.value(roots[1])) << seed;
      b["y"].assign(b["y"].size(), -1.0);
      EXPECT_EQ(ev.value(roots[2]), by_name.value(roots[2])) << "the root variable's own copy";
    }
    Bindings<double> b = point<double>(3, 7, 1);
    const std::span<const double> one[] = {b["y"]};
    EXPECT_THROW(ev.rerun(one), BindingError);
    const std::span<const double> short_z[] = {b["y"], std::span<const double>(b["z"]).first(20)};
    try {
      ev.rerun(short_z);
      ADD_FAILURE() << "a span of 20 values for z was taken";
    } catch (const BindingError& e) {
      EXPECT_NE(std::string(e.what()).find("variable 'z'"), std::string::npos) << e.what();
    }
  }
}

TEST(EvalArena, LeanModeStillReportsTheFirstNonFiniteNode) {
  SoftmaxCeGraph f(2, 3);
  const NodeId roots[] = {f.loss.id(), f.grad_z};
  Bindings<float> b = point<float>(2, 3, 1);
  Evaluation<float> ev(f.g, roots, b, Keep::Roots);
  EXPECT_FALSE(ev.nonfinite());
  b["z"][4] = 200.0f;  // exp(200) overflows float
  ev.rerun(b);
  ASSERT_TRUE(ev.nonfinite());
  const Evaluation<float> all(f.g, roots, b);
  ASSERT_TRUE(all.nonfinite());
  EXPECT_EQ(ev.nonfinite()->node, all.nonfinite()->node);
  EXPECT_EQ(ev.nonfinite()->element, all.nonfinite()->element);
  b["z"][4] = 0.5f;
  ev.rerun(b);
  EXPECT_FALSE(ev.nonfinite());
}

TEST(EvalArena, MultiprecisionValuesAgree) {
  SoftmaxCeGraph f(2, 4);
  const NodeId roots[] = {f.grad_z};
  const Bindings<Float50> b = point<Float50>(2, 4, 3);
  const Evaluation<Float50> all(f.g, roots, b);
  const Evaluation<Float50> lean(f.g, roots, b, Keep::Roots);
  EXPECT_EQ(all.value(f.grad_z), lean.value(f.grad_z));
}

// Rows of 300 make blocks of kBlockElements / 300 rows (13): 40 rows are
// some full blocks and a shorter last one.
constexpr std::int64_t kRows = 40, kClasses = 300;
constexpr std::int64_t kBlockRows = kBlockElements / kClasses;
static_assert(kBlockRows > 1 && kRows > 2 * kBlockRows && kRows % kBlockRows != 0,
              "the tests need several blocks of rows and a partial last one");

template <class T> void expect_blocks_match_node_by_node(bool stable) {
  SoftmaxCeGraph f(kRows, kClasses, stable);
  const NodeId roots[] = {f.loss.id(), f.grad_z};
  const Bindings<T> b = point<T>(kRows, kClasses, 5);
  const Evaluation<T> all(f.g, roots, b);
  const Evaluation<T> lean(f.g, roots, b, Keep::Roots);
  EXPECT_EQ(lean.block_rows(), kBlockRows);
  EXPECT_EQ(all.block_rows(), 0);
  // Bit for bit: each row comes from the same kernel on the same row.
  EXPECT_EQ(all.value(roots[0]), lean.value(roots[0]));
  EXPECT_EQ(all.value(roots[1]), lean.value(roots[1]));
  EXPECT_FALSE(lean.nonfinite());
}

TEST(EvalArena, BlocksOfRowsGiveTheValuesOfNodeByNode) {
  expect_blocks_match_node_by_node<float>(false);
  expect_blocks_match_node_by_node<double>(false);
  expect_blocks_match_node_by_node<double>(true);  // max, stop_gradient, broadcasts
  expect_blocks_match_node_by_node<long double>(true);
}

TEST(EvalArena, BlocksKeepWholeValuesOnlyForWhatLeavesTheChain) {
  SoftmaxCeGraph small(4, 5);  // one block would be the whole batch: no blocks
  const NodeId small_roots[] = {small.loss.id(), small.grad_z};
  EXPECT_EQ(Evaluation<double>(small.g, small_roots, point<double>(4, 5, 1), Keep::Roots).block_rows(), 0);
  // The one whole value of the batch's size is the gradient (a root). z and
  // y are read where the bindings hold them, the seed −1/B spread over the
  // batch is held as its one value, the loss's sum over the batch takes
  // y·log p a block at a time as the chain produces it, and everything else
  // of the chain lives in four block buffers (plus a few scalars), each
  // elementwise node written over an input that no later node reads; in the
  // stable graph's chain in two, its broadcast of each row's adjoint sum
  // being read by the product in its place (not computed).
  constexpr std::int64_t rows = 400;
  for (bool stable : {false, true}) {
    SoftmaxCeGraph f(rows, kClasses, stable);
    const NodeId roots[] = {f.loss.id(), f.grad_z};
    const Evaluation<double> lean(f.g, roots, point<double>(rows, kClasses, 5), Keep::Roots);
    EXPECT_EQ(lean.block_rows(), kBlockRows);
    const std::size_t blocks = stable ? 3 : 5;
    EXPECT_LT(lean.held_elements(), 1u * rows * kClasses + blocks * kBlockRows * kClasses) << stable;
  }
}

// The lean mode's evaluation of roots, checked to give the values of
// evaluating node by node, bit for bit.
template <class T> Evaluation<T> lean_as_node_by_node(const Graph& g, std::span<const NodeId> roots,
                                                      const Bindings<T>& b) {
  const Evaluation<T> all(g, roots, b);
  Evaluation<T> lean(g, roots, b, Keep::Roots);
  EXPECT_GT(lean.block_rows(), 0);
  for (NodeId r : roots) EXPECT_EQ(all.value(r), lean.value(r)) << node_call(g, r);
  return lean;
}

// The one-hot of integer labels, equal(classes, labels), reads nothing the
// chain computes: it runs just before its first reader, y·(z − m − log s),
// instead of first, so that its block is written just before it is read
// (not while the exps and their sums fill the cache). The stable graph's
// chain needs one block more than with y given (above): the one-hot's.
TEST(EvalArena, AOneHotOfLabelsIsComputedWhereItIsFirstRead) {
  constexpr std::int64_t rows = 400;
  Graph g;
  const Expr z = variable(g, "z", Shape::matrix(rows, kClasses));
  const Expr labels = variable(g, "labels", Shape::matrix(rows, 1));
  std::vector<Rational> index;
  for (std::int64_t c = 0; c < kClasses; ++c) index.emplace_back(c);
  const Expr classes{g, g.constant(std::move(index), Shape::matrix(1, kClasses))};
  const Expr one_hot = equal(classes, labels);
  const Expr loss = stable_softmax_cross_entropy(z, one_hot);
  const NodeId roots[] = {loss.id(), grad(loss, {z}).gradients[0]};
  Bindings<double> b = point<double>(rows, kClasses, 2);
  for (std::int64_t r = 0; r < rows; ++r) b["labels"].push_back(static_cast<double>((7 * r) % kClasses));
  const Evaluation<double> lean = lean_as_node_by_node<double>(g, roots, b);
  EXPECT_LT(lean.held_elements(), 1u * rows * kClasses + 4 * kBlockRows * kClasses);
  const std::vector<NodeId>& order = lean.order();
  const auto place = [&](NodeId id) { return std::find(order.begin(), order.end(), id) - order.begin(); };
  const auto is_exp = [&](NodeId id) { return op_info(g.node(id).op).name == "exp"; };
  const auto first_reader = std::find_if(order.begin(), order.end(), [&](NodeId id) {
    const auto ins = g.node(id).inputs();
    return std::find(ins.begin(), ins.end(), one_hot.id()) != ins.end();
  });
  ASSERT_NE(first_reader, order.end());
  EXPECT_EQ(place(one_hot.id()), first_reader - order.begin() - 1);
  EXPECT_LT(std::find_if(order.begin(), order.end(), is_exp) - order.begin(), place(one_hot.id()));
}

// Rows so wide that a block is one row (kBlockElements) run the runs of
// elementwise nodes between the row reductions (z − m then its exp; the
// log-probabilities, their product with y, its sum over the batch and the
// gradient's first term; the scaled exps and the gradient) a tile of
// columns (kColumnTile: 8 KB) at a time, the last tile shorter, and the
// values read only inside a run take a buffer of one tile: with the values
// and the non-finite report of node by node. Blocks of several rows are not
// split.
template <class T> void expect_tiles_match_node_by_node(std::int64_t cols, bool stable) {
  constexpr std::int64_t rows = 3;
  SoftmaxCeGraph f(rows, cols, stable);
  const NodeId roots[] = {f.loss.id(), f.grad_z};
  const Evaluation<T> lean = lean_as_node_by_node<T>(f.g, roots, point<T>(rows, cols, 4));
  const std::string what = std::to_string(cols) + (stable ? " stable" : "");
  EXPECT_EQ(lean.block_rows(), std::max<std::int64_t>(1, kBlockElements / cols)) << what;
  if (lean.block_rows() == 1) {
    EXPECT_GE(lean.tiled_nodes(), 4u) << what;
    EXPECT_GE(lean.tile_buffers(), 1u) << what;
  } else {
    EXPECT_EQ(lean.tiled_nodes(), 0u) << what;
    EXPECT_EQ(lean.tile_buffers(), 0u) << what;
  }
}

TEST(EvalArena, ARowWiderThanABlockRunsElementwiseNodesATileAtATime) {
  static_assert(2 * kColumnTile<float> + 37 > kBlockElements && 4 * kColumnTile<double> == kBlockElements);
  for (bool stable : {false, true}) {
    expect_tiles_match_node_by_node<float>(2 * kColumnTile<float> + 37, stable);
    expect_tiles_match_node_by_node<double>(4 * kColumnTile<double> + 37, stable);
    expect_tiles_match_node_by_node<double>(4 * kColumnTile<double>, stable);  // whole tiles only
    expect_tiles_match_node_by_node<float>(kColumnTile<float>, stable);        // two rows a block
  }

  // Other graphs with long rows: a temperature, log_softmax, a sigmoid, a
  // square, a row-wise fused node between runs, the logits read by runs on
  // both sides of a row reduction and scaled by a per-row value.
  for (const char* text : {"sum(-y * log(softmax(z / 3)))", "sum(y * log_softmax(z)) / 3",
                           "sum(sigmoid(z) * y - z^2 / 2)",
                           "sum(exp(z - max(z, axis=1)) * y) + sum(log(sum(exp(z), axis=1)))",
                           "sum(log_softmax_fused(z) * exp(y - z)) + sum(z * y)",
                           "sum((z - sum(z * y, axis=1)) * (z + 1/2) * exp(-sum(z, axis=1) / 5000))"}) {
    for (std::int64_t cols : {2 * kColumnTile<float> + 37, 6 * kColumnTile<double> + 5}) {
      constexpr std::int64_t rows = 3;
      Graph g;
      const ParseContext context =
          builtin_parse_context({{"z", Shape::matrix(rows, cols)}, {"y", Shape::matrix(rows, cols)}});
      const Expr loss = parse_program(g, text, context).result;
      const NodeId roots[] = {loss.id(), grad(loss, {variable(g, "z", Shape::matrix(rows, cols))}).gradients[0]};
      const Evaluation<float> f = lean_as_node_by_node<float>(g, roots, point<float>(rows, cols, 6));
      const Evaluation<double> d = lean_as_node_by_node<double>(g, roots, point<double>(rows, cols, 7));
      EXPECT_GT(f.tiled_nodes() + d.tiled_nodes(), 0u) << text;
    }
  }

  // exp overflows in the second tile of the second row; log, later in order,
  // meets p = 0 in the first row: the report names exp, as node by node.
  constexpr std::int64_t rows = 3, cols = 2 * kColumnTile<float> + 37;
  SoftmaxCeGraph f(rows, cols);
  const NodeId roots[] = {f.loss.id(), f.grad_z};
  Bindings<float> b = point<float>(rows, cols, 5);
  b["z"][cols + kColumnTile<float> + 17] = 200.0f;
  b["z"][4] = -200.0f;
  const Evaluation<float> all(f.g, roots, b);
  const Evaluation<float> lean(f.g, roots, b, Keep::Roots);
  ASSERT_TRUE(all.nonfinite());
  ASSERT_TRUE(lean.nonfinite());
  EXPECT_GT(lean.tiled_nodes(), 0u);
  EXPECT_EQ(op_info(f.g.node(lean.nonfinite()->node).op).name, "exp");
  EXPECT_EQ(lean.nonfinite()->node, all.nonfinite()->node);
  EXPECT_EQ(lean.nonfinite()->element, all.nonfinite()->element);
  EXPECT_EQ(lean.nonfinite()->value, all.nonfinite()->value);
}

// Without blocks too: exp(exp(x)) is written over exp(x), so −exp(exp(x))
// holds one value beside its root. An op that is not elementwise
// (log_softmax_fused: each element of its result depends on the whole row)
// gets a buffer of its own.
TEST(EvalArena, AnElementwiseNodeIsWrittenOverAnInputNoLaterNodeReads) {
  constexpr std::int64_t n = 1000;
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(n));
  Bindings<double> b;
  for (std::int64_t k = 0; k < n; ++k) b["x"].push_back(std::sin(0.3 * static_cast<double>(k)));
  const NodeId chain[] = {(-exp(exp(x))).id()};
  const Evaluation<double> lean(g, chain, b, Keep::Roots);
  EXPECT_EQ(lean.block_rows(), 0);
  EXPECT_EQ(lean.value(chain[0]), Evaluation<double>(g, chain, b).value(chain[0]));
  EXPECT_EQ(lean.held_elements(), static_cast<std::size_t>(2 * n));
  const NodeId fused[] = {(log_softmax_fused(exp(x)) * Rational(2)).id()};
  const Evaluation<double> lean2(g, fused, b, Keep::Roots);
  EXPECT_EQ(lean2.value(fused[0]), Evaluation<double>(g, fused, b).value(fused[0]));
  EXPECT_EQ(lean2.held_elements(), static_cast<std::size_t>(3 * n + 1));  // and the constant 2
}

TEST(EvalArena, ABatchWideValueSplitsTheChain) {
  // z − mean(z) needs every row before any row of the difference: the
  // blocked nodes run in two chains with the mean computed between them.
  Graph g;
  const Expr z = variable(g, "z", Shape::matrix(kRows, kClasses));
  const Expr centred = z - mean(z);
  const Expr loss = mean(exp(centred) * centred);
  const NodeId roots[] = {loss.id(), grad(loss, {z}).gradients[0]};
  Bindings<double> b;
  for (std::int64_t k = 0; k < kRows * kClasses; ++k) b["z"].push_back(std::cos(0.37 * static_cast<double>(k)));
  Evaluation<double> lean = lean_as_node_by_node<double>(g, roots, b);
  b["z"][7] = 2.5;
  lean.rerun(b);
  const Evaluation<double> fresh(g, roots, b);
  EXPECT_EQ(fresh.value(roots[1]), lean.value(roots[1]));
}

TEST(EvalArena, AValueReducedInTheChainIsReadByTheNextChain) {
  // sum(e) is taken a block at a time while the chain makes e = exp(z); the
  // difference e − mean(e) reads it, so it runs in a second chain, and the
  // reverse sweep's sum of the adjoints of e − mean(e) in a third.
  constexpr std::int64_t rows = 400;
  Graph g;
  const Expr z = variable(g, "z", Shape::matrix(rows, kClasses));
  const Expr e = exp(z);
  const Expr centred = e - mean(e);
  const Expr loss = mean(centred * centred) + sum(z * z);
  const NodeId roots[] = {loss.id(), grad(loss, {z}).gradients[0]};
  Bindings<float> b;
  for (std::int64_t k = 0; k < rows * kClasses; ++k) b["z"].push_back(std::sin(0.61f * static_cast<float>(k)));
  Evaluation<float> lean = lean_as_node_by_node<float>(g, roots, b);
  // Held whole: the gradient and the three values that cross from one chain
  // to a later one (e, z + z and an adjoint). The squares summed for the loss
  // are taken a block at a time (held whole, they would be two more).
  EXPECT_LT(lean.held_elements(), static_cast<std::size_t>(5 * rows * kClasses));
  b["z"][(rows - 1) * kClasses + 3] = 100.0f;  // exp overflows in the last block
  lean.rerun(b);
  const Evaluation<float> fresh(g, roots, b);
  ASSERT_TRUE(fresh.nonfinite());
  ASSERT_TRUE(lean.nonfinite());
  EXPECT_EQ(lean.nonfinite()->node, fresh.nonfinite()->node);
  EXPECT_EQ(lean.nonfinite()->element, fresh.nonfinite()->element);
}

TEST(EvalArena, BlocksReportTheNonFiniteNodeAndElementOfNodeByNode) {
  SoftmaxCeGraph f(kRows, kClasses);
  const NodeId roots[] = {f.loss.id(), f.grad_z};
  Bindings<float> b = point<float>(kRows, kClasses, 5);
  // exp overflows in the third block; log, later in order, meets p = 0
  // already in the first block: the report names exp, as node by node.
  b["z"][(2 * kBlockRows + 4) * kClasses + 17] = 200.0f;
  b["z"][2 * kClasses + 4] = -200.0f;
  const Evaluation<float> all(f.g, roots, b);
  const Evaluation<float> lean(f.g, roots, b, Keep::Roots);
  ASSERT_TRUE(all.nonfinite());
  ASSERT_TRUE(lean.nonfinite());
  EXPECT_GT(lean.block_rows(), 0);
  EXPECT_EQ(lean.nonfinite()->node, all.nonfinite()->node);
  EXPECT_EQ(lean.nonfinite()->element, all.nonfinite()->element);
  EXPECT_EQ(lean.nonfinite()->value, all.nonfinite()->value);
}

// Values read only by ops that carry inf and NaN on (OpInfo::keeps_nonfinite)
// are not looked at; the first non-finite node must still be found when a
// later op turns it back into finite values.
TEST(EvalArena, ANonFiniteValueMadeFiniteAgainIsStillReported) {
  Graph g;
  const Expr x = variable(g, "x", Shape::matrix(kRows, kClasses));
  const Expr big = exp(x);  // inf at x = 100 in float
  const Expr zero = log(x);  // −inf at x = 0
  const Expr absorbed[] = {
      Rational(1) / big,                   // 1 / inf = 0
      exp(zero),                           // exp(−inf) = 0
      equal(big, x),                       // inf == 100 is 0
      pow(big, -1),                        // inf⁻¹ = 0
      max(zero, 1) + Rational(1),          // max(−inf, 0.3...) is finite
      x / (big + Rational(1)),             // the add carries inf on to the divisor
  };
  for (const Expr& root : absorbed) {
    const NodeId roots[] = {sum(root).id()};
    Bindings<float> b;
    auto& v = b["x"];
    for (std::int64_t k = 0; k < kRows * kClasses; ++k) v.push_back(0.25f + static_cast<float>(k % 7));
    Evaluation<float> lean(g, roots, b, Keep::Roots);
    EXPECT_FALSE(lean.nonfinite()) << node_call(g, root.id());
    v[3 * kClasses + 2] = 100.0f;
    v[5 * kClasses + 1] = 0.0f;
    lean.rerun(b);
    const Evaluation<float> all(g, roots, b);
    ASSERT_TRUE(all.nonfinite()) << node_call(g, root.id());
    ASSERT_TRUE(lean.nonfinite()) << node_call(g, root.id());
    EXPECT_TRUE(std::isfinite(lean.scalar(roots[0]))) << node_call(g, root.id());
    EXPECT_EQ(lean.nonfinite()->node, all.nonfinite()->node) << node_call(g, root.id());
    EXPECT_EQ(lean.nonfinite()->element, all.nonfinite()->element) << node_call(g, root.id());
  }
}

// A value that one reader hides (exp(−inf) is 0) and another carries on is
// not looked at itself: its −inf reaches the other reader's value, and the
// run reports the first node, as node by node.
TEST(EvalArena, AValueHiddenByOneReaderIsFoundThroughAnother) {
  Graph g;
  const Expr x = variable(g, "x", Shape::matrix(kRows, kClasses));
  const Expr logs = log(x);  // −inf at x = 0
  const NodeId roots[] = {sum(exp(logs) * logs).id()};
  Bindings<double> b;
  for (std::int64_t k = 0; k < kRows * kClasses; ++k) b["x"].push_back(0.5 + static_cast<double>(k % 3));
  Evaluation<double> lean(g, roots, b, Keep::Roots);
  EXPECT_FALSE(lean.nonfinite());
  b["x"][(kRows - 2) * kClasses + 4] = 0.0;
  lean.rerun(b);
  const Evaluation<double> all(g, roots, b);
  ASSERT_TRUE(lean.nonfinite());
  ASSERT_TRUE(all.nonfinite());
  EXPECT_EQ(all.nonfinite()->node, logs.id());
  EXPECT_EQ(lean.nonfinite()->node, logs.id());
  EXPECT_EQ(lean.nonfinite()->element, (kRows - 2) * kClasses + 4);
}

// A variable of a batch is looked at by the chain that reads it, a block at a
// time: an inf in its last block that equal() hides is still reported, as
// the variable's element.
TEST(EvalArena, AChainLooksAtTheVariablesItReads) {
  Graph g;
  const Expr x = variable(g, "x", Shape::matrix(kRows, kClasses));
  const NodeId roots[] = {sum(equal(x, constant(g, Rational(1)))).id()};
  Bindings<double> b;
  for (std::int64_t k = 0; k < kRows * kClasses; ++k) b["x"].push_back(static_cast<double>(k % 5));
  Evaluation<double> lean(g, roots, b, Keep::Roots);
  EXPECT_GT(lean.block_rows(), 0);
  EXPECT_FALSE(lean.nonfinite());
  EXPECT_EQ(lean.scalar(roots[0]), static_cast<double>(kRows * kClasses / 5));
  for (const double bad : {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    b["x"][(kRows - 1) * kClasses + 7] = bad;
    lean.rerun(b);
    ASSERT_TRUE(lean.nonfinite());
    EXPECT_TRUE(std::isfinite(lean.scalar(roots[0])));
    EXPECT_EQ(lean.nonfinite()->node, x.id());
    EXPECT_EQ(lean.nonfinite()->element, (kRows - 1) * kClasses + 7);
  }
}

// A variable whose readers all carry inf and NaN on (the logits of the
// stable graph: its max and z − max) is not looked at in a pass of its own:
// its inf or NaN reaches a value that is, and the run still reports the
// variable's element, as node by node does.
TEST(EvalArena, AVariableCarriedOnIsStillReportedAsTheVariable) {
  SoftmaxCeGraph sce(kRows, kClasses, /*stable=*/true);
  const NodeId roots[] = {sce.loss.id(), sce.grad_z};
  Bindings<double> b = point<double>(kRows, kClasses, 3);
  Evaluation<double> lean(sce.g, roots, b, Keep::Roots);
  EXPECT_GT(lean.block_rows(), 0);
  EXPECT_FALSE(lean.nonfinite());
  const std::int64_t at = (kRows - 1) * kClasses + 5;  // in the last block
  ASSERT_EQ(b["y"][static_cast<std::size_t>(at)], 0.0);  // not the label: y·log p there is 0·(∓inf or NaN)
  const double inf = std::numeric_limits<double>::infinity();
  for (const double bad : {inf, -inf, std::numeric_limits<double>::quiet_NaN()}) {
    Bindings<double> with = b;
    with["z"][static_cast<std::size_t>(at)] = bad;
    lean.rerun(with);
    const Evaluation<double> all(sce.g, roots, with);
    ASSERT_TRUE(lean.nonfinite()) << bad;
    ASSERT_TRUE(all.nonfinite()) << bad;
    EXPECT_EQ(lean.nonfinite()->node, sce.z.id()) << bad;
    EXPECT_EQ(all.nonfinite()->node, sce.z.id()) << bad;
    EXPECT_EQ(lean.nonfinite()->element, at) << bad;
  }
  lean.rerun(b);
  EXPECT_FALSE(lean.nonfinite());
}

// A constant is looked at once: on every later run it has the same value.
// One beyond float's range is reported on every run, not only the first.
TEST(EvalArena, AConstantBeyondThePrecisionIsReportedOnEveryRun) {
  Graph g;
  const Expr x = variable(g, "x", Shape::vector(3));
  const Expr huge = constant(g, parse_rational("1e55"));
  const NodeId roots[] = {sum(x / huge).id()};  // x / inf is 0: finite
  Bindings<float> b{{"x", {1, 2, 3}}};
  Evaluation<float> ev(g, roots, b, Keep::Roots);
  for (int run = 0; run < 3; ++run) {
    if (run > 0) {
      b["x"][0] = static_cast<float>(run);
      ev.rerun(b);
    }
    ASSERT_TRUE(ev.nonfinite()) << run;
    EXPECT_EQ(ev.nonfinite()->node, huge.id()) << run;
  }
  Evaluation<double> fine(g, roots, Bindings<double>{{"x", {1, 2, 3}}}, Keep::Roots);
  EXPECT_FALSE(fine.nonfinite());
}

// The seed −1/B of a mean spreads one value over the batch: read only by
// ops that broadcast their inputs, the lean mode holds it as that value.
TEST(EvalArena, AUniformConstantIsHeldAsOneValue) {
  constexpr std::int64_t rows = 64, cols = 50;
  Graph g;
  const Expr x = variable(g, "x", Shape::matrix(rows, cols));
  const Expr spread{g, g.fill(Rational(-1, 3), Shape::matrix(rows, cols))};
  Bindings<double> b;
  for (std::int64_t k = 0; k < rows * cols; ++k) b["x"].push_back(std::sin(0.1 * static_cast<double>(k)));
  // x·c (a broadcasting reader): the product and c's one value.
  const NodeId product[] = {(x * spread).id()};
  const Evaluation<double> all(g, product, b);
  const Evaluation<double> lean(g, product, b, Keep::Roots);
  EXPECT_EQ(all.value(product[0]), lean.value(product[0]));
  EXPECT_EQ(lean.held_elements(), static_cast<std::size_t>(rows * cols + 1));
  EXPECT_DOUBLE_EQ(lean.value(product[0])[7], -std::sin(0.7) / 3);
  // exp(c) reads c element by element: c is held whole, beside the two
  // roots and exp(c).
  const NodeId both[] = {(x * spread).id(), (x + exp(spread)).id()};
  const Evaluation<double> all2(g, both, b);
  const Evaluation<double> lean2(g, both, b, Keep::Roots);
  EXPECT_EQ(all2.value(both[1]), lean2.value(both[1]));
  EXPECT_EQ(all2.value(both[0]), lean2.value(both[0]));
  EXPECT_EQ(lean2.held_elements(), static_cast<std::size_t>(4 * rows * cols));
  // A root is kept whole: value() reads it.
  const NodeId root[] = {spread.id()};
  const Evaluation<double> kept(g, root, b, Keep::Roots);
  EXPECT_EQ(kept.value(spread.id()), std::vector<double>(rows * cols, -1.0 / 3));
}

// A broadcast whose readers all broadcast their inputs is not computed: they
// read its input. Read element by element (a sum), it is held whole.
TEST(EvalArena, ABroadcastReadByBroadcastingOpsIsNotComputed) {
  constexpr std::int64_t rows = 64, cols = 50;
  Graph g;
  const Expr x = variable(g, "x", Shape::matrix(rows, cols));
  const Expr v = variable(g, "v", Shape::matrix(rows, 1));
  const Expr spread = broadcast_to(v, x.shape());
  Bindings<double> b;
  for (std::int64_t k = 0; k < rows * cols; ++k) b["x"].push_back(std::sin(0.1 * static_cast<double>(k)));
  for (std::int64_t r = 0; r < rows; ++r) b["v"].push_back(1.5 + std::cos(0.3 * static_cast<double>(r)));
  const NodeId product[] = {(x * spread + spread).id()};
  const Evaluation<double> all(g, product, b);
  const Evaluation<double> lean(g, product, b, Keep::Roots);
  EXPECT_EQ(all.value(product[0]), lean.value(product[0]));
  EXPECT_EQ(lean.held_elements(), static_cast<std::size_t>(2 * rows * cols));  // x·v and the root
  const NodeId summed[] = {(x * spread).id(), sum(spread).id()};
  const Evaluation<double> all2(g, summed, b);
  const Evaluation<double> lean2(g, summed, b, Keep::Roots);
  EXPECT_EQ(all2.value(summed[0]), lean2.value(summed[0]));
  EXPECT_EQ(all2.value(summed[1]), lean2.value(summed[1]));
  EXPECT_EQ(lean2.held_elements(), static_cast<std::size_t>(2 * rows * cols + 1));
  // Read only by equal, which turns −inf into 0, a broadcast's input is
  // still looked at (though the broadcast, which carries −inf on, reads it),
  // and its −inf reported where it is.
  const Expr logs = log(v);
  const NodeId counted[] = {sum(equal(broadcast_to(logs, x.shape()), x)).id()};
  b["v"][rows - 1] = 0.0;
  const Evaluation<double> lean3(g, counted, b, Keep::Roots);
  EXPECT_TRUE(std::isfinite(lean3.scalar(counted[0])));
  ASSERT_TRUE(lean3.nonfinite());
  EXPECT_EQ(lean3.nonfinite()->node, logs.id());
  EXPECT_EQ(lean3.nonfinite()->element, rows - 1);
}

// stop_gradient's value is its input: unless it is a root, its readers read
// the input and it is never computed, so it takes no buffer of its own.
TEST(EvalArena, AStopGradientIsNotComputedUnlessItIsARoot) {
  constexpr std::int64_t rows = 64, cols = 50;  // one block: no chain
  Graph g;
  const Expr x = variable(g, "x", Shape::matrix(rows, cols));
  Bindings<double> b;
  for (std::int64_t k = 0; k < rows * cols; ++k) b["x"].push_back(std::sin(0.1 * static_cast<double>(k) + 0.05));
  const Expr e = exp(x);
  const Expr stopped = stop_gradient(e);
  // Computed, stop_gradient(e) would need a buffer beside e's (e is read
  // after it); not computed, the graph holds e, the two sums and the root.
  const NodeId roots[] = {(sum(stopped) + sum(e)).id()};
  const Evaluation<double> all(g, roots, b);
  const Evaluation<double> lean(g, roots, b, Keep::Roots);
  EXPECT_EQ(all.value(roots[0]), lean.value(roots[0]));
  EXPECT_EQ(lean.held_elements(), static_cast<std::size_t>(rows * cols + 3));
  // A root is computed.
  const NodeId root[] = {stopped.id()};
  const Evaluation<double> as_root(g, root, b, Keep::Roots);
  EXPECT_EQ(as_root.value(stopped.id()), all.value(e.id()));
  // A non-finite value it passes on is reported where it arose.
  const Expr logs = log(x * x);
  const NodeId through[] = {sum(exp(stop_gradient(logs))).id()};
  b["x"][rows * cols - 7] = 0.0;
  const Evaluation<double> lean2(g, through, b, Keep::Roots);
  EXPECT_TRUE(std::isfinite(lean2.scalar(through[0])));
  ASSERT_TRUE(lean2.nonfinite());
  EXPECT_EQ(lean2.nonfinite()->node, logs.id());
  EXPECT_EQ(lean2.nonfinite()->element, rows * cols - 7);
}

}  // namespace
}  // namespace ddx
