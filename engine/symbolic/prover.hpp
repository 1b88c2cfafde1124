// The fixed-n prover: decides lhs = rhs for two nodes of a graph, element by
// element, by scalarising both into canonical polynomials and deciding that
// their difference is zero under the hypotheses. Every step of the trace is
// checked numerically at 50 digits at seeded random points that satisfy the
// hypotheses.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "engine/proof.hpp"

namespace ddx::sym {

struct Claim {
  const Graph* graph = nullptr;
  NodeId lhs = 0, rhs = 0;          // same shape
  std::string identity;             // how the claim reads, e.g. "∂L/∂z = p − y"
  struct Equality {
    NodeId lhs, rhs;                // elementwise: one hypothesis per element
    std::string text;               // e.g. "Σⱼ yⱼ = 1"
  };
  std::vector<Equality> hypotheses;
  std::set<std::string, std::less<>> positive;           // variables known to be > 0
  std::vector<std::pair<NodeId, std::string>> names;     // print node's k-th element as name_k when it is a monomial
  std::string lhs_name = "lhs", rhs_name = "rhs";        // for the trace, e.g. "∂L/∂z", "p − y"
  std::size_t shown_component = 0;                       // the component the trace follows
};

struct ProverOptions {
  bool check_steps = true;
  int points = 3;          // random points per numeric check
  std::uint64_t seed = 1;
};

Proof prove_fixed(const Claim& claim, const ProverOptions& options = {});

}  // namespace ddx::sym
