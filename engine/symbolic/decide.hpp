// Deciding whether a canonical polynomial is zero, under hypotheses.
#pragma once

#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "engine/symbolic/poly.hpp"

namespace ddx::sym {

// An equality the prover may use, as lhs − rhs = 0, e.g. y₁ + y₂ + y₃ − 1.
// It is used as a substitution for one symbol that occurs in it linearly
// (the one made last), so it must contain such a symbol.
struct Hypothesis {
  std::string text;  // as a reader should see it, e.g. "Σⱼ yⱼ = 1"
  PolyRef difference;
  // Filled by prepare(): the symbol it eliminates and its replacement.
  std::optional<AtomId> symbol;
  PolyRef replacement;
};

// Works out each hypothesis's elimination once (decide_zero needs it per call otherwise).
void prepare(Context& ctx, std::vector<Hypothesis>& hypotheses);

struct Decision {
  bool zero = false;
  PolyRef reduced;                   // the polynomial after the hypotheses, before unfolding definitions
  std::vector<std::string> used;     // the hypotheses that changed it
  bool unfolded = false;             // whether defined atoms had to be unfolded
};

// Applies the hypotheses by substitution; if the result is not yet zero,
// clears denominators (multiplying by a monomial of nonzero atoms, which
// preserves zero-ness) and unfolds the defined atoms into their polynomials,
// repeatedly. Sound: zero is reported only when the expression is
// identically zero wherever it is defined and the hypotheses hold.
Decision decide_zero(Context& ctx, const PolyRef& p, const std::vector<Hypothesis>& hypotheses);

// decide_zero with memory: c·g·P is zero exactly when P is (c a nonzero
// rational, g a monomial of nonzero atoms), so decisions are remembered by the
// primitive part P. The n components of a gradient often share it.
class Decider {
 public:
  Decider(Context& ctx, const std::vector<Hypothesis>& hypotheses) : ctx_(ctx), hypotheses_(hypotheses) {}
  Decision decide(const PolyRef& p);

 private:
  Context& ctx_;
  const std::vector<Hypothesis>& hypotheses_;
  std::unordered_multimap<std::size_t, std::pair<PolyRef, Decision>> memo_;
};

// Substitutes every hypothesis into p (the first phase of decide_zero).
PolyRef apply_hypotheses(Context& ctx, const PolyRef& p, const std::vector<Hypothesis>& hypotheses,
                         std::vector<std::string>* used = nullptr);

// The symbol a hypothesis eliminates and what it is replaced by.
struct Elimination {
  AtomId symbol;
  PolyRef replacement;
};
Elimination elimination_of(Context& ctx, const Hypothesis& h);

}  // namespace ddx::sym
