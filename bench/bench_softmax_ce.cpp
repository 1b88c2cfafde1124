// The gradient of a batched softmax–cross-entropy, mean over the rows, integer
// targets, three ways:
//   Composed  the graph cross_entropy(softmax(z), onehot(labels)) from
//             primitives and its reverse-mode gradient, built once and
//             evaluated (forward + reverse) by the engine keeping only the
//             roots, in the same buffers every iteration (rerun() with the
//             variables' values in the order of Evaluation::variables());
//   StableComposed  the same with the stable composed graph,
//             stable_softmax_cross_entropy(z, onehot(labels)): the max-shift
//             (its max a constant for differentiation), then z − m −
//             log Σ exp(z − m): one exp per element and one log per row;
//   ComposedFaithful, StableComposedFaithful  the same two graphs evaluated
//             with Math::Faithful: exp and log within 1 ulp, the fused
//             kernels' own, instead of correctly rounded;
//   Fused     fused::cross_entropy_class over the batch, with the gradient
//             (the graph's fused op runs fused::cross_entropy, the same row
//             passes reading a dense target row instead of an index; labels
//             give all three ways, and PyTorch's F.cross_entropy in
//             bench/compare_pytorch.py, the same inputs);
//   Bound     one pass reading z and the labels and writing g with the
//             kernels' vector exp (exp_lanes, a 512-bit vector at a time):
//             what any gradient kernel must at least do.
// Arguments: rows B, classes n. Items processed = B·n, so the reported rate
// is elements per second. bench/run_bench.py prints the table and the ratios.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "engine/eval.hpp"
#include "ops/composites.hpp"
#include "ops/fused_math.hpp"
#include "engine/math/vexp.hpp"

namespace {

template <class T> struct Batch {
  std::int64_t rows, classes;
  std::vector<T> z;
  std::vector<std::int64_t> labels;
  std::vector<T> grad;

  Batch(std::int64_t b, std::int64_t n) : rows(b), classes(n), z(b * n), labels(b), grad(b * n) {
    std::mt19937_64 rng(42);
    std::normal_distribution<double> logit(0.0, 3.0);
    for (T& v : z) v = static_cast<T>(logit(rng));
    for (auto& y : labels) y = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(n));
  }
};

template <class T> void report(benchmark::State& state, const Batch<T>& batch) {
  state.SetItemsProcessed(state.iterations() * batch.rows * batch.classes);
  state.counters["rows"] = static_cast<double>(batch.rows);
  state.counters["classes"] = static_cast<double>(batch.classes);
}

template <class T> void BM_Fused(benchmark::State& state) {
  Batch<T> batch(state.range(0), state.range(1));
  const T scale = T(1) / static_cast<T>(batch.rows);
  for (auto _ : state) {
    const T loss = scale * ddx::fused::cross_entropy_class(batch.z.data(), batch.rows, batch.classes,
                                                           batch.labels.data(), batch.grad.data(), scale);
    benchmark::DoNotOptimize(loss);
    benchmark::DoNotOptimize(batch.grad.data());
    benchmark::ClobberMemory();
  }
  report(state, batch);
}

template <class T> void BM_Bound(benchmark::State& state) {
  using Lanes = ddx::fused::detail::LanesOf<T>;
  constexpr std::int64_t L = ddx::fused::detail::kLanes<T>;
  Batch<T> batch(state.range(0), state.range(1));
  const T scale = T(1) / static_cast<T>(batch.rows);
  for (auto _ : state) {
    for (std::int64_t r = 0; r < batch.rows; ++r) {
      const T* z = batch.z.data() + r * batch.classes;
      T* g = batch.grad.data() + r * batch.classes;
      std::int64_t j = 0;
      for (; j + L <= batch.classes; j += L) {  // the kernels' vector exp, 512 bits at a time
        Lanes v;
        std::memcpy(&v, z + j, sizeof v);
        ddx::vexp::exp_lanes(v);
        v *= scale;
        std::memcpy(g + j, &v, sizeof v);
      }
      for (; j < batch.classes; ++j) g[j] = scale * ddx::vexp::exp(z[j]);
      g[batch.labels[r]] -= scale;
    }
    benchmark::DoNotOptimize(batch.grad.data());
    benchmark::ClobberMemory();
  }
  report(state, batch);
}

template <class T, bool Stable, ddx::Math Math = ddx::Math::CorrectlyRounded> void composed(benchmark::State& state) {
  using namespace ddx;
  Batch<T> batch(state.range(0), state.range(1));
  Graph g;
  const Expr z = variable(g, "z", Shape::matrix(batch.rows, batch.classes));
  const Expr labels = variable(g, "labels", Shape::matrix(batch.rows, 1));
  std::vector<Rational> class_index;
  for (std::int64_t j = 0; j < batch.classes; ++j) class_index.emplace_back(j);
  const Expr classes{g, g.constant(std::move(class_index), Shape::matrix(1, batch.classes))};
  Expr loss;
  try {
    const Expr y = equal(classes, labels);
    loss = Stable ? stable_softmax_cross_entropy(z, y) : cross_entropy(softmax(z), y);
  } catch (const ShapeError& e) {  // the graph's limit on the elements of one value
    state.SkipWithError(e.what());
    return;
  }
  const Gradient gradient = grad(loss, {z});
  const NodeId roots[] = {loss.id(), gradient.gradients[0]};

  Bindings<T> bindings;
  bindings["z"] = batch.z;
  auto& y = bindings["labels"];
  for (std::int64_t label : batch.labels) y.push_back(static_cast<T>(label));
  Evaluation<T> ev(g, roots, bindings, Keep::Roots, Math);
  std::vector<std::span<const T>> values;  // in the order rerun(values) takes them
  for (const std::string& name : ev.variables()) values.emplace_back(bindings.at(name));
  for (auto _ : state) {
    ev.rerun(values);
    benchmark::DoNotOptimize(ev.value(roots[1]).data());
    benchmark::ClobberMemory();
  }
  report(state, batch);
  state.counters["nodes"] = static_cast<double>(ev.order().size());
  state.counters["buffers"] = static_cast<double>(ev.buffer_count());
}

template <class T> void BM_Composed(benchmark::State& state) { composed<T, false>(state); }
template <class T> void BM_StableComposed(benchmark::State& state) { composed<T, true>(state); }
template <class T> void BM_ComposedFaithful(benchmark::State& state) { composed<T, false, ddx::Math::Faithful>(state); }
template <class T> void BM_StableComposedFaithful(benchmark::State& state) {
  composed<T, true, ddx::Math::Faithful>(state);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"B", "n"});
  for (auto [rows, classes] : {std::pair{1, 10}, {64, 10}, {256, 1000}, {1024, 32000}}) b->Args({rows, classes});
  b->Unit(benchmark::kMicrosecond);  // CPU time: the machine may be shared
}

BENCHMARK_TEMPLATE(BM_Bound, float)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_Bound, double)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_Fused, float)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_Fused, double)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_Composed, float)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_Composed, double)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_StableComposed, float)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_StableComposed, double)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_ComposedFaithful, float)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_ComposedFaithful, double)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_StableComposedFaithful, float)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_StableComposedFaithful, double)->Apply(shapes);

}  // namespace
