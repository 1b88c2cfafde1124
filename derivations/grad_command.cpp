#include "derivations/grad_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "derivations/claim.hpp"
#include "derivations/inputs.hpp"
#include "engine/eval.hpp"
#include "engine/grad.hpp"
#include "engine/parser.hpp"
#include "engine/symbolic/decide.hpp"
#include "engine/symbolic/print.hpp"
#include "engine/symbolic/scalarize.hpp"
#include "ops/functions.hpp"
#include "ops/primitives.hpp"

namespace ddx {
namespace {

template <class T>
void evaluate(const Graph& g, const Gradient& gradient, const ExactBindings& bindings, GradResult& result) {
  std::vector<NodeId> roots{gradient.loss};
  roots.insert(roots.end(), gradient.gradients.begin(), gradient.gradients.end());
  const Evaluation<T> ev(g, roots, round_bindings<T>(bindings), Keep::All, result.math);
  if (ev.nonfinite()) result.nonfinite = explain_nonfinite(g, ev, *ev.nonfinite());
  result.value = format_scalar(ev.scalar(gradient.loss));
  for (std::size_t k = 0; k < gradient.gradients.size(); ++k)
    for (const T& x : ev.value(gradient.gradients[k])) result.gradients[k].values.push_back(format_scalar(x));
}

// The symbols a hypothesis can be solved for: those occurring only as a bare
// term c·v, with what they equal.
std::vector<sym::Elimination> eliminations(sym::Context& ctx, const sym::Hypothesis& h) {
  std::vector<sym::Elimination> out;
  const auto& terms = h.difference->terms;
  for (const sym::Term& term : terms) {
    if (term.monomial.size() != 1 || term.monomial[0].exponent != 1) continue;
    const sym::AtomId v = term.monomial[0].atom;
    if (ctx.atom(v).kind != sym::AtomKind::Symbol) continue;
    bool elsewhere = false;
    for (const sym::Term& t : terms)
      if (&t != &term)
        for (const sym::Factor& f : t.monomial) elsewhere = elsewhere || ctx.atom_depends_on(f.atom, v);
    if (elsewhere) continue;
    const sym::PolyRef rest = ctx.sub(h.difference, ctx.monomial_poly(term.monomial, term.coefficient));
    out.push_back({v, ctx.scale(rest, sym::Coefficient(-1) / term.coefficient)});
  }
  return out;
}

// Rewrites p with each hypothesis, solved for whichever symbol gives the
// fewest terms (or not at all when none helps). Unlike deciding zero-ness,
// simplifying must keep p's value, so a symbol that p divides by is never
// replaced (that would need multiplying through by it).
sym::PolyRef simplify_under(sym::Context& ctx, sym::PolyRef p,
                            const std::vector<std::vector<sym::Elimination>>& hypotheses) {
  for (const auto& candidates : hypotheses) {
    sym::PolyRef best = p;
    for (const sym::Elimination& e : candidates) {
      if (!ctx.depends_on(p, e.symbol)) continue;
      bool divides = false;
      for (const sym::Term& t : p->terms)
        for (const sym::Factor& f : t.monomial) divides = divides || (f.atom == e.symbol && f.exponent < 0);
      if (divides) continue;
      sym::PolyRef candidate = ctx.substitute(p, e.symbol, e.replacement);
      if (candidate->terms.size() < best->terms.size()) best = std::move(candidate);
    }
    p = std::move(best);
  }
  return p;
}

// Evaluates the simplified formulas at the point, 100 digits, and compares
// them with reverse mode's values at the chosen precision.
void compare_with_symbolic(const Graph& g, const sym::Context& ctx, const std::vector<std::vector<sym::PolyRef>>& formulas,
                           const PointValues& bindings, GradResult& result) {
  if (result.nonfinite) return;  // nothing finite to compare with
  const Bindings<Float100> point = round_bindings<Float100>(bindings.values);
  std::vector<NodeId> opaque;
  for (std::size_t a = 0; a < ctx.atom_count(); ++a)
    if (ctx.atom(static_cast<sym::AtomId>(a)).kind == sym::AtomKind::Opaque)
      opaque.push_back(static_cast<NodeId>(ctx.atom(static_cast<sym::AtomId>(a)).row));
  const Evaluation<Float100> graph_values(g, opaque, point);
  sym::PolyEvaluator<Float100> evaluator(ctx, [&](const sym::Atom& a) -> Float100 {
    if (a.kind == sym::AtomKind::Opaque) return graph_values.value(static_cast<NodeId>(a.row))[a.col];
    const Shape& shape = bindings.shapes.at(a.name);
    return point.at(a.name).at(static_cast<std::size_t>((a.row < 0 ? 0 : a.row) * shape.cols() + (a.col < 0 ? 0 : a.col)));
  });
  // Reverse mode rounds once per node of the sweep (a few dozen for these
  // expressions), each by at most half an ulp: 1000 units of the precision's
  // epsilon in relative_difference bound that with room to spare,
  // while any mistake in a formula shows as a difference of order one.
  const double tolerance = 1000 * with_scalar(result.precision, []<class T>(std::type_identity<T>) {
    return static_cast<double>(std::numeric_limits<T>::epsilon());
  });
  result.symbolic_difference = 0;
  for (std::size_t k = 0; k < formulas.size(); ++k) {
    VariableGradient& v = result.gradients[k];
    for (std::size_t e = 0; e < formulas[k].size(); ++e) {
      const Float100 exact = evaluator.value(formulas[k][e]);
      v.symbolic_values.push_back(with_scalar(result.precision, [&]<class T>(std::type_identity<T>) {
        return format_scalar(static_cast<T>(exact));
      }));
      const Float100 numeric = to_scalar<Float100>(parse_rational(v.values[e]));
      const double difference = static_cast<double>(relative_difference(numeric, exact));
      if (!(difference <= result.symbolic_difference)) result.symbolic_difference = difference;
    }
  }
  result.symbolic_agrees = result.symbolic_difference <= tolerance;
}

void simplify(Graph& g, const ParsedProgram& program, const Gradient& gradient, const ParseContext& context,
              const PointValues& bindings, GradResult& result) {
  using namespace sym;
  Context ctx;
  Scalarizer scalars(ctx, g);
  std::vector<Hypothesis> hypotheses;
  for (const Claim::Equality& e : parse_assumptions(g, result.assumptions, context)) {
    const std::vector<Value> left = scalars.values(e.lhs);
    const std::vector<Value> right = scalars.values(e.rhs);
    for (std::size_t k = 0; k < left.size(); ++k) {
      PolyRef difference = ctx.sub(left[k].poly(), right[right.size() == 1 ? 0 : k].poly());
      if (!difference->is_zero()) hypotheses.push_back({e.text, difference});
    }
  }
  std::vector<std::vector<Elimination>> solved;
  for (const Hypothesis& h : hypotheses) {
    solved.push_back(eliminations(ctx, h));
    if (solved.back().empty())
      throw InputError(fmt::format("--assume '{}': no variable occurs in it linearly, so it cannot be used", h.text));
  }
  Printer printer(ctx);
  // A named statement whose elements are single products, such as
  // p = softmax(z), names those products in the output: p₁ for exp(z₁)·S⁻¹.
  for (const auto& [name, value] : program.statements) printer.name_elements(name, scalars.values(value.id()));
  printer.set_families(g);
  std::vector<std::vector<PolyRef>> formulas;
  for (std::size_t k = 0; k < gradient.gradients.size(); ++k) {
    formulas.emplace_back();
    for (const Value& e : scalars.values(gradient.gradients[k])) {
      formulas.back().push_back(simplify_under(ctx, e.poly(), solved));
      result.gradients[k].symbolic.push_back(printer.text(formulas.back().back()));
    }
  }
  compare_with_symbolic(g, ctx, formulas, bindings, result);
}

}  // namespace

PointValues parse_point(const std::string& at) {
  Graph scratch;
  ParsedProgram program;
  try {
    program = parse_program(scratch, at, builtin_parse_context());
  } catch (const ParseError& e) {
    throw InputError(fmt::format("--at: {}", e.what()));
  }
  PointValues out;
  for (const auto& [name, value] : program.statements) {
    if (!scratch.is_constant(value.id()))
      throw InputError(fmt::format("--at: the value of '{}' must be a number or a literal such as [2, 1, 0.1]", name));
    out.values[name] = scratch.constant_values(value.id());
    out.shapes[name] = value.shape();
  }
  if (out.values.empty())
    throw InputError("--at: give the variables' values as name=value, e.g. \"z=[2,1,0.1]; y=[0,0,1]\"");
  return out;
}

std::vector<Expr> find_variables(Graph& g, NodeId root, const std::string& names, std::string_view option) {
  const std::vector<std::string> list = split_names(names);
  if (list.empty())
    throw InputError(fmt::format("{}: name the variables to differentiate with respect to, e.g. {} z", option, option));
  const std::vector<NodeId> reached = topological_order(g, std::span(&root, 1));
  std::vector<Expr> out;
  for (const std::string& name : list) {
    auto it = std::find_if(reached.begin(), reached.end(),
                           [&](NodeId id) { return g.is_variable(id) && g.attr(id).name == name; });
    if (it == reached.end()) throw InputError(fmt::format("{}: '{}' does not occur in the expression", option, name));
    out.emplace_back(g, *it);
  }
  return out;
}

GradSession grad_session(const GradRequest& request) {
  if (!request.assumptions.empty() && !request.simplify) throw InputError("--assume: only with --simplify");
  GradSession session;
  Graph& g = *session.graph;
  const PointValues bindings = parse_point(request.at);
  session.bindings = bindings.values;
  const ParseContext context = builtin_parse_context(bindings.shapes);

  session.program = parse_program(g, request.expression, context);
  const Expr loss = session.program.result;
  if (!loss.shape().is_scalar())
    throw InputError(fmt::format("the expression has shape {}: its gradient needs a scalar (wrap it in sum(...))",
                                 to_string(loss.shape())));

  const std::vector<Expr> wrt = find_variables(g, loss.id(), request.wrt, "--wrt");
  GradResult& result = session.result;
  for (const Expr& w : wrt) result.gradients.push_back({.name = g.attr(w.id()).name, .shape = w.shape()});
  session.gradient = grad(loss, wrt);

  result.expression = request.expression;
  result.precision = request.precision;
  result.math = request.math;
  with_scalar(request.precision,
              [&]<class T>(std::type_identity<T>) { evaluate<T>(g, session.gradient, bindings.values, result); });
  if (request.simplify) {
    result.simplified = true;
    result.assumptions = request.assumptions;
    try {
      simplify(g, session.program, session.gradient, context, bindings, result);
    } catch (const std::domain_error& e) {  // the symbolic algebra meets 1/0 or log(0): no canonical form
      throw InputError(fmt::format("--simplify: the gradient has no symbolic form here: {}", e.what()));
    }
  }
  return session;
}

GradResult run_grad(const GradRequest& request) { return std::move(grad_session(request).result); }

std::string read_expression_file(const std::string& path) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    std::error_code error;
    if (std::filesystem::is_directory(path, error))
      throw InputError(fmt::format("--file {}: cannot read it: it is a directory", path));
    file.open(path, std::ios::binary);
    if (!file) throw InputError(fmt::format("--file {}: cannot read it: {}", path, std::strerror(errno)));
    in = &file;
  }
  std::string text;
  char buffer[1 << 16];
  while (in->read(buffer, sizeof buffer), in->gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in->gcount()));
    if (text.size() > kMaxInputBytes) {
      std::error_code error;
      const auto size = path == "-" ? 0 : std::filesystem::file_size(path, error);
      throw InputError(fmt::format("--file {}: the input is {} bytes, more than the limit of {} bytes", path,
                                   size > 0 && !error ? std::to_string(size) : "more than " + std::to_string(text.size()),
                                   kMaxInputBytes));
    }
  }
  if (in->bad()) throw InputError(fmt::format("--file {}: cannot read it: {}", path, std::strerror(errno)));
  return text;
}

std::string command_expression(std::string_view command, const std::string& argument, bool given,
                               const std::string& file) {
  if (!file.empty()) return read_expression_file(file);
  if (!given) throw InputError(fmt::format("{}: give the expression as an argument or with --file PATH", command));
  return argument;
}

namespace {
}  // namespace

std::string render_text(const GradResult& r) {
  std::string out = fmt::format("Expression: {}\n", r.expression);
  out += fmt::format("Precision:  {}\n", describe(r.precision));
  if (r.math == Math::Faithful) out += "Math:       faithful exp and log (within 1 ulp, not correctly rounded)\n";
  out += fmt::format("Value:      {}\n", r.value);
  out += "Gradient (reverse mode)\n";
  for (const VariableGradient& v : r.gradients) out += fmt::format("  ∂/∂{} = [{}]\n", v.name, join(v.values));
  if (r.simplified) {
    out += r.assumptions.empty() ? "Symbolic gradient\n"
                                 : fmt::format("Symbolic gradient, assuming {}\n", join(r.assumptions));
    for (const VariableGradient& v : r.gradients)
      for (std::size_t k = 0; k < v.symbolic.size(); ++k)
        out += fmt::format("  ∂/∂{}{} = {}\n", v.name, v.symbolic.size() > 1 ? sym::subscript(static_cast<long>(k) + 1) : "",
                           v.symbolic[k]);
    if (!r.nonfinite) {
      for (const VariableGradient& v : r.gradients)
        out += fmt::format("  at the point: ∂/∂{} = [{}]\n", v.name, join(v.symbolic_values));
      out += fmt::format("  reverse mode and the formulas {} (largest difference {:.1e}, relative to max(1, |value|))\n",
                         r.symbolic_agrees ? "agree" : "DIFFER", r.symbolic_difference);
    }
  }
  if (r.nonfinite) out += fmt::format("Non-finite values: {}\n", *r.nonfinite);
  return out;
}

nlohmann::ordered_json render_json(const GradResult& r) {
  nlohmann::ordered_json j;
  j["expression"] = r.expression;
  j["precision"] = std::string(name_of(r.precision));
  j["math"] = std::string(name_of(r.math));
  j["value"] = r.value;
  j["gradient"] = nlohmann::ordered_json::object();
  for (const VariableGradient& v : r.gradients) j["gradient"][v.name] = v.values;
  if (r.simplified) {
    j["assumptions"] = r.assumptions;
    j["symbolic"] = nlohmann::ordered_json::object();
    for (const VariableGradient& v : r.gradients) j["symbolic"][v.name] = v.symbolic;
    if (!r.nonfinite) {
      j["symbolic_values"] = nlohmann::ordered_json::object();
      for (const VariableGradient& v : r.gradients) j["symbolic_values"][v.name] = v.symbolic_values;
      j["symbolic_difference"] = r.symbolic_difference;
      j["symbolic_agrees"] = r.symbolic_agrees;
    }
  }
  j["nonfinite"] = r.nonfinite ? nlohmann::ordered_json(*r.nonfinite) : nlohmann::ordered_json(nullptr);
  return j;
}

}  // namespace ddx
