// The same proof with GiNaC, for comparison: the gradient of the cross-entropy
// after softmax by symbolic differentiation, each component minus (p − y)
// with y_n = 1 − Σ_{j<n} y_j substituted, brought to normal form and tested
// for zero. Usage: ginac_softmax_ce N; prints the seconds taken.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ginac/ginac.h>
#include <vector>

int main(int argc, char** argv) {
  using namespace GiNaC;
  const int n = argc > 1 ? std::atoi(argv[1]) : 10;
  const auto start = std::chrono::steady_clock::now();
  std::vector<symbol> z, y;
  for (int k = 0; k < n; ++k) {
    z.emplace_back("z" + std::to_string(k));
    y.emplace_back("y" + std::to_string(k));
  }
  ex S = 0;
  for (int k = 0; k < n; ++k) S += exp(z[k]);
  ex L = 0;
  for (int j = 0; j < n; ++j) L -= y[j] * log(exp(z[j]) / S);
  ex rest = 1;
  for (int j = 0; j + 1 < n; ++j) rest -= y[j];
  for (int i = 0; i < n; ++i) {
    ex r = L.diff(z[i]) - (exp(z[i]) / S - y[i]);
    r = r.subs(y[n - 1] == rest);
    if (!normal(r).is_zero()) {
      std::printf("component %d not zero\n", i);
      return 1;
    }
  }
  std::printf("%.6f\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}
