#include "engine/index/index_rules.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <random>
#include <stdexcept>

namespace ddx::index {

bool Scope::known_distinct(const std::string& a, const std::string& b) const {
  for (const auto& [x, y] : distinct)
    if ((x == a && y == b) || (x == b && y == a)) return true;
  return false;
}

// ---------------------------------------------------------------- engine

namespace {

void note_once(std::vector<std::string>& list, const std::string& item) {
  if (!item.empty() && std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

class Rewriter {
 public:
  Rewriter(const std::vector<Rule>& rules, const Context& context, Application& out)
      : rules_(rules), out_(out), scope_{.context = context} {}

  Expr pass(const Expr& e) {
    scope_.taken = all_indices(e);
    scope_.free = free_indices(e);
    fired_ = false;
    return visit(e, 0);
  }
  bool fired() const { return fired_; }

 private:
  const std::vector<Rule>& rules_;
  Application& out_;
  Scope scope_;
  bool fired_ = false;

  Expr visit(const Expr& e, int depth) {
    if (depth > kMaxDepth) throw std::length_error("index expression too deep for the rewrite engine");
    Expr node = e;
    for (const Rule& rule : rules_) {
      std::optional<Rewrite> r = rule.rewrite(node, scope_);
      if (!r || alpha_equal(r->result, node)) continue;
      note_once(out_.rules_fired, rule.name);
      note_once(out_.facts, r->fact.empty() ? rule.uses : r->fact);
      const std::set<std::string> introduced = all_indices(r->result);
      scope_.taken.insert(introduced.begin(), introduced.end());
      node = r->result;
      fired_ = true;
      break;  // the same subterm is tried again on the next pass
    }
    if (node->args.empty()) return node;
    std::vector<Expr> args;
    bool changed = false;
    for (std::size_t k = 0; k < node->args.size(); ++k) {
      const std::size_t bound_size = scope_.bound.size(), distinct_size = scope_.distinct.size(),
                        diff_size = scope_.differentiating.size();
      if (node->kind == Kind::Sum) scope_.bound.push_back(node->index);
      if (node->kind == Kind::Derivative) scope_.differentiating.push_back(node->name);
      if (node->kind == Kind::Cases && k == 1) scope_.distinct.emplace_back(node->index, node->index2);
      args.push_back(visit(node->args[k], depth + 1));
      scope_.bound.resize(bound_size);
      scope_.distinct.resize(distinct_size);
      scope_.differentiating.resize(diff_size);
      changed = changed || args.back() != node->args[k];
    }
    return changed ? with_args(*node, std::move(args)) : node;
  }
};

}  // namespace

Application apply_rules(const Expr& e, const std::vector<Rule>& rules, const Context& context) {
  Application out;
  out.result = e;
  Rewriter rewriter(rules, context, out);
  for (int round = 0; round < 64; ++round) {
    Expr next = rewriter.pass(out.result);
    if (!rewriter.fired()) return out;
    out.result = next;
    out.changed = true;
  }
  std::string names;
  for (const Rule& r : rules) names += (names.empty() ? "" : ", ") + r.name;
  throw std::logic_error(fmt::format("the rules {} kept rewriting after 64 passes: they loop", names));
}

// ---------------------------------------------------------------- helpers

namespace {

using Powers = std::vector<std::pair<Expr, long>>;

// A product as its coefficient and its (base, exponent) factors, in order,
// without merging anything.
void decompose(const Expr& e, Rational& coefficient, Powers& powers) {
  for (const Expr& f : factors_of(e)) {
    if (f->kind == Kind::Constant) coefficient *= f->value;
    else if (f->kind == Kind::Negate) {
      coefficient = -coefficient;
      decompose(f->args[0], coefficient, powers);
    } else if (f->kind == Kind::Power && f->args[0]->kind == Kind::Mul) {
      // (a·b)ᵏ = aᵏ·bᵏ
      Rational inner = 1;
      Powers parts;
      decompose(f->args[0], inner, parts);
      if (inner != 1) powers.emplace_back(constant(inner), f->exponent);
      for (const auto& [b, x] : parts) powers.emplace_back(b, x * f->exponent);
    } else if (f->kind == Kind::Power) powers.emplace_back(f->args[0], f->exponent);
    else powers.emplace_back(f, 1);
  }
}

Expr compose(const Rational& coefficient, const Powers& powers) {
  std::vector<Expr> factors;
  if (coefficient != 1 || powers.empty()) factors.push_back(constant(coefficient));
  for (const auto& [base, exponent] : powers)
    if (exponent != 0) factors.push_back(power(base, exponent));
  return product(std::move(factors));
}

// Matches `pattern`, in which free occurrences of index `formal` stand for
// any index, against e; returns the index `formal` stands for.
class IndexMatcher {
 public:
  explicit IndexMatcher(std::string formal) : formal_(std::move(formal)) {}
  std::optional<std::string> match(const Expr& pattern, const Expr& e) {
    bound_.clear();
    binding_.reset();
    if (!same(pattern, e, 0)) return std::nullopt;
    return binding_ ? *binding_ : std::string();
  }

 private:
  std::string formal_;
  std::vector<std::pair<std::string, std::string>> bound_;
  std::optional<std::string> binding_;

  bool same_index(const std::string& p, const std::string& q) {
    for (auto it = bound_.rbegin(); it != bound_.rend(); ++it)
      if (it->first == p || it->second == q) return it->first == p && it->second == q;
    if (p == formal_ && !formal_.empty()) {
      if (!binding_) binding_ = q;
      return *binding_ == q;
    }
    return p == q;
  }

  bool same(const Expr& p, const Expr& e, int depth) {
    if (depth > kMaxDepth) return false;
    if (p->kind != e->kind || p->args.size() != e->args.size()) return false;
    switch (p->kind) {
      case Kind::Constant: return p->value == e->value;
      case Kind::Size: return true;
      case Kind::Symbol: return p->name == e->name && same_index(p->index, e->index);
      case Kind::Power: if (p->exponent != e->exponent) return false; break;
      case Kind::Delta: {  // symmetric
        const auto saved = binding_;
        if (same_index(p->index, e->index) && same_index(p->index2, e->index2)) return true;
        binding_ = saved;
        return same_index(p->index, e->index2) && same_index(p->index2, e->index);
      }
      case Kind::Cases:
        if (!same_index(p->index, e->index) || !same_index(p->index2, e->index2)) return false;
        break;
      case Kind::Derivative:
        if (p->name != e->name || !same_index(p->index, e->index)) return false;
        break;
      case Kind::Sum: {
        bound_.emplace_back(p->index, e->index);
        const bool ok = same(p->args[0], e->args[0], depth + 1);
        bound_.pop_back();
        return ok;
      }
      default: break;
    }
    for (std::size_t k = 0; k < p->args.size(); ++k)
      if (!same(p->args[k], e->args[k], depth + 1)) return false;
    return true;
  }
};

bool depends(const Expr& e, const std::string& variable, const Scope& scope) {
  return depends_on(e, variable, scope.context);
}

const Node* as_derivative(const Expr& e) { return e->kind == Kind::Derivative ? e.get() : nullptr; }

Expr d(const Node& of, Expr body) { return derivative(of.name, of.index, std::move(body)); }

std::optional<Rewrite> done(Expr result, std::string fact = "") { return Rewrite{std::move(result), std::move(fact)}; }

}  // namespace

// ---------------------------------------------------------------- derivative rules

namespace rules {

Rule d_index() {
  return {"d-index", "∂zⱼ/∂zᵢ = δᵢⱼ", [](const Expr& e, const Scope&) -> std::optional<Rewrite> {
            const Node* dn = as_derivative(e);
            if (!dn) return std::nullopt;
            const Expr& body = dn->args[0];
            if (body->kind != Kind::Symbol || body->name != dn->name) return std::nullopt;
            if (body->index.empty() != dn->index.empty()) return std::nullopt;
            if (body->index.empty()) return done(constant(1));
            return done(delta(dn->index, body->index));
          }};
}

Rule d_const() {
  return {"d-const", "", [](const Expr& e, const Scope& scope) -> std::optional<Rewrite> {
            const Node* dn = as_derivative(e);
            if (!dn || depends(dn->args[0], dn->name, scope)) return std::nullopt;
            return done(constant(0), fmt::format("{} does not depend on {}", to_text(dn->args[0]), dn->name));
          }};
}

Rule d_sum() {
  return {"d-sum", "∂ is linear", [](const Expr& e, const Scope& scope) -> std::optional<Rewrite> {
            const Node* dn = as_derivative(e);
            if (!dn) return std::nullopt;
            const Expr& body = dn->args[0];
            if (body->kind == Kind::Add) {
              std::vector<Expr> terms;
              for (const Expr& t : body->args) terms.push_back(d(*dn, t));
              return done(add(std::move(terms)));
            }
            if (body->kind == Kind::Negate) return done(negate(d(*dn, body->args[0])));
            if (body->kind == Kind::Sum) {
              std::string bound = body->index;
              Expr inner = body->args[0];
              if (bound == dn->index) {  // Σᵢ under ∂/∂zᵢ: rename the bound index first
                std::set<std::string> taken = scope.taken;
                taken.insert(bound);
                const std::string renamed = fresh_index(taken);
                inner = substitute_index(inner, bound, renamed);
                bound = renamed;
              }
              return done(sum_over(bound, d(*dn, inner)));
            }
            return std::nullopt;
          }};
}

namespace {

// Splits the factors of a product into those that depend on the variable and the rest.
void split_dependent(const Expr& body, const std::string& variable, const Scope& scope, std::vector<Expr>& constants,
                     std::vector<Expr>& dependent) {
  for (const Expr& f : factors_of(body)) (depends(f, variable, scope) ? dependent : constants).push_back(f);
}

}  // namespace

Rule d_const_factor() {
  return {"d-const-factor", "∂(c·f) = c·∂f", [](const Expr& e, const Scope& scope) -> std::optional<Rewrite> {
            const Node* dn = as_derivative(e);
            if (!dn || dn->args[0]->kind != Kind::Mul) return std::nullopt;
            std::vector<Expr> constants, dependent;
            split_dependent(dn->args[0], dn->name, scope, constants, dependent);
            if (constants.empty() || dependent.size() != 1) return std::nullopt;
            constants.push_back(d(*dn, dependent.front()));
            return done(mul(std::move(constants)));
          }};
}

Rule d_product() {
  return {"d-product", "∂(fg) = ∂f·g + f·∂g", [](const Expr& e, const Scope& scope) -> std::optional<Rewrite> {
            const Node* dn = as_derivative(e);
            if (!dn || dn->args[0]->kind != Kind::Mul) return std::nullopt;
            std::vector<Expr> constants, dependent;
            split_dependent(dn->args[0], dn->name, scope, constants, dependent);
            if (dependent.size() < 2) return std::nullopt;
            for (const Expr& f : dependent)
              if (f->kind == Kind::Power && f->exponent < 0) return std::nullopt;  // a quotient: d-quotient
            std::vector<Expr> terms;
            for (std::size_t k = 0; k < dependent.size(); ++k) {
              std::vector<Expr> factors = dependent;
              factors[k] = d(*dn, dependent[k]);
              terms.push_back(mul(std::move(factors)));
            }
            if (constants.empty()) return done(add(std::move(terms)));
            constants.push_back(add(std::move(terms)));
            return done(mul(std::move(constants)));
          }};
}

Rule d_quotient() {
  return {"d-quotient", "∂(f/g) = (∂f·g − f·∂g)/g²", [](const Expr& e, const Scope& scope) -> std::optional<Rewrite> {
            const Node* dn = as_derivative(e);
            if (!dn || dn->args[0]->kind != Kind::Mul) return std::nullopt;
            std::vector<Expr> constants, dependent;
            split_dependent(dn->args[0], dn->name, scope, constants, dependent);
            std::vector<Expr> numerator, denominator;
            for (const Expr& f : dependent) {
              if (f->kind == Kind::Power && f->exponent < 0) denominator.push_back(power(f->args[0], -f->exponent));
              else numerator.push_back(f);
            }
            if (denominator.empty() || numerator.empty()) return std::nullopt;
            const Expr f = mul(numerator), g = mul(denominator);
            constants.push_back(subtract(mul({d(*dn, f), g}), mul({f, d(*dn, g)})));
            constants.push_back(power(g, -2));
            return done(mul(std::move(constants)));
          }};
}

Rule d_power() {
  return {"d-power", "∂uᵏ = k·uᵏ⁻¹·∂u", [](const Expr& e, const Scope& scope) -> std::optional<Rewrite> {
            const Node* dn = as_derivative(e);
            if (!dn || dn->args[0]->kind != Kind::Power) return std::nullopt;
            const Expr& u = dn->args[0]->args[0];
            if (!depends(u, dn->name, scope)) return std::nullopt;
            const long k = dn->args[0]->exponent;
            return done(mul({constant(k), power(u, k - 1), d(*dn, u)}));
          }};
}

Rule d_exp() {
  return {"d-exp", "∂exp(u) = exp(u)·∂u", [](const Expr& e, const Scope&) -> std::optional<Rewrite> {
            const Node* dn = as_derivative(e);
            if (!dn || dn->args[0]->kind != Kind::Exp) return std::nullopt;
            return done(mul({dn->args[0], d(*dn, dn->args[0]->args[0])}));
          }};
}

Rule d_log() {
  return {"d-log", "∂log u = ∂u/u", [](const Expr& e, const Scope&) -> std::optional<Rewrite> {
            const Node* dn = as_derivative(e);
            if (!dn || dn->args[0]->kind != Kind::Log) return std::nullopt;
            const Expr& u = dn->args[0]->args[0];
            return done(mul({d(*dn, u), power(u, -1)}));
          }};
}

Rule chain_rule(const std::string& through) {
  return {"chain-rule", "", [through](const Expr& e, const Scope& scope) -> std::optional<Rewrite> {
            const Node* dn = as_derivative(e);
            if (!dn || dn->name == through || dn->index.empty()) return std::nullopt;
            const Expr& f = dn->args[0];
            const Definition* def = scope.context.find(through);
            if (!def || def->index.empty()) return std::nullopt;
            if (f->kind == Kind::Symbol && f->name == through) return std::nullopt;
            // F must reach the variable, and only through the definition.
            if (!depends_on(f, through, scope.context) || depends_on(f, dn->name, scope.context, {through}))
              return std::nullopt;
            if (!depends_on(def->body, dn->name, scope.context)) return std::nullopt;
            std::set<std::string> taken = scope.taken;
            taken.insert(dn->index);
            const std::string j = fresh_index(taken);
            const Expr link = mul({derivative(through, j, f), derivative(dn->name, dn->index, symbol(through, j))});
            return done(sum_over(j, link),
                        fmt::format("{} depends on {} only through {}", to_text(f), dn->name, through));
          }};
}

// ---------------------------------------------------------------- sums and deltas

Rule sum_linearity() {
  return {"sum-linearity", "Σⱼ (a + b) = Σⱼ a + Σⱼ b", [](const Expr& e, const Scope&) -> std::optional<Rewrite> {
            if (e->kind != Kind::Sum || e->args[0]->kind != Kind::Add) return std::nullopt;
            std::vector<Expr> sums;
            for (const Expr& t : e->args[0]->args) sums.push_back(sum_over(e->index, t));
            return done(add(std::move(sums)));
          }};
}

Rule sum_factor_out() {
  return {"sum-factor-out", "Σⱼ c·f = c·Σⱼ f for c free of j", [](const Expr& e, const Scope&) -> std::optional<Rewrite> {
            if (e->kind != Kind::Sum) return std::nullopt;
            const std::string& j = e->index;
            const Expr& body = e->args[0];
            if (!has_free_index(body, j)) return done(product({size_n(), body}), "Σⱼ c = n·c");
            if (body->kind == Kind::Negate) return done(negate(sum_over(j, body->args[0])));
            if (body->kind != Kind::Mul) return std::nullopt;
            // The new Σ stands where its first factor stood: Σⱼ yⱼpᵢ = (Σⱼ yⱼ)·pᵢ.
            std::vector<Expr> outside, inside;
            std::size_t position = 0;
            for (const Expr& f : factors_of(body)) {
              if (has_free_index(f, j)) {
                if (inside.empty()) position = outside.size();
                inside.push_back(f);
              } else {
                outside.push_back(f);
              }
            }
            if (outside.empty()) return std::nullopt;
            outside.insert(outside.begin() + static_cast<long>(position), sum_over(j, mul(std::move(inside))));
            return done(product(std::move(outside)));
          }};
}

Rule delta_contraction() {
  return {"delta-contraction", "Σⱼ δᵢⱼ f(j) = f(i)", [](const Expr& e, const Scope&) -> std::optional<Rewrite> {
            if (e->kind != Kind::Sum) return std::nullopt;
            const std::string& j = e->index;
            std::vector<Expr> factors = factors_of(e->args[0]);
            for (std::size_t k = 0; k < factors.size(); ++k) {
              const Expr& f = factors[k];
              if (f->kind != Kind::Delta || f->index == f->index2) continue;
              if (f->index != j && f->index2 != j) continue;
              const std::string other = f->index == j ? f->index2 : f->index;
              factors.erase(factors.begin() + static_cast<long>(k));
              return done(substitute_index(mul(std::move(factors)), j, other));
            }
            return std::nullopt;
          }};
}

Rule delta_value() {
  return {"delta-value", "δᵢᵢ = 1; δᵢⱼ = 0 for i ≠ j", [](const Expr& e, const Scope& scope) -> std::optional<Rewrite> {
            if (e->kind != Kind::Delta) return std::nullopt;
            if (e->index == e->index2) return done(constant(1), "δᵢᵢ = 1");
            if (scope.known_distinct(e->index, e->index2))
              return done(constant(0), fmt::format("δ{}{} = 0 in the case {} ≠ {}", index_text(e->index),
                                                   index_text(e->index2), e->index, e->index2));
            return std::nullopt;
          }};
}

Rule delta_cases() {
  return {"delta-cases", "", [](const Expr& e, const Scope& scope) -> std::optional<Rewrite> {
            const Node* dn = as_derivative(e);
            if (!dn || dn->index.empty()) return std::nullopt;
            const Expr& s = dn->args[0];
            if (s->kind != Kind::Symbol || s->index.empty() || s->index == dn->index || s->name == dn->name)
              return std::nullopt;
            if (!scope.context.find(s->name) || scope.known_distinct(s->index, dn->index)) return std::nullopt;
            // The equal case is written in the variable's index: ∂pᵢ/∂zᵢ.
            const Expr equal_case = derivative(dn->name, dn->index, symbol(s->name, dn->index));
            const std::string a = std::min(dn->index, s->index), b = std::max(dn->index, s->index);
            return done(cases(dn->index, s->index, equal_case, e),
                        fmt::format("the case {} = {} and the case {} ≠ {}", a, b, a, b));
          }};
}

Rule cases_to_delta() {
  return {"cases-to-delta", "δᵢⱼ = 1 if i = j, 0 if i ≠ j", [](const Expr& e, const Scope&) -> std::optional<Rewrite> {
            if (e->kind != Kind::Cases) return std::nullopt;
            const std::string& kept = e->index;
            const std::string& replaced = e->index2;
            const Expr& equal_case = e->args[0];
            const Expr& unequal_case = e->args[1];
            // B + δ·(A − B at j = i): equals A when i = j and B otherwise. The
            // difference is multiplied out, and written in the replaced index
            // (δᵢⱼ·f(i) = δᵢⱼ·f(j)) so the δ sits beside the symbol it came from.
            const Expr difference =
                expand(subtract(equal_case, substitute_index(unequal_case, replaced, kept)));
            if (is_constant(difference, 0)) return done(unequal_case);
            const Expr correction = product({delta(kept, replaced), substitute_index(difference, kept, replaced)});
            return done(add({unequal_case, correction}));
          }};
}

Rule hypothesis(const Hypothesis& h, const std::string& name) {
  return {name, hypothesis_text(h), [h](const Expr& e, const Scope&) -> std::optional<Rewrite> {
            if (!alpha_equal(e, h.lhs)) return std::nullopt;
            return done(h.rhs);
          }};
}

// ---------------------------------------------------------------- algebra

Rule cancel() {
  return {"cancel", "x/x = 1 for x ≠ 0", [](const Expr& e, const Scope& scope) -> std::optional<Rewrite> {
            if (e->kind != Kind::Mul) return std::nullopt;
            Rational coefficient = 1;
            Powers powers;
            decompose(e, coefficient, powers);
            std::vector<std::string> facts;
            bool any = false;
            for (std::size_t a = 0; a < powers.size(); ++a)
              for (std::size_t b = a + 1; b < powers.size(); ++b) {
                if (powers[a].second == 0 || powers[b].second == 0) continue;
                if ((powers[a].second > 0) == (powers[b].second > 0)) continue;
                if (!alpha_equal(powers[a].first, powers[b].first)) continue;
                std::string reason;
                if (!is_positive(powers[a].first, scope.context, &reason)) continue;
                note_once(facts, fmt::format("{} ≠ 0 because {}", to_text(powers[a].first), reason));
                powers[a].second += powers[b].second;
                powers[b].second = 0;
                any = true;
              }
            if (!any) return std::nullopt;
            std::string fact;
            for (const std::string& f : facts) fact += (fact.empty() ? "" : "; ") + f;
            return done(compose(coefficient, powers), fact);
          }};
}

Rule log_quotient() {
  return {"log-quotient", "log(a/b) = log a − log b for a, b > 0",
          [](const Expr& e, const Scope& scope) -> std::optional<Rewrite> {
            if (e->kind != Kind::Log || e->args[0]->kind != Kind::Mul) return std::nullopt;
            std::vector<Expr> numerator, denominator;
            for (const Expr& f : factors_of(e->args[0])) {
              if (f->kind == Kind::Power && f->exponent < 0) denominator.push_back(power(f->args[0], -f->exponent));
              else numerator.push_back(f);
            }
            if (numerator.empty() || denominator.empty()) return std::nullopt;
            const Expr a = mul(numerator), b = mul(denominator);
            std::string ra, rb;
            if (!is_positive(a, scope.context, &ra) || !is_positive(b, scope.context, &rb)) return std::nullopt;
            return done(subtract(log_of(a), log_of(b)),
                        fmt::format("{} > 0 and {} > 0 because {}", to_text(a), to_text(b), ra == rb ? ra : ra + " and " + rb));
          }};
}

Rule log_exp() {
  return {"log-exp", "log exp x = x", [](const Expr& e, const Scope&) -> std::optional<Rewrite> {
            if (e->kind != Kind::Log || e->args[0]->kind != Kind::Exp) return std::nullopt;
            return done(e->args[0]->args[0]);
          }};
}

Rule exp_sum() {
  return {"exp-sum", "exp(a + b) = exp(a)·exp(b)", [](const Expr& e, const Scope&) -> std::optional<Rewrite> {
            if (e->kind != Kind::Exp || e->args[0]->kind != Kind::Add) return std::nullopt;
            std::vector<Expr> factors;
            for (const Expr& t : e->args[0]->args) factors.push_back(exp_of(t));
            return done(mul(std::move(factors)));
          }};
}

Rule distribute() {
  return {"distribute", "a(b + c) = ab + ac", [](const Expr& e, const Scope&) -> std::optional<Rewrite> {
            if (e->kind == Kind::Negate && e->args[0]->kind == Kind::Add) {
              std::vector<Expr> terms;
              for (const Expr& t : e->args[0]->args) terms.push_back(product({constant(-1), t}));
              return done(add(std::move(terms)));
            }
            if (e->kind != Kind::Mul) return std::nullopt;
            const std::vector<Expr> factors = factors_of(e);
            for (std::size_t k = 0; k < factors.size(); ++k) {
              if (factors[k]->kind != Kind::Add) continue;
              std::vector<Expr> terms;
              for (const Expr& t : factors[k]->args) {
                std::vector<Expr> copy = factors;
                copy[k] = t;
                terms.push_back(product(std::move(copy)));
              }
              return done(add(std::move(terms)));
            }
            return std::nullopt;
          }};
}

Rule factor() {
  return {"factor", "ab + ac = a(b + c)", [](const Expr& e, const Scope&) -> std::optional<Rewrite> {
            if (e->kind != Kind::Add || e->args.size() < 2) return std::nullopt;
            std::vector<std::pair<Rational, Powers>> terms;
            for (const Expr& t : e->args) {
              Rational c = 1;
              Powers p;
              decompose(t, c, p);
              terms.emplace_back(c, std::move(p));
            }
            Powers common;
            for (const auto& [base, exponent] : terms.front().second) {
              long least = exponent;
              bool everywhere = true;
              for (std::size_t k = 1; k < terms.size() && everywhere; ++k) {
                bool found = false;
                for (const auto& [b, x] : terms[k].second)
                  if ((x > 0) == (exponent > 0) && alpha_equal(b, base)) {
                    least = exponent > 0 ? std::min(least, x) : std::max(least, x);
                    found = true;
                    break;
                  }
                everywhere = found;
              }
              if (everywhere) common.emplace_back(base, least);
            }
            if (common.empty()) return std::nullopt;
            std::vector<Expr> reduced;
            for (auto& [c, powers] : terms) {
              for (const auto& [base, exponent] : common)
                for (auto& [b, x] : powers)
                  if ((x > 0) == (exponent > 0) && x != 0 && alpha_equal(b, base)) {
                    x -= exponent;
                    break;
                  }
              reduced.push_back(compose(c, powers));
            }
            // Common divisors go after the sum: (pᵢ − yᵢ)/T.
            std::vector<Expr> factors;
            for (const auto& [base, exponent] : common)
              if (exponent > 0) factors.push_back(power(base, exponent));
            factors.push_back(add(std::move(reduced)));
            for (const auto& [base, exponent] : common)
              if (exponent < 0) factors.push_back(power(base, exponent));
            return done(mul(std::move(factors)));
          }};
}

Rule simplify() {
  return {"simplify", "", [](const Expr& e, const Scope&) -> std::optional<Rewrite> {
            return done(index::simplify(e));
          }};
}

Rule unfold(const Definition& definition, bool only_under_derivative) {
  return {"unfold " + definition.name, definition_text(definition),
          [definition, only_under_derivative](const Expr& e, const Scope& scope) -> std::optional<Rewrite> {
            if (e->kind != Kind::Symbol || e->name != definition.name) return std::nullopt;
            if (only_under_derivative && scope.differentiating.empty()) return std::nullopt;
            // Inside ∂/∂pⱼ the symbol p is the variable itself: it stays.
            for (const std::string& v : scope.differentiating)
              if (v == definition.name) return std::nullopt;
            // Its bound indices avoid the names in scope here (not every name in
            // the expression: separate subterms may reuse k).
            std::set<std::string> avoid = scope.free;
            avoid.insert(scope.bound.begin(), scope.bound.end());
            return done(instantiate(definition, e->index, avoid));
          }};
}

Rule fold(const Definition& definition) {
  return {"fold " + definition.name, definition_text(definition),
          [definition](const Expr& e, const Scope&) -> std::optional<Rewrite> {
            IndexMatcher matcher(definition.index);
            // A quotient definition N(j)/D folds inside any product that holds
            // N(x)ᵉ and at least D⁻ᵉ: exp(zᵢ)²/S² = pᵢ².
            Rational dc = 1;
            Powers body;
            decompose(definition.body, dc, body);
            Powers numerator_pattern, denominator_pattern;
            for (const auto& pw : body) (pw.second > 0 ? numerator_pattern : denominator_pattern).push_back(pw);
            const bool quotient = dc == 1 && numerator_pattern.size() == 1 && numerator_pattern[0].second == 1 &&
                                  !denominator_pattern.empty();
            if (quotient && e->kind == Kind::Mul) {
              Rational coefficient = 1;
              Powers powers;
              decompose(e, coefficient, powers);
              bool any = false;
              for (std::size_t k = 0; k < powers.size(); ++k) {
                const long exponent = powers[k].second;
                if (exponent <= 0) continue;
                std::optional<std::string> x = matcher.match(numerator_pattern[0].first, powers[k].first);
                if (!x || (!definition.index.empty() && x->empty())) continue;
                // Every denominator part must be present with enough of a power.
                std::vector<std::size_t> where;
                for (const auto& [pattern, dexp] : denominator_pattern) {
                  // The denominator at the same index: qⱼ := exp(zⱼ)/exp(yⱼ) folds exp(zᵢ)/exp(yᵢ) only.
                  const Expr base = definition.index.empty() ? pattern : substitute_index(pattern, definition.index, *x);
                  for (std::size_t m = 0; m < powers.size(); ++m)
                    if (powers[m].second <= dexp * exponent && alpha_equal(powers[m].first, base)) {
                      where.push_back(m);
                      break;
                    }
                }
                if (where.size() != denominator_pattern.size()) continue;
                for (std::size_t q = 0; q < where.size(); ++q)
                  powers[where[q]].second -= denominator_pattern[q].second * exponent;
                powers[k] = {symbol(definition.name, *x), exponent};
                any = true;
              }
              if (any) return done(compose(coefficient, powers));
              return std::nullopt;
            }
            if (quotient) return std::nullopt;
            std::optional<std::string> x = matcher.match(definition.body, e);
            if (!x || (!definition.index.empty() && x->empty())) return std::nullopt;
            return done(symbol(definition.name, *x));
          }};
}

}  // namespace rules

std::string definition_text(const Definition& d) {
  return to_text(symbol(d.name, d.index)) + " := " + to_text(d.body);
}
std::string definition_latex(const Definition& d) {
  return to_latex(symbol(d.name, d.index)) + " := " + to_latex(d.body);
}
std::string hypothesis_text(const Hypothesis& h) { return to_text(h.lhs) + " = " + to_text(h.rhs); }

// ---------------------------------------------------------------- numeric check

namespace {

// A double in [0, 1) from the top 53 bits of a 64-bit draw: exact in Float50.
double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// FNV-1a: a fixed hash, so each symbol's values depend only on its name, n
// and the point, not on which other symbols an expression mentions.
std::uint64_t name_hash(const std::string& name) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
  return h;
}

Point random_point(int n, int which, const std::map<std::string, bool>& inputs, const NumericCheckOptions& options) {
  Point point;
  point.n = n;
  for (const auto& [name, indexed] : inputs) {
    std::mt19937_64 rng(options.seed ^ name_hash(name) ^
                        (1000003ULL * static_cast<std::uint64_t>(n) + static_cast<std::uint64_t>(which)));
    if (!indexed) {
      point.scalars[name] = Float50(0.25 + 1.75 * unit(rng));
      continue;
    }
    std::vector<Float50>& values = point.indexed[name];
    if (options.normalized.count(name)) {
      // Cut [0, 2⁴⁰) at n − 1 random points: the gaps, over 2⁴⁰, are exact
      // dyadic numbers summing to exactly 1.
      std::vector<std::uint64_t> cuts = {0, 1ULL << 40};
      for (int k = 1; k < n; ++k) cuts.push_back(rng() >> 24);
      std::sort(cuts.begin(), cuts.end());
      for (std::size_t k = 0; k + 1 < cuts.size(); ++k)
        values.push_back(Float50(static_cast<double>(cuts[k + 1] - cuts[k]) * 0x1.0p-40));
    } else if (options.positive.count(name)) {
      for (int k = 0; k < n; ++k) values.push_back(Float50(0.25 + 2.75 * unit(rng)));
    } else {
      for (int k = 0; k < n; ++k) values.push_back(Float50(6 * unit(rng) - 3));
    }
  }
  return point;
}

std::string join_ints(const std::vector<int>& v) {
  std::string out;
  for (int x : v) out += (out.empty() ? "" : ", ") + std::to_string(x);
  return out;
}

// The values of one expression at every n, point and assignment of `indices`
// (in a fixed order, so two samples compare entry by entry).
struct Sample {
  std::vector<std::string> indices;
  std::vector<Float50> values;
  std::vector<std::string> where;   // "n = 3, point 2, i = 1"
  std::vector<std::string> errors;  // why an entry has no value ("" when it has one)
};

Sample sample(const Expr& e, const std::vector<std::string>& indices, const Context& context,
              const NumericCheckOptions& options) {
  Sample out;
  out.indices = indices;
  const std::map<std::string, bool> inputs = input_symbols(e, context);
  for (int n : options.sizes) {
    for (int which = 0; which < options.points_per_size; ++which) {
      const Point point = random_point(n, which, inputs, options);
      std::vector<int> values(indices.size(), 1);
      while (true) {
        std::map<std::string, int> assignment;
        std::string where = fmt::format("n = {}, point {}", n, which + 1);
        for (std::size_t k = 0; k < indices.size(); ++k) {
          assignment[indices[k]] = values[k];
          where += fmt::format(", {} = {}", indices[k], values[k]);
        }
        out.where.push_back(std::move(where));
        try {
          out.values.push_back(evaluate(e, context, point, assignment));
          out.errors.emplace_back();
        } catch (const std::exception& error) {
          out.values.emplace_back(0);
          out.errors.emplace_back(error.what());
        }
        std::size_t k = 0;
        while (k < values.size() && values[k] == n) values[k++] = 1;
        if (k == values.size()) break;
        ++values[k];
      }
    }
  }
  return out;
}

std::vector<std::string> union_of_free_indices(const Expr& a, const Expr& b) {
  std::set<std::string> free = free_indices(a);
  for (const std::string& ix : free_indices(b)) free.insert(ix);
  return {free.begin(), free.end()};
}

NumericCheck compare(const Sample& a, const Sample& b, const NumericCheckOptions& options) {
  NumericCheck result;
  Float50 worst = 0;
  for (std::size_t k = 0; k < a.values.size(); ++k) {
    if (!a.errors[k].empty() || !b.errors[k].empty()) {
      result.description =
          fmt::format("FAILED at {}: {}", a.where[k], a.errors[k].empty() ? b.errors[k] : a.errors[k]);
      return result;
    }
    const Float50& va = a.values[k];
    const Float50& vb = b.values[k];
    const Float50 difference = relative_difference(va, vb);
    if (!is_finite(va) || !is_finite(vb) || !(difference <= Float50(options.tolerance))) {
      result.max_difference = static_cast<double>(difference);
      result.description = fmt::format("FAILED at {}: before = {}, after = {}, |difference| = {:.3g}", a.where[k],
                                       va.str(20), vb.str(20), result.max_difference);
      return result;
    }
    worst = std::max(worst, difference);
  }
  result.passed = true;
  result.max_difference = static_cast<double>(worst);
  std::string every;
  for (const std::string& ix : a.indices) every += (every.empty() ? "every " : " and every ") + ix;
  std::string exact;
  for (const std::string& s : options.normalized) exact += "; " + to_text(sum_over("j", symbol(s, "j"))) + " = 1 exactly";
  result.description = fmt::format(
      "50 digits, n = {}, {} random points each{}{}: {} evaluations, max |difference| {:.1e} (tolerance {:.0e} relative)",
      join_ints(options.sizes), options.points_per_size, every.empty() ? "" : ", " + every, exact, a.values.size(),
      result.max_difference, options.tolerance);
  return result;
}

}  // namespace

NumericCheck check_equal(const Expr& a, const Expr& b, const Context& context, const NumericCheckOptions& options) {
  const std::vector<std::string> indices = union_of_free_indices(a, b);
  return compare(sample(a, indices, context, options), sample(b, indices, context, options), options);
}

// ---------------------------------------------------------------- derivation

// The values of the current expression, kept from the previous step's check
// so each expression is evaluated once.
struct Derivation::Cache {
  Sample current;
};

Derivation::Derivation(Context context, Expr start, NumericCheckOptions checks)
    : context_(std::move(context)), start_(start), current_(std::move(start)), checks_(std::move(checks)) {}

Derivation::~Derivation() = default;
Derivation::Derivation(Derivation&&) noexcept = default;

bool Derivation::apply(const std::vector<Rule>& rules) {
  Application app = apply_rules(current_, rules, context_);
  if (!app.changed) return false;
  if (to_text(app.result) == to_text(current_) && to_latex(app.result) == to_latex(current_)) {
    // Only the grouping changed (e.g. a factor 1 dropped that never printed):
    // nothing for a reader to follow.
    current_ = app.result;
    return false;
  }
  ProofStep step;
  for (const std::string& name : app.rules_fired) step.rule += (step.rule.empty() ? "" : ", ") + name;
  for (const std::string& fact : app.facts) step.uses += (step.uses.empty() ? "" : "; ") + fact;
  step.before = to_text(current_);
  step.after = to_text(app.result);
  step.latex_before = to_latex(current_);
  step.latex_after = to_latex(app.result);
  const std::vector<std::string> indices = union_of_free_indices(current_, app.result);
  if (!cache_ || cache_->current.indices != indices)
    cache_ = std::make_unique<Cache>(Cache{sample(current_, indices, context_, checks_)});
  Sample after = sample(app.result, indices, context_, checks_);
  const NumericCheck check = compare(cache_->current, after, checks_);
  cache_->current = std::move(after);
  step.numeric_check_passed = check.passed;
  step.numeric_check = check.description;
  steps_.push_back(std::move(step));
  current_ = app.result;
  return true;
}

Expr reduced_difference(const Expr& a, const Expr& b, const Context& context) {
  const Expr difference = expand(subtract(a, b));
  return apply_rules(difference, {rules::factor()}, context).result;
}

}  // namespace ddx::index
