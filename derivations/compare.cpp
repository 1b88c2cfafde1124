#include "derivations/compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>

#include "derivations/inputs.hpp"
#include "derivations/svg_chart.hpp"
#include "engine/eval.hpp"
#include "engine/print.hpp"
#include "ops/composites.hpp"
#include "ops/fused.hpp"
#include "ops/fused_math.hpp"
#include "ops/primitives.hpp"

namespace ddx::compare {

std::string_view name_of(Variant v) {
  switch (v) {
    case Variant::NaiveComposed: return "naive-composed";
    case Variant::StableComposed: return "stable-composed";
    case Variant::FrameworkFused: return "framework-fused";
    default: return "ddx-fused";
  }
}

std::string_view name_of(Quantity q) {
  switch (q) {
    case Quantity::Loss: return "loss";
    case Quantity::GradTarget: return "grad-target";
    default: return "grad-other";
  }
}

std::string_view name_of(Status s) {
  switch (s) {
    case Status::Ok: return "ok";
    case Status::WrongZero: return "wrong-zero";
    case Status::Inf: return "inf";
    default: return "nan";
  }
}

namespace {

// Calls f(std::type_identity<T>{}) for the three hardware precisions compare
// measures (ddx::with_scalar would also instantiate the multiprecision types,
// which have no ulps of their own here).
template <class F> decltype(auto) with_hardware_scalar(Precision p, F&& f) {
  switch (p) {
    case Precision::Float: return f(std::type_identity<float>{});
    case Precision::Double: return f(std::type_identity<double>{});
    default: return f(std::type_identity<long double>{});
  }
}


}  // namespace

Options parse_options(int classes, std::string_view margins, std::string_view precisions, bool timing) {
  Options o;
  o.timing = timing;
  check_classes(classes, 2);  // the target and at least one other class
  o.classes = classes;
  if (trim(margins).empty()) throw InputError("--margins: give at least one margin, e.g. --margins 1,10,40");
  for (std::string_view entry : split(margins, ',')) {
    const std::string item = trim(entry);
    if (item.empty()) throw InputError(fmt::format("--margins: an empty entry in '{}'", margins));
    const Rational a = parse_number(item, "--margins");
    // exp(−1e6) lies far below every precision's smallest subnormal: larger
    // margins only repeat the last row, and the bound keeps the reference's
    // exponents small.
    if (abs(a) > Rational(static_cast<long>(kMaxMargin)))
      throw InputError(fmt::format("--margins: '{}' lies outside [-{:g}, {:g}]", item, kMaxMargin, kMaxMargin));
    o.margins.push_back({a, std::string(item)});
  }
  if (trim(precisions).empty()) throw InputError("--precisions: give at least one of float, double, long-double");
  for (std::string_view entry : split(precisions, ',')) {
    const std::string item = trim(entry);
    Precision p;
    try {
      p = parse_precision(item);
    } catch (const std::invalid_argument&) {
      throw InputError(fmt::format("--precisions: unknown precision '{}': expected float, double or long-double", item));
    }
    if (p != Precision::Float && p != Precision::Double && p != Precision::LongDouble)
      throw InputError(fmt::format("--precisions: '{}' is the reference's kind of precision; compare measures float, "
                                   "double and long-double against it", item));
    if (std::find(o.precisions.begin(), o.precisions.end(), p) == o.precisions.end()) o.precisions.push_back(p);
  }
  return o;
}

// ---- error measures -------------------------------------------------------------

namespace {

// ord(x) for finite x: with p significand bits and the smallest normal
// 2^(emin−1) (emin = numeric_limits::min_exponent), the subnormals are the
// multiples of 2^(emin−p) below 2^(emin−1), numbered 0 … 2^(p−1) − 1, and each
// binade [2^e, 2^(e+1)) above holds 2^(p−1) values. For IEEE float and double
// this is the bit pattern read as an integer.
template <class T> Float100 ordinal(T x) {
  constexpr int p = std::numeric_limits<T>::digits;
  constexpr int emin = std::numeric_limits<T>::min_exponent;
  const T m = std::fabs(x);
  const Float100 binade = ldexp(Float100(1), p - 1);
  Float100 ord;
  if (m < std::numeric_limits<T>::min()) {
    ord = ldexp(Float100(m), p - emin);
  } else {
    int exponent = 0;
    const T fraction = std::frexp(m, &exponent);  // m = fraction·2^exponent, fraction in [1/2, 1)
    ord = binade * (exponent - emin + 1) + (ldexp(Float100(fraction), p) - binade);
  }
  return std::signbit(x) ? Float100(-ord) : ord;
}

}  // namespace

template <class T> Float100 ulp_distance(T a, T b) { return abs(Float100(ordinal(a) - ordinal(b))); }

double error_bits(const Float100& ulps) { return std::log2(1 + static_cast<double>(ulps)); }

template <class T> Status classify(T value, T truth) {
  if (std::isnan(value)) return Status::Nan;
  if (std::isinf(value)) return Status::Inf;
  if (value == 0 && truth != 0) return Status::WrongZero;
  return Status::Ok;
}

template Float100 ulp_distance<float>(float, float);
template Float100 ulp_distance<double>(double, double);
template Float100 ulp_distance<long double>(long double, long double);
template Status classify<float>(float, float);
template Status classify<double>(double, double);
template Status classify<long double>(long double, long double);

double half_bits(Precision p) {
  return with_hardware_scalar(p, []<class T>(std::type_identity<T>) { return std::numeric_limits<T>::digits / 2.0; });
}

std::array<Float100, 3> reference(const Rational& a, int classes) {
  std::vector<Float100> z(static_cast<std::size_t>(classes), Float100(0)), g(z.size());
  z[0] = to_scalar<Float100>(a);
  const Float100 loss = fused::cross_entropy_class(z.data(), classes, 0, g.data(), Float100(1));
  return {loss, g[0], g[1]};
}

// ---- the variants -----------------------------------------------------------------

namespace {

// A variant's loss and gradient as nodes of a graph, for the engine.
struct Program {
  std::unique_ptr<Graph> graph = std::make_unique<Graph>();
  NodeId loss = 0;
  NodeId gradient = 0;
  std::string evaluated_by;
};

// A variant that the engine evaluates: the two composed graphs and ddx's
// fused op (framework-fused is a kernel of its own, below).
Program graph_program(Variant v, int n) {
  Program p;
  Graph& g = *p.graph;
  const Expr z = variable(g, "z", Shape::vector(n));
  const Expr y = variable(g, "y", Shape::vector(n));
  const Expr loss = v == Variant::NaiveComposed    ? cross_entropy(softmax(z), y)
                    : v == Variant::StableComposed ? stable_softmax_cross_entropy(z, y)
                                                   : softmax_cross_entropy(z, y);
  p.loss = loss.id();
  p.gradient = grad(loss, {z}).gradients.front();
  p.evaluated_by = fmt::format("engine: {}", to_infix(g, loss.id()));
  return p;
}

// ddx's model of the fused op frameworks ship (cross-entropy on logits): one pass for the max a, one for Σ = Σⱼ exp(zⱼ − a)
// (keeping exp(zⱼ − a), which the backward reuses as the softmax), then
// lse = a + log Σ, loss = lse − z_y and the gradient softmax − onehot. Every step is stable against overflow; the loss is a
// difference of two nearly equal numbers when z_y is the max, and
// softmax_y − 1 is one too, so both lose their relative accuracy as the
// margin grows and become exactly 0 once Σ rounds to 1.
template <class T> T framework_cross_entropy(const T* z, std::int64_t n, std::int64_t y, T* grad) {
  const T a = z[fused::arg_max(z, n)];
  T total = 0;
  for (std::int64_t j = 0; j < n; ++j) {
    grad[j] = std::exp(z[j] - a);
    total += grad[j];
  }
  const T lse = a + std::log(total);
  for (std::int64_t j = 0; j < n; ++j) grad[j] /= total;
  grad[y] -= 1;
  return lse - z[y];
}

// Runs one variant once at logits z (the graph's, or framework-fused's
// kernel when program is null): loss, grad-target, grad-other. The costs of
// the run go to cost.
template <class T>
std::array<T, 3> run_variant(const Program* program, const std::vector<T>& z, const std::vector<T>& onehot,
                             Cost* cost) {
  const std::int64_t n = static_cast<std::int64_t>(z.size());
  if (program) {
    const Graph& g = *program->graph;
    const std::array<NodeId, 2> roots{program->loss, program->gradient};
    const Evaluation<T> ev(g, roots, Bindings<T>{{"z", z}, {"y", onehot}});
    const std::vector<T>& gradient = ev.value(program->gradient);
    if (cost) {
      cost->nodes = 0;
      cost->memory_bytes = 0;
      for (NodeId id : ev.order()) {
        if (g.is_variable(id)) continue;
        if (!g.is_constant(id)) ++cost->nodes;  // constants hold memory but are not ops
        cost->memory_bytes += static_cast<std::int64_t>(ev.value(id).size() * sizeof(T));
      }
    }
    return {ev.scalar(program->loss), gradient[0], gradient[1]};
  }
  std::vector<T> gradient(z.size());
  const T loss = framework_cross_entropy(z.data(), n, 0, gradient.data());
  if (cost) {
    cost->nodes = 1;
    cost->memory_bytes = static_cast<std::int64_t>((2 * z.size() + 1) * sizeof(T));  // loss, saved softmax, gradient
  }
  return {loss, gradient[0], gradient[1]};
}

// Rough time per logit of a variant's forward + gradient: repeat for at least
// 20 ms (long enough that the clock's resolution does not matter, short
// enough for a command line) and divide.
template <class T>
double time_variant(const Program* program, const std::vector<T>& z, const std::vector<T>& onehot) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::int64_t runs = 0;
  volatile T sink = 0;
  Clock::duration elapsed{};
  do {
    sink = sink + run_variant<T>(program, z, onehot, nullptr)[0];
    ++runs;
    elapsed = Clock::now() - start;
  } while (elapsed < std::chrono::milliseconds(20) || runs < 3);
  const double ns = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
  return ns / static_cast<double>(runs) / static_cast<double>(z.size());
}

template <class T>
void run_precision(const Options& o, Precision precision, const std::array<const Program*, 4>& programs, Result& result) {
  const std::size_t n = static_cast<std::size_t>(o.classes);
  std::vector<T> onehot(n, T(0));
  onehot[0] = T(1);
  std::vector<T> z(n, T(0));
  for (Variant v : kVariants) {
    const Program* program = programs[static_cast<int>(v)];
    Cost cost{.precision = precision, .variant = v};
    cost.evaluated_by = program ? program->evaluated_by : "kernel: framework_cross_entropy in derivations/compare.cpp";
    z[0] = to_scalar<T>(o.margins.front().value);
    run_variant<T>(program, z, onehot, &cost);
    if (o.timing) cost.ns_per_element = time_variant<T>(program, z, onehot);
    result.costs.push_back(std::move(cost));
  }
  for (std::size_t m = 0; m < o.margins.size(); ++m) {
    z[0] = to_scalar<T>(o.margins[m].value);
    // The truth at the logits T actually holds (a margin such as 0.1 is rounded).
    const std::array<Float100, 3> exact = reference(to_rational(z[0]), o.classes);
    std::array<T, 3> truth;
    for (int q = 0; q < 3; ++q) truth[q] = to_scalar<T>(to_rational(exact[q]));
    const bool underflow = exp(-abs(Float100(z[0]))) < Float100(std::numeric_limits<T>::min());
    for (Variant v : kVariants) {
      const std::array<T, 3> out = run_variant<T>(programs[static_cast<int>(v)], z, onehot, nullptr);
      for (Quantity q : kQuantities) {
        const T value = out[static_cast<int>(q)];
        const T t = truth[static_cast<int>(q)];
        Row row{.precision = precision, .margin_index = m, .variant = v, .quantity = q};
        row.value = format_scalar(value);
        row.truth = format_scalar(t);
        row.status = classify(value, t);
        row.beyond_underflow = underflow;
        if (std::isfinite(value) && std::isfinite(t)) {
          row.ulps = ulp_distance(value, t);
          row.bits = error_bits(*row.ulps);
        }
        result.rows.push_back(std::move(row));
      }
    }
  }
}

}  // namespace

Result run(const Options& options) {
  if (options.margins.empty() || options.precisions.empty() || options.classes < 2)
    throw InputError("compare: give at least one margin, one precision and two classes");
  Result result;
  result.options = options;
  const Program naive = graph_program(Variant::NaiveComposed, options.classes);
  const Program stable = graph_program(Variant::StableComposed, options.classes);
  const Program fused = graph_program(Variant::DdxFused, options.classes);
  const std::array<const Program*, 4> programs{&naive, &stable, nullptr, &fused};
  for (Precision p : options.precisions)
    with_hardware_scalar(p, [&]<class T>(std::type_identity<T>) { run_precision<T>(options, p, programs, result); });

  // Thresholds: per precision and variant, the smallest margin at which each event happens.
  for (Precision p : options.precisions)
    for (Variant v : kVariants) result.thresholds.push_back(Threshold{.precision = p, .variant = v});
  auto smallest = [&](std::optional<std::size_t>& at, std::size_t m) {
    if (!at || options.margins[m].value < options.margins[*at].value) at = m;
  };
  for (const Row& r : result.rows) {
    Threshold& t = *std::find_if(result.thresholds.begin(), result.thresholds.end(), [&](const Threshold& x) {
      return x.precision == r.precision && x.variant == r.variant;
    });
    const bool nonfinite = r.status == Status::Inf || r.status == Status::Nan;
    if (nonfinite) smallest(t.overflow, r.margin_index);
    if (r.status == Status::WrongZero) smallest(t.wrong_zero, r.margin_index);
    if (nonfinite || (r.bits && *r.bits > half_bits(r.precision))) smallest(t.half_bits, r.margin_index);
  }

  // ddx-fused's worst error up to the underflow limit; none when a result is not finite.
  for (const Row& r : result.rows) {
    if (r.variant != Variant::DdxFused || r.beyond_underflow || !result.ddx_fused_worst_ulps) continue;
    result.ddx_fused_worst_ulps = r.ulps ? std::max(*result.ddx_fused_worst_ulps, *r.ulps) : std::optional<Float100>{};
  }
  return result;
}

// ---- output -------------------------------------------------------------------------

namespace {

using Json = nlohmann::ordered_json;

// An ulp count as JSON: an exact integer when it fits in 64 bits, else the
// nearest double (only long double's far-off results need more).
Json ulps_json(const std::optional<Float100>& ulps) {
  if (!ulps) return nullptr;
  if (*ulps < ldexp(Float100(1), 64)) return ulps->convert_to<std::uint64_t>();
  return static_cast<double>(*ulps);
}

std::string ulps_text(const Float100& ulps) {
  if (ulps < Float100(1e9)) return fmt::format("{}", ulps.convert_to<std::uint64_t>());
  return fmt::format("{:.2e}", static_cast<double>(ulps));
}

double margin_number(const Margin& a) { return to_scalar<double>(a.value); }

std::string margin_label(const Result& r, std::optional<std::size_t> m) {
  return m ? r.options.margins[*m].text : "—";
}

const Row& find_row(const Result& r, Precision p, std::size_t m, Variant v, Quantity q) {
  for (const Row& row : r.rows)
    if (row.precision == p && row.margin_index == m && row.variant == v && row.quantity == q) return row;
  throw std::logic_error("compare: missing row");
}

std::string error_text(const Row& row) {
  switch (row.status) {
    case Status::Inf: return "INF";
    case Status::Nan: return "NaN";
    case Status::WrongZero: return fmt::format("WRONG ZERO ({:.1f} bits)", *row.bits);
    default: return fmt::format("{:.1f} bits ({} ulps)", *row.bits, ulps_text(*row.ulps));
  }
}

// The worst bits of a (precision, margin, variant) over its three quantities,
// for the chart: +inf when one is not finite.
double worst_bits(const Result& r, Precision p, std::size_t m, Variant v) {
  double worst = 0;
  for (Quantity q : kQuantities) {
    const Row& row = find_row(r, p, m, v, q);
    if (!row.bits) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, *row.bits);
  }
  return worst;
}

// Bits of the whole encoding (Herbie's scale tops out there): 32, 64, 80.
double total_bits(Precision p) {
  switch (p) {
    case Precision::Float: return 32;
    case Precision::Double: return 64;
    default: return 80;
  }
}

svg::LineChart chart_of(const Result& r, Precision p) {
  svg::LineChart c;
  c.title = fmt::format("{}: error against the 100-digit truth", describe(p));
  c.x_label = "margin a (logits [a, 0, …, 0], target 0)";
  c.y_label = "bits of error (worst of loss and gradient)";
  for (const Margin& a : r.options.margins) c.x_ticks.push_back(a.text);
  c.y_min = 0;
  c.y_max = total_bits(p);
  c.y_tick_step = 8;
  c.top_marker_label = "inf or NaN";
  for (Variant v : kVariants) {
    svg::Series s{.name = std::string(name_of(v))};
    for (std::size_t m = 0; m < r.options.margins.size(); ++m) s.y.push_back(worst_bits(r, p, m, v));
    c.series.push_back(std::move(s));
  }
  return c;
}

}  // namespace

nlohmann::ordered_json to_json(const Result& r) {
  Json j;
  j["command"] = "compare";
  j["problem"] = {{"logits", "[a, 0, ..., 0]"},
                  {"classes", r.options.classes},
                  {"target_class", 0},
                  {"loss", "-log softmax(z)_0"},
                  {"reference", "the accurate formulas (ops/fused_math.hpp) at 100 significant digits, at the logits "
                                "as each precision holds them, correctly rounded to that precision"}};
  j["encoding"] = {
      {"value", "decimal strings that read back to the same value of the precision; non-finite as \"inf\", \"-inf\", "
                "\"nan\" (JSON has no such numbers)"},
      {"truth", "as value: the 100-digit reference correctly rounded to the precision"},
      {"ulps", "|ord(value) - ord(truth)|, ord counting the precision's representable values from 0; an exact "
               "integer below 2^64, else the nearest double; null when value is not finite"},
      {"bits", "log2(1 + ulps) (Herbie's bits of error); null when value is not finite"},
      {"status", "ok, wrong-zero (exactly 0 where the truth is not), inf (±inf), nan"},
      {"beyond_underflow", fmt::format("exp(-|a|) is below the precision's smallest normal: the exps are subnormal "
                                       "or 0, and ddx-fused's {}-ulp target does not apply (its results are still "
                                       "measured)", kDdxFusedUlps)}};
  j["precisions"] = Json::array();
  for (Precision p : r.options.precisions) j["precisions"].push_back(std::string(name_of(p)));
  j["margins"] = Json::array();
  for (const Margin& a : r.options.margins) j["margins"].push_back(margin_number(a));
  j["rows"] = Json::array();
  for (const Row& row : r.rows)
    j["rows"].push_back(Json{{"precision", std::string(name_of(row.precision))},
                             {"margin", margin_number(r.options.margins[row.margin_index])},
                             {"variant", std::string(name_of(row.variant))},
                             {"quantity", std::string(name_of(row.quantity))},
                             {"value", row.value},
                             {"truth", row.truth},
                             {"ulps", ulps_json(row.ulps)},
                             {"bits", row.bits ? Json(*row.bits) : Json(nullptr)},
                             {"status", std::string(name_of(row.status))},
                             {"beyond_underflow", row.beyond_underflow}});
  Json half = Json::object();
  for (Precision p : r.options.precisions) half[std::string(name_of(p))] = half_bits(p);
  Json table = Json::array();
  for (const Threshold& t : r.thresholds) {
    const auto margin = [&](std::optional<std::size_t> m) {
      return m ? Json(margin_number(r.options.margins[*m])) : Json(nullptr);
    };
    table.push_back(Json{{"precision", std::string(name_of(t.precision))},
                         {"variant", std::string(name_of(t.variant))},
                         {"overflow", margin(t.overflow)},
                         {"wrong_zero", margin(t.wrong_zero)},
                         {"half_bits", margin(t.half_bits)}});
  }
  j["thresholds"] = {{"meaning", "per precision and variant, the smallest margin of the grid at which some quantity "
                                 "is inf or NaN (overflow), is a wrong zero (wrong_zero), or has more bits of error "
                                 "than half the significand (half_bits; a non-finite result counts); null: never"},
                     {"half_bits", half},
                     {"ddx_fused_ulps", kDdxFusedUlps},
                     {"table", table}};
  Json costs = Json::array();
  for (const Cost& c : r.costs) {
    Json entry{{"precision", std::string(name_of(c.precision))},
               {"variant", std::string(name_of(c.variant))},
               {"nodes", c.nodes},
               {"memory_bytes", c.memory_bytes}};
    if (c.ns_per_element) entry["ns_per_element"] = *c.ns_per_element;
    entry["evaluated_by"] = c.evaluated_by;
    costs.push_back(entry);
  }
  j["cost"] = costs;
  j["ddx_fused"] = {{"criterion", fmt::format("every quantity finite and within {} ulps of the truth at every margin "
                                              "up to the underflow limit (rows with beyond_underflow false)", kDdxFusedUlps)},
                    {"through_graph", true},
                    {"worst_ulps", ulps_json(r.ddx_fused_worst_ulps)},
                    {"passed", r.passed()}};
  return j;
}

report::Report to_report(const Result& r) {
  using namespace report;
  Report rep;
  rep.name = "compare";
  rep.title = "Softmax–cross-entropy: composed against fused, measured against 100 digits";
  rep.summary = fmt::format(
      "Logits [a, 0, …, 0] of {} classes, target class 0, for each margin a. Four ways to compute the loss −log p₀ and "
      "its gradient p − y are compared with the truth: the 100-digit value correctly rounded to the precision.",
      r.options.classes);

  Section& setup = rep.section("What is compared");
  setup.add(paragraph(code("naive-composed"), ": cross_entropy(softmax(z), y) built from primitives; the engine "
                      "evaluates it and its reverse-mode gradient."));
  setup.add(paragraph(code("stable-composed"), ": the same after the max shift z − stop_gradient(max z), the max "
                      "treated as a constant for differentiation."));
  setup.add(paragraph(code("framework-fused"), ": the fused op as frameworks write it: lse = a + log Σ exp(zⱼ − a), "
                      "loss = lse − z_y, gradient softmax − onehot."));
  setup.add(paragraph(code("ddx-fused"), ": ddx's accurate fused op: loss (a − z_y) + log1p(s) with "
                      "s = Σ_{j≠k} exp(zⱼ − a), and the target's gradient p_y − 1 without cancellation (the graph "
                      "op softmax_cross_entropy)."));
  setup.add(paragraph("Error in ulps is the count of representable values between the result and the correctly "
                      "rounded truth; in bits, log2(1 + ulps). A wrong zero is exactly 0 where the truth is not."));

  for (Precision p : r.options.precisions) {
    Section& s = rep.section(fmt::format("{}", describe(p)));
    Table t{.caption = fmt::format("{}: values and errors (∂L/∂z₁ stands for every non-target component)", describe(p)),
            .header = {"a", "variant", "loss", "error", "∂L/∂z₀", "error", "∂L/∂z₁", "error"}};
    bool any_underflow = false;
    for (std::size_t m = 0; m < r.options.margins.size(); ++m) {
      const bool underflow = find_row(r, p, m, Variant::DdxFused, Quantity::Loss).beyond_underflow;
      any_underflow = any_underflow || underflow;
      const std::string label = r.options.margins[m].text + (underflow ? " †" : "");
      report::Row truth{.cells = {label, std::string("truth")}};
      for (Quantity q : kQuantities) {
        truth.cells.emplace_back(find_row(r, p, m, Variant::DdxFused, q).truth);
        truth.cells.emplace_back(std::string());
      }
      t.rows.push_back(std::move(truth));
      for (Variant v : kVariants) {
        report::Row row{.cells = {label, std::string(name_of(v))}};
        for (Quantity q : kQuantities) {
          const compare::Row& x = find_row(r, p, m, v, q);
          row.cells.emplace_back(x.value);
          row.cells.emplace_back(error_text(x));
        }
        t.rows.push_back(std::move(row));
      }
    }
    s.add(std::move(t));
    if (any_underflow)
      s.add(paragraph("† Beyond the underflow limit: e^(−a) is below the smallest normal ", describe(p),
                      ", so the exps are subnormal or 0 and carry absolute rounding errors of half the smallest "
                      "subnormal each; ddx-fused's ", fmt::format("{}-ulp", kDdxFusedUlps),
                      " target applies up to this limit, not beyond."));
    const svg::LineChart chart = chart_of(r, p);
    s.add(Figure{.caption = fmt::format("{}: bits of error against the margin, the worst of the loss and both gradient "
                                        "components; a cross on the top edge is inf or NaN.", describe(p)),
                 .dot = "",
                 .svg = svg::render_svg(chart)});
    {
      // The chart's data, for the formats that do not draw SVG.
      Table data{.caption = fmt::format("{}: bits of error against the margin (worst of the three quantities; the "
                                        "chart's data)", describe(p)),
                 .header = {"variant"}};
      for (const Margin& a : r.options.margins) data.header.push_back("a = " + a.text);
      for (std::size_t v = 0; v < chart.series.size(); ++v) {
        report::Row row{.cells = {chart.series[v].name}};
        for (double b : chart.series[v].y) row.cells.emplace_back(std::isinf(b) ? std::string("inf/NaN") : fmt::format("{:.1f}", b));
        data.rows.push_back(std::move(row));
      }
      s.add(std::move(data));
    }
  }

  Section& th = rep.section("Thresholds");
  th.add(paragraph("The smallest margin of the grid at which a variant first overflows (some quantity is inf or NaN), "
                   "first returns a wrong zero, and first loses half its bits (more bits of error than half the "
                   "significand: ", fmt::format("{} for float, {} for double, {} for long double", half_bits(Precision::Float),
                                                half_bits(Precision::Double), half_bits(Precision::LongDouble)),
                   "; a non-finite result counts). — means never on this grid."));
  Table tt{.caption = "Thresholds", .header = {"precision", "variant", "overflows at", "wrong zero at", "half bits lost at"}};
  for (const Threshold& t : r.thresholds)
    tt.rows.push_back(report::Row{.cells = {std::string(name_of(t.precision)), std::string(name_of(t.variant)),
                                    margin_label(r, t.overflow), margin_label(r, t.wrong_zero), margin_label(r, t.half_bits)}});
  th.add(std::move(tt));

  Section& cs = rep.section("Cost");
  const bool timing = r.options.timing;
  cs.add(paragraph("Nodes: the op nodes of the loss and its gradient (a kernel counts as one). Memory: bytes of every "
                   "value produced besides the inputs z and y.",
                   timing ? " Time: forward and gradient per logit, a rough measurement at the first margin (use "
                            "--no-timing for byte-identical output)." : ""));
  Table ct{.caption = "Cost per variant", .header = {"precision", "variant", "nodes", "memory (bytes)"}};
  if (timing) ct.header.push_back("ns / element");
  ct.header.push_back("evaluated by");
  for (const Cost& c : r.costs) {
    report::Row row{.cells = {std::string(name_of(c.precision)), std::string(name_of(c.variant)), fmt::format("{}", c.nodes),
                      fmt::format("{}", c.memory_bytes)}};
    if (timing) row.cells.emplace_back(c.ns_per_element ? fmt::format("{:.1f}", *c.ns_per_element) : std::string("—"));
    row.cells.emplace_back(c.evaluated_by);
    ct.rows.push_back(std::move(row));
  }
  cs.add(std::move(ct));

  const std::string worst =
      r.ddx_fused_worst_ulps ? ulps_text(*r.ddx_fused_worst_ulps) + " ulps" : std::string("a non-finite result");
  rep.section("Verdict").add(verdict(
      r.passed(), fmt::format("ddx-fused is {}within {} ulps of the truth everywhere up to the underflow limit "
                              "(worst {}).", r.passed() ? "" : "NOT ", kDdxFusedUlps, worst)));
  return rep;
}

std::string render(const Result& result, std::string_view format) {
  if (format == "json") return to_json(result).dump(2) + "\n";  // the rows contract, not the report's structure
  return report::render(to_report(result), format);
}

}  // namespace ddx::compare
