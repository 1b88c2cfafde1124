// Rewrite rules of the index calculus as data (a name, the fact a rule rests
// on, and a function that tries to rewrite one subterm), the engine that
// applies a set of rules to a whole expression, the numeric check of a step at
// 50 digits, and Derivation, which records each application as a ProofStep.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/index/index_expr.hpp"
#include "engine/proof.hpp"

namespace ddx::index {

// What a rule produced: the new subterm and, when it depends on the subterm,
// the fact it relied on (e.g. "pⱼ ≠ 0 because exp(x) > 0").
struct Rewrite {
  Expr result;
  std::string fact;
};

// Where in the whole expression a rule is tried.
struct Scope {
  const Context& context;
  std::set<std::string> taken;                               // every index written in the whole expression
  std::set<std::string> free;                                // the free indices of the whole expression
  std::vector<std::string> bound;                            // Σ indices around the subterm
  std::vector<std::pair<std::string, std::string>> distinct;  // pairs known unequal (inside a case i ≠ j)
  std::vector<std::string> differentiating;                  // variables of the derivatives around the subterm

  bool known_distinct(const std::string& a, const std::string& b) const;
};

struct Rule {
  std::string name;  // e.g. "delta-contraction"
  std::string uses;  // the fact or hypothesis it rests on ("" for none)
  std::function<std::optional<Rewrite>(const Expr&, const Scope&)> rewrite;
};

struct Application {
  Expr result;
  std::vector<std::string> rules_fired;  // names, first firing order, each once
  std::vector<std::string> facts;        // facts used, each once
  bool changed = false;
};

// Applies the rules anywhere in e, outermost subterms first, until none
// applies (std::logic_error if they keep firing: a rule set that loops).
Application apply_rules(const Expr& e, const std::vector<Rule>& rules, const Context& context);

// The rules. Each is one place; routes choose which to apply and in what order.
namespace rules {
Rule d_index();         // ∂zⱼ/∂zᵢ = δᵢⱼ
Rule d_const();         // ∂c/∂zᵢ = 0 for c not depending on z
Rule d_sum();           // ∂(a + b) = ∂a + ∂b, ∂(−a) = −∂a, ∂Σⱼ f = Σⱼ ∂f
Rule d_const_factor();  // ∂(c·f) = c·∂f for c not depending on z
Rule d_product();       // ∂(f·g) = ∂f·g + f·∂g
Rule d_quotient();      // ∂(f/g) = (∂f·g − f·∂g)/g²
Rule d_power();         // ∂uᵏ = k·uᵏ⁻¹·∂u
Rule d_exp();           // ∂exp(u) = exp(u)·∂u
Rule d_log();           // ∂log u = ∂u/u
// ∂F/∂zᵢ = Σⱼ (∂F/∂pⱼ)(∂pⱼ/∂zᵢ) when F depends on z only through the definition `through`.
Rule chain_rule(const std::string& through);
Rule sum_linearity();      // Σⱼ (a + b) = Σⱼ a + Σⱼ b
Rule sum_factor_out();     // Σⱼ c·f = c·Σⱼ f for c free of j; Σⱼ c = n·c
Rule delta_contraction();  // Σⱼ δᵢⱼ f(j) = f(i)
Rule delta_value();        // δᵢᵢ = 1; δᵢⱼ = 0 where i ≠ j is known
Rule delta_cases();        // ∂pⱼ/∂zᵢ = {∂pᵢ/∂zᵢ if i = j; ∂pⱼ/∂zᵢ if i ≠ j}
Rule cases_to_delta();     // {A if i = j; B if i ≠ j} = B + δᵢⱼ(A − B|ⱼ₌ᵢ)
Rule hypothesis(const Hypothesis& h, const std::string& name = "sum-hypothesis");
Rule cancel();        // x·x⁻¹ = 1 for x > 0 (the positivity is recorded)
Rule log_quotient();  // log(a/b) = log a − log b for a, b > 0
Rule log_exp();       // log exp x = x
Rule exp_sum();       // exp(a + b) = exp(a)·exp(b)
Rule distribute();    // a(b + c) = ab + ac
Rule factor();        // ab + ac = a(b + c) for every factor common to all terms
Rule simplify();      // flatten, fold constants, collect like terms (one step)
// Replaces the defined symbol by its body; with only_under_derivative, only
// inside a derivative (e.g. ∂pⱼ/∂zᵢ, not the pⱼ beside it).
Rule unfold(const Definition& definition, bool only_under_derivative = false);
Rule fold(const Definition& definition);  // the body (or a quotient's parts inside a product) back to the symbol
}  // namespace rules

// "pⱼ := exp(zⱼ)/Σₖ exp(zₖ)"
std::string definition_text(const Definition& d);
std::string definition_latex(const Definition& d);
std::string hypothesis_text(const Hypothesis& h);

// ---- Numeric check of a step ----
struct NumericCheckOptions {
  std::vector<int> sizes = {1, 2, 3, 5, 8};
  int points_per_size = 3;
  std::uint64_t seed = 20260122;
  // Indexed symbols drawn as a distribution summing to exactly 1 (e.g. y
  // under the hypothesis Σⱼ yⱼ = 1); others are uniform in [−3, 3] (indexed)
  // or [1/4, 2] (scalars: a temperature or smoothing weight stays positive).
  std::set<std::string> normalized;
  // Indexed symbols assumed positive, drawn uniform in [1/4, 3] instead.
  std::set<std::string> positive;
  // |a − b| ≤ tolerance·max(1, |a|, |b|): 50-digit rounding of these small
  // expressions is below 1e-45; a genuine difference is far above 1e-40.
  double tolerance = 1e-40;
};

struct NumericCheck {
  bool passed = false;
  double max_difference = 0;
  std::string description;
};

// Evaluates a and b at 50 digits for each n, every value of their free
// indices and seeded random points.
NumericCheck check_equal(const Expr& a, const Expr& b, const Context& context, const NumericCheckOptions& options);

// A chain of rewrites from a start expression, one ProofStep per application.
class Derivation {
 public:
  Derivation(Context context, Expr start, NumericCheckOptions checks = {});
  ~Derivation();
  Derivation(Derivation&&) noexcept;

  // Applies the rules to exhaustion; when the expression changed, records a
  // step named after the rules that fired, with its numeric check. Returns
  // whether it changed.
  bool apply(const std::vector<Rule>& rules);
  bool apply(const Rule& rule) { return apply(std::vector<Rule>{rule}); }

  const Expr& start() const { return start_; }
  const Expr& current() const { return current_; }
  const Context& context() const { return context_; }
  const std::vector<ProofStep>& steps() const { return steps_; }
  const NumericCheckOptions& checks() const { return checks_; }

 private:
  Context context_;
  Expr start_;
  Expr current_;
  NumericCheckOptions checks_;
  std::vector<ProofStep> steps_;
  struct Cache;
  std::unique_ptr<Cache> cache_;
};

// a − b multiplied out, collected and factored: "0" when a = b.
Expr reduced_difference(const Expr& a, const Expr& b, const Context& context);

}  // namespace ddx::index
