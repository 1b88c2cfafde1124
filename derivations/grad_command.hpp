// ddx grad: the value and gradient of an expression the user types, at a
// chosen precision, and optionally the gradient simplified symbolically
// under assumptions such as sum(y) = 1.
#pragma once

#include <nlohmann/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/eval.hpp"
#include "engine/grad.hpp"
#include "engine/parser.hpp"
#include "engine/scalar.hpp"
#include "engine/shape.hpp"

namespace ddx {

struct GradRequest {
  std::string expression;                // "p = softmax(z); -sum(y * log(p))"
  std::string wrt;                       // "z" or "z,y"
  std::string at;                        // "z=[2,1,0.1]; y=[0,0,1]"
  Precision precision = Precision::Double;
  Math math = Math::CorrectlyRounded;    // how exp and log evaluate at float and double
  bool simplify = false;
  std::vector<std::string> assumptions;  // "sum(y)=1"; only with simplify
};

struct VariableGradient {
  std::string name;
  Shape shape;
  std::vector<std::string> values;    // decimal, every digit of the precision
  std::vector<std::string> symbolic;  // one per element, when simplified
  // The simplified formulas evaluated at the point (100 digits, then rounded
  // to the precision), to compare with reverse mode's values.
  std::vector<std::string> symbolic_values;
};

struct GradResult {
  std::string expression;
  Precision precision = Precision::Double;
  Math math = Math::CorrectlyRounded;
  std::string value;
  std::vector<VariableGradient> gradients;
  bool simplified = false;
  std::vector<std::string> assumptions;
  // With simplify: the largest |reverse mode − symbolic| / max(1, |symbolic|)
  // over every element, and whether it is within the precision's rounding.
  double symbolic_difference = 0;
  bool symbolic_agrees = true;
  // Set when a value or gradient is inf or NaN: which node and why.
  std::optional<std::string> nonfinite;
};

// The values of --at ("z=[2,1,0.1]; y=[0,0,1]": statements whose values are
// constants), exact, with their shapes. Throws InputError.
struct PointValues {
  ExactBindings values;
  std::map<std::string, Shape, std::less<>> shapes;
};
PointValues parse_point(const std::string& at);

// The variables named in `names` ("z,y") among the ancestors of `root`, in
// that order. Throws InputError naming `option` ("--wrt") when a name is
// missing or does not occur.
std::vector<Expr> find_variables(Graph& g, NodeId root, const std::string& names, std::string_view option);

// Everything ddx grad builds, kept for the commands that show more of it
// (ddx explain shows the sweep).
struct GradSession {
  std::unique_ptr<Graph> graph = std::make_unique<Graph>();
  ParsedProgram program;
  Gradient gradient;
  ExactBindings bindings;  // the values given with --at
  GradResult result;
};

// Throws InputError or ParseError (both std::invalid_argument) for bad
// usage: a parse error, a malformed --at, a variable without a value, a
// --wrt variable that does not occur, a loss that is not a scalar.
GradSession grad_session(const GradRequest& request);
GradResult run_grad(const GradRequest& request);

// The expression in the file at `path` ("-": standard input), for --file.
// Throws InputError when it cannot be read or is longer than kMaxInputBytes
// (engine/parser.hpp), without reading past the limit.
std::string read_expression_file(const std::string& path);

// The expression of a command that takes it as an argument or with --file
// PATH: the file's text when `file` is not empty, else `argument` when it was
// given. Throws InputError naming `command` when neither was.
std::string command_expression(std::string_view command, const std::string& argument, bool given,
                               const std::string& file);

std::string render_text(const GradResult& result);
nlohmann::ordered_json render_json(const GradResult& result);

}  // namespace ddx
