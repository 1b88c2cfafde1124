// ddx explain: how reverse mode computes a gradient, as a teacher shows it on
// a board — the forward pass node by node, then the reverse sweep: the adjoint
// ḡ each node holds (the sum of what its users sent it), its local rule, and
// what it sends to each input; finally the gradient beside the symbolic one.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "derivations/grad_command.hpp"

namespace ddx {

struct ExplainedNode {  // one node of the forward pass
  NodeId id = 0;
  std::string label;     // "z", "p", "%5"
  std::string op;        // "exp", "variable", "constant"
  std::string formula;   // "exp(z)", "%3 / %4"
  std::vector<NodeId> inputs;
  Shape shape;
  std::vector<std::string> value;
};

struct Received {  // a contribution to a node's adjoint
  NodeId from = 0;  // the user that sent it (the node itself for the seed)
  std::vector<std::string> value;
};

struct Sent {
  NodeId to = 0;
  std::string argument;  // which argument of the node: "a", "b", "x"
  std::vector<std::string> value;
};

struct ExplainedStep {  // one node's turn in the reverse sweep
  NodeId node = 0;
  std::vector<Received> received;    // summed into the adjoint, in the order they arrived
  std::vector<std::string> adjoint;  // ḡ = ∂L/∂node
  std::string rule;                  // the op's vector-Jacobian rule in words
  std::vector<Sent> sends;
  bool seed = false;                 // the loss itself: ḡ = 1
};

// The adjoints as the sweep builds them: after step k, each node that has
// received something holds this partial sum.
struct PartialAdjoint {
  NodeId node = 0;
  std::vector<std::string> value;
  int contributions = 0;  // how many have arrived so far
  bool complete = false;  // every user has sent its contribution
};

struct Explanation {
  GradResult result;                 // value, gradient, symbolic gradient and their comparison
  std::vector<ExplainedNode> forward;
  std::vector<ExplainedStep> sweep;
  std::vector<std::vector<PartialAdjoint>> after_step;  // after_step[k]: what changed at step k
  std::vector<std::pair<std::string, NodeId>> wrt;      // the variables and their nodes
  std::string at;                                       // the point, as given
  std::string dot;                                      // the graph with values and adjoints
  const ExplainedNode& node(NodeId id) const;
};

// Throws like run_grad (std::invalid_argument for bad usage).
Explanation explain(const GradRequest& request);

std::string render_text(const Explanation& e);
nlohmann::ordered_json render_json(const Explanation& e);
// A self-contained page (no network): the graph as inline SVG (when graphviz
// is installed) and a stepper through the sweep (Next / Previous, arrow keys).
std::string render_html(const Explanation& e);

}  // namespace ddx
