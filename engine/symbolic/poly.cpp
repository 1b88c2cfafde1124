#include "engine/symbolic/poly.hpp"

#include <algorithm>
#include <numeric>
#include <fmt/format.h>
#include <stdexcept>

namespace ddx::sym {
namespace {

std::size_t mix(std::size_t h, std::size_t v) { return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 12) + (h >> 4)); }

std::size_t hash_terms(const std::vector<Term>& terms) {
  std::size_t h = terms.size();
  for (const Term& t : terms) {
    for (const Factor& f : t.monomial) h = mix(mix(h, f.atom), static_cast<std::size_t>(f.exponent));
    h = mix(h, t.coefficient.hash());
  }
  return h;
}

PolyRef make_poly(std::vector<Term> sorted_terms) {
  auto p = std::make_shared<Poly>();
  p->terms = std::move(sorted_terms);
  p->hash = hash_terms(p->terms);
  return p;
}


// Exponents live in 32 bits; larger powers are left unexpanded by the callers.
constexpr long kMaxExponent = 1L << 30;

// The content gcd(numerators)/lcm(denominators) when every coefficient and the
// result fit in 64 bits; 0 otherwise.
Coefficient small_content(const Poly& p) {
  std::int64_t num = 0, den = 1;
  for (const Term& t : p.terms) {
    if (!t.coefficient.is_small()) return 0;
    num = std::gcd(num, t.coefficient.small_numerator());
    const std::int64_t d = t.coefficient.small_denominator();
    std::int64_t lcm;
    if (__builtin_mul_overflow(den / std::gcd(den, d), d, &lcm)) return 0;
    den = lcm;
  }
  return Coefficient(Rational(num, den));
}

}  // namespace

bool equal(const Poly& a, const Poly& b) {
  if (a.hash != b.hash || a.terms.size() != b.terms.size()) return false;
  for (std::size_t k = 0; k < a.terms.size(); ++k)
    if (a.terms[k].monomial != b.terms[k].monomial || a.terms[k].coefficient != b.terms[k].coefficient) return false;
  return true;
}

Monomial multiply(const Monomial& a, const Monomial& b) {
  Monomial out;
  out.reserve(a.size() + b.size());
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].atom < b[j].atom)) {
      out.push_back(a[i++]);
    } else if (i == a.size() || b[j].atom < a[i].atom) {
      out.push_back(b[j++]);
    } else {
      const std::int64_t e = std::int64_t{a[i].exponent} + b[j].exponent;
      if (e > kMaxExponent || e < -kMaxExponent) throw std::overflow_error("symbolic exponent out of range");
      if (e != 0) out.push_back({a[i].atom, static_cast<std::int32_t>(e)});
      ++i, ++j;
    }
  }
  return out;
}

Monomial power(const Monomial& m, int k) {
  Monomial out;
  if (k == 0) return out;
  for (const Factor& f : m) {
    const std::int64_t e = std::int64_t{f.exponent} * k;
    if (e > kMaxExponent || e < -kMaxExponent) throw std::overflow_error("symbolic exponent out of range");
    out.push_back({f.atom, static_cast<std::int32_t>(e)});
  }
  return out;
}

Context::Context() {
  zero_ = make_poly({});
  one_ = make_poly({Term{{}, Coefficient(1)}});
}

AtomId Context::intern(Atom atom, std::size_t key) {
  auto [lo, hi] = index_.equal_range(key);
  for (auto it = lo; it != hi; ++it) {
    const Atom& a = atoms_[it->second];
    if (a.kind == atom.kind && a.name == atom.name && a.row == atom.row && a.col == atom.col &&
        (a.arg == atom.arg || (a.arg && atom.arg && equal(*a.arg, *atom.arg))))
      return it->second;
  }
  atoms_.push_back(std::move(atom));
  const auto id = static_cast<AtomId>(atoms_.size() - 1);
  index_.emplace(key, id);
  return id;
}

AtomId Context::symbol(const std::string& name, long row, long col, bool positive) {
  const std::size_t key = mix(mix(mix(1, std::hash<std::string>{}(name)), static_cast<std::size_t>(row)),
                              static_cast<std::size_t>(col));
  return intern(Atom{AtomKind::Symbol, name, row, col, nullptr, positive}, key);
}

AtomId Context::opaque(const std::string& label, long node, long element) {
  const std::size_t key = mix(mix(mix(5, std::hash<std::string>{}(label)), static_cast<std::size_t>(node)),
                              static_cast<std::size_t>(element));
  return intern(Atom{AtomKind::Opaque, label, node, element, nullptr, false}, key);
}

AtomId Context::exp_atom(const PolyRef& arg) {
  return intern(Atom{AtomKind::Exp, "", -1, -1, arg, true}, mix(2, arg->hash));
}

AtomId Context::log_atom(const PolyRef& arg) {
  return intern(Atom{AtomKind::Log, "", -1, -1, arg, false}, mix(3, arg->hash));
}

AtomId Context::defined_atom(const PolyRef& definition) {
  // A sum of positive terms is positive.
  bool positive = true;
  for (const Term& t : definition->terms) positive = positive && t.coefficient.sign() > 0 && is_positive(t.monomial);
  return intern(Atom{AtomKind::Defined, "", -1, -1, definition, positive}, mix(4, definition->hash));
}

bool Context::is_positive(const Monomial& m) const {
  // Even powers of nonzero atoms are positive too, but an atom of unknown
  // sign might be zero, so only atoms known to be positive count.
  return std::all_of(m.begin(), m.end(), [&](const Factor& f) { return atoms_[f.atom].positive; });
}

PolyRef Context::constant(const Coefficient& c) {
  if (c == 0) return zero_;
  if (c == 1) return one_;
  return make_poly({Term{{}, c}});
}

PolyRef Context::atom_poly(AtomId id, int exponent) { return monomial_poly({Factor{id, exponent}}, Coefficient(1)); }

PolyRef Context::monomial_poly(const Monomial& m, const Coefficient& c) {
  if (c == 0) return zero_;
  return make_poly({Term{m, c}});
}

PolyRef Context::from_terms(std::vector<Term> terms) {
  std::sort(terms.begin(), terms.end(), [](const Term& a, const Term& b) { return a.monomial < b.monomial; });
  std::vector<Term> merged;
  merged.reserve(terms.size());
  for (Term& t : terms) {
    if (!merged.empty() && merged.back().monomial == t.monomial) {
      merged.back().coefficient += t.coefficient;
    } else {
      if (!merged.empty() && merged.back().coefficient == 0) merged.pop_back();
      merged.push_back(std::move(t));
    }
  }
  if (!merged.empty() && merged.back().coefficient == 0) merged.pop_back();
  return make_poly(std::move(merged));
}

PolyRef Context::add(const PolyRef& a, const PolyRef& b) {
  if (a->is_zero()) return b;
  if (b->is_zero()) return a;
  std::vector<Term> out;
  out.reserve(a->terms.size() + b->terms.size());
  std::size_t i = 0, j = 0;
  const auto& x = a->terms;
  const auto& y = b->terms;
  while (i < x.size() || j < y.size()) {
    if (j == y.size() || (i < x.size() && x[i].monomial < y[j].monomial)) {
      out.push_back(x[i++]);
    } else if (i == x.size() || y[j].monomial < x[i].monomial) {
      out.push_back(y[j++]);
    } else {
      Coefficient c = x[i].coefficient + y[j].coefficient;
      if (c != 0) out.push_back(Term{x[i].monomial, std::move(c)});
      ++i, ++j;
    }
  }
  return make_poly(std::move(out));
}

PolyRef Context::scale(const PolyRef& a, const Coefficient& c) {
  if (c == 0) return zero_;
  if (c == 1) return a;
  std::vector<Term> out = a->terms;
  if (c == -1) {
    for (Term& t : out) t.coefficient = -t.coefficient;
  } else {
    for (Term& t : out) t.coefficient *= c;
  }
  return make_poly(std::move(out));
}

PolyRef Context::neg(const PolyRef& a) { return scale(a, Coefficient(-1)); }
PolyRef Context::sub(const PolyRef& a, const PolyRef& b) { return add(a, neg(b)); }

PolyRef Context::mul(const PolyRef& a, const PolyRef& b) {
  if (a->is_zero() || b->is_zero()) return zero_;
  if (a->is_constant()) return scale(b, a->constant_value());
  if (b->is_constant()) return scale(a, b->constant_value());
  if (a->terms.size() == 1 || b->terms.size() == 1) {
    // Multiplying by one term maps distinct monomials to distinct monomials,
    // so nothing merges and nothing cancels; the order is usually kept too.
    const Term& m = a->terms.size() == 1 ? a->terms.front() : b->terms.front();
    const PolyRef& many = a->terms.size() == 1 ? b : a;
    std::vector<Term> out;
    out.reserve(many->terms.size());
    for (const Term& t : many->terms) out.push_back(Term{multiply(t.monomial, m.monomial), t.coefficient * m.coefficient});
    auto by_monomial = [](const Term& x, const Term& y) { return x.monomial < y.monomial; };
    if (!std::is_sorted(out.begin(), out.end(), by_monomial)) std::sort(out.begin(), out.end(), by_monomial);
    return make_poly(std::move(out));
  }
  std::vector<Term> out;
  out.reserve(a->terms.size() * b->terms.size());
  for (const Term& s : a->terms)
    for (const Term& t : b->terms) out.push_back(Term{multiply(s.monomial, t.monomial), s.coefficient * t.coefficient});
  return from_terms(std::move(out));
}

Context::Content Context::content(const PolyRef& a) {
  if (a->is_zero()) return {Coefficient(0), {}, zero_};
  // Monomial content: the lowest power of each atom, counting absent atoms as power 0.
  Monomial g = a->terms.front().monomial;
  for (const Term& t : a->terms) {
    Monomial next;
    for (const Factor& f : g) {
      auto it = std::lower_bound(t.monomial.begin(), t.monomial.end(), f,
                                 [](const Factor& x, const Factor& y) { return x.atom < y.atom; });
      const int e = it != t.monomial.end() && it->atom == f.atom ? it->exponent : 0;
      const int low = std::min(e, f.exponent);
      if (low != 0) next.push_back({f.atom, low});
    }
    g = std::move(next);
  }
  // Rational content: gcd of numerators over lcm of denominators, signed so the first coefficient is positive.
  Coefficient c = small_content(*a);
  if (c.sign() == 0) {  // did not fit in 64 bits
    Integer num = 0, den = 1;
    for (const Term& t : a->terms) {
      num = gcd(num, t.coefficient.numerator());
      const Integer d = t.coefficient.denominator();
      den = den / gcd(den, d) * d;
    }
    c = Coefficient(Rational(num, den));
  }
  const Monomial g_inv = power(g, -1);
  std::vector<Term> rest;
  rest.reserve(a->terms.size());
  for (const Term& t : a->terms) rest.push_back(Term{multiply(t.monomial, g_inv), t.coefficient / c});
  // Signed so the first term with atoms is positive (y₁ + y₂ − 1 rather than 1 − y₁ − y₂).
  PolyRef primitive = from_terms(std::move(rest));
  const auto& terms = primitive->terms;
  const Term& lead = terms.front().monomial.empty() && terms.size() > 1 ? terms[1] : terms.front();
  if (lead.coefficient.sign() < 0) return {-c, g, neg(primitive)};
  return {c, g, primitive};
}

PolyRef Context::inverse_monomial(const Term& t) { return monomial_poly(power(t.monomial, -1), 1 / t.coefficient); }

PolyRef Context::div(const PolyRef& a, const PolyRef& b) {
  if (b->is_zero()) throw std::domain_error("division by zero");
  if (b->terms.size() == 1) return mul(a, inverse_monomial(b->terms.front()));
  if (a == b || equal(*a, *b)) return one_;
  if (a->terms.size() == b->terms.size()) {
    // a = ca·ga·P and b = cb·gb·P: the quotient is a monomial.
    const Content ca = content(a), cb = content(b);
    if (equal(*ca.rest, *cb.rest))
      return monomial_poly(multiply(ca.monomial, power(cb.monomial, -1)), ca.coefficient / cb.coefficient);
  }
  auto it = inverse_cache_.find(b.get());
  if (it == inverse_cache_.end()) {
    const Content cb = content(b);
    Monomial inv = power(cb.monomial, -1);
    inv = multiply(inv, Monomial{Factor{defined_atom(cb.rest), -1}});
    it = inverse_cache_.emplace(b.get(), std::make_pair(b, monomial_poly(inv, 1 / cb.coefficient))).first;
  }
  return mul(a, it->second.second);
}

PolyRef Context::pow(const PolyRef& a, long k) {
  if (k == 0) return one_;
  if (k < 0) return div(one_, pow(a, -k));
  if (a->terms.size() == 1) {
    if (k > kMaxExponent) throw std::overflow_error("symbolic exponent out of range");
    const Term& t = a->terms.front();
    const auto e = static_cast<unsigned>(k);
    const Rational c(boost::multiprecision::pow(t.coefficient.numerator(), e),
                     boost::multiprecision::pow(t.coefficient.denominator(), e));
    return monomial_poly(power(t.monomial, static_cast<int>(k)), c);
  }
  PolyRef result = one_, base = a;
  for (unsigned long e = static_cast<unsigned long>(k); e; e >>= 1) {
    if (e & 1) result = mul(result, base);
    if (e > 1) base = mul(base, base);
  }
  return result;
}

PolyRef Context::exp(const PolyRef& a) {
  Monomial product;
  PolyRef extra = one_;  // factors u^k from exp(k·log u)
  for (const Term& t : a->terms) {
    const Coefficient& c = t.coefficient;
    const Integer p = c.numerator();
    const Integer q = c.denominator();
    if (t.monomial.size() == 1 && t.monomial[0].exponent == 1 && atoms_[t.monomial[0].atom].kind == AtomKind::Log &&
        q == 1 && boost::multiprecision::abs(p) <= 64) {
      extra = mul(extra, pow(atoms_[t.monomial[0].atom].arg, p.convert_to<long>()));
      continue;
    }
    if (boost::multiprecision::abs(p) > kMaxExponent) {
      product = multiply(product, Monomial{Factor{exp_atom(monomial_poly(t.monomial, c)), 1}});
    } else {
      const AtomId e = exp_atom(monomial_poly(t.monomial, Rational(Integer(1), q)));
      product = multiply(product, Monomial{Factor{e, p.convert_to<std::int32_t>()}});
    }
  }
  return mul(monomial_poly(product, Coefficient(1)), extra);
}

PolyRef Context::log(const PolyRef& a) {
  if (a->is_zero()) throw std::domain_error("log of 0");
  if (a->is_constant()) {
    const Coefficient c = a->constant_value();
    if (c.sign() < 0) throw std::domain_error(fmt::format("log of the negative constant {}", to_string(c)));
    if (c == 1) return zero_;
    return atom_poly(log_atom(a));
  }
  if (a->terms.size() > 1) {
    // log(c·g·P) = log c + log g + log P when c > 0 and g is positive.
    const Content ct = content(a);
    if (ct.coefficient.sign() > 0 && is_positive(ct.monomial)) {
      PolyRef head = monomial_poly(ct.monomial, ct.coefficient);
      return add(log(head), atom_poly(log_atom(ct.rest)));
    }
    return atom_poly(log_atom(a));
  }
  // One term c·m: split off the positive factors.
  const Term& t = a->terms.front();
  PolyRef result = zero_;
  Monomial rest;
  for (const Factor& f : t.monomial) {
    const Atom& at = atoms_[f.atom];
    if (at.kind == AtomKind::Exp) {
      result = add(result, scale(at.arg, Coefficient(f.exponent)));
    } else if (at.positive) {
      const PolyRef of = at.kind == AtomKind::Defined ? at.arg : atom_poly(f.atom);
      result = add(result, scale(atom_poly(log_atom(of)), Coefficient(f.exponent)));
    } else {
      rest.push_back(f);
    }
  }
  if (t.coefficient.sign() > 0) {
    if (t.coefficient != 1) result = add(result, atom_poly(log_atom(constant(t.coefficient))));
    if (!rest.empty()) result = add(result, atom_poly(log_atom(monomial_poly(rest, Coefficient(1)))));
  } else {
    if (rest.empty()) throw std::domain_error("log of a negative quantity");
    result = add(result, atom_poly(log_atom(monomial_poly(rest, t.coefficient))));
  }
  return result;
}

bool Context::atom_depends_on(AtomId atom, AtomId var) {
  if (atom == var) return true;
  if (atom < var) return false;  // an atom's argument holds only atoms made before it
  if (!atoms_[atom].arg) return false;
  if (depends_cache_.size() <= var) depends_cache_.resize(var + 1);
  auto& cache = depends_cache_[var];
  if (cache.size() < atoms_.size()) cache.resize(atoms_.size(), 0);
  if (cache[atom]) return cache[atom] == 2;
  // Arguments hold only smaller ids, so filling the cache upward from var is iterative.
  for (AtomId a = var + 1; a <= atom; ++a) {
    if (cache[a]) continue;
    bool dep = false;
    if (const PolyRef& arg = atoms_[a].arg)
      for (const Term& t : arg->terms)
        for (const Factor& f : t.monomial) dep = dep || f.atom == var || (f.atom > var && cache[f.atom] == 2);
    cache[a] = dep ? 2 : 1;
  }
  return cache[atom] == 2;
}

bool Context::depends_on(const PolyRef& a, AtomId var) {
  for (const Term& t : a->terms)
    for (const Factor& f : t.monomial)
      if (atom_depends_on(f.atom, var)) return true;
  return false;
}

PolyRef Context::substitute(const PolyRef& a, AtomId var, const PolyRef& replacement) {
  if (!depends_on(a, var)) return a;
  // The atoms that depend on var, rebuilt with var replaced, in id order
  // (arguments before the atoms that contain them).
  std::unordered_map<AtomId, PolyRef> rebuilt;
  auto image = [&](AtomId id) -> PolyRef {
    if (id == var) return replacement;
    auto it = rebuilt.find(id);
    return it == rebuilt.end() ? nullptr : it->second;
  };
  auto apply = [&](const PolyRef& p) {
    PolyRef out = zero_;
    std::vector<Term> untouched;
    for (const Term& t : p->terms) {
      PolyRef term = nullptr;
      Monomial keep;
      for (const Factor& f : t.monomial) {
        if (PolyRef r = image(f.atom)) {
          if (f.exponent < 0 && f.atom == var)
            throw std::invalid_argument("cannot substitute a variable that occurs in a denominator");
          PolyRef power_of = f.exponent == 1 ? r : pow(r, f.exponent);
          term = term ? mul(term, power_of) : power_of;
        } else {
          keep.push_back(f);
        }
      }
      if (term) out = add(out, mul(term, monomial_poly(keep, t.coefficient)));
      else untouched.push_back(t);
    }
    return add(out, from_terms(std::move(untouched)));
  };
  std::vector<AtomId> needed;
  for (const Term& t : a->terms)
    for (const Factor& f : t.monomial)
      if (f.atom != var && atom_depends_on(f.atom, var)) needed.push_back(f.atom);
  // Collect every dependent atom reachable through arguments.
  for (std::size_t k = 0; k < needed.size(); ++k)
    for (const Term& t : atoms_[needed[k]].arg->terms)
      for (const Factor& f : t.monomial)
        if (f.atom != var && atom_depends_on(f.atom, var)) needed.push_back(f.atom);
  std::sort(needed.begin(), needed.end());
  needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
  for (AtomId id : needed) {
    const Atom at = atoms_[id];  // copy: building atoms may grow the table
    const PolyRef arg = apply(at.arg);
    switch (at.kind) {
      case AtomKind::Exp: rebuilt[id] = exp(arg); break;
      case AtomKind::Log: rebuilt[id] = log(arg); break;
      case AtomKind::Defined: rebuilt[id] = arg; break;
      default: break;
    }
  }
  return apply(a);
}

// ---- Value ---------------------------------------------------------------------

namespace {
thread_local Context* g_current = nullptr;
}

ContextScope::ContextScope(Context& c) : previous_(g_current) { g_current = &c; }
ContextScope::~ContextScope() { g_current = previous_; }
Context& current_context() {
  if (!g_current) throw std::logic_error("symbolic arithmetic outside a ContextScope");
  return *g_current;
}

Value::Value() : poly_(current_context().zero()) {}
Value::Value(int c) : poly_(current_context().constant(Coefficient(c))) {}
Value::Value(const Rational& c) : poly_(current_context().constant(c)) {}

Value operator+(const Value& a, const Value& b) { return Value(current_context().add(a.poly_, b.poly_)); }
Value operator-(const Value& a, const Value& b) { return Value(current_context().sub(a.poly_, b.poly_)); }
Value operator*(const Value& a, const Value& b) { return Value(current_context().mul(a.poly_, b.poly_)); }
Value operator/(const Value& a, const Value& b) { return Value(current_context().div(a.poly_, b.poly_)); }
Value operator-(const Value& a) { return Value(current_context().neg(a.poly_)); }
Value exp(const Value& a) { return Value(current_context().exp(a.poly_)); }
Value log(const Value& a) { return Value(current_context().log(a.poly_)); }

Value TermSum::result() && { return Value(current_context().from_terms(std::move(terms_))); }

}  // namespace ddx::sym
