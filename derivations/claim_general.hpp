// Proofs for every n of a claim typed by a user (`ddx prove --claim ...
// --general`): both sides of the claim, already built as one graph of
// primitives (the left side is typically a reverse-mode gradient), are written
// in the index calculus (engine/index/) with each op's index form
// (OpInfo::index_form), and lhs − rhs is rewritten by named rules, each step
// checked numerically at 50 digits, until it reduces to 0 or the rules stop.
#pragma once

#include "engine/proof.hpp"
#include "engine/symbolic/prover.hpp"

namespace ddx {

// Proves claim.lhs == claim.rhs for every n, where `classes` is the length the
// graph was built with (every axis of that length stands for n). Throws
// InputError (derivations/inputs.hpp) naming the node/op when the claim cannot
// be written in index notation (a matrix, a non-uniform vector constant such as
// [1,0,0], an op without an index form).
//
// Soundness: the claim is reported proven only when the rewritten difference
// reduces to exactly 0 and every step passed its numeric check. A true claim
// the rules cannot reduce comes back not proven, with the residual. In
// particular:
//   - a scalar constant whose numerator or denominator is a multiple of
//     `classes` (mean() divides by n) is refused: the graph cannot tell
//     whether it stands for n: build the claim with another number of classes
//     (a prime such as 7 rarely collides);
//   - max over the classes becomes an opaque scalar symbol: an identity proved
//     for every value of that symbol holds for the maximum too;
//   - the index forms are checked against the graph numerically at
//     n = classes (for classes ≤ 64: nested sums cost n^depth);
//   - a variable listed in claim.positive may be cancelled (x·x⁻¹ = 1); other
//     variables only when the rules show them positive (exp, sums of exp);
//   - a hypothesis is used as a rewrite (its left side, a Σ say, replaced by
//     its right side); Σⱼ xⱼ = 1 also makes the numeric checks draw x as a
//     distribution. The numeric checks draw other variables freely, so a step
//     resting on any other hypothesis fails its check and the claim is not
//     proven (sound, but conservative).
Proof prove_claim_every_n(const sym::Claim& claim, long classes);

}  // namespace ddx
