#include "derivations/claim.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "derivations/claim_general.hpp"
#include "derivations/inputs.hpp"
#include "ops/functions.hpp"
#include "ops/primitives.hpp"

namespace ddx {
namespace {

// `text` with [begin, end) replaced by blanks (newlines kept), so that a
// parse error in what is left points at the right line and column.
std::string blank_out(std::string text, std::size_t begin, std::size_t end) {
  for (std::size_t k = begin; k < end; ++k)
    if (text[k] != '\n') text[k] = ' ';
  return text;
}

// Where the statement holding `offset` starts: just past the last ';' or
// newline outside brackets before it.
std::size_t statement_start(std::string_view text, std::size_t offset) {
  std::size_t start = 0;
  int depth = 0;
  for (std::size_t k = 0; k < offset; ++k) {
    const char c = text[k];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ';' || c == '\n')) start = k + 1;
  }
  return start;
}

bool occurs(const Graph& g, const std::string& name) {
  return std::any_of(g.variables().begin(), g.variables().end(),
                     [&](NodeId v) { return g.attr(v).name == name; });
}

}  // namespace

std::vector<sym::Claim::Equality> parse_assumptions(Graph& g, const std::vector<std::string>& assumptions,
                                                    const ParseContext& context) {
  std::vector<sym::Claim::Equality> out;
  for (const std::string& text : assumptions) {
    const std::string what = fmt::format("--assume '{}'", text);
    const EquationSplit at = split_equation(text, "=", what);
    Expr lhs, rhs;
    try {
      lhs = parse_program(g, blank_out(text, at.relation, text.size()), context).result;
      rhs = parse_program(g, blank_out(text, 0, at.rhs), context).result;
    } catch (const ParseError& e) {
      throw InputError(fmt::format("{}: {}", what, e.what()));
    }
    if (!rhs.shape().is_scalar() && !(rhs.shape() == lhs.shape()))
      throw InputError(fmt::format("{}: the sides have shapes {} and {}", what, to_string(lhs.shape()),
                                   to_string(rhs.shape())));
    out.push_back({lhs.id(), rhs.id(), trim(text)});
  }
  return out;
}

namespace {

// The claim's graph, built with every vector variable of length `classes`.
struct BuiltClaim {
  Graph graph;
  sym::Claim claim;
};

void build_claim(const ClaimRequest& request, long classes, BuiltClaim& out) {
  const EquationSplit at = split_equation(request.claim, "==", "--claim");
  const std::string& text = request.claim;

  std::map<std::string, Shape, std::less<>> declared;
  const std::vector<std::string> scalars = split_names(request.scalars);
  for (const std::string& name : scalars) declared[name] = Shape::scalar();
  ParseContext context = builtin_parse_context(declared);
  context.other_variables = Shape::vector(classes);

  Graph& g = out.graph;
  // Statements before the claim ("p = softmax(z); ... == ...") hold on both sides.
  const std::size_t lhs_start = statement_start(text, at.relation);
  const ParsedProgram left = parse_program(g, blank_out(text, at.relation, text.size()), context);
  const ParsedProgram right = parse_program(g, blank_out(text, lhs_start, at.rhs), context);
  // A scalar side stands for every element of the other ("grad(...) == 0").
  Expr lhs = left.result, rhs = right.result;
  if (lhs.shape().is_scalar()) lhs = broadcast_to(lhs, rhs.shape());
  if (rhs.shape().is_scalar()) rhs = broadcast_to(rhs, lhs.shape());
  if (!(lhs.shape() == rhs.shape()))
    throw InputError(fmt::format("--claim: the left side has shape {} and the right side {}", to_string(lhs.shape()),
                                 to_string(rhs.shape())));

  sym::Claim& claim = out.claim;
  claim.graph = &g;
  claim.lhs = lhs.id();
  claim.rhs = rhs.id();
  claim.lhs_name = trim(std::string_view(text).substr(lhs_start, at.relation - lhs_start));
  claim.rhs_name = trim(std::string_view(text).substr(at.rhs));
  claim.identity = claim.lhs_name + " = " + claim.rhs_name;
  if (std::string where = trim(std::string_view(text).substr(0, lhs_start)); !where.empty()) {
    while (!where.empty() && (where.back() == ';' || where.back() == ' ')) where.pop_back();
    claim.identity += ", where " + where;
  }
  claim.hypotheses = parse_assumptions(g, request.assumptions, context);
  for (const auto& [name, value] : left.statements) claim.names.push_back({value.id(), name});

  for (const std::string& name : scalars)
    if (!occurs(g, name)) throw InputError(fmt::format("--scalar: '{}' does not occur in the claim", name));
  for (const std::string& name : split_names(request.positive)) {
    if (!occurs(g, name)) throw InputError(fmt::format("--positive: '{}' does not occur in the claim", name));
    claim.positive.insert(name);
  }
}

}  // namespace

Proof prove_claim(const ClaimRequest& request) {
  if (!request.general) {
    check_classes(request.classes);
    BuiltClaim built;
    build_claim(request, request.classes, built);
    sym::ProverOptions options;
    options.check_steps = request.check_steps;
    return sym::prove_fixed(built.claim, options);
  }
  // For every n: the graph is built at a number of classes that stands for n.
  // A constant that is a multiple of it (or of its inverse) would be ambiguous,
  // so the next prime is tried then; no constant is a multiple of all four.
  const std::vector<long> candidates = {7, 11, 13, 17};
  for (std::size_t k = 0;; ++k) {
    BuiltClaim built;
    build_claim(request, candidates[k], built);
    try {
      Proof proof = prove_claim_every_n(built.claim, candidates[k]);
      return proof;
    } catch (const InputError& e) {
      if (k + 1 == candidates.size() || std::string_view(e.what()).find("ambiguous") == std::string_view::npos) throw;
    }
  }
}

}  // namespace ddx
