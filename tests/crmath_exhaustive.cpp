// Every float through the correctly rounded float exp and log
// (engine/math/crmath.hpp), in their fast paths' ranges (exp: [−104, 89],
// log: (0, max]; the rest goes to the 50-digit path by range), scalar and
// array forms, against an independent reference: vexp.hpp's and vlog.hpp's
// double exp and log (within 1 ulp of double, 2⁻⁵² relative) rounded to
// float with a test at 2⁻⁴⁹, and the value at 120 digits correctly rounded
// where that test fails. Not part of the test suite (a few minutes for each
// function): run it after changing the float kernels,
//   cmake --build build --target crmath_exhaustive && build/tests/crmath_exhaustive
// It prints one line per function and exits 1 on any difference.
#include <bit>
#include <boost/multiprecision/cpp_bin_float.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <vector>

#include "engine/math/crmath.hpp"
#include "engine/math/vexp.hpp"
#include "engine/math/vlog.hpp"
#include "ulps.hpp"

namespace {

using Big = boost::multiprecision::number<boost::multiprecision::cpp_bin_float<120>>;

// The reference for one float: y (a double within 2⁻⁵² of the truth)
// rounded, or the truth when y·(1 ± 2⁻⁴⁹) round differently.
template <class Truth> float reference(float x, double y, Truth truth) {
  const double margin = std::abs(y) * 0x1p-49;
  const float lo = static_cast<float>(y - margin), hi = static_cast<float>(y + margin);
  return lo == hi ? lo : ddx::correctly_rounded<float>(truth(Big(x)));
}

// Every float x with in_range(x), a million at a time: scalar and array
// forms against the reference. Returns the number of differences.
template <class InRange, class Scalar, class Array, class Double, class Truth>
std::uint64_t check(const char* name, InRange in_range, Scalar scalar, Array array, Double in_double, Truth truth) {
  constexpr std::size_t kBatch = 1 << 20;
  std::vector<float> xs, ys;
  std::uint64_t count = 0, wrong = 0;
  const std::uint64_t slow_before = ddx::cr::slow_path_count();
  const auto run = [&] {
    ys.resize(xs.size());
    array(xs.data(), ys.data(), static_cast<std::int64_t>(xs.size()));
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const float want = reference(xs[i], in_double(static_cast<double>(xs[i])), truth);
      const float one = scalar(xs[i]);
      if (!ddx::same(one, want) || !ddx::same(ys[i], want)) {
        if (++wrong <= 10)
          std::printf("%s(%a) = %a (array %a), correctly rounded %a\n", name, static_cast<double>(xs[i]),
                      static_cast<double>(one), static_cast<double>(ys[i]), static_cast<double>(want));
      }
    }
    count += xs.size();
    xs.clear();
  };
  for (std::uint64_t bits = 0; bits <= 0xffffffffu; ++bits) {
    const float x = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    if (!in_range(x)) continue;
    xs.push_back(x);
    if (xs.size() == kBatch) run();
  }
  run();
  // Each float was computed twice (scalar and array).
  const double slow = static_cast<double>(ddx::cr::slow_path_count() - slow_before) / 2;
  std::printf("%s: %llu floats, %llu wrong, %.0f took the 50-digit path (rate 2^%.1f)\n", name,
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(wrong), slow,
              std::log2(slow / static_cast<double>(count)));
  return wrong;
}

}  // namespace

int main() {
  const std::uint64_t wrong_exp = check(
      "exp", [](float x) { return x >= -104.0f && x <= 89.0f; }, [](float x) { return ddx::cr::exp(x); },
      [](const float* x, float* y, std::int64_t n) { ddx::cr::exp(x, y, n); },
      [](double x) { return ddx::vexp::exp(x); }, [](const Big& x) { return exp(x); });
  const std::uint64_t wrong_log = check(
      "log", [](float x) { return x > 0.0f && x <= std::numeric_limits<float>::max(); },
      [](float x) { return ddx::cr::log(x); }, [](const float* x, float* y, std::int64_t n) { ddx::cr::log(x, y, n); },
      [](double x) { return ddx::vexp::log(x); }, [](const Big& x) { return log(x); });
  return wrong_exp + wrong_log == 0 ? 0 : 1;
}
