// The identities ddx proves symbolically: each builds its claim as a graph
// (reverse mode included) and hands it to the fixed-n prover.
#pragma once

#include <string>
#include <vector>

#include "engine/proof.hpp"

namespace ddx {

struct IdentityInfo {
  std::string name;     // "softmax-ce"
  std::string summary;  // one line
  bool expect_proven;   // false for the contrast that must not prove
};

const std::vector<IdentityInfo>& identities();

struct ProveOptions {
  long classes = 3;
  bool use_hypothesis = true;
  bool check_steps = true;
  long batch = 2;  // rows, for batch-mean
};

// Throws std::invalid_argument naming an unknown identity or a bad option.
Proof prove_identity(const std::string& name, const ProveOptions& options);

std::string render_text(const Proof& proof, bool trace);
std::string render_json(const Proof& proof);

}  // namespace ddx
