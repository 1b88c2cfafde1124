// The reports on the variations of softmax–cross-entropy: temperature, label
// smoothing, two classes as a sigmoid, the batch mean, log-softmax, and the
// contrast of mean squared error. Each states its definitions, proves its
// identity symbolically, and checks it numerically on the example.
#include <cmath>
#include <fmt/format.h>

#include "derivations/catalogue.hpp"
#include "derivations/claim.hpp"
#include "derivations/every_n.hpp"
#include "derivations/graph_figure.hpp"
#include "derivations/identities.hpp"
#include "derivations/report_sections.hpp"
#include "engine/op.hpp"
#include "ops/composites.hpp"

namespace ddx {
namespace {

using namespace report;

Proof fixed_proof(const std::string& identity, long classes) {
  ProveOptions options;
  options.classes = classes;
  return prove_identity(identity, options);
}

void numeric_section(Report& report, const std::string& title, const std::string& intro, const SoftmaxCeInput& in) {
  Section& s = report.section(title);
  s.add(paragraph(intro, " (", describe_input(in), ")."));
  add_numeric_proof(s, prove_softmax_ce(in));
}

}  // namespace

Report temperature_report(const DerivationArguments& arguments) {
  SoftmaxCeInput in = softmax_ce_input(arguments);
  if (in.temperature == 1) in.temperature = 2;  // the example needs a temperature other than 1
  Report report{.name = "temperature",
                .title = "Softmax with a temperature: the gradient is (p − y)/T",
                .summary = "Dividing the logits by a temperature T > 0 before softmax flattens the probabilities "
                           "(T > 1) or sharpens them (T < 1); the gradient of cross-entropy is (p − y)/T.",
                .sections = {}};
  {
    Section& s = report.section("Definitions");
    s.add(display(definition_math(softmax_definition(true)), "softmax-t"))
        .add(display(definition_math(loss_definition("y")), "loss"));
  }
  {
    Section& s = report.section("How T shapes the probabilities");
    Graph g;
    const auto n = static_cast<std::int64_t>(in.logits.front().size());
    const Expr z = variable(g, "z", Shape::vector(n));
    std::vector<Rational> temperatures{Rational(1, 2), Rational(1), Rational(2), Rational(5)};
    if (std::find(temperatures.begin(), temperatures.end(), in.temperature) == temperatures.end())
      temperatures.push_back(in.temperature);
    Table t{.caption = fmt::format("softmax(z/T) of z = {} at {} precision",
                                   abbreviate_elements(to_strings(in.logits.front()), 10), describe(in.precision)),
            .header = {"T", "p", "max p"},
            .rows = {}};
    for (const Rational& T : temperatures) {
      const Expr p = softmax(z, constant(g, T)), top = max(p);
      const FormattedValues v = evaluate_formatted(g, {p.id(), top.id()}, {{"z", in.logits.front()}}, in.precision);
      t.rows.push_back(Row{{to_string(T), abbreviate_elements(v[p.id()], 6), v.scalar(top.id())}, std::nullopt});
    }
    s.add(std::move(t));
  }
  {
    Section& s = report.section("The proof for every n");
    add_proof(s, prove_every_n("temperature"));
    s.add(paragraph("And for a fixed n, on the graph reverse mode builds:"));
    add_proof(s, fixed_proof("temperature", fixed_classes(arguments, in)));
  }
  numeric_section(report, "The numeric proof", "The gradient of the composed graph against (p − y)/T", in);
  return report;
}

Report label_smoothing_report(const DerivationArguments& arguments) {
  SoftmaxCeInput in = softmax_ce_input(arguments);
  const Rational epsilon(1, 10);
  const auto n = static_cast<long>(in.logits.front().size());
  Report report{.name = "label-smoothing",
                .title = "Label smoothing: the gradient is p − ỹ",
                .summary = "Label smoothing mixes the targets with the uniform distribution, ỹ = (1 − ε)y + ε/n. "
                           "The smoothed targets still sum to 1, so the gradient of cross-entropy is p − ỹ.",
                .sections = {}};
  {
    Section& s = report.section("Definitions");
    s.add(display(definition_math(smoothed_targets_definition()), "smoothed"))
        .add(display(definition_math(softmax_definition(false)), "softmax"))
        .add(display(definition_math(loss_definition("ỹ")), "loss"));
  }
  {
    Section& s = report.section("The smoothed targets sum to 1");
    add_proof(s, fixed_proof("label-smoothing-sums-to-one", fixed_classes(arguments, in)));
  }
  {
    Section& s = report.section("The proof for every n");
    add_proof(s, prove_every_n("label-smoothing"));
  }
  SoftmaxCeInput smoothed = in;
  smoothed.target_classes.clear();
  Table t{.caption = fmt::format("The targets smoothed with ε = {} (n = {})", to_string(epsilon), n),
          .header = {"row", "y", "ỹ = (1 − ε)y + ε/n", "Σ ỹ"},
          .rows = {}};
  for (std::size_t r = 0; r < smoothed.targets.size(); ++r) {
    Rational total = 0;
    for (Rational& v : smoothed.targets[r]) {
      v = (1 - epsilon) * v + epsilon / n;
      total += v;
    }
    t.rows.push_back(Row{{std::to_string(r), abbreviate_elements(to_strings(in.targets[r]), 6),
                          abbreviate_elements(to_strings(smoothed.targets[r]), 6), to_string(total)},
                         std::nullopt});
  }
  Section& s = report.section("The example");
  s.add(std::move(t));
  add_numeric_proof(s, prove_softmax_ce(smoothed));
  return report;
}

Report sigmoid_bce_report(const DerivationArguments& arguments) {
  SoftmaxCeInput in = softmax_ce_input(arguments);
  if (in.logits.front().size() != 2 || in.logits.size() != 1) {  // the first two logits of the first row, class 0
    SoftmaxCeInput two;
    two.logits = {{in.logits.front().at(0), in.logits.front().size() > 1 ? in.logits.front()[1] : Rational(0)}};
    two.set_target_classes({0});
    two.temperature = in.temperature;
    two.precision = in.precision;
    in = std::move(two);
  }
  Report report{.name = "sigmoid-bce",
                .title = "Two classes: softmax is a sigmoid, and binary cross-entropy has gradient σ(x) − y",
                .summary = "With two classes softmax(z)₁ = σ(z₁ − z₂): the probability of the first class is the "
                           "sigmoid of the logit difference. Binary cross-entropy on σ(x) has gradient σ(x) − y, "
                           "the two-class case of p − y.",
                .sections = {}};
  {
    Section& s = report.section("Softmax of two logits is the sigmoid of their difference");
    add_proof(s, fixed_proof("two-classes", 2));
  }
  {
    Section& s = report.section("Binary cross-entropy after a sigmoid");
    add_proof(s, fixed_proof("sigmoid-bce", 1));
  }
  {
    Section& s = report.section("The example");
    Graph g;
    const Expr z = variable(g, "z", Shape::vector(2)), x = variable(g, "x", Shape::scalar());
    const Expr p = softmax(z), s1 = sigmoid(x);
    const std::vector<Rational>& z0 = in.logits.front();
    const FormattedValues v = evaluate_formatted(g, {p.id(), x.id(), s1.id()}, {{"z", z0}, {"x", {z0[0] - z0[1]}}}, in.precision);
    Table t{.caption = fmt::format("z = {} at {} precision", abbreviate_elements(to_strings(in.logits.front())),
                                   describe(in.precision)),
            .header = {"x = z₁ − z₂", "σ(x)", "softmax(z)₁", "softmax(z)₂ = 1 − σ(x)"},
            .rows = {Row{{v.scalar(x.id()), v.scalar(s1.id()), v[p.id()][0], v[p.id()][1]}, std::nullopt}}};
    s.add(std::move(t));
    add_numeric_proof(s, prove_softmax_ce(in));
  }
  return report;
}

Report batch_mean_report(const DerivationArguments& arguments) {
  SoftmaxCeInput in = softmax_ce_input(arguments);
  if (in.logits.size() == 1) {  // make a batch: the example, and the example reversed with target class 0
    std::vector<Rational> reversed(in.logits.front().rbegin(), in.logits.front().rend());
    std::vector<Rational> first = in.targets.front();
    std::vector<Rational> onehot(reversed.size(), Rational(0));
    onehot.front() = 1;
    in.logits.push_back(reversed);
    in.targets = {first, onehot};
    in.target_classes.clear();
    in.batch = true;
  }
  Report report{.name = "batch-mean",
                .title = "A batch with the mean loss: the gradient of each row is (p − y)/B",
                .summary = "For a batch of B rows, L is the mean of the row losses, so each row's gradient is its "
                           "own p − y divided by B; the rows do not interact.",
                .sections = {}};
  {
    Section& s = report.section("The proof");
    ProveOptions options;
    options.classes = fixed_classes(arguments, in);
    options.batch = static_cast<long>(in.logits.size());
    add_proof(s, prove_identity("batch-mean", options));
  }
  numeric_section(report, "The numeric proof", "The composed graph's gradient against (p − y)/B", in);
  return report;
}

Report log_softmax_report(const DerivationArguments& arguments) {
  const SoftmaxCeInput in = softmax_ce_input(arguments);
  const long n = fixed_classes(arguments, in);
  Report report{.name = "log-softmax",
                .title = "Cross-entropy through log-softmax: the same gradient p − y",
                .summary = "log softmax(z) = z − log Σ exp(z): written this way, cross-entropy is −Σ y·log_softmax(z) "
                           "and its gradient is still p − y; computed with the max shift it does not overflow.",
                .sections = {}};
  {
    Section& s = report.section("log softmax(z) = z − log Σⱼ exp(zⱼ)");
    add_proof(s, prove_claim({.claim = "log(softmax(z)) == z - log(sum(exp(z)))", .classes = n}));
  }
  {
    Section& s = report.section("The gradient through log-softmax");
    add_proof(s, prove_claim({.claim = "grad(-sum(y*log_softmax(z)), z) == softmax(z) - y",
                              .assumptions = {"sum(y) = 1"},
                              .classes = n}));
  }
  {
    Section& s = report.section("Computed with the max shift");
    s.add(paragraph("Subtracting a = max z first changes nothing symbolically (softmax is shift invariant) but keeps "
                    "every exp at most 1. On the example scaled by 500, at double precision:"));
    Graph g;
    const auto count = static_cast<std::int64_t>(in.logits.front().size());
    const Expr z = variable(g, "z", Shape::vector(count));
    const Expr naive = log_softmax(z), shifted = stable_log_softmax(z);
    std::vector<Rational> scaled;
    for (const Rational& v : in.logits.front()) scaled.push_back(v * 500);
    const ExactBindings at{{"z", scaled}};
    Table t{.caption = fmt::format("log softmax(z) for z = {}", abbreviate_elements(to_strings(scaled), 6)),
            .header = {"form", "value", "finite"},
            .rows = {}};
    auto row = [&](const std::string& form, const Expr& e, Precision precision) {
      const FormattedValues v = evaluate_formatted(g, {e.id()}, at, precision);
      std::vector<std::string> shown = v[e.id()];
      if (precision != Precision::Double)  // rounded once to double, to compare
        for (std::string& x : shown) x = format_scalar(static_cast<double>(Float100(x)));
      t.rows.push_back(Row{{form, abbreviate_elements(shown, 6), v.nonfinite ? "no: " + *v.nonfinite : "yes"},
                           std::nullopt});
    };
    row("log(softmax(z)), composed, double", naive, Precision::Double);
    row("z − a − log Σ exp(z − a), double", shifted, Precision::Double);
    row("log(softmax(z)) at 100 digits, rounded to double", naive, Precision::Digits100);
    s.add(std::move(t));
  }
  numeric_section(report, "The numeric proof", "The gradient of the composed graph against p − y", in);
  return report;
}

Report mse_softmax_report(const DerivationArguments& arguments) {
  const SoftmaxCeInput in = softmax_ce_input(arguments);
  const long n = fixed_classes(arguments, in);
  Report report{.name = "mse-softmax",
                .title = "The contrast: mean squared error after softmax does not give p − y",
                .summary = "Replace cross-entropy with the squared error Σ (p − y)²: the gradient is no longer p − y "
                           "but Jᵀ·2(p − y), where J is the softmax Jacobian. The prover leaves a residual, and the "
                           "numbers differ.",
                .sections = {}};
  {
    Section& s = report.section("The claim ∂L/∂z = p − y fails");
    add_proof(s, fixed_proof("mse-softmax", n), /*expect_proven=*/false);
  }
  {
    Section& s = report.section("What the gradient is instead");
    add_proof(s, fixed_proof("mse-softmax-jacobian", n));
  }
  {
    Section& s = report.section("The example");
    Graph g;
    const auto count = static_cast<std::int64_t>(in.logits.front().size());
    const Expr z = variable(g, "z", Shape::vector(count)), y = variable(g, "y", Shape::vector(count));
    const Expr p = softmax(z), d = p - y, L = sum(d * d);
    const Expr gradient{g, grad(L, {z}).gradients.front()};
    const Expr v2 = Rational(2) * d, jacobian_form = p * v2 - p * sum(p * v2);
    const std::vector<NodeId> roots{gradient.id(), d.id(), jacobian_form.id()};
    const Evaluation<Float50> ev(g, roots, round_bindings<Float50>({{"z", in.logits.front()}, {"y", in.targets.front()}}));
    Table t{.caption = fmt::format("The first row of the example ({}) at 50 digits", describe_input(in)),
            .header = {"i", "∂L/∂zᵢ from the graph", "pᵢ − yᵢ", "(Jᵀ·2(p − y))ᵢ"},
            .rows = {}};
    Float50 worst_p_minus_y = 0, worst_jacobian = 0;
    const auto& graph_gradient = ev.value(gradient.id());
    for (std::size_t i = 0; i < graph_gradient.size(); ++i) {
      const Float50 &g_i = graph_gradient[i], &d_i = ev.value(d.id())[i], &j_i = ev.value(jacobian_form.id())[i];
      worst_p_minus_y = std::max(worst_p_minus_y, Float50(abs(g_i - d_i)));
      worst_jacobian = std::max(worst_jacobian, Float50(abs(g_i - j_i)));
      if (i < 10)
        t.rows.push_back(Row{{std::to_string(i), format_scalar(g_i), format_scalar(d_i), format_scalar(j_i)}, std::nullopt});
    }
    if (graph_gradient.size() > 10)
      s.add(paragraph(fmt::format("({} more components are compared but not listed.)", graph_gradient.size() - 10)));
    s.add(std::move(t));
    // At 50 digits the graph and Jᵀ·2(p − y) agree to ~1e-49; 1e-30 leaves room and still separates them from
    // p − y, which differs by O(p) here.
    const bool contrast = worst_p_minus_y > Float50("1e-30") && worst_jacobian <= Float50("1e-30");
    s.add(verdict(contrast, fmt::format("the graph's gradient differs from p − y by up to {:.3g} and matches "
                                        "Jᵀ·2(p − y) to {:.1e}",
                                        static_cast<double>(worst_p_minus_y), static_cast<double>(worst_jacobian))));
  }
  return report;
}

}  // namespace ddx
