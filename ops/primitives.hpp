// The primitive ops and the Expr arithmetic built on them.
//
//   add sub mul div neg   elementwise, with broadcasting (engine/shape.hpp)
//   exp log pow           elementwise; pow takes an integer exponent
//   sum max               reductions to a target shape (a reduced axis kept as size 1)
//   broadcast             repeats a value along axes of size 1
//   equal                 1 where a == b, else 0 (not differentiable)
//   stop_gradient         the identity, whose adjoint is zero
//
// Building a node folds only exact identities on constants (x*1, x+0, x/1,
// -(-x), and arithmetic between two scalar constants), so gradient graphs do
// not fill with multiplications by one.
#pragma once

#include <initializer_list>
#include <vector>

#include "engine/expr.hpp"
#include "engine/grad.hpp"
#include "engine/op.hpp"

namespace ddx {

Expr operator+(Expr a, Expr b);
Expr operator-(Expr a, Expr b);
Expr operator*(Expr a, Expr b);
Expr operator/(Expr a, Expr b);
Expr operator-(Expr a);

// A scalar constant on the other side.
Expr operator+(Expr a, const Rational& b);
Expr operator+(const Rational& a, Expr b);
Expr operator-(Expr a, const Rational& b);
Expr operator-(const Rational& a, Expr b);
Expr operator*(Expr a, const Rational& b);
Expr operator*(const Rational& a, Expr b);
Expr operator/(Expr a, const Rational& b);
Expr operator/(const Rational& a, Expr b);

Expr exp(Expr x);
Expr log(Expr x);
Expr pow(Expr x, long exponent);

// Sum of all elements (a scalar), or along `axis` of x (negative counts from
// the end), keeping that axis with size 1: sum([B, n], 1) has shape [B, 1].
Expr sum(Expr x);
Expr sum(Expr x, int axis);
Expr max(Expr x);
Expr max(Expr x, int axis);
// Reduce x by summing to `target`, which must broadcast to x's shape.
Expr sum_to(Expr x, Shape target);
Expr broadcast_to(Expr x, Shape target);
Expr equal(Expr a, Expr b);
Expr stop_gradient(Expr x);

// The node op(args) with attributes attr, in the graph of the arguments
// (which must all belong to one graph), for the ops of ops/.
Expr make_node(OpId op, std::initializer_list<Expr> args, Attr attr = {});

// Σⱼ body over the classes in index notation (engine/index/): the free index
// renamed to a fresh bound one; the body itself when it is not indexed. The
// sum op's index form, for the ops that sum over the classes.
index::Expr index_sum_over_classes(const index::Expr& body, const std::string& free_index, bool indexed);

// The ops reverse mode needs for accumulation and un-broadcasting.
const AdjointAlgebra& adjoint_algebra();

// Reverse mode: ∂loss/∂wrt[k] for each k, as nodes of loss's graph.
Gradient grad(Expr loss, const std::vector<Expr>& wrt);

// Makes sure every op of ops/ is registered (the expression parser and the
// printers look ops up by name). Idempotent.
void register_builtin_ops();

}  // namespace ddx
