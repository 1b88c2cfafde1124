#include "engine/symbolic/print.hpp"

#include <fmt/format.h>

namespace ddx::sym {

namespace {

// base^{k}; a base that has a superscript of its own (e^{x}) is parenthesised,
// since e^{x}^{k} is not valid LaTeX.
std::string latex_power(const std::string& base, int k) {
  if (base.find('^') != std::string::npos) return fmt::format("\\left({}\\right)^{{{}}}", base, k);
  return fmt::format("{}^{{{}}}", base, k);
}


// k written with the given glyphs for 0..9 and the minus sign.
std::string with_glyphs(long k, const char* const (&digits)[10], const char* minus) {
  std::string out;
  for (char c : std::to_string(k)) out += c == '-' ? minus : digits[c - '0'];
  return out;
}

std::string superscript(long k) {
  static const char* const digits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
  return with_glyphs(k, digits, "⁻");
}

}  // namespace

std::string subscript(long k) {
  static const char* const digits[] = {"₀", "₁", "₂", "₃", "₄", "₅", "₆", "₇", "₈", "₉"};
  return with_glyphs(k, digits, "₋");
}

namespace {

std::string coefficient_latex(const Coefficient& c) { return to_latex(c); }

}  // namespace

void Printer::set_families(const Graph& g) {
  for (NodeId v : g.variables())
    if (g.shape(v).rank == 1) set_family_size(g.attr(v).name, g.shape(v).dims[0]);
}

void Printer::name_elements(const std::string& name, const std::vector<Value>& elements) {
  for (std::size_t k = 0; k < elements.size(); ++k) {
    const auto& terms = elements[k].poly()->terms;
    if (terms.size() != 1 || terms[0].coefficient != 1 || terms[0].monomial.empty()) continue;
    const bool one = elements.size() == 1;
    add_alias({terms[0].monomial, one ? name : name + subscript(static_cast<long>(k) + 1),
               one ? name : fmt::format("{}_{{{}}}", name, k + 1)});
  }
}

std::string Printer::atom_text(AtomId id, bool latex) const {
  if (auto it = names_.find(id); it != names_.end()) return latex ? it->second.second : it->second.first;
  const Atom& a = ctx_.atom(id);
  switch (a.kind) {
    case AtomKind::Symbol: {
      if (a.row < 0 && a.col < 0) return a.name;
      if (latex) {
        return a.row < 0 ? fmt::format("{}_{{{}}}", a.name, a.col + 1)
                         : fmt::format("{}_{{{},{}}}", a.name, a.row + 1, a.col + 1);
      }
      return a.row < 0 ? a.name + subscript(a.col + 1)
                       : a.name + subscript(a.row + 1) + "," + subscript(a.col + 1);
    }
    case AtomKind::Exp: return latex ? fmt::format("e^{{{}}}", render(a.arg, true)) : fmt::format("exp({})", render(a.arg, false));
    case AtomKind::Log: return latex ? fmt::format("\\log\\left({}\\right)", render(a.arg, true)) : fmt::format("log({})", render(a.arg, false));
    case AtomKind::Defined: return latex ? fmt::format("\\left({}\\right)", render(a.arg, true)) : fmt::format("({})", render(a.arg, false));
    default: return fmt::format("{}%{}[{}]", a.name, a.row, a.col);
  }
}

std::string Printer::monomial(const Monomial& m_in, bool latex) const {
  Monomial m = m_in;
  std::vector<std::string> parts;
  // Aliases first, greedily: take out as many whole copies as fit.
  for (const Alias& alias : aliases_) {
    int times = 1 << 20;
    for (const Factor& f : alias.monomial) {
      auto it = std::find_if(m.begin(), m.end(), [&](const Factor& g) { return g.atom == f.atom; });
      const int have = it == m.end() ? 0 : it->exponent;
      times = (have == 0 || (have > 0) != (f.exponent > 0)) ? 0 : std::min(times, have / f.exponent);
    }
    if (times <= 0) continue;
    m = multiply(m, power(alias.monomial, -times));
    const std::string name = latex ? alias.latex : alias.text;
    parts.push_back(times == 1 ? name : latex ? latex_power(name, times) : name + superscript(times));
  }
  for (const Factor& f : m) {
    const std::string base = atom_text(f.atom, latex);
    if (f.exponent == 1) parts.push_back(base);
    else if (latex) parts.push_back(latex_power(base, f.exponent));
    else parts.push_back(base + superscript(f.exponent));
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : latex ? " " : "·") + p;
  return out;
}

std::string Printer::render(const PolyRef& p, bool latex) const {
  if (p->is_zero()) return "0";
  // Σ shortening: whole families of bare symbols with one coefficient.
  std::vector<bool> skip(p->terms.size(), false);
  std::vector<std::pair<Coefficient, std::string>> items;
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> bare;  // (family, coefficient) → terms
  for (std::size_t k = 0; k < p->terms.size(); ++k) {
    const Term& t = p->terms[k];
    if (t.monomial.size() != 1 || t.monomial[0].exponent != 1) continue;
    const Atom& a = ctx_.atom(t.monomial[0].atom);
    if (a.kind == AtomKind::Symbol && a.row < 0 && a.col >= 0) bare[{a.name, to_string(t.coefficient)}].push_back(k);
  }
  for (const auto& [key, idx] : bare) {
    auto fam = families_.find(key.first);
    if (fam == families_.end() || fam->second < min_family || static_cast<long>(idx.size()) != fam->second) continue;
    for (std::size_t k : idx) skip[k] = true;
    const std::string sum = latex ? fmt::format("\\sum_{{j}} {}_{{j}}", key.first) : fmt::format("Σⱼ {}ⱼ", key.first);
    items.emplace_back(p->terms[idx.front()].coefficient, sum);
  }
  for (std::size_t k = 0; k < p->terms.size(); ++k)
    if (!skip[k] && !p->terms[k].monomial.empty()) items.emplace_back(p->terms[k].coefficient, monomial(p->terms[k].monomial, latex));
  // The constant term last: y₁ + y₂ − 1 reads better than −1 + y₁ + y₂.
  if (!p->terms.empty() && p->terms.front().monomial.empty()) items.emplace_back(p->terms.front().coefficient, "");
  std::string out;
  for (const auto& [c, m] : items) {
    const bool negative = c.sign() < 0;
    const Coefficient mag = negative ? -c : c;
    std::string body;
    if (m.empty()) body = latex ? coefficient_latex(mag) : to_string(mag);
    else if (mag == 1) body = m;
    else body = (latex ? coefficient_latex(mag) + " " : to_string(mag) + "·") + m;
    if (out.empty()) out = negative ? (latex ? "-" : "−") + body : body;
    else out += (negative ? (latex ? " - " : " − ") : " + ") + body;
  }
  return out;
}

std::string Printer::factored(Context& ctx, const PolyRef& p, bool latex) const {
  if (p->terms.size() <= 1) return render(p, latex);
  const Context::Content c = ctx.content(p);
  std::string head;
  if (c.coefficient == -1) head = latex ? "-" : "−";
  else if (c.coefficient != 1) head = (latex ? coefficient_latex(c.coefficient) + " " : to_string(c.coefficient) + "·");
  const std::string g = monomial(c.monomial, latex);
  if (!g.empty()) head += g + (latex ? " " : "·");
  const std::string rest = render(c.rest, latex);
  if (head.empty()) return rest;
  return head + (latex ? "\\left(" + rest + "\\right)" : "(" + rest + ")");
}

}  // namespace ddx::sym
