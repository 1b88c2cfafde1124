// ddx fuse: the fusion pass (ops/fusion.hpp) on an expression the user types:
// the expression before and after, every rewrite with the nodes it replaced,
// the node it introduced and its proof, and, at a point, the value and
// gradient of both graphs side by side.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/scalar.hpp"
#include "ops/fusion.hpp"

namespace ddx {

struct FuseRequest {
  std::string expression;  // "-sum(y * log(softmax(z)))"
  // Shapes of variables, "z=[3]; y=[3]" ("[2, 3]" a matrix, "[]" a scalar).
  std::string shape;
  // Values of the variables, "z=[2,1,0.1]; y=[0,0,1]": also fix their shapes.
  std::string at;
  long classes = 3;  // a variable neither option names is a vector of this many elements
  Precision precision = Precision::Double;  // of the values shown at the point
  bool check_steps = true;
};

// Both graphs evaluated at --at.
struct FusedPoint {
  Precision precision = Precision::Double;
  std::vector<std::string> composed_value, fused_value;  // every element, at the precision
  struct VariableGradient {
    std::string name;
    std::vector<std::string> composed, fused;
  };
  std::vector<VariableGradient> gradients;  // when the expression is a scalar, one per variable
  // At 100 digits: the largest |composed − fused| / max(1, |composed|, |fused|)
  // over the value and every gradient element, and whether it is below
  // kAgreement.
  double largest_difference = 0;
  bool agree = true;
  std::optional<std::string> nonfinite;  // where a graph produced inf or NaN at the precision
};

// Two graphs evaluated at 100 digits round ~100 times by 1e-100 relative; a
// rewrite that changed the value differs by many orders more than this.
inline constexpr double kAgreement = 1e-90;

struct FuseResult {
  std::string expression;
  std::string before, after;  // the expression as printed, before and after fusing
  std::size_t nodes_before = 0, nodes_after = 0;
  FusionResult fusion;
  std::optional<FusedPoint> point;

  bool changed() const { return !fusion.rewrites.empty(); }
  // 0 every rewrite proven (and both graphs agree at the point), 1 otherwise.
  int exit_status() const;
};

// Throws InputError, ParseError or ShapeError (std::invalid_argument) for bad input.
FuseResult run_fuse(const FuseRequest& request);

std::string render_text(const FuseResult& result, bool trace);
nlohmann::ordered_json render_json(const FuseResult& result);

}  // namespace ddx
