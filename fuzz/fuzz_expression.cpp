// libFuzzer target: the bytes are an expression of the language (engine/parser.hpp)
// over a few declared variables. Whatever parses is evaluated at float and double,
// differentiated in reverse mode with respect to the variables it uses, and the
// gradient evaluated and printed.
//
// std::invalid_argument (ParseError, ShapeError, BindingError, InputError) is the
// expected rejection of bad input. Anything else escaping, a crash, a leak,
// undefined behaviour or a hang is a bug.
//
// Build and run: scripts/fuzz.sh [SECONDS] (the `fuzz` CMake preset).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "engine/eval.hpp"
#include "engine/parser.hpp"
#include "engine/print.hpp"
#include "ops/functions.hpp"
#include "ops/primitives.hpp"

namespace {

using namespace ddx;

// The variables an input may use, with their values.
const ExactBindings& bindings() {
  static const ExactBindings values{
      {"x", {Rational(1, 2)}},
      {"z", {2, 1, Rational(1, 10)}},
      {"y", {0, 0, 1}},
      {"m", {1, -2, 3, Rational(-1, 4), 5, 0}},
  };
  return values;
}

ParseContext context() {
  return builtin_parse_context({{"x", Shape::scalar()},
                                {"z", Shape::vector(3)},
                                {"y", Shape::vector(3)},
                                {"m", Shape::matrix(2, 3)}});
}

// Work the evaluation of `roots` needs, in elements computed: a legitimate
// input of a few kilobytes can broadcast a long column against a long row in
// every one of hundreds of nodes, so past this budget the target stops there
// (that is slow, not wrong).
constexpr std::int64_t kElementBudget = std::int64_t{1} << 21;

bool within_budget(const Graph& g, std::span<const NodeId> roots) {
  std::int64_t total = 0;
  for (NodeId id : topological_order(g, roots))
    if ((total += g.shape(id).size()) > kElementBudget) return false;
  return true;
}

template <class T> void evaluate(const Graph& g, std::span<const NodeId> roots) {
  const Evaluation<T> ev(g, roots, round_bindings<T>(bindings()));
  if (ev.nonfinite()) (void)explain_nonfinite(g, ev, *ev.nonfinite());
  for (NodeId root : roots)
    for (const T& v : ev.value(root)) (void)format_scalar(v);
}

void run(std::string_view text) {
  Graph g;
  const ParseContext ctx = context();
  const ParsedProgram program = parse_program(g, text, ctx);
  const NodeId result = program.result.id();
  (void)to_infix(g, result);
  if (!within_budget(g, std::span(&result, 1))) return;
  evaluate<float>(g, std::span(&result, 1));
  evaluate<double>(g, std::span(&result, 1));

  // Reverse mode with respect to every variable the expression uses; a
  // tensor-valued result is summed to a scalar loss first.
  const Expr loss = program.result.shape().is_scalar() ? program.result : sum(program.result);
  const NodeId loss_id = loss.id();
  std::vector<Expr> wrt;
  for (NodeId id : topological_order(g, std::span(&loss_id, 1)))
    if (g.is_variable(id)) wrt.emplace_back(g, id);
  const Gradient gradient = grad(loss, wrt);
  std::vector<NodeId> roots{gradient.loss};
  roots.insert(roots.end(), gradient.gradients.begin(), gradient.gradients.end());
  for (NodeId id : gradient.gradients) (void)to_infix(g, id);
  if (!within_budget(g, roots)) return;
  evaluate<double>(g, roots);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    run(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const std::invalid_argument&) {
    // A rejection with a message for the user: expected.
  }
  return 0;
}
