// The op table. Every op (ops/) registers one OpInfo: its name, how it prints,
// its shape rule, its forward kernel at every scalar type, and its
// vector-Jacobian rule. The engine reads the table and never names an op.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

#include "engine/graph.hpp"
#include "engine/scalar.hpp"
#include "engine/symbolic/poly.hpp"

namespace ddx {

class Expr;
namespace index {  // the index calculus (engine/index/index_expr.hpp)
struct Node;
using Expr = std::shared_ptr<const Node>;
}  // namespace index

// A read-only view of an input value inside a kernel.
template <class T> struct TensorView {
  const T* data;
  Shape shape;
};

// Computes a node's value into `out`, of shape `shape`, given its inputs.
// `shape` is the node's shape, or, for an op that is row_wise, that of a
// block of the node's rows: the evaluator may then run the node a block of
// rows at a time, each input's view holding the same rows (or its one row,
// broadcast).
template <class T>
using Kernel = void (*)(const Graph& g, NodeId node, std::span<const TensorView<T>> inputs, const Shape& shape,
                        T* out);

template <class... Ts> using KernelTuple = std::tuple<Kernel<Ts>...>;
template <class Tuple> struct KernelTableOf;
template <class... Ts> struct KernelTableOf<std::tuple<Ts...>> { using type = KernelTuple<Ts...>; };
using KernelTable = KernelTableOf<ScalarTypes>::type;

// A reduction to one value taken a block of its input's rows at a time, the
// rows in order: `add` adds a block, whose elements come after `first`
// elements of the input (row-major), into kAccumulatorLanes partial values
// that start at 0; `finish` writes the value from them to out[0]. The value
// is the one the forward kernel gives on the whole input, so the evaluator
// may reduce a value while a chain of row-wise nodes produces it, without
// keeping it whole.
inline constexpr std::size_t kAccumulatorLanes = 16;
template <class T> struct Accumulator {
  void (*add)(const TensorView<T>& block, std::int64_t first, T* lanes) = nullptr;
  void (*finish)(const T* lanes, T* out) = nullptr;
};
template <class Tuple> struct AccumulatorTableOf;
template <class... Ts> struct AccumulatorTableOf<std::tuple<Ts...>> { using type = std::tuple<Accumulator<Ts>...>; };
using AccumulatorTable = AccumulatorTableOf<ScalarTypes>::type;

// What a vector-Jacobian rule sees: the node, its result, the adjoint ḡ
// flowing into it, and which inputs need a contribution.
struct VjpContext {
  Graph& graph;
  NodeId node;
  NodeId adjoint;
  std::array<bool, kMaxInputs> needs{};

  Expr input(int k) const;
  Expr result() const;
  Expr grad() const;  // ḡ
};

// Returns, per input, the contribution to its adjoint (an empty Expr for none).
// Contributions may have the node's (broadcast) shape: the engine sums them
// back to each input's shape.
using VjpRule = std::array<Expr, kMaxInputs> (*)(const VjpContext&);

// What an op's index form sees: its inputs written in the index calculus, where
// a vector over the classes carries the free index `free_index` (a scalar
// none), and which of the inputs and the result are such vectors.
struct IndexFormContext {
  const Graph& graph;
  NodeId node;
  std::span<const index::Expr> inputs;
  std::array<bool, kMaxInputs> input_indexed{};
  bool result_indexed = false;
  std::string free_index;
};

// The node's value in index notation, for proofs for every n.
using IndexForm = index::Expr (*)(const IndexFormContext&);

enum class Notation { Function, Infix, Prefix };

struct OpInfo {
  std::string_view name;         // "exp", "add", ...
  int arity = 0;
  Notation notation = Notation::Function;
  std::string_view symbol;       // "+" for infix/prefix ops, the call name otherwise
  int precedence = 100;          // binding strength in infix printing (higher binds tighter)
  std::string_view vjp_formula;  // the rule in words, for sweep records: "x̄ += ḡ·result"
  Shape (*infer_shape)(const Graph&, std::span<const NodeId> inputs, const Attr&) = nullptr;
  // Extra text after the arguments of a call, e.g. ", axis=1" (may be null).
  std::string (*attr_text)(const Graph&, NodeId) = nullptr;
  VjpRule vjp = nullptr;         // null: the op is not differentiable (its adjoint is zero)
  KernelTable kernels{};
  // For the ops that evaluate exp or log: the forward kernel with the
  // faithful ones (engine/math/faithful.hpp), which an Evaluation in
  // Math::Faithful runs instead of `kernels`. Empty for the other ops.
  KernelTable faithful_kernels{};
  // Row r of the result depends only on row r of each input that has the
  // result's rows (an input of one row is broadcast to every row), and the
  // kernel takes its sizes from `shape` and the inputs' views: true for the
  // elementwise maps, broadcasts and reductions along a row.
  bool row_wise = false;
  // The kernel reads each input broadcast to the result's shape (the
  // elementwise binary maps), so an input may be given in any shape that
  // broadcasts to it: the evaluator passes a uniform constant as one value.
  bool broadcasting = false;
  // Element k of the result depends only on element k of each input of the
  // result's shape (inputs of other shapes broadcast), and the kernel gives
  // the same values when the result is written over such an input: the
  // lean evaluator may give the result the buffer of an input that no
  // later node reads. True for the elementwise maps (the binary ones, which
  // are the broadcasting ops, and neg, exp, log, pow, stop_gradient).
  bool elementwise = false;
  // The result is input 0 broadcast to the result's shape (broadcast_to, and
  // stop_gradient, whose result is its input): where every reader is
  // broadcasting, or the result has input 0's shape, the lean evaluator
  // gives the readers input 0 in its place and never computes the result.
  bool broadcast_view = false;
  // Per input: a non-finite element of it makes some element of the result
  // non-finite (x + inf, log(inf), a sum over a NaN). False where one can
  // give a finite result (x / inf, exp(−inf), equal) and by default. The
  // evaluator looks for inf and NaN only in values whose readers may not
  // carry them on.
  std::array<bool, kMaxInputs> keeps_nonfinite{};
  // The forward kernel at the symbolic scalar (canonical polynomials), for
  // scalarising a graph; null when the op has no algebraic form (max, equal):
  // its elements then become opaque atoms.
  Kernel<sym::Value> symbolic = nullptr;
  // The value in index notation (engine/index/), for proofs for every n
  // (derivations/claim_general.cpp); null when the op has none (equal).
  IndexForm index_form = nullptr;
  // For a node of one element: its value accumulated a block of rows of its
  // one input at a time (add null when the op has no such form).
  AccumulatorTable accumulators{};

  template <class T> Kernel<T> kernel() const { return std::get<Kernel<T>>(kernels); }
  template <class T> Kernel<T> faithful_kernel() const {
    const Kernel<T> k = std::get<Kernel<T>>(faithful_kernels);
    return k ? k : kernel<T>();
  }
  template <class T> const Accumulator<T>& accumulator() const { return std::get<Accumulator<T>>(accumulators); }
};

// Registers an op and returns its id; names are unique.
OpId register_op(OpInfo info);
const OpInfo& op_info(OpId id);
// The op named `name`, or nullptr.
const OpInfo* find_op(std::string_view name, OpId* id = nullptr);
std::size_t op_count();

// The two leaf ops every graph has.
inline constexpr OpId kConstOp = 0;
inline constexpr OpId kVarOp = 1;

}  // namespace ddx
