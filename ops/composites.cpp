#include "ops/composites.hpp"

namespace ddx {

Expr softmax(Expr z) {
  const Expr e = exp(z);
  return e / sum(e, -1);
}

Expr softmax(Expr z, Expr temperature) { return softmax(z / temperature); }

Expr log_softmax(Expr z) { return log(softmax(z)); }

namespace {
// −Σ y·log p, over the rows' mean for a batch.
Expr mean_negative_log_likelihood(Expr log_p, Expr y) { return -sum(y * log_p) / Rational(log_p.shape().rows()); }
}  // namespace

Expr cross_entropy(Expr p, Expr y) { return mean_negative_log_likelihood(log(p), y); }

Expr stable_log_softmax(Expr z) {
  const Expr shifted = z - stop_gradient(max(z, -1));
  return shifted - log(sum(exp(shifted), -1));
}

Expr stable_softmax_cross_entropy(Expr z, Expr y) { return mean_negative_log_likelihood(stable_log_softmax(z), y); }

Expr sigmoid(Expr x) { return Rational(1) / (Rational(1) + exp(-x)); }

Expr mean(Expr x) { return sum(x) / Rational(x.shape().size()); }

}  // namespace ddx
