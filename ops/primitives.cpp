// Each primitive op in one place: its math (forward), its vector-Jacobian
// rule written in terms of the op's result where that shares work, its shape
// rule and its print form.
#include "ops/primitives.hpp"

#include <fmt/format.h>

#include "engine/index/index_expr.hpp"
#include "engine/math/crmath.hpp"
#include "engine/math/faithful.hpp"
#include "engine/print.hpp"
#include "ops/fused.hpp"
#include "ops/kernels.hpp"

namespace ddx {
namespace {

using kernels::map_binary;
using kernels::map_unary;
using Contribs = std::array<Expr, kMaxInputs>;
using IndexExpr = index::Expr;
using IndexArgs = IndexFormContext;

struct OpIds {
  OpId add, sub, mul, div, neg, exp, log, pow, sum, max, broadcast, equal, stop_gradient;
};
const OpIds& ids();

}  // namespace

IndexExpr index_sum_over_classes(const IndexExpr& body, const std::string& free_index, bool indexed) {
  if (!indexed) return body;
  std::set<std::string> taken = index::all_indices(body);
  taken.insert(free_index);
  const std::string j = index::fresh_index(taken);
  return index::sum_over(j, index::substitute_index(body, free_index, j));
}

Expr make_node(OpId op, std::initializer_list<Expr> args, Attr attr) {
  Graph& g = args.begin()->graph();
  std::array<NodeId, kMaxInputs> in{};
  std::size_t k = 0;
  for (const Expr& e : args) {
    if (&e.graph() != &g) throw std::invalid_argument(fmt::format("{}: operands belong to different graphs", op_info(op).name));
    in[k++] = e.id();
  }
  return {g, g.add(op, std::span(in.data(), k), std::move(attr))};
}

namespace {

// ---- shape rules ---------------------------------------------------------

template <const char* Name> Shape same_shape(const Graph& g, std::span<const NodeId> in, const Attr&) {
  return g.shape(in[0]);
}

template <const char* Name> Shape broadcast_shape(const Graph& g, std::span<const NodeId> in, const Attr&) {
  auto s = broadcast(g.shape(in[0]), g.shape(in[1]));
  if (!s)
    throw ShapeError(fmt::format("{}: shapes {} and {} do not broadcast (their last axes must be equal, or one of them 1)",
                                 Name, to_string(g.shape(in[0])), to_string(g.shape(in[1]))));
  return *s;
}

template <const char* Name> Shape reduce_shape(const Graph& g, std::span<const NodeId> in, const Attr& a) {
  if (!broadcasts_to(a.shape, g.shape(in[0])))
    throw ShapeError(fmt::format("{}: cannot reduce shape {} to shape {}", Name, to_string(g.shape(in[0])),
                                 to_string(a.shape)));
  return a.shape;
}

template <const char* Name> Shape expand_shape(const Graph& g, std::span<const NodeId> in, const Attr& a) {
  if (!broadcasts_to(g.shape(in[0]), a.shape))
    throw ShapeError(fmt::format("{}: cannot broadcast shape {} to shape {}", Name, to_string(g.shape(in[0])),
                                 to_string(a.shape)));
  return a.shape;
}

// ", axis=1" when the target keeps the rank and reduces one axis; "" for a
// full reduction to a scalar; the target shape ", [3]" otherwise.
std::string reduction_attr_text(const Graph& g, NodeId id) {
  const Shape& from = g.shape(g.node(id).in[0]);
  const Shape& to = g.attr(id).shape;
  if (to.is_scalar()) return "";
  if (to.rank == from.rank) {
    int axis = -1, count = 0;
    for (int i = 0; i < to.rank; ++i)
      if (to.dims[i] != from.dims[i]) axis = i, ++count;
    if (count == 1) return fmt::format(", axis={}", axis);
  }
  return fmt::format(", {}", to_string(to));
}

std::string target_attr_text(const Graph& g, NodeId id) { return fmt::format(", {}", to_string(g.attr(id).shape)); }
std::string exponent_attr_text(const Graph& g, NodeId id) { return fmt::format(", {}", g.attr(id).integer); }

// ---- elementwise ops ---------------------------------------------------------

constexpr char kAdd[] = "add", kSub[] = "sub", kMul[] = "mul", kDiv[] = "div", kNeg[] = "neg", kExp[] = "exp",
               kLog[] = "log", kPow[] = "pow", kSum[] = "sum", kMax[] = "max", kBroadcast[] = "broadcast",
               kEqual[] = "equal", kStop[] = "stop_gradient";

template <class Math> struct Binary {
  template <class T>
  static void forward(const Graph&, NodeId, std::span<const TensorView<T>> in, const Shape& shape, T* out) {
    map_binary(in[0], in[1], shape, out, [](const T& a, const T& b) { return T(Math::apply(a, b)); });
  }
};
// Ops with an array form (exp, log) run it over the whole input at once.
template <class Math> struct Unary {
  template <class T>
  static void forward(const Graph& g, NodeId id, std::span<const TensorView<T>> in, const Shape&, T* out) {
    if constexpr (requires { Math::map(in[0].data, out, std::int64_t{}); })
      Math::map(in[0].data, out, in[0].shape.size());
    else
      map_unary(in[0], out, [&](const T& x) { return T(Math::apply(x, g, id)); });
  }
};

struct Add {
  template <class T> static T apply(const T& a, const T& b) { return a + b; }
  static Contribs vjp(const VjpContext& c) { return {c.grad(), c.grad()}; }
  static IndexExpr index_form(const IndexArgs& a) { return index::add({a.inputs[0], a.inputs[1]}); }
};
struct Sub {
  template <class T> static T apply(const T& a, const T& b) { return a - b; }
  // b̄ −= ḡ summed over b's broadcast axes first (−Σḡ, not Σ(−ḡ)): the
  // negation then runs over b's elements, not over ḡ's.
  static Contribs vjp(const VjpContext& c) {
    return {c.grad(), c.needs[1] ? -sum_to(c.grad(), c.input(1).shape()) : Expr{}};
  }
  static IndexExpr index_form(const IndexArgs& a) { return index::subtract(a.inputs[0], a.inputs[1]); }
};
struct Mul {
  template <class T> static T apply(const T& a, const T& b) { return a * b; }
  static Contribs vjp(const VjpContext& c) {
    return {c.needs[0] ? c.grad() * c.input(1) : Expr{}, c.needs[1] ? c.grad() * c.input(0) : Expr{}};
  }
  static IndexExpr index_form(const IndexArgs& a) { return index::mul({a.inputs[0], a.inputs[1]}); }
};
struct Div {
  template <class T> static T apply(const T& a, const T& b) { return a / b; }
  // d(a/b) = da/b − (a/b)·db/b: the second term reuses the result.
  static Contribs vjp(const VjpContext& c) {
    return {c.needs[0] ? c.grad() / c.input(1) : Expr{},
            c.needs[1] ? -(c.grad() * c.result() / c.input(1)) : Expr{}};
  }
  static IndexExpr index_form(const IndexArgs& a) { return index::divide(a.inputs[0], a.inputs[1]); }
};
struct Equal {
  template <class T> static T apply(const T& a, const T& b) { return a == b ? T(1) : T(0); }
};
struct Neg {
  template <class T> static T apply(const T& x, const Graph&, NodeId) { return -x; }
  static Contribs vjp(const VjpContext& c) { return {-c.grad()}; }
  static IndexExpr index_form(const IndexArgs& a) { return index::negate(a.inputs[0]); }
};
// exp and log are correctly rounded at float and double (engine/math/crmath.hpp);
// their faithful forms (engine/math/faithful.hpp) serve Math::Faithful.
struct Exp {
  template <class T> static T apply(const T& x, const Graph&, NodeId) { return cr::exp_of(x); }
  template <class T> static void map(const T* x, T* out, std::int64_t n) { cr::exp_of(x, out, n); }
  static Contribs vjp(const VjpContext& c) { return {c.grad() * c.result()}; }
  static IndexExpr index_form(const IndexArgs& a) { return index::exp_of(a.inputs[0]); }
};
struct Log {
  template <class T> static T apply(const T& x, const Graph&, NodeId) { return cr::log_of(x); }
  template <class T> static void map(const T* x, T* out, std::int64_t n) { cr::log_of(x, out, n); }
  static Contribs vjp(const VjpContext& c) { return {c.grad() / c.input(0)}; }
  static IndexExpr index_form(const IndexArgs& a) { return index::log_of(a.inputs[0]); }
};
struct FaithfulExp {
  template <class T> static void map(const T* x, T* out, std::int64_t n) { faithful::exp_of(x, out, n); }
};
struct FaithfulLog {
  template <class T> static void map(const T* x, T* out, std::int64_t n) { faithful::log_of(x, out, n); }
};
struct Pow {
  // x^k by repeated squaring, so integer powers are as exact as products.
  template <class T> static T apply(const T& x, const Graph& g, NodeId id) {
    const long k = g.attr(id).integer;
    unsigned long e = k < 0 ? static_cast<unsigned long>(-k) : static_cast<unsigned long>(k);
    T result(1), base(x);
    for (; e; e >>= 1, base = T(base * base))
      if (e & 1) result = T(result * base);
    return k < 0 ? T(T(1) / result) : result;
  }
  static Contribs vjp(const VjpContext& c) {
    const long k = c.graph.attr(c.node).integer;
    if (k == 0) return {};  // x⁰ is the constant 1: no adjoint (not 0·x⁻¹, which is NaN at 0)
    return {c.grad() * (Rational(k) * pow(c.input(0), k - 1))};
  }
  static IndexExpr index_form(const IndexArgs& a) {
    return index::power(a.inputs[0], a.graph.attr(a.node).integer);
  }
};
struct StopGradient {
  template <class T> static T apply(const T& x, const Graph&, NodeId) { return x; }
  static IndexExpr index_form(const IndexArgs& a) { return a.inputs[0]; }  // the value is x
};

// ---- reductions and broadcasting -------------------------------------------

struct SumTo {
  template <class T>
  static void forward(const Graph&, NodeId, std::span<const TensorView<T>> in, const Shape& shape, T* out) {
    kernels::sum_to(in[0], shape, out);
  }
  // A sum to one value in parts (OpInfo::accumulators): sum_to adds such a
  // sum by lane_sum, and the lanes take the parts as they come.
  template <class T> static void add(const TensorView<T>& block, std::int64_t first, T* lanes) {
    static_assert(kernels::kSumLanes<T> <= static_cast<std::int64_t>(kAccumulatorLanes));
    kernels::lane_add(lanes, first, block.data, block.shape.size());
  }
  template <class T> static void finish(const T* lanes, T* out) { out[0] = kernels::lane_total(lanes); }
  // The same sum over canonical polynomials, each output's terms merged once.
  static void symbolic(const Graph&, NodeId, std::span<const TensorView<sym::Value>> in, const Shape& target,
                       sym::Value* out) {
    std::vector<sym::TermSum> sums(static_cast<std::size_t>(target.size()));
    const Shape& s = in[0].shape;
    for (std::int64_t r = 0; r < s.rows(); ++r)
      for (std::int64_t c = 0; c < s.cols(); ++c)
        sums[static_cast<std::size_t>(kernels::broadcast_index(target, r, c))].add(in[0].data[r * s.cols() + c]);
    for (std::size_t k = 0; k < sums.size(); ++k) out[k] = std::move(sums[k]).result();
  }
  static Contribs vjp(const VjpContext& c) { return {broadcast_to(c.grad(), c.input(0).shape())}; }
  // Over the classes: Σⱼ x(j).
  static IndexExpr index_form(const IndexArgs& a) {
    return index_sum_over_classes(a.inputs[0], a.free_index, a.input_indexed[0] && !a.result_indexed);
  }
};
struct MaxTo {
  template <class T>
  static void forward(const Graph&, NodeId, std::span<const TensorView<T>> in, const Shape& shape, T* out) {
    kernels::max_to(in[0], shape, out);  // NaN wins, so a NaN input is not hidden by the maximum
  }
  // The adjoint goes to the elements equal to the maximum; ties split it equally.
  static Contribs vjp(const VjpContext& c) {
    const Expr is_max = equal(c.input(0), c.result());
    const Expr ties = sum_to(is_max, c.result().shape());
    return {(c.grad() / ties) * is_max};
  }
  // Over the classes: an opaque scalar named after its argument. A proof that
  // treats it as an arbitrary scalar m holds in particular for m = the maximum;
  // its derivative (equal) has no index form, so only a max whose adjoint is
  // stopped (stop_gradient) reaches a proof.
  static IndexExpr index_form(const IndexArgs& a) {
    if (!a.input_indexed[0] || a.result_indexed) return a.inputs[0];
    return index::symbol("max(" + index::to_text(a.inputs[0]) + ")");
  }
};
struct BroadcastTo {
  template <class T>
  static void forward(const Graph&, NodeId, std::span<const TensorView<T>> in, const Shape& shape, T* out) {
    kernels::broadcast_rows(in[0], shape, out);
  }
  static Contribs vjp(const VjpContext& c) { return {sum_to(c.grad(), c.input(0).shape())}; }
  static IndexExpr index_form(const IndexArgs& a) { return a.inputs[0]; }  // the same value at every i
};

template <class Op> KernelTable binary_kernels() { return kernels::kernel_table<Binary<Op>>(); }
template <class Op> KernelTable unary_kernels() { return kernels::kernel_table<Unary<Op>>(); }
template <class Op> Kernel<sym::Value> symbolic_binary() { return &Binary<Op>::template forward<sym::Value>; }
template <class Op> Kernel<sym::Value> symbolic_unary() { return &Unary<Op>::template forward<sym::Value>; }

OpIds register_all() {
  OpIds ids{};
  // Which inputs' inf and NaN always reach the result (OpInfo::keeps_nonfinite).
  constexpr std::array<bool, kMaxInputs> kKeeps{true, true}, kNone{};
  auto infix = [](std::string_view name, std::string_view symbol, int prec, std::string_view formula, auto shape,
                  VjpRule vjp, KernelTable k, Kernel<sym::Value> symbolic, IndexForm index_form,
                  std::array<bool, kMaxInputs> keeps) {
    return register_op({.name = name, .arity = 2, .notation = Notation::Infix, .symbol = symbol, .precedence = prec,
                        .vjp_formula = formula, .infer_shape = shape, .vjp = vjp, .kernels = k, .row_wise = true,
                        .broadcasting = true, .elementwise = true, .keeps_nonfinite = keeps, .symbolic = symbolic,
                        .index_form = index_form});
  };
  auto call = [](std::string_view name, int arity, std::string_view formula, auto shape, VjpRule vjp, KernelTable k,
                 Kernel<sym::Value> symbolic, std::string (*attr_text)(const Graph&, NodeId), IndexForm index_form,
                 std::array<bool, kMaxInputs> keeps, bool elementwise, bool broadcasting = false,
                 AccumulatorTable accumulators = {}, bool broadcast_view = false, KernelTable faithful = {}) {
    return register_op({.name = name, .arity = arity, .notation = Notation::Function, .symbol = name,
                        .vjp_formula = formula, .infer_shape = shape, .attr_text = attr_text, .vjp = vjp,
                        .kernels = k, .faithful_kernels = faithful, .row_wise = true, .broadcasting = broadcasting,
                        .elementwise = elementwise, .broadcast_view = broadcast_view, .keeps_nonfinite = keeps,
                        .symbolic = symbolic, .index_form = index_form, .accumulators = accumulators});
  };
  ids.add = infix(kAdd, "+", 10, "ā += ḡ; b̄ += ḡ", broadcast_shape<kAdd>, Add::vjp, binary_kernels<Add>(),
                  symbolic_binary<Add>(), Add::index_form, kKeeps);
  ids.sub = infix(kSub, "-", 10, "ā += ḡ; b̄ −= ḡ", broadcast_shape<kSub>, Sub::vjp, binary_kernels<Sub>(),
                  symbolic_binary<Sub>(), Sub::index_form, kKeeps);
  // inf·0 is NaN: a product keeps both.
  ids.mul = infix(kMul, "*", 20, "ā += ḡ·b; b̄ += ḡ·a", broadcast_shape<kMul>, Mul::vjp, binary_kernels<Mul>(),
                  symbolic_binary<Mul>(), Mul::index_form, kKeeps);
  // x / inf is 0: only the dividend's are kept.
  ids.div = infix(kDiv, "/", 20, "ā += ḡ/b; b̄ −= ḡ·result/b", broadcast_shape<kDiv>, Div::vjp,
                  binary_kernels<Div>(), symbolic_binary<Div>(), Div::index_form, {true, false});
  ids.neg = register_op({.name = kNeg, .arity = 1, .notation = Notation::Prefix, .symbol = "-", .precedence = 30,
                         .vjp_formula = "x̄ −= ḡ", .infer_shape = same_shape<kNeg>, .vjp = Neg::vjp,
                         .kernels = unary_kernels<Neg>(), .row_wise = true, .elementwise = true,
                         .keeps_nonfinite = kKeeps, .symbolic = symbolic_unary<Neg>(), .index_form = Neg::index_form});
  // exp(−inf) is 0.
  ids.exp = call(kExp, 1, "x̄ += ḡ·result", same_shape<kExp>, Exp::vjp, unary_kernels<Exp>(), symbolic_unary<Exp>(),
                 nullptr, Exp::index_form, kNone, /*elementwise=*/true, /*broadcasting=*/false, /*accumulators=*/{},
                 /*broadcast_view=*/false, unary_kernels<FaithfulExp>());
  // log(inf) is inf, log(−inf) NaN.
  ids.log = call(kLog, 1, "x̄ += ḡ/x", same_shape<kLog>, Log::vjp, unary_kernels<Log>(), symbolic_unary<Log>(),
                 nullptr, Log::index_form, kKeeps, /*elementwise=*/true, /*broadcasting=*/false, /*accumulators=*/{},
                 /*broadcast_view=*/false, unary_kernels<FaithfulLog>());
  // x⁰ is 1 and inf⁻¹ is 0.
  ids.pow = call(kPow, 1, "x̄ += ḡ·k·x^(k−1)", same_shape<kPow>, Pow::vjp, unary_kernels<Pow>(), symbolic_unary<Pow>(),
                 exponent_attr_text, Pow::index_form, kNone, /*elementwise=*/true);
  ids.sum = call(kSum, 1, "x̄ += broadcast(ḡ)", reduce_shape<kSum>, SumTo::vjp, kernels::kernel_table<SumTo>(),
                 &SumTo::symbolic, reduction_attr_text, SumTo::index_form, kKeeps, /*elementwise=*/false,
                 /*broadcasting=*/false, kernels::accumulator_table<SumTo>());
  // The maximum of −inf and 0 is 0.
  ids.max = call(kMax, 1, "x̄ += ḡ at the maximum (ties share ḡ equally)", reduce_shape<kMax>, MaxTo::vjp,
                 kernels::kernel_table<MaxTo>(), nullptr, reduction_attr_text, MaxTo::index_form, kNone,
                 /*elementwise=*/false);
  ids.broadcast = call(kBroadcast, 1, "x̄ += sum of ḡ over the broadcast axes", expand_shape<kBroadcast>,
                       BroadcastTo::vjp, kernels::kernel_table<BroadcastTo>(),
                       &BroadcastTo::forward<sym::Value>, target_attr_text, BroadcastTo::index_form, kKeeps,
                       /*elementwise=*/false, /*broadcasting=*/false, /*accumulators=*/{}, /*broadcast_view=*/true);
  ids.equal = call(kEqual, 2, "not differentiable: no adjoint flows", broadcast_shape<kEqual>, nullptr,
                   binary_kernels<Equal>(), nullptr, nullptr, nullptr, kNone, /*elementwise=*/true,
                   /*broadcasting=*/true);
  ids.stop_gradient = call(kStop, 1, "no adjoint flows (treated as a constant)", same_shape<kStop>, nullptr,
                           unary_kernels<StopGradient>(), symbolic_unary<StopGradient>(), nullptr,
                           StopGradient::index_form, kKeeps, /*elementwise=*/true, /*broadcasting=*/false,
                           /*accumulators=*/{}, /*broadcast_view=*/true);
  return ids;
}

const OpIds& ids() {
  static const OpIds table = register_all();
  return table;
}

// ---- folding of exact identities on constants ---------------------------------

// The value of a constant whose elements are all equal.
const Rational* uniform_constant(const Expr& e) { return e.graph().uniform_constant(e.id()); }
// Arithmetic between two constants is folded only for scalars, which keeps shapes.
const Rational* scalar_constant(const Expr& e) {
  const Rational* r = uniform_constant(e);
  return r && e.shape().is_scalar() ? r : nullptr;
}
// `keep` stands for the whole result only when the result has its shape.
bool same_result_shape(const Expr& keep, const Expr& other) {
  auto s = broadcast(keep.shape(), other.shape());
  return s && *s == keep.shape();
}
// `e` is a constant equal to `value` everywhere, and combining it with `other` keeps other's shape.
bool is_neutral(const Expr& e, int value, const Expr& other) {
  const Rational* r = uniform_constant(e);
  return r && *r == value && same_result_shape(other, e);
}

// Folding is exact, and statements can square a constant again and again
// (a = a * a), doubling its digits each time: past kMaxExactDigits ddx
// refuses rather than spend minutes and gigabytes on one number.
Expr folded(Graph& g, const Rational& value, std::string_view op) {
  if (exceeds_exact_limit(value))
    throw std::invalid_argument(fmt::format(
        "{}: the exact value of these constants has more than {} digits, beyond what ddx folds", op,
        kMaxExactDigits));
  return constant(g, value);
}

// Dividing by an exact 0 is an error in the input, not a value to evaluate.
void check_divisor(const Expr& b) {
  if (!b.graph().is_constant(b.id())) return;
  const Graph& g = b.graph();
  const std::int64_t size = b.shape().size();
  const auto zero_at = [&](std::int64_t k) {
    return std::invalid_argument(size == 1 ? std::string("/: division by the constant 0")
                                           : fmt::format("/: element {} of the constant divisor is 0", k));
  };
  if (const Rational* c = g.uniform_constant(b.id())) {
    if (*c == 0) throw zero_at(0);
    return;
  }
  for (std::int64_t k = 0; k < size; ++k)
    if (g.constant_at(b.id(), k) == 0) throw zero_at(k);
}

}  // namespace

Expr operator+(Expr a, Expr b) {
  const Rational *ca = scalar_constant(a), *cb = scalar_constant(b);
  if (ca && cb) return folded(a.graph(), *ca + *cb, "+");
  if (is_neutral(b, 0, a)) return a;
  if (is_neutral(a, 0, b)) return b;
  return make_node(ids().add, {a, b});
}
Expr operator-(Expr a, Expr b) {
  const Rational *ca = scalar_constant(a), *cb = scalar_constant(b);
  if (ca && cb) return folded(a.graph(), *ca - *cb, "-");
  if (is_neutral(b, 0, a)) return a;
  if (is_neutral(a, 0, b)) return -b;
  return make_node(ids().sub, {a, b});
}
Expr operator*(Expr a, Expr b) {
  const Rational *ca = scalar_constant(a), *cb = scalar_constant(b);
  if (ca && cb) return folded(a.graph(), *ca * *cb, "*");
  if (is_neutral(b, 1, a)) return a;
  if (is_neutral(a, 1, b)) return b;
  if (is_neutral(b, -1, a)) return -a;
  if (is_neutral(a, -1, b)) return -b;
  return make_node(ids().mul, {a, b});
}
Expr operator/(Expr a, Expr b) {
  check_divisor(b);
  const Rational *ca = scalar_constant(a), *cb = scalar_constant(b);
  if (ca && cb) return folded(a.graph(), *ca / *cb, "/");
  if (is_neutral(b, 1, a)) return a;
  return make_node(ids().div, {a, b});
}
Expr operator-(Expr a) {
  if (const Rational* c = scalar_constant(a)) return constant(a.graph(), -*c);
  if (a.node().op == ids().neg) return {a.graph(), a.node().in[0]};
  return make_node(ids().neg, {a});
}

Expr operator+(Expr a, const Rational& b) { return a + constant(a.graph(), b); }
Expr operator+(const Rational& a, Expr b) { return constant(b.graph(), a) + b; }
Expr operator-(Expr a, const Rational& b) { return a - constant(a.graph(), b); }
Expr operator-(const Rational& a, Expr b) { return constant(b.graph(), a) - b; }
Expr operator*(Expr a, const Rational& b) { return a * constant(a.graph(), b); }
Expr operator*(const Rational& a, Expr b) { return constant(b.graph(), a) * b; }
Expr operator/(Expr a, const Rational& b) { return a / constant(a.graph(), b); }
Expr operator/(const Rational& a, Expr b) { return constant(b.graph(), a) / b; }

Expr exp(Expr x) { return make_node(ids().exp, {x}); }
Expr log(Expr x) { return make_node(ids().log, {x}); }
Expr pow(Expr x, long exponent) {
  if (exponent == 1) return x;
  return make_node(ids().pow, {x}, Attr{.integer = exponent});
}

namespace {
Shape reduced_shape(const Expr& x, int axis, std::string_view op) {
  Shape s = x.shape();
  const int a = axis < 0 ? axis + s.rank : axis;
  if (a < 0 || a >= s.rank)
    throw ShapeError(fmt::format("{}: axis {} is out of range for shape {}", op, axis, to_string(s)));
  s.dims[a] = 1;
  return s;
}
}  // namespace

Expr sum_to(Expr x, Shape target) {
  if (x.shape() == target) return x;
  return make_node(ids().sum, {x}, Attr{.shape = target});
}
Expr sum(Expr x) { return sum_to(x, Shape::scalar()); }
Expr sum(Expr x, int axis) { return sum_to(x, reduced_shape(x, axis, "sum")); }
Expr max(Expr x) { return make_node(ids().max, {x}, Attr{.shape = Shape::scalar()}); }
Expr max(Expr x, int axis) { return make_node(ids().max, {x}, Attr{.shape = reduced_shape(x, axis, "max")}); }
Expr broadcast_to(Expr x, Shape target) {
  if (x.shape() == target) return x;
  if (const Rational* c = uniform_constant(x); c && broadcasts_to(x.shape(), target))
    return {x.graph(), x.graph().fill(*c, target)};
  return make_node(ids().broadcast, {x}, Attr{.shape = target});
}
Expr equal(Expr a, Expr b) { return make_node(ids().equal, {a, b}); }
Expr stop_gradient(Expr x) { return make_node(ids().stop_gradient, {x}); }

const AdjointAlgebra& adjoint_algebra() {
  static const AdjointAlgebra algebra{
      .add = [](Expr a, Expr b) { return a + b; },
      .sum_to = [](Expr x, Shape s) { return sum_to(x, s); },
  };
  return algebra;
}

Gradient grad(Expr loss, const std::vector<Expr>& wrt) {
  std::vector<NodeId> ids;
  for (const Expr& w : wrt) {
    if (&w.graph() != &loss.graph()) throw std::invalid_argument("grad: variables belong to another graph");
    ids.push_back(w.id());
  }
  return reverse_mode(loss.graph(), loss.id(), ids, adjoint_algebra());
}

void register_builtin_ops() {
  (void)ids();
  register_fused_ops();
}

}  // namespace ddx
