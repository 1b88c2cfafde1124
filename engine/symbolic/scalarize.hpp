// Scalarisation: every element of every node of a tensor graph as a
// canonical polynomial over scalar symbols z₁..zₙ, y₁..yₙ. It runs each op's
// own forward kernel at the symbolic scalar, so an op's math lives in one
// place; ops with no algebraic form give opaque atoms.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "engine/symbolic/poly.hpp"
#include "engine/math/crmath.hpp"  // exp and log at each precision, as the graph evaluates them

namespace ddx::sym {

class Scalarizer {
 public:
  // Variables named in `positive` are known to be > 0 (a temperature, say).
  Scalarizer(Context& ctx, const Graph& g, std::set<std::string, std::less<>> positive = {});

  // The elements of node `id`, row-major. Computes (iteratively) whatever is
  // missing. Intermediate nodes are released once their last user in this
  // call is computed (large gradients hold millions of terms), so the
  // reference is valid until the next call.
  const std::vector<Value>& values(NodeId id);
  const Graph& graph() const { return graph_; }
  Context& context() { return ctx_; }

 private:
  Context& ctx_;
  const Graph& graph_;
  std::set<std::string, std::less<>> positive_;
  std::vector<std::vector<Value>> values_;
  std::vector<char> done_;
};

// Numeric values of polynomials: atoms are evaluated in id order (an atom's
// argument holds only earlier atoms), so no recursion is needed.
template <class T> class PolyEvaluator {
 public:
  // `leaf` gives the value of a symbol or an opaque atom.
  PolyEvaluator(const Context& ctx, std::function<T(const Atom&)> leaf) : ctx_(ctx), leaf_(std::move(leaf)) {}

  T value(const PolyRef& p) {
    T sum = 0;
    for (const Term& t : p->terms) {
      T product = to_value(t.coefficient);
      for (const Factor& f : t.monomial) {
        const T a = atom_value(f.atom);
        T power = 1;
        for (int k = 0; k < (f.exponent < 0 ? -f.exponent : f.exponent); ++k) power *= a;
        product *= f.exponent < 0 ? T(1 / power) : power;
      }
      sum += product;
    }
    return sum;
  }

  T atom_value(AtomId id) {
    while (values_.size() <= id) {
      const Atom& a = ctx_.atom(static_cast<AtomId>(values_.size()));
      switch (a.kind) {
        case AtomKind::Exp: values_.push_back(cr::exp_of(value(a.arg))); break;
        case AtomKind::Log: values_.push_back(cr::log_of(value(a.arg))); break;
        case AtomKind::Defined: values_.push_back(value(a.arg)); break;
        default: values_.push_back(leaf_(a));
      }
    }
    return values_[id];
  }

 private:
  static T to_value(const Coefficient& c) { return T(c.numerator().str()) / T(c.denominator().str()); }
  const Context& ctx_;
  std::function<T(const Atom&)> leaf_;
  std::vector<T> values_;
};

}  // namespace ddx::sym
