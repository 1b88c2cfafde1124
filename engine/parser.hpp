// The expression language: numbers, variables, vector and matrix literals,
// + - * / ^, unary minus, parentheses, function calls and statements.
//
//   p = softmax(z); -sum(y * log(p))
//
// Statements are separated by ';' or by a newline outside brackets; the last
// one is the result and earlier names can be reused. An identifier that no
// statement defines is a variable, whose shape the caller supplies. Functions
// come from a table the caller passes in (ops/functions.hpp has the built-in
// one), so the parser itself knows no op by name.
//
// Precedence, loosest first: + - (left), * / (left), unary -, ^ (left; its
// exponent must be an integer constant). Numbers are read exactly as
// rationals. Nesting is bounded (kMaxNesting): deeper input is an error, not
// a stack overflow; so is the input's length (kMaxInputBytes).
#pragma once

#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/expr.hpp"

namespace ddx {

// A function the language can call, e.g. softmax(z [, T]) or sum(x, axis=1).
struct FunctionInfo {
  std::string_view name;
  int min_args = 1;
  int max_args = 1;
  bool accepts_axis = false;  // takes the keyword argument axis=K
  // Builds the call; may throw ShapeError or std::invalid_argument, which the
  // parser reports at the call's position.
  Expr (*build)(std::span<const Expr> args, std::optional<int> axis) = nullptr;
};

// The operators of the language, supplied by ops/ like the functions.
struct Arithmetic {
  Expr (*add)(Expr, Expr) = nullptr;
  Expr (*subtract)(Expr, Expr) = nullptr;
  Expr (*multiply)(Expr, Expr) = nullptr;
  Expr (*divide)(Expr, Expr) = nullptr;
  Expr (*negate)(Expr) = nullptr;
  Expr (*power)(Expr, long) = nullptr;  // an integer exponent
};

inline constexpr int kMaxNesting = 1000;
// Longer input is rejected before it is read: ddx expressions are short, and
// this keeps every pass over the text (and every message quoting it) small.
inline constexpr std::size_t kMaxInputBytes = std::size_t{1} << 20;

// A syntax, name or shape error at a position of the input. what() is the
// message followed by the offending line and a caret under the spot.
class ParseError : public std::invalid_argument {
 public:
  ParseError(std::string message, std::string_view input, std::size_t offset);
  int line() const { return line_; }      // 1-based
  int column() const { return column_; }  // 1-based, in bytes
  const std::string& message() const { return message_; }

 private:
  std::string message_;
  int line_ = 1;
  int column_ = 1;
};

struct ParseContext {
  std::span<const FunctionInfo> functions;
  Arithmetic arithmetic;
  // Shapes of the variables the input may use, by name.
  std::map<std::string, Shape, std::less<>> variables;
  // When set, any other name that no statement defines is a variable of this
  // shape (a claim to prove declares its vectors this way).
  std::optional<Shape> other_variables;
};

struct ParsedProgram {
  Expr result;                                         // the last statement
  std::map<std::string, Expr, std::less<>> statements;  // named statements, the last definition of each
};

// Parses `text` into nodes of `g`. Throws ParseError, also when `text` is
// longer than kMaxInputBytes.
ParsedProgram parse_program(Graph& g, std::string_view text, const ParseContext& context);

// The known name closest to `name` by edit distance, or "" when none is close.
std::string closest_name(std::string_view name, std::span<const std::string_view> candidates);

}  // namespace ddx
