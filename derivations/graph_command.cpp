#include "derivations/graph_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <ostream>
#include <map>

#include "derivations/grad_command.hpp"
#include "derivations/graph_figure.hpp"
#include "derivations/inputs.hpp"
#include "engine/eval.hpp"
#include "engine/grad.hpp"
#include "engine/parser.hpp"
#include "ops/functions.hpp"
#include "ops/primitives.hpp"

namespace ddx {
namespace {

using Shapes = std::map<std::string, Shape, std::less<>>;

bool is_name(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

}  // namespace

Shapes parse_shapes(const std::string& text) {
  Shapes out;
  std::string item;
  auto finish = [&] {
    const std::string s = trim(item);
    item.clear();
    if (s.empty()) return;
    const std::size_t eq = s.find('=');
    const std::string name = eq == std::string::npos ? "" : trim(s.substr(0, eq));
    const std::string dims = eq == std::string::npos ? "" : trim(s.substr(eq + 1));
    if (!is_name(name) || dims.size() < 2 || dims.front() != '[' || dims.back() != ']')
      throw InputError(fmt::format("--shape '{}': expected name=[n], name=[rows, cols] or name=[] (a scalar)", s));
    std::vector<std::int64_t> sizes;
    std::string inner = trim(std::string_view(dims).substr(1, dims.size() - 2));
    if (!inner.empty()) {
      inner += ',';
      std::string number;
      for (char c : inner) {
        if (c != ',') {
          number += c;
          continue;
        }
        const std::string d = trim(number);
        number.clear();
        if (d.empty() || d.size() > 9 || !std::all_of(d.begin(), d.end(), [](char x) { return x >= '0' && x <= '9'; }) ||
            std::stol(d) < 1)
          throw InputError(fmt::format("--shape '{}': each size must be a whole number from 1 to 999999999", s));
        sizes.push_back(std::stol(d));
      }
    }
    if (sizes.size() > 2) throw InputError(fmt::format("--shape '{}': at most two axes ([rows, cols])", s));
    if (out.count(name)) throw InputError(fmt::format("--shape: '{}' is given twice", name));
    out[name] = sizes.empty() ? Shape::scalar() : sizes.size() == 1 ? Shape::vector(sizes[0])
                                                                     : Shape::matrix(sizes[0], sizes[1]);
  };
  for (char c : text) {
    if (c == ';' || c == '\n') finish();
    else item += c;
  }
  finish();
  return out;
}

namespace {

std::vector<std::string> format_values(const std::vector<double>& values) {
  std::vector<std::string> out;
  out.reserve(values.size());
  for (double x : values) out.push_back(fmt::format("{:.4g}", x == 0 ? 0.0 : x));  // no "-0"
  return out;
}

void add_name(FigureOptions& o, NodeId id, const std::string& name) {
  std::string& s = o.names[id];
  s += (s.empty() ? "" : ", ") + name;
}

}  // namespace

Shapes variable_shapes(const std::string& shape_text, const std::string& at, PointValues& point) {
  Shapes shapes;
  if (!shape_text.empty()) shapes = parse_shapes(shape_text);
  if (!at.empty()) {
    point = parse_point(at);
    for (const auto& [name, shape] : point.shapes) {
      if (auto it = shapes.find(name); it != shapes.end() && !(it->second == shape))
        throw InputError(fmt::format("--shape says '{}' has shape {}, but its value in --at has shape {}", name,
                                     to_string(it->second), to_string(shape)));
      shapes[name] = shape;
    }
  }
  return shapes;
}

std::string run_graph(const GraphRequest& request) {
  if (request.format != "dot" && request.format != "svg")
    throw InputError(fmt::format("--format '{}': expected dot or svg", request.format));
  PointValues point;
  ParseContext context = builtin_parse_context(variable_shapes(request.shape, request.at, point));
  context.other_variables = Shape::scalar();  // a variable neither option names is a scalar

  Graph g;
  const ParsedProgram program = parse_program(g, request.expression, context);
  const NodeId result = program.result.id();

  FigureOptions figure;
  figure.roots = {result};
  std::string title = request.expression;
  std::replace(title.begin(), title.end(), '\n', ';');
  figure.title = trim(title);
  for (const auto& [name, value] : program.statements) add_name(figure, value.id(), name);

  const std::vector<NodeId> reached = topological_order(g, std::span(&result, 1));
  std::optional<Gradient> gradient;
  if (!request.grad.empty()) {
    if (!program.result.shape().is_scalar())
      throw InputError(fmt::format("--grad: the expression has shape {}; the gradient needs a scalar (wrap it in "
                                   "sum(...))",
                                   to_string(program.result.shape())));
    const std::vector<Expr> wrt = find_variables(g, result, request.grad, "--grad");
    gradient = grad(program.result, wrt);
    figure.gradient_roots = gradient->gradients;
    for (std::size_t k = 0; k < wrt.size(); ++k)
      add_name(figure, gradient->gradients[k], "∂/∂" + g.attr(wrt[k].id()).name);
  }

  if (!request.at.empty()) {
    for (NodeId id : reached)
      if (g.is_variable(id) && !point.values.count(g.attr(id).name))
        throw InputError(fmt::format("--at: no value for '{}' (give every variable a value, or leave out --at and "
                                     "use --shape)",
                                     g.attr(id).name));
    std::vector<NodeId> roots = figure.roots;
    roots.insert(roots.end(), figure.gradient_roots.begin(), figure.gradient_roots.end());
    if (gradient)
      for (const SweepStep& step : gradient->sweep) roots.push_back(step.adjoint);
    const Evaluation<double> ev(g, roots, round_bindings<double>(point.values));
    std::vector<NodeId> drawn = figure.roots;
    drawn.insert(drawn.end(), figure.gradient_roots.begin(), figure.gradient_roots.end());
    for (NodeId id : topological_order(g, drawn))
      if (!g.is_constant(id)) figure.values[id] = format_values(ev.value(id));
    if (gradient)
      for (const SweepStep& step : gradient->sweep) figure.adjoints[step.node] = format_values(ev.value(step.adjoint));
  }

  const std::string dot = to_dot(g, figure);
  if (request.format == "dot") return dot;
  std::string error;
  std::optional<std::string> svg = dot_to_svg(dot, error);
  if (!svg) throw InputError(fmt::format("--format svg: {}", error));
  return *svg;
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary);
  if (file) file << text;
  if (!file || !file.flush()) throw InputError(fmt::format("-o: cannot write '{}'", path));
}

int run_graph_command(const GraphRequest& request, const std::string& output_path, std::ostream& out) {
  const std::string text = run_graph(request);
  if (output_path.empty()) out << text;
  else write_text_file(output_path, text);
  return 0;
}

}  // namespace ddx
