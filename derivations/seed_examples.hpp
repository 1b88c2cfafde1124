// `ddx derive seed-examples`: every numeric example the seed articles
// (../shared/seeds/) print, recomputed by the engine.
//
// The examples are data: a table of inputs (logits, targets, temperature) and
// the figures a seed prints for them, each stored exactly as printed ("0.659",
// "65.9%", "2.7 × 10^43"). One generic check builds each example's graph from
// ops/ (softmax, cross_entropy, grad, ...), evaluates it at 100 digits (or at
// float/double for the overflow examples, to show what those types really
// do), rounds the engine's value to the printed precision and style of the
// seed's figure, and compares.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "derivations/report.hpp"

#include "engine/scalar.hpp"

namespace ddx {

struct SeedCheck {
  std::string source;       // the seed's file name
  std::string example;      // a short description of the example and its inputs
  std::string quantity;     // what the figure is, e.g. "p[0]", "∂L/∂z[2]", "Σ exp(z)"
  std::string seed_figure;  // as the seed prints it
  std::string ddx_figure;   // the engine's value, rounded to the seed's printed precision and style
  bool matches = false;     // seed_figure == ddx_figure
  std::string note;         // when it differs: by how much and, where known, why
};

// How ddx rounds: the 100-digit value is rounded once to the printed
// precision, ties to even (no figure of the seeds falls on a tie).
inline constexpr std::string_view kSeedRounding =
    "100-digit engine values rounded once to the seed's printed precision, ties to even";

// Every check, in the order the seeds print them.
std::vector<SeedCheck> check_seed_examples();

// The seed files that print no numeric example (derivations and prose only).
std::vector<std::string> seeds_without_numeric_examples();

// `value` written in the style of `seed_figure`: the same number of decimals
// ("0.66", "-0.90", "461"), a percentage with the same decimals ("65.9%"), or
// the same significant digits in "m × 10^e" form ("2.7 × 10^43"). Rounds
// |value| half to even. Throws std::invalid_argument for a figure of another style.
std::string format_like_seed_figure(std::string_view seed_figure, const Float100& value);

// The checks as a report: a table per seed file (example, quantity, the
// seed's figure, ddx's, verdict, note) and a summary
// ("N checked, M match at the printed precision, K differ").
report::Report seed_examples_report(const std::vector<SeedCheck>& checks);
// {"rounding", "checks": [{source, example, quantity, seed_figure, ddx_figure,
//  matches, verdict, note}], "summary": {checked, match, differ}, "seeds_without_numeric_examples"}.
nlohmann::ordered_json render_seed_checks_json(const std::vector<SeedCheck>& checks);

}  // namespace ddx
