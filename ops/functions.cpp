#include "ops/functions.hpp"

#include <array>
#include <fmt/format.h>

#include "ops/composites.hpp"
#include "ops/fused.hpp"

namespace ddx {
namespace {

using Args = std::span<const Expr>;
using Axis = std::optional<int>;

// pow(x, k) is how the printer writes x^k, so it must read back.
Expr build_pow(Args a, Axis) {
  const Rational* k = a[1].graph().uniform_constant(a[1].id());
  if (!k || !a[1].shape().is_scalar() || denominator(*k) != 1)
    throw std::invalid_argument("pow: the exponent must be an integer constant");
  if (abs(*k) > 1000000) throw std::invalid_argument("pow: the exponent must lie in [-1000000, 1000000]");
  return pow(a[0], numerator(*k).convert_to<long>());
}

// grad(f, x): reverse mode on the typed expression, as a node of the same
// graph, so it can be evaluated, differentiated again or proved equal to a
// formula.
Expr build_grad(Args a, Axis) {
  const Graph& g = a[1].graph();
  if (!g.is_variable(a[1].id()))
    throw std::invalid_argument("grad: the second argument must be a variable, e.g. grad(f, z)");
  if (!a[0].shape().is_scalar())
    throw std::invalid_argument(fmt::format("grad: the first argument has shape {}; it must be a scalar "
                                            "(wrap it in sum(...))", to_string(a[0].shape())));
  return {a[0].graph(), grad(a[0], {a[1]}).gradients.front()};
}

// A shape written as a literal, e.g. the [2, 3] of broadcast(x, [2, 3]).
Shape shape_argument(const Expr& e, std::string_view function) {
  const Graph& g = e.graph();
  const auto fail = [&] {
    return std::invalid_argument(fmt::format("{}: the shape must be a literal of 1 or 2 positive integers, e.g. [3] "
                                             "or [2, 3]", function));
  };
  if (!g.is_constant(e.id()) || e.shape().rank != 1 || e.shape().size() > 2) throw fail();
  std::vector<std::int64_t> dims;
  for (const Rational& d : g.constant_values(e.id())) {
    if (denominator(d) != 1 || d < 1 || d > (1 << 24)) throw fail();
    dims.push_back(numerator(d).convert_to<std::int64_t>());
  }
  return dims.size() == 1 ? Shape::vector(dims[0]) : Shape::matrix(dims[0], dims[1]);
}

// sum(x), sum(x, axis=k), or sum(x, [shape]): the sum down to a shape x broadcasts from.
Expr build_sum(Args a, Axis axis) {
  if (a.size() == 2) {
    if (axis) throw std::invalid_argument("sum: give axis= or a target shape, not both");
    return sum_to(a[0], shape_argument(a[1], "sum"));
  }
  return axis ? sum(a[0], *axis) : sum(a[0]);
}

constexpr std::array kFunctions{
    FunctionInfo{.name = "exp", .build = [](Args a, Axis) { return exp(a[0]); }},
    FunctionInfo{.name = "log", .build = [](Args a, Axis) { return log(a[0]); }},
    FunctionInfo{.name = "pow", .min_args = 2, .max_args = 2, .build = build_pow},
    FunctionInfo{.name = "sum", .max_args = 2, .accepts_axis = true, .build = build_sum},
    FunctionInfo{.name = "max", .accepts_axis = true,
                 .build = [](Args a, Axis axis) { return axis ? max(a[0], *axis) : max(a[0]); }},
    FunctionInfo{.name = "mean", .build = [](Args a, Axis) { return mean(a[0]); }},
    FunctionInfo{.name = "softmax", .max_args = 2,
                 .build = [](Args a, Axis) { return a.size() == 2 ? softmax(a[0], a[1]) : softmax(a[0]); }},
    FunctionInfo{.name = "log_softmax", .build = [](Args a, Axis) { return log_softmax(a[0]); }},
    FunctionInfo{.name = "cross_entropy", .min_args = 2, .max_args = 2,
                 .build = [](Args a, Axis) { return cross_entropy(a[0], a[1]); }},
    FunctionInfo{.name = "sigmoid", .build = [](Args a, Axis) { return sigmoid(a[0]); }},
    FunctionInfo{.name = "grad", .min_args = 2, .max_args = 2, .build = build_grad},
    // The fused ops (ops/fused.hpp): single nodes computed by the accurate row kernels.
    FunctionInfo{.name = "softmax_cross_entropy", .min_args = 2, .max_args = 2,
                 .build = [](Args a, Axis) { return softmax_cross_entropy(a[0], a[1]); }},
    FunctionInfo{.name = "log_softmax_fused", .build = [](Args a, Axis) { return log_softmax_fused(a[0]); }},
    FunctionInfo{.name = "log_sum_exp", .build = [](Args a, Axis) { return log_sum_exp(a[0]); }},
    FunctionInfo{.name = "softmax_fused", .build = [](Args a, Axis) { return softmax_fused(a[0]); }},
    FunctionInfo{.name = "softmax_cross_entropy_grad", .min_args = 2, .max_args = 2,
                 .build = [](Args a, Axis) { return softmax_cross_entropy_grad(a[0], a[1]); }},
    // The forms reverse mode writes into gradients, so that they print and parse back.
    FunctionInfo{.name = "broadcast", .min_args = 2, .max_args = 2,
                 .build = [](Args a, Axis) { return broadcast_to(a[0], shape_argument(a[1], "broadcast")); }},
    FunctionInfo{.name = "equal", .min_args = 2, .max_args = 2, .build = [](Args a, Axis) { return equal(a[0], a[1]); }},
    FunctionInfo{.name = "stop_gradient", .build = [](Args a, Axis) { return stop_gradient(a[0]); }},
};

}  // namespace

std::span<const FunctionInfo> builtin_functions() { return kFunctions; }

const Arithmetic& builtin_arithmetic() {
  static const Arithmetic arithmetic{
      .add = [](Expr a, Expr b) { return a + b; },
      .subtract = [](Expr a, Expr b) { return a - b; },
      .multiply = [](Expr a, Expr b) { return a * b; },
      .divide = [](Expr a, Expr b) { return a / b; },
      .negate = [](Expr a) { return -a; },
      .power = [](Expr a, long k) { return pow(a, k); },
  };
  return arithmetic;
}

ParseContext builtin_parse_context(std::map<std::string, Shape, std::less<>> variables) {
  return {.functions = builtin_functions(), .arithmetic = builtin_arithmetic(), .variables = std::move(variables)};
}

}  // namespace ddx
