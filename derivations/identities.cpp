#include "derivations/identities.hpp"

#include <fmt/format.h>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "engine/symbolic/prover.hpp"
#include "ops/composites.hpp"

namespace ddx {
namespace {

using sym::Claim;

struct Builder {
  Graph& g;
  Claim& claim;
  const ProveOptions& o;
  Expr vec(const std::string& name) const { return variable(g, name, Shape::vector(o.classes)); }
  Expr scalar(const std::string& name) const { return variable(g, name, Shape::scalar()); }
  void hypothesis_normalized(Expr y) const {
    if (!o.use_hypothesis) return;
    const Expr one = constant(g, Rational(1));
    claim.hypotheses.push_back({sum(y, -1).id(), one.id(), y.shape().rank == 2 ? "Σⱼ yᵦⱼ = 1 for each row b" : "Σⱼ yⱼ = 1"});
  }
  void set(Expr lhs, Expr rhs, std::string identity, std::string lhs_name, std::string rhs_name) const {
    claim.lhs = lhs.id();
    claim.rhs = rhs.id();
    claim.identity = std::move(identity);
    claim.lhs_name = std::move(lhs_name);
    claim.rhs_name = std::move(rhs_name);
  }
  Expr gradient(Expr loss, Expr wrt) const { return {g, grad(loss, {wrt}).gradients.front()}; }
};

using Build = std::function<void(const Builder&)>;

struct Entry {
  IdentityInfo info;
  Build build;
};

const std::vector<Entry>& catalogue() {
  static const std::vector<Entry> entries = {
      {{"softmax-ce", "the gradient of cross-entropy after softmax, built by reverse mode, is p − y (given Σy = 1)", true},
       [](const Builder& b) {
         const Expr z = b.vec("z"), y = b.vec("y"), p = softmax(z);
         b.hypothesis_normalized(y);
         b.claim.names.push_back({p.id(), "p"});
         b.set(b.gradient(cross_entropy(p, y), z), p - y, "∂L/∂z = p − y, L = −Σⱼ yⱼ log softmax(z)ⱼ", "∂L/∂z", "p − y");
       }},
      {{"softmax-sums-to-one", "the softmax probabilities sum to 1", true},
       [](const Builder& b) {
         const Expr z = b.vec("z"), p = softmax(z);
         b.claim.names.push_back({p.id(), "p"});
         b.set(sum(p), constant(b.g, Rational(1)), "Σᵢ pᵢ = 1", "Σᵢ pᵢ", "1");
       }},
      {{"shift-invariance", "softmax(z + c) = softmax(z) for any scalar c", true},
       [](const Builder& b) {
         const Expr z = b.vec("z"), c = b.scalar("c"), p = softmax(z);
         b.claim.names.push_back({p.id(), "p"});
         b.set(softmax(z + c), p, "softmax(z + c) = softmax(z)", "softmax(z + c)", "softmax(z)");
       }},
      {{"softmax-jacobian",
        "the softmax Jacobian is pᵢ(δᵢⱼ − pⱼ), shown as its product with an arbitrary vector v: Jᵀv = p⊙v − p(p·v)", true},
       [](const Builder& b) {
         const Expr z = b.vec("z"), v = b.vec("v"), p = softmax(z);
         b.claim.names.push_back({p.id(), "p"});
         b.set(b.gradient(sum(v * p), z), p * v - p * sum(p * v), "Σⱼ vⱼ ∂pⱼ/∂zᵢ = pᵢvᵢ − pᵢ Σⱼ pⱼvⱼ, i.e. ∂pⱼ/∂zᵢ = pⱼ(δᵢⱼ − pᵢ)",
               "Jᵀv", "p⊙v − p(p·v)");
       }},
      {{"temperature", "with softmax(z/T) the gradient is (p − y)/T", true},
       [](const Builder& b) {
         const Expr z = b.vec("z"), y = b.vec("y"), T = b.scalar("T"), p = softmax(z, T);
         b.claim.positive.insert("T");
         b.hypothesis_normalized(y);
         b.claim.names.push_back({p.id(), "p"});
         b.set(b.gradient(cross_entropy(p, y), z), (p - y) / T, "∂L/∂z = (p − y)/T, p = softmax(z/T)", "∂L/∂z", "(p − y)/T");
       }},
      {{"batch-mean", "for a batch of B rows with the mean loss the gradient is (p − y)/B", true},
       [](const Builder& b) {
         const Shape s = Shape::matrix(b.o.batch, b.o.classes);
         const Expr z = variable(b.g, "z", s), y = variable(b.g, "y", s), p = softmax(z);
         b.hypothesis_normalized(y);
         b.claim.names.push_back({p.id(), "p"});
         b.set(b.gradient(cross_entropy(p, y), z), (p - y) / Rational(b.o.batch), "∂L/∂z = (p − y)/B, L the mean over B rows",
               "∂L/∂z", "(p − y)/B");
       }},
      {{"two-classes", "with two classes softmax(z)₁ = σ(z₁ − z₂), the sigmoid of the logit difference", true},
       [](const Builder& b) {
         const Expr z = variable(b.g, "z", Shape::vector(2)), p = softmax(z);
         b.claim.names.push_back({p.id(), "p"});
         // Component k of 2z − Σz is z_k − z_other.
         b.set(p, sigmoid(Rational(2) * z - sum(z)), "softmax(z)ₖ = σ(zₖ − z_other) for two classes", "softmax(z)",
               "σ(2z − Σz)");
       }},
      {{"sigmoid-bce", "the binary cross-entropy of σ(x) has gradient σ(x) − y", true},
       [](const Builder& b) {
         const Expr x = b.scalar("x"), y = b.scalar("y"), s = sigmoid(x);
         const Expr loss = -(y * log(s) + (Rational(1) - y) * log(Rational(1) - s));
         b.claim.names.push_back({s.id(), "σ"});
         b.set(b.gradient(loss, x), s - y, "∂L/∂x = σ(x) − y, L = −y log σ(x) − (1 − y) log(1 − σ(x))", "∂L/∂x", "σ(x) − y");
       }},
      {{"label-smoothing", "with smoothed targets ỹ = (1 − ε)y + ε/n, which still sum to 1, the gradient is p − ỹ", true},
       [](const Builder& b) {
         const Expr z = b.vec("z"), y = b.vec("y"), eps = b.scalar("ε"), p = softmax(z);
         const Expr smoothed = (Rational(1) - eps) * y + eps / Rational(b.o.classes);
         b.hypothesis_normalized(y);
         b.claim.names.push_back({p.id(), "p"});
         b.set(b.gradient(cross_entropy(p, smoothed), z), p - smoothed, "∂L/∂z = p − ỹ, ỹ = (1 − ε)y + ε/n", "∂L/∂z",
               "p − ỹ");
       }},
      {{"label-smoothing-sums-to-one", "smoothed targets (1 − ε)y + ε/n sum to 1 when y does", true},
       [](const Builder& b) {
         const Expr y = b.vec("y"), eps = b.scalar("ε");
         const Expr smoothed = (Rational(1) - eps) * y + eps / Rational(b.o.classes);
         b.hypothesis_normalized(y);
         b.set(sum(smoothed), constant(b.g, Rational(1)), "Σⱼ ỹⱼ = 1", "Σⱼ ỹⱼ", "1");
       }},
      {{"mse-softmax", "the contrast: mean squared error after softmax does NOT give p − y (its residual is shown)", false},
       [](const Builder& b) {
         const Expr z = b.vec("z"), y = b.vec("y"), p = softmax(z);
         const Expr d = p - y;
         b.hypothesis_normalized(y);
         b.claim.names.push_back({p.id(), "p"});
         b.set(b.gradient(sum(d * d), z), d, "∂L/∂z = p − y for L = Σⱼ (pⱼ − yⱼ)² (false: it is Jᵀ·2(p − y))", "∂L/∂z",
               "p − y");
       }},
      {{"mse-softmax-jacobian", "what the mean squared error gradient is instead: Jᵀ·2(p − y)", true},
       [](const Builder& b) {
         const Expr z = b.vec("z"), y = b.vec("y"), p = softmax(z);
         const Expr v = Rational(2) * (p - y);
         b.claim.names.push_back({p.id(), "p"});
         b.set(b.gradient(sum((p - y) * (p - y)), z), p * v - p * sum(p * v),
               "∂L/∂z = Jᵀ·2(p − y) for L = Σⱼ (pⱼ − yⱼ)²", "∂L/∂z", "Jᵀ·2(p − y)");
       }},
  };
  return entries;
}

}  // namespace

const std::vector<IdentityInfo>& identities() {
  static const std::vector<IdentityInfo> list = [] {
    std::vector<IdentityInfo> v;
    for (const Entry& e : catalogue()) v.push_back(e.info);
    return v;
  }();
  return list;
}

Proof prove_identity(const std::string& name, const ProveOptions& options) {
  if (options.classes < 1) throw std::invalid_argument(fmt::format("--classes must be at least 1, got {}", options.classes));
  if (options.classes > 100000) throw std::invalid_argument("--classes: at most 100000");
  for (const Entry& e : catalogue()) {
    if (e.info.name != name) continue;
    Graph g;
    Claim claim;
    claim.graph = &g;
    e.build(Builder{g, claim, options});
    sym::ProverOptions po;
    po.check_steps = options.check_steps;
    return sym::prove_fixed(claim, po);
  }
  std::string known;
  for (const Entry& e : catalogue()) known += (known.empty() ? "" : ", ") + e.info.name;
  throw std::invalid_argument(fmt::format("unknown identity '{}'; known identities: {}", name, known));
}

std::string render_text(const Proof& p, bool trace) {
  std::string out = fmt::format("Claim: {}\n", p.identity);
  out += fmt::format("Classes: {}   route: {}\n", p.classes, p.route);
  if (!p.hypotheses.empty()) {
    std::string h;
    for (const auto& x : p.hypotheses) h += (h.empty() ? "" : "; ") + x;
    out += fmt::format("Hypotheses: {}\n", h);
  } else {
    out += "Hypotheses: none\n";
  }
  if (trace) {
    out += "\n";
    for (std::size_t k = 0; k < p.steps.size(); ++k) {
      const ProofStep& s = p.steps[k];
      out += fmt::format("{:>3}. [{}]{}\n", k + 1, s.rule, s.uses.empty() ? "" : fmt::format("  using {}", s.uses));
      out += fmt::format("       {}\n     = {}\n", s.before, s.after);
      out += fmt::format("       numeric check: {} ({})\n", s.numeric_check_passed ? "passed" : "FAILED", s.numeric_check);
    }
    out += "\n";
  }
  if (p.proven) {
    out += fmt::format("Proven ({:.3f} s){}.\n", p.seconds, p.steps_checked() ? ", every step checked numerically" : "");
  } else {
    out += fmt::format("NOT proven ({:.3f} s). Residual (left side minus right side, reduced):\n  {}\n", p.seconds,
                       p.residual);
  }
  return out;
}

std::string render_json(const Proof& p) {
  nlohmann::ordered_json j;
  j["identity"] = p.identity;
  if (p.classes == "n") j["classes"] = "n";
  else j["classes"] = std::stol(p.classes);
  j["route"] = p.route;
  j["proven"] = p.proven;
  j["residual"] = p.residual;
  j["residual_latex"] = p.residual_latex;
  j["hypotheses"] = p.hypotheses;
  j["steps"] = nlohmann::ordered_json::array();
  for (const ProofStep& s : p.steps) {
    nlohmann::ordered_json js;
    js["rule"] = s.rule;
    js["before"] = s.before;
    js["after"] = s.after;
    js["latex_before"] = s.latex_before;
    js["latex_after"] = s.latex_after;
    js["uses"] = s.uses;
    js["numeric_check_passed"] = s.numeric_check_passed;
    js["numeric_check"] = s.numeric_check;
    j["steps"].push_back(js);
  }
  j["seconds"] = p.seconds;
  return j.dump(2);
}

}  // namespace ddx
