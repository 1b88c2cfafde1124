#include "derivations/softmax_ce.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <random>

#include "engine/eval.hpp"
#include "engine/op.hpp"
#include "engine/print.hpp"
#include "ops/composites.hpp"

namespace ddx {
namespace {

Rational row_sum(const std::vector<Rational>& row) {
  Rational s = 0;
  for (const Rational& r : row) s += r;
  return s;
}

template <class T> double to_double(const T& x) { return static_cast<double>(x); }
template <class T> double epsilon_of() { return to_double(std::numeric_limits<T>::epsilon()); }

ExactBindings bindings_of(const SoftmaxCeInput& in) {
  ExactBindings b;
  for (const auto& row : in.logits) b["z"].insert(b["z"].end(), row.begin(), row.end());
  for (const auto& row : in.targets) b["y"].insert(b["y"].end(), row.begin(), row.end());
  return b;
}

// Σⱼ|yⱼ| of the row where it is largest.
double max_target_mass(const SoftmaxCeInput& in) {
  double m = 0;
  for (const auto& row : in.targets) {
    Rational s = 0;
    for (const Rational& r : row) s += boost::multiprecision::abs(r);
    m = std::max(m, to_double(to_scalar<double>(s)));
  }
  return m;
}

// The gradient through the graph against p − y, and Σ p = 1, at precision S.
//
// Tolerances are worst-case rounding bounds, not tuned numbers. Each gradient
// component is a handful of roundings (≈ 10) on terms of size |yᵢ| and
// pᵢ·Σⱼ|yⱼ|, plus one n-term sum; so |graph − (p − y)| ≤ 2(n + 10)·ε·(1 + Σ|y|)/(B·|T|).
// Each pᵢ is rounded once and Σ p adds n − 1 roundings: |Σ p − 1| ≤ (n + 2)·ε.
template <class S> void gradient_checks(const SoftmaxCeProof& pr, const ExactBindings& exact,
                                        std::vector<NumericCheck>& out) {
  const Graph& g = *pr.graph;
  const NodeId grad_z = pr.gradient.gradients.front();
  const std::vector<NodeId> roots{pr.loss, grad_z, pr.expected, pr.p};
  const Evaluation<S> ev(g, roots, round_bindings<S>(exact));
  const double eps = epsilon_of<S>();
  const auto n = static_cast<double>(pr.classes());
  const auto B = static_cast<double>(pr.rows());
  const double T = std::abs(to_double(to_scalar<double>(pr.input.temperature)));

  NumericCheck sums{"softmax sums to 1", precision_of<S>(), 0, (n + 2) * eps, false,
                    "tolerance (n + 2)·ε: one rounding per p_i and n − 1 in the sum"};
  NumericCheck grad{"graph gradient = p - y", precision_of<S>(), 0,
                    2 * (n + 10) * eps * (1 + max_target_mass(pr.input)) / (B * T), false,
                    "tolerance 2(n + 10)·ε·(1 + Σ|y|)/(B·T): a worst-case rounding bound for the n-term sums"};
  if (!pr.normalized()) grad.name = "graph gradient = p·Σy - y";
  if (const auto& bad = ev.nonfinite()) {
    sums.max_abs_error = grad.max_abs_error = std::numeric_limits<double>::quiet_NaN();
    sums.note = grad.note = "not finite: " + explain_nonfinite(g, ev, *bad);
    out.push_back(sums);
    out.push_back(grad);
    return;
  }
  const auto& p = ev.value(pr.p);
  const auto cols = static_cast<std::size_t>(pr.classes());
  for (std::size_t r = 0; r < static_cast<std::size_t>(pr.rows()); ++r) {
    S total = 0;
    for (std::size_t c = 0; c < cols; ++c) total += p[r * cols + c];
    sums.max_abs_error = std::max(sums.max_abs_error, std::abs(to_double(S(total - 1))));
  }
  const auto& got = ev.value(grad_z);
  const auto& want = ev.value(pr.expected);
  for (std::size_t k = 0; k < got.size(); ++k)
    grad.max_abs_error = std::max(grad.max_abs_error, std::abs(to_double(S(got[k] - want[k]))));
  sums.passed = sums.max_abs_error <= sums.tolerance;
  grad.passed = grad.max_abs_error <= grad.tolerance;
  out.push_back(sums);
  out.push_back(grad);
}

// Which components the finite-difference check covers: all of them for small
// inputs, else a spread of `limit` (both ends, each row's target, the rest strided).
std::vector<std::size_t> fd_components(const SoftmaxCeInput& in, std::size_t limit) {
  const std::size_t n = in.logits.front().size(), total = n * in.logits.size();
  std::vector<std::size_t> picks;
  if (total <= limit) {
    for (std::size_t k = 0; k < total; ++k) picks.push_back(k);
    return picks;
  }
  picks = {0, total - 1};
  for (std::size_t r = 0; r < in.target_classes.size() && picks.size() < limit / 2; ++r)
    picks.push_back(r * n + static_cast<std::size_t>(in.target_classes[r]));
  const std::size_t stride = std::max<std::size_t>(1, total / (limit - picks.size() + 1));
  for (std::size_t k = stride; k < total && picks.size() < limit; k += stride) picks.push_back(k);
  std::sort(picks.begin(), picks.end());
  picks.erase(std::unique(picks.begin(), picks.end()), picks.end());
  return picks;
}

// ∂L/∂z by central differences with one Richardson step, at 50 digits:
// R = (4·D(h/2) − D(h))/3 with D(h) = (L(z + h·e) − L(z − h·e))/2h and h = 2⁻²⁰·T.
// Its truncation error is O(h⁴·L⁽⁵⁾) ≈ 1e-24·Σ|y|/(B·T) (the derivatives of
// log-sum-exp are bounded), its rounding error ≈ 1e-50·|L|/h; the tolerance
// 1e-18·(1 + Σ|y|)/(B·T) sits a million times above the first.
NumericCheck finite_difference_check(const SoftmaxCeProof& pr, const ExactBindings& exact, std::size_t limit,
                                     std::int64_t* covered) {
  using S = Float50;
  const Graph& g = *pr.graph;
  const NodeId grad_z = pr.gradient.gradients.front();
  const double T = std::abs(to_double(to_scalar<double>(pr.input.temperature)));
  NumericCheck check{"central differences = graph gradient", Precision::Digits50, 0,
                     1e-18 * (1 + max_target_mass(pr.input)) / (static_cast<double>(pr.rows()) * T), false,
                     "Richardson-extrapolated central differences, h = 2^-20·T; tolerance 1e-18·(1 + Σ|y|)/(B·T)"};
  Bindings<S> b = round_bindings<S>(exact);
  const Evaluation<S> base(g, std::span(&grad_z, 1), b);
  if (const auto& bad = base.nonfinite()) {
    check.max_abs_error = std::numeric_limits<double>::quiet_NaN();
    check.note = "not finite: " + explain_nonfinite(g, base, *bad);
    return check;
  }
  const S h = S(to_scalar<S>(pr.input.temperature < 0 ? Rational(-pr.input.temperature) : pr.input.temperature)) /
              S(1048576);
  auto& z = b.at("z");
  auto loss_at = [&](std::size_t k, const S& delta) {
    const S saved = z[k];
    z[k] = saved + delta;
    const Evaluation<S> ev(g, std::span(&pr.loss, 1), b);
    z[k] = saved;
    return ev.nonfinite() ? std::optional<S>{} : std::optional<S>{ev.scalar(pr.loss)};
  };
  const auto picks = fd_components(pr.input, limit);
  *covered = static_cast<std::int64_t>(picks.size());
  for (std::size_t k : picks) {
    auto central = [&](const S& step) -> std::optional<S> {
      auto up = loss_at(k, step), down = loss_at(k, -step);
      if (!up || !down) return std::nullopt;
      return S((*up - *down) / (2 * step));
    };
    const auto d1 = central(h), d2 = central(h / 2);
    if (!d1 || !d2) {
      check.max_abs_error = std::numeric_limits<double>::quiet_NaN();
      check.note = fmt::format("the loss is not finite near z[{}]", k);
      return check;
    }
    const S richardson = (4 * *d2 - *d1) / 3;
    check.max_abs_error =
        std::max(check.max_abs_error, std::abs(to_double(S(richardson - base.value(grad_z)[k]))));
  }
  check.passed = check.max_abs_error <= check.tolerance;
  return check;
}

void run_checks(SoftmaxCeProof& pr, std::size_t fd_limit) {
  const ExactBindings exact = bindings_of(pr.input);
  std::vector<Precision> precisions{Precision::Double, Precision::Digits50};
  if (std::find(precisions.begin(), precisions.end(), pr.input.precision) == precisions.end())
    precisions.push_back(pr.input.precision);
  for (Precision p : precisions)
    with_scalar(p, [&](auto tag) { gradient_checks<typename decltype(tag)::type>(pr, exact, pr.checks); });
  pr.checks.push_back(finite_difference_check(pr, exact, fd_limit, &pr.fd_components));
}

// Values of the nodes a reader sees, at the display precision.
template <class S> void display_values(SoftmaxCeProof& pr) {
  std::vector<NodeId> roots = pr.forward_order;
  for (const SweepStep& s : pr.gradient.sweep) {
    roots.push_back(s.adjoint);
    roots.insert(roots.end(), s.accumulated.begin(), s.accumulated.end());
  }
  roots.push_back(pr.expected);
  roots.insert(roots.end(), pr.gradient.gradients.begin(), pr.gradient.gradients.end());
  const Evaluation<S> ev(*pr.graph, roots, round_bindings<S>(bindings_of(pr.input)));
  for (NodeId id : ev.order()) {
    NodeValues nv{id, {}};
    for (const S& x : ev.value(id)) nv.values.push_back(format_scalar(x));
    pr.values.push_back(std::move(nv));
  }
  if (const auto& bad = ev.nonfinite()) pr.nonfinite = explain_nonfinite(*pr.graph, ev, *bad);
}

SoftmaxCeProof build(const SoftmaxCeInput& input) {
  SoftmaxCeProof pr;
  pr.input = input;
  pr.graph = std::make_unique<Graph>();
  Graph& g = *pr.graph;
  const auto B = static_cast<std::int64_t>(input.logits.size());
  const auto n = static_cast<std::int64_t>(input.logits.front().size());
  const Shape shape = input.batch ? Shape::matrix(B, n) : Shape::vector(n);
  const Expr z = variable(g, "z", shape), y = variable(g, "y", shape);
  const Expr T = constant(g, input.temperature);
  const Expr p = softmax(z, T);
  const Expr L = cross_entropy(p, y);
  pr.gradient = grad(L, {z});
  const Expr claim = pr.normalized() ? p - y : p * sum(y, -1) - y;
  const Expr expected = claim / (T * Rational(B));
  pr.z = z.id();
  pr.y = y.id();
  pr.p = p.id();
  pr.loss = L.id();
  pr.expected = expected.id();
  pr.forward_order = topological_order(g, std::span(&pr.loss, 1));
  return pr;
}

}  // namespace

std::string format_error(double max_abs_error) {
  return std::isnan(max_abs_error) ? "not finite" : fmt::format("{:.2e}", max_abs_error);
}

SoftmaxCeInput SoftmaxCeInput::example() {
  SoftmaxCeInput in;
  in.logits = {{Rational(2), Rational(1), Rational(1, 10)}};
  in.set_target_classes({2});
  return in;
}

void SoftmaxCeInput::set_target_classes(std::vector<long> classes) {
  targets.clear();
  for (std::size_t r = 0; r < classes.size(); ++r) {
    std::vector<Rational> row(logits.at(r).size(), Rational(0));
    row.at(static_cast<std::size_t>(classes[r])) = 1;
    targets.push_back(std::move(row));
  }
  target_classes = std::move(classes);
}

void validate(const SoftmaxCeInput& in) {
  if (in.logits.empty() || in.logits.front().empty()) throw InputError("--logits: no logits given");
  if (!in.batch && in.logits.size() != 1) throw InputError("--logits: expected one row");
  if (in.targets.size() != in.logits.size())
    throw InputError(fmt::format("--targets: {} row(s) of targets for {} row(s) of logits", in.targets.size(),
                                 in.logits.size()));
  for (std::size_t r = 0; r < in.targets.size(); ++r) {
    const std::string where = in.logits.size() > 1 ? fmt::format(" in row {}", r + 1) : "";
    if (in.targets[r].size() != in.logits[r].size())
      throw InputError(fmt::format("--targets: {} target value(s){} for {} logits", in.targets[r].size(), where,
                                   in.logits[r].size()));
    const Rational s = row_sum(in.targets[r]);
    if (s != 1 && !in.allow_unnormalized)
      throw InputError(fmt::format("--targets: the targets{} sum to {}, not 1 (a distribution must sum to 1; "
                                   "pass --allow-unnormalized to see what the gradient becomes then)",
                                   where, to_string(s)));
  }
  if (in.temperature <= 0)
    throw InputError(fmt::format("--temperature: must be positive, got {}", to_string(in.temperature)));
}

bool SoftmaxCeProof::normalized() const {
  return std::all_of(input.targets.begin(), input.targets.end(),
                     [](const auto& row) { return row_sum(row) == 1; });
}

bool SoftmaxCeProof::passed() const {
  return !checks.empty() && std::all_of(checks.begin(), checks.end(), [](const auto& c) { return c.passed; });
}

const std::vector<std::string>& SoftmaxCeProof::value_of(NodeId id) const {
  for (const NodeValues& v : values)
    if (v.node == id) return v.values;
  throw std::out_of_range(fmt::format("no value for node %{}", id));
}

SoftmaxCeProof prove_softmax_ce(const SoftmaxCeInput& input) {
  validate(input);
  SoftmaxCeProof pr = build(input);
  with_scalar(input.precision, [&](auto tag) { display_values<typename decltype(tag)::type>(pr); });
  run_checks(pr, 64);
  return pr;
}

namespace {

nlohmann::ordered_json check_json(const NumericCheck& c) {
  nlohmann::ordered_json j;
  j["name"] = c.name;
  j["precision"] = name_of(c.precision);
  j["max_abs_error"] = std::isnan(c.max_abs_error) ? nlohmann::ordered_json(nullptr)
                                                    : nlohmann::ordered_json(fmt::format("{:.17g}", c.max_abs_error));
  j["tolerance"] = fmt::format("{:.17g}", c.tolerance);
  j["passed"] = c.passed;
  if (!c.note.empty()) j["note"] = c.note;
  return j;
}

// Rows of a [B, n] value (or the one row of a vector), for JSON.
nlohmann::ordered_json shaped(const std::vector<std::string>& flat, std::int64_t rows, bool batch) {
  if (!batch) return flat;
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  const std::size_t cols = flat.size() / static_cast<std::size_t>(rows);
  for (std::int64_t r = 0; r < rows; ++r)
    out.push_back(std::vector<std::string>(flat.begin() + r * cols, flat.begin() + (r + 1) * cols));
  return out;
}

nlohmann::ordered_json rational_rows(const std::vector<std::vector<Rational>>& rows, bool batch) {
  std::vector<std::string> flat;
  for (const auto& row : rows)
    for (const std::string& r : to_strings(row)) flat.push_back(r);
  return shaped(flat, static_cast<std::int64_t>(rows.size()), batch);
}

}  // namespace

nlohmann::ordered_json render_json(const SoftmaxCeProof& pr) {
  const bool batch = pr.input.batch;
  nlohmann::ordered_json j;
  j["derivation"] = "softmax-ce";
  j["precision"] = name_of(pr.input.precision);
  j["shape"] = to_string(pr.graph->shape(pr.z));
  j["logits"] = rational_rows(pr.input.logits, batch);
  j["targets"] = rational_rows(pr.input.targets, batch);
  j["temperature"] = to_string(pr.input.temperature);
  j["probabilities"] = shaped(pr.value_of(pr.p), pr.rows(), batch);
  j["loss"] = pr.value_of(pr.loss).front();
  j["gradient"] = shaped(pr.value_of(pr.gradient.gradients.front()), pr.rows(), batch);
  j["expected_gradient"] = shaped(pr.value_of(pr.expected), pr.rows(), batch);
  j["expected_formula"] = to_infix(*pr.graph, pr.expected);
  j["checks"] = nlohmann::ordered_json::array();
  for (const NumericCheck& c : pr.checks) j["checks"].push_back(check_json(c));
  if (pr.nonfinite) j["nonfinite"] = *pr.nonfinite;
  j["passed"] = pr.passed();
  return j;
}

// ---- random samples -----------------------------------------------------------

namespace {

// Uniform in [0, 1) from the generator's raw bits, identical on every platform
// (std::uniform_real_distribution is not).
double uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
std::int64_t uniform_int(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
}
// Log-uniform in [lo, hi].
double log_uniform(std::mt19937_64& rng, double lo, double hi) {
  return lo * std::pow(hi / lo, uniform(rng));
}

SoftmaxCeInput random_case(std::mt19937_64& rng, int index, const Rational& temperature, Precision precision) {
  SoftmaxCeInput in;
  in.temperature = temperature;
  in.precision = precision;
  // The first two cases pin the ends of the range of n.
  const auto n = index == 0 ? 1000 : index == 1 ? 1 : std::clamp<std::int64_t>(std::llround(log_uniform(rng, 1, 1000)), 1, 1000);
  const std::int64_t B = uniform(rng) < 0.3 ? uniform_int(rng, 2, 8) : 1;
  in.batch = B > 1;
  const double scale = log_uniform(rng, 1, 100);
  for (std::int64_t r = 0; r < B; ++r) {
    std::vector<Rational> row;
    for (std::int64_t k = 0; k < n; ++k) row.push_back(to_rational(scale * (2 * uniform(rng) - 1)));
    in.logits.push_back(std::move(row));
  }
  if (index % 2 == 0) {
    std::vector<long> classes;
    for (std::int64_t r = 0; r < B; ++r) classes.push_back(static_cast<long>(uniform_int(rng, 0, n - 1)));
    in.set_target_classes(std::move(classes));
  } else {
    // Soft targets: random integer weights over their total, summing to 1 exactly.
    for (std::int64_t r = 0; r < B; ++r) {
      std::vector<Integer> w;
      Integer total = 0;
      for (std::int64_t k = 0; k < n; ++k) total += w.emplace_back(uniform_int(rng, 0, 1000));
      if (total == 0) w[0] = total = 1;
      std::vector<Rational> row;
      for (const Integer& x : w) row.emplace_back(x, total);
      in.targets.push_back(std::move(row));
    }
  }
  return in;
}

}  // namespace

SamplesSummary run_samples(int count, std::uint64_t seed, const Rational& temperature, Precision precision) {
  std::mt19937_64 rng(seed);
  SamplesSummary summary;
  for (int i = 0; i < count; ++i) {
    SoftmaxCeInput in = random_case(rng, i, temperature, precision);
    validate(in);
    SoftmaxCeProof pr = build(in);
    run_checks(pr, 4);
    summary.cases.push_back({pr.rows(), pr.classes(), in.target_classes.empty() ? "soft" : "one-hot",
                             0, std::move(pr.checks)});
    double scale = 0;
    for (const auto& row : in.logits)
      for (const Rational& r : row) scale = std::max(scale, std::abs(to_double(to_scalar<double>(r))));
    summary.cases.back().scale = scale;
  }
  return summary;
}

bool SamplesSummary::passed() const {
  return std::all_of(cases.begin(), cases.end(), [](const SampleCase& c) {
    return std::all_of(c.checks.begin(), c.checks.end(), [](const auto& k) { return k.passed; });
  });
}

namespace {
// The worst case of each (check, precision): largest error relative to its tolerance.
std::vector<std::pair<const NumericCheck*, std::size_t>> worst_checks(const SamplesSummary& s) {
  std::vector<std::pair<const NumericCheck*, std::size_t>> worst;
  for (std::size_t i = 0; i < s.cases.size(); ++i)
    for (const NumericCheck& c : s.cases[i].checks) {
      auto it = std::find_if(worst.begin(), worst.end(), [&](const auto& w) {
        return w.first->name == c.name && w.first->precision == c.precision;
      });
      auto ratio = [](const NumericCheck& k) {
        return std::isnan(k.max_abs_error) ? INFINITY : k.max_abs_error / k.tolerance;
      };
      if (it == worst.end()) worst.emplace_back(&c, i);
      else if (ratio(c) > ratio(*it->first)) *it = {&c, i};
    }
  return worst;
}
}  // namespace

std::string render_text(const SamplesSummary& s, std::uint64_t seed) {
  std::string out = fmt::format("ddx derive softmax-ce --samples {} --seed {}: random cases, checked against p - y\n\n",
                                s.cases.size(), seed);
  out += fmt::format("  {:>4}  {:>10}  {:<8} {:>9}  {}\n", "case", "shape", "targets", "max |z|", "checks");
  for (std::size_t i = 0; i < s.cases.size(); ++i) {
    const SampleCase& c = s.cases[i];
    const auto failed = std::count_if(c.checks.begin(), c.checks.end(), [](const auto& k) { return !k.passed; });
    out += fmt::format("  {:>4}  {:>10}  {:<8} {:>9.3g}  {}\n", i, fmt::format("{}x{}", c.rows, c.classes), c.targets,
                       c.scale, failed ? fmt::format("{} FAILED", failed) : "pass");
  }
  out += "\nWorst error per check and precision\n";
  for (const auto& [c, i] : worst_checks(s))
    out += fmt::format("  {:<38} {:<11} max |error| {:<10} tolerance {:.2e}  (case {})\n", c->name,
                       name_of(c->precision), format_error(c->max_abs_error), c->tolerance, i);
  out += s.passed() ? fmt::format("\nVerdict: all {} cases pass\n", s.cases.size())
                    : "\nVerdict: some cases FAILED\n";
  return out;
}

nlohmann::ordered_json render_json(const SamplesSummary& s, std::uint64_t seed) {
  nlohmann::ordered_json j;
  j["derivation"] = "softmax-ce";
  j["samples"] = s.cases.size();
  j["seed"] = seed;
  j["cases"] = nlohmann::ordered_json::array();
  for (const SampleCase& c : s.cases) {
    nlohmann::ordered_json jc;
    jc["rows"] = c.rows;
    jc["classes"] = c.classes;
    jc["targets"] = c.targets;
    jc["max_abs_logit"] = c.scale;
    jc["checks"] = nlohmann::ordered_json::array();
    for (const NumericCheck& k : c.checks) jc["checks"].push_back(check_json(k));
    j["cases"].push_back(jc);
  }
  j["worst"] = nlohmann::ordered_json::array();
  for (const auto& [c, i] : worst_checks(s)) {
    auto w = check_json(*c);
    w["case"] = i;
    j["worst"].push_back(w);
  }
  j["passed"] = s.passed();
  return j;
}

}  // namespace ddx
