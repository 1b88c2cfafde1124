#include "engine/shape.hpp"

#include <fmt/format.h>

namespace ddx {

std::string to_string(const Shape& s) {
  switch (s.rank) {
    case 0: return "scalar";
    case 1: return fmt::format("[{}]", s.dims[0]);
    default: return fmt::format("[{}, {}]", s.dims[0], s.dims[1]);
  }
}

std::optional<Shape> broadcast(const Shape& a, const Shape& b) {
  Shape out;
  out.rank = std::max(a.rank, b.rank);
  for (int k = 0; k < out.rank; ++k) {  // k counts axes from the end
    const std::int64_t da = k < a.rank ? a.dims[a.rank - 1 - k] : 1;
    const std::int64_t db = k < b.rank ? b.dims[b.rank - 1 - k] : 1;
    if (da != db && da != 1 && db != 1) return std::nullopt;
    out.dims[out.rank - 1 - k] = da == 1 ? db : da;
  }
  return out;
}

bool broadcasts_to(const Shape& from, const Shape& to) {
  auto b = broadcast(from, to);
  return b && *b == to;
}

}  // namespace ddx
