#include "engine/eval.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <type_traits>

#include "engine/op.hpp"
#include "engine/print.hpp"

namespace ddx {

namespace {

// Index of the first non-finite element of out[0, n), or −1. For float and
// double a branch-free scan finds whether there is one first (x − x is 0
// exactly for finite x), so the common case is one vectorized pass.
template <class T> std::int64_t first_nonfinite(const T* out, std::int64_t n) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    unsigned bad = 0;
    for (std::int64_t k = 0; k < n; ++k) bad |= static_cast<unsigned>(out[k] - out[k] != T(0));
    if (!bad) return -1;
  }
  for (std::int64_t k = 0; k < n; ++k)
    if (!is_finite(out[k])) return k;
  return -1;
}

}  // namespace

template <class T>
Evaluation<T>::Evaluation(const Graph& g, std::span<const NodeId> roots, const Bindings<T>& bindings, Keep keep)
    : graph_(&g), slot_(g.size(), -1), visible_(g.size(), keep == Keep::All), order_(topological_order(g, roots)) {
  if (keep == Keep::All) {
    data_.resize(order_.size());
    for (std::size_t p = 0; p < order_.size(); ++p) {
      slot_[order_[p]] = static_cast<std::int32_t>(p);
      data_[p].resize(static_cast<std::size_t>(g.shape(order_[p]).size()));
    }
  } else {
    // A value's buffer goes back to the pool once its last user has run. Roots
    // keep theirs (value() reads them) and so do constants (converted once).
    std::vector<std::size_t> last_use(g.size(), 0);
    for (std::size_t p = 0; p < order_.size(); ++p)
      for (NodeId in : g.node(order_[p]).inputs()) last_use[in] = p;
    std::vector<bool> pinned(g.size(), false);
    for (NodeId r : roots) pinned[r] = visible_[r] = true;
    std::vector<std::int64_t> need;  // per buffer: the largest value it holds
    std::vector<std::int32_t> pool;  // free buffers
    for (std::size_t p = 0; p < order_.size(); ++p) {
      const NodeId id = order_[p];
      const Node& n = g.node(id);
      const std::int64_t size = n.shape.size();
      if (n.op == kConstOp) pinned[id] = true;
      // The smallest free buffer that fits, else the largest free one (grown).
      const auto better = [&](std::int32_t a, std::int32_t b) {
        const bool a_fits = need[a] >= size, b_fits = need[b] >= size;
        if (a_fits != b_fits) return a_fits;
        return a_fits ? need[a] < need[b] : need[a] > need[b];
      };
      const auto best = pinned[id] ? pool.end() : std::min_element(pool.begin(), pool.end(), better);
      std::int32_t buffer;
      if (best != pool.end()) {
        buffer = *best;
        pool.erase(best);
        need[buffer] = std::max(need[buffer], size);
      } else {
        buffer = static_cast<std::int32_t>(need.size());
        need.push_back(size);
      }
      slot_[id] = buffer;
      for (NodeId in : n.inputs())
        if (!pinned[in] && last_use[in] == p && slot_[in] >= 0) {
          if (std::find(pool.begin(), pool.end(), slot_[in]) == pool.end()) pool.push_back(slot_[in]);
        }
    }
    data_.resize(need.size());
    for (std::size_t b = 0; b < need.size(); ++b) data_[b].resize(static_cast<std::size_t>(need[b]));
  }
  run(bindings, true);
}

template <class T> void Evaluation<T>::rerun(const Bindings<T>& bindings) { run(bindings, false); }

template <class T> void Evaluation<T>::run(const Bindings<T>& bindings, bool first) {
  const Graph& g = *graph_;
  nonfinite_.reset();
  std::vector<TensorView<T>> views;
  for (NodeId id : order_) {
    const Node& n = g.node(id);
    T* out = data_[slot_[id]].data();
    const std::int64_t size = n.shape.size();
    if (n.op == kVarOp) {
      const std::string& name = g.attr(id).name;
      auto it = bindings.find(name);
      if (it == bindings.end()) throw BindingError(fmt::format("no value given for variable '{}'", name));
      if (it->second.size() != static_cast<std::size_t>(size))
        throw BindingError(fmt::format("variable '{}' has shape {} ({} values) but {} values were given", name,
                                       to_string(n.shape), size, it->second.size()));
      std::copy(it->second.begin(), it->second.end(), out);
    } else if (n.op == kConstOp) {
      if (first) {  // a constant's buffer is its own, and its value cannot change
        const auto& values = g.attr(id).values;
        for (std::int64_t k = 0; k < size; ++k) out[k] = to_scalar<T>(values[k]);
      }
    } else {
      views.clear();
      for (NodeId in : n.inputs()) views.push_back({data_[slot_[in]].data(), g.shape(in)});
      op_info(n.op).template kernel<T>()(g, id, views, out);
    }
    if (!nonfinite_) {
      const std::int64_t k = first_nonfinite(out, size);
      if (k >= 0) nonfinite_ = NonFinite{id, k, format_scalar(out[k])};
    }
  }
}

template <class T> const std::vector<T>& Evaluation<T>::value(NodeId id) const {
  if (!has(id)) throw std::out_of_range(fmt::format("node %{} was not evaluated", id));
  return data_[slot_[id]];
}

template <class T>
std::string explain_nonfinite(const Graph& g, const Evaluation<T>& ev, const NonFinite& bad) {
  const Node& n = g.node(bad.node);
  if (n.op == kVarOp || n.op == kConstOp) {
    const std::string what = n.op == kVarOp ? fmt::format("variable {}", g.attr(bad.node).name) : "a constant";
    return fmt::format("element {} of {} is beyond the range of {} precision (it rounds to {})", bad.element, what,
                       describe(precision_of<T>()), bad.value);
  }
  std::string inputs;
  for (NodeId in : n.inputs()) {
    if (!ev.has(in)) continue;  // not kept (Keep::Roots)
    const auto& v = ev.value(in);
    // The input element that fed the bad output element (inputs may broadcast).
    const Shape& s = g.shape(in);
    const std::int64_t row = n.shape.rank == 2 ? bad.element / n.shape.cols() : 0;
    const std::int64_t col = bad.element % n.shape.cols();
    const std::int64_t k = (s.rows() == 1 ? 0 : row) * s.cols() + (s.cols() == 1 ? 0 : col);
    inputs += fmt::format("{}{} = {}", inputs.empty() ? "" : ", ", node_ref(g, in), format_scalar(v[k]));
  }
  return fmt::format("at {} precision, node {} = {} produced {} at element {} (its inputs there: {})",
                     describe(precision_of<T>()), node_ref(g, bad.node), node_call(g, bad.node), bad.value,
                     bad.element, inputs.empty() ? "none" : inputs);
}

#define DDX_INSTANTIATE(T)  \
  template class Evaluation<T>; \
  template std::string explain_nonfinite<T>(const Graph&, const Evaluation<T>&, const NonFinite&);
DDX_INSTANTIATE(float)
DDX_INSTANTIATE(double)
DDX_INSTANTIATE(long double)
DDX_INSTANTIATE(Float50)
DDX_INSTANTIATE(Float100)
#undef DDX_INSTANTIATE

FormattedValues evaluate_formatted(const Graph& g, const std::vector<NodeId>& roots, const ExactBindings& bindings,
                                   Precision precision) {
  return with_scalar(precision, [&]<class T>(std::type_identity<T>) {
    const Evaluation<T> ev(g, roots, round_bindings<T>(bindings));
    FormattedValues out;
    for (NodeId id : roots) out.of[id] = format_scalars(ev.value(id));
    if (const auto& bad = ev.nonfinite()) out.nonfinite = explain_nonfinite(g, ev, *bad);
    return out;
  });
}

}  // namespace ddx
