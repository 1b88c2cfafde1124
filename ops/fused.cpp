// Each fused op in one place: its shape rule, its forward kernel (the row
// kernels of ops/fused_math.hpp, applied to each row), its algebraic value
// for the symbolic prover (the same exp, log and sums the composed form
// scalarises to, so a fused graph can be proven equal to a composed one), its
// index form for proofs for every n, and its vector-Jacobian rule written
// with fused nodes, so gradients stay accurate single nodes.
#include "ops/fused.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "engine/index/index_expr.hpp"
#include "ops/fused_math.hpp"
#include "ops/kernels.hpp"

namespace ddx {
namespace {

using Contribs = std::array<Expr, kMaxInputs>;
using IndexExpr = index::Expr;
using sym::Value;

// ---- shape rules ---------------------------------------------------------------

// The logits: a vector [n] or a batch [B, n]; the ops work along the last axis.
void check_logits(const Graph& g, NodeId z, std::string_view op) {
  if (g.shape(z).is_scalar())
    throw ShapeError(fmt::format("{}: the logits have shape {}; they must be a vector [n] or a batch [B, n]", op,
                                 to_string(g.shape(z))));
}

// Targets and logits have the same shape: one distribution per row of logits.
void check_targets(const Graph& g, std::span<const NodeId> in, std::string_view op) {
  check_logits(g, in[0], op);
  if (!(g.shape(in[1]) == g.shape(in[0])))
    throw ShapeError(fmt::format("{}: the targets y have shape {} but the logits z have shape {}; they must be equal "
                                 "(one target distribution per row of logits)",
                                 op, to_string(g.shape(in[1])), to_string(g.shape(in[0]))));
}

constexpr char kCrossEntropy[] = "softmax_cross_entropy", kCrossEntropyGrad[] = "softmax_cross_entropy_grad",
               kLogSoftmax[] = "log_softmax_fused", kLogSumExp[] = "log_sum_exp", kSoftmax[] = "softmax_fused";

template <const char* Name> Shape scalar_loss_shape(const Graph& g, std::span<const NodeId> in, const Attr&) {
  check_targets(g, in, Name);
  return Shape::scalar();
}
template <const char* Name> Shape targets_shape(const Graph& g, std::span<const NodeId> in, const Attr&) {
  check_targets(g, in, Name);
  return g.shape(in[0]);
}
template <const char* Name> Shape logits_shape(const Graph& g, std::span<const NodeId> in, const Attr&) {
  check_logits(g, in[0], Name);
  return g.shape(in[0]);
}
template <const char* Name> Shape row_reduced_shape(const Graph& g, std::span<const NodeId> in, const Attr&) {
  check_logits(g, in[0], Name);
  return g.shape(in[0]).row_reduced();
}

// ---- the symbolic values -------------------------------------------------------

// Σ of values as one canonical polynomial (as the sum op's symbolic kernel).
Value sum_of(const Value* x, std::int64_t n) {
  sym::TermSum total;
  for (std::int64_t j = 0; j < n; ++j) total.add(x[j]);
  return std::move(total).result();
}

// softmax of one row as the composed form writes it: exp(zⱼ) / Σₖ exp(zₖ).
std::vector<Value> softmax_row(const Value* z, std::int64_t n) {
  std::vector<Value> e(static_cast<std::size_t>(n));
  for (std::int64_t j = 0; j < n; ++j) e[j] = exp(z[j]);
  const Value total = sum_of(e.data(), n);
  for (Value& x : e) x = x / total;
  return e;
}

// ---- index forms ----------------------------------------------------------------

IndexExpr softmax_index(const IndexFormContext& a) {
  const IndexExpr e = index::exp_of(a.inputs[0]);
  return index::divide(e, index_sum_over_classes(e, a.free_index, a.input_indexed[0]));
}

// ---- the ops ------------------------------------------------------------------------

// Rows of a [n] or [B, n] value.
struct Rows {
  std::int64_t count, length;
  explicit Rows(const Shape& s) : count(s.rows()), length(s.cols()) {}
};

struct Softmax {
  template <class T>
  static void forward(const Graph&, NodeId, std::span<const TensorView<T>> in, const Shape&, T* out) {
    const Rows r(in[0].shape);
    fused::softmax(in[0].data, r.count, r.length, out);
  }
  static void symbolic(const Graph&, NodeId, std::span<const TensorView<Value>> in, const Shape&, Value* out) {
    const Rows r(in[0].shape);
    for (std::int64_t b = 0; b < r.count; ++b) {
      const auto p = softmax_row(in[0].data + b * r.length, r.length);
      std::copy(p.begin(), p.end(), out + b * r.length);
    }
  }
  // z̄ = p·(ḡ − Σⱼ ḡⱼpⱼ), per row.
  static Contribs vjp(const VjpContext& c) { return {c.result() * (c.grad() - sum(c.grad() * c.result(), -1))}; }
  static IndexExpr index_form(const IndexFormContext& a) { return softmax_index(a); }
};

struct LogSoftmax {
  template <class T>
  static void forward(const Graph&, NodeId, std::span<const TensorView<T>> in, const Shape&, T* out) {
    const Rows r(in[0].shape);
    fused::log_softmax(in[0].data, r.count, r.length, out);
  }
  static void symbolic(const Graph&, NodeId, std::span<const TensorView<Value>> in, const Shape&, Value* out) {
    const Rows r(in[0].shape);
    for (std::int64_t b = 0; b < r.count; ++b) {
      const auto p = softmax_row(in[0].data + b * r.length, r.length);
      for (std::int64_t j = 0; j < r.length; ++j) out[b * r.length + j] = log(p[j]);
    }
  }
  // z̄ = ḡ − softmax(z)·Σⱼ ḡⱼ, per row.
  static Contribs vjp(const VjpContext& c) { return {c.grad() - softmax_fused(c.input(0)) * sum(c.grad(), -1)}; }
  static IndexExpr index_form(const IndexFormContext& a) { return index::log_of(softmax_index(a)); }
};

struct LogSumExp {
  template <class T>
  static void forward(const Graph&, NodeId, std::span<const TensorView<T>> in, const Shape&, T* out) {
    const Rows r(in[0].shape);
    fused::log_sum_exp(in[0].data, r.count, r.length, out);
  }
  static void symbolic(const Graph&, NodeId, std::span<const TensorView<Value>> in, const Shape&, Value* out) {
    const Rows r(in[0].shape);
    std::vector<Value> e(static_cast<std::size_t>(r.length));
    for (std::int64_t b = 0; b < r.count; ++b) {
      for (std::int64_t j = 0; j < r.length; ++j) e[j] = exp(in[0].data[b * r.length + j]);
      out[b] = log(sum_of(e.data(), r.length));
    }
  }
  // z̄ = ḡ·softmax(z), ḡ one value per row.
  static Contribs vjp(const VjpContext& c) { return {c.grad() * softmax_fused(c.input(0))}; }
  static IndexExpr index_form(const IndexFormContext& a) {
    return index::log_of(index_sum_over_classes(index::exp_of(a.inputs[0]), a.free_index, a.input_indexed[0]));
  }
};

struct CrossEntropy {
  // The mean over the rows of each row's loss: a sum of B terms divided once.
  template <class T>
  static void forward(const Graph&, NodeId, std::span<const TensorView<T>> in, const Shape&, T* out) {
    const Rows r(in[0].shape);
    const T total = fused::cross_entropy(in[0].data, in[1].data, r.count, r.length, static_cast<T*>(nullptr), T(1));
    out[0] = r.count == 1 ? total : T(total / T(r.count));
  }
  // −Σ y·log softmax(z), divided by B, as the composed cross_entropy writes it.
  static void symbolic(const Graph&, NodeId, std::span<const TensorView<Value>> in, const Shape&, Value* out) {
    const Rows r(in[0].shape);
    std::vector<Value> products;
    for (std::int64_t b = 0; b < r.count; ++b) {
      const auto p = softmax_row(in[0].data + b * r.length, r.length);
      for (std::int64_t j = 0; j < r.length; ++j) products.push_back(in[1].data[b * r.length + j] * log(p[j]));
    }
    const Value loss = -sum_of(products.data(), static_cast<std::int64_t>(products.size()));
    out[0] = r.count == 1 ? loss : loss / Value(Rational(r.count));
  }
  // z̄ = ḡ·(p·Σy − y)/B (one fused node); ȳ = −ḡ·log softmax(z)/B.
  static Contribs vjp(const VjpContext& c) {
    const Rational rows(c.input(0).shape().rows());
    return {c.needs[0] ? c.grad() * softmax_cross_entropy_grad(c.input(0), c.input(1)) : Expr{},
            c.needs[1] ? -(c.grad() * log_softmax_fused(c.input(0))) / rows : Expr{}};
  }
  static IndexExpr index_form(const IndexFormContext& a) {
    const IndexExpr terms = index::mul({a.inputs[1], index::log_of(softmax_index(a))});
    return index::negate(index_sum_over_classes(terms, a.free_index, a.input_indexed[0] || a.input_indexed[1]));
  }
};

struct CrossEntropyGrad {
  // The accurate gradient of each row, divided by B after (one rounding more
  // only for a batch). B is the node's rows: `in` may be a block of them.
  template <class T>
  static void forward(const Graph& g, NodeId id, std::span<const TensorView<T>> in, const Shape&, T* out) {
    const Rows r(in[0].shape);
    const std::int64_t batch = g.shape(id).rows();
    fused::cross_entropy(in[0].data, in[1].data, r.count, r.length, out, T(1));
    if (batch > 1)
      for (std::int64_t k = 0; k < r.count * r.length; ++k) out[k] = T(out[k] / T(batch));
  }
  static void symbolic(const Graph&, NodeId, std::span<const TensorView<Value>> in, const Shape&, Value* out) {
    const Rows r(in[0].shape);
    for (std::int64_t b = 0; b < r.count; ++b) {
      const Value* y = in[1].data + b * r.length;
      const auto p = softmax_row(in[0].data + b * r.length, r.length);
      const Value mass = sum_of(y, r.length);
      for (std::int64_t j = 0; j < r.length; ++j) {
        const Value g = p[j] * mass - y[j];
        out[b * r.length + j] = r.count == 1 ? g : g / Value(Rational(r.count));
      }
    }
  }
  // With g = (p·m − y)/B, m = Σy per row: z̄ = p·(u − Σ u·p) for u = ḡ·m/B
  // (the softmax rule), and ȳ = (Σ ḡ·p − ḡ)/B.
  static Contribs vjp(const VjpContext& c) {
    const Rational rows(c.input(0).shape().rows());
    const Expr p = softmax_fused(c.input(0));
    Contribs out{};
    if (c.needs[0]) {
      const Expr u = c.grad() * sum(c.input(1), -1) / rows;
      out[0] = p * (u - sum(u * p, -1));
    }
    if (c.needs[1]) out[1] = (sum(c.grad() * p, -1) - c.grad()) / rows;
    return out;
  }
  static IndexExpr index_form(const IndexFormContext& a) {
    const IndexExpr mass = index_sum_over_classes(a.inputs[1], a.free_index, a.input_indexed[1]);
    return index::subtract(index::mul({softmax_index(a), mass}), a.inputs[1]);
  }
};

FusedOpIds register_all() {
  // All but the loss (one value for the whole batch) work row by row.
  auto call = [](std::string_view name, int arity, std::string_view formula, auto shape, VjpRule vjp, KernelTable k,
                 Kernel<Value> symbolic, IndexForm index_form, bool row_wise = true) {
    return register_op({.name = name, .arity = arity, .notation = Notation::Function, .symbol = name,
                        .vjp_formula = formula, .infer_shape = shape, .vjp = vjp, .kernels = k,
                        .row_wise = row_wise, .symbolic = symbolic, .index_form = index_form});
  };
  FusedOpIds ids{};
  ids.softmax = call(kSoftmax, 1, "z̄ += result·(ḡ − Σ ḡ·result)", logits_shape<kSoftmax>, Softmax::vjp,
                     kernels::kernel_table<Softmax>(), &Softmax::symbolic, Softmax::index_form);
  ids.log_softmax = call(kLogSoftmax, 1, "z̄ += ḡ − softmax(z)·Σ ḡ", logits_shape<kLogSoftmax>, LogSoftmax::vjp,
                         kernels::kernel_table<LogSoftmax>(), &LogSoftmax::symbolic, LogSoftmax::index_form);
  ids.log_sum_exp = call(kLogSumExp, 1, "z̄ += ḡ·softmax(z)", row_reduced_shape<kLogSumExp>, LogSumExp::vjp,
                         kernels::kernel_table<LogSumExp>(), &LogSumExp::symbolic, LogSumExp::index_form);
  ids.softmax_cross_entropy_grad =
      call(kCrossEntropyGrad, 2, "z̄ += p·(u − Σ u·p), u = ḡ·Σy/B; ȳ += (Σ ḡ·p − ḡ)/B", targets_shape<kCrossEntropyGrad>,
           CrossEntropyGrad::vjp, kernels::kernel_table<CrossEntropyGrad>(), &CrossEntropyGrad::symbolic,
           CrossEntropyGrad::index_form);
  ids.softmax_cross_entropy =
      call(kCrossEntropy, 2, "z̄ += ḡ·(p·Σy − y)/B; ȳ −= ḡ·log_softmax(z)/B", scalar_loss_shape<kCrossEntropy>,
           CrossEntropy::vjp, kernels::kernel_table<CrossEntropy>(), &CrossEntropy::symbolic, CrossEntropy::index_form,
           /*row_wise=*/false);
  return ids;
}

}  // namespace

const FusedOpIds& fused_op_ids() {
  static const FusedOpIds table = register_all();
  return table;
}

void register_fused_ops() { (void)fused_op_ids(); }

Expr softmax_cross_entropy(Expr z, Expr y) { return make_node(fused_op_ids().softmax_cross_entropy, {z, y}); }
Expr softmax_cross_entropy_grad(Expr z, Expr y) { return make_node(fused_op_ids().softmax_cross_entropy_grad, {z, y}); }
Expr log_softmax_fused(Expr z) { return make_node(fused_op_ids().log_softmax, {z}); }
Expr log_sum_exp(Expr z) { return make_node(fused_op_ids().log_sum_exp, {z}); }
Expr softmax_fused(Expr z) { return make_node(fused_op_ids().softmax, {z}); }

}  // namespace ddx
