// Exact rational numbers: every constant in a ddx graph is one, so symbolic
// work never meets a rounded 0.1.
#pragma once

#include <boost/multiprecision/cpp_int.hpp>
#include <string>
#include <string_view>

namespace ddx {

using Rational = boost::multiprecision::cpp_rational;
using Integer = boost::multiprecision::cpp_int;

// Parses "2", "-0.1", "1e-3", "2.5E+10", "1/3", "-7/2". Throws std::invalid_argument
// with a message naming the text when it is not such a number (NaN and inf are not),
// or has more than 20000 digits or an exponent beyond ±10000.
Rational parse_rational(std::string_view text);

// Exact arithmetic can double a number's digits at each step (x = x * x), so
// the places that compute with constants (folding in ops/, symbolic
// coefficients) refuse results beyond this many decimal digits, and
// parse_rational never produces one.
inline constexpr unsigned kMaxExactDigits = 40000;
// True when the numerator or denominator of r has more than kMaxExactDigits digits
// (measured in bits: more than ⌈kMaxExactDigits·log2(10)⌉).
bool exceeds_exact_limit(const Rational& r);

// Exact text: "3", "-1/3", "0.1" (a terminating decimal is printed as one).
std::string to_string(const Rational& r);
// to_string of each element.
std::vector<std::string> to_strings(const std::vector<Rational>& values);

// LaTeX form: "3", "-\frac{1}{3}", "0.1".
std::string to_latex(const Rational& r);

}  // namespace ddx
