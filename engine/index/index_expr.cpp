#include "engine/index/index_expr.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <stdexcept>
#include <tuple>

namespace ddx::index {
namespace {

void guard(int depth) {
  if (depth > kMaxDepth)
    throw std::length_error(fmt::format(
        "index expression nested deeper than {} levels; ddx builds only small trees, so this is a bug "
        "in the rule that produced it",
        kMaxDepth));
}

Expr make(Node node) { return std::make_shared<const Node>(std::move(node)); }

}  // namespace

// ---------------------------------------------------------------- construction

Expr constant(const Rational& value) { return make(Node{.kind = Kind::Constant, .value = value}); }
Expr size_n() { return make(Node{.kind = Kind::Size}); }
Expr symbol(const std::string& name, const std::string& index) {
  return make(Node{.kind = Kind::Symbol, .name = name, .index = index});
}

Expr add(std::vector<Expr> terms) {
  if (terms.empty()) return constant(0);
  if (terms.size() == 1) return terms.front();
  return make(Node{.kind = Kind::Add, .args = std::move(terms)});
}

Expr mul(std::vector<Expr> factors) {
  if (factors.empty()) return constant(1);
  if (factors.size() == 1) return factors.front();
  return make(Node{.kind = Kind::Mul, .args = std::move(factors)});
}

Expr power(Expr base, long exponent) {
  if (exponent == 1) return base;
  return make(Node{.kind = Kind::Power, .exponent = exponent, .args = {std::move(base)}});
}

Expr negate(Expr x) { return make(Node{.kind = Kind::Negate, .args = {std::move(x)}}); }
Expr divide(Expr numerator, Expr denominator) { return mul({std::move(numerator), power(std::move(denominator), -1)}); }
Expr subtract(Expr a, Expr b) { return add({std::move(a), negate(std::move(b))}); }
Expr exp_of(Expr x) { return make(Node{.kind = Kind::Exp, .args = {std::move(x)}}); }
Expr log_of(Expr x) { return make(Node{.kind = Kind::Log, .args = {std::move(x)}}); }
Expr sum_over(const std::string& index, Expr body) {
  return make(Node{.kind = Kind::Sum, .index = index, .args = {std::move(body)}});
}
Expr delta(const std::string& a, const std::string& b) {
  // δ is symmetric: one spelling per pair (alphabetical), so δⱼᵢ and δᵢⱼ compare equal.
  return make(Node{.kind = Kind::Delta, .index = std::min(a, b), .index2 = std::max(a, b)});
}
Expr derivative(const std::string& variable, const std::string& index, Expr body) {
  return make(Node{.kind = Kind::Derivative, .name = variable, .index = index, .args = {std::move(body)}});
}
Expr cases(const std::string& kept, const std::string& replaced, Expr equal_case, Expr unequal_case) {
  return make(Node{.kind = Kind::Cases, .index = kept, .index2 = replaced,
                   .args = {std::move(equal_case), std::move(unequal_case)}});
}

Expr with_args(const Node& node, std::vector<Expr> args) {
  Node copy = node;
  if (node.kind == Kind::Add || node.kind == Kind::Mul) {
    copy.args.clear();
    for (Expr& a : args) {
      if (a->kind == node.kind) copy.args.insert(copy.args.end(), a->args.begin(), a->args.end());
      else copy.args.push_back(std::move(a));
    }
    if (copy.args.size() == 1) return copy.args.front();
  } else {
    copy.args = std::move(args);
  }
  return make(std::move(copy));
}

bool is_constant(const Expr& e, const Rational& value) { return e->kind == Kind::Constant && e->value == value; }

const Definition* Context::find(const std::string& name) const {
  for (const Definition& d : definitions)
    if (d.name == name) return &d;
  return nullptr;
}

// ---------------------------------------------------------------- structure

namespace {

using BoundPairs = std::vector<std::pair<std::string, std::string>>;

bool same_index(const std::string& a, const std::string& b, const BoundPairs& bound) {
  for (auto it = bound.rbegin(); it != bound.rend(); ++it)
    if (it->first == a || it->second == b) return it->first == a && it->second == b;
  return a == b;
}

bool alpha_equal_at(const Expr& a, const Expr& b, BoundPairs& bound, int depth) {
  guard(depth);
  if (a == b && bound.empty()) return true;
  if (a->kind != b->kind || a->args.size() != b->args.size()) return false;
  switch (a->kind) {
    case Kind::Constant: return a->value == b->value;
    case Kind::Size: return true;
    case Kind::Symbol: return a->name == b->name && same_index(a->index, b->index, bound);
    case Kind::Power: if (a->exponent != b->exponent) return false; break;
    case Kind::Delta:  // symmetric
      return (same_index(a->index, b->index, bound) && same_index(a->index2, b->index2, bound)) ||
             (same_index(a->index, b->index2, bound) && same_index(a->index2, b->index, bound));
    case Kind::Cases:
      if (!same_index(a->index, b->index, bound) || !same_index(a->index2, b->index2, bound)) return false;
      break;
    case Kind::Derivative:
      if (a->name != b->name || !same_index(a->index, b->index, bound)) return false;
      break;
    case Kind::Sum: {
      bound.emplace_back(a->index, b->index);
      const bool equal = alpha_equal_at(a->args[0], b->args[0], bound, depth + 1);
      bound.pop_back();
      return equal;
    }
    default: break;
  }
  for (std::size_t k = 0; k < a->args.size(); ++k)
    if (!alpha_equal_at(a->args[k], b->args[k], bound, depth + 1)) return false;
  return true;
}

void collect_indices(const Expr& e, std::vector<std::string>& bound, std::set<std::string>& out, bool free_only,
                     int depth) {
  guard(depth);
  auto note = [&](const std::string& ix) {
    if (ix.empty()) return;
    if (free_only && std::find(bound.begin(), bound.end(), ix) != bound.end()) return;
    out.insert(ix);
  };
  switch (e->kind) {
    case Kind::Symbol: note(e->index); break;
    case Kind::Derivative: note(e->index); break;
    case Kind::Delta:
    case Kind::Cases: note(e->index); note(e->index2); break;
    case Kind::Sum:
      if (!free_only) out.insert(e->index);
      bound.push_back(e->index);
      collect_indices(e->args[0], bound, out, free_only, depth + 1);
      bound.pop_back();
      return;
    default: break;
  }
  for (const Expr& a : e->args) collect_indices(a, bound, out, free_only, depth + 1);
}

Expr substitute_at(const Expr& e, const std::string& from, const std::string& to, int depth) {
  guard(depth);
  auto swap = [&](const std::string& ix) { return ix == from ? to : ix; };
  switch (e->kind) {
    case Kind::Constant:
    case Kind::Size: return e;
    case Kind::Symbol:
      return e->index == from ? symbol(e->name, to) : e;
    case Kind::Delta: return delta(swap(e->index), swap(e->index2));
    case Kind::Cases: {
      std::vector<Expr> args;
      for (const Expr& a : e->args) args.push_back(substitute_at(a, from, to, depth + 1));
      return cases(swap(e->index), swap(e->index2), args[0], args[1]);
    }
    case Kind::Sum: {
      if (e->index == from) return e;  // `from` is bound here: nothing free below
      Expr body = e->args[0];
      std::string bound = e->index;
      if (bound == to && has_free_index(body, from)) {
        std::set<std::string> taken = all_indices(body);
        taken.insert(from);
        taken.insert(to);
        const std::string renamed = fresh_index(taken);
        body = substitute_at(body, bound, renamed, depth + 1);
        bound = renamed;
      }
      return sum_over(bound, substitute_at(body, from, to, depth + 1));
    }
    default: break;
  }
  std::vector<Expr> args;
  args.reserve(e->args.size());
  for (const Expr& a : e->args) args.push_back(substitute_at(a, from, to, depth + 1));
  Node copy = *e;
  copy.index = swap(e->index);
  copy.index2 = swap(e->index2);
  copy.args = std::move(args);
  return make(std::move(copy));
}

// Renames every Σ-bound index of e that is in `avoid` to a fresh one.
Expr rename_bound_away(const Expr& e, std::set<std::string>& avoid, int depth) {
  guard(depth);
  if (e->kind == Kind::Sum) {
    std::string bound = e->index;
    Expr body = e->args[0];
    if (avoid.count(bound)) {
      std::set<std::string> taken = avoid;
      const std::set<std::string> inside = all_indices(body);
      taken.insert(inside.begin(), inside.end());
      const std::string renamed = fresh_index(taken, bound);
      body = substitute_index(body, bound, renamed);
      bound = renamed;
    }
    avoid.insert(bound);
    return sum_over(bound, rename_bound_away(body, avoid, depth + 1));
  }
  if (e->args.empty()) return e;
  std::vector<Expr> args;
  for (const Expr& a : e->args) args.push_back(rename_bound_away(a, avoid, depth + 1));
  Node copy = *e;
  copy.args = std::move(args);
  return make(std::move(copy));
}

bool depends_at(const Expr& e, const std::string& variable, const Context& context,
                const std::set<std::string>& opaque, int depth) {
  guard(depth);
  if (e->kind == Kind::Symbol) {
    if (e->name == variable) return true;
    if (opaque.count(e->name)) return false;
    if (const Definition* d = context.find(e->name)) return depends_at(d->body, variable, context, opaque, depth + 1);
    return false;
  }
  for (const Expr& a : e->args)
    if (depends_at(a, variable, context, opaque, depth + 1)) return true;
  return false;
}

bool positive_at(const Expr& e, const Context& context, std::set<std::string>& reasons, int depth) {
  guard(depth);
  switch (e->kind) {
    case Kind::Constant: return e->value > 0;
    case Kind::Size: reasons.insert("n ≥ 1"); return true;
    case Kind::Exp: reasons.insert("exp(x) > 0"); return true;
    case Kind::Sum: return positive_at(e->args[0], context, reasons, depth + 1);  // n ≥ 1 positive terms
    case Kind::Power: return positive_at(e->args[0], context, reasons, depth + 1);
    case Kind::Add:
    case Kind::Mul:
      for (const Expr& a : e->args)
        if (!positive_at(a, context, reasons, depth + 1)) return false;
      return true;
    case Kind::Symbol:
      if (const Definition* d = context.find(e->name)) return positive_at(d->body, context, reasons, depth + 1);
      if (context.positive.count(e->name)) {
        reasons.insert(e->name + " > 0 (assumed)");
        return true;
      }
      return false;
    default: return false;
  }
}

}  // namespace

bool alpha_equal(const Expr& a, const Expr& b) {
  BoundPairs bound;
  return alpha_equal_at(a, b, bound, 0);
}

std::set<std::string> free_indices(const Expr& e) {
  std::vector<std::string> bound;
  std::set<std::string> out;
  collect_indices(e, bound, out, true, 0);
  return out;
}

std::set<std::string> all_indices(const Expr& e) {
  std::vector<std::string> bound;
  std::set<std::string> out;
  collect_indices(e, bound, out, false, 0);
  return out;
}

bool has_free_index(const Expr& e, const std::string& index) { return free_indices(e).count(index) > 0; }

Expr substitute_index(const Expr& e, const std::string& from, const std::string& to) {
  if (from == to) return e;
  return substitute_at(e, from, to, 0);
}

std::string fresh_index(const std::set<std::string>& taken, const std::string& preferred) {
  if (!preferred.empty() && !taken.count(preferred)) return preferred;
  for (const char* candidate : {"j", "k", "l", "m", "r", "s", "t", "u", "v"})
    if (!taken.count(candidate)) return candidate;
  for (int k = 1;; ++k) {
    const std::string candidate = fmt::format("j{}", k);
    if (!taken.count(candidate)) return candidate;
  }
}

Expr instantiate(const Definition& definition, const std::string& index, const std::set<std::string>& taken) {
  std::set<std::string> avoid = taken;
  if (!index.empty()) avoid.insert(index);
  if (!definition.index.empty()) avoid.insert(definition.index);
  Expr body = rename_bound_away(definition.body, avoid, 0);
  if (!definition.index.empty()) body = substitute_index(body, definition.index, index);
  return body;
}

bool depends_on(const Expr& e, const std::string& variable, const Context& context,
                const std::set<std::string>& opaque) {
  return depends_at(e, variable, context, opaque, 0);
}

bool is_positive(const Expr& e, const Context& context, std::string* reason) {
  std::set<std::string> reasons;
  const bool positive = positive_at(e, context, reasons, 0);
  if (reason) {
    reason->clear();
    for (const std::string& r : reasons) *reason += (reason->empty() ? "" : " and ") + r;
  }
  return positive;
}

// ---------------------------------------------------------------- printing

std::string index_text(const std::string& index) {
  static const std::map<char, std::string> subscripts = {
      {'a', "ₐ"}, {'e', "ₑ"}, {'h', "ₕ"}, {'i', "ᵢ"}, {'j', "ⱼ"}, {'k', "ₖ"}, {'l', "ₗ"}, {'m', "ₘ"},
      {'n', "ₙ"}, {'o', "ₒ"}, {'p', "ₚ"}, {'r', "ᵣ"}, {'s', "ₛ"}, {'t', "ₜ"}, {'u', "ᵤ"}, {'v', "ᵥ"},
      {'x', "ₓ"}, {'0', "₀"}, {'1', "₁"}, {'2', "₂"}, {'3', "₃"}, {'4', "₄"}, {'5', "₅"}, {'6', "₆"},
      {'7', "₇"}, {'8', "₈"}, {'9', "₉"}};
  std::string out;
  for (char c : index) {
    auto it = subscripts.find(c);
    if (it == subscripts.end()) return "_" + index;  // no Unicode subscript for this letter
    out += it->second;
  }
  return out;
}

namespace {

std::string superscript(long k) {
  static const char* digits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
  std::string out = k < 0 ? "⁻" : "";
  const std::string decimal = std::to_string(k < 0 ? -k : k);
  for (char c : decimal) out += digits[c - '0'];
  return out;
}

std::string latex_name(const std::string& name) {
  static const std::map<std::string, std::string> names = {
      {"ε", "\\varepsilon"}, {"ỹ", "\\tilde{y}"}, {"τ", "\\tau"}, {"α", "\\alpha"}, {"β", "\\beta"},
      {"λ", "\\lambda"},     {"θ", "\\theta"},    {"σ", "\\sigma"}};
  auto it = names.find(name);
  return it == names.end() ? name : it->second;
}

std::string latex_index(const std::string& index) {
  return index.size() == 1 ? "_" + index : "_{" + index + "}";
}

// One printer for both notations: the layout decisions (where parentheses go,
// how a product splits into a fraction) are shared, the tokens differ.
class Printer {
 public:
  explicit Printer(bool latex) : latex_(latex) {}

  std::string print(const Expr& e, int depth) {
    guard(depth);
    switch (e->kind) {
      case Kind::Constant: return latex_ ? ddx::to_latex(e->value) : ddx::to_string(e->value);
      case Kind::Size: return "n";
      case Kind::Symbol:
        if (latex_) return latex_name(e->name) + (e->index.empty() ? "" : latex_index(e->index));
        return e->name + index_text(e->index);
      case Kind::Add: return print_add(e, depth);
      case Kind::Mul: return print_mul(e->args, false, depth);
      case Kind::Power: return print_base(e->args[0], depth) + exponent_text(e->exponent);
      case Kind::Negate: {
        const Expr& x = e->args[0];
        const bool wrap = x->kind == Kind::Add || x->kind == Kind::Negate || starts_negative(x);
        return minus() + (wrap ? paren(print(x, depth + 1)) : print(x, depth + 1));
      }
      case Kind::Exp:
        return latex_ ? "e^{" + print(e->args[0], depth + 1) + "}" : "exp(" + print(e->args[0], depth + 1) + ")";
      case Kind::Log: {
        const Expr& x = e->args[0];
        const bool bare = x->kind == Kind::Symbol || x->kind == Kind::Size || x->kind == Kind::Exp;
        if (latex_) return bare ? "\\log " + print(x, depth + 1) : "\\log" + paren(print(x, depth + 1));
        return bare ? "log " + print(x, depth + 1) : "log(" + print(x, depth + 1) + ")";
      }
      case Kind::Sum: {
        const Expr& body = e->args[0];
        std::string inner = print(body, depth + 1);
        if (body->kind == Kind::Add || (starts_negative(body) && inner.rfind(latex_ ? "\\left(" : "(", 0) != 0))
          inner = paren(inner);
        return latex_ ? "\\sum_{" + e->index + "} " + inner : "Σ" + index_text(e->index) + " " + inner;
      }
      case Kind::Delta:
        return latex_ ? "\\delta_{" + e->index + e->index2 + "}" : "δ" + index_text(e->index) + index_text(e->index2);
      case Kind::Derivative: {
        const Expr& body = e->args[0];
        const std::string var = latex_ ? latex_name(e->name) + latex_index(e->index) : e->name + index_text(e->index);
        if (body->kind == Kind::Symbol) {
          const std::string f = print(body, depth + 1);
          return latex_ ? "\\frac{\\partial " + f + "}{\\partial " + var + "}" : "∂" + f + "/∂" + var;
        }
        return latex_ ? "\\frac{\\partial}{\\partial " + var + "}" + paren(print(body, depth + 1))
                      : "∂/∂" + var + "(" + print(body, depth + 1) + ")";
      }
      case Kind::Cases: {
        // Shown with the indices in alphabetical order: "if i = j".
        const std::string a = std::min(e->index, e->index2), b = std::max(e->index, e->index2);
        const std::string eq = print(e->args[0], depth + 1), ne = print(e->args[1], depth + 1);
        if (latex_)
          return "\\begin{cases} " + eq + " & \\text{if } " + a + " = " + b + " \\\\ " + ne + " & \\text{if } " + a +
                 " \\neq " + b + " \\end{cases}";
        return "{" + eq + " if " + a + " = " + b + "; " + ne + " if " + a + " ≠ " + b + "}";
      }
    }
    return "?";
  }

 private:
  bool latex_;

  std::string minus() const { return latex_ ? "-" : "−"; }
  std::string paren(const std::string& s) const { return latex_ ? "\\left(" + s + "\\right)" : "(" + s + ")"; }
  std::string exponent_text(long k) const { return latex_ ? "^{" + std::to_string(k) + "}" : superscript(k); }

  static bool is_atom(const Expr& e) {
    return e->kind == Kind::Symbol || e->kind == Kind::Delta || e->kind == Kind::Size ||
           (e->kind == Kind::Power && e->args[0]->kind == Kind::Symbol);
  }

  // Whether e prints with a leading minus sign.
  static bool starts_negative(const Expr& e) {
    if (e->kind == Kind::Negate) return true;
    if (e->kind == Kind::Constant) return e->value < 0;
    if (e->kind == Kind::Mul)
      for (const Expr& f : e->args)
        if (f->kind == Kind::Constant && f->value < 0) return true;
    return false;
  }

  std::string print_base(const Expr& base, int depth) {
    const bool bare = base->kind == Kind::Symbol || base->kind == Kind::Size ||
                      (base->kind == Kind::Constant && base->value >= 0 &&
                       boost::multiprecision::denominator(base->value) == 1) ||
                      (!latex_ && base->kind == Kind::Exp);
    const std::string inner = print(base, depth + 1);
    return bare ? inner : paren(inner);
  }

  std::string print_add(const Expr& e, int depth) {
    // Terms without a leading minus first, so pᵢ − yᵢ rather than −yᵢ + pᵢ.
    std::vector<Expr> terms;
    for (const Expr& t : e->args)
      if (!starts_negative(t)) terms.push_back(t);
    for (const Expr& t : e->args)
      if (starts_negative(t)) terms.push_back(t);
    std::string out;
    for (std::size_t k = 0; k < terms.size(); ++k) {
      const Expr& t = terms[k];
      const bool negative = starts_negative(t);
      std::string body;
      if (!negative) body = print(t, depth + 1);
      else if (t->kind == Kind::Negate) {
        const Expr& x = t->args[0];
        body = print(x, depth + 1);
        if (x->kind == Kind::Add || starts_negative(x)) body = paren(body);
      } else if (t->kind == Kind::Constant) body = print(constant(-t->value), depth + 1);
      else body = print_mul(t->args, true, depth);
      if (k == 0) out += negative ? minus() + body : body;
      else out += (negative ? " " + minus() + " " : std::string(" + ")) + body;
    }
    return out;
  }

  // A factor of a product. Sums are parenthesized unless last (Σ extends to
  // the right over the product); derivatives and nested fractions always.
  std::string print_factor(const Expr& f, bool last, int depth) {
    const std::string s = print(f, depth + 1);
    switch (f->kind) {
      case Kind::Add:
      case Kind::Negate:
      case Kind::Mul: return paren(s);
      case Kind::Derivative: return latex_ || f->args[0]->kind != Kind::Symbol ? s : paren(s);  // ∂pⱼ/∂zᵢ has a bare slash
      case Kind::Sum: return last ? s : paren(s);
      case Kind::Constant: return (f->value < 0 || boost::multiprecision::denominator(f->value) != 1) ? paren(s) : s;
      default: return s;
    }
  }

  std::string separator(const Expr& left, const Expr& right, const std::string& right_text) const {
    if (latex_) return right->kind == Kind::Constant ? " \\cdot " : " ";
    const bool right_wrapped = !right_text.empty() && right_text.front() == '(';
    if (right->kind == Kind::Derivative) return "·";
    if (left->kind == Kind::Add && is_atom(right)) return "";  // (1 − ε)yⱼ
    if (is_atom(left) || left->kind == Kind::Constant) {
      if (right_wrapped || is_atom(right)) return "";
      if (right->kind == Kind::Log || right->kind == Kind::Sum) return " ";
    }
    return "·";
  }

  std::string join(const std::vector<Expr>& factors, bool last_is_end, int depth) {
    std::string out;
    for (std::size_t k = 0; k < factors.size(); ++k) {
      const std::string s = print_factor(factors[k], last_is_end && k + 1 == factors.size(), depth);
      if (k > 0) out += separator(factors[k - 1], factors[k], s);
      out += s;
    }
    return out;
  }

  // A product; `flip` prints it with its sign reversed (for a − b). Factors
  // written after the first negative power stay after the fraction, so a
  // product built as (−yⱼ/pⱼ)·pⱼ(δᵢⱼ − pᵢ) prints that way.
  std::string print_mul(const std::vector<Expr>& args, bool flip, int depth) {
    Rational coefficient = flip ? -1 : 1;
    std::vector<Expr> numerator, denominator, trailing;
    for (const Expr& f : args) {
      if (f->kind == Kind::Constant) coefficient *= f->value;
      else if (f->kind == Kind::Power && f->exponent < 0) denominator.push_back(power(f->args[0], -f->exponent));
      else (denominator.empty() ? numerator : trailing).push_back(f);
    }
    const bool negative = coefficient < 0;
    if (negative) coefficient = -coefficient;
    const Integer top = boost::multiprecision::numerator(coefficient);
    const Integer bottom = boost::multiprecision::denominator(coefficient);
    if (bottom != 1) denominator.insert(denominator.begin(), constant(Rational(bottom)));
    if (denominator.empty() || numerator.empty()) {  // nothing before the fraction: −yᵢ/T, not −(1/T)·yᵢ
      numerator.insert(numerator.end(), trailing.begin(), trailing.end());
      trailing.clear();
    }
    if (top != 1 || numerator.empty()) numerator.insert(numerator.begin(), constant(Rational(top)));
    const std::string sign = negative ? minus() : "";
    if (denominator.empty()) return sign + join(numerator, true, depth);

    std::string num = join(numerator, false, depth);
    std::string den;
    if (denominator.size() == 1) {
      const Expr& d = denominator.front();
      den = print(d, depth + 1);
      // Σₖ exp(zₖ) needs no parentheses below a slash; Σₖ exp(zₖ)·exp(c) does.
      const bool simple_sum = d->kind == Kind::Sum && d->args[0]->kind != Kind::Mul && d->args[0]->kind != Kind::Add;
      const bool bare = is_atom(d) || simple_sum || d->kind == Kind::Exp || d->kind == Kind::Power ||
                        d->kind == Kind::Constant || d->kind == Kind::Log;
      if (!bare && !latex_) den = paren(den);
    } else {
      den = join(denominator, true, depth);
      if (!latex_) den = paren(den);
    }
    std::string fraction;
    if (latex_) {
      fraction = sign + "\\frac{" + (numerator.size() == 1 && numerator[0]->kind == Kind::Add
                                         ? print(numerator[0], depth + 1)
                                         : num) +
                 "}{" + den + "}";
    } else {
      fraction = sign + num + "/" + den;
    }
    if (trailing.empty()) return fraction;
    const std::string rest = join(trailing, true, depth);
    if (latex_) return (negative ? paren(fraction) : fraction) + " " + rest;
    return paren(fraction) + "·" + rest;
  }
};

}  // namespace

std::string to_text(const Expr& e) { return Printer(false).print(e, 0); }
std::string to_latex(const Expr& e) { return Printer(true).print(e, 0); }

// ---------------------------------------------------------------- trivial algebra

std::vector<Expr> factors_of(const Expr& e) {
  if (e->kind != Kind::Mul) return {e};
  std::vector<Expr> out;
  for (const Expr& f : e->args) {
    std::vector<Expr> inner = factors_of(f);
    out.insert(out.end(), inner.begin(), inner.end());
  }
  return out;
}

namespace {

Rational rational_power(const Rational& base, long exponent) {
  Rational out = 1;
  for (long k = 0; k < (exponent < 0 ? -exponent : exponent); ++k) out *= base;
  return exponent < 0 ? Rational(1 / out) : out;
}

void flatten_product(const Expr& f, Rational& coefficient, std::vector<std::pair<Expr, long>>& powers, int depth) {
  guard(depth);
  switch (f->kind) {
    case Kind::Constant: coefficient *= f->value; return;
    case Kind::Mul:
      for (const Expr& g : f->args) flatten_product(g, coefficient, powers, depth + 1);
      return;
    case Kind::Negate:
      coefficient = -coefficient;
      flatten_product(f->args[0], coefficient, powers, depth + 1);
      return;
    default: break;
  }
  Expr base = f;
  long exponent = 1;
  if (f->kind == Kind::Power) {
    base = f->args[0];
    exponent = f->exponent;
    if (base->kind == Kind::Constant && base->value != 0) {
      coefficient *= rational_power(base->value, exponent);
      return;
    }
  }
  for (auto& [b, e] : powers)
    if ((e > 0) == (exponent > 0) && alpha_equal(b, base)) {
      e += exponent;
      return;
    }
  powers.emplace_back(base, exponent);
}

}  // namespace

Expr product(std::vector<Expr> factors) {
  Rational coefficient = 1;
  std::vector<std::pair<Expr, long>> powers;
  for (const Expr& f : factors) flatten_product(f, coefficient, powers, 0);
  if (coefficient == 0) return constant(0);
  std::vector<Expr> out;
  if (coefficient != 1 || powers.empty()) out.push_back(constant(coefficient));
  for (auto& [base, exponent] : powers) out.push_back(power(base, exponent));
  return mul(std::move(out));
}

std::pair<Rational, Expr> split_coefficient(const Expr& term) {
  if (term->kind == Kind::Constant) return {term->value, nullptr};
  if (term->kind == Kind::Negate) {
    auto [c, rest] = split_coefficient(term->args[0]);
    return {-c, rest};
  }
  if (term->kind != Kind::Mul) return {1, term};
  Rational c = 1;
  std::vector<Expr> rest;
  for (const Expr& f : factors_of(term)) {
    if (f->kind == Kind::Constant) c *= f->value;
    else rest.push_back(f);
  }
  if (rest.empty()) return {c, nullptr};
  return {c, mul(std::move(rest))};
}

namespace {

void flatten_sum(const Expr& t, const Rational& scale, std::vector<std::pair<Rational, Expr>>& terms, int depth) {
  guard(depth);
  if (t->kind == Kind::Add) {
    for (const Expr& u : t->args) flatten_sum(u, scale, terms, depth + 1);
    return;
  }
  auto [c, rest] = split_coefficient(t);
  // A number times a single sum spreads over it: −(a − b) = b − a.
  if (rest && rest->kind == Kind::Add) {
    flatten_sum(rest, scale * c, terms, depth + 1);
    return;
  }
  c *= scale;
  for (auto& [coefficient, r] : terms)
    if ((r == nullptr) == (rest == nullptr) && (!rest || alpha_equal(r, rest))) {
      coefficient += c;
      return;
    }
  terms.emplace_back(c, rest);
}

}  // namespace

Expr sum_of(std::vector<Expr> terms) {
  std::vector<std::pair<Rational, Expr>> collected;
  for (const Expr& t : terms) flatten_sum(t, 1, collected, 0);
  std::vector<Expr> out;
  for (auto& [c, rest] : collected) {
    if (c == 0) continue;
    if (!rest) out.push_back(constant(c));
    else if (c == 1) out.push_back(rest);
    else out.push_back(product({constant(c), rest}));
  }
  return add(std::move(out));
}

namespace {

Expr simplify_once(const Expr& e, int depth) {
  guard(depth);
  if (e->args.empty()) return e;
  std::vector<Expr> args;
  for (const Expr& a : e->args) args.push_back(simplify_once(a, depth + 1));
  switch (e->kind) {
    case Kind::Mul:
    case Kind::Negate: {
      if (e->kind == Kind::Negate) args.insert(args.begin(), constant(-1));
      Expr p = product(std::move(args));
      // A number times one sum spreads over it: −(a − b) = b − a.
      if (p->kind == Kind::Mul && p->args.size() == 2 && p->args[0]->kind == Kind::Constant &&
          p->args[1]->kind == Kind::Add)
        return sum_of({p});
      return p;
    }
    case Kind::Add: return sum_of(std::move(args));
    case Kind::Power: {
      const Expr& base = args[0];
      if (e->exponent == 0) return constant(1);
      if (base->kind == Kind::Power) return power(base->args[0], base->exponent * e->exponent);
      if (base->kind == Kind::Constant && base->value != 0) return constant(rational_power(base->value, e->exponent));
      if (base->kind == Kind::Mul) {
        std::vector<Expr> powered;
        for (const Expr& f : base->args) powered.push_back(power(f, e->exponent));
        return product(std::move(powered));
      }
      return power(base, e->exponent);
    }
    case Kind::Exp:
      if (is_constant(args[0], 0)) return constant(1);
      break;
    case Kind::Log:
      if (is_constant(args[0], 1)) return constant(0);
      break;
    case Kind::Sum:
      if (is_constant(args[0], 0)) return constant(0);
      break;
    default: break;
  }
  Node copy = *e;
  copy.args = std::move(args);
  return std::make_shared<const Node>(std::move(copy));
}

Expr expand_once(const Expr& e, int depth) {
  guard(depth);
  if (e->args.empty()) return e;
  std::vector<Expr> args;
  for (const Expr& a : e->args) args.push_back(expand_once(a, depth + 1));
  if (e->kind == Kind::Power && e->exponent > 1 && args[0]->kind == Kind::Add) {
    std::vector<Expr> copies(static_cast<std::size_t>(e->exponent), args[0]);
    return expand_once(mul(std::move(copies)), depth + 1);
  }
  if (e->kind == Kind::Mul || e->kind == Kind::Negate) {
    // Multiply out: the terms of the product of sums, one factor from each.
    std::vector<std::vector<Expr>> partial = {{}};
    if (e->kind == Kind::Negate) partial[0].push_back(constant(-1));
    for (const Expr& f : args) {
      const std::vector<Expr> choices = f->kind == Kind::Add ? f->args : std::vector<Expr>{f};
      std::vector<std::vector<Expr>> next;
      for (const auto& p : partial)
        for (const Expr& c : choices) {
          next.push_back(p);
          next.back().push_back(c);
        }
      partial = std::move(next);
    }
    std::vector<Expr> terms;
    for (auto& p : partial) terms.push_back(product(std::move(p)));
    return sum_of(std::move(terms));
  }
  Node copy = *e;
  copy.args = std::move(args);
  return std::make_shared<const Node>(std::move(copy));
}

}  // namespace

Expr simplify(const Expr& e) {
  Expr current = e;
  for (int round = 0; round < 16; ++round) {
    Expr next = simplify_once(current, 0);
    if (alpha_equal(next, current)) return next;
    current = next;
  }
  return current;
}

Expr expand(const Expr& e) {
  Expr current = e;
  for (int round = 0; round < 16; ++round) {
    Expr next = simplify(expand_once(current, 0));
    if (alpha_equal(next, current)) return next;
    current = next;
  }
  return current;
}

// ---------------------------------------------------------------- evaluation

namespace {

struct Dual {
  Float50 value;
  Float50 tangent;
};

// The variable a derivative node differentiates by: symbol family and class.
struct Seed {
  std::string name;
  int index = 0;
};

class Evaluator {
 public:
  Evaluator(const Context& context, const Point& point, std::map<std::string, int> indices)
      : context_(context), point_(point), indices_(std::move(indices)) {}

  Dual eval(const Expr& e, const Seed* seed, int depth) {
    guard(depth);
    switch (e->kind) {
      case Kind::Constant: return {to_scalar<Float50>(e->value), 0};
      case Kind::Size: return {Float50(point_.n), 0};
      case Kind::Symbol: return eval_symbol(*e, seed, depth);
      case Kind::Add: {
        Dual acc{0, 0};
        for (const Expr& a : e->args) {
          const Dual x = eval(a, seed, depth + 1);
          acc.value += x.value;
          acc.tangent += x.tangent;
        }
        return acc;
      }
      case Kind::Mul: {
        Dual acc{1, 0};
        for (const Expr& a : e->args) {
          const Dual x = eval(a, seed, depth + 1);
          acc = {acc.value * x.value, acc.value * x.tangent + acc.tangent * x.value};
        }
        return acc;
      }
      case Kind::Power: {
        const Dual x = eval(e->args[0], seed, depth + 1);
        const long k = e->exponent;
        const Float50 below = boost::multiprecision::pow(x.value, k - 1);  // x^(k−1)
        return {below * x.value, Float50(k) * below * x.tangent};
      }
      case Kind::Negate: {
        const Dual x = eval(e->args[0], seed, depth + 1);
        return {-x.value, -x.tangent};
      }
      case Kind::Exp: {
        const Dual x = eval(e->args[0], seed, depth + 1);
        const Float50 v = boost::multiprecision::exp(x.value);
        return {v, v * x.tangent};
      }
      case Kind::Log: {
        const Dual x = eval(e->args[0], seed, depth + 1);
        return {boost::multiprecision::log(x.value), x.tangent / x.value};
      }
      case Kind::Sum: {
        Dual acc{0, 0};
        const auto saved = indices_.find(e->index) == indices_.end() ? std::optional<int>()
                                                                      : std::optional<int>(indices_[e->index]);
        for (int k = 1; k <= point_.n; ++k) {
          indices_[e->index] = k;
          const Dual x = eval(e->args[0], seed, depth + 1);
          acc.value += x.value;
          acc.tangent += x.tangent;
        }
        if (saved) indices_[e->index] = *saved;
        else indices_.erase(e->index);
        return acc;
      }
      case Kind::Delta: return {index_value(e->index) == index_value(e->index2) ? 1 : 0, 0};
      case Kind::Cases:
        return eval(index_value(e->index) == index_value(e->index2) ? e->args[0] : e->args[1], seed, depth + 1);
      case Kind::Derivative: {
        if (seed)
          throw std::domain_error("a derivative inside a derivative has no numeric evaluation in the index calculus");
        const Seed inner{e->name, e->index.empty() ? 0 : index_value(e->index)};
        return {eval(e->args[0], &inner, depth + 1).tangent, 0};
      }
    }
    return {0, 0};
  }

 private:
  const Context& context_;
  const Point& point_;
  std::map<std::string, int> indices_;

  int index_value(const std::string& index) const {
    auto it = indices_.find(index);
    if (it == indices_.end())
      throw std::invalid_argument(fmt::format("index {} has no value: give it one (1..n) to evaluate", index));
    return it->second;
  }

  // A definition's value at a class depends only on that class and the
  // derivative being taken, so it is computed once per evaluation.
  std::map<std::tuple<std::string, int, std::string, int>, Dual> definition_values_;

  Dual eval_symbol(const Node& s, const Seed* seed, int depth) {
    const int k = s.index.empty() ? 0 : index_value(s.index);
    const bool is_seed = seed && seed->name == s.name;
    const Float50 tangent = is_seed && (s.index.empty() || seed->index == k) ? 1 : 0;
    if (const Definition* d = context_.find(s.name)) {
      const auto key = std::make_tuple(s.name, k, seed ? seed->name : std::string(), seed ? seed->index : 0);
      if (auto it = definition_values_.find(key); it != definition_values_.end()) return it->second;
      // A definition is its body at this index; differentiated by its own name
      // it is an independent variable (∂pₖ/∂pⱼ = δⱼₖ).
      std::optional<int> saved;
      if (!d->index.empty()) {
        if (auto it = indices_.find(d->index); it != indices_.end()) saved = it->second;
        indices_[d->index] = k;
      }
      Dual value = eval(d->body, is_seed ? nullptr : seed, depth + 1);
      if (!d->index.empty()) {
        if (saved) indices_[d->index] = *saved;
        else indices_.erase(d->index);
      }
      if (is_seed) value.tangent = tangent;
      definition_values_[key] = value;
      return value;
    }
    if (s.index.empty()) {
      auto it = point_.scalars.find(s.name);
      if (it == point_.scalars.end())
        throw std::invalid_argument(fmt::format("symbol {} has no value", s.name));
      return {it->second, tangent};
    }
    auto it = point_.indexed.find(s.name);
    if (it == point_.indexed.end() || static_cast<int>(it->second.size()) < k || k < 1)
      throw std::invalid_argument(fmt::format("symbol {}_{} has no value at class {}", s.name, s.index, k));
    return {it->second[static_cast<std::size_t>(k - 1)], tangent};
  }
};

void collect_inputs(const Expr& e, const Context& context, std::map<std::string, bool>& out,
                    std::set<std::string>& visited, int depth) {
  guard(depth);
  if (e->kind == Kind::Symbol) {
    if (const Definition* d = context.find(e->name)) {
      if (visited.insert(e->name).second) collect_inputs(d->body, context, out, visited, depth + 1);
    } else {
      out[e->name] = !e->index.empty();
    }
  }
  if (e->kind == Kind::Derivative && !context.find(e->name)) out[e->name] = !e->index.empty();
  for (const Expr& a : e->args) collect_inputs(a, context, out, visited, depth + 1);
}

}  // namespace

Float50 evaluate(const Expr& e, const Context& context, const Point& point,
                 const std::map<std::string, int>& index_values) {
  Evaluator evaluator(context, point, index_values);
  return evaluator.eval(e, nullptr, 0).value;
}

std::map<std::string, bool> input_symbols(const Expr& e, const Context& context) {
  std::map<std::string, bool> out;
  std::set<std::string> visited;
  collect_inputs(e, context, out, visited, 0);
  return out;
}

}  // namespace ddx::index
