#include "engine/symbolic/decide.hpp"

#include <fmt/format.h>
#include <optional>
#include <stdexcept>

namespace ddx::sym {

Elimination elimination_of(Context& ctx, const Hypothesis& h) {
  // The last-made symbol that occurs only as a bare term c·v, and not inside any other atom.
  const auto& terms = h.difference->terms;
  for (auto it = terms.rbegin(); it != terms.rend(); ++it) {
    if (it->monomial.size() != 1 || it->monomial[0].exponent != 1) continue;
    const AtomId v = it->monomial[0].atom;
    if (ctx.atom(v).kind != AtomKind::Symbol) continue;
    bool elsewhere = false;
    for (const Term& t : terms) {
      if (&t == &*it) continue;
      for (const Factor& f : t.monomial) elsewhere = elsewhere || ctx.atom_depends_on(f.atom, v);
    }
    if (elsewhere) continue;
    // v = −(h − c·v)/c
    const PolyRef rest = ctx.sub(h.difference, ctx.monomial_poly(it->monomial, it->coefficient));
    return {v, ctx.scale(rest, Coefficient(-1) / it->coefficient)};
  }
  throw std::invalid_argument(fmt::format("hypothesis '{}' has no symbol that occurs in it linearly", h.text));
}

void prepare(Context& ctx, std::vector<Hypothesis>& hypotheses) {
  for (Hypothesis& h : hypotheses) {
    const Elimination e = elimination_of(ctx, h);
    h.symbol = e.symbol;
    h.replacement = e.replacement;
  }
}

PolyRef apply_hypotheses(Context& ctx, const PolyRef& p, const std::vector<Hypothesis>& hypotheses,
                         std::vector<std::string>* used) {
  PolyRef out = p;
  for (const Hypothesis& h : hypotheses) {
    const Elimination e = h.symbol ? Elimination{*h.symbol, h.replacement} : elimination_of(ctx, h);
    if (!ctx.depends_on(out, e.symbol)) continue;
    // The symbol may sit in a denominator: multiply it out first (zero-ness is preserved).
    int lowest = 0;
    for (const Term& t : out->terms)
      for (const Factor& f : t.monomial)
        if (f.atom == e.symbol) lowest = std::min(lowest, f.exponent);
    if (lowest < 0) out = ctx.mul(out, ctx.atom_poly(e.symbol, -lowest));
    out = ctx.substitute(out, e.symbol, e.replacement);
    if (used) used->push_back(h.text);
  }
  return out;
}

namespace {

// Multiplies p by the monomial that makes every exponent nonnegative.
PolyRef clear_denominators(Context& ctx, const PolyRef& p) {
  Monomial lcd;
  for (const Term& t : p->terms)
    for (const Factor& f : t.monomial)
      if (f.exponent < 0) {
        auto it = std::lower_bound(lcd.begin(), lcd.end(), f, [](const Factor& a, const Factor& b) { return a.atom < b.atom; });
        if (it != lcd.end() && it->atom == f.atom) it->exponent = std::max(it->exponent, -f.exponent);
        else lcd.insert(it, Factor{f.atom, -f.exponent});
      }
  return lcd.empty() ? p : ctx.mul(p, ctx.monomial_poly(lcd, Coefficient(1)));
}

// The defined atom with the largest id that occurs in p, if any.
std::optional<AtomId> last_defined_atom(const Context& ctx, const PolyRef& p) {
  std::optional<AtomId> last;
  for (const Term& t : p->terms)
    for (const Factor& f : t.monomial)
      if (ctx.atom(f.atom).kind == AtomKind::Defined && (!last || f.atom > *last)) last = f.atom;
  return last;
}

}  // namespace

Decision Decider::decide(const PolyRef& p) {
  if (p->terms.size() < 2) return decide_zero(ctx_, p, hypotheses_);
  const Context::Content c = ctx_.content(p);
  auto [lo, hi] = memo_.equal_range(c.rest->hash);
  for (auto it = lo; it != hi; ++it) {
    if (!equal(*it->second.first, *c.rest)) continue;
    Decision d = it->second.second;
    // The reduced form scales back by the content.
    d.reduced = ctx_.mul(d.reduced, ctx_.monomial_poly(c.monomial, c.coefficient));
    return d;
  }
  Decision d = decide_zero(ctx_, c.rest, hypotheses_);
  memo_.emplace(c.rest->hash, std::make_pair(c.rest, d));
  d.reduced = ctx_.mul(d.reduced, ctx_.monomial_poly(c.monomial, c.coefficient));
  return d;
}

Decision decide_zero(Context& ctx, const PolyRef& p, const std::vector<Hypothesis>& hypotheses) {
  Decision d;
  d.reduced = apply_hypotheses(ctx, p, hypotheses, &d.used);
  if (d.reduced->is_zero()) {
    d.zero = true;
    return d;
  }
  // Unfold the defined atoms, last-made first (a definition only holds atoms
  // made before it), so the loop ends after at most one pass per atom.
  PolyRef q = d.reduced;
  for (int round = 0; round < 256; ++round) {
    const auto atom = last_defined_atom(ctx, q);
    if (!atom) break;
    d.unfolded = true;
    q = clear_denominators(ctx, q);
    q = ctx.substitute(q, *atom, ctx.atom(*atom).arg);
    q = apply_hypotheses(ctx, q, hypotheses);
    if (q->is_zero()) break;
  }
  d.zero = q->is_zero();
  return d;
}

}  // namespace ddx::sym
