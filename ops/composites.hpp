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
// 1 / (1 + exp(−x)).
Expr sigmoid(Expr x);
// Mean of all elements.
Expr mean(Expr x);

}  // namespace ddx
