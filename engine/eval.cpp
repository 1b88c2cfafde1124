#include "engine/eval.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>
#include <type_traits>

#include "engine/op.hpp"
#include "engine/print.hpp"

namespace ddx {

namespace {

// Index of the first non-finite element of out[0, n), or −1.
template <class T> std::int64_t first_nonfinite(const T* out, std::int64_t n) {
  for (std::int64_t k = 0; k < n; ++k)
    if (!is_finite(out[k])) return k;
  return -1;
}

}  // namespace

// Whether any value of a run is not finite, found cheaply at float and
// double: every value is folded into a few independent lanes (x − x is 0
// for a finite x and NaN otherwise), with no reduction per node. A run whose
// lanes end up NaN runs again checking node by node (non-finite values are
// the rare case).
template <class T> class FiniteLanes {
 public:
  static constexpr bool kUsed = std::is_same_v<T, float> || std::is_same_v<T, double>;

  void fold(const T* x, std::int64_t n) {
    constexpr auto L = static_cast<std::int64_t>(kLanes);
    std::int64_t k = 0;
    if constexpr (kUsed) {
      // Four vectors of lanes, so that four additions are under way at a time
      // (one chain of additions waited on each one's latency).
      typedef T Lanes __attribute__((vector_size(sizeof(T) * kLanes)));
      Lanes a, b{}, c{}, d{}, u, v, w, y;
      std::memcpy(&a, lane_.data(), sizeof a);
      for (; k + 4 * L <= n; k += 4 * L) {
        std::memcpy(&u, x + k, sizeof u);
        std::memcpy(&v, x + k + L, sizeof v);
        std::memcpy(&w, x + k + 2 * L, sizeof w);
        std::memcpy(&y, x + k + 3 * L, sizeof y);
        a += u - u, b += v - v, c += w - w, d += y - y;
      }
      for (; k + L <= n; k += L) {
        std::memcpy(&u, x + k, sizeof u);
        a += u - u;
      }
      a += (b + c) + d;
      std::memcpy(lane_.data(), &a, sizeof a);
    }
    // The last elements (fewer than the lanes) go to a lane of their own, in
    // a register: written element by element into lane_, they would stall the
    // next fold's vector load of it.
    T tail = tail_;
    for (; k < n; ++k) tail += x[k] - x[k];
    tail_ = tail;
  }
  bool all_finite() const {
    T total = tail_;
    for (const T& x : lane_) total += x;
    return total == T(0);
  }

 private:
  static constexpr std::size_t kLanes = std::max<std::size_t>(1, 64 / sizeof(T));  // one cache line
  std::array<T, kLanes> lane_{};
  T tail_ = 0;
};

namespace {

// Buffers handed out by liveness: a value takes the smallest free buffer that
// fits, else the largest free one (grown), else a new one; a pinned value
// always gets a buffer of its own.
class BufferPlan {
 public:
  std::int32_t take(std::int64_t size, bool pinned) {
    const auto better = [&](std::int32_t a, std::int32_t b) {
      const bool a_fits = need_[a] >= size, b_fits = need_[b] >= size;
      if (a_fits != b_fits) return a_fits;
      return a_fits ? need_[a] < need_[b] : need_[a] > need_[b];
    };
    const auto best = pinned ? pool_.end() : std::min_element(pool_.begin(), pool_.end(), better);
    if (best == pool_.end()) {
      need_.push_back(size);
      return static_cast<std::int32_t>(need_.size() - 1);
    }
    const std::int32_t buffer = *best;
    pool_.erase(best);
    need_[buffer] = std::max(need_[buffer], size);
    return buffer;
  }
  void give_back(std::int32_t buffer) {
    if (std::find(pool_.begin(), pool_.end(), buffer) == pool_.end()) pool_.push_back(buffer);
  }
  template <class T> void allocate(std::vector<std::vector<T>>& buffers) const {
    buffers.resize(need_.size());
    for (std::size_t b = 0; b < need_.size(); ++b) buffers[b].resize(static_cast<std::size_t>(need_[b]));
  }

 private:
  std::vector<std::int64_t> need_;  // per buffer: the largest value it holds
  std::vector<std::int32_t> pool_;  // free buffers
};

}  // namespace

template <class T>
Evaluation<T>::Evaluation(const Graph& g, std::span<const NodeId> roots, const Bindings<T>& bindings, Keep keep,
                          Math math)
    : graph_(&g),
      slot_(g.size(), -1),
      block_(g.size(), -1),
      view_(g.size(), TensorView<T>{nullptr, Shape{}}),
      visible_(g.size(), keep == Keep::All),
      checked_(g.size(), false),
      compact_(g.size(), false),
      order_(topological_order(g, roots)) {
  plan_checks(roots);
  source_.resize(g.size());
  std::iota(source_.begin(), source_.end(), NodeId{0});
  kernel_.resize(g.size());
  accumulator_.resize(g.size());
  partial_.assign(g.size(), -1);
  chain_folded_.assign(g.size(), false);
  for (NodeId id : order_) {
    const OpId op = g.node(id).op;
    if (op == kVarOp || op == kConstOp) continue;
    const OpInfo& info = op_info(op);
    kernel_[id] = math == Math::Faithful ? info.template faithful_kernel<T>() : info.template kernel<T>();
  }
  if (keep == Keep::All) {
    data_.resize(order_.size());
    for (std::size_t p = 0; p < order_.size(); ++p) {
      slot_[order_[p]] = static_cast<std::int32_t>(p);
      data_[p].resize(static_cast<std::size_t>(g.shape(order_[p]).size()));
      steps_.push_back({p, p + 1, false});
    }
  } else {
    plan_lean(roots);
  }
  for (NodeId id : order_) view_[id] = {slot_[id] >= 0 ? data_[slot_[id]].data() : nullptr, held_shape(id)};
  // What each op node run on its whole value needs, found once: at 1×10 the
  // evaluator's own work per node had been a third of a run.
  for (Step& step : steps_) {
    if (step.blocked) continue;
    const NodeId id = order_[step.begin];
    const Node& n = g.node(id);
    if (elided(id) || n.op == kVarOp || n.op == kConstOp) continue;
    Call c{.kernel = kernel_[id], .id = id, .out = data_[slot_[id]].data(), .shape = n.shape, .count = 0,
           .inputs = {}, .fold = checked_[id] && !chain_folded_[id]};
    for (NodeId in : n.inputs()) c.inputs[c.count++] = source_[in];
    step.call = static_cast<std::int32_t>(calls_.size());
    calls_.push_back(c);
  }
  std::map<std::string_view, std::vector<NodeId>> variables;
  for (NodeId id : order_)
    if (g.node(id).op == kVarOp) variables[g.attr(id).name].push_back(id);
  for (auto& [name, nodes] : variables) {
    variable_names_.emplace_back(name);
    variable_nodes_.push_back(std::move(nodes));
  }
  bind(bindings);
  run(true);
}

template <class T> void Evaluation<T>::plan_checks(std::span<const NodeId> roots) {
  // A value is looked at when it is a constant or a root, or when each of
  // its readers may turn a non-finite element into finite ones. Any other
  // value's inf or NaN (a variable's too) reaches the value of a reader that
  // carries it on, and so on up to a value that is looked at: a run finds
  // that there is one without looking at every value (and then looks at
  // every value for the first, the variables first of all).
  const Graph& g = *graph_;
  std::vector<bool> carried(g.size(), false);  // some reader carries its inf and NaN on
  for (NodeId id : order_) {
    const Node& n = g.node(id);
    for (std::size_t k = 0; k < n.arity; ++k)
      if (op_info(n.op).keeps_nonfinite[k] && n.shape.size() > 0) carried[n.in[k]] = true;
  }
  for (NodeId r : roots) checked_[r] = true;
  for (NodeId id : order_)
    if (g.node(id).op == kConstOp || !carried[id]) checked_[id] = true;
}

template <class T> void Evaluation<T>::plan_lean(std::span<const NodeId> roots) {
  const Graph& g = *graph_;
  // A broadcast view that is not a root, and whose readers all broadcast
  // their inputs or whose value has its input's shape (stop_gradient), is
  // not computed: its readers read its input (its source). Its value needs
  // no look for inf and NaN of its own: where it needed one, its source gets
  // it.
  std::vector<bool> root(g.size(), false), broadcast_readers(g.size(), true);
  for (NodeId r : roots) root[r] = true;
  for (NodeId id : order_)
    if (!op_info(g.node(id).op).broadcasting)
      for (NodeId in : g.node(id).inputs()) broadcast_readers[in] = false;
  for (NodeId id : order_) {
    const Node& n = g.node(id);
    if (n.op == kVarOp || n.op == kConstOp || !op_info(n.op).broadcast_view || root[id] ||
        !(broadcast_readers[id] || n.shape == g.shape(n.in[0])))
      continue;
    source_[id] = source_[n.in[0]];
    if (checked_[id]) checked_[source_[id]] = true;
  }
  // The batch: the rows of the largest row-wise value with more than one row.
  const auto row_wise = [&](NodeId id) {
    const Node& n = g.node(id);
    return n.op != kVarOp && n.op != kConstOp && op_info(n.op).row_wise && n.shape.rank == 2 && n.shape.rows() > 1;
  };
  std::int64_t largest = 0;
  for (NodeId id : order_) {
    if (!row_wise(id) || g.shape(id).size() <= largest) continue;
    largest = g.shape(id).size();
    batch_rows_ = g.shape(id).rows();
  }
  // Blocked: a row-wise node of the batch's rows whose inputs have those rows
  // or one row.
  std::vector<bool> blocked(g.size(), false);
  std::int64_t widest = 0;
  for (NodeId id : order_) {
    if (!row_wise(id) || g.shape(id).rows() != batch_rows_) continue;
    const auto ins = g.node(id).inputs();
    blocked[id] = std::all_of(ins.begin(), ins.end(), [&](NodeId in) {
      return g.shape(in).rows() == 1 || g.shape(in).rows() == batch_rows_;
    });
    if (blocked[id]) widest = std::max(widest, g.shape(id).cols());
  }
  block_rows_ = widest ? std::max<std::int64_t>(1, kBlockElements / widest) : 0;
  if (block_rows_ >= batch_rows_) {  // one block would be the whole value
    block_rows_ = 0;
    std::fill(blocked.begin(), blocked.end(), false);
  }
  // A reduction of a blocked value to one element joins its chain, taking
  // the blocks as they come (OpInfo::accumulators); its readers wait for the
  // chain's end.
  std::vector<bool> accumulates(g.size(), false);
  for (NodeId id : order_) {
    const Node& n = g.node(id);
    if (n.op == kVarOp || n.op == kConstOp || n.arity != 1 || n.shape.size() != 1 || !blocked[n.in[0]]) continue;
    accumulates[id] = op_info(n.op).template accumulator<T>().add != nullptr;
  }
  const auto in_chain = [&](NodeId id) { return blocked[id] || accumulates[id]; };

  // Phases: blocked nodes odd, the others even. A node takes the latest phase
  // of its inputs when it is of the same kind (a blocked node joins that
  // chain, a whole-value node runs after it), else the next one (a blocked
  // node starts a chain after the whole values it reads, a whole-value node
  // waits for the chain it reads to be complete). Sorting by phase keeps the
  // order topological and makes each odd phase one chain.
  std::vector<int> phase(g.size(), 0);
  for (NodeId id : order_) {
    int p = 0;
    for (NodeId in : g.node(id).inputs()) p = std::max(p, phase[in] + (accumulates[in] ? 1 : 0));
    const bool chain = p % 2 == 1;
    phase[id] = chain == in_chain(id) ? p : p + 1;
  }
  std::stable_sort(order_.begin(), order_.end(), [&](NodeId a, NodeId b) { return phase[a] < phase[b]; });
  std::vector<std::size_t> step_of(g.size(), 0);
  for (std::size_t p = 0; p < order_.size(); ++p) {
    const NodeId id = order_[p];
    if (in_chain(id) && !steps_.empty() && steps_.back().blocked && phase[order_[steps_.back().begin]] == phase[id])
      ++steps_.back().end;
    else
      steps_.push_back({p, p + 1, in_chain(id)});
    step_of[id] = steps_.size() - 1;
  }

  // Inside a chain, a node that reads nothing the chain computes (the one-hot
  // of a batch's labels) runs just before its first reader there: its block
  // is then written just before it is read, not while the nodes in between
  // fill the cache.
  std::vector<std::size_t> at(g.size(), 0);  // a node's place in its chain
  for (std::size_t s = 0; s < steps_.size(); ++s) {
    const Step& step = steps_[s];
    if (!step.blocked) continue;
    const std::vector<NodeId> chain(order_.begin() + static_cast<std::ptrdiff_t>(step.begin),
                                    order_.begin() + static_cast<std::ptrdiff_t>(step.end));
    for (std::size_t i = 0; i < chain.size(); ++i) at[chain[i]] = i;
    const std::size_t none = chain.size();
    std::vector<std::size_t> first_reader(chain.size(), none);
    std::vector<bool> reads_chain(chain.size(), false);
    for (std::size_t j = 0; j < chain.size(); ++j) {
      if (elided(chain[j])) continue;  // reads nothing: its readers read its source
      for (NodeId read : g.node(chain[j]).inputs()) {
        const NodeId in = source_[read];
        if (step_of[in] != s) continue;
        reads_chain[j] = true;
        if (first_reader[at[in]] == none) first_reader[at[in]] = j;
      }
    }
    std::vector<std::vector<NodeId>> before(chain.size());  // the nodes moved to just before each
    std::vector<bool> moves(chain.size(), false);
    for (std::size_t i = 0; i < chain.size(); ++i) {
      moves[i] = !reads_chain[i] && !elided(chain[i]) && first_reader[i] != none;
      if (moves[i]) before[first_reader[i]].push_back(chain[i]);
    }
    std::size_t p = step.begin;
    for (std::size_t j = 0; j < chain.size(); ++j) {
      for (NodeId id : before[j]) order_[p++] = id;
      if (!moves[j]) order_[p++] = chain[j];
    }
  }

  // When a block is one row wider than a tile, a run of consecutive
  // elementwise nodes of the row's width (OpInfo::elementwise; a broadcast
  // view in between computes nothing; a reduction to one element of a value
  // of that width takes it a tile at a time) runs a tile of columns at a
  // time: each node of the run computes the tile before the next tile
  // starts. A value read only inside its run then needs one tile (below),
  // which stays in the core's nearest cache and is never written out of it.
  // An elementwise kernel computes each element from the same elements of
  // its inputs, so each tile is the run evaluated node by node on those
  // columns and the values are the same, as long as a value that the run's
  // nodes read whole for every tile (one per row) keeps its block until the
  // run ends (below).
  run_end_.assign(order_.size(), 0);
  std::vector<std::int64_t> run_cols(order_.size(), 0);  // per position in a run: the width of its rows
  const auto tiles_with = [&](NodeId id, std::int64_t cols) {
    if (accumulates[id]) return g.shape(g.node(id).in[0]).cols() == cols;
    return elided(id) || (op_info(g.node(id).op).elementwise && g.shape(id).cols() == cols);
  };
  for (const Step& step : steps_)
    for (std::size_t p = step.begin; block_rows_ == 1 && step.blocked && p < step.end; ++p) {
      const NodeId id = order_[p];
      const std::int64_t cols = g.shape(id).cols();
      if (elided(id) || !tiles_with(id, cols) || cols <= kColumnTile<T>) continue;
      std::size_t end = p + 1, computed = 1;
      for (; end < step.end && tiles_with(order_[end], cols); ++end) computed += elided(order_[end]) ? 0 : 1;
      while (elided(order_[end - 1])) --end;  // the run ends with a node it computes
      if (computed < 2) continue;
      for (std::size_t q = p; q < end; ++q) run_end_[q] = end, run_cols[q] = cols;
      tiled_nodes_ += computed;
      p = end - 1;
    }

  // A value's buffer goes back to the pool once the last step using it has
  // run. Roots keep theirs (value() reads them) and so do constants (converted
  // once). A blocked value read only inside its own chain needs one block.
  // An elementwise node (OpInfo::elementwise) is written over an input of
  // its shape that no later node reads: that input's buffer goes back to the
  // pool before the node takes one.
  std::vector<std::size_t> last_use(g.size(), 0);     // the last step reading a value
  std::vector<std::size_t> last_reader(g.size(), 0);  // the last node reading it (position in order_)
  std::vector<bool> outside(g.size(), false);         // read by a later step
  // A value that a run of tiles reads whole for every tile is last read by
  // the run's last node: its block is given back after that node (held_to).
  std::vector<std::vector<NodeId>> held_to(order_.size());
  for (std::size_t p = 0; p < order_.size(); ++p) {
    if (elided(order_[p])) continue;  // reads nothing: its readers read its source
    for (NodeId read : g.node(order_[p]).inputs()) {
      const NodeId in = source_[read];
      last_use[in] = std::max(last_use[in], step_of[order_[p]]);
      last_reader[in] = p;
      if (step_of[in] != step_of[order_[p]]) outside[in] = true;
    }
  }
  for (std::size_t p = 0; p < order_.size(); ++p)
    if (run_end_[p] > 0 && !elided(order_[p]))
      for (NodeId read : g.node(order_[p]).inputs())
        if (const NodeId in = source_[read]; g.shape(in).cols() != run_cols[p] && last_reader[in] == p) {
          last_reader[in] = run_end_[p] - 1;
          held_to[run_end_[p] - 1].push_back(in);
        }
  std::vector<bool> pinned(g.size(), false);
  for (NodeId r : roots) pinned[r] = visible_[r] = outside[r] = true;
  // A uniform constant whose readers all broadcast their inputs is held as
  // its one value.
  for (NodeId id : order_)
    compact_[id] = !pinned[id] && g.uniform_constant(id) != nullptr;
  for (NodeId id : order_)
    if (!elided(id) && !op_info(g.node(id).op).broadcasting)
      for (NodeId in : g.node(id).inputs()) compact_[source_[in]] = false;
  // A value of a run whose readers are all in the run needs one tile.
  tile_.assign(g.size(), -1);
  std::vector<bool> tiled(g.size(), false);
  for (std::size_t p = 0; p < order_.size(); ++p) {
    const NodeId id = order_[p];
    tiled[id] = run_end_[p] > 0 && !elided(id) && !accumulates[id] && !outside[id] && last_reader[id] < run_end_[p];
  }
  BufferPlan whole, block, tile;
  std::vector<bool> released(g.size(), false);
  const auto release = [&](BufferPlan& plan, std::int32_t buffer, NodeId in) {
    if (!released[in]) plan.give_back(buffer);
    released[in] = true;
  };
  // Whether node p of the chain is the last to read in's block, and whether
  // step s is the last to read in's whole buffer (not kept).
  const auto last_block_read = [&](NodeId in, std::size_t p) { return block_[in] >= 0 && last_reader[in] == p; };
  // After node p of a chain: in's block or tile goes back if p read it last.
  const auto release_block = [&](NodeId in, std::size_t p) {
    if (last_block_read(in, p)) release(block, block_[in], in);
    if (tile_[in] >= 0 && last_reader[in] == p) release(tile, tile_[in], in);
  };
  const auto last_whole_use = [&](NodeId in, std::size_t s) {
    return slot_[in] >= 0 && !pinned[in] && last_use[in] == s;
  };
  for (std::size_t s = 0; s < steps_.size(); ++s) {
    const Step& step = steps_[s];
    for (std::size_t p = step.begin; p < step.end; ++p) {
      const NodeId id = order_[p];
      const Node& n = g.node(id);
      if (n.op == kConstOp) pinned[id] = true;
      // A variable that is not a root is read where the bindings hold it.
      if ((n.op == kVarOp && !pinned[id]) || elided(id)) continue;
      for (NodeId read : n.inputs()) {
        const NodeId in = source_[read];
        if (!op_info(n.op).elementwise || g.shape(in) != n.shape) continue;
        if (step.blocked) release_block(in, p);
        if (!step.blocked && last_whole_use(in, s)) release(whole, slot_[in], in);
      }
      if (!step.blocked || outside[id] || accumulates[id]) slot_[id] = whole.take(held_shape(id).size(), pinned[id]);
      if (!step.blocked) continue;
      // Inside the chain, block buffers by liveness along the chain.
      if (tiled[id])
        tile_[id] = tile.take(kColumnTile<T>, false);
      else if (!outside[id] && !accumulates[id])
        block_[id] = block.take(block_rows_ * n.shape.cols(), false);
      for (NodeId read : n.inputs()) release_block(source_[read], p);
      for (NodeId in : held_to[p]) release_block(in, p);
    }
    for (std::size_t p = step.begin; p < step.end; ++p)
      for (NodeId read : g.node(order_[p]).inputs())
        if (const NodeId in = source_[read]; last_whole_use(in, s)) release(whole, slot_[in], in);
  }
  whole.allocate(data_);
  block.allocate(blocks_);
  tile.allocate(tiles_);
  // A variable of the batch's rows that a chain reads is looked at by the
  // first such chain, a block at a time while the block is in the cache.
  for (Step& step : steps_)
    for (std::size_t p = step.begin; step.blocked && p < step.end; ++p)
      for (NodeId read : g.node(order_[p]).inputs())
        if (const NodeId in = source_[read]; g.node(in).op == kVarOp && checked_[in] && !chain_folded_[in] &&
                                             g.shape(in).rank == 2 && g.shape(in).rows() == batch_rows_) {
          step.leaves.push_back(in);
          chain_folded_[in] = true;
        }
  for (NodeId id : order_)
    if (accumulates[id]) {
      partial_[id] = static_cast<std::int32_t>(partials_.size());
      partials_.resize(partials_.size() + kAccumulatorLanes);
      accumulator_[id] = op_info(g.node(id).op).template accumulator<T>();
    }
}

template <class T> void Evaluation<T>::rerun(const Bindings<T>& bindings) {
  bind(bindings);
  run(false);
}

template <class T> void Evaluation<T>::rerun(std::span<const std::span<const T>> values) {
  if (values.size() != variable_names_.size())
    throw BindingError(fmt::format("{} values given for the {} variables of the evaluation", values.size(),
                                   variable_names_.size()));
  for (std::size_t i = 0; i < values.size(); ++i) bind(i, values[i]);
  run(false);
}

template <class T> void Evaluation<T>::bind(const Bindings<T>& bindings) {
  for (std::size_t i = 0; i < variable_names_.size(); ++i) {
    const auto it = bindings.find(variable_names_[i]);
    if (it == bindings.end()) throw BindingError(fmt::format("no value given for variable '{}'", variable_names_[i]));
    bind(i, it->second);
  }
}

template <class T> void Evaluation<T>::bind(std::size_t i, std::span<const T> values) {
  for (NodeId id : variable_nodes_[i]) {
    const Shape& shape = graph_->shape(id);
    if (values.size() != static_cast<std::size_t>(shape.size()))
      throw BindingError(fmt::format("variable '{}' has shape {} ({} values) but {} values were given",
                                     variable_names_[i], to_string(shape), shape.size(), values.size()));
    if (slot_[id] >= 0)
      std::copy(values.begin(), values.end(), data_[slot_[id]].data());
    else
      view_[id].data = values.data();
  }
}

template <class T> void Evaluation<T>::run(bool first) {
  nonfinite_.reset();
  if constexpr (FiniteLanes<T>::kUsed) {
    FiniteLanes<T> lanes;
    execute(first, &lanes);
    if (lanes.all_finite()) {
      constants_finite_ = true;
      return;
    }
    first = false;  // the constants are converted
  }
  execute(first, nullptr);
}

template <class T> void Evaluation<T>::execute(bool first, FiniteLanes<T>* lanes) {
  // A node's whole value, just computed: folded into the lanes, or looked at
  // for the first inf or NaN.
  const auto look = [&](NodeId id, const T* out, std::int64_t size, bool fold) {
    if (lanes) {
      if (fold) lanes->fold(out, size);
    } else if (!nonfinite_) {
      const std::int64_t k = first_nonfinite(out, size);
      if (k >= 0) nonfinite_ = NonFinite{id, k, format_scalar(out[k])};
    }
  };
  for (const Step& step : steps_) {
    if (step.blocked) {
      run_blocks(step, lanes);
      continue;
    }
    if (step.call >= 0) {  // an op node on its whole value
      const Call& c = calls_[static_cast<std::size_t>(step.call)];
      TensorView<T> views[kMaxInputs];
      for (std::uint32_t k = 0; k < c.count; ++k) views[k] = view_[c.inputs[k]];
      c.kernel(*graph_, c.id, std::span(views, c.count), c.shape, c.out);
      look(c.id, c.out, c.shape.size(), c.fold);
      continue;
    }
    const NodeId id = order_[step.begin];
    if (elided(id)) continue;
    run_constant(id, first);
    look(id, data_of(id), view_[id].shape.size(), folded(id) && !chain_folded_[id]);
  }
}

template <class T> void Evaluation<T>::run_constant(NodeId id, bool first) {
  const Graph& g = *graph_;
  if (!first || g.node(id).op != kConstOp) return;  // a variable is bound before the run
  // A constant's buffer is its own, and its value cannot change.
  T* out = data_[slot_[id]].data();
  if (const Rational* c = g.uniform_constant(id))
    std::fill(out, out + held_shape(id).size(), to_scalar<T>(*c));
  else
    for (std::int64_t k = 0, size = g.shape(id).size(); k < size; ++k) out[k] = to_scalar<T>(g.constant_at(id, k));
}

template <class T> TensorView<T> Evaluation<T>::block_view(NodeId read, std::int64_t row, std::int64_t rows) const {
  const NodeId id = source_[read];
  const Shape& s = view_[id].shape;
  if (block_[id] >= 0) return {blocks_[block_[id]].data(), Shape::matrix(rows, s.cols())};
  const T* data = data_of(id);
  if (s.rank == 2 && s.rows() == batch_rows_) return {data + row * s.cols(), Shape::matrix(rows, s.cols())};
  return {data, s};  // one row (or one value), broadcast to every row
}

template <class T> void Evaluation<T>::run_blocks(const Step& step, FiniteLanes<T>* lanes) {
  const Graph& g = *graph_;
  // Unless the lanes take them: the first bad element of each node of the
  // chain, found block by block; the chain's first node in order_ with one
  // is reported.
  std::vector<std::optional<NonFinite>> bad(nonfinite_ || lanes ? 0 : step.end - step.begin);
  const auto note_bad = [&](std::size_t p, std::int64_t first, const T* out, std::int64_t n) {
    if (bad.empty() || bad[p - step.begin]) return;
    const std::int64_t k = first_nonfinite(out, n);
    if (k >= 0) bad[p - step.begin] = NonFinite{order_[p], first + k, format_scalar(out[k])};
  };
  for (std::size_t p = step.begin; p < step.end; ++p)
    if (const std::int32_t at = partial_[order_[p]]; at >= 0) std::fill_n(partials_.begin() + at, kAccumulatorLanes, T(0));
  for (std::int64_t row = 0; row < batch_rows_; row += block_rows_) {
    const std::int64_t rows = std::min(block_rows_, batch_rows_ - row);
    if (lanes)
      for (NodeId leaf : step.leaves) {
        const TensorView<T> v = block_view(leaf, row, rows);
        lanes->fold(v.data, v.shape.size());
      }
    // Node p on columns [first, first + width) of the block's rows of `cols`
    // columns: a tile of a run (one row), or the whole block (first = 0,
    // width = cols). A value of the run's own tiles is read and written at
    // the start of its tile buffer; a value of `cols` columns at `first`; any
    // other value (one per row) whole.
    const auto run = [&](std::size_t p, std::int64_t first, std::int64_t width, std::int64_t cols) {
      const NodeId id = order_[p];
      const auto view = [&](NodeId read) -> TensorView<T> {
        const NodeId in = source_[read];
        if (tile_[in] >= 0) return {tiles_[tile_[in]].data(), Shape::matrix(1, width)};
        const TensorView<T> v = block_view(in, row, rows);
        if (width < cols && v.shape.cols() == cols) return {v.data + first, Shape::matrix(1, width)};
        return v;
      };
      if (partial_[id] >= 0) {  // a reduction to one element: these columns of its input
        accumulator_[id].add(view(g.node(id).in[0]), row * cols + first, partials_.data() + partial_[id]);
        return;
      }
      TensorView<T> views[kMaxInputs];
      std::size_t count = 0;
      for (NodeId in : g.node(id).inputs()) views[count++] = view(in);
      T* out = tile_[id] >= 0    ? tiles_[tile_[id]].data()
               : block_[id] >= 0 ? blocks_[block_[id]].data() + first
                                 : data_[slot_[id]].data() + row * cols + first;
      kernel_[id](g, id, std::span(views, count), Shape::matrix(rows, width), out);
      if (lanes && folded(id)) lanes->fold(out, rows * width);
      note_bad(p, row * cols + first, out, rows * width);
    };
    for (std::size_t p = step.begin; p < step.end; ++p) {
      const NodeId id = order_[p];
      if (elided(id)) continue;
      // The columns of its value, or of the value it reduces.
      const std::int64_t cols = g.shape(partial_[id] >= 0 ? g.node(id).in[0] : id).cols();
      // A tile of columns at a time (a run is entered at its first node: the
      // loop goes on after its end).
      if (const std::size_t end = run_end_[p]; end > 0) {
        for (std::int64_t first = 0; first < cols; first += kColumnTile<T>)
          for (std::size_t q = p; q < end; ++q)
            if (!elided(order_[q])) run(q, first, std::min(kColumnTile<T>, cols - first), cols);
        p = end - 1;
        continue;
      }
      run(p, 0, cols, cols);
    }
  }
  for (std::size_t p = step.begin; p < step.end; ++p) {
    const NodeId id = order_[p];
    if (partial_[id] < 0) continue;
    T* out = data_[slot_[id]].data();
    accumulator_[id].finish(partials_.data() + partial_[id], out);
    if (lanes && folded(id)) lanes->fold(out, 1);
    note_bad(p, 0, out, 1);
  }
  for (auto& b : bad)
    if (b) {
      nonfinite_ = std::move(b);
      break;
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
