// ddx graph: a figure of the graph of an expression the user types, and with
// --grad of its gradient beside it, as DOT or SVG (derivations/graph_figure.hpp).
#pragma once

#include <iosfwd>
#include <map>
#include <string>

#include "derivations/grad_command.hpp"
#include "engine/shape.hpp"

namespace ddx {

struct GraphRequest {
  std::string expression;      // "p = softmax(z); -sum(y * log(p))"
  std::string grad;            // "z" or "z,y": also draw the gradient; empty: the forward graph only
  std::string format = "dot";  // "dot" or "svg"
  // Values of the variables, "z=[2,1,0.1]; y=[0,0,1]": they fix the shapes,
  // and the nodes are labelled with their values (and adjoints, with grad).
  std::string at;
  // Shapes of variables without a value, "z=[3]; y=[3]" ("[2, 3]" a matrix,
  // "[]" a scalar). A variable that neither option names is a scalar.
  std::string shape;
};

// The shapes of --shape: "z=[3]; W=[2,3]; s=[]" ("[]" a scalar). Statements
// are separated by ';' or newlines. Throws InputError.
std::map<std::string, Shape, std::less<>> parse_shapes(const std::string& text);

// The shapes of the variables from --shape and --at together; the values of
// --at go to `point`. Throws InputError when the two disagree on a variable.
std::map<std::string, Shape, std::less<>> variable_shapes(const std::string& shape, const std::string& at,
                                                          PointValues& point);

// The figure as DOT or SVG text. Throws InputError or ParseError (both
// std::invalid_argument) for bad usage: a parse error, a malformed --at or
// --shape, a --grad variable that does not occur, a non-scalar expression
// with --grad, an unknown format, graphviz missing or failing for svg.
std::string run_graph(const GraphRequest& request);

// Writes `text` to the file `path`; throws InputError naming the file when it cannot.
void write_text_file(const std::string& path, const std::string& text);

// The whole command: runs the request and writes the text to the file
// `output_path`, or to `out` when the path is empty. Returns the exit status (0).
int run_graph_command(const GraphRequest& request, const std::string& output_path, std::ostream& out);

}  // namespace ddx
