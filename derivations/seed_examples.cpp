#include "derivations/seed_examples.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <stdexcept>

#include "derivations/catalogue.hpp"
#include "derivations/inputs.hpp"
#include "engine/eval.hpp"
#include "ops/composites.hpp"

namespace ddx {
namespace {

namespace mp = boost::multiprecision;

constexpr const char* kSeed000 = "000_769332e500e13830.txt";
constexpr const char* kSeed001 = "001_586219aa80f90849.txt";
constexpr const char* kSeed002 = "002_feabd07930def885.txt";
constexpr const char* kSeed003 = "003_dfa30b3aab0a934f.txt";
constexpr const char* kSeed004 = "004_5f519aa9336c465c.txt";

// What an example computes from its input vector (named z for logits, p for
// probabilities). Each computation exposes named quantities; a figure picks
// one quantity and an element of it.
enum class Computation {
  Softmax,         // z → exp(z), Σ exp(z), p = softmax(z[, T]), Σ p; with y: L, ∂L/∂z (grad), 1 − p
  NaiveNormalize,  // z → Σ z, z / Σ z
  Exp,             // z → exp(z)
  ShiftByMax,      // z → z − max(z), exp(z − max(z))
  NegLog,          // p → −log p
  LossRatio,       // p → (−log p₀) / (−log p₁)
  WeightedLoss,    // p, counts w → w·(−log p), Σ w·(−log p) / Σ w
  PMinusY,         // p, y → p − y
};

bool takes_probabilities(Computation c) {
  return c == Computation::NegLog || c == Computation::LossRatio || c == Computation::WeightedLoss ||
         c == Computation::PMinusY;
}

struct Figure {
  std::string quantity;
  int index = -1;  // element of a vector quantity; -1 for a scalar
  std::string printed;
  std::string why = {};  // what the seed did, shown when the figure differs
};

struct Example {
  const char* source;
  std::string what;  // our own short description
  Computation computation;
  std::vector<std::string> inputs;   // z or p, exact decimals
  std::vector<std::string> y = {};   // target distribution (or y of p − y)
  std::string temperature = {};      // empty: none
  std::vector<std::string> weights = {};
  Precision precision = Precision::Digits100;
  std::vector<std::string> other_inputs = {};  // inputs the seed may have used instead
  std::vector<Figure> figures = {};
};

// ---------------------------------------------------------------------------
// The table: every numeric example the seeds print. Each figure is stored as
// printed; a figure printed twice in the same example is stored once.
// Seeds 000, 001 and 004 print no numeric example.
// ---------------------------------------------------------------------------
std::vector<Example> seed_examples() {
  using C = Computation;
  constexpr auto F = Precision::Float;
  constexpr auto D = Precision::Double;
  return {
      {.source = kSeed002, .what = "three classes, the correct one least probable", .computation = C::Softmax,
       .inputs = {"2.0", "1.0", "0.1"}, .y = {"0", "0", "1"},
       .figures = {{"p", 0, "0.66"}, {"p", 1, "0.24"}, {"p", 2, "0.10"},
                   {"∂L/∂z", 0, "0.66"}, {"∂L/∂z", 1, "0.24"}, {"∂L/∂z", 2, "-0.90"},
                   {"1 − p", 2, "90%"}}},
      {.source = kSeed002, .what = "after convergence: confident and correct", .computation = C::Softmax,
       .inputs = {"0.1", "0.2", "5.0"}, .y = {"0", "0", "1"},
       .figures = {{"p", 0, "0.01"}, {"p", 1, "0.01"}, {"p", 2, "0.98"},
                   {"∂L/∂z", 0, "0.01"}, {"∂L/∂z", 1, "0.01"}, {"∂L/∂z", 2, "-0.02"}}},

      {.source = kSeed003, .what = "softmax step by step; loss for class 0 (the seed names no target)",
       .computation = C::Softmax, .inputs = {"2.0", "1.0", "0.1"}, .y = {"1", "0", "0"},
       .figures = {{"exp(z)", 0, "7.389"}, {"exp(z)", 1, "2.718"}, {"exp(z)", 2, "1.105"},
                   {"Σ exp(z)", -1, "11.212",
                    "the seed added the three rounded exponentials (7.389 + 2.718 + 1.105 = 11.212)"},
                   {"p", 0, "0.659"}, {"p", 1, "0.242"}, {"p", 2, "0.099"},
                   {"p", 0, "65.9%"}, {"p", 1, "24.2%"}, {"p", 2, "9.9%"},
                   {"Σ p", -1, "1.000"}, {"L", -1, "0.42"}}},
      {.source = kSeed003, .what = "close logits", .computation = C::Softmax, .inputs = {"3.0", "2.9", "2.8"},
       .figures = {{"exp(z)", 0, "20.09"}, {"exp(z)", 1, "18.17"}, {"exp(z)", 2, "16.44"},
                   {"p", 0, "0.367"}, {"p", 1, "0.332"}, {"p", 2, "0.301"}}},
      {.source = kSeed003, .what = "spread-out logits", .computation = C::Softmax, .inputs = {"5.0", "2.0", "1.0"},
       .figures = {{"exp(z)", 0, "148.4"}, {"exp(z)", 1, "7.39"}, {"exp(z)", 2, "2.72"},
                   {"p", 0, "0.936"}, {"p", 1, "0.047"}, {"p", 2, "0.017"}}},
      {.source = kSeed003, .what = "dividing by the sum instead of softmax", .computation = C::NaiveNormalize,
       .inputs = {"2.0", "1.0", "0.1"},
       .figures = {{"Σ z", -1, "3.1"}, {"z / Σ z", 0, "0.645"}, {"z / Σ z", 1, "0.323"}, {"z / Σ z", 2, "0.032"}}},
      {.source = kSeed003, .what = "dividing by the sum, negative logits", .computation = C::NaiveNormalize,
       .inputs = {"2.0", "-1.0", "-3.0"},
       .figures = {{"Σ z", -1, "-2.0"}, {"z / Σ z", 0, "-1.0"}, {"z / Σ z", 1, "0.5"}, {"z / Σ z", 2, "1.5"}}},
      {.source = kSeed003, .what = "temperature table, T = 0.5", .computation = C::Softmax,
       .inputs = {"2.0", "1.0", "0.0"}, .temperature = "0.5", .other_inputs = {"2.0", "1.0", "0.1"},
       .figures = {{"p", 0, "0.844"}, {"p", 1, "0.114"}, {"p", 2, "0.042"}}},
      {.source = kSeed003, .what = "temperature table, T = 1", .computation = C::Softmax,
       .inputs = {"2.0", "1.0", "0.0"}, .temperature = "1", .other_inputs = {"2.0", "1.0", "0.1"},
       .figures = {{"p", 0, "0.659"}, {"p", 1, "0.242"}, {"p", 2, "0.099"}}},
      {.source = kSeed003, .what = "temperature table, T = 2", .computation = C::Softmax,
       .inputs = {"2.0", "1.0", "0.0"}, .temperature = "2", .other_inputs = {"2.0", "1.0", "0.1"},
       .figures = {{"p", 0, "0.506"}, {"p", 1, "0.307"}, {"p", 2, "0.187"}}},
      {.source = kSeed003, .what = "loss of the correct class's probability", .computation = C::NegLog,
       .inputs = {"0.99", "0.90", "0.50", "0.10", "0.01", "0.001"},
       .figures = {{"−log p", 0, "0.01"}, {"−log p", 1, "0.11"}, {"−log p", 2, "0.69"},
                   {"−log p", 3, "2.30"}, {"−log p", 4, "4.61"}, {"−log p", 5, "6.91"}}},
      {.source = kSeed003, .what = "how many confident correct losses balance one confident mistake",
       .computation = C::LossRatio, .inputs = {"0.01", "0.99"},
       .figures = {{"(−log p₀) / (−log p₁)", -1, "461",
                    "the seed divided the rounded losses (4.61 / 0.01 = 461)"}}},
      {.source = kSeed003, .what = "99 samples at p = 0.99 and one at p = 0.01", .computation = C::WeightedLoss,
       .inputs = {"0.99", "0.01"}, .weights = {"99", "1"},
       .figures = {{"count × −log p", 0, "0.99"}, {"count × −log p", 1, "4.61"}, {"mean loss", -1, "0.056"}}},
      {.source = kSeed003, .what = "worked example, target class 1", .computation = C::Softmax,
       .inputs = {"1.0", "3.0", "0.5"}, .y = {"0", "1", "0"},
       .figures = {{"exp(z)", 0, "2.718"}, {"exp(z)", 1, "20.086"}, {"exp(z)", 2, "1.649"},
                   {"Σ exp(z)", -1, "24.453"},
                   {"p", 0, "0.111"}, {"p", 1, "0.821"}, {"p", 2, "0.067"},
                   {"p", 0, "11.1%"}, {"p", 1, "82.1%"}, {"p", 2, "6.7%"},
                   {"L", -1, "0.197"}}},
      {.source = kSeed003, .what = "worked example, target class 2", .computation = C::Softmax,
       .inputs = {"1.0", "3.0", "0.5"}, .y = {"0", "0", "1"}, .figures = {{"L", -1, "2.70"}}},
      {.source = kSeed003, .what = "a large exponential", .computation = C::Exp, .inputs = {"100"},
       .figures = {{"exp(z)", 0, "2.7 × 10^43"}}},
      // The seed says in words that exp(100) does not fit in float32: recorded as "inf".
      {.source = kSeed003, .what = "a large exponential in float32 (the seed: it overflows)",
       .computation = C::Exp, .inputs = {"100"}, .precision = F, .figures = {{"exp(z)", 0, "inf"}}},
      {.source = kSeed003, .what = "a huge exponential in double", .computation = C::Exp, .inputs = {"1000"},
       .precision = D, .figures = {{"exp(z)", 0, "Infinity"}}},
      {.source = kSeed003, .what = "a tiny exponential", .computation = C::Exp, .inputs = {"-100"},
       .figures = {{"exp(z)", 0, "3.7 × 10^-44"}}},
      // The seed says in words that exp(−100) rounds to 0 in float32: recorded as "0".
      {.source = kSeed003, .what = "a tiny exponential in float32 (the seed: it rounds to 0)",
       .computation = C::Exp, .inputs = {"-100"}, .precision = F,
       .figures = {{"exp(z)", 0, "0",
                    "float32 has subnormal numbers down to 2^-149 ≈ 1.4e-45, so exp(-100) ≈ 3.7e-44 "
                    "rounds to the subnormal 27·2^-149, not to 0 (it is 0 only with flush-to-zero)"}}},
      {.source = kSeed003, .what = "subtracting the largest logit", .computation = C::ShiftByMax,
       .inputs = {"100", "99", "98"},
       .figures = {{"z − max(z)", 0, "0"}, {"z − max(z)", 1, "-1"}, {"z − max(z)", 2, "-2"},
                   {"exp(z − max(z))", 0, "1"}, {"exp(z − max(z))", 1, "0.368"}, {"exp(z − max(z))", 2, "0.135"}}},
      {.source = kSeed003, .what = "gradient of the correct class at p = 0.8", .computation = C::PMinusY,
       .inputs = {"0.8"}, .y = {"1"}, .figures = {{"p − y", 0, "-0.2"}}},
      {.source = kSeed003, .what = "gradient of a wrong class at p = 0.15", .computation = C::PMinusY,
       .inputs = {"0.15"}, .y = {"0"}, .figures = {{"p − y", 0, "0.15"}}},
  };
}

// ---------------------------------------------------------------------------
// Building and evaluating an example.
// ---------------------------------------------------------------------------

std::vector<Rational> parse_all(const std::vector<std::string>& texts) {
  std::vector<Rational> out;
  for (const auto& t : texts) out.push_back(parse_rational(t));
  return out;
}

Expr vector_constant(Graph& g, const std::vector<std::string>& texts) {
  const auto values = parse_all(texts);
  const auto n = static_cast<std::int64_t>(values.size());
  return {g, g.constant(values, Shape::vector(n))};
}

struct Built {
  std::vector<std::pair<std::string, Expr>> quantities;
  ExactBindings bindings;
};

Built build(Graph& g, const Example& ex, const std::vector<std::string>& inputs) {
  Built b;
  const auto n = static_cast<std::int64_t>(inputs.size());
  const std::string name = takes_probabilities(ex.computation) ? "p" : "z";
  const Expr x = variable(g, name, Shape::vector(n));
  b.bindings[name] = parse_all(inputs);
  auto& q = b.quantities;
  switch (ex.computation) {
    case Computation::Softmax: {
      const Expr scaled = ex.temperature.empty() ? x : x / parse_rational(ex.temperature);
      const Expr e = exp(scaled);
      const Expr p = ex.temperature.empty() ? softmax(x) : softmax(x, constant(g, parse_rational(ex.temperature)));
      q = {{"exp(z)", e}, {"Σ exp(z)", sum(e)}, {"p", p}, {"Σ p", sum(p)}};
      if (!ex.y.empty()) {
        const Expr y = vector_constant(g, ex.y);
        const Expr loss = cross_entropy(p, y);
        const Gradient gr = grad(loss, {x});
        q.push_back({"L", loss});
        q.push_back({"∂L/∂z", Expr(g, gr.gradients.front())});
        q.push_back({"1 − p", Rational(1) - p});
      }
      break;
    }
    case Computation::NaiveNormalize: q = {{"Σ z", sum(x)}, {"z / Σ z", x / sum(x)}}; break;
    case Computation::Exp: q = {{"exp(z)", exp(x)}}; break;
    case Computation::ShiftByMax: {
      const Expr shifted = x - max(x);
      q = {{"z − max(z)", shifted}, {"exp(z − max(z))", exp(shifted)}};
      break;
    }
    case Computation::NegLog: q = {{"−log p", -log(x)}}; break;
    case Computation::LossRatio: {
      // Two scalars, so that the ratio is one division node.
      const Expr a = variable(g, "p0", Shape::scalar()), c = variable(g, "p1", Shape::scalar());
      b.bindings["p0"] = {parse_rational(inputs.at(0))};
      b.bindings["p1"] = {parse_rational(inputs.at(1))};
      q = {{"(−log p₀) / (−log p₁)", (-log(a)) / (-log(c))}};
      break;
    }
    case Computation::WeightedLoss: {
      const Expr w = vector_constant(g, ex.weights);
      const Expr losses = w * (-log(x));
      q = {{"count × −log p", losses}, {"mean loss", sum(losses) / sum(w)}};
      break;
    }
    case Computation::PMinusY: q = {{"p − y", x - vector_constant(g, ex.y)}}; break;
  }
  return b;
}

// One evaluated element: its value widened to 100 digits, and its text at the
// precision it was computed at.
struct Value {
  Float100 wide;
  std::string text;
};

std::vector<Value> evaluate(const Example& ex, const std::vector<std::string>& inputs) {
  Graph g;
  const Built b = build(g, ex, inputs);
  std::vector<NodeId> roots;
  for (const Figure& f : ex.figures) {
    auto it = std::find_if(b.quantities.begin(), b.quantities.end(), [&](const auto& q) { return q.first == f.quantity; });
    if (it == b.quantities.end()) throw std::logic_error("seed example: no quantity '" + f.quantity + "'");
    roots.push_back(it->second.id());
  }
  return with_scalar(ex.precision, [&]<class T>(std::type_identity<T>) {
    const Evaluation<T> ev(g, roots, round_bindings<T>(b.bindings));
    std::vector<Value> out;
    for (std::size_t k = 0; k < ex.figures.size(); ++k) {
      const auto& values = ev.value(roots[k]);
      const T& x = values.at(static_cast<std::size_t>(std::max(ex.figures[k].index, 0)));
      out.push_back({Float100(x), format_scalar(x)});
    }
    return out;
  });
}

// ---------------------------------------------------------------------------
// Rounding to the seed's style.
// ---------------------------------------------------------------------------

// round(|x|), ties to even, as decimal digits.
std::string round_to_integer_digits(const Float100& ax) {
  Float100 whole = mp::floor(ax);
  const Float100 frac = ax - whole;
  if (frac > 0.5 || (frac == 0.5 && mp::fmod(whole, Float100(2)) != 0)) whole += 1;
  return whole.convert_to<Integer>().str();
}

Float100 pow10(int e) { return mp::pow(Float100(10), e); }

struct Style {
  enum Kind { Fixed, Percent, Scientific } kind = Fixed;
  int digits = 0;  // decimals (Fixed, Percent) or significant digits (Scientific)
};

constexpr std::string_view kTimesTen = " × 10^";

int decimals_of(std::string_view number) {
  const auto dot = number.find('.');
  return dot == std::string_view::npos ? 0 : static_cast<int>(number.size() - dot - 1);
}

bool is_plain_number(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  return std::count(s.begin(), s.end(), '.') <= 1 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
}

Style style_of(std::string_view figure) {
  if (const auto at = figure.find(kTimesTen); at != std::string_view::npos) {
    const std::string_view mantissa = figure.substr(0, at);
    if (!is_plain_number(mantissa)) throw std::invalid_argument("not a seed figure: " + std::string(figure));
    int sig = 0;
    for (char c : mantissa) sig += (c >= '0' && c <= '9');
    return {Style::Scientific, sig};
  }
  if (!figure.empty() && figure.back() == '%') {
    const auto number = figure.substr(0, figure.size() - 1);
    if (!is_plain_number(number)) throw std::invalid_argument("not a seed figure: " + std::string(figure));
    return {Style::Percent, decimals_of(number)};
  }
  if (!is_plain_number(figure)) throw std::invalid_argument("not a seed figure: " + std::string(figure));
  return {Style::Fixed, decimals_of(figure)};
}

// The number a seed figure stands for.
Float100 value_of(std::string_view figure) {
  if (figure == "inf" || figure == "Infinity") return std::numeric_limits<Float100>::infinity();
  if (const auto at = figure.find(kTimesTen); at != std::string_view::npos) {
    const Float100 m(std::string(figure.substr(0, at)));
    return m * pow10(std::stoi(std::string(figure.substr(at + kTimesTen.size()))));
  }
  if (!figure.empty() && figure.back() == '%') return Float100(std::string(figure.substr(0, figure.size() - 1))) / 100;
  return Float100(std::string(figure));
}

std::string with_point(std::string digits, int decimals) {
  if (decimals <= 0) return digits;
  if (digits.size() <= static_cast<std::size_t>(decimals)) digits.insert(0, decimals + 1 - digits.size(), '0');
  digits.insert(digits.size() - decimals, ".");
  return digits;
}

// Two significant digits, for notes.
std::string short_number(const Float100& x) { return fmt::format("{:.2g}", x.convert_to<double>()); }
std::string long_number(const Float100& x) { return x.str(20, std::ios_base::fmtflags(0)); }

std::string bracketed(const std::vector<std::string>& v) { return "[" + join(v) + "]"; }

std::string describe_inputs(const Example& ex) {
  const std::string name = takes_probabilities(ex.computation) ? "p" : "z";
  std::string s = name + " = " + (ex.inputs.size() == 1 ? ex.inputs.front() : bracketed(ex.inputs));
  if (!ex.temperature.empty()) s += ", T = " + ex.temperature;
  if (!ex.y.empty()) s += ", y = " + (ex.y.size() == 1 ? ex.y.front() : bracketed(ex.y));
  if (!ex.weights.empty()) s += ", counts " + bracketed(ex.weights);
  if (ex.precision != Precision::Digits100) s += fmt::format(", at {} precision", describe(ex.precision));
  return s;
}

// "p[0]", "(z / Σ z)[1]"; no index when the input is a single number.
std::string quantity_label(const Example& ex, const Figure& f) {
  if (f.index < 0 || ex.inputs.size() == 1) return f.quantity;
  const bool call = f.quantity.starts_with("exp(") && f.quantity.ends_with(")");
  const bool compound = !call && f.quantity.find(' ') != std::string::npos;
  return compound ? fmt::format("({})[{}]", f.quantity, f.index) : fmt::format("{}[{}]", f.quantity, f.index);
}

// A figure about what float or double computes ("inf", "0") is compared with
// the value at that precision exactly.
bool is_limited(Precision p) { return p == Precision::Float || p == Precision::Double || p == Precision::LongDouble; }

std::string limited_figure(std::string_view seed_figure, const Value& v) {
  if (mp::isinf(v.wide) && v.wide > 0) return seed_figure == "Infinity" ? "Infinity" : "inf";
  return v.text;
}

}  // namespace

std::string format_like_seed_figure(std::string_view seed_figure, const Float100& value) {
  const Style style = style_of(seed_figure);
  const Float100 ax = mp::abs(value);
  std::string body;
  switch (style.kind) {
    case Style::Fixed: body = with_point(round_to_integer_digits(ax * pow10(style.digits)), style.digits); break;
    case Style::Percent:
      body = with_point(round_to_integer_digits(ax * 100 * pow10(style.digits)), style.digits) + "%";
      break;
    case Style::Scientific: {
      if (ax == 0) throw std::invalid_argument("cannot write 0 as m × 10^e");
      int e = static_cast<int>(mp::floor(mp::log10(ax)).convert_to<long>());
      std::string digits = round_to_integer_digits(ax * pow10(style.digits - 1 - e));
      if (digits.size() > static_cast<std::size_t>(style.digits)) {  // 9.96 → 10.0: one more power of ten
        ++e;
        digits = round_to_integer_digits(ax * pow10(style.digits - 1 - e));
      }
      body = with_point(digits, style.digits - 1) + std::string(kTimesTen) + std::to_string(e);
      break;
    }
  }
  // A minus sign only when the rounded figure is not zero.
  const std::string mantissa = body.substr(0, body.find(' '));
  const bool negative = value < 0 && std::any_of(mantissa.begin(), mantissa.end(), [](char c) { return c >= '1' && c <= '9'; });
  return (negative ? "-" : "") + body;
}

std::vector<SeedCheck> check_seed_examples() {
  register_builtin_ops();
  std::vector<SeedCheck> out;
  for (const Example& ex : seed_examples()) {
    const std::vector<Value> values = evaluate(ex, ex.inputs);
    std::vector<Value> other;
    if (!ex.other_inputs.empty()) other = evaluate(ex, ex.other_inputs);
    for (std::size_t k = 0; k < ex.figures.size(); ++k) {
      const Figure& f = ex.figures[k];
      SeedCheck c;
      c.source = ex.source;
      c.example = ex.what + ": " + describe_inputs(ex);
      c.quantity = quantity_label(ex, f);
      c.seed_figure = f.printed;
      const Value& v = values[k];
      if (is_limited(ex.precision)) {
        c.ddx_figure = limited_figure(f.printed, v);
        const Float100 claimed = value_of(f.printed);
        c.matches = v.wide == claimed;
        if (!c.matches)
          c.note = fmt::format("at {} precision the engine computes {}, not {}", describe(ex.precision), v.text,
                               f.printed);
      } else {
        c.ddx_figure = format_like_seed_figure(f.printed, v.wide);
        c.matches = c.ddx_figure == f.printed;
        if (!c.matches) {
          const Float100 diff = value_of(f.printed) - v.wide;
          c.note = fmt::format("off by {} (ddx: {})", short_number(mp::abs(diff)), long_number(v.wide));
          if (!other.empty()) {
            const std::string alt = format_like_seed_figure(f.printed, other[k].wide);
            c.note += alt == f.printed
                          ? fmt::format("; it is the value for {} = {}, so the seed used other inputs",
                                        takes_probabilities(ex.computation) ? "p" : "z", bracketed(ex.other_inputs))
                          : fmt::format("; not the value for {} = {} either ({})",
                                        takes_probabilities(ex.computation) ? "p" : "z", bracketed(ex.other_inputs), alt);
          }
        }
      }
      if (!c.matches && !f.why.empty()) c.note += "; " + f.why;
      out.push_back(std::move(c));
    }
  }
  return out;
}

std::vector<std::string> seeds_without_numeric_examples() { return {kSeed000, kSeed001, kSeed004}; }

namespace {

std::string_view verdict_of(const SeedCheck& c) { return c.matches ? "matches at the printed precision" : "differs"; }

}  // namespace

report::Report seed_examples_report(const std::vector<SeedCheck>& checks) {
  using namespace report;
  const auto differ = static_cast<std::size_t>(std::count_if(checks.begin(), checks.end(), [](const SeedCheck& c) { return !c.matches; }));
  Report r{.name = "seed-examples",
           .title = "The seeds' worked examples, recomputed",
           .summary = fmt::format("Every numeric example printed in the seed articles, recomputed by ddx at 100 digits "
                                  "and rounded once to the seed's printed precision: {} figures, {} match, {} differ.",
                                  checks.size(), checks.size() - differ, differ),
           .sections = {}};
  Section& method = r.section("How the figures are compared");
  method.add(paragraph("Rounding: ", std::string(kSeedRounding), ". A figure that differs is reported as the seed's "
                       "error, with by how much and, where known, why; the seeds are not edited to match."));
  std::string none;
  for (const auto& name : seeds_without_numeric_examples()) none += (none.empty() ? "" : ", ") + name;
  method.add(paragraph("Seeds with no numeric example: ", none, "."));
  // A section per seed file, a table per example.
  std::string source, example;
  Section* section = nullptr;
  Table* table = nullptr;
  for (const SeedCheck& c : checks) {
    if (c.source != source) {
      source = c.source;
      example.clear();
      section = &r.section(source);
    }
    if (c.example != example) {
      example = c.example;
      section->add(Table{.caption = example, .header = {"quantity", "seed", "ddx", "verdict", "note"}, .rows = {}});
      table = &std::get<Table>(section->blocks.back());
    }
    table->rows.push_back(Row{{c.quantity, c.seed_figure, c.ddx_figure, std::string(verdict_of(c)), c.note}, c.matches});
  }
  Section& summary = r.section("Summary");
  summary.add(verdict(true, fmt::format("{} checked, {} match at the printed precision, {} differ (the seed's figures "
                                        "are wrong there; see the notes)",
                                        checks.size(), checks.size() - differ, differ)));
  return r;
}

report::Report seed_examples_report(const DerivationArguments&) { return seed_examples_report(check_seed_examples()); }

nlohmann::ordered_json render_seed_checks_json(const std::vector<SeedCheck>& checks) {
  nlohmann::ordered_json j;
  j["rounding"] = std::string(kSeedRounding);
  j["checks"] = nlohmann::ordered_json::array();
  std::size_t differ = 0;
  for (const auto& c : checks) {
    differ += !c.matches;
    nlohmann::ordered_json row;
    row["source"] = c.source;
    row["example"] = c.example;
    row["quantity"] = c.quantity;
    row["seed_figure"] = c.seed_figure;
    row["ddx_figure"] = c.ddx_figure;
    row["matches"] = c.matches;
    row["verdict"] = std::string(verdict_of(c));
    row["note"] = c.note;
    j["checks"].push_back(std::move(row));
  }
  j["summary"] = {{"checked", checks.size()}, {"match", checks.size() - differ}, {"differ", differ}};
  j["seeds_without_numeric_examples"] = seeds_without_numeric_examples();
  return j;
}

}  // namespace ddx
