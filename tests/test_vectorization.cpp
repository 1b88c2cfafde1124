// The element loops that carry the kernels' speed vectorize. A loop marked
// "// ddx:vectorized" on its `for` line must be reported vectorized by GCC
// (-fopt-info-vec) for the vector units it runs on (baseline x86-64, AVX2 =
// x86-64-v3, AVX-512 = x86-64-v4; see kUnits), in every instantiation: at
// least one "loop vectorized" at that line and no "couldn't vectorize loop".
// A nest of two loops marked "// ddx:vectorized nest" on the outer `for`
// line may be vectorized at either loop (GCC unrolls a short inner loop and
// vectorizes the outer one at some -march, the inner one at others): every
// instantiation where the outer loop is not vectorized must have its inner
// loop, on the next line, vectorized.
// The sources are compiled with the options the build gives them, so a
// change of flags that stops a loop vectorizing fails here too. A loop that
// silently stops vectorizing (a flag, a branch the vectorizer cannot
// convert, a conversion a vector unit lacks) is several times slower and
// gives the same values, so only this test sees it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;

// A compiled unit: the source, the options the build compiles it with
// (tests/CMakeLists.txt), the file whose marked loops it instantiates, and
// the -march values it is checked at.
struct Unit {
  const char* source;
  const char* options;
  const char* marked;
  std::vector<const char*> arches;
};

const Unit kUnits[] = {
    // The marked loops are the row groups', which AVX2 builds do not take
    // (every row goes through exp_sums' explicit vectors there).
    {"ops/fused.cpp", DDX_OPTIONS_OPS_FUSED_CPP, "ops/fused_math.hpp", {"x86-64", "x86-64-v4"}},
    // The array forms are compiled for baseline x86-64, AVX2 and AVX-512 and
    // chosen at load time; the baseline clone stays scalar (its table lookups
    // need a gather, which SSE2 lacks). At x86-64-v3 every clone is one of the
    // vector units. AVX-512 machines run kernels written for AVX-512 instead
    // (crmath.cpp's avx512 namespace), so at x86-64-v4 the marked loops are
    // not compiled at all.
    {"engine/math/crmath.cpp", DDX_OPTIONS_ENGINE_MATH_CRMATH_CPP, "engine/math/crmath.cpp", {"x86-64-v3"}},
    // The same three clones; on baseline x86-64 the double log stays scalar
    // (engine/math/vlog.hpp vectorizes there at float only).
    {"engine/math/faithful.cpp", DDX_OPTIONS_ENGINE_MATH_FAITHFUL_CPP, "engine/math/faithful.cpp",
     {"x86-64-v3", "x86-64-v4"}},
};

// One unit at one -march.
struct Case {
  const Unit* unit;
  std::string arch;
  std::string name() const { return fs::path(unit->source).stem().string() + "_" + arch; }
};

// gtest prints a case that fails: the unit and the -march.
void PrintTo(const Case& c, std::ostream* out) { *out << c.unit->source << " at -march=" << c.arch; }

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const Unit& unit : kUnits)
    for (const char* arch : unit.arches) out.push_back({&unit, arch});
  return out;
}

constexpr const char* kMarker = "// ddx:vectorized";
constexpr const char* kNest = " nest";

// A marked line (1-based), and whether it marks a nest.
struct Marked {
  int line;
  bool nest;
};

// The marked lines of a file.
std::vector<Marked> marked_lines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<Marked> lines;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number)
    if (const auto at = line.find(kMarker); at != std::string::npos)
      lines.push_back({number, line.compare(at + std::strlen(kMarker), std::strlen(kNest), kNest) == 0});
  return lines;
}

// What GCC said of the loops at each line of a file: vectorized, or not. A
// "couldn't vectorize loop" right after "loop vectorized" at the same place
// (no other report between them) is about the vectorized loop's scalar
// remainder, and is not counted.
struct Verdicts {
  int vectorized = 0;
  int missed = 0;
};

std::map<int, Verdicts> verdicts(const std::string& report, const std::string& file) {
  std::map<int, Verdicts> out;
  std::istringstream in(report);
  std::string line, vectorized_at;  // the place of the last report if it was "loop vectorized"
  const std::string key = file + ":";
  while (std::getline(in, line)) {
    if (line.find(": note:") != std::string::npos) continue;
    const auto at = line.find(key);
    const std::string place = line.substr(0, line.find(": ", at == std::string::npos ? 0 : at));
    const bool vectorized = line.find("optimized: loop vectorized") != std::string::npos;
    const bool remainder = !vectorized && place == vectorized_at;
    vectorized_at = vectorized ? place : "";
    if (at == std::string::npos || remainder) continue;
    const int number = std::atoi(line.c_str() + at + key.size());
    if (vectorized) ++out[number].vectorized;
    if (line.find("couldn't vectorize loop") != std::string::npos) ++out[number].missed;
  }
  return out;
}

// The compiler on a unit's source with the options the build gives it, for
// one -march (the caller adds what to do with it).
std::string compile(const Unit& unit, const std::string& arch) {
  const fs::path root = DDX_SOURCE_DIR;
  return std::string("'") + DDX_CXX + "' " + unit.options + " -march=" + arch + " -I'" + root.string() + "' '" +
         (root / unit.source).string() + "'";
}

class Vectorization : public testing::TestWithParam<Case> {};

TEST_P(Vectorization, EveryMarkedLoopVectorizes) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "the marked loops are checked for x86-64 vector units";
#endif
  if (std::string(DDX_CXX_ID) != "GNU") GTEST_SKIP() << "the check reads GCC's -fopt-info-vec report";
  const Unit& unit = *GetParam().unit;
  const std::string& arch = GetParam().arch;
  const fs::path root = DDX_SOURCE_DIR;
  const fs::path report_file =
      fs::temp_directory_path() / ("ddx-vec-" + std::to_string(::getpid()) + "-" + GetParam().name() + ".txt");
  const std::string command = compile(unit, arch) + " -c -o /dev/null -fopt-info-vec-all='" +
                              report_file.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(report_file);
  const std::string report((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove(report_file);

  const std::vector<Marked> lines = marked_lines(root / unit.marked);
  ASSERT_FALSE(lines.empty()) << unit.marked << " has no loop marked " << kMarker;
  const auto said = verdicts(report, unit.marked);
  const auto at = [&](int line) {
    const auto it = said.find(line);
    return it == said.end() ? Verdicts{} : it->second;
  };
  for (const auto [line, nest] : lines) {
    Verdicts v = at(line);
    if (nest) {  // the outer loops left to the inner loop, and the inner loop's own misses
      const Verdicts inner = at(line + 1);
      v = {v.vectorized + inner.vectorized, std::max(v.missed - inner.vectorized, 0) + inner.missed};
    }
    EXPECT_GT(v.vectorized, 0) << unit.marked << ":" << line << " is not vectorized at -march=" << arch;
    EXPECT_EQ(v.missed, 0) << unit.marked << ":" << line << ": some instantiation is not vectorized at -march="
                           << arch;
  }
}

// The fused kernels build for every x86-64 vector unit, also those whose
// loops are not checked above (AVX2 takes no row groups; AVX without AVX2
// and FMA sits between): each takes code the others do not, and the
// default build compiles only one of them.
TEST(Kernels, FusedBuildsForEveryVectorUnit) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "the vector units are x86-64's";
#endif
  if (std::string(DDX_CXX_ID) != "GNU") GTEST_SKIP() << "compiled with the build's GCC options";
  const Unit& fused = kUnits[0];  // ops/fused.cpp
  for (const char* arch : {"x86-64", "sandybridge", "x86-64-v3", "x86-64-v4"}) {
    const std::string command = compile(fused, arch) + " -fsyntax-only";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, Vectorization, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case>& info) {
                           std::string name = info.param.name();
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
