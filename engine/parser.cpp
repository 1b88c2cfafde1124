#include "engine/parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <utility>

namespace ddx {
namespace {

// The caret line shows at most this much of a long line on each side of the spot.
constexpr std::size_t kContext = 60;

struct Location {
  int line = 1;
  int column = 1;
  std::string excerpt;  // the offending line (or a window of it) and a caret line
};

Location locate(std::string_view input, std::size_t offset) {
  offset = std::min(offset, input.size());
  Location at;
  std::size_t line_start = 0;
  for (std::size_t k = 0; k < offset; ++k)
    if (input[k] == '\n') ++at.line, line_start = k + 1;
  std::size_t line_end = input.find('\n', offset);
  if (line_end == std::string_view::npos) line_end = input.size();
  at.column = static_cast<int>(offset - line_start) + 1;
  // A window around the spot, so a 10 MB line does not become a 10 MB message.
  const std::size_t from = offset - line_start > kContext ? offset - kContext : line_start;
  const std::size_t to = line_end - offset > kContext ? offset + kContext : line_end;
  const std::string before = from > line_start ? "..." : "";
  const std::string after = to < line_end ? "..." : "";
  at.excerpt = fmt::format("  {}{}{}\n  {}^", before, input.substr(from, to - from), after,
                           std::string(before.size() + (offset - from), ' '));
  return at;
}

// A name or token as a message quotes it: a long one by its ends.
std::string shorten(std::string_view text) {
  if (text.size() <= 40) return std::string(text);
  return fmt::format("{}...{} ({} characters)", text.substr(0, 20), text.substr(text.size() - 10), text.size());
}

std::string render_error(const std::string& message, std::string_view input, std::size_t offset) {
  const Location at = locate(input, offset);
  return fmt::format("line {}, column {}: {}\n{}", at.line, at.column, message, at.excerpt);
}

}  // namespace

ParseError::ParseError(std::string message, std::string_view input, std::size_t offset)
    : std::invalid_argument(render_error(message, input, offset)), message_(std::move(message)) {
  const Location at = locate(input, offset);
  line_ = at.line;
  column_ = at.column;
}

std::string closest_name(std::string_view name, std::span<const std::string_view> candidates) {
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        const std::size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diagonal = above;
      }
    }
    return row[b.size()];
  };
  std::string best;
  // A suggestion must share more than it changes.
  std::size_t best_distance = std::max<std::size_t>(2, name.size() / 2) + 1;
  for (std::string_view c : candidates) {
    // The distance is at least the difference in length: a very long name needs no table.
    const std::size_t gap = name.size() > c.size() ? name.size() - c.size() : c.size() - name.size();
    if (gap >= best_distance) continue;
    const std::size_t d = distance(name, c);
    if (d < best_distance) best_distance = d, best = std::string(c);
  }
  return best;
}

namespace {

enum class TokenKind { Number, Identifier, Symbol, Separator, End };

struct Token {
  TokenKind kind = TokenKind::End;
  std::string_view text;
  std::size_t offset = 0;
};

bool is_identifier_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_identifier_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class Parser {
 public:
  Parser(Graph& g, std::string_view text, const ParseContext& context) : g_(g), text_(text), context_(context) {
    advance();
  }

  ParsedProgram program() {
    ParsedProgram out;
    while (true) {
      while (token_.kind == TokenKind::Separator) advance();
      if (token_.kind == TokenKind::End) break;
      std::string name;
      if (token_.kind == TokenKind::Identifier && peek().text == "=") {
        name = std::string(token_.text);
        advance();
        advance();
      }
      Expr value = expression();
      if (token_.kind != TokenKind::Separator && token_.kind != TokenKind::End)
        fail(token_.offset, fmt::format("expected an operator, ';' or the end, found '{}'", shorten(token_.text)));
      if (!name.empty()) statements_[name] = value;
      out.result = value;
    }
    if (!out.result) fail(text_.size(), "empty expression: nothing to compute");
    out.statements = std::move(statements_);
    return out;
  }

 private:
  // ---- tokens ----

  [[gnu::noinline]] Token lex(std::size_t& pos, int& bracket_depth) const {
    while (pos < text_.size()) {
      const char c = text_[pos];
      if (c == '\n' && bracket_depth == 0) break;
      if (c == '#') {  // a comment runs to the end of the line
        while (pos < text_.size() && text_[pos] != '\n') ++pos;
        continue;
      }
      if (!std::isspace(static_cast<unsigned char>(c))) break;
      ++pos;
    }
    if (pos >= text_.size()) return {TokenKind::End, {}, text_.size()};
    const std::size_t start = pos;
    const char c = text_[pos];
    if (c == '\n' || c == ';') return {TokenKind::Separator, text_.substr(pos++, 1), start};
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      // The whole run, letters included, so "2x" or "1e" is one malformed number.
      while (pos < text_.size() && (is_identifier_char(text_[pos]) || text_[pos] == '.' ||
                                    ((text_[pos] == '+' || text_[pos] == '-') &&
                                     (text_[pos - 1] == 'e' || text_[pos - 1] == 'E'))))
        ++pos;
      return {TokenKind::Number, text_.substr(start, pos - start), start};
    }
    if (is_identifier_start(c)) {
      while (pos < text_.size() && is_identifier_char(text_[pos])) ++pos;
      return {TokenKind::Identifier, text_.substr(start, pos - start), start};
    }
    if (std::string_view("+-*/^()[],=").find(c) != std::string_view::npos) {
      if (c == '(' || c == '[') ++bracket_depth;
      if ((c == ')' || c == ']') && bracket_depth > 0) --bracket_depth;
      return {TokenKind::Symbol, text_.substr(pos++, 1), start};
    }
    const unsigned char byte = static_cast<unsigned char>(c);
    fail(start, byte < 0x80 && std::isprint(byte) ? fmt::format("unexpected character '{}'", c)
                                                   : fmt::format("unexpected byte 0x{:02x}", byte));
  }

  void advance() { token_ = lex(pos_, bracket_depth_); }
  Token peek() const {
    std::size_t pos = pos_;
    int depth = bracket_depth_;
    return lex(pos, depth);
  }
  bool at(std::string_view symbol) const { return token_.kind == TokenKind::Symbol && token_.text == symbol; }
  [[gnu::noinline]] void expect(std::string_view symbol, std::string_view what) {
    if (!at(symbol))
      fail(token_.offset, fmt::format("expected '{}' {}, found {}", symbol, what, describe(token_)));
    advance();
  }
  static std::string describe(const Token& t) {
    if (t.kind == TokenKind::End) return "the end of the input";
    if (t.kind == TokenKind::Separator) return t.text == "\n" ? "the end of the line" : "';'";
    return fmt::format("'{}'", shorten(t.text));
  }

  [[noreturn]] void fail(std::size_t offset, const std::string& message) const {
    throw ParseError(message, text_, offset);
  }

  // Builds a node; an op's error (shapes, say) is reported at `offset`.
  template <class F> Expr build(std::size_t offset, F&& f) {
    try {
      return f();
    } catch (const ParseError&) {
      throw;
    } catch (const std::invalid_argument& e) {
      fail(offset, e.what());
    }
  }

  // Counts one level of brackets or calls for the duration of a scope.
  struct Nesting {
    Parser& parser;
    Nesting(Parser& p, std::size_t offset) : parser(p) {
      if (++parser.depth_ > kMaxNesting) parser.fail_nesting(offset);
    }
    ~Nesting() { --parser.depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;
  };

  // ---- grammar ----
  //
  // Every nesting level passes through binary, unary, power, primary and one
  // of parenthesized, call or literal, so those functions keep small stack
  // frames (1000 levels must fit even in a sanitizer build): anything with
  // formatted messages or temporaries lives in helpers that are not inlined.

  Expr expression() { return binary(); }

  struct PendingOperator {
    char symbol;
    int precedence;
    std::size_t offset;
  };

  static int precedence_of(const Token& t) {
    if (t.kind != TokenKind::Symbol) return -1;
    const char op = t.text[0];
    return (op == '+' || op == '-') ? 10 : (op == '*' || op == '/') ? 20 : -1;
  }

  // Operator precedence with explicit stacks (members, shared by the nested
  // calls, to keep this frame small): all binary operators are left-associative.
  Expr binary() {
    const std::size_t operator_base = operators_.size();
    push_operand(unary());
    for (int precedence = precedence_of(token_); precedence >= 0; precedence = precedence_of(token_)) {
      while (operators_.size() > operator_base && operators_.back().precedence >= precedence) reduce();
      push_operator(precedence);
      push_operand(unary());
    }
    while (operators_.size() > operator_base) reduce();
    return pop_operand();
  }

  [[gnu::noinline]] void push_operand(Expr e) { operands_.push_back(e); }
  [[gnu::noinline]] Expr pop_operand() {
    const Expr e = operands_.back();
    operands_.pop_back();
    return e;
  }
  [[gnu::noinline]] void push_operator(int precedence) {
    operators_.push_back({token_.text[0], precedence, token_.offset});
    advance();
  }

  [[gnu::noinline]] void reduce() {
    const PendingOperator op = operators_.back();
    operators_.pop_back();
    const Expr rhs = pop_operand();
    const Expr lhs = operands_.back();
    operands_.back() = build(op.offset, [&] {
      const Arithmetic& a = context_.arithmetic;
      switch (op.symbol) {
        case '+': return a.add(lhs, rhs);
        case '-': return a.subtract(lhs, rhs);
        case '*': return a.multiply(lhs, rhs);
        default: return a.divide(lhs, rhs);
      }
    });
  }

  // Unary minus, iteratively: a long run of minus signs takes no stack.
  Expr unary() {
    std::size_t minus_count = 0, first_minus = 0;
    while (at("-") || at("+")) {
      if (at("-") && minus_count++ == 0) first_minus = token_.offset;
      advance();
    }
    Expr x = power();
    if (minus_count > 0) x = negate(x, minus_count, first_minus);
    return x;
  }

  [[gnu::noinline]] Expr negate(Expr x, std::size_t times, std::size_t offset) {
    for (std::size_t k = 0; k < times; ++k) x = build(offset, [&] { return context_.arithmetic.negate(x); });
    return x;
  }

  Expr power() {
    Expr base = primary();
    while (at("^")) base = raise(base);
    return base;
  }

  // base ^ exponent. Only a signed primary is an exponent, so a^2^3 is (a^2)^3.
  [[gnu::noinline]] Expr raise(Expr base) {
    const std::size_t offset = token_.offset;
    advance();
    const std::size_t exponent_offset = token_.offset;
    bool negative = false;
    while (at("-") || at("+")) {
      negative = negative != at("-");
      advance();
    }
    Expr exponent = primary();
    if (negative) exponent = negate(exponent, 1, exponent_offset);
    const Rational* k = g_.uniform_constant(exponent.id());
    if (!k || !exponent.shape().is_scalar() || denominator(*k) != 1 || abs(*k) > 1000000)
      fail(exponent_offset, "the exponent of ^ must be an integer constant in [-1000000, 1000000]");
    const long k_value = numerator(*k).convert_to<long>();
    return build(offset, [&] { return context_.arithmetic.power(base, k_value); });
  }

  Expr primary() {
    switch (token_.kind) {
      case TokenKind::Number:
        return number();
      case TokenKind::Identifier:
        if (peek().text == "(") return call();
        return name();
      case TokenKind::Symbol:
        if (at("(")) return parenthesized();
        if (at("[")) return literal();
        break;
      default:
        break;
    }
    fail_expected_operand();
  }

  [[gnu::noinline]] Expr parenthesized() {
    const std::size_t open = token_.offset;
    Nesting level(*this, open);
    advance();
    Expr inner = expression();
    if (!at(")")) fail_unclosed("')'", '(', open);
    advance();
    return inner;
  }

  [[gnu::noinline]] Expr number() {
    const Token t = token_;
    advance();
    try {
      return constant(g_, parse_rational(t.text));
    } catch (const std::invalid_argument& e) {
      fail(t.offset, e.what());
    }
  }

  [[gnu::noinline]] Expr name() {
    const Token t = token_;
    advance();
    if (auto s = statements_.find(t.text); s != statements_.end()) return s->second;
    if (auto v = context_.variables.find(t.text); v != context_.variables.end())
      return build(t.offset, [&] { return variable(g_, v->first, v->second); });
    std::string lower(t.text);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "nan" || lower == "inf" || lower == "infinity")
      fail(t.offset, fmt::format("'{}' is not allowed: constants must be finite numbers", t.text));
    if (context_.other_variables)
      return build(t.offset, [&] { return variable(g_, std::string(t.text), *context_.other_variables); });
    fail(t.offset, fmt::format("unknown name '{}': it is no earlier statement and no variable with a value",
                               shorten(t.text)));
  }

  [[noreturn, gnu::noinline]] void fail_nesting(std::size_t offset) const {
    fail(offset, fmt::format("nesting deeper than {}", kMaxNesting));
  }
  [[noreturn, gnu::noinline]] void fail_expected_operand() const {
    fail(token_.offset, fmt::format("expected a number, a name or '(', found {}", describe(token_)));
  }
  [[noreturn, gnu::noinline]] void fail_unclosed(std::string_view expected, char opener, std::size_t open) const {
    fail(token_.offset, fmt::format("expected {} to close the '{}' at column {}, found {}", expected, opener,
                                    locate(text_, open).column, describe(token_)));
  }

  // A constant vector [a, b, ...] or matrix [[a, b], [c, d]]; elements are constant expressions.
  [[gnu::noinline]] Expr literal() {
    const std::size_t open = token_.offset;
    Nesting level(*this, open);
    advance();
    std::vector<std::pair<Expr, std::size_t>> elements;
    while (true) {
      const std::size_t offset = token_.offset;
      elements.emplace_back(expression(), offset);
      if (!at(",")) break;
      advance();
    }
    if (!at("]")) fail_unclosed("']'", '[', open);
    advance();
    return make_literal(elements);
  }

  [[gnu::noinline]] Expr make_literal(const std::vector<std::pair<Expr, std::size_t>>& elements) {
    std::vector<Rational> values;
    const Shape first = elements.front().first.shape();
    if (first.rank > 1) fail(elements.front().second, "literals have at most two dimensions");
    for (const auto& [e, offset] : elements) {
      if (!g_.is_constant(e.id())) fail(offset, "an element of a literal must be a constant number");
      if (!(e.shape() == first))
        fail(offset, fmt::format("every row of a matrix literal must have the same shape: {} then {}",
                                 to_string(first), to_string(e.shape())));
      const auto v = g_.constant_values(e.id());
      values.insert(values.end(), v.begin(), v.end());
    }
    const auto count = static_cast<std::int64_t>(elements.size());
    const Shape shape = first.rank == 0 ? Shape::vector(count) : Shape::matrix(count, first.dims[0]);
    return {g_, g_.constant(std::move(values), shape)};
  }

  [[gnu::noinline]] Expr call() {
    const Token function = token_;
    Nesting level(*this, function.offset);
    advance();  // the name
    const std::size_t open = token_.offset;
    advance();  // '('
    std::vector<Expr> args;
    std::optional<int> axis;
    while (!at(")")) {
      if (!args.empty() || axis) expect(",", "between arguments");
      if (token_.kind == TokenKind::Identifier && token_.text == "axis" && peek().text == "=") {
        keyword_axis(axis);
        continue;
      }
      if (axis) fail(token_.offset, "positional arguments must come before axis=");
      args.push_back(expression());
      if (!at(",") && !at(")")) fail_unclosed("',' or ')'", '(', open);
    }
    advance();  // ')'
    return call_function(function.text, function.offset, args, axis);
  }

  [[gnu::noinline]] void keyword_axis(std::optional<int>& axis) {
    const std::size_t offset = token_.offset;
    advance();
    advance();
    const Expr value = unary();
    const Rational* k = g_.uniform_constant(value.id());
    if (!k || !value.shape().is_scalar() || denominator(*k) != 1 || abs(*k) > 2)
      fail(offset, "axis must be an integer constant: 0, 1, -1 or -2");
    if (axis) fail(offset, "axis is given twice");
    axis = numerator(*k).convert_to<int>();
  }

  const FunctionInfo* find(std::string_view name) const {
    for (const FunctionInfo& f : context_.functions)
      if (f.name == name) return &f;
    return nullptr;
  }

  [[gnu::noinline]] Expr call_function(std::string_view name, std::size_t offset, const std::vector<Expr>& args,
                                       std::optional<int> axis) {
    const FunctionInfo* f = find(name);
    if (!f) {
      std::vector<std::string_view> names;
      for (const FunctionInfo& k : context_.functions) names.push_back(k.name);
      const std::string suggestion = closest_name(name, names);
      fail(offset, fmt::format("unknown function '{}'{}", shorten(name),
                               suggestion.empty() ? "" : fmt::format("; did you mean '{}'?", suggestion)));
    }
    if (axis && !f->accepts_axis) fail(offset, fmt::format("{} takes no axis= argument", name));
    const int n = static_cast<int>(args.size());
    if (n < f->min_args || n > f->max_args) {
      const std::string expected = f->min_args == f->max_args
                                       ? fmt::format("{}", f->min_args)
                                       : fmt::format("{} to {}", f->min_args, f->max_args);
      fail(offset, fmt::format("{} takes {} argument{}, got {}", name, expected, f->max_args == 1 ? "" : "s", n));
    }
    return build(offset, [&] { return f->build(args, axis); });
  }

  Graph& g_;
  std::string_view text_;
  const ParseContext& context_;
  std::size_t pos_ = 0;
  int bracket_depth_ = 0;
  int depth_ = 0;
  Token token_;
  std::map<std::string, Expr, std::less<>> statements_;
  std::vector<Expr> operands_;
  std::vector<PendingOperator> operators_;
};

}  // namespace

ParsedProgram parse_program(Graph& g, std::string_view text, const ParseContext& context) {
  if (text.size() > kMaxInputBytes)
    throw ParseError(fmt::format("the input is {} bytes, more than the limit of {} bytes", text.size(), kMaxInputBytes),
                     text, 0);
  return Parser(g, text, context).program();
}

}  // namespace ddx
