#include "derivations/inputs.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ddx {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

namespace {

bool blank(std::string_view s) { return s.find_first_not_of(" \t\n") == std::string_view::npos; }

}  // namespace

std::vector<std::vector<Rational>> parse_rows(std::string_view text, std::string_view option) {
  if (blank(text)) throw InputError(fmt::format("{}: no values given", option));
  std::vector<std::vector<Rational>> rows;
  const auto row_texts = split(text, ';');
  for (std::size_t r = 0; r < row_texts.size(); ++r) {
    std::vector<Rational> row;
    const auto items = split(row_texts[r], ',');
    for (std::size_t k = 0; k < items.size(); ++k) {
      const std::string where =
          row_texts.size() > 1 ? fmt::format("value {} of row {}", k + 1, r + 1) : fmt::format("value {}", k + 1);
      if (blank(items[k])) throw InputError(fmt::format("{}: {} is empty", option, where));
      try {
        row.push_back(parse_rational(items[k]));
      } catch (const std::invalid_argument& e) {
        throw InputError(fmt::format("{}: {}: {}", option, where, e.what()));
      }
    }
    if (!rows.empty() && row.size() != rows.front().size())
      throw InputError(fmt::format("{}: row {} has {} values but row 1 has {}", option, r + 1, row.size(),
                                   rows.front().size()));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<long> parse_classes(std::string_view text, std::string_view option, long n) {
  std::vector<long> classes;
  const auto items = split(text, ';');
  for (std::size_t k = 0; k < items.size(); ++k) {
    Rational r;
    try {
      r = parse_rational(items[k]);
    } catch (const std::invalid_argument& e) {
      throw InputError(fmt::format("{}: {}", option, e.what()));
    }
    if (boost::multiprecision::denominator(r) != 1 || r < 0 || r >= n)
      throw InputError(fmt::format("{}: class '{}' is not an integer from 0 to {} (there are {} classes)", option,
                                   std::string(items[k]), n - 1, n));
    classes.push_back(static_cast<long>(boost::multiprecision::numerator(r)));
  }
  return classes;
}

Rational parse_number(std::string_view text, std::string_view option) {
  try {
    return parse_rational(text);
  } catch (const std::invalid_argument& e) {
    throw InputError(fmt::format("{}: {}", option, e.what()));
  }
}

EquationSplit split_equation(std::string_view text, std::string_view relation, std::string_view what) {
  const bool strict = relation == "==";
  std::vector<EquationSplit> found;
  int depth = 0;
  for (std::size_t k = 0; k < text.size(); ++k) {
    const char c = text[k];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (c != '=' || depth != 0) continue;
    const std::size_t end = std::min(text.find_first_not_of('=', k), text.size());
    const std::size_t run = end - k;
    if (run == 2 || (!strict && run == 1)) {
      // In a claim, "p = softmax(z); ... == ..." defines p first: only "==" relates.
      found.push_back({k, k + run});
    } else if (run > 2) {
      throw InputError(fmt::format("{}: '{}' at column {} is no relation; write == ", what, text.substr(k, run), k + 1));
    }
    k += run - 1;
  }
  if (found.empty())
    throw InputError(fmt::format("{}: expected an equation with {}, e.g. {}", what, strict ? "==" : "=",
                                 strict ? "\"grad(-sum(y*log(softmax(z))), z) == softmax(z) - y\"" : "\"sum(y) = 1\""));
  if (found.size() > 1)
    throw InputError(fmt::format("{}: more than one '{}' (at columns {} and {})", what, relation,
                                 found[0].relation + 1, found[1].relation + 1));
  return found.front();
}

std::string trim(std::string_view text) {
  const std::size_t a = text.find_first_not_of(" \t\r\n");
  if (a == std::string_view::npos) return "";
  return std::string(text.substr(a, text.find_last_not_of(" \t\r\n") - a + 1));
}

std::vector<std::string> split_names(std::string_view text) {
  std::vector<std::string> names;
  for (std::string_view item : split(text, ',')) {
    std::string name;
    for (char c : item)
      if (c != ' ' && c != '\t') name += c;
    if (!name.empty()) names.push_back(name);
  }
  return names;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string s;
  for (const std::string& x : items) {
    if (!s.empty()) s += separator;
    s += x;
  }
  return s;
}

std::string indent(std::string_view text, std::string_view prefix) {
  std::string out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    if (!(end == text.size() && line.empty() && start > 0)) out += (line.empty() ? "" : std::string(prefix)) + std::string(line) + "\n";
    if (end == text.size()) break;
    start = end + 1;
  }
  return out;
}

void check_classes(long classes, long smallest) {
  if (classes < smallest || classes > kMaxClasses)
    throw InputError(fmt::format("--classes: must lie in [{}, {}], got {}", smallest, kMaxClasses, classes));
}

}  // namespace ddx
