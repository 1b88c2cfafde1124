#include "engine/eval.hpp"

#include <fmt/format.h>

#include "engine/op.hpp"
#include "engine/print.hpp"

namespace ddx {

template <class T>
Evaluation<T>::Evaluation(const Graph& g, std::span<const NodeId> roots, const Bindings<T>& bindings)
    : slot_(g.size(), -1), order_(topological_order(g, roots)) {
  data_.reserve(order_.size());
  std::vector<TensorView<T>> views;
  for (NodeId id : order_) {
    const Node& n = g.node(id);
    slot_[id] = static_cast<std::int32_t>(data_.size());
    auto& out = data_.emplace_back(static_cast<std::size_t>(n.shape.size()));
    if (n.op == kVarOp) {
      const std::string& name = g.attr(id).name;
      auto it = bindings.find(name);
      if (it == bindings.end()) throw BindingError(fmt::format("no value given for variable '{}'", name));
      if (it->second.size() != out.size())
        throw BindingError(fmt::format("variable '{}' has shape {} ({} values) but {} values were given", name,
                                       to_string(n.shape), out.size(), it->second.size()));
      out = it->second;
    } else if (n.op == kConstOp) {
      const auto& values = g.attr(id).values;
      for (std::size_t k = 0; k < out.size(); ++k) out[k] = to_scalar<T>(values[k]);
    } else {
      views.clear();
      for (NodeId in : n.inputs()) views.push_back({data_[slot_[in]].data(), g.shape(in)});
      op_info(n.op).template kernel<T>()(g, id, views, out.data());
    }
    if (!nonfinite_) {
      for (std::size_t k = 0; k < out.size(); ++k) {
        if (!is_finite(out[k])) {
          nonfinite_ = NonFinite{id, static_cast<std::int64_t>(k), format_scalar(out[k])};
          break;
        }
      }
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

}  // namespace ddx
