// How long the fixed-n prover takes to prove every component of
// ∂L/∂z = p − y, from building the graph to the last decision.
// Run through bench/prover_table.py, which prints the table with GiNaC beside it.
#include <benchmark/benchmark.h>

#include "derivations/identities.hpp"

namespace {

void BM_ProveSoftmaxCe(benchmark::State& state) {
  ddx::ProveOptions options;
  options.classes = state.range(0);
  options.check_steps = false;  // the proof itself; the numeric checks of the trace are extra
  for (auto _ : state) {
    const ddx::Proof proof = ddx::prove_identity("softmax-ce", options);
    if (!proof.proven) state.SkipWithError("not proven");
    benchmark::DoNotOptimize(proof.proven);
  }
  state.counters["n"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_ProveSoftmaxCe)->Arg(10)->Arg(100)->Arg(256)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
