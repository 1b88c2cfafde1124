// The scalar types ddx evaluates at, chosen at run time by name.
#pragma once

#include <boost/multiprecision/cpp_bin_float.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "engine/rational.hpp"

namespace ddx {

using Float50 = boost::multiprecision::cpp_bin_float_50;
using Float100 = boost::multiprecision::cpp_bin_float_100;

// Every scalar type a kernel is instantiated for, in the order of `Precision`.
using ScalarTypes = std::tuple<float, double, long double, Float50, Float100>;

enum class Precision { Float, Double, LongDouble, Digits50, Digits100 };

// "float", "double", "long-double", "50", "100".
std::string_view name_of(Precision p);
// For messages: "float", "double", "long double", "50-digit", "100-digit".
std::string_view describe(Precision p);
// Inverse of name_of; throws std::invalid_argument listing the valid names.
Precision parse_precision(std::string_view name);

template <class T> constexpr Precision precision_of() {
  if constexpr (std::is_same_v<T, float>) return Precision::Float;
  else if constexpr (std::is_same_v<T, double>) return Precision::Double;
  else if constexpr (std::is_same_v<T, long double>) return Precision::LongDouble;
  else if constexpr (std::is_same_v<T, Float50>) return Precision::Digits50;
  else return Precision::Digits100;
}

// Calls f(std::type_identity<T>{}) with T the scalar type of precision p.
template <class F> decltype(auto) with_scalar(Precision p, F&& f) {
  switch (p) {
    case Precision::Float: return f(std::type_identity<float>{});
    case Precision::Double: return f(std::type_identity<double>{});
    case Precision::LongDouble: return f(std::type_identity<long double>{});
    case Precision::Digits50: return f(std::type_identity<Float50>{});
    default: return f(std::type_identity<Float100>{});
  }
}

template <class T> bool is_finite(const T& x) {
  using std::isfinite;
  using boost::multiprecision::isfinite;
  return isfinite(x);
}

// The exact value of a finite scalar as a rational.
template <class T> Rational to_rational(const T& x);

// The exact rational r correctly rounded to T (to nearest, ties to even);
// ±inf beyond T's range. Boost rounds the exact quotient once in the normal
// range (going through a wider float would round twice); below it and at its
// edge, where its conversion can land one step off, the nearer neighbour is
// picked by exact comparison (a tie goes to the even one).
template <class T> T to_scalar(const Rational& r) {
  const T c = r.template convert_to<T>();
  if constexpr (std::is_floating_point_v<T>) {
    if (!(std::abs(c) <= std::numeric_limits<T>::min())) return c;
    // Subnormals are integer multiples of the smallest one: even or odd.
    const auto even = [](T x) { return std::fmod(x / std::numeric_limits<T>::denorm_min(), T(2)) == 0; };
    T best = c;
    Rational best_distance = boost::multiprecision::abs(to_rational(c) - r);
    for (T neighbour : {std::nextafter(c, T(-1)), std::nextafter(c, T(1))}) {
      const Rational d = boost::multiprecision::abs(to_rational(neighbour) - r);
      if (d < best_distance || (d == best_distance && even(neighbour))) best = neighbour, best_distance = d;
    }
    return best;
  }
  return c;
}

// How far apart two values are, as ddx's checks measure it: |x − y| /
// max(1, |x|, |y|), relative for large values and absolute near 0 (where
// gradient components often are). NaN if either is.
template <class T> T relative_difference(const T& x, const T& y) {
  using std::abs;
  return T(abs(T(x - y)) / std::max({T(1), T(abs(x)), T(abs(y))}));
}

// Decimal text with enough significant digits to read back the same value:
// shortest round trip for float and double, max_digits10 for the others.
// Non-finite values print as "inf", "-inf", "nan".
template <class T> std::string format_scalar(const T& x);
// format_scalar of each value.
template <class T> std::vector<std::string> format_scalars(const std::vector<T>& values) {
  std::vector<std::string> out;
  out.reserve(values.size());
  for (const T& x : values) out.push_back(format_scalar(x));
  return out;
}

}  // namespace ddx
