// The softmax–cross-entropy report: from the example's numbers through the
// symbolic derivation to the numeric proof, the reverse sweep, the residual
// without Σy = 1, and the overflow that makes frameworks fuse the two ops.
#include <cmath>
#include <fmt/format.h>

#include "derivations/catalogue.hpp"
#include "derivations/claim.hpp"
#include "derivations/compare.hpp"
#include "derivations/every_n.hpp"
#include "derivations/graph_figure.hpp"
#include "derivations/identities.hpp"
#include "derivations/report_sections.hpp"
#include "engine/eval.hpp"
#include "engine/op.hpp"
#include "engine/print.hpp"
#include "ops/composites.hpp"
#include "ops/fused_math.hpp"

namespace ddx {
namespace {

using namespace report;

// How many rows and classes the value tables list.
constexpr std::size_t kRowsShown = 3, kClassesShown = 10;

ExactBindings bindings(const std::vector<Rational>& z, const std::vector<Rational>& y) {
  return {{"z", z}, {"y", y}};
}

// ---- 1. the pipeline ------------------------------------------------------

// Each row through the pipeline, evaluated at the display precision.
void pipeline_rows(const SoftmaxCeInput& in, Section& section) {
  const bool scaled = in.temperature != 1;
  for (std::size_t r = 0; r < std::min(in.logits.size(), kRowsShown); ++r) {
    Graph g;
    const auto n = static_cast<std::int64_t>(in.logits[r].size());
    const Expr z = variable(g, "z", Shape::vector(n)), y = variable(g, "y", Shape::vector(n));
    const Expr a = z / constant(g, in.temperature);
    const Expr e = exp(a), total = sum(e, -1), p = e / total, term = -(y * log(p)), L = -sum(y * log(p));
    const FormattedValues v = evaluate_formatted(g, {a.id(), e.id(), total.id(), p.id(), term.id(), L.id()},
                              bindings(in.logits[r], in.targets[r]), in.precision);
    Table t{.caption = in.logits.size() > 1 ? fmt::format("Row {} of the batch", r) : "The example, class by class",
            .header = {"i", "zᵢ"},
            .rows = {}};
    if (scaled) t.header.push_back("zᵢ/T");
    for (const char* h : {scaled ? "exp(zᵢ/T)" : "exp(zᵢ)", "pᵢ", "yᵢ", "−yᵢ log pᵢ"}) t.header.push_back(h);
    for (std::int64_t i = 0; i < std::min<std::int64_t>(n, kClassesShown); ++i) {
      const auto k = static_cast<std::size_t>(i);
      Row row{{std::to_string(i), to_string(in.logits[r][k])}, std::nullopt};
      if (scaled) row.cells.emplace_back(v[a.id()][k]);
      for (const std::string& cell : {v[e.id()][k], v[p.id()][k], to_string(in.targets[r][k]), v[term.id()][k]})
        row.cells.emplace_back(cell);
      t.rows.push_back(std::move(row));
    }
    section.add(std::move(t));
    if (n > static_cast<std::int64_t>(kClassesShown))
      section.add(paragraph(fmt::format("({} more classes not listed.)", n - static_cast<std::int64_t>(kClassesShown))));
    section.add(paragraph(scaled ? "Σⱼ exp(zⱼ/T) = " : "Σⱼ exp(zⱼ) = ", code(v.scalar(total.id())),
                          ", and the loss of the row is L = −Σᵢ yᵢ log pᵢ = ", code(v.scalar(L.id())), "."));
    if (v.nonfinite) section.add(paragraph("Not finite: ", code(*v.nonfinite)));
  }
  if (in.logits.size() > kRowsShown)
    section.add(paragraph(fmt::format("({} more rows not listed.)", in.logits.size() - kRowsShown)));
}

void pipeline(Report& report, const SoftmaxCeInput& in, const SoftmaxCeProof& pr) {
  Section& s = report.section("The pipeline: logits → softmax → cross-entropy");
  s.add(paragraph("The example: ", describe_input(in), ". Every value below is computed by ddx at ",
                  std::string(describe(in.precision)), " precision."));
  pipeline_rows(in, s);
  if (in.logits.size() > 1)
    s.add(paragraph("The batch's loss is the mean of the row losses: L = ", code(abbreviate_elements(pr.value_of(pr.loss))),
                    "."));
}

// ---- 2. definitions -------------------------------------------------------

void definitions(Report& report, const SoftmaxCeInput& in) {
  Section& s = report.section("Definitions");
  const bool with_t = in.temperature != 1;
  s.add(paragraph("Softmax turns the logits into probabilities", with_t ? " (at temperature T)" : "", ":"))
      .add(display(definition_math(softmax_definition(with_t)), "softmax"))
      .add(paragraph("Cross-entropy compares them with the targets y, a distribution over the classes:"))
      .add(display(definition_math(loss_definition("y")), "loss"))
      .add(paragraph("ddx builds both from primitive nodes (exp, sum, div, log, mul, neg), so reverse mode "
                     "differentiates them one primitive at a time; the equations ",
                     ref("softmax"), " and ", ref("loss"), " are what the symbolic proofs below unfold."));
}

// ---- 3–7. the symbolic derivation ---------------------------------------

void symbolic(Report& report, long n, bool with_temperature) {
  {
    Section& s = report.section("∂L/∂pⱼ");
    s.add(paragraph("Differentiating L with respect to the probabilities: each log pⱼ contributes 1/pⱼ. "
                    "ddx builds the gradient of −Σⱼ yⱼ log pⱼ with respect to p by reverse mode and proves it equal "
                    "to −yⱼ/pⱼ:"));
    add_proof(s, prove_claim({.claim = "grad(-sum(y*log(p)), p) == -y/p", .classes = n}));
  }
  {
    Section& s = report.section("The softmax Jacobian, by the quotient rule");
    s.add(paragraph("Each pⱼ depends on every zᵢ through the denominator, so ∂pⱼ/∂zᵢ has two cases, i = j and "
                    "i ≠ j; the quotient rule settles both, and the cases fold into a Kronecker delta:"));
    add_proof(s, prove_every_n("softmax-jacobian", "textbook"));
  }
  {
    Section& s = report.section("The chain rule: the sum over j");
    s.add(paragraph("L depends on zᵢ through every pⱼ, so ∂L/∂zᵢ is a sum over j of ∂L/∂pⱼ times ∂pⱼ/∂zᵢ. "
                    "Substituting the two results above and contracting the deltas, for every n:"));
    add_proof(s, prove_every_n("softmax-ce", "textbook"));
  }
  {
    Section& s = report.section("The simplification to pᵢ − yᵢ");
    s.add(paragraph(fmt::format("What reverse mode actually builds is a graph of primitives, not the formula above. "
                                "The fixed-n prover takes that graph at n = {}, writes every component as a "
                                "canonical polynomial in the exponentials, and cancels it against pᵢ − yᵢ using "
                                "Σⱼ yⱼ = 1:",
                                n)));
    ProveOptions options;
    options.classes = n;
    add_proof(s, prove_identity("softmax-ce", options));
  }
  {
    Section& s = report.section("The proof for every n");
    s.add(paragraph("A shorter route: simplify L first (log of a quotient, then the sum of y factors out), then "
                    "differentiate. Both routes are proofs for every number of classes n:"));
    add_proof(s, prove_every_n("softmax-ce", "direct"));
    if (with_temperature) {
      s.add(paragraph("With a temperature the same holds for softmax(z/T), divided by T:"));
      add_proof(s, prove_every_n("temperature"));
    }
  }
}

// ---- 8–9. the numeric proof and the reverse-mode view -------------------

void numeric(Report& report, const SoftmaxCeProof& pr) {
  Section& s = report.section("The numeric proof");
  s.add(paragraph("The graph's gradient is evaluated and compared with p − y at double and at 50 digits, and "
                  "against central differences of the loss at 50 digits. Each tolerance is a bound on the rounding "
                  "or truncation error of the computation, stated beside it."));
  add_numeric_proof(s, pr);
}

void reverse_view(Report& report, const SoftmaxCeProof& pr) {
  Section& s = report.section("The reverse-mode view");
  std::string forward;
  for (NodeId id : pr.forward_order) forward += (forward.empty() ? "" : ", ") + node_ref(*pr.graph, id);
  s.add(paragraph(fmt::format("The forward pass evaluates the {} nodes of L in topological order ({}). The reverse "
                              "sweep then visits them in the opposite order: each node receives ḡ = ∂L/∂node, the "
                              "sum of what its users sent, and its op's vector–Jacobian rule sends a contribution to "
                              "each of its inputs. The figure shows each node's forward value and its ḡ.",
                              pr.forward_order.size(), forward)));
  s.add(forward_table(pr));
  s.add(reverse_mode_figure(pr));
  s.add(sweep_table(pr));
}

// ---- 10. targets that do not sum to 1 -------------------------------------

void residual(Report& report, const SoftmaxCeInput& in, const SoftmaxCeProof& pr, long n) {
  Section& s = report.section("When the targets do not sum to 1");
  s.add(paragraph("The last step of the simplification used Σⱼ yⱼ = 1. Without it the prover stops at a residual: "
                  "the gradient is p·Σy − y, which differs from p − y by p(Σy − 1)."));
  ProveOptions options;
  options.classes = n;
  options.use_hypothesis = false;
  add_proof(s, prove_identity("softmax-ce", options), /*expect_proven=*/false);
  SoftmaxCeInput doubled = in;
  if (pr.normalized()) {
    for (auto& row : doubled.targets)
      for (Rational& v : row) v *= 2;
    doubled.target_classes.clear();
    doubled.allow_unnormalized = true;
  }
  const SoftmaxCeProof other = pr.normalized() ? prove_softmax_ce(doubled) : SoftmaxCeProof{};
  const SoftmaxCeProof& shown = pr.normalized() ? other : pr;
  s.add(paragraph(pr.normalized() ? "Numerically, with the example's targets doubled (Σy = 2):"
                                  : "Numerically, with the example's own targets:"));
  add_numeric_proof(s, shown);
}

// ---- 11. why frameworks fuse ----------------------------------------------

template <class S> std::string composed_loss(const Graph& g, NodeId loss, const ExactBindings& b) {
  const Evaluation<S> ev(g, std::span(&loss, 1), round_bindings<S>(b));
  const std::string value = format_scalar(ev.scalar(loss));
  if (const auto& bad = ev.nonfinite())
    return fmt::format("{} ({} gave {})", value, op_info(g.node(bad->node).op).name, bad->value);
  return value;
}

void overflow(Report& report, const SoftmaxCeInput& in) {
  Section& s = report.section("Why frameworks fuse softmax with cross-entropy");
  s.add(paragraph(fmt::format("The composed graph computes exp(zᵢ/T) before it divides. Scaled up, the example's "
                              "logits overflow exp: in float beyond zᵢ/T = log(FLT_MAX) ≈ {:.4g}, in double beyond "
                              "log(DBL_MAX) ≈ {:.4g}, and inf/inf then gives NaN. A fused ",
                              std::log(std::numeric_limits<float>::max()), std::log(std::numeric_limits<double>::max())),
                  "op computes the same loss from the shifted logits, (max z − z_y)/T + log1p(Σ_{j≠k} exp((zⱼ − max z)/T)), "
                  "which never overflows and loses no accuracy when the loss is tiny."));
  const std::vector<Rational>& z0 = in.logits.front();
  const std::vector<Rational>& y0 = in.targets.front();
  const auto n = static_cast<std::int64_t>(z0.size());
  Graph g;
  const Expr z = variable(g, "z", Shape::vector(n)), y = variable(g, "y", Shape::vector(n));
  const Expr composed = cross_entropy(softmax(z, constant(g, in.temperature)), y);
  const Expr plain = cross_entropy(softmax(z), y);  // of logits already divided by T
  Table t{.caption = fmt::format("The example's first row scaled by s: the composed graph at float and double, the "
                                 "fused form at double, and the composed graph at 100 digits on the same logits "
                                 "zᵢ/T rounded to double (marked when the fused form is more than {} ulps from it)",
                                 compare::kDdxFusedUlps),
          .header = {"s", "max zᵢ/T", "composed, float", "composed, double", "fused, double", "100 digits"},
          .rows = {}};
  bool fused_accurate = true;
  for (long scale : {1, 10, 50, 100, 500, 1000}) {
    std::vector<Rational> zs, rounded;  // z·s, and z·s/T as the fused form sees it
    std::vector<double> zd, yd;
    for (const Rational& v : z0) {
      zs.push_back(v * scale);
      zd.push_back(to_scalar<double>(Rational(v * scale / in.temperature)));
      rounded.push_back(to_rational(zd.back()));
    }
    for (const Rational& v : y0) yd.push_back(to_scalar<double>(v));
    const double top = *std::max_element(zd.begin(), zd.end());
    const double fused = fused::cross_entropy(zd.data(), yd.data(), n, static_cast<double*>(nullptr), 1.0);
    const NodeId reference_node = plain.id();
    const Evaluation<Float100> truth(g, std::span(&reference_node, 1), round_bindings<Float100>(bindings(rounded, y0)));
    const double reference = static_cast<double>(truth.scalar(reference_node));
    const bool close = std::isfinite(fused) && compare::ulp_distance(fused, reference) <= compare::kDdxFusedUlps;
    fused_accurate = fused_accurate && close;
    const ExactBindings b = bindings(zs, y0);
    t.rows.push_back(Row{{std::to_string(scale), format_scalar(top), composed_loss<float>(g, composed.id(), b),
                          composed_loss<double>(g, composed.id(), b), format_scalar(fused), format_scalar(reference)},
                         close});
  }
  s.add(std::move(t));
  s.add(verdict(fused_accurate,
                fused_accurate
                    ? fmt::format("the fused form stays finite and within {} ulps of the 100-digit loss at every scale",
                                  compare::kDdxFusedUlps)
                    : fmt::format("the fused form is off by more than {} ulps at some scale (marked)", compare::kDdxFusedUlps)));
}

}  // namespace

Report softmax_ce_report(const DerivationArguments& arguments) {
  const SoftmaxCeInput in = softmax_ce_input(arguments);
  const long n = fixed_classes(arguments, in);
  const SoftmaxCeProof pr = prove_softmax_ce(in);
  Report report{.name = "softmax-ce",
                .title = "The gradient of softmax cross-entropy is p − y",
                .summary = "Softmax followed by cross-entropy, built from primitive nodes and differentiated by "
                           "reverse mode: the gradient with respect to the logits simplifies to p − y. This report "
                           "derives it symbolically, proves it for every number of classes, checks it numerically, "
                           "walks through the reverse sweep, and shows why frameworks fuse the two ops.",
                .sections = {}};
  pipeline(report, in, pr);
  definitions(report, in);
  symbolic(report, n, in.temperature != 1);
  numeric(report, pr);
  reverse_view(report, pr);
  residual(report, in, pr, n);
  overflow(report, in);
  return report;
}

}  // namespace ddx
