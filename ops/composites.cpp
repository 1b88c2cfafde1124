#include "ops/composites.hpp"

namespace ddx {

Expr softmax(Expr z) {
  const Expr e = exp(z);
  return e / sum(e, -1);
}

Expr softmax(Expr z, Expr temperature) { return softmax(z / temperature); }

Expr log_softmax(Expr z) { return log(softmax(z)); }

Expr cross_entropy(Expr p, Expr y) {
  const Expr total = -sum(y * log(p));
  const std::int64_t rows = p.shape().rank == 2 ? p.shape().rows() : 1;
  return total / Rational(rows);
}

Expr stable_log_softmax(Expr z) {
  const Expr shifted = z - stop_gradient(max(z, -1));
  return shifted - log(sum(exp(shifted), -1));
}

Expr stable_softmax_cross_entropy(Expr z, Expr y) {
  const Expr total = -sum(y * stable_log_softmax(z));
  const std::int64_t rows = z.shape().rank == 2 ? z.shape().rows() : 1;
  return total / Rational(rows);
}

Expr sigmoid(Expr x) { return Rational(1) / (Rational(1) + exp(-x)); }

Expr mean(Expr x) { return sum(x) / Rational(x.shape().size()); }

}  // namespace ddx
