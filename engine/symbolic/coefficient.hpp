// Exact rational coefficients that are fast when small: a fraction of two
// 64-bit integers in lowest terms, falling back to an arbitrary-precision
// rational only when a result does not fit. Canonical symbolic forms have
// millions of coefficients, nearly all ±1 or small; a general rational's
// allocation and gcd on each of them would dominate the prover's time.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/rational.hpp"

namespace ddx::sym {

// GCC and Clang's 128-bit integers hold any product of two 64-bit ones.
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

class Coefficient {
 public:
  Coefficient() = default;
  Coefficient(std::int64_t v) : num_(v) {}  // NOLINT: integers convert implicitly
  Coefficient(int v) : num_(v) {}           // NOLINT
  Coefficient(const Rational& r);  // NOLINT: exact, so implicit

  Rational rational() const;
  Integer numerator() const;
  Integer denominator() const;
  bool is_small() const { return !big_; }
  std::int64_t small_numerator() const { return num_; }      // when is_small()
  std::int64_t small_denominator() const { return den_; }
  bool is_integer() const { return big_ ? boost::multiprecision::denominator(*big_) == 1 : den_ == 1; }
  int sign() const;
  std::size_t hash() const;

  friend Coefficient operator+(const Coefficient& a, const Coefficient& b);
  friend Coefficient operator-(const Coefficient& a, const Coefficient& b) { return a + (-b); }
  friend Coefficient operator*(const Coefficient& a, const Coefficient& b);
  friend Coefficient operator/(const Coefficient& a, const Coefficient& b);
  friend Coefficient operator-(const Coefficient& a);
  Coefficient& operator+=(const Coefficient& b) { return *this = *this + b; }
  Coefficient& operator*=(const Coefficient& b) { return *this = *this * b; }

  friend bool operator==(const Coefficient& a, const Coefficient& b);
  friend bool operator<(const Coefficient& a, const Coefficient& b);
  friend bool operator>(const Coefficient& a, const Coefficient& b) { return b < a; }
  friend bool operator<=(const Coefficient& a, const Coefficient& b) { return !(b < a); }

 private:
  static Coefficient from_wide(Int128 num, Int128 den);  // reduces; den != 0

  std::int64_t num_ = 0, den_ = 1;         // when small: den_ > 0, gcd(num_, den_) = 1
  std::shared_ptr<const Rational> big_;   // set exactly when the value does not fit in small form
};

std::string to_string(const Coefficient& c);
std::string to_latex(const Coefficient& c);

}  // namespace ddx::sym
