// Shapes of ddx values: scalar [], vector [n], matrix [B, n].
//
// Broadcasting follows the usual trailing-axis rule, restricted to rank <= 2:
//   * a scalar combines with any shape;
//   * shapes are aligned on their last axis; a missing leading axis counts as 1;
//   * two aligned axes must be equal, or one of them must be 1 (it is repeated).
// So [n] with [B, n] gives [B, n], and a reduced axis kept as size 1 ([B, 1],
// the result of sum(x, axis=1)) combines with [B, n] row by row.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace ddx {

struct Shape {
  int rank = 0;                       // 0, 1 or 2
  std::array<std::int64_t, 2> dims{};  // dims[0..rank)

  static Shape scalar() { return {}; }
  static Shape vector(std::int64_t n) { return {1, {n, 0}}; }
  static Shape matrix(std::int64_t rows, std::int64_t cols) { return {2, {rows, cols}}; }

  std::int64_t size() const {
    std::int64_t s = 1;
    for (int i = 0; i < rank; ++i) s *= dims[i];
    return s;
  }
  // Size of axis `axis` counted from the end as a rank-2 shape: rows(), cols().
  std::int64_t rows() const { return rank == 2 ? dims[0] : 1; }
  std::int64_t cols() const { return rank == 0 ? 1 : dims[rank - 1]; }
  bool is_scalar() const { return rank == 0; }
  // One value per row: the last axis reduced to size 1 ([B, n] → [B, 1],
  // [n] → [1]); a scalar stays a scalar.
  Shape row_reduced() const {
    Shape s = *this;
    if (rank > 0) s.dims[rank - 1] = 1;
    return s;
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank != b.rank) return false;
    for (int i = 0; i < a.rank; ++i)
      if (a.dims[i] != b.dims[i]) return false;
    return true;
  }
};

std::string to_string(const Shape& s);  // "scalar", "[3]", "[2, 3]"

// The broadcast shape of a and b, or nothing when they do not combine.
std::optional<Shape> broadcast(const Shape& a, const Shape& b);

// True when a value of shape `from` can be broadcast to shape `to` unchanged in rank <= to.
bool broadcasts_to(const Shape& from, const Shape& to);

// An error in the shapes given to an op; the message names the op and the shapes.
class ShapeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace ddx
