#include "derivations/every_n.hpp"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <optional>
#include <stdexcept>

namespace ddx {

using namespace index;

// ---------------------------------------------------------------- the definitions

// pⱼ := exp(aⱼ)/Σₖ exp(aₖ) with aⱼ = zⱼ, or zⱼ/T for a temperature.
Definition softmax_definition(bool with_temperature) {
  auto logit = [&](const std::string& ix) {
    Expr z = symbol("z", ix);
    return with_temperature ? mul({z, power(symbol("T"), -1)}) : z;
  };
  return {"p", "j", divide(exp_of(logit("j")), sum_over("k", exp_of(logit("k"))))};
}

// L := −Σⱼ tⱼ log pⱼ for the targets t.
Definition loss_definition(const std::string& targets) {
  return {"L", "", negate(sum_over("j", mul({symbol(targets, "j"), log_of(symbol("p", "j"))})))};
}

// ỹⱼ := (1 − ε)yⱼ + ε/n
Definition smoothed_targets_definition() {
  return {"ỹ", "j",
          add({mul({subtract(constant(1), symbol("ε")), symbol("y", "j")}), divide(symbol("ε"), size_n())})};
}

namespace {

namespace R = index::rules;

Hypothesis sums_to_one(const std::string& targets) { return {sum_over("j", symbol(targets, "j")), constant(1)}; }

// ---------------------------------------------------------------- running a route

// A route is a sequence of rule sets (the proof strategy); each set is applied
// to exhaustion and becomes one step when it changes the expression.
class Route {
 public:
  Route(Context context, Expr start, NumericCheckOptions checks, const std::vector<Rule>& replacements)
      : derivation_(std::move(context), std::move(start), std::move(checks)), replacements_(replacements) {}

  void apply(std::vector<Rule> rules) {
    for (Rule& rule : rules)
      for (const Rule& replacement : replacements_)
        if (replacement.name == rule.name) rule = replacement;
    derivation_.apply(rules);
  }

  const Derivation& derivation() const { return derivation_; }

 private:
  Derivation derivation_;
  const std::vector<Rule>& replacements_;
};

// One derivation and the expression it is meant to reach.
struct Part {
  const Derivation* derivation;
  Expr expected;
};

std::string where_clause(const std::vector<Definition>& definitions) {
  std::string out;
  for (const Definition& d : definitions) out += (out.empty() ? ", where " : ", ") + definition_text(d);
  return out;
}

Proof conclude(std::string identity, std::string route, const std::vector<Part>& parts,
               std::vector<std::string> hypotheses, std::chrono::steady_clock::time_point started) {
  Proof proof;
  proof.identity = std::move(identity);
  proof.classes = "n";
  proof.route = std::move(route);
  proof.hypotheses = std::move(hypotheses);
  bool reached = true;
  for (const Part& part : parts) {
    const Derivation& d = *part.derivation;
    proof.steps.insert(proof.steps.end(), d.steps().begin(), d.steps().end());
    if (!reached) continue;
    const Expr residual = reduced_difference(d.current(), part.expected, d.context());
    if (!is_constant(residual, 0)) {
      reached = false;
      proof.residual = to_text(residual);
      proof.residual_latex = to_latex(residual);
    }
  }
  // Proven only when the rules reached the claim and every step held numerically.
  proof.proven = reached && proof.steps_checked() && !proof.steps.empty();
  proof.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return proof;
}

NumericCheckOptions checks_for(bool use_hypothesis, const std::string& targets = "y") {
  NumericCheckOptions options;
  // Under the hypothesis the targets sum to exactly 1 at every point, so the
  // steps after it hold too; without it they are arbitrary.
  if (use_hypothesis) options.normalized = {targets};
  return options;
}

// ---------------------------------------------------------------- the routes

// ∂/∂zᵢ(−Σⱼ tⱼ log pⱼ) with L unfolded and p unfolded and simplified first:
// L = log Σₖ exp(zₖ) − Σⱼ tⱼzⱼ, then differentiated.
void direct_route(Route& route, const Context& context, const std::optional<Hypothesis>& hypothesis,
                  const std::string& hypothesis_source = "") {
  const Definition& loss = *context.find("L");
  const Definition& softmax = *context.find("p");
  route.apply({R::unfold(loss)});
  route.apply({R::unfold(softmax)});
  route.apply({R::log_quotient()});
  route.apply({R::log_exp()});
  route.apply({R::distribute()});
  route.apply({R::sum_linearity()});
  route.apply({R::sum_factor_out()});
  if (hypothesis) {
    Rule use = R::hypothesis(*hypothesis);
    use.uses += hypothesis_source;
    route.apply({use});
  }
  route.apply({R::simplify()});
  route.apply({R::d_sum(), R::d_const_factor()});
  route.apply({R::d_log()});
  route.apply({R::d_sum(), R::d_exp(), R::d_const_factor()});
  route.apply({R::d_index()});
  route.apply({R::delta_contraction()});
  route.apply({R::fold(softmax)});
  route.apply({R::factor()});
}

// ∂pⱼ/∂zᵢ for p the softmax, wherever it stands: split into the cases i = j
// and i ≠ j, quotient rule in each, back to p, then combined with δ.
void softmax_derivative_by_cases(Route& route, const Definition& softmax) {
  route.apply({R::delta_cases()});
  route.apply({R::unfold(softmax, /*only_under_derivative=*/true)});
  route.apply({R::d_quotient()});
  route.apply({R::d_exp(), R::d_sum()});
  route.apply({R::d_index()});
  route.apply({R::delta_value(), R::delta_contraction()});
  route.apply({R::simplify()});
  route.apply({R::distribute()});
  route.apply({R::cancel()});
  route.apply({R::fold(softmax)});
  route.apply({R::factor()});
  route.apply({R::cases_to_delta()});
  route.apply({R::factor()});
}

// ∂L/∂zᵢ = Σⱼ (∂L/∂pⱼ)(∂pⱼ/∂zᵢ): ∂L/∂pⱼ = −yⱼ/pⱼ, ∂pⱼ/∂zᵢ = pⱼ(δᵢⱼ − pᵢ),
// then cancel, contract and use the hypothesis.
void textbook_route(Route& route, const Context& context, const std::optional<Hypothesis>& hypothesis) {
  const Definition& loss = *context.find("L");
  const Definition& softmax = *context.find("p");
  route.apply({R::chain_rule("p")});
  // ∂L/∂pⱼ
  route.apply({R::unfold(loss)});
  route.apply({R::d_sum(), R::d_const_factor()});
  route.apply({R::d_log()});
  route.apply({R::d_index()});
  route.apply({R::delta_contraction()});
  // ∂pⱼ/∂zᵢ
  softmax_derivative_by_cases(route, softmax);
  // the sum over j
  route.apply({R::cancel()});
  route.apply({R::distribute()});
  route.apply({R::sum_linearity(), R::sum_factor_out()});
  route.apply({R::delta_contraction()});
  if (hypothesis) route.apply({R::hypothesis(*hypothesis)});
  route.apply({R::simplify()});
}

using Clock = std::chrono::steady_clock;

Proof prove_softmax_ce(const std::string& route_name, bool use_hypothesis, const std::vector<Rule>& replacements,
                       bool with_temperature) {
  const auto started = Clock::now();
  const Definition softmax = softmax_definition(with_temperature);
  const Definition loss = loss_definition("y");
  const Context context{{loss, softmax}};
  const std::optional<Hypothesis> hypothesis =
      use_hypothesis ? std::optional<Hypothesis>(sums_to_one("y")) : std::nullopt;
  const Expr lhs = derivative("z", "i", symbol("L"));
  Expr rhs = subtract(symbol("p", "i"), symbol("y", "i"));
  if (with_temperature) rhs = mul({rhs, power(symbol("T"), -1)});

  Route route(context, lhs, checks_for(use_hypothesis), replacements);
  if (route_name == "textbook") textbook_route(route, context, hypothesis);
  else direct_route(route, context, hypothesis);

  std::string identity = to_text(lhs) + " = " + to_text(rhs) + " for every n" + where_clause({loss, softmax});
  if (with_temperature) identity += " (the softmax of z/T)";
  return conclude(identity, route_name, {{&route.derivation(), rhs}},
                  hypothesis ? std::vector<std::string>{hypothesis_text(*hypothesis)} : std::vector<std::string>{},
                  started);
}

Proof prove_sums_to_one(const std::vector<Rule>& replacements) {
  const auto started = Clock::now();
  const Definition softmax = softmax_definition(false);
  const Context context{{softmax}};
  const Expr lhs = sum_over("i", symbol("p", "i"));
  const Expr rhs = constant(1);
  Route route(context, lhs, checks_for(false), replacements);
  route.apply({R::unfold(softmax)});
  route.apply({R::sum_factor_out()});
  route.apply({R::cancel()});
  return conclude(to_text(lhs) + " = " + to_text(rhs) + " for every n" + where_clause({softmax}), "direct",
                  {{&route.derivation(), rhs}}, {}, started);
}

Proof prove_shift_invariance(const std::vector<Rule>& replacements) {
  const auto started = Clock::now();
  const Definition softmax = softmax_definition(false);
  const Context context{{softmax}};
  // The softmax of z + c at class i, for a scalar c.
  const Expr c = symbol("c");
  const Expr lhs = divide(exp_of(add({symbol("z", "i"), c})), sum_over("k", exp_of(add({symbol("z", "k"), c}))));
  const Expr rhs = symbol("p", "i");
  Route route(context, lhs, checks_for(false), replacements);
  route.apply({R::exp_sum()});
  route.apply({R::sum_factor_out()});
  route.apply({R::cancel()});
  route.apply({R::fold(softmax)});
  return conclude(to_text(lhs) + " = " + to_text(rhs) + " for every n and every scalar c" + where_clause({softmax}),
                  "direct", {{&route.derivation(), rhs}}, {}, started);
}

Proof prove_jacobian(const std::vector<Rule>& replacements) {
  const auto started = Clock::now();
  const Definition softmax = softmax_definition(false);
  const Context context{{softmax}};
  const Expr lhs = derivative("z", "j", symbol("p", "i"));
  const Expr rhs = mul({symbol("p", "i"), subtract(delta("i", "j"), symbol("p", "j"))});
  Route route(context, lhs, checks_for(false), replacements);
  softmax_derivative_by_cases(route, softmax);
  return conclude(to_text(lhs) + " = " + to_text(rhs) + " for every n" + where_clause({softmax}), "textbook",
                  {{&route.derivation(), rhs}}, {}, started);
}

// First Σⱼ ỹⱼ = 1 from Σⱼ yⱼ = 1; then the direct route with the smoothed
// targets and that lemma as its hypothesis.
Proof prove_label_smoothing(bool use_hypothesis, const std::vector<Rule>& replacements) {
  const auto started = Clock::now();
  const Definition smoothed = smoothed_targets_definition();
  const Definition softmax = softmax_definition(false);
  const Definition loss = loss_definition("ỹ");
  const Context context{{loss, softmax, smoothed}};
  const NumericCheckOptions checks = checks_for(use_hypothesis);

  const Expr sum_lhs = sum_over("j", symbol("ỹ", "j"));
  Route lemma(context, sum_lhs, checks, replacements);
  lemma.apply({R::unfold(smoothed)});
  lemma.apply({R::sum_linearity()});
  lemma.apply({R::sum_factor_out()});
  lemma.apply({R::cancel()});
  if (use_hypothesis) lemma.apply({R::hypothesis(sums_to_one("y"))});
  lemma.apply({R::simplify()});
  const bool lemma_holds = is_constant(lemma.derivation().current(), 1);

  const Expr lhs = derivative("z", "i", symbol("L"));
  const Expr rhs = subtract(symbol("p", "i"), symbol("ỹ", "i"));
  Route gradient(context, lhs, checks, replacements);
  direct_route(gradient, context, lemma_holds ? std::optional<Hypothesis>(sums_to_one("ỹ")) : std::nullopt,
               " (proved above from Σⱼ yⱼ = 1)");

  std::vector<std::string> hypotheses;
  if (use_hypothesis) hypotheses.push_back(hypothesis_text(sums_to_one("y")));
  const std::string identity = to_text(sum_lhs) + " = 1 and " + to_text(lhs) + " = " + to_text(rhs) +
                               " for every n" + where_clause({loss, softmax, smoothed});
  return conclude(identity, "direct", {{&lemma.derivation(), constant(1)}, {&gradient.derivation(), rhs}},
                  hypotheses, started);
}

std::string list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::vector<std::string> every_n_identities() {
  return {"softmax-ce", "softmax-sums-to-one", "shift-invariance", "softmax-jacobian", "temperature",
          "label-smoothing"};
}

std::vector<std::string> every_n_routes(const std::string& identity) {
  if (identity == "softmax-ce") return {"textbook", "direct"};
  if (identity == "softmax-jacobian") return {"textbook"};
  if (identity == "softmax-sums-to-one" || identity == "shift-invariance" || identity == "temperature" ||
      identity == "label-smoothing")
    return {"direct"};
  throw std::invalid_argument(
      fmt::format("unknown identity '{}' for a proof for every n; known: {}", identity, list(every_n_identities())));
}

Proof prove_every_n(const std::string& identity, const std::string& route, bool use_hypothesis,
                    const std::vector<Rule>& replacements) {
  const std::vector<std::string> routes = every_n_routes(identity);
  const std::string chosen = route.empty() ? routes.front() : route;
  if (std::find(routes.begin(), routes.end(), chosen) == routes.end())
    throw std::invalid_argument(
        fmt::format("unknown route '{}' for the identity '{}'; its routes: {}", chosen, identity, list(routes)));
  if (identity == "softmax-ce") return prove_softmax_ce(chosen, use_hypothesis, replacements, false);
  if (identity == "temperature") return prove_softmax_ce(chosen, use_hypothesis, replacements, true);
  if (identity == "softmax-sums-to-one") return prove_sums_to_one(replacements);
  if (identity == "shift-invariance") return prove_shift_invariance(replacements);
  if (identity == "softmax-jacobian") return prove_jacobian(replacements);
  return prove_label_smoothing(use_hypothesis, replacements);
}

}  // namespace ddx
