#include "engine/symbolic/coefficient.hpp"

#include <fmt/format.h>

#include <limits>
#include <stdexcept>

namespace ddx::sym {
namespace {

using u128 = UInt128;

u128 magnitude(Int128 x) { return x < 0 ? static_cast<u128>(-(x + 1)) + 1 : static_cast<u128>(x); }

u128 gcd(u128 a, u128 b) {
  while (b != 0) {
    const u128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

bool fits(Int128 x) {
  return x >= std::numeric_limits<std::int64_t>::min() + 1 && x <= std::numeric_limits<std::int64_t>::max();
}

Integer to_integer(Int128 x) {
  const bool negative = x < 0;
  u128 m = magnitude(x);
  Integer out = static_cast<std::uint64_t>(m >> 64);
  out <<= 64;
  out += static_cast<std::uint64_t>(m);
  return negative ? Integer(-out) : out;
}

}  // namespace

Coefficient Coefficient::from_wide(Int128 num, Int128 den) {
  if (den < 0) num = -num, den = -den;
  const u128 g = gcd(magnitude(num), static_cast<u128>(den));
  if (g > 1) num /= static_cast<Int128>(g), den /= static_cast<Int128>(g);
  Coefficient c;
  if (fits(num) && fits(den)) {
    c.num_ = static_cast<std::int64_t>(num);
    c.den_ = static_cast<std::int64_t>(den);
  } else {
    c.big_ = std::make_shared<const Rational>(to_integer(num), to_integer(den));
  }
  return c;
}

Coefficient::Coefficient(const Rational& r) {
  const Integer& n = boost::multiprecision::numerator(r);
  const Integer& d = boost::multiprecision::denominator(r);
  const Integer limit = std::numeric_limits<std::int64_t>::max();
  if (boost::multiprecision::abs(n) <= limit && d <= limit) {
    num_ = n.convert_to<std::int64_t>();
    den_ = d.convert_to<std::int64_t>();
  } else {
    // x^k of a constant squares its coefficient k times over: refuse before it takes minutes.
    if (exceeds_exact_limit(r))
      throw std::invalid_argument(
          fmt::format("symbolic: an exact coefficient has more than {} digits, beyond what ddx simplifies",
                      kMaxExactDigits));
    big_ = std::make_shared<const Rational>(r);
  }
}

Rational Coefficient::rational() const { return big_ ? *big_ : Rational(num_, den_); }
Integer Coefficient::numerator() const { return big_ ? Integer(boost::multiprecision::numerator(*big_)) : Integer(num_); }
Integer Coefficient::denominator() const {
  return big_ ? Integer(boost::multiprecision::denominator(*big_)) : Integer(den_);
}

int Coefficient::sign() const {
  if (big_) return *big_ < 0 ? -1 : (*big_ > 0 ? 1 : 0);
  return num_ < 0 ? -1 : (num_ > 0 ? 1 : 0);
}

std::size_t Coefficient::hash() const {
  // A value has one form (small when it fits), so equal values hash equally.
  if (big_) return std::hash<Rational>{}(*big_);
  return std::hash<std::int64_t>{}(num_) * 31 + std::hash<std::int64_t>{}(den_);
}

Coefficient operator+(const Coefficient& a, const Coefficient& b) {
  if (a.big_ || b.big_) return Coefficient(Rational(a.rational() + b.rational()));
  if (a.den_ == 1 && b.den_ == 1) {
    std::int64_t s;
    if (!__builtin_add_overflow(a.num_, b.num_, &s) && s != std::numeric_limits<std::int64_t>::min()) return s;
  }
  return Coefficient::from_wide(static_cast<Int128>(a.num_) * b.den_ + static_cast<Int128>(b.num_) * a.den_,
                                static_cast<Int128>(a.den_) * b.den_);
}

Coefficient operator*(const Coefficient& a, const Coefficient& b) {
  if (a.big_ || b.big_) return Coefficient(Rational(a.rational() * b.rational()));
  if (a.den_ == 1 && b.den_ == 1) {
    std::int64_t p;
    if (!__builtin_mul_overflow(a.num_, b.num_, &p) && p != std::numeric_limits<std::int64_t>::min()) return p;
  }
  return Coefficient::from_wide(static_cast<Int128>(a.num_) * b.num_, static_cast<Int128>(a.den_) * b.den_);
}

Coefficient operator/(const Coefficient& a, const Coefficient& b) {
  if (b.sign() == 0) throw std::domain_error("division by zero");
  if (a.big_ || b.big_) return Coefficient(Rational(a.rational() / b.rational()));
  return Coefficient::from_wide(static_cast<Int128>(a.num_) * b.den_, static_cast<Int128>(a.den_) * b.num_);
}

Coefficient operator-(const Coefficient& a) {
  if (a.big_) return Coefficient(Rational(-*a.big_));
  Coefficient c = a;
  c.num_ = -a.num_;  // num_ > int64 min, so this cannot overflow
  return c;
}

bool operator==(const Coefficient& a, const Coefficient& b) {
  if (a.big_ || b.big_) return a.big_ && b.big_ && *a.big_ == *b.big_;
  return a.num_ == b.num_ && a.den_ == b.den_;
}

bool operator<(const Coefficient& a, const Coefficient& b) {
  if (a.big_ || b.big_) return a.rational() < b.rational();
  return static_cast<Int128>(a.num_) * b.den_ < static_cast<Int128>(b.num_) * a.den_;
}

std::string to_string(const Coefficient& c) { return ddx::to_string(c.rational()); }
std::string to_latex(const Coefficient& c) { return ddx::to_latex(c.rational()); }

}  // namespace ddx::sym
