#include "derivations/mathml.hpp"

#include <cctype>
#include <map>
#include <optional>

namespace ddx {

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

constexpr int kMaxDepth = 200;

const std::map<std::string, std::string, std::less<>>& greek() {
  static const std::map<std::string, std::string, std::less<>> m = {
      {"alpha", "α"},   {"beta", "β"},     {"gamma", "γ"},   {"delta", "δ"},     {"epsilon", "ϵ"},
      {"varepsilon", "ε"}, {"zeta", "ζ"},  {"eta", "η"},     {"theta", "θ"},     {"vartheta", "ϑ"},
      {"iota", "ι"},    {"kappa", "κ"},    {"lambda", "λ"},  {"mu", "μ"},        {"nu", "ν"},
      {"xi", "ξ"},      {"pi", "π"},       {"varpi", "ϖ"},   {"rho", "ρ"},       {"varrho", "ϱ"},
      {"sigma", "σ"},   {"varsigma", "ς"}, {"tau", "τ"},     {"upsilon", "υ"},   {"phi", "ϕ"},
      {"varphi", "φ"},  {"chi", "χ"},      {"psi", "ψ"},     {"omega", "ω"},     {"Gamma", "Γ"},
      {"Delta", "Δ"},   {"Theta", "Θ"},    {"Lambda", "Λ"},  {"Xi", "Ξ"},        {"Pi", "Π"},
      {"Sigma", "Σ"},   {"Upsilon", "Υ"},  {"Phi", "Φ"},     {"Psi", "Ψ"},       {"Omega", "Ω"},
      {"ell", "ℓ"},     {"infty", "∞"},    {"nabla", "∇"},   {"emptyset", "∅"},  {"hbar", "ℏ"}};
  return m;
}

const std::map<std::string, std::string, std::less<>>& operators() {
  static const std::map<std::string, std::string, std::less<>> m = {
      {"cdot", "⋅"},    {"times", "×"},   {"ne", "≠"},       {"neq", "≠"},     {"le", "≤"},
      {"leq", "≤"},     {"ge", "≥"},      {"geq", "≥"},      {"approx", "≈"},  {"to", "→"},
      {"rightarrow", "→"}, {"leftarrow", "←"}, {"Rightarrow", "⇒"}, {"Leftrightarrow", "⇔"},
      {"mapsto", "↦"},  {"ldots", "…"},   {"dots", "…"},     {"cdots", "⋯"},   {"vdots", "⋮"},
      {"ddots", "⋱"},   {"pm", "±"},      {"mp", "∓"},       {"in", "∈"},      {"notin", "∉"},
      {"equiv", "≡"},   {"sim", "∼"},     {"propto", "∝"},   {"mid", "∣"},     {"circ", "∘"},
      {"otimes", "⊗"},  {"odot", "⊙"},    {"forall", "∀"},   {"exists", "∃"},  {"subset", "⊂"},
      {"cup", "∪"},     {"cap", "∩"},     {"ll", "≪"},       {"gg", "≫"},      {"lvert", "|"},
      {"rvert", "|"},   {"vert", "|"},    {"langle", "⟨"},   {"rangle", "⟩"},  {"colon", ":"},
      {"{", "{"},       {"}", "}"},       {"|", "‖"},        {"lbrace", "{"},  {"rbrace", "}"}};
  return m;
}

// Big operators take their limits below and above (munderover).
const std::map<std::string, std::string, std::less<>>& big_operators() {
  static const std::map<std::string, std::string, std::less<>> m = {
      {"sum", "∑"}, {"prod", "∏"}, {"int", "∫"}, {"bigcup", "⋃"}, {"bigcap", "⋂"}};
  return m;
}

// Named functions: upright, followed by an invisible function application.
// The second member says whether limits go below (\lim, \max, ...).
const std::map<std::string, bool, std::less<>>& functions() {
  static const std::map<std::string, bool, std::less<>> m = {
      {"log", false}, {"ln", false},  {"exp", false},    {"sin", false},    {"cos", false},  {"tan", false},
      {"tanh", false}, {"sinh", false}, {"cosh", false}, {"det", true},     {"dim", false},  {"lim", true},
      {"max", true},  {"min", true},  {"sup", true},     {"inf", true},     {"arg", false},  {"argmax", true},
      {"argmin", true}, {"Pr", true}};
  return m;
}

const std::map<std::string, std::string, std::less<>>& accents() {
  static const std::map<std::string, std::string, std::less<>> m = {
      {"bar", "¯"}, {"overline", "¯"}, {"tilde", "˜"}, {"widetilde", "˜"}, {"hat", "^"}, {"widehat", "^"},
      {"vec", "→"}, {"dot", "˙"}, {"ddot", "¨"}, {"check", "ˇ"}};
  return m;
}

const std::map<std::string, std::string, std::less<>>& spaces() {
  static const std::map<std::string, std::string, std::less<>> m = {
      {",", "0.1667em"}, {":", "0.2222em"}, {">", "0.2222em"}, {";", "0.2778em"}, {" ", "0.25em"},
      {"!", "-0.1667em"}, {"quad", "1em"}, {"qquad", "2em"}, {"enspace", "0.5em"}};
  return m;
}

// Commands that only change style; ignored (the converter keeps the default).
bool is_style_command(std::string_view name) {
  return name == "displaystyle" || name == "textstyle" || name == "scriptstyle" || name == "limits" ||
         name == "nolimits" || name == "nonumber" || name == "notag";
}

bool is_unicode_operator(std::string_view ch) {
  static const char* ops[] = {"−", "·", "⋅", "×", "≈", "≤", "≥", "≠", "→", "←", "…", "∑", "∏",
                              "±", "∈", "≡", "∼", "∂", "⇒", "∘", "⊙", "⊗", "/"};
  for (const char* o : ops)
    if (ch == o) return true;
  return false;
}

std::size_t utf8_length(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c >> 5) == 0x6) return 2;
  if ((c >> 4) == 0xE) return 3;
  if ((c >> 3) == 0x1E) return 4;
  return 1;
}

// Combining marks (U+0300–U+036F, U+1AB0–U+1AFF, U+20D0–U+20FF) stay with
// their base character.
bool is_combining(std::string_view s, std::size_t at) {
  if (at >= s.size()) return false;
  const auto b0 = static_cast<unsigned char>(s[at]);
  if (b0 == 0xCC || (b0 == 0xCD && at + 1 < s.size() && static_cast<unsigned char>(s[at + 1]) < 0xB0)) return true;
  if (b0 == 0xE2 && at + 1 < s.size() && static_cast<unsigned char>(s[at + 1]) == 0x83) {
    const auto b2 = at + 2 < s.size() ? static_cast<unsigned char>(s[at + 2]) : 0;
    return b2 >= 0x90 && b2 <= 0xBF;
  }
  if (b0 == 0xE1 && at + 1 < s.size()) {
    const auto b1 = static_cast<unsigned char>(s[at + 1]);
    return b1 == 0xAA && at + 2 < s.size() && static_cast<unsigned char>(s[at + 2]) >= 0xB0;
  }
  return false;
}

std::string mrow(const std::vector<std::string>& items) {
  if (items.size() == 1) return items.front();
  std::string out = "<mrow>";
  for (const std::string& i : items) out += i;
  return out + "</mrow>";
}

std::string mo(std::string_view op, std::string_view attributes = "") {
  return "<mo" + std::string(attributes) + ">" + xml_escape(op) + "</mo>";
}

// MathML's <mtext> collapses leading and trailing white space; keep it.
std::string mtext(std::string_view text, std::string_view attributes = "") {
  std::string t = xml_escape(text);
  std::string out;
  std::size_t lead = 0, trail = 0;
  while (lead < t.size() && t[lead] == ' ') ++lead;
  while (trail < t.size() - lead && t[t.size() - 1 - trail] == ' ') ++trail;
  for (std::size_t k = 0; k < lead; ++k) out += "\u00A0";
  out += t.substr(lead, t.size() - lead - trail);
  for (std::size_t k = 0; k < trail; ++k) out += "\u00A0";
  return "<mtext" + std::string(attributes) + ">" + out + "</mtext>";
}

class Converter {
 public:
  explicit Converter(std::string_view src) : s_(src) {}

  std::vector<std::string> problems;

  std::string convert() {
    std::vector<std::string> items = sequence(0, Stop::End);
    while (pos_ < s_.size()) {  // a stray closing brace or \right at top level
      const std::size_t start = pos_;
      if (s_[pos_] == '}') {
        ++pos_;
        problems.push_back("unbalanced '}'");
        items.push_back(mtext("}", " class=\"unknown\""));
      } else {
        ++pos_;
        while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
        problems.push_back("unexpected " + std::string(s_.substr(start, pos_ - start)));
        items.push_back(mtext(s_.substr(start, pos_ - start), " class=\"unknown\""));
      }
      std::vector<std::string> more = sequence(0, Stop::End);
      items.insert(items.end(), more.begin(), more.end());
    }
    return mrow(items);
  }

 private:
  enum class Stop { End, Brace, Right, Environment };

  std::string_view s_;
  std::size_t pos_ = 0;

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }

  void skip_space() {
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
  }

  // The command name after a backslash at pos_: letters, or one other character.
  std::string command_name() {
    ++pos_;  // the backslash
    if (at_end()) return "";
    const std::size_t start = pos_;
    if (std::isalpha(static_cast<unsigned char>(s_[pos_]))) {
      while (!at_end() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    } else {
      pos_ += utf8_length(static_cast<unsigned char>(s_[pos_]));
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  std::string peek_command() const {
    if (peek() != '\\' || pos_ + 1 >= s_.size()) return "";
    std::size_t p = pos_ + 1;
    if (!std::isalpha(static_cast<unsigned char>(s_[p]))) return std::string(1, s_[p]);
    const std::size_t start = p;
    while (p < s_.size() && std::isalpha(static_cast<unsigned char>(s_[p]))) ++p;
    return std::string(s_.substr(start, p - start));
  }

  // Source text of a braced group, raw (for \text and friends); pos_ at '{'.
  std::string raw_group() {
    skip_space();
    if (peek() != '{') {  // \text x: one character
      if (at_end()) return "";
      const std::size_t n = utf8_length(static_cast<unsigned char>(s_[pos_]));
      std::string one(s_.substr(pos_, n));
      pos_ += n;
      return one;
    }
    ++pos_;
    int depth = 1;
    std::string out;
    while (!at_end()) {
      const char c = s_[pos_];
      if (c == '\\' && pos_ + 1 < s_.size()) {  // \{ \} \_ \% ... in text
        const char next = s_[pos_ + 1];
        if (std::string_view("{}_%$&#").find(next) != std::string_view::npos) {
          out += next;
          pos_ += 2;
          continue;
        }
        if (next == ' ' || next == ',') {
          out += ' ';
          pos_ += 2;
          continue;
        }
      }
      if (c == '{') ++depth;
      if (c == '}' && --depth == 0) {
        ++pos_;
        return out;
      }
      out += c;
      ++pos_;
    }
    problems.push_back("unbalanced '{'");
    return out;
  }

  // Skips a braced group without converting it (beyond the depth limit).
  std::string skipped_group() {
    const std::size_t start = pos_;
    int depth = 0;
    while (!at_end()) {
      const char c = s_[pos_++];
      if (c == '\\' && !at_end()) {
        ++pos_;
        continue;
      }
      if (c == '{') ++depth;
      if (c == '}' && --depth == 0) break;
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  // One argument: a braced group or a single token.
  std::string argument(int depth) {
    skip_space();
    if (at_end()) {
      problems.push_back("missing argument");
      return "<mrow></mrow>";
    }
    if (peek() == '{') return group(depth);
    std::optional<std::string> a = atom(depth, /*in_script=*/true);
    return a ? *a : "<mrow></mrow>";
  }

  std::string group(int depth) {
    if (depth > kMaxDepth) {
      const std::string raw = skipped_group();
      problems.push_back("nested deeper than " + std::to_string(kMaxDepth));
      return mtext(raw, " class=\"unknown\"");
    }
    ++pos_;  // '{'
    std::vector<std::string> items = sequence(depth + 1, Stop::Brace);
    if (peek() == '}') ++pos_;
    else problems.push_back("unbalanced '{'");
    return "<mrow>" + [&] { std::string o; for (auto& i : items) o += i; return o; }() + "</mrow>";
  }

  std::string delimiter() {
    skip_space();
    if (at_end()) {
      problems.push_back("missing delimiter");
      return "";
    }
    if (peek() == '\\') {
      const std::string name = command_name();
      if (name == "{" || name == "lbrace") return "{";
      if (name == "}" || name == "rbrace") return "}";
      if (name == "|") return "‖";
      auto it = operators().find(name);
      if (it != operators().end()) return it->second;
      problems.push_back("unknown delimiter \\" + name);
      return "\\" + name;
    }
    const char c = s_[pos_++];
    if (c == '.') return "";
    return std::string(1, c);
  }

  // The items up to the stop: a closing brace, \right, \end, or the end.
  std::vector<std::string> sequence(int depth, Stop stop) {
    std::vector<std::string> items;
    while (!at_end()) {
      const char c = peek();
      if (c == '}') {
        if (stop == Stop::Brace) return items;
        return items;  // stray: the caller reports it
      }
      if (c == '\\') {
        const std::string name = peek_command();
        if (name == "right" && (stop == Stop::Right)) return items;
        if (name == "right") return items;
        if ((name == "end" || name == "\\") && stop == Stop::Environment) return items;
        if (name == "end") return items;
      }
      if (c == '&' && stop == Stop::Environment) return items;
      std::optional<std::string> a = atom(depth, false);
      if (!a) continue;
      items.push_back(scripts(std::move(*a), depth));
    }
    return items;
  }

  // Subscripts, superscripts and primes after a base.
  std::string scripts(std::string base, int depth, bool limits = false) {
    std::optional<std::string> sub, sup;
    for (;;) {
      skip_space();
      if (peek() == '_' && !sub) {
        ++pos_;
        sub = argument(depth + 1);
      } else if (peek() == '^' && !sup) {
        ++pos_;
        sup = argument(depth + 1);
      } else if (peek() == '\'' && !sup) {
        std::string primes;
        while (peek() == '\'') {
          primes += "′";
          ++pos_;
        }
        sup = mo(primes);
      } else {
        break;
      }
    }
    std::string out;
    if (sub && sup)
      out = (limits ? "<munderover>" : "<msubsup>") + base + *sub + *sup + (limits ? "</munderover>" : "</msubsup>");
    else if (sub) out = (limits ? "<munder>" : "<msub>") + base + *sub + (limits ? "</munder>" : "</msub>");
    else if (sup) out = (limits ? "<mover>" : "<msup>") + base + *sup + (limits ? "</mover>" : "</msup>");
    else return base;
    // A second script of the same kind (the engine prints e^{x}^{-1}, which
    // TeX calls a double superscript) applies to everything before it:
    // (e^x)^{-1}, as the engine means.
    skip_space();
    if ((peek() == '^' || peek() == '_') && depth < kMaxDepth) return scripts(out, depth + 1);
    return out;
  }

  std::string environment(int depth) {
    const std::string name = raw_group();
    std::string open, close;
    std::string columnalign;
    if (name == "cases") {
      open = "{";
      columnalign = " columnalign=\"left left\"";
    } else if (name == "pmatrix") {
      open = "(";
      close = ")";
    } else if (name == "bmatrix") {
      open = "[";
      close = "]";
    } else if (name == "vmatrix") {
      open = close = "|";
    } else if (name == "matrix" || name == "aligned" || name == "array" || name == "smallmatrix") {
      if (name == "aligned") columnalign = " columnalign=\"right left\"";
      if (name == "array") raw_group();  // the column specification
    } else {
      problems.push_back("unknown environment " + name);
      open = "";
    }
    std::string table = "<mtable" + columnalign + ">";
    bool more_rows = true;
    while (more_rows) {
      std::string row = "<mtr>";
      for (;;) {
        std::vector<std::string> cell = sequence(depth + 1, Stop::Environment);
        row += "<mtd>" + mrow(cell.empty() ? std::vector<std::string>{"<mrow></mrow>"} : cell) + "</mtd>";
        if (peek() == '&') {
          ++pos_;
          continue;
        }
        break;
      }
      row += "</mtr>";
      table += row;
      const std::string next = peek_command();
      if (next == "\\") {
        command_name();
        skip_space();
        if (peek_command() == "end") more_rows = false;
      } else {
        more_rows = false;
      }
    }
    table += "</mtable>";
    if (peek_command() == "end") {
      command_name();
      const std::string end_name = raw_group();
      if (end_name != name) problems.push_back("\\begin{" + name + "} ended by \\end{" + end_name + "}");
    } else {
      problems.push_back("\\begin{" + name + "} without \\end");
    }
    if (!columnalign.empty() && name == "cases") return "<mrow>" + mo("{") + table + "</mrow>";
    if (open.empty() && close.empty()) return table;
    return "<mrow>" + (open.empty() ? "" : mo(open)) + table + (close.empty() ? "" : mo(close)) + "</mrow>";
  }

  // One atom, or nullopt for something that produces nothing (a style command).
  std::optional<std::string> atom(int depth, bool in_script) {
    skip_space();
    if (at_end()) return std::nullopt;
    const char c = s_[pos_];
    if (c == '{') return group(depth);
    if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && pos_ + 1 < s_.size() &&
                                                         std::isdigit(static_cast<unsigned char>(s_[pos_ + 1])))) {
      const std::size_t start = pos_;
      if (in_script) {  // x^23 is x² followed by 3, as in TeX
        ++pos_;
      } else {
        while (!at_end() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) ||
                             (s_[pos_] == '.' && pos_ + 1 < s_.size() &&
                              std::isdigit(static_cast<unsigned char>(s_[pos_ + 1])))))
          ++pos_;
      }
      return "<mn>" + std::string(s_.substr(start, pos_ - start)) + "</mn>";
    }
    if (std::isalpha(static_cast<unsigned char>(c))) {
      std::size_t n = 1;
      while (is_combining(s_, pos_ + n)) n += utf8_length(static_cast<unsigned char>(s_[pos_ + n]));
      std::string id(s_.substr(pos_, n));
      pos_ += n;
      return "<mi>" + xml_escape(id) + "</mi>";
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      std::size_t n = utf8_length(static_cast<unsigned char>(c));
      const std::string ch(s_.substr(pos_, n));
      while (is_combining(s_, pos_ + n)) n += utf8_length(static_cast<unsigned char>(s_[pos_ + n]));
      const std::string all(s_.substr(pos_, n));
      pos_ += n;
      if (ch == "−") return mo("−");
      if (is_unicode_operator(ch) && all == ch) return ch == "∂" ? mo(ch, " rspace=\"0\"") : mo(ch);
      return "<mi>" + xml_escape(all) + "</mi>";
    }
    if (c == '\\') return command(depth, in_script);
    ++pos_;
    switch (c) {
      case '-': return mo("−");
      case '+': case '=': case '<': case '>': case ',': case ';': case ':': case '!': case '/': case '|':
      case '*': case '?':
        return mo(std::string(1, c));
      case '(': case '[': return mo(std::string(1, c));
      case ')': case ']': return mo(std::string(1, c));
      case '~': return std::string("<mspace width=\"0.25em\"/>");
      case '&':
        problems.push_back("'&' outside an environment");
        return mtext("&", " class=\"unknown\"");
      case '^': case '_':
        problems.push_back(std::string("'") + c + "' without a base");
        return scripts_without_base(c, depth);
      default:
        return mo(std::string(1, c));
    }
  }

  std::string scripts_without_base(char c, int depth) {
    --pos_;
    (void)c;
    return scripts("<mrow></mrow>", depth);
  }

  std::optional<std::string> command(int depth, bool in_script) {
    const std::size_t start = pos_;
    const std::string name = command_name();
    if (name.empty()) {
      problems.push_back("trailing backslash");
      return mtext("\\", " class=\"unknown\"");
    }
    if (auto it = greek().find(name); it != greek().end()) {
      const bool upper = std::isupper(static_cast<unsigned char>(name[0]));
      return "<mi" + std::string(upper ? " mathvariant=\"normal\"" : "") + ">" + it->second + "</mi>";
    }
    if (name == "partial") return mo("∂", " rspace=\"0\"");
    if (auto it = operators().find(name); it != operators().end()) {
      if (name == "ldots" || name == "cdots" || name == "dots") return mo(it->second);
      return mo(it->second);
    }
    if (auto it = spaces().find(name); it != spaces().end()) return "<mspace width=\"" + it->second + "\"/>";
    if (name == "\\") {
      problems.push_back("line break '\\\\' outside an environment");
      return mtext("\\\\", " class=\"unknown\"");
    }
    if (name == "_" || name == "%" || name == "$" || name == "#" || name == "&") return mo(name);
    if (auto it = big_operators().find(name); it != big_operators().end()) {
      if (in_script) return mo(it->second);
      return scripts(mo(it->second, " movablelimits=\"true\""), depth, true);
    }
    if (auto it = functions().find(name); it != functions().end()) {
      const std::string fn = "<mi>" + name + "</mi>";
      if (in_script) return fn;
      std::string with_scripts = scripts(fn, depth, it->second);
      return with_scripts + mo("\u2061");
    }
    if (name == "operatorname") {
      const std::string text = raw_group();
      if (in_script) return "<mi>" + xml_escape(text) + "</mi>";
      return scripts("<mi>" + xml_escape(text) + "</mi>", depth) + mo("\u2061");
    }
    if (name == "frac" || name == "dfrac" || name == "tfrac") {
      std::string num = argument(depth + 1);
      std::string den = argument(depth + 1);
      return "<mfrac>" + num + den + "</mfrac>";
    }
    if (name == "sqrt") {
      skip_space();
      if (peek() == '[') {
        ++pos_;
        const std::size_t close = s_.find(']', pos_);
        Converter index(s_.substr(pos_, close == std::string_view::npos ? s_.size() - pos_ : close - pos_));
        const std::string idx = index.convert();
        problems.insert(problems.end(), index.problems.begin(), index.problems.end());
        pos_ = close == std::string_view::npos ? s_.size() : close + 1;
        const std::string body = argument(depth + 1);
        return "<mroot>" + body + idx + "</mroot>";
      }
      return "<msqrt>" + argument(depth + 1) + "</msqrt>";
    }
    if (auto it = accents().find(name); it != accents().end()) {
      const std::string body = argument(depth + 1);
      return "<mover accent=\"true\">" + body + mo(it->second, " stretchy=\"false\"") + "</mover>";
    }
    if (name == "text" || name == "textrm" || name == "mbox" || name == "textit" || name == "textbf") {
      return mtext(raw_group());
    }
    if (name == "mathrm" || name == "mathit" || name == "mathbf" || name == "mathbb" || name == "mathcal" ||
        name == "boldsymbol" || name == "mathsf" || name == "mathtt") {
      const std::string text = raw_group();
      std::string variant;
      if (name == "mathrm") variant = "normal";
      else if (name == "mathbf" || name == "boldsymbol") variant = "bold";
      else if (name == "mathbb") variant = "double-struck";
      else if (name == "mathcal") variant = "script";
      else if (name == "mathsf") variant = "sans-serif";
      else if (name == "mathtt") variant = "monospace";
      else variant = "italic";
      // Commands inside (\mathbf{\delta}) are converted; plain text is one identifier.
      if (text.find('\\') != std::string::npos) {
        Converter inner(text);
        const std::string x = inner.convert();
        problems.insert(problems.end(), inner.problems.begin(), inner.problems.end());
        return "<mstyle mathvariant=\"" + variant + "\">" + x + "</mstyle>";
      }
      // Multi-letter <mi> is upright already; a single letter needs the variant.
      if (variant == "normal" && text.size() > 1) return "<mi>" + xml_escape(text) + "</mi>";
      return "<mi mathvariant=\"" + variant + "\">" + xml_escape(text) + "</mi>";
    }
    if (name == "left") {
      const std::string open = delimiter();
      std::vector<std::string> items = sequence(depth + 1, Stop::Right);
      std::string close;
      if (peek_command() == "right") {
        command_name();
        close = delimiter();
      } else {
        problems.push_back("\\left without \\right");
      }
      std::string out = "<mrow>";
      if (!open.empty()) out += mo(open, " fence=\"true\" stretchy=\"true\"");
      for (const std::string& i : items) out += i;
      if (!close.empty()) out += mo(close, " fence=\"true\" stretchy=\"true\"");
      return out + "</mrow>";
    }
    if (name == "big" || name == "Big" || name == "bigg" || name == "Bigg" || name == "bigl" || name == "bigr" ||
        name == "Bigl" || name == "Bigr") {
      const std::string d = delimiter();
      return mo(d, " stretchy=\"false\"");
    }
    if (name == "begin") return environment(depth);
    if (is_style_command(name)) return std::nullopt;
    if (name == "right") {
      problems.push_back("\\right without \\left");
      return mtext("\\right", " class=\"unknown\"");
    }
    // Unknown: shown, never dropped.
    problems.push_back("unknown command \\" + name);
    return mtext(s_.substr(start, pos_ - start), " class=\"unknown\"");
  }
};

}  // namespace

MathML latex_to_mathml(std::string_view latex, bool display, std::string_view alttext) {
  Converter converter(latex);
  const std::string body = converter.convert();
  MathML out;
  out.problems = std::move(converter.problems);
  out.xml = "<math xmlns=\"http://www.w3.org/1998/Math/MathML\"";
  if (display) out.xml += " display=\"block\"";
  if (!alttext.empty()) out.xml += " alttext=\"" + xml_escape(alttext) + "\"";
  out.xml += "><semantics>";
  out.xml += "<mrow>" + body + "</mrow>";  // <semantics> takes exactly one child before the annotation
  out.xml += "<annotation encoding=\"application/x-tex\">" + xml_escape(latex) + "</annotation></semantics></math>";
  return out;
}

}  // namespace ddx
