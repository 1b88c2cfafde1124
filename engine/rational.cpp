#include "engine/rational.hpp"

#include <cctype>
#include <fmt/format.h>
#include <stdexcept>

namespace ddx {
namespace {

Integer pow10(long e) { return boost::multiprecision::pow(Integer(10), static_cast<unsigned>(e)); }

// More digits than any precision ddx offers can use (and reading them costs
// time quadratic in their count).
constexpr long kMaxDigits = 20000;

[[noreturn]] void bad(std::string_view text, std::string_view why) {
  // A long text is quoted by its ends, so the message stays short.
  const std::string quoted = text.size() <= 64 ? std::string(text)
                                                : fmt::format("{}...{}", text.substr(0, 30), text.substr(text.size() - 30));
  throw std::invalid_argument(fmt::format("'{}' is not a number: {}", quoted, why));
}

void count_digit(std::string_view whole, long& count) {
  if (++count > kMaxDigits) bad(whole, fmt::format("more than {} digits", kMaxDigits));
}

// Parses an optionally signed decimal with optional fraction and exponent.
Rational parse_decimal(std::string_view whole, std::string_view s) {
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  Integer digits = 0;
  long scale = 0;  // value = digits * 10^-scale
  bool any = false;
  long count = 0;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, any = true) {
    count_digit(whole, count);
    digits = digits * 10 + (s[i] - '0');
  }
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, any = true) {
      count_digit(whole, count);
      digits = digits * 10 + (s[i] - '0');
      ++scale;
    }
  }
  if (!any) bad(whole, "expected digits");
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    long e = 0;
    bool edigits = false;
    for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, edigits = true) {
      e = e * 10 + (s[i] - '0');
      // Exponents beyond this are not numbers any precision ddx offers can hold.
      if (e > 10000) bad(whole, "the exponent is beyond ±10000");
    }
    if (!edigits) bad(whole, "expected digits after the exponent marker");
    scale += eneg ? e : -e;
  }
  if (i != s.size()) bad(whole, fmt::format("unexpected '{}' at column {}", s[i], i + 1));
  Rational r = scale >= 0 ? Rational(digits, pow10(scale)) : Rational(digits * pow10(-scale));
  return negative ? Rational(-r) : r;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

Rational parse_rational(std::string_view text) {
  const std::string_view s = trim(text);
  if (s.empty()) bad(text, "empty");
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view word : {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
    if (lower == word) bad(text, "NaN and infinity are not accepted; give a finite number");
  const auto slash = s.find('/');
  if (slash == std::string_view::npos) return parse_decimal(text, s);
  const Rational num = parse_decimal(text, trim(s.substr(0, slash)));
  const Rational den = parse_decimal(text, trim(s.substr(slash + 1)));
  if (den == 0) bad(text, "division by zero");
  return num / den;
}

bool exceeds_exact_limit(const Rational& r) {
  constexpr unsigned kMaxBits = 132878;  // ⌈40000·log2(10)⌉
  static_assert(kMaxExactDigits == 40000);
  auto bits = [](const Integer& n) { return n == 0 ? 0u : static_cast<unsigned>(msb(abs(n))) + 1; };
  return bits(numerator(r)) > kMaxBits || bits(denominator(r)) > kMaxBits;
}

std::string to_string(const Rational& r) {
  const Integer num = boost::multiprecision::numerator(r);
  Integer den = boost::multiprecision::denominator(r);
  if (den == 1) return num.str();
  // Terminating decimal when den = 2^a 5^b with a, b <= 30. Only that many
  // factors are divided out: a 10000-digit denominator must not cost 10000 divisions.
  const long twos = static_cast<long>(lsb(den));
  Integer d = den >> twos;
  long fives = 0;
  while (fives <= 30 && d % 5 == 0) d /= 5, ++fives;
  if (d == 1 && std::max(twos, fives) <= 30) {
    const long places = std::max(twos, fives);
    const Integer scaled = boost::multiprecision::abs(num) * pow10(places) / den;
    std::string digits = scaled.str();
    if (digits.size() <= static_cast<std::size_t>(places))
      digits.insert(0, places + 1 - digits.size(), '0');
    digits.insert(digits.size() - places, ".");
    return (num < 0 ? "-" : "") + digits;
  }
  return num.str() + "/" + den.str();
}

std::vector<std::string> to_strings(const std::vector<Rational>& values) {
  std::vector<std::string> out;
  out.reserve(values.size());
  for (const Rational& r : values) out.push_back(to_string(r));
  return out;
}

std::string to_latex(const Rational& r) {
  const std::string s = to_string(r);
  const auto slash = s.find('/');
  if (slash == std::string::npos) return s;
  const bool negative = s[0] == '-';
  return fmt::format("{}\\frac{{{}}}{{{}}}", negative ? "-" : "",
                     s.substr(negative ? 1 : 0, slash - (negative ? 1 : 0)), s.substr(slash + 1));
}

}  // namespace ddx
