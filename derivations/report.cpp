#include "derivations/report.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "derivations/graph_figure.hpp"
#include "derivations/inputs.hpp"
#include "derivations/mathml.hpp"

namespace ddx::report {

namespace {
bool verdicts_pass(const Section& section) {
  for (const Block& b : section.blocks)
    if (const auto* v = std::get_if<Verdict>(&b); v && !v->passed) return false;
  return std::all_of(section.subsections.begin(), section.subsections.end(), verdicts_pass);
}
}  // namespace

bool all_verdicts_pass(const Report& report) {
  return std::all_of(report.sections.begin(), report.sections.end(), verdicts_pass);
}

Steps steps_from_proof(const Proof& proof) {
  Steps out;
  for (const ProofStep& s : proof.steps) {
    Step step{.rule = s.rule,
              .before = Math{s.latex_before, s.before},
              .after = Math{s.latex_after, s.after},
              .uses = s.uses,
              .check_passed = std::nullopt,
              .check = s.numeric_check};
    if (!s.numeric_check.empty() && s.numeric_check != "not checked") step.check_passed = s.numeric_check_passed;
    out.steps.push_back(std::move(step));
  }
  return out;
}

// ---- UTF-8 ------------------------------------------------------------------

namespace {

// Decodes UTF-8; an invalid byte becomes U+FFFD.
std::vector<char32_t> decode(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    char32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = true;
    for (std::size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!ok) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += n;
  }
  return out;
}

bool is_combining(char32_t c) {
  return (c >= 0x300 && c <= 0x36F) || (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x20D0 && c <= 0x20FF);
}

// Unicode → LaTeX math. Subscripts and superscripts are handled separately.
const std::map<char32_t, std::string>& math_symbols() {
  static const std::map<char32_t, std::string> m = {
      {U'α', "\\alpha"},   {U'β', "\\beta"},   {U'γ', "\\gamma"},  {U'δ', "\\delta"},   {U'ε', "\\varepsilon"},
      {U'ϵ', "\\epsilon"}, {U'ζ', "\\zeta"},   {U'η', "\\eta"},    {U'θ', "\\theta"},   {U'ι', "\\iota"},
      {U'κ', "\\kappa"},   {U'λ', "\\lambda"}, {U'μ', "\\mu"},     {U'ν', "\\nu"},      {U'ξ', "\\xi"},
      {U'π', "\\pi"},      {U'ρ', "\\rho"},    {U'σ', "\\sigma"},  {U'ς', "\\varsigma"}, {U'τ', "\\tau"},
      {U'υ', "\\upsilon"}, {U'φ', "\\varphi"}, {U'ϕ', "\\phi"},    {U'χ', "\\chi"},     {U'ψ', "\\psi"},
      {U'ω', "\\omega"},   {U'Γ', "\\Gamma"},  {U'Δ', "\\Delta"},  {U'Θ', "\\Theta"},   {U'Λ', "\\Lambda"},
      {U'Ξ', "\\Xi"},      {U'Π', "\\Pi"},     {U'Σ', "\\Sigma"},  {U'Υ', "\\Upsilon"}, {U'Φ', "\\Phi"},
      {U'Ψ', "\\Psi"},     {U'Ω', "\\Omega"},  {U'∂', "\\partial"}, {U'∑', "\\sum"},    {U'∏', "\\prod"},
      {U'−', "-"},         {U'·', "\\cdot"},   {U'⋅', "\\cdot"},   {U'×', "\\times"},   {U'≈', "\\approx"},
      {U'≤', "\\le"},      {U'≥', "\\ge"},     {U'≠', "\\neq"},    {U'∞', "\\infty"},   {U'→', "\\to"},
      {U'←', "\\leftarrow"}, {U'⇒', "\\Rightarrow"}, {U'↦', "\\mapsto"}, {U'…', "\\ldots"}, {U'⋯', "\\cdots"},
      {U'±', "\\pm"},      {U'∈', "\\in"},     {U'∇', "\\nabla"},  {U'√', "\\surd"},    {U'≡', "\\equiv"},
      {U'∼', "\\sim"},     {U'∘', "\\circ"},   {U'⊙', "\\odot"},   {U'⊗', "\\otimes"},  {U'′', "'"},
      {U'ℓ', "\\ell"},     {U'∅', "\\emptyset"}, {U'∀', "\\forall"}, {U'∃', "\\exists"}, {U'⟨', "\\langle"},
      {U'⟩', "\\rangle"},  {U'‖', "\\|"},      {U'∣', "\\mid"},    {U'∝', "\\propto"},  {U'≪', "\\ll"},
      {U'≫', "\\gg"},      {U'✓', "\\checkmark"}, {U'✗', "\\times"}, {U'°', "^{\\circ}"}, {U'ℝ', "\\mathbb{R}"},
      {U'ḡ', "\\bar{g}"},  {U'ȳ', "\\bar{y}"},  {U'ā', "\\bar{a}"}, {U'ē', "\\bar{e}"}, {U'ō', "\\bar{o}"},
      {U'ū', "\\bar{u}"},  {U'ỹ', "\\tilde{y}"}, {U'ñ', "\\tilde{n}"}, {U'õ', "\\tilde{o}"}, {U'ã', "\\tilde{a}"},
      {U'ŷ', "\\hat{y}"},  {U'ẑ', "\\hat{z}"},  {U'ĝ', "\\hat{g}"}, {U'ż', "\\dot{z}"}, {U'⁡', ""},
      {U'\u00A0', "~"},    {U'\u2009', "\\,"}, {U'\u202F', "\\,"}};
  return m;
}

// Subscript (-1) or superscript (+1) characters and what they stand for.
std::optional<std::pair<int, char>> script_char(char32_t c) {
  if (c >= U'₀' && c <= U'₉') return std::make_pair(-1, static_cast<char>('0' + (c - U'₀')));
  if (c == U'⁰') return std::make_pair(1, '0');
  if (c == U'¹') return std::make_pair(1, '1');
  if (c == U'²') return std::make_pair(1, '2');
  if (c == U'³') return std::make_pair(1, '3');
  if (c >= U'⁴' && c <= U'⁹') return std::make_pair(1, static_cast<char>('4' + (c - U'⁴')));
  static const std::map<char32_t, std::pair<int, char>> letters = {
      {U'₊', {-1, '+'}}, {U'₋', {-1, '-'}}, {U'₌', {-1, '='}}, {U'₍', {-1, '('}}, {U'₎', {-1, ')'}},
      {U'ₐ', {-1, 'a'}}, {U'ₑ', {-1, 'e'}}, {U'ₒ', {-1, 'o'}}, {U'ₓ', {-1, 'x'}}, {U'ₕ', {-1, 'h'}},
      {U'ₖ', {-1, 'k'}}, {U'ₗ', {-1, 'l'}}, {U'ₘ', {-1, 'm'}}, {U'ₙ', {-1, 'n'}}, {U'ₚ', {-1, 'p'}},
      {U'ₛ', {-1, 's'}}, {U'ₜ', {-1, 't'}}, {U'ᵢ', {-1, 'i'}}, {U'ⱼ', {-1, 'j'}}, {U'ᵣ', {-1, 'r'}},
      {U'ᵤ', {-1, 'u'}}, {U'ᵥ', {-1, 'v'}}, {U'⁺', {1, '+'}},  {U'⁻', {1, '-'}},  {U'⁼', {1, '='}},
      {U'⁽', {1, '('}},  {U'⁾', {1, ')'}},  {U'ⁿ', {1, 'n'}},  {U'ⁱ', {1, 'i'}},  {U'ᵀ', {1, 'T'}}};
  if (auto it = letters.find(c); it != letters.end()) return it->second;
  return std::nullopt;
}

std::string accent_command(char32_t combining) {
  switch (combining) {
    case 0x304: case 0x305: return "\\bar";
    case 0x303: return "\\tilde";
    case 0x302: return "\\hat";
    case 0x307: return "\\dot";
    case 0x308: return "\\ddot";
    case 0x20D7: return "\\vec";
    default: return "";
  }
}

// A command word from the table ("\\partial") needs a space before a following letter.
void append_math(std::string& out, const std::string& piece, bool& after_command) {
  if (piece.empty()) return;
  if (after_command && std::isalpha(static_cast<unsigned char>(piece.front()))) out += ' ';
  out += piece;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool is_text_command(const std::string& name) {
  return name == "text" || name == "textrm" || name == "textit" || name == "textbf" || name == "mbox";
}

}  // namespace

std::string latex_escape_text(std::string_view text);

namespace {

// Math-mode conversion of code points [begin, end). Inside \text{…} the
// content is text: LaTeX's specials are escaped there (the engine writes
// \text{why} with a free-form message) and Unicode is mapped as in text.
std::string math_ascii(const std::vector<char32_t>& cps, std::size_t begin, std::size_t end) {
  std::string out;
  bool after_command = false;
  int depth = 0, text_depth = 0;  // brace depth, and the depth of the \text group we are in (0: none)
  std::size_t i = begin;
  while (i < end) {
    const char32_t c = cps[i];
    if (c == '\\' && text_depth == 0 && i + 1 < end && cps[i + 1] < 0x80 && std::isalpha(static_cast<int>(cps[i + 1]))) {
      std::string name;
      std::size_t j = i + 1;
      while (j < end && cps[j] < 0x80 && std::isalpha(static_cast<int>(cps[j]))) name += static_cast<char>(cps[j++]);
      out += "\\" + name;
      after_command = false;
      i = j;
      if (is_text_command(name) && i < end && cps[i] == '{') {
        out += '{';
        text_depth = ++depth;
        ++i;
      }
      continue;
    }
    if (c == '\\' && text_depth == 0 && i + 1 < end && cps[i + 1] < 0x80) {  // \{ \} \, \\ ...
      out += '\\';
      out += static_cast<char>(cps[i + 1]);
      after_command = false;
      i += 2;
      continue;
    }
    if (c == '{') ++depth;
    if (c == '}') {
      if (depth == text_depth) text_depth = 0;
      --depth;
    }
    if (text_depth > 0 && c != '{' && c != '}') {
      if (c == '\\' && i + 1 < end) {  // already escaped: \% \_ \\ ...
        out += '\\';
        append_utf8(out, cps[i + 1]);
        i += 2;
        continue;
      }
      if (c >= 0x80) {
        std::string run;
        while (i < end && cps[i] >= 0x80) append_utf8(run, cps[i++]);
        out += latex_escape_text(run);
        continue;
      }
      if (c == '%' || c == '#' || c == '&' || c == '_' || c == '$') out += '\\';
      if (c == '^' || c == '~') {
        out += c == '^' ? "\\textasciicircum{}" : "\\textasciitilde{}";
        ++i;
        continue;
      }
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (auto sc = script_char(c)) {  // a run of subscripts (or superscripts) becomes one group
      const int kind = sc->first;
      std::string run;
      while (i < end) {
        auto next = script_char(cps[i]);
        if (!next || next->first != kind) break;
        run += next->second;
        ++i;
      }
      out += (kind < 0 ? "_{" : "^{") + run + "}";
      after_command = false;
      continue;
    }
    std::string piece;
    if (c < 0x80) {
      piece = std::string(1, static_cast<char>(c));
    } else if (auto it = math_symbols().find(c); it != math_symbols().end()) {
      piece = it->second;
    } else if (is_combining(c)) {
      piece = "";  // a combining mark with no base
    } else {
      piece = "?";
    }
    ++i;
    while (i < end && is_combining(cps[i])) {
      const std::string accent = accent_command(cps[i]);
      if (!accent.empty()) piece = accent + "{" + piece + "}";
      ++i;
    }
    append_math(out, piece, after_command);
    after_command = c >= 0x80 && !piece.empty() && piece.front() == '\\' &&
                    std::isalpha(static_cast<unsigned char>(piece.back()));
  }
  return out;
}

// Text-mode characters that need no math.
const std::map<char32_t, std::string>& text_symbols() {
  static const std::map<char32_t, std::string> m = {
      {U'—', "---"},       {U'–', "--"},        {U'‘', "`"},        {U'’', "'"},          {U'“', "``"},
      {U'”', "''"},        {U'«', "<<"},        {U'»', ">>"},       {U'•', "\\textbullet{}"}, {U'§', "\\S{}"},
      {U'é', "\\'e"},      {U'è', "\\`e"},      {U'à', "\\`a"},     {U'á', "\\'a"},       {U'ü', "\\\"u"},
      {U'ö', "\\\"o"},     {U'ä', "\\\"a"},     {U'ç', "\\c{c}"},   {U'ß', "\\ss{}"},     {U'\u00A0', "~"},
      {U'\u2009', "\\,"},  {U'\u202F', "\\,"},  {U'\uFEFF', ""},    {U'\u2061', ""}};
  return m;
}

bool math_in_text(const std::vector<char32_t>& cps, std::size_t i) {
  const char32_t c = cps[i];
  if (c < 0x80) return i + 1 < cps.size() && is_combining(cps[i + 1]) && std::isalpha(static_cast<int>(c));
  if (text_symbols().count(c)) return false;
  return true;  // math symbols, scripts, combining marks, and unknown characters ("?")
}

}  // namespace

namespace {

// TeX rejects a double superscript (e^{x}^{-1}, which the engine prints for
// (e^x)^{-1}) or subscript; an empty group between them makes it valid:
// e^{x}{}^{-1}.
std::string separate_double_scripts(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    out += c;
    if (c == '\\' && i + 1 < s.size()) {
      out += s[++i];
      continue;
    }
    if ((c != '^' && c != '_') || i + 1 >= s.size() || s[i + 1] != '{') continue;
    std::size_t j = i + 1;
    int depth = 0;
    for (; j < s.size(); ++j) {
      if (s[j] == '\\') {
        ++j;
        continue;
      }
      if (s[j] == '{') ++depth;
      if (s[j] == '}' && --depth == 0) break;
    }
    if (j >= s.size()) continue;
    std::size_t k = j + 1;
    while (k < s.size() && s[k] == ' ') ++k;
    if (k < s.size() && s[k] == c) {
      out += s.substr(i + 1, j - i);
      out += "{}";
      i = j;
    }
  }
  return out;
}

}  // namespace

std::string latex_math_ascii(std::string_view latex) {
  const std::vector<char32_t> cps = decode(latex);
  return separate_double_scripts(math_ascii(cps, 0, cps.size()));
}

std::string latex_escape_text(std::string_view text) {
  const std::vector<char32_t> cps = decode(text);
  std::string out;
  std::size_t i = 0;
  while (i < cps.size()) {
    const char32_t c = cps[i];
    if (math_in_text(cps, i)) {
      std::size_t j = i;
      while (j < cps.size() && (math_in_text(cps, j) || is_combining(cps[j]))) ++j;
      out += "$" + math_ascii(cps, i, j) + "$";
      i = j;
      continue;
    }
    ++i;
    if (c >= 0x80) {
      out += text_symbols().at(c);
      continue;
    }
    switch (c) {
      case '#': out += "\\#"; break;
      case '$': out += "\\$"; break;
      case '%': out += "\\%"; break;
      case '&': out += "\\&"; break;
      case '_': out += "\\_"; break;
      case '{': out += "\\{"; break;
      case '}': out += "\\}"; break;
      case '~': out += "\\textasciitilde{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      case '\\': out += "\\textbackslash{}"; break;
      // In math: the OT1 text font has no < > | glyphs.
      case '<': out += "$<$"; break;
      case '>': out += "$>$"; break;
      case '|': out += "$|$"; break;
      case '\n': out += "\n"; break;
      default: out += static_cast<char>(c);
    }
  }
  return out;
}

std::size_t display_width(std::string_view text) {
  std::size_t w = 0;
  for (char32_t c : decode(text))
    if (!is_combining(c) && c != 0x2061 && c != 0xFEFF) ++w;
  return w;
}

// ---- shared walking -----------------------------------------------------------

namespace {

// Equation numbers by label, and the running counters of one rendering.
class Numbering {
 public:
  explicit Numbering(const Report& r) {
    int n = 0;
    for (const Section& s : r.sections) collect(s, n);
  }
  int label(const std::string& l) const {
    auto it = labels_.find(l);
    if (it == labels_.end()) throw std::invalid_argument("report: reference to unknown equation label \"" + l + "\"");
    return it->second;
  }
  int next_equation() { return ++equation_; }
  int next_table() { return ++table_; }
  int next_figure() { return ++figure_; }

 private:
  std::map<std::string, int> labels_;
  int equation_ = 0, table_ = 0, figure_ = 0;

  void collect(const Section& s, int& n) {
    for (const Block& b : s.blocks) {
      if (const auto* d = std::get_if<DisplayMath>(&b)) {
        ++n;
        if (!d->label.empty() && !labels_.emplace(d->label, n).second)
          throw std::invalid_argument("report: equation label \"" + d->label + "\" used twice");
      }
    }
    for (const Section& sub : s.subsections) collect(sub, n);
  }
};

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

std::string cell_text(const Cell& c) {
  return std::visit(overloaded{[](const std::string& s) { return s; }, [](const Math& m) { return m.text; }}, c);
}

bool has_verdicts(const Table& t) {
  return std::any_of(t.rows.begin(), t.rows.end(), [](const Row& r) { return r.passed.has_value(); });
}

std::string pad_right(const std::string& s, std::size_t width) {
  const std::size_t w = display_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

// ---- text -------------------------------------------------------------------------

class TextRenderer {
 public:
  explicit TextRenderer(const Report& r) : r_(r), n_(r) {}

  std::string run() {
    out_ += r_.title + "\n" + std::string(display_width(r_.title), '=') + "\n";
    if (!r_.summary.empty()) out_ += "\n" + r_.summary + "\n";
    for (const Section& s : r_.sections) section(s, 1);
    return out_;
  }

 private:
  const Report& r_;
  Numbering n_;
  std::string out_;

  void section(const Section& s, int level) {
    const char rule = level == 1 ? '-' : '~';
    out_ += "\n" + s.title + "\n" + std::string(display_width(s.title), rule) + "\n";
    for (const Block& b : s.blocks) {
      out_ += "\n";
      std::visit([&](const auto& x) { block(x); }, b);
    }
    for (const Section& sub : s.subsections) section(sub, level + 1);
  }

  std::string runs(const std::vector<Inline>& rs) {
    std::string o;
    for (const Inline& run : rs) {
      std::visit(overloaded{[&](const Text& t) { o += t.text; }, [&](const Math& m) { o += m.text; },
                            [&](const Code& c) { o += "`" + c.text + "`"; },
                            [&](const Emphasis& e) { o += "*" + e.text + "*"; },
                            [&](const Ref& f) { o += fmt::format("({})", n_.label(f.label)); }},
                 run);
    }
    return o;
  }

  void block(const Paragraph& p) { out_ += runs(p.runs) + "\n"; }

  void block(const DisplayMath& d) {
    const std::string number = fmt::format("({})", n_.next_equation());
    const std::string line = "    " + d.math.text;
    const std::size_t w = display_width(line);
    out_ += line + std::string(w + 4 < 72 ? 72 - w : 4, ' ') + number + "\n";
  }

  void block(const Steps& s) {
    const std::string* previous = nullptr;
    for (std::size_t k = 0; k < s.steps.size(); ++k) {
      const Step& st = s.steps[k];
      const std::string head = fmt::format("  {}. ", k + 1);
      const std::string pad(head.size(), ' ');
      out_ += head + st.rule + "\n";
      if (!st.before.text.empty() && (!previous || *previous != st.before.text)) out_ += pad + "  " + st.before.text + "\n";
      out_ += pad + "= " + st.after.text + "\n";
      if (!st.uses.empty()) out_ += pad + "uses: " + st.uses + "\n";
      if (st.check_passed) out_ += pad + "check: " + (*st.check_passed ? "[pass] " : "[FAIL] ") + st.check + "\n";
      else if (!st.check.empty()) out_ += pad + "check: " + st.check + "\n";
      previous = &st.after.text;
    }
  }

  void block(const Table& t) {
    out_ += fmt::format("Table {}: {}\n", n_.next_table(), t.caption);
    const bool verdicts = has_verdicts(t);
    std::vector<std::vector<std::string>> grid;
    std::vector<std::string> header = t.header;
    if (verdicts) header.insert(header.begin(), "");
    grid.push_back(header);
    for (const Row& row : t.rows) {
      std::vector<std::string> cells;
      if (verdicts) cells.push_back(row.passed ? (*row.passed ? "[pass]" : "[FAIL]") : "");
      for (const Cell& c : row.cells) cells.push_back(cell_text(c));
      grid.push_back(std::move(cells));
    }
    std::size_t columns = 0;
    for (const auto& r : grid) columns = std::max(columns, r.size());
    std::vector<std::size_t> width(columns, 0);
    for (const auto& r : grid)
      for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], display_width(r[c]));
    auto line = [&](const std::vector<std::string>& r) {
      std::string l = " ";
      for (std::size_t c = 0; c < columns; ++c) {
        const std::string cell = c < r.size() ? r[c] : "";
        l += " " + (c + 1 == columns ? cell : pad_right(cell, width[c]) + " ");
      }
      while (!l.empty() && l.back() == ' ') l.pop_back();
      return l + "\n";
    };
    out_ += line(grid[0]);
    std::string rule = " ";
    for (std::size_t c = 0; c < columns; ++c) rule += " " + std::string(width[c], '-') + (c + 1 == columns ? "" : " ");
    out_ += rule + "\n";
    for (std::size_t r = 1; r < grid.size(); ++r) out_ += line(grid[r]);
  }

  void block(const Figure& f) {
    out_ += fmt::format("Figure {}: {}\n", n_.next_figure(), f.caption);
    if (f.dot.empty()) {
      out_ += "  (a chart: --format html draws it)\n";
      return;
    }
    out_ += "  (Graphviz DOT source; draw it with `dot -Tsvg`)\n";
    out_ += indent(f.dot, "    ");
  }

  void block(const Verdict& v) { out_ += std::string("Verdict: ") + (v.passed ? "[pass] " : "[FAIL] ") + v.text + "\n"; }

  void block(const CodeBlock& c) { out_ += indent(c.text, "    "); }
};

// ---- Markdown -----------------------------------------------------------------------

// Plain text in Markdown: backslash-escape the characters GitHub would read as
// markup ($ starts math on GitHub).
std::string md_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\`*_[]<>#|$~").find(c) != std::string_view::npos) out += '\\';
    if (c == '\n') {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out;
}

// A code span whose delimiters are longer than any backtick run inside.
std::string md_code_span(std::string_view s, std::string_view before = "`", std::string_view after = "`") {
  std::size_t longest = 0, run = 0;
  for (char c : s) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  std::string text(s);
  std::replace(text.begin(), text.end(), '\n', ' ');
  if (longest == 0) return std::string(before) + text + std::string(after);
  const std::string ticks(longest + 1, '`');
  return std::string(before.substr(0, before.size() - 1)) + ticks + " " + text + " " + ticks +
         std::string(after.substr(1));
}

std::string md_fence(std::string_view content, std::string_view language) {
  std::size_t longest = 0, run = 0;
  for (char c : content) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(std::max<std::size_t>(3, longest + 1), '`');
  std::string body(content);
  if (!body.empty() && body.back() != '\n') body += '\n';
  return fence + std::string(language) + "\n" + body + fence + "\n";
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

class MarkdownRenderer {
 public:
  explicit MarkdownRenderer(const Report& r) : r_(r), n_(r) {}

  std::string run() {
    out_ += "# " + md_escape(r_.title) + "\n";
    if (!r_.summary.empty()) out_ += "\n" + md_escape(r_.summary) + "\n";
    for (const Section& s : r_.sections) section(s, 2);
    return out_;
  }

 private:
  const Report& r_;
  Numbering n_;
  std::string out_;

  void section(const Section& s, int level) {
    out_ += "\n" + std::string(std::min(level, 6), '#') + " " + md_escape(s.title) + "\n";
    for (const Block& b : s.blocks) {
      out_ += "\n";
      std::visit([&](const auto& x) { block(x); }, b);
    }
    for (const Section& sub : s.subsections) section(sub, level + 1);
  }

  // Inline math is written $`…`$, GitHub's delimiter for inline math whose
  // content is a code span: Markdown does not touch it (no backslash
  // escapes eaten, no _ or * read as emphasis), where plain $…$ is parsed as
  // Markdown first and breaks on \{, \\ or a_b*c.
  static std::string inline_math(const Math& m) { return md_code_span(one_line(m.latex), "$`", "`$"); }

  std::string runs(const std::vector<Inline>& rs) {
    std::string o;
    for (const Inline& run : rs) {
      std::visit(overloaded{[&](const Text& t) { o += md_escape(t.text); }, [&](const Math& m) { o += inline_math(m); },
                            [&](const Code& c) { o += md_code_span(c.text); },
                            [&](const Emphasis& e) { o += "*" + md_escape(e.text) + "*"; },
                            [&](const Ref& f) { o += fmt::format("({})", n_.label(f.label)); }},
                 run);
    }
    return o;
  }

  void block(const Paragraph& p) { out_ += runs(p.runs) + "\n"; }

  // Display math goes in a ```math fence: the fence's content is not
  // Markdown, so no escaping can go wrong, and it needs no blank-line rules
  // ($$…$$ must sit on lines of its own and its content is still subject to
  // Markdown's backslash escapes on GitHub). The number is set with \qquad,
  // which every renderer of GitHub math supports (\tag is not).
  void block(const DisplayMath& d) {
    const int number = n_.next_equation();
    out_ += md_fence(one_line(d.math.latex) + fmt::format(" \\qquad ({})", number), "math");
  }

  void block(const Steps& s) {
    const std::string* previous = nullptr;
    for (std::size_t k = 0; k < s.steps.size(); ++k) {
      const Step& st = s.steps[k];
      out_ += fmt::format("{}. **{}**", k + 1, md_escape(st.rule));
      if (!st.before.latex.empty() && (!previous || *previous != st.before.latex)) out_ += ": " + inline_math(st.before) + " becomes";
      out_ += "\n\n" + indent(md_fence(one_line(st.after.latex), "math"), "   ");
      if (!st.uses.empty()) out_ += "\n   uses: " + md_escape(st.uses) + "\n";
      if (st.check_passed) out_ += std::string("\n   check: ") + (*st.check_passed ? "✓ pass — " : "✗ **FAIL** — ") + md_escape(st.check) + "\n";
      else if (!st.check.empty()) out_ += "\n   check: " + md_escape(st.check) + "\n";
      out_ += "\n";
      previous = &st.after.latex;
    }
    while (out_.size() >= 2 && out_[out_.size() - 1] == '\n' && out_[out_.size() - 2] == '\n') out_.pop_back();
  }

  // In a pipe table a | splits cells even inside code spans; GitHub's table
  // parser removes the backslash of \| before the span is read.
  static std::string pipe_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '|') out += '\\';
      out += c;
    }
    return out;
  }
  static std::string md_cell(const Cell& c) {
    return std::visit(overloaded{[](const std::string& s) { return md_escape(s); },
                                 [](const Math& m) { return pipe_escape(inline_math(m)); }},
                      c);
  }

  void block(const Table& t) {
    out_ += fmt::format("**Table {}.** {}\n\n", n_.next_table(), md_escape(t.caption));
    const bool verdicts = has_verdicts(t);
    std::size_t columns = t.header.size();
    for (const Row& r : t.rows) columns = std::max(columns, r.cells.size());
    std::string head = "|", rule = "|";
    if (verdicts) {
      head += " result |";
      rule += " --- |";
    }
    for (std::size_t c = 0; c < columns; ++c) {
      head += " " + (c < t.header.size() ? md_escape(t.header[c]) : std::string()) + " |";
      rule += " --- |";
    }
    out_ += head + "\n" + rule + "\n";
    for (const Row& r : t.rows) {
      std::string line = "|";
      if (verdicts) line += r.passed ? (*r.passed ? " ✓ pass |" : " ✗ **FAIL** |") : " |";
      for (std::size_t c = 0; c < columns; ++c) line += " " + (c < r.cells.size() ? md_cell(r.cells[c]) : "") + " |";
      out_ += line + "\n";
    }
  }

  // GitHub does not render inline SVG nor DOT: the figure is its DOT source,
  // which keeps the Markdown self-contained.
  void block(const Figure& f) {
    out_ += fmt::format("**Figure {}.** {}\n\n", n_.next_figure(), md_escape(f.caption));
    if (f.dot.empty()) {
      out_ += "*A chart: `--format html` draws it.*\n";
      return;
    }
    out_ += md_fence(f.dot, "dot");
    out_ += "\n*Graphviz DOT source: draw it with `dot -Tsvg`.*\n";
  }

  void block(const Verdict& v) {
    out_ += std::string("> **Verdict: ") + (v.passed ? "✓ passed" : "✗ FAILED") + "** — " + md_escape(v.text) + "\n";
  }

  void block(const CodeBlock& c) { out_ += md_fence(c.text, c.language); }
};

// ---- LaTeX -------------------------------------------------------------------------

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// A preformatted block: verbatim when it is ASCII (verbatim cannot map
// Unicode), else a monospace block with every line escaped.
std::string latex_preformatted(std::string_view text) {
  if (is_ascii(text) && text.find("\\end{verbatim}") == std::string_view::npos) {
    std::string body(text);
    if (!body.empty() && body.back() != '\n') body += '\n';
    return "\\begin{verbatim}\n" + body + "\\end{verbatim}\n";
  }
  std::string out = "\\begin{flushleft}\\ttfamily\\small\n";
  std::size_t start = 0;
  std::vector<std::string> lines;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    if (end == text.size()) break;
    start = end + 1;
  }
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (std::size_t k = 0; k < lines.size(); ++k) {
    std::string line;
    for (char c : latex_escape_text(lines[k])) line += c == ' ' ? std::string("~") : std::string(1, c);
    out += "\\mbox{}" + line + (k + 1 < lines.size() ? "\\\\\n" : "\n");
  }
  return out + "\\end{flushleft}\n";
}

class LatexRenderer {
 public:
  explicit LatexRenderer(const Report& r) : r_(r), n_(r) {}

  std::string run() {
    out_ +=
        "\\documentclass[11pt]{article}\n"
        "\\usepackage[utf8]{inputenc}\n"
        "\\usepackage{amsmath}\n"
        "\\usepackage{amssymb}\n"
        "\\usepackage[margin=2.5cm]{geometry}\n"
        "\\setlength{\\parindent}{0pt}\n"
        "\\setlength{\\parskip}{0.6em}\n"
        "\\allowdisplaybreaks\n";
    out_ += "\\title{" + latex_escape_text(r_.title) + "}\n\\date{}\n\\begin{document}\n\\maketitle\n";
    if (!r_.summary.empty()) out_ += "\n" + latex_escape_text(r_.summary) + "\n";
    for (const Section& s : r_.sections) section(s, 1);
    out_ += "\n\\end{document}\n";
    return out_;
  }

 private:
  const Report& r_;
  Numbering n_;
  std::string out_;

  void section(const Section& s, int level) {
    static const char* commands[] = {"section", "subsection", "subsubsection", "paragraph"};
    out_ += fmt::format("\n\\{}*{{{}}}\n", commands[std::min(level, 4) - 1], latex_escape_text(s.title));
    for (const Block& b : s.blocks) {
      out_ += "\n";
      std::visit([&](const auto& x) { block(x); }, b);
    }
    for (const Section& sub : s.subsections) section(sub, level + 1);
  }

  static std::string inline_math(const Math& m) { return "$" + latex_math_ascii(one_line(m.latex)) + "$"; }

  std::string runs(const std::vector<Inline>& rs) {
    std::string o;
    for (const Inline& run : rs) {
      std::visit(overloaded{[&](const Text& t) { o += latex_escape_text(t.text); },
                            [&](const Math& m) { o += inline_math(m); },
                            [&](const Code& c) { o += "\\texttt{" + latex_escape_text(c.text) + "}"; },
                            [&](const Emphasis& e) { o += "\\emph{" + latex_escape_text(e.text) + "}"; },
                            [&](const Ref& f) { o += fmt::format("({})", n_.label(f.label)); }},
                 run);
    }
    return o;
  }

  void block(const Paragraph& p) { out_ += runs(p.runs) + "\n"; }

  // equation* with \tag keeps the numbers the same as in the other formats.
  void block(const DisplayMath& d) {
    out_ += fmt::format("\\begin{{equation*}}\n{}\n\\tag{{{}}}\n\\end{{equation*}}\n", latex_math_ascii(d.math.latex),
                        n_.next_equation());
  }

  void block(const Steps& s) {
    if (s.steps.empty()) return;
    out_ += "\\begin{enumerate}\n";
    const std::string* previous = nullptr;
    for (const Step& st : s.steps) {
      out_ += "\\item \\textbf{" + latex_escape_text(st.rule) + "}";
      if (!st.before.latex.empty() && (!previous || *previous != st.before.latex)) out_ += ": " + inline_math(st.before) + " becomes";
      out_ += "\n\\[\n" + latex_math_ascii(st.after.latex) + "\n\\]\n";
      if (!st.uses.empty()) out_ += "uses: " + latex_escape_text(st.uses) + "\\\\\n";
      if (st.check_passed) out_ += std::string("check: ") + (*st.check_passed ? "$\\checkmark$ pass --- " : "\\textbf{FAIL} --- ") + latex_escape_text(st.check) + "\n";
      else if (!st.check.empty()) out_ += "check: " + latex_escape_text(st.check) + "\n";
      previous = &st.after.latex;
    }
    out_ += "\\end{enumerate}\n";
  }

  static std::string cell(const Cell& c) {
    return std::visit(overloaded{[](const std::string& s) { return latex_escape_text(one_line(s)); },
                                 [](const Math& m) { return inline_math(m); }},
                      c);
  }

  void block(const Table& t) {
    const bool verdicts = has_verdicts(t);
    std::size_t columns = t.header.size();
    for (const Row& r : t.rows) columns = std::max(columns, r.cells.size());
    out_ += fmt::format("\\textbf{{Table {}.}} {}\n\n", n_.next_table(), latex_escape_text(t.caption));
    out_ += "\\begin{center}\n\\begin{tabular}{" + std::string(verdicts ? "l" : "") + std::string(columns, 'l') + "}\n\\hline\n";
    std::string head;
    if (verdicts) head += "\\textbf{result}";
    for (std::size_t c = 0; c < columns; ++c) {
      if (c > 0 || verdicts) head += " & ";
      head += "\\textbf{" + (c < t.header.size() ? latex_escape_text(t.header[c]) : std::string()) + "}";
    }
    out_ += head + " \\\\\n\\hline\n";
    for (const Row& r : t.rows) {
      std::string line;
      if (verdicts) line += r.passed ? (*r.passed ? "pass" : "\\textbf{FAIL}") : "";
      for (std::size_t c = 0; c < columns; ++c) {
        if (c > 0 || verdicts) line += " & ";
        if (c < r.cells.size()) line += cell(r.cells[c]);
      }
      out_ += line + " \\\\\n";
    }
    out_ += "\\hline\n\\end{tabular}\n\\end{center}\n";
  }

  // pdflatex cannot embed SVG without extra tools: the figure is its DOT source.
  void block(const Figure& f) {
    out_ += fmt::format("\\textbf{{Figure {}.}} {}\n", n_.next_figure(), latex_escape_text(f.caption));
    if (f.dot.empty()) {
      out_ += "(A chart: \\texttt{--format html} draws it.)\n";
      return;
    }
    out_ += "(Graphviz DOT source; draw it with \\texttt{dot -Tpdf}.)\n";
    out_ += latex_preformatted(f.dot);
  }

  void block(const Verdict& v) {
    out_ += std::string("\\textbf{Verdict: ") + (v.passed ? "passed" : "FAILED") + ".} " + latex_escape_text(v.text) + "\n";
  }

  void block(const CodeBlock& c) { out_ += latex_preformatted(c.text); }
};

// ---- HTML --------------------------------------------------------------------------

const char* kStyle = R"(body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #1b1b1b; }
h1 { border-bottom: 2px solid #ccc; padding-bottom: .3rem; }
.summary { font-size: 1.05rem; color: #333; }
.equation { display: flex; align-items: center; margin: 1rem 0; }
.equation math { flex: 1; }
.eqno { margin-left: 1rem; color: #555; }
math { font-size: 1.1em; }
mtext.unknown { color: #b00; }
ol.steps > li { margin-bottom: .8rem; }
.rule { font-weight: bold; font-family: ui-monospace, monospace; }
.uses, .check { font-size: .95em; color: #333; }
.pass { color: #176b2c; }
.fail { color: #b00020; font-weight: bold; }
table { border-collapse: collapse; margin: 1rem 0; }
caption { text-align: left; font-weight: bold; padding-bottom: .3rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }
tr.pass td:first-child { border-left: 4px solid #2e9d4b; }
tr.fail td:first-child { border-left: 4px solid #d32f2f; }
tr.fail { background: #fdecea; }
figure { margin: 1rem 0; overflow-x: auto; }
figcaption { font-weight: bold; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; }
.verdict { padding: .6rem 1rem; border-radius: 4px; margin: 1rem 0; }
.verdict.pass { background: #e7f5ea; }
.verdict.fail { background: #fdecea; }
)";

class HtmlRenderer {
 public:
  explicit HtmlRenderer(const Report& r) : r_(r), n_(r) {}

  std::string run() {
    out_ += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    out_ += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out_ += "<title>" + xml_escape(r_.title) + "</title>\n<style>\n" + kStyle + "</style>\n</head>\n<body>\n";
    out_ += "<h1>" + xml_escape(r_.title) + "</h1>\n";
    if (!r_.summary.empty()) out_ += "<p class=\"summary\">" + xml_escape(r_.summary) + "</p>\n";
    for (const Section& s : r_.sections) section(s, 2);
    out_ += "</body>\n</html>\n";
    return out_;
  }

 private:
  const Report& r_;
  Numbering n_;
  std::string out_;

  void section(const Section& s, int level) {
    const int h = std::min(level, 6);
    out_ += fmt::format("<section>\n<h{0}>{1}</h{0}>\n", h, xml_escape(s.title));
    for (const Block& b : s.blocks) std::visit([&](const auto& x) { block(x); }, b);
    for (const Section& sub : s.subsections) section(sub, level + 1);
    out_ += "</section>\n";
  }

  static std::string math_xml(const Math& m, bool display) { return latex_to_mathml(m.latex, display, m.text).xml; }

  std::string runs(const std::vector<Inline>& rs) {
    std::string o;
    for (const Inline& run : rs) {
      std::visit(overloaded{[&](const Text& t) { o += xml_escape(t.text); }, [&](const Math& m) { o += math_xml(m, false); },
                            [&](const Code& c) { o += "<code>" + xml_escape(c.text) + "</code>"; },
                            [&](const Emphasis& e) { o += "<em>" + xml_escape(e.text) + "</em>"; },
                            [&](const Ref& f) {
                              const int n = n_.label(f.label);
                              o += fmt::format("<a href=\"#eq-{0}\">({0})</a>", n);
                            }},
                 run);
    }
    return o;
  }

  void block(const Paragraph& p) { out_ += "<p>" + runs(p.runs) + "</p>\n"; }

  void block(const DisplayMath& d) {
    const int n = n_.next_equation();
    out_ += fmt::format("<div class=\"equation\" id=\"eq-{}\">{}<span class=\"eqno\">({})</span></div>\n", n,
                        math_xml(d.math, true), n);
  }

  void block(const Steps& s) {
    out_ += "<ol class=\"steps\">\n";
    const std::string* previous = nullptr;
    for (const Step& st : s.steps) {
      out_ += "<li><span class=\"rule\">" + xml_escape(st.rule) + "</span>";
      if (!st.before.latex.empty() && (!previous || *previous != st.before.latex)) out_ += ": " + math_xml(st.before, false) + " becomes";
      out_ += "\n" + math_xml(st.after, true) + "\n";
      if (!st.uses.empty()) out_ += "<div class=\"uses\">uses: " + xml_escape(st.uses) + "</div>\n";
      if (st.check_passed)
        out_ += std::string("<div class=\"check ") + (*st.check_passed ? "pass\">✓ pass — " : "fail\">✗ FAIL — ") + xml_escape(st.check) + "</div>\n";
      else if (!st.check.empty()) out_ += "<div class=\"check\">" + xml_escape(st.check) + "</div>\n";
      out_ += "</li>\n";
      previous = &st.after.latex;
    }
    out_ += "</ol>\n";
  }

  static std::string cell(const Cell& c) {
    return std::visit(overloaded{[](const std::string& s) { return xml_escape(s); },
                                 [](const Math& m) { return math_xml(m, false); }},
                      c);
  }

  void block(const Table& t) {
    const bool verdicts = has_verdicts(t);
    out_ += fmt::format("<table>\n<caption>Table {}. {}</caption>\n<thead><tr>", n_.next_table(), xml_escape(t.caption));
    if (verdicts) out_ += "<th>result</th>";
    for (const std::string& h : t.header) out_ += "<th>" + xml_escape(h) + "</th>";
    out_ += "</tr></thead>\n<tbody>\n";
    for (const Row& r : t.rows) {
      out_ += r.passed ? (*r.passed ? "<tr class=\"pass\">" : "<tr class=\"fail\">") : "<tr>";
      if (verdicts) out_ += r.passed ? (*r.passed ? "<td>✓ pass</td>" : "<td>✗ FAIL</td>") : "<td></td>";
      for (const Cell& c : r.cells) out_ += "<td>" + cell(c) + "</td>";
      out_ += "</tr>\n";
    }
    out_ += "</tbody>\n</table>\n";
  }

  void block(const Figure& f) {
    out_ += "<figure>\n";
    if (!f.svg.empty()) out_ += svg_body(f.svg) + "\n";
    else out_ += "<pre class=\"dot\">" + xml_escape(f.dot) + "</pre>\n";
    out_ += fmt::format("<figcaption>Figure {}. {}</figcaption>\n</figure>\n", n_.next_figure(), xml_escape(f.caption));
  }

  static std::string svg_body(const std::string& svg) { return svg_for_html(svg); }

  void block(const Verdict& v) {
    out_ += std::string("<div class=\"verdict ") + (v.passed ? "pass\"><strong>Verdict: ✓ passed.</strong> " : "fail\"><strong>Verdict: ✗ FAILED.</strong> ") +
            xml_escape(v.text) + "</div>\n";
  }

  void block(const CodeBlock& c) {
    out_ += "<pre><code" + (c.language.empty() ? std::string() : " class=\"language-" + xml_escape(c.language) + "\"") + ">" +
            xml_escape(c.text) + "</code></pre>\n";
  }
};


// ---- JSON -----------------------------------------------------------------------------

using Json = nlohmann::ordered_json;

Json math_json(const Math& m) { return Json{{"latex", m.latex}, {"text", m.text}}; }

Json cell_json(const Cell& c) {
  return std::visit(overloaded{[](const std::string& s) { return Json{{"type", "text"}, {"text", s}}; },
                               [](const Math& m) { return Json{{"type", "math"}, {"latex", m.latex}, {"text", m.text}}; }},
                    c);
}

class JsonRenderer {
 public:
  explicit JsonRenderer(const Report& r) : r_(r), n_(r) {}

  std::string run() {
    Json j;
    j["name"] = r_.name;
    j["title"] = r_.title;
    j["summary"] = r_.summary;
    j["sections"] = Json::array();
    for (const Section& s : r_.sections) j["sections"].push_back(section(s));
    return j.dump(2) + "\n";
  }

 private:
  const Report& r_;
  Numbering n_;

  Json section(const Section& s) {
    Json j;
    j["title"] = s.title;
    j["blocks"] = Json::array();
    for (const Block& b : s.blocks) j["blocks"].push_back(std::visit([&](const auto& x) { return block(x); }, b));
    j["subsections"] = Json::array();
    for (const Section& sub : s.subsections) j["subsections"].push_back(section(sub));
    return j;
  }

  Json block(const Paragraph& p) {
    Json runs = Json::array();
    for (const Inline& run : p.runs) {
      runs.push_back(std::visit(
          overloaded{[](const Text& t) { return Json{{"type", "text"}, {"text", t.text}}; },
                     [](const Math& m) { return Json{{"type", "math"}, {"latex", m.latex}, {"text", m.text}}; },
                     [](const Code& c) { return Json{{"type", "code"}, {"text", c.text}}; },
                     [](const Emphasis& e) { return Json{{"type", "emphasis"}, {"text", e.text}}; },
                     [&](const Ref& f) { return Json{{"type", "ref"}, {"label", f.label}, {"number", n_.label(f.label)}}; }},
          run));
    }
    return Json{{"type", "paragraph"}, {"runs", runs}};
  }

  Json block(const DisplayMath& d) {
    return Json{{"type", "display_math"}, {"number", n_.next_equation()}, {"label", d.label}, {"math", math_json(d.math)}};
  }

  Json block(const Steps& s) {
    Json steps = Json::array();
    for (const Step& st : s.steps) {
      Json j{{"rule", st.rule}, {"before", math_json(st.before)}, {"after", math_json(st.after)}, {"uses", st.uses}};
      j["check_passed"] = st.check_passed ? Json(*st.check_passed) : Json(nullptr);
      j["check"] = st.check;
      steps.push_back(std::move(j));
    }
    return Json{{"type", "steps"}, {"steps", steps}};
  }

  Json block(const Table& t) {
    Json rows = Json::array();
    for (const Row& r : t.rows) {
      Json cells = Json::array();
      for (const Cell& c : r.cells) cells.push_back(cell_json(c));
      rows.push_back(Json{{"cells", cells}, {"passed", r.passed ? Json(*r.passed) : Json(nullptr)}});
    }
    return Json{{"type", "table"}, {"number", n_.next_table()}, {"caption", t.caption}, {"header", t.header}, {"rows", rows}};
  }

  Json block(const Figure& f) {
    return Json{{"type", "figure"}, {"number", n_.next_figure()}, {"caption", f.caption}, {"dot", f.dot}, {"svg", f.svg}};
  }

  Json block(const Verdict& v) { return Json{{"type", "verdict"}, {"passed", v.passed}, {"text", v.text}}; }

  Json block(const CodeBlock& c) { return Json{{"type", "code"}, {"language", c.language}, {"text", c.text}}; }
};

}  // namespace

std::string render_text(const Report& report) { return TextRenderer(report).run(); }
std::string render_markdown(const Report& report) { return MarkdownRenderer(report).run(); }
std::string render_latex(const Report& report) { return LatexRenderer(report).run(); }
std::string render_html(const Report& report) { return HtmlRenderer(report).run(); }
std::string render_json(const Report& report) { return JsonRenderer(report).run(); }

const std::vector<std::string>& formats() {
  static const std::vector<std::string> f = {"text", "md", "tex", "html", "json"};
  return f;
}

void require_format(std::string_view format) {
  if (std::find(formats().begin(), formats().end(), format) != formats().end()) return;
  throw InputError(fmt::format("--format: '{}' is not one of {}", format, join(formats())));
}

std::string render(const Report& report, std::string_view format) {
  require_format(format);
  if (format == "text") return render_text(report);
  if (format == "md") return render_markdown(report);
  if (format == "tex") return render_latex(report);
  if (format == "html") return render_html(report);
  return render_json(report);
}

}  // namespace ddx::report
