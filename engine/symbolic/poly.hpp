// Canonical forms for scalar expressions built from +, −, ×, ÷, integer
// powers, exp and log over symbols, with exact rational coefficients.
//
// A value is a polynomial: a sum of terms c·m with distinct monomials m, each
// m a product of atoms to nonzero integer powers (negative powers allowed).
// Atoms are symbols (z₁, y₂, T), exp(P), log(P), the inverse-able "defined"
// atoms D := P that stand for a polynomial with several terms when it is
// divided by, and opaque atoms for values with no symbolic form (a max).
// Canonicalisation:
//   * exp of a sum is the product of the exps of its terms; exp(k·m) with k =
//     p/q in lowest terms is exp(m/q)^p; exp(k·log u) = u^k for integer k;
//   * log of a product of positive factors is the sum of their logs;
//     log(exp(P)) = P; log(c) for a rational c > 0 is an atom;
//   * dividing by a polynomial with several terms P = c·g·P' (c its rational
//     content, g its monomial content) multiplies by c⁻¹·g⁻¹·D⁻¹ with D := P'.
// Two expressions with the same canonical form are equal wherever both are
// defined. The converse needs the defined atoms unfolded and hypotheses
// applied: see decide.hpp.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/rational.hpp"
#include "engine/symbolic/coefficient.hpp"

namespace ddx::sym {

using AtomId = std::uint32_t;

struct Factor {
  AtomId atom;
  std::int32_t exponent;
  friend bool operator==(const Factor&, const Factor&) = default;
  friend auto operator<=>(const Factor&, const Factor&) = default;
};

// Product of atoms to powers, sorted by atom id, no zero exponents. Most
// monomials have a few factors, kept inline without a heap allocation.
using Monomial = boost::container::small_vector<Factor, 4>;

struct Term {
  Monomial monomial;
  Coefficient coefficient;
};

// Sum of terms, sorted by monomial, distinct monomials, no zero coefficients.
// Immutable once built; shared through PolyRef.
struct Poly {
  std::vector<Term> terms;
  std::size_t hash = 0;  // of the whole polynomial, for interning atoms

  bool is_zero() const { return terms.empty(); }
  bool is_constant() const { return terms.empty() || (terms.size() == 1 && terms[0].monomial.empty()); }
  Coefficient constant_value() const { return terms.empty() ? Coefficient(0) : terms[0].coefficient; }
};
using PolyRef = std::shared_ptr<const Poly>;

enum class AtomKind { Symbol, Exp, Log, Defined, Opaque };

struct Atom {
  AtomKind kind;
  std::string name;      // symbols and opaque atoms: "z", "max"
  long row = -1;         // symbols: 0-based indices, -1 when absent; opaque atoms: the graph node
  long col = -1;         // opaque atoms: the element
  PolyRef arg;           // exp, log: the argument; defined: the definition
  bool positive = false; // known to be > 0 (exp, positive symbols, positive sums)
};

// Owns the atoms and builds canonical polynomials.
class Context {
 public:
  Context();

  // Atoms. A symbol is identified by (name, row, col).
  AtomId symbol(const std::string& name, long row = -1, long col = -1, bool positive = false);
  // An opaque atom: element `element` of graph node `node`, which has no algebraic form.
  AtomId opaque(const std::string& label, long node, long element);
  const Atom& atom(AtomId id) const { return atoms_[id]; }
  std::size_t atom_count() const { return atoms_.size(); }

  PolyRef constant(const Coefficient& c);
  PolyRef zero() const { return zero_; }
  PolyRef one() const { return one_; }
  PolyRef atom_poly(AtomId id, int exponent = 1);
  PolyRef monomial_poly(const Monomial& m, const Coefficient& c);

  PolyRef add(const PolyRef& a, const PolyRef& b);
  PolyRef sub(const PolyRef& a, const PolyRef& b);
  PolyRef neg(const PolyRef& a);
  PolyRef mul(const PolyRef& a, const PolyRef& b);
  PolyRef div(const PolyRef& a, const PolyRef& b);  // throws std::domain_error on division by zero
  PolyRef pow(const PolyRef& a, long k);
  PolyRef exp(const PolyRef& a);
  PolyRef log(const PolyRef& a);                    // throws std::domain_error for log of a constant <= 0
  // Scales every coefficient.
  PolyRef scale(const PolyRef& a, const Coefficient& c);

  // a written as c·g·rest, with c the rational content (sign and gcd of the
  // coefficients, making rest's first term with atoms positive), g the monomial
  // content (the lowest power of each atom over all terms) and rest primitive.
  struct Content {
    Coefficient coefficient;
    Monomial monomial;
    PolyRef rest;
  };
  Content content(const PolyRef& a);

  // Replaces every occurrence of atom `var` (also inside the arguments of
  // other atoms) by `replacement`. `var` must not occur with negative powers.
  PolyRef substitute(const PolyRef& a, AtomId var, const PolyRef& replacement);
  // Whether `var` occurs in a, directly or inside an atom's argument.
  bool depends_on(const PolyRef& a, AtomId var);
  bool atom_depends_on(AtomId atom, AtomId var);

  // Builds a polynomial from terms in any order (merging equal monomials).
  PolyRef from_terms(std::vector<Term> terms);

 private:
  AtomId intern(Atom atom, std::size_t key);
  AtomId exp_atom(const PolyRef& arg);
  AtomId log_atom(const PolyRef& arg);
  AtomId defined_atom(const PolyRef& definition);
  bool is_positive(const Monomial& m) const;
  PolyRef inverse_monomial(const Term& t);

  std::vector<Atom> atoms_;
  std::unordered_multimap<std::size_t, AtomId> index_;
  PolyRef zero_, one_;
  std::unordered_map<const Poly*, std::pair<PolyRef, PolyRef>> inverse_cache_;  // keeps the key alive
  std::vector<std::vector<char>> depends_cache_;  // [var][atom]: 0 unknown, 1 no, 2 yes
};

bool equal(const Poly& a, const Poly& b);
Monomial multiply(const Monomial& a, const Monomial& b);
Monomial power(const Monomial& m, int k);

// ---- a scalar type for the op kernels --------------------------------------
//
// Value wraps a polynomial of the current Context so that the ops' forward
// kernels, templated on the scalar, compute canonical forms unchanged:
// instantiating a kernel at Value is scalarising the op.

class Value {
 public:
  Value();                    // zero
  Value(int c);               // NOLINT: kernels write T(0), T(1)
  Value(const Rational& c);   // NOLINT
  explicit Value(PolyRef p) : poly_(std::move(p)) {}

  const PolyRef& poly() const { return poly_; }

  friend Value operator+(const Value& a, const Value& b);
  friend Value operator-(const Value& a, const Value& b);
  friend Value operator*(const Value& a, const Value& b);
  friend Value operator/(const Value& a, const Value& b);
  friend Value operator-(const Value& a);
  Value& operator+=(const Value& b) { return *this = *this + b; }
  friend Value exp(const Value& a);
  friend Value log(const Value& a);

 private:
  PolyRef poly_;
};

// A sum of many Values as one canonical polynomial: the terms are gathered
// and merged once (adding one Value at a time would cost O(n²)).
class TermSum {
 public:
  void add(const Value& v) { terms_.insert(terms_.end(), v.poly()->terms.begin(), v.poly()->terms.end()); }
  Value result() &&;

 private:
  std::vector<Term> terms_;
};

// The Context that Value arithmetic uses, set for a scope.
class ContextScope {
 public:
  explicit ContextScope(Context& c);
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  Context* previous_;
};
Context& current_context();

}  // namespace ddx::sym
