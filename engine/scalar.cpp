#include "engine/scalar.hpp"

#include <fmt/format.h>
#include <stdexcept>

namespace ddx {

std::string_view name_of(Precision p) {
  switch (p) {
    case Precision::Float: return "float";
    case Precision::Double: return "double";
    case Precision::LongDouble: return "long-double";
    case Precision::Digits50: return "50";
    default: return "100";
  }
}

std::string_view describe(Precision p) {
  switch (p) {
    case Precision::Float: return "float";
    case Precision::Double: return "double";
    case Precision::LongDouble: return "long double";
    case Precision::Digits50: return "50-digit";
    default: return "100-digit";
  }
}

Precision parse_precision(std::string_view name) {
  for (Precision p : {Precision::Float, Precision::Double, Precision::LongDouble,
                      Precision::Digits50, Precision::Digits100})
    if (name == name_of(p)) return p;
  throw std::invalid_argument(
      fmt::format("unknown precision '{}': expected float, double, long-double, 50 or 100", name));
}

template <class T> std::string format_scalar(const T& x) {
  if (!is_finite(x)) {
    if (x != x) return "nan";
    return x < 0 ? "-inf" : "inf";
  }
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    return fmt::format("{}", x);
  } else if constexpr (std::is_same_v<T, long double>) {
    return fmt::format("{:.{}g}", x, std::numeric_limits<long double>::max_digits10);
  } else {
    // max_digits10 significant digits read back as the same value.
    return x.str(std::numeric_limits<T>::max_digits10, std::ios_base::fmtflags(0));
  }
}

template <class T> Rational to_rational(const T& x) {
  // Every finite binary float is m * 2^e exactly.
  int e = 0;
  using std::frexp;
  using boost::multiprecision::frexp;
  using std::ldexp;
  using boost::multiprecision::ldexp;
  T m = frexp(x, &e);
  constexpr int digits = std::numeric_limits<T>::digits;
  T scaled = ldexp(m, digits);  // an integer now
  Integer mant;
  if constexpr (std::is_floating_point_v<T>) {
    mant = Integer(static_cast<long long>(0));
    // Split long double mantissas (64 bits) into two halves to stay exact.
    const T hi = std::floor(scaled / T(4294967296.0));
    const T lo = scaled - hi * T(4294967296.0);
    mant = Integer(static_cast<long long>(hi)) * Integer(4294967296LL) + Integer(static_cast<long long>(lo));
  } else {
    mant = scaled.template convert_to<Integer>();
  }
  const int shift = e - digits;
  Integer pow2 = 1;
  pow2 <<= (shift >= 0 ? shift : -shift);
  return shift >= 0 ? Rational(mant * pow2) : Rational(mant, pow2);
}

#define DDX_INSTANTIATE(T)                                \
  template std::string format_scalar<T>(const T&);        \
  template Rational to_rational<T>(const T&);
DDX_INSTANTIATE(float)
DDX_INSTANTIATE(double)
DDX_INSTANTIATE(long double)
DDX_INSTANTIATE(Float50)
DDX_INSTANTIATE(Float100)
#undef DDX_INSTANTIATE

}  // namespace ddx
