// A proof as data: the identity, whether it was proven, the residual when it
// was not, and the steps, each a named rule with its two sides in plain text
// and LaTeX and the result of checking the step numerically.
#pragma once

#include <string>
#include <vector>

namespace ddx {

struct ProofStep {
  std::string rule;          // the rule's name, e.g. "delta-contraction"
  std::string before;        // plain text (Unicode)
  std::string after;
  std::string latex_before;
  std::string latex_after;
  std::string uses;          // the hypothesis or fact the step relies on ("" for none), e.g. "Σⱼ yⱼ = 1"
  bool numeric_check_passed = false;
  std::string numeric_check; // what was checked, e.g. "50 digits, 8 random points, n = 3, 5, 8; max |difference| 2e-50"
};

struct Proof {
  std::string identity;       // the claim, e.g. "∂L/∂zᵢ = pᵢ − yᵢ"
  std::string classes;        // "4", or "n" for a proof for every n
  std::string route;          // e.g. "scalarized", "textbook", "direct"
  bool proven = false;
  std::string residual = "0";  // claim's left side minus right side, reduced; "0" when proven
  std::string residual_latex = "0";
  std::vector<std::string> hypotheses;  // used or available, e.g. "Σⱼ yⱼ = 1"
  std::vector<ProofStep> steps;
  double seconds = 0;

  // True when every step's numeric check passed.
  bool steps_checked() const {
    for (const ProofStep& s : steps)
      if (!s.numeric_check_passed) return false;
    return true;
  }
};

}  // namespace ddx
