// ddx: the command line.
//
// Exit status: 0 when every check passes, 1 when a check fails (the output
// says which and why), 2 when the command line or its input is malformed.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <algorithm>
#include <iostream>

#include "cli/command.hpp"
#include "derivations/catalogue.hpp"
#include "derivations/claim.hpp"
#include "derivations/every_n.hpp"
#include "derivations/explain.hpp"
#include "derivations/grad_command.hpp"
#include "derivations/graph_command.hpp"
#include "derivations/identities.hpp"
#include "derivations/seed_examples.hpp"
#include "derivations/softmax_ce.hpp"

namespace {

using ddx::cli::kBadUsage;
using ddx::cli::kFailed;
using ddx::cli::kPassed;

struct DeriveOptions {
  std::string name;
  ddx::DerivationArguments arguments;
  std::string format;
  std::string output;
  bool json = false;
  bool list = false;
  int samples = 0;
  std::uint64_t seed = 1;
};

int run_derive(DeriveOptions& o) {
  using namespace ddx;
  if (o.list) {
    for (const Derivation& d : derivations()) std::cout << fmt::format("{:<16} {}\n", d.name, d.summary);
    return kPassed;
  }
  if (o.name.empty()) throw InputError("derive: name a derivation (ddx derive --list shows them)");
  const Derivation& derivation = find_derivation(o.name);
  if (!derivation.takes_example && o.arguments.example_given)
    throw InputError(fmt::format("derive {}: --logits, --target(s), --temperature, --classes and "
                                 "--allow-unnormalized do not apply to it",
                                 o.name));
  if (o.json && !o.format.empty()) throw InputError("--json and --format: give one, not both");
  if (!o.format.empty()) report::require_format(o.format);  // before the (slow) derivation runs
  if (o.samples > 0 && o.name != "softmax-ce") throw InputError("--samples: only with softmax-ce");
  if (o.samples > 0) {
    const SamplesSummary s = run_samples(o.samples, o.seed, parse_number(o.arguments.temperature, "--temperature"),
                                         parse_precision(o.arguments.precision));
    if (o.json) std::cout << render_json(s, o.seed).dump(2) << "\n";
    else std::cout << render_text(s, o.seed);
    return s.passed() ? kPassed : kFailed;
  }
  // --json keeps the data of the two original derivations: the numeric proof and the seed checks.
  if (o.json && o.name == "softmax-ce") {
    const SoftmaxCeProof proof = prove_softmax_ce(softmax_ce_input(o.arguments));
    std::cout << render_json(proof).dump(2) << "\n";
    return proof.passed() ? kPassed : kFailed;
  }
  if (o.json && o.name == "seed-examples") {
    std::cout << render_seed_checks_json(check_seed_examples()).dump(2) << "\n";
    return kPassed;
  }
  const report::Report report = derivation.build(o.arguments);
  const std::string text = report::render(report, o.json ? "json" : o.format.empty() ? "text" : o.format);
  if (o.output.empty()) std::cout << text;
  else write_text_file(o.output, text);
  return report::all_verdicts_pass(report) ? kPassed : kFailed;
}

struct ProveCommand {
  std::string name;
  long classes = 3;
  bool general = false;
  std::string route;
  bool no_hypothesis = false;
  bool trace = false;
  bool json = false;
  bool list = false;
  bool no_check = false;
  ddx::ClaimRequest claim;
};

int report(const ddx::Proof& proof, const ProveCommand& o) {
  if (o.json) std::cout << ddx::render_json(proof) << "\n";
  else std::cout << ddx::render_text(proof, o.trace);
  if (!proof.proven) return kFailed;
  if (!proof.steps_checked() && !o.no_check) {
    std::cerr << "ddx: a step of the proof failed its numeric check: this is a bug in ddx\n";
    return kFailed;
  }
  return kPassed;
}

int run_prove(ProveCommand& o, bool classes_given) {
  using namespace ddx;
  if (!o.claim.claim.empty()) {
    if (!o.name.empty()) throw InputError("prove: give an identity's name or --claim, not both");
    if (!o.route.empty()) throw InputError("--route: only for the named identities");
    if (o.no_hypothesis) throw InputError("--no-hypothesis: with --claim, leave out --assume instead");
    if (o.general && classes_given) throw InputError("--classes: not with --general (the proof is for every n)");
    o.claim.classes = o.classes;
    o.claim.general = o.general;
    o.claim.check_steps = !o.no_check;
    return report(prove_claim(o.claim), o);
  }
  if (!o.claim.assumptions.empty() || !o.claim.scalars.empty() || !o.claim.positive.empty())
    throw InputError("--assume, --scalar and --positive: only with --claim");
  const std::vector<std::string> general = every_n_identities();
  auto has_general = [&](const std::string& name) {
    return std::find(general.begin(), general.end(), name) != general.end();
  };
  if (o.list) {
    for (const IdentityInfo& i : identities()) {
      std::string routes;
      if (has_general(i.name))
        for (const std::string& r : every_n_routes(i.name)) routes += (routes.empty() ? "" : ", ") + r;
      std::cout << fmt::format("{:<28} {}{}\n", i.name, i.summary,
                               routes.empty() ? "" : fmt::format(" [every n: {}]", routes));
    }
    return kPassed;
  }
  if (o.name.empty()) throw InputError("prove: name an identity (ddx prove --list shows them)");
  if (!o.route.empty() && !o.general) throw InputError("--route: only with --general");
  Proof proof;
  if (o.general) {
    if (!has_general(o.name)) {
      std::string names;
      for (const std::string& g : general) names += (names.empty() ? "" : ", ") + g;
      throw InputError(fmt::format("--general: '{}' has no proof for every n; these do: {}", o.name, names));
    }
    proof = prove_every_n(o.name, o.route, !o.no_hypothesis);
  } else {
    ProveOptions options;
    options.classes = o.classes;
    options.use_hypothesis = !o.no_hypothesis;
    options.check_steps = !o.no_check;
    proof = prove_identity(o.name, options);
  }
  return report(proof, o);
}

struct GradCommand {
  ddx::GradRequest request;
  std::string file;  // --file: the expression is read from here
  std::string precision = "double";
  std::string math{name_of(ddx::Math::CorrectlyRounded)};
  bool json = false;
};

int run_grad(GradCommand& o, bool expression_given) {
  using namespace ddx;
  o.request.expression = command_expression("grad", o.request.expression, expression_given, o.file);
  o.request.precision = parse_precision(o.precision);
  o.request.math = o.math == name_of(Math::Faithful) ? Math::Faithful : Math::CorrectlyRounded;
  const GradResult result = ddx::run_grad(o.request);
  if (o.json) std::cout << render_json(result).dump(2) << "\n";
  else std::cout << render_text(result);
  if (result.nonfinite) {
    std::cerr << "ddx: non-finite result: " << *result.nonfinite << "\n";
    return kFailed;
  }
  return kPassed;
}

struct ExplainCommand {
  ddx::GradRequest request;
  std::string file;
  std::string precision = "double";
  std::string format = "text";
  std::string output;
};

int run_explain(ExplainCommand& o, bool expression_given) {
  using namespace ddx;
  o.request.expression = command_expression("explain", o.request.expression, expression_given, o.file);
  o.request.precision = parse_precision(o.precision);
  if (o.format != "text" && o.format != "json" && o.format != "html")
    throw InputError(fmt::format("--format: '{}' is not one of text, json, html", o.format));
  const Explanation e = explain(o.request);
  const std::string text = o.format == "html" ? render_html(e)
                           : o.format == "json" ? render_json(e).dump(2) + "\n"
                                                : render_text(e);
  if (o.output.empty()) std::cout << text;
  else write_text_file(o.output, text);
  if (e.result.nonfinite) {
    std::cerr << "ddx: non-finite result: " << *e.result.nonfinite << "\n";
    return kFailed;
  }
  return kPassed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ddx: a symbolic and automatic differentiation engine that proves the softmax-cross-entropy "
               "gradient is p - y"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ddx 0.1.0");
  app.footer("Exit status: 0 all checks pass, 1 a check fails, 2 bad usage or input.\n");

  DeriveOptions d;
  ddx::DerivationArguments& da = d.arguments;
  CLI::App* derive = app.add_subcommand("derive", "Write a derivation's report (and check it: exit 1 when a check fails)");
  derive->add_option("name", d.name, "The derivation, e.g. softmax-ce (see --list)");
  derive->add_flag("--list", d.list, "List the derivations with a one-line summary each");
  derive->add_option("--format", d.format, "text, md (GitHub Markdown), tex (standalone LaTeX), html (one self-contained "
                                           "page), json (the report's structure)")
      ->default_str("text");
  derive->add_option("-o,--output", d.output, "Write to this file instead of standard output");
  CLI::Option* logits = derive->add_option(
      "--logits", da.logits, "Logits z, comma-separated; rows separated by ';' form a batch [B, n] (default: 2,1,0.1)");
  CLI::Option* target =
      derive->add_option("--target", da.target, "The target class of each row, 0-based (default with the example: 2)");
  CLI::Option* targets =
      derive->add_option("--targets", da.targets, "A target distribution y per row, comma-separated; must sum to 1");
  CLI::Option* temperature = derive->add_option("--temperature", da.temperature, "Softmax temperature T > 0 (default: 1)");
  CLI::Option* classes = derive->add_option(
      "--classes", da.classes, "Number of classes n of the fixed-n symbolic proofs, 2 to 12 (default: the number of logits)");
  derive->add_option("--precision", da.precision, "Precision of the values shown: float, double, long-double, 50, 100")
      ->default_str("double");
  CLI::Option* unnormalized = derive->add_flag("--allow-unnormalized", da.allow_unnormalized,
                                               "Accept targets that do not sum to 1 (the gradient is then p·Σy - y)");
  derive->add_option("--samples", d.samples,
                     "softmax-ce: check K random cases instead (n from 1 to 1000, batches, soft targets)")
      ->check(CLI::Range(1, 100000));
  derive->add_option("--seed", d.seed, "Seed for --samples (default: 1)");
  derive->add_flag("--json", d.json,
                   "softmax-ce: the numeric proof's data as JSON; seed-examples: the checks as JSON; "
                   "other derivations: the report as JSON (--format json)");

  ProveCommand pr;
  CLI::App* prove = app.add_subcommand("prove", "Prove an identity symbolically (exit 0 proven, 1 refuted, 2 bad usage)");
  prove->add_option("name", pr.name, "The identity (see --list)");
  prove->add_flag("--list", pr.list, "List the identities");
  prove->add_option("--classes", pr.classes, "Number of classes n for the fixed-n proof (default: 3)");
  prove->add_flag("--general", pr.general, "Prove for every n (index notation) instead of a fixed n");
  prove->add_option("--route", pr.route, "With --general: the route, e.g. textbook or direct (default: the first listed)");
  prove->add_flag("--no-hypothesis", pr.no_hypothesis, "Do not use the hypothesis (Σy = 1): show the residual");
  prove->add_flag("--trace", pr.trace, "Print every step: rule, before, after, numeric check");
  prove->add_flag("--no-check", pr.no_check, "Skip the numeric check of each step (faster at large n)");
  prove->add_flag("--json", pr.json, "Write JSON");
  prove->add_option("--claim", pr.claim.claim,
                    "Prove your own identity, e.g. \"grad(-sum(y*log(softmax(z))), z) == softmax(z) - y\"; "
                    "every variable is a vector of --classes elements unless --scalar says otherwise");
  // One value per --assume, so that an expression after it stays positional.
  prove->add_option("--assume", pr.claim.assumptions, "With --claim: a hypothesis such as \"sum(y) = 1\" (repeatable)")
      ->allow_extra_args(false);
  prove->add_option("--scalar", pr.claim.scalars, "With --claim: variables that are scalars, comma-separated (e.g. T)");
  prove->add_option("--positive", pr.claim.positive, "With --claim: variables known to be positive (e.g. T)");

  GradCommand gr;
  CLI::App* grad = app.add_subcommand("grad", "Value and gradient of a typed expression (exit 1 when not finite)");
  CLI::Option* grad_expression =
      grad->add_option("expression", gr.request.expression,
                       "The expression, e.g. \"p = softmax(z); -sum(y * log(p))\" (after -- when it starts with '-')");
  grad->add_option("--file", gr.file,
                   "Read the expression from the file PATH instead ('-': standard input; at most 1 MiB)")
      ->option_text("PATH")
      ->excludes(grad_expression);
  grad->add_option("--wrt", gr.request.wrt, "Variables to differentiate with respect to, comma-separated")
      ->required();
  grad->add_option("--at", gr.request.at, "Values of the variables, e.g. \"z=[2,1,0.1]; y=[0,0,1]\"")->required();
  grad->add_option("--precision", gr.precision, "float, double, long-double, 50, 100")->default_str("double");
  grad->add_option("--math", gr.math,
                   "How exp and log evaluate at float and double: correctly-rounded, or faithful (within 1 ulp, "
                   "the fused ops' own, faster)")
      ->check(CLI::IsMember({std::string(ddx::name_of(ddx::Math::CorrectlyRounded)),
                             std::string(ddx::name_of(ddx::Math::Faithful))}))
      ->default_str(gr.math);
  grad->add_flag("--simplify", gr.request.simplify, "Also print the gradient simplified symbolically");
  grad->add_option("--assume", gr.request.assumptions, "With --simplify: an equation such as \"sum(y)=1\" (repeatable)")
      ->allow_extra_args(false);
  grad->add_flag("--json", gr.json, "Write JSON");

  ddx::GraphRequest gq;
  std::string graph_output;
  CLI::App* graph = app.add_subcommand("graph", "Draw the graph of a typed expression (and its gradient) as DOT or SVG");
  graph->add_option("expression", gq.expression,
                    "The expression, e.g. \"p = softmax(z); -sum(y * log(p))\" (after -- when it starts with '-')")
      ->required();
  graph->add_option("--grad", gq.grad, "Also draw the gradient with respect to these variables (comma-separated), "
                                       "beside the forward graph");
  graph->add_option("--format", gq.format, "dot or svg (svg runs graphviz's dot)")->default_str("dot");
  graph->add_option("-o,--output", graph_output, "Write to this file instead of standard output");
  graph->add_option("--at", gq.at, "Values of the variables, e.g. \"z=[2,1,0.1]; y=[0,0,1]\": they fix the shapes "
                                   "and label each node with its value (and adjoint, with --grad)");
  graph->add_option("--shape", gq.shape, "Shapes of variables without a value, e.g. \"z=[3]; y=[3]\" ([2, 3] a matrix, "
                                         "[] a scalar); a variable neither option names is a scalar");

  ExplainCommand ex;
  CLI::App* explain = app.add_subcommand(
      "explain", "Show how reverse mode computes a gradient: forward pass, reverse sweep, result (exit 1 when not finite)");
  CLI::Option* explain_expression =
      explain->add_option("expression", ex.request.expression,
                          "The expression, e.g. \"p = softmax(z); -sum(y * log(p))\" (after -- when it starts with '-')");
  explain->add_option("--file", ex.file, "Read the expression from the file PATH instead ('-': standard input)")
      ->option_text("PATH")
      ->excludes(explain_expression);
  explain->add_option("--wrt", ex.request.wrt, "Variables to differentiate with respect to, comma-separated")->required();
  explain->add_option("--at", ex.request.at, "Values of the variables, e.g. \"z=[2,1,0.1]; y=[0,0,1]\"")->required();
  explain->add_option("--precision", ex.precision, "float, double, long-double, 50, 100")->default_str("double");
  explain->add_option("--assume", ex.request.assumptions,
                      "An equation such as \"sum(y)=1\" the symbolic gradient may use (repeatable)")
      ->allow_extra_args(false);
  explain->add_option("--format", ex.format,
                      "text, json, or html: a self-contained page that steps through the sweep (Next/Previous, ← →)")
      ->default_str("text");
  explain->add_option("-o,--output", ex.output, "Write to this file instead of standard output");

  // The commands in their own files (cli/command.hpp).
  std::vector<ddx::cli::Command> commands;
  for (ddx::cli::Registrar add : ddx::cli::registrars()) commands.push_back(add(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kPassed : kBadUsage;
  }
  try {
    if (derive->parsed()) {
      for (const CLI::Option* option : {logits, target, targets, temperature, classes, unnormalized})
        da.example_given = da.example_given || option->count() > 0;
      return run_derive(d);
    }
    if (prove->parsed()) return run_prove(pr, prove->count("--classes") > 0);
    if (grad->parsed()) return run_grad(gr, grad_expression->count() > 0);
    if (explain->parsed()) return run_explain(ex, explain_expression->count() > 0);
    if (graph->parsed()) return ddx::run_graph_command(gq, graph_output, std::cout);
    for (const ddx::cli::Command& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const std::invalid_argument& e) {  // InputError, ShapeError, BindingError, bad precision
    std::cerr << "ddx: " << e.what() << "\n";
    return kBadUsage;
  } catch (const std::exception& e) {
    std::cerr << "ddx: internal error: " << e.what() << "\n";
    return kFailed;
  }
  return kBadUsage;
}
