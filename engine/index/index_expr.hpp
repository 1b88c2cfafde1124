// The index calculus: small immutable expression trees over a symbolic number
// of classes n, with indexed symbols (zⱼ, yⱼ), named definitions (a symbol
// with a defining body that rules can unfold and fold), Σⱼ over j = 1..n, the
// Kronecker delta δᵢⱼ and derivative nodes ∂/∂zᵢ(·). Proofs "for every n" are
// rewrites of these trees (engine/index/index_rules.hpp); this file holds the
// trees themselves, their printers, their numeric evaluation and the trivial
// algebraic clean-up (simplify).
//
// The trees are built by ddx itself and are small, so functions here recurse;
// every recursion is bounded by kMaxDepth and throws a clear error beyond it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/rational.hpp"
#include "engine/scalar.hpp"

namespace ddx::index {

// Deeper trees than this are refused (std::length_error): a proof's
// expressions are a few dozen levels deep at most.
inline constexpr int kMaxDepth = 200;

enum class Kind {
  Constant,    // a rational number
  Size,        // the number of classes n
  Symbol,      // zⱼ, yⱼ, pⱼ, L, T, c, ... (index "" for a scalar symbol)
  Add,         // n-ary sum
  Mul,         // n-ary product; a quotient is a product with negative powers
  Power,       // integer power of its argument
  Negate,      // unary minus
  Exp,
  Log,
  Sum,         // Σ over `index` = 1..n of args[0]
  Delta,       // δ_{index index2}
  Derivative,  // ∂/∂ name_index (args[0])
  Cases,       // args[0] when index = index2, args[1] when index ≠ index2
};

struct Node;
using Expr = std::shared_ptr<const Node>;

struct Node {
  Kind kind = Kind::Constant;
  Rational value;        // Constant
  long exponent = 1;     // Power
  std::string name;      // Symbol: its name; Derivative: the variable's name
  // Symbol: its index; Sum: the bound index; Derivative: the variable's index;
  // Delta and Cases: the first index. For Cases, the equal case is written in
  // this index (the second one was replaced by it).
  std::string index;
  std::string index2;    // Delta and Cases: the second index
  std::vector<Expr> args;
};

// ---- Construction (no simplification beyond what each says) ----
Expr constant(const Rational& value);
Expr size_n();
Expr symbol(const std::string& name, const std::string& index = "");
Expr add(std::vector<Expr> terms);
Expr mul(std::vector<Expr> factors);
Expr power(Expr base, long exponent);
Expr negate(Expr x);
Expr divide(Expr numerator, Expr denominator);  // numerator · denominator⁻¹
Expr subtract(Expr a, Expr b);                  // a + (−b)
Expr exp_of(Expr x);
Expr log_of(Expr x);
Expr sum_over(const std::string& index, Expr body);
Expr delta(const std::string& a, const std::string& b);
Expr derivative(const std::string& variable, const std::string& index, Expr body);
Expr cases(const std::string& kept, const std::string& replaced, Expr equal_case, Expr unequal_case);
// A copy of `node` with other arguments (same kind, names and numbers); a Mul
// or Add argument of the same kind is spliced in (associativity only).
Expr with_args(const Node& node, std::vector<Expr> args);

bool is_constant(const Expr& e, const Rational& value);

// ---- Definitions and hypotheses ----
// `name_index := body`, e.g. pⱼ := exp(zⱼ)/Σₖ exp(zₖ) (index "" for a scalar
// definition such as L).
struct Definition {
  std::string name;
  std::string index;
  Expr body;
};

// lhs = rhs, assumed true, e.g. Σⱼ yⱼ = 1.
struct Hypothesis {
  Expr lhs;
  Expr rhs;
};

struct Context {
  std::vector<Definition> definitions;
  // Symbol families assumed > 0 (e.g. a temperature T): is_positive trusts them.
  std::set<std::string> positive;
  const Definition* find(const std::string& name) const;
};

// ---- Structure ----
// Equal up to renaming of bound (Σ) indices.
bool alpha_equal(const Expr& a, const Expr& b);
// Indices not bound by a Σ inside e.
std::set<std::string> free_indices(const Expr& e);
// Every index name written anywhere in e (free or bound).
std::set<std::string> all_indices(const Expr& e);
bool has_free_index(const Expr& e, const std::string& index);
// e with every free occurrence of index `from` replaced by `to`; a Σ binding
// `to` inside e is renamed first so nothing is captured.
Expr substitute_index(const Expr& e, const std::string& from, const std::string& to);
// The first of j, k, l, m, r, s, t, u, v (then j1, j2, ...) not in `taken`;
// `preferred` first when it is free.
std::string fresh_index(const std::set<std::string>& taken, const std::string& preferred = "");
// The body of `definition` instantiated at `index`, its bound indices renamed
// away from `taken`.
Expr instantiate(const Definition& definition, const std::string& index, const std::set<std::string>& taken);
// Whether e varies with the symbol family `variable` (looking through
// definitions, except those named in `opaque`, which count as independent
// variables of their own).
bool depends_on(const Expr& e, const std::string& variable, const Context& context,
                const std::set<std::string>& opaque = {});
// Whether e is provably > 0 for every value of its symbols: exp(·), n, positive
// constants, and sums, products and powers of those, and definitions whose
// body is. `reason` receives the fact it rests on ("exp(x) > 0", "n ≥ 1").
bool is_positive(const Expr& e, const Context& context, std::string* reason = nullptr);

// ---- Printing ----
std::string to_text(const Expr& e);   // Unicode: Σⱼ (−yⱼ/pⱼ)·pⱼ(δᵢⱼ − pᵢ)
std::string to_latex(const Expr& e);  // \sum_{j} ...
std::string index_text(const std::string& index);  // "j" -> "ⱼ"

// ---- Trivial algebra ----
// Product with nested products flattened, constants multiplied, equal bases
// of the same sign of exponent merged (x·x = x²), factors 1 dropped, 0 if a
// factor is 0. Never cancels x against x⁻¹ (that needs x ≠ 0: rule "cancel").
Expr product(std::vector<Expr> factors);
// Sum with nested sums flattened, like terms collected (2x − x = x), zeros dropped.
Expr sum_of(std::vector<Expr> terms);
// product() and sum_of() applied bottom-up, −x as (−1)·x, exp 0 = 1, log 1 = 0,
// (xᵃ)ᵇ = xᵃᵇ, Σⱼ 0 = 0; repeated until nothing changes.
Expr simplify(const Expr& e);
// simplify() after multiplying out every product of sums.
Expr expand(const Expr& e);
// Splits a term into its rational coefficient and the rest (rest is null for a constant).
std::pair<Rational, Expr> split_coefficient(const Expr& term);
// The factors of e as a flat list (e itself when it is not a product).
std::vector<Expr> factors_of(const Expr& e);

// ---- Numeric evaluation ----
// Values for a concrete n: indexed symbols (1-based classes stored 0-based)
// and scalar symbols.
struct Point {
  int n = 1;
  std::map<std::string, std::vector<Float50>> indexed;
  std::map<std::string, Float50> scalars;
};

// The value of e at `point` with the free indices set by `index_values`
// (1..n). Derivative nodes are evaluated exactly in forward mode (dual
// numbers); definitions are expanded. Throws std::invalid_argument naming a
// symbol or index without a value, std::domain_error for nested derivatives.
Float50 evaluate(const Expr& e, const Context& context, const Point& point,
                 const std::map<std::string, int>& index_values);

// The symbols whose values evaluation of e needs (definitions looked
// through): name -> indexed?
std::map<std::string, bool> input_symbols(const Expr& e, const Context& context);

}  // namespace ddx::index
