// Printing canonical polynomials as plain text and LaTeX, readably: a
// residual is shown with its common factor taken out (p₁·(y₁ + y₂ + y₃ − 1)),
// known products named by aliases (exp(z₁)·S⁻¹ as p₁), and a sum over a whole
// family of symbols shortened to Σⱼ yⱼ.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "engine/symbolic/poly.hpp"

namespace ddx::sym {

struct Alias {
  Monomial monomial;  // e.g. exp(z₁)·D⁻¹
  std::string text;   // "p₁"
  std::string latex;  // "p_{1}"
};

class Printer {
 public:
  explicit Printer(const Context& ctx) : ctx_(ctx) {}

  void add_alias(Alias a) { aliases_.push_back(std::move(a)); }
  // A name for an atom, e.g. "S" for the defined atom of Σⱼ exp(zⱼ).
  void name_atom(AtomId id, std::string text, std::string latex) { names_[id] = {std::move(text), std::move(latex)}; }
  // How many symbols a family has (name → n), for Σ shortening; families of
  // at least `min_family` members summed whole are shortened.
  void set_family_size(const std::string& name, long n) { families_[name] = n; }
  // Every vector variable of g as a family.
  void set_families(const Graph& g);
  // Names element k of a tensor `name` with subscript k + 1 (just `name` for
  // one element) wherever that element is a single product: p₁ for exp(z₁)·S⁻¹.
  void name_elements(const std::string& name, const std::vector<Value>& elements);
  int min_family = 4;

  std::string text(const PolyRef& p) const { return render(p, false); }
  std::string latex(const PolyRef& p) const { return render(p, true); }
  // With the common factor taken out: c·g·(rest).
  std::string factored_text(Context& ctx, const PolyRef& p) const { return factored(ctx, p, false); }
  std::string factored_latex(Context& ctx, const PolyRef& p) const { return factored(ctx, p, true); }

  std::string atom_text(AtomId id, bool latex) const;

 private:
  std::string render(const PolyRef& p, bool latex) const;
  std::string factored(Context& ctx, const PolyRef& p, bool latex) const;
  std::string monomial(const Monomial& m, bool latex) const;

  const Context& ctx_;
  std::vector<Alias> aliases_;
  std::map<AtomId, std::pair<std::string, std::string>> names_;
  std::map<std::string, long> families_;
};

// Unicode subscript digits for an index: 12 → "₁₂".
std::string subscript(long k);

}  // namespace ddx::sym
