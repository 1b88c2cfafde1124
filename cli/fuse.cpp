// ddx fuse EXPR: the fusion pass on a typed expression (derivations/fuse.hpp).
#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "derivations/fuse.hpp"
#include "derivations/grad_command.hpp"
#include "derivations/inputs.hpp"

namespace {

struct FuseOptions {
  ddx::FuseRequest request;
  std::string file;
  std::string precision = "double";
  bool json = false;
  bool trace = false;
  CLI::Option* expression = nullptr;
};

int run_fuse_command(FuseOptions& o) {
  using namespace ddx;
  o.request.expression = command_expression("fuse", o.request.expression, o.expression->count() > 0, o.file);
  o.request.precision = parse_precision(o.precision);
  const FuseResult result = run_fuse(o.request);
  if (o.json) std::cout << render_json(result).dump(2) << "\n";
  else std::cout << render_text(result, o.trace);
  return result.exit_status();
}

ddx::cli::Command add_fuse(CLI::App& app) {
  auto o = std::make_shared<FuseOptions>();
  CLI::App* sub = app.add_subcommand(
      "fuse",
      "Replace composed softmax patterns by fused ops, each rewrite proven (exit 0 all proven, 1 not, 2 bad input)");
  sub->footer(
      "Rewrites: crossentropy_softmax_to_fused (-sum(y*log(softmax(z))), its batch mean, with a temperature z/T), "
      "log_softmax_to_fused (log(softmax(z))), logsumexp_to_fused (log(sum(exp(z), axis=-1))), softmax_to_fused.\n"
      "Each rewrite is proven by the fixed-n prover at the expression's shapes. With --at, both graphs are evaluated "
      "(value and gradient with respect to every variable) and compared at 100 digits.\n"
      "Example: ddx fuse \"-sum(y * log(softmax(z)))\" --at \"z=[2,1,0.1]; y=[0,0,1]\"");
  o->expression = sub->add_option("expression", o->request.expression,
                                  "The expression, e.g. \"p = softmax(z); -sum(y * log(p))\"");
  sub->add_option("--file", o->file, "Read the expression from this file (\"-\": standard input)")
      ->excludes(o->expression);
  sub->add_option("--shape", o->request.shape,
                  "Shapes of variables, e.g. \"z=[2,3]; y=[2,3]; T=[]\" (a matrix is a batch of rows; [] a scalar)");
  sub->add_option("--classes", o->request.classes,
                  "Length of every vector variable neither --shape nor --at names")
      ->default_str("3");
  sub->add_option("--at", o->request.at, "Values of the variables, e.g. \"z=[2,1,0.1]; y=[0,0,1]\"");
  sub->add_option("--precision", o->precision, "Precision of the values shown with --at: float, double, long-double, "
                                               "50, 100")
      ->default_str("double");
  sub->add_flag("--trace", o->trace, "Print every step of each rewrite's proof");
  sub->add_flag_function("--no-check", [o](std::int64_t) { o->request.check_steps = false; },
                "Do not check the proof steps numerically");
  sub->add_flag("--json", o->json,
                "Write JSON: expression, before, after, nodes_before, nodes_after, changed, all_proven, rewrites "
                "[{rule, root {id, expression}, replaced [{id, node}], fused {id, expression}, proof}], point "
                "(null without --at: {precision, value {composed, fused}, gradient {name: {composed, fused}}, "
                "largest_difference, agree, nonfinite})");
  return {sub, [o] { return run_fuse_command(*o); }};
}

const bool registered = ddx::cli::register_command(add_fuse);

}  // namespace
