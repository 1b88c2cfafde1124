// Numeric evaluation of a graph at a chosen scalar type. Each node's value is
// one contiguous array; kernels are plain loops over them.
//
// By default every evaluated node keeps its value, so callers can read any
// intermediate. The lean mode keeps only the roots: the buffers are planned
// from the graph's liveness (a value's buffer returns to a pool after its
// last user ran and is reused by a later node; an elementwise node, exp or
// a product, is written over an input that no later node reads), and
// rerun() evaluates again at new bindings in the same buffers, so repeated
// evaluation allocates nothing and touches no fresh pages; variables are
// read where the bindings hold them, without a copy. In the lean mode the
// row-wise nodes of a batch (OpInfo::row_wise) also run a block of rows at a
// time: every node of such a chain computes the block before the next block
// starts, so a value used only inside the chain lives in a buffer of one
// block that stays in the cache (a node of the chain that reads nothing the
// chain computes runs just before its first reader there). Each row is
// computed by the same kernel from the same row of its inputs, so the values
// are those of evaluating node by node. A reduction of such a chain's value
// to one element (the sum of a batch's losses) joins the chain and takes the
// value a block at a time (OpInfo::accumulators), so the value it reduces is
// never held whole. When a block is one row, the consecutive elementwise
// nodes of a chain between its row reductions go a tile of columns at a
// time (kColumnTile), and a value read only there takes a buffer of one
// tile instead of a row.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/graph.hpp"
#include "engine/op.hpp"
#include "engine/scalar.hpp"

namespace ddx {

// Values of the variables, by name, row-major.
template <class T> using Bindings = std::map<std::string, std::vector<T>, std::less<>>;
using ExactBindings = Bindings<Rational>;

template <class T> Bindings<T> round_bindings(const ExactBindings& exact) {
  Bindings<T> out;
  for (const auto& [name, values] : exact) {
    auto& v = out[name];
    v.reserve(values.size());
    for (const Rational& r : values) v.push_back(to_scalar<T>(r));
  }
  return out;
}

// The first node whose value is not finite although all its inputs are.
struct NonFinite {
  NodeId node = 0;
  std::int64_t element = 0;  // row-major index of the first bad element
  std::string value;         // "inf", "-inf" or "nan"
};

// Which values an Evaluation keeps.
enum class Keep {
  All,    // every evaluated node (value() of any intermediate)
  Roots,  // only the roots; intermediates share buffers planned by liveness
};

// How the primitive exp and log evaluate at float and double (at long double
// and multiprecision there is one way: std's and Boost's).
enum class Math {
  // Correctly rounded (engine/math/crmath.hpp): every value the same on
  // every machine and build, and the nearest to the truth.
  CorrectlyRounded,
  // Within 1 ulp (engine/math/faithful.hpp), the exp and log of the fused
  // kernels: an exp over an array about 3× (float) and 2.6× (double)
  // faster, but a value may be the truth's other neighbour.
  Faithful,
};
// "correctly-rounded", "faithful": the names the command line and JSON use.
inline std::string_view name_of(Math m) { return m == Math::Faithful ? "faithful" : "correctly-rounded"; }

// In the lean mode, about this many elements make a block of rows: the
// values of one block of a chain then stay in the core's cache from one node
// to the next.
inline constexpr std::int64_t kBlockElements = 4096;
// A block of one row runs a run of elementwise nodes a tile of this many
// columns (8 KB) at a time; the values read only inside the run take one
// tile each and stay in the core's nearest cache.
template <class T> inline constexpr std::int64_t kColumnTile = 8192 / static_cast<std::int64_t>(sizeof(T));

template <class T> class FiniteLanes;  // engine/eval.cpp

template <class T> class Evaluation {
 public:
  Evaluation(const Graph& g, std::span<const NodeId> roots, const Bindings<T>& bindings, Keep keep = Keep::All,
             Math math = Math::CorrectlyRounded);

  // Evaluates the same roots again at new bindings, in the same buffers (the
  // graph must not have changed). Constants are not converted again.
  void rerun(const Bindings<T>& bindings);
  // The variables the roots read, by name, in the order Bindings holds them:
  // the order in which rerun(values) takes their values.
  const std::vector<std::string>& variables() const { return variable_names_; }
  // The same as rerun(bindings), each variable's values given in the order
  // of variables() instead of by name: nothing is looked up (at 1×10 the
  // lookups by name were about a tenth of a run). Each span must hold as
  // many elements as its variable's shape; they are read where they lie,
  // during the call (a variable kept as a root is copied).
  void rerun(std::span<const std::span<const T>> values);

  bool has(NodeId id) const { return id < slot_.size() && slot_[id] >= 0 && visible_[id]; }
  const std::vector<T>& value(NodeId id) const;
  // A scalar node's value (or the first element of any node).
  const T& scalar(NodeId id) const { return value(id).front(); }

  // Set when some node produced inf or NaN from finite inputs.
  const std::optional<NonFinite>& nonfinite() const { return nonfinite_; }
  // The order in which nodes were computed (a topological order).
  const std::vector<NodeId>& order() const { return order_; }
  // How many buffers hold the values (one per node when all are kept); the
  // buffers of one block of rows are not counted.
  std::size_t buffer_count() const { return data_.size(); }
  // Elements held by all buffers (those of one block or tile included).
  std::size_t held_elements() const {
    std::size_t n = 0;
    for (const auto& b : data_) n += b.size();
    for (const auto& b : blocks_) n += b.size();
    for (const auto& b : tiles_) n += b.size();
    return n;
  }
  // Rows per block when row-wise nodes run a block of rows at a time; 0 when
  // every node runs on its whole value.
  std::int64_t block_rows() const { return block_rows_; }
  // How many nodes run a tile of columns at a time (kColumnTile): the runs of
  // elementwise nodes in chains of one row per block wider than a tile.
  std::size_t tiled_nodes() const { return tiled_nodes_; }
  // How many buffers of one tile hold the values that a run of tiles reads
  // only inside the run.
  std::size_t tile_buffers() const { return tiles_.size(); }

 private:
  // A range of order_: one node run on its whole value, or a chain of
  // row-wise nodes run a block of rows at a time.
  struct Step {
    std::size_t begin, end;
    bool blocked;
    // A chain's variables of the batch's rows that a run with lanes folds
    // into them here, a block at a time, instead of in a pass of their own.
    std::vector<NodeId> leaves{};
    std::int32_t call = -1;  // one op node: its entry in calls_
  };
  // An op node run on its whole value, resolved when the plan is made: its
  // kernel, its buffer and shape, the nodes whose views it reads (source_),
  // and whether a run with lanes folds its value.
  struct Call {
    Kernel<T> kernel;
    NodeId id;
    T* out;
    Shape shape;
    std::uint32_t count;
    std::array<NodeId, kMaxInputs> inputs;
    bool fold;
  };
  std::vector<Call> calls_;

  void plan_checks(std::span<const NodeId> roots);
  void plan_lean(std::span<const NodeId> roots);
  // Variable i of variables() at these values: its nodes' views, or a copy
  // into the buffer of one that is kept.
  void bind(std::size_t i, std::span<const T> values);
  void bind(const Bindings<T>& bindings);
  // Every step, the variables bound.
  void run(bool first);
  // One pass over the steps; with lanes, non-finite values are only noted
  // there, else the first node producing one is found.
  void execute(bool first, FiniteLanes<T>* lanes);
  // A constant's value, converted on the first run.
  void run_constant(NodeId id, bool first);
  void run_blocks(const Step& step, FiniteLanes<T>* lanes);
  TensorView<T> block_view(NodeId id, std::int64_t row, std::int64_t rows) const;
  const T* data_of(NodeId id) const { return view_[id].data; }
  // The shape a node's buffer holds: one value for a compact constant.
  Shape held_shape(NodeId id) const { return compact_[id] ? Shape::scalar() : graph_->shape(id); }
  // Whether a run with lanes folds this node's value into them.
  bool folded(NodeId id) const { return checked_[id] && !(constants_finite_ && graph_->is_constant(id)); }

  const Graph* graph_;
  std::vector<std::int32_t> slot_;   // per node: its buffer in data_, −1 if not evaluated or in a block buffer
  std::vector<std::int32_t> block_;  // per node: its buffer in blocks_ (a value used only inside its chain), or −1
  // Per node: its value as kernels read it (held_shape), in its buffer or,
  // for a variable without one, in the bindings of this run.
  std::vector<TensorView<T>> view_;
  std::vector<bool> visible_;        // per node: value() may read it (all, or the roots)
  // Per node: a run with lanes looks at its value for inf and NaN (else a
  // non-finite element would reach a value that is looked at).
  std::vector<bool> checked_;
  // Per node: a uniform constant held as its one value (every reader
  // broadcasts its inputs).
  std::vector<bool> compact_;
  // Per node: a variable folded a block at a time by a chain (Step::leaves).
  std::vector<bool> chain_folded_;
  // Per node: the node whose value its readers read for it, itself unless it
  // is a broadcast view (OpInfo::broadcast_view) that the lean plan leaves
  // uncomputed, whose readers read its input's instead.
  std::vector<NodeId> source_;
  bool elided(NodeId id) const { return source_[id] != id; }
  std::vector<Kernel<T>> kernel_;  // per node: its op's kernel at T (null for a leaf)
  // Per node: for a reduction that takes its input a block at a time, its op's
  // accumulator at T and the offset of its partial values in partials_ (else −1).
  std::vector<Accumulator<T>> accumulator_;
  std::vector<std::int32_t> partial_;
  std::vector<T> partials_;
  bool constants_finite_ = false;  // seen by a run: the constants need no more looks
  std::vector<std::vector<T>> data_;
  std::vector<std::vector<T>> blocks_;
  // Per node: its buffer in tiles_ (a value of a run of tiles read only in
  // that run), or −1.
  std::vector<std::int32_t> tile_;
  std::vector<std::vector<T>> tiles_;
  std::vector<NodeId> order_;
  std::vector<Step> steps_;
  // The variables evaluated, sorted by name, and the nodes of each.
  std::vector<std::string> variable_names_;
  std::vector<std::vector<NodeId>> variable_nodes_;
  std::int64_t batch_rows_ = 0;  // the rows of the blocked nodes
  std::int64_t block_rows_ = 0;
  // Per position in order_: where the run of nodes computed a tile of columns
  // at a time that holds it ends (0 when in none).
  std::vector<std::size_t> run_end_;
  std::size_t tiled_nodes_ = 0;
  std::optional<NonFinite> nonfinite_;
};

// Nodes evaluated at a precision chosen at run time, as decimal strings
// (format_scalar), for reports and listings.
struct FormattedValues {
  std::map<NodeId, std::vector<std::string>> of;
  std::optional<std::string> nonfinite;  // explain_nonfinite's message, when some node was not finite

  const std::vector<std::string>& operator[](NodeId id) const { return of.at(id); }
  const std::string& scalar(NodeId id) const { return of.at(id).front(); }
};
FormattedValues evaluate_formatted(const Graph& g, const std::vector<NodeId>& roots, const ExactBindings& bindings,
                                   Precision precision);

// A message describing a non-finite result for a user: which node, which op,
// where, and the input values there.
template <class T>
std::string explain_nonfinite(const Graph& g, const Evaluation<T>& ev, const NonFinite& bad);

// Thrown when a variable has no value or the wrong number of values.
class BindingError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace ddx
