// The fused softmax ops: each a single node with its own vector-Jacobian rule,
// computed forward by the accurate row kernels of ops/fused_math.hpp. Every op
// works along the last axis, so a [B, n] input is a batch of B rows.
//
//   softmax_cross_entropy(z, y)   −Σⱼ yⱼ log softmax(z)ⱼ, the mean over the B rows   scalar
//   log_softmax_fused(z)          log softmax(z)                                      z's shape
//   log_sum_exp(z)                log Σⱼ exp(zⱼ), the last axis kept as size 1        [1] or [B, 1]
//
// and two ops their rules are written with (so gradients are single accurate
// nodes too):
//
//   softmax_fused(z)                   softmax(z)                                z's shape
//   softmax_cross_entropy_grad(z, y)   ∂/∂z of softmax_cross_entropy: (p·Σy − y)/B   z's shape
//
// The targets y are a distribution per row (soft targets); the loss and its
// gradient are defined for any y, and the gradient is p − y divided by B when
// each row of y sums to 1.
#pragma once

#include "ops/primitives.hpp"

namespace ddx {

Expr softmax_cross_entropy(Expr z, Expr y);
Expr log_softmax_fused(Expr z);
Expr log_sum_exp(Expr z);
Expr softmax_fused(Expr z);
Expr softmax_cross_entropy_grad(Expr z, Expr y);

// The ids of the fused ops, for passes that recognise them (ops/fusion.cpp).
struct FusedOpIds {
  OpId softmax_cross_entropy, softmax_cross_entropy_grad, log_softmax, log_sum_exp, softmax;
};
const FusedOpIds& fused_op_ids();

// Registers the fused ops (idempotent); register_builtin_ops() calls it.
void register_fused_ops();

}  // namespace ddx
