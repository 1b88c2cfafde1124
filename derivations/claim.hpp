// ddx prove --claim: identities users type, such as
//
//   grad(-sum(y*log(softmax(z))), z) == softmax(z) - y   assuming sum(y) = 1
//
// Both sides are parsed into one graph (grad(f, x) is reverse mode), every
// variable a vector of `classes` elements unless declared scalar, and the
// claim is decided by the fixed-n prover, or for every n by the index
// calculus.
#pragma once

#include <string>
#include <vector>

#include "engine/parser.hpp"
#include "engine/proof.hpp"
#include "engine/symbolic/prover.hpp"

namespace ddx {

struct ClaimRequest {
  std::string claim;                     // "lhs == rhs", optionally after statements "p = softmax(z); ..."
  std::vector<std::string> assumptions;  // "sum(y) = 1"
  long classes = 3;                      // the length of every vector variable
  std::string scalars;                   // variables that are scalars, comma-separated: "T,c"
  std::string positive;                  // variables known to be > 0: "T"
  bool general = false;                  // for every n
  bool check_steps = true;
};

// Parses assumptions "a = b" into node pairs of g (b may be a scalar against
// a vector a: then every element equals it). Throws InputError naming the
// assumption.
std::vector<sym::Claim::Equality> parse_assumptions(Graph& g, const std::vector<std::string>& assumptions,
                                                    const ParseContext& context);

// Throws InputError or ParseError (std::invalid_argument) for bad usage.
Proof prove_claim(const ClaimRequest& request);

}  // namespace ddx
