// ddx compare: composed against fused softmax–cross-entropy, measured against
// a 100-digit reference (derivations/compare.hpp).
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <string>

#include "cli/command.hpp"
#include "derivations/compare.hpp"
#include "derivations/graph_command.hpp"
#include "derivations/inputs.hpp"

namespace {

struct CompareCommand {
  int classes = 3;
  std::string margins = "1,10,20,30,40,50,100,700,800";
  std::string precisions = "float,double,long-double";
  std::string format = "text";
  std::string output;
  bool no_timing = false;
};

int run_compare(const CompareCommand& c) {
  using namespace ddx;
  const compare::Options options = compare::parse_options(c.classes, c.margins, c.precisions, !c.no_timing);
  report::require_format(c.format);  // json too: before the comparison runs
  const compare::Result result = compare::run(options);
  const std::string text = compare::render(result, c.format);
  if (c.output.empty()) std::cout << text;
  else write_text_file(c.output, text);
  return result.passed() ? cli::kPassed : cli::kFailed;
}

ddx::cli::Command add_compare(CLI::App& app) {
  auto c = std::make_shared<CompareCommand>();
  CLI::App* sub = app.add_subcommand(
      "compare",
      "Compare four softmax–cross-entropy variants (naive-composed, stable-composed, framework-fused, ddx-fused) "
      "on logits [a, 0, …, 0], target class 0, against a 100-digit reference: error in ulps and bits, wrong zeros, "
      "overflow, thresholds, cost. " +
          fmt::format("Exit 0 when ddx-fused is within {} ulps of the truth everywhere up to the underflow limit, "
                      "1 when not, 2 for bad input", ddx::compare::kDdxFusedUlps));
  sub->add_option("--classes", c->classes, "Number of classes n (at least 2)")->capture_default_str();
  sub->add_option("--margins", c->margins, "Comma-separated margins a")->default_str(c->margins);
  sub->add_option("--precisions", c->precisions, "Comma-separated: float, double, long-double")->default_str(c->precisions);
  sub->add_option("--format", c->format,
                  "text, md, tex, html (with SVG charts) or json (a list `rows`, thresholds and cost; inf and NaN are "
                  "the strings \"inf\", \"-inf\", \"nan\")")
      ->default_str("text");
  sub->add_option("-o,--output", c->output, "Write to this file instead of standard output");
  sub->add_flag("--no-timing", c->no_timing,
                "Do not measure time per element, so that the same input gives byte-identical output");
  return {sub, [c] { return run_compare(*c); }};
}

const bool registered = ddx::cli::register_command(add_compare);

}  // namespace
