// Softmax, cross-entropy and friends, built only from primitives: they add no
// node kinds, so reverse mode differentiates them through exp, sum, div, log.
// Every function works along the last axis, so a [B, n] input is a batch of B rows.
#pragma once

#include "ops/primitives.hpp"

namespace ddx {

// softmax(z)ᵢ = exp(zᵢ) / Σⱼ exp(zⱼ); with a temperature T, of z / T.
Expr softmax(Expr z);
Expr softmax(Expr z, Expr temperature);
// log(softmax(z)), composed (the fused form is a separate op).
Expr log_softmax(Expr z);
// −Σᵢ yᵢ log pᵢ; for a batch [B, n], the mean over the B rows.
Expr cross_entropy(Expr p, Expr y);
// The max-shifted log-softmax, w − log Σⱼ exp(wⱼ) with w = z − stop_gradient(max z)
// along the last axis. Every exp(wⱼ) is at most 1, so it cannot overflow; the
// shift is a constant for reverse mode (its adjoint is stopped, as JAX and
// tinygrad do), so the max's subgradient never reaches the gradient, which
// is exactly p − y as for the unshifted form.
Expr stable_log_softmax(Expr z);
// −Σᵢ yᵢ stable_log_softmax(z)ᵢ from logits z; for a batch [B, n], the mean
// over the B rows.
Expr stable_softmax_cross_entropy(Expr z, Expr y);
// 1 / (1 + exp(−x)).
Expr sigmoid(Expr x);
// Mean of all elements.
Expr mean(Expr x);

}  // namespace ddx
