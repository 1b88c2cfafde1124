// The functions of the expression language (engine/parser.hpp): exp, log,
// pow, sum, max, mean, softmax, log_softmax, cross_entropy, sigmoid, the
// fused softmax_cross_entropy, log_softmax_fused, log_sum_exp (and the
// softmax_fused, softmax_cross_entropy_grad their gradients print with), and
// grad(f, x), reverse mode as a function.
#pragma once

#include <span>

#include "engine/parser.hpp"

namespace ddx {

std::span<const FunctionInfo> builtin_functions();
// + - * / unary minus and ^ as the primitives of ops/primitives.hpp.
const Arithmetic& builtin_arithmetic();
// The built-in functions and operators, with the given variable shapes.
ParseContext builtin_parse_context(std::map<std::string, Shape, std::less<>> variables = {});

}  // namespace ddx
