// The bad-input catalogue: every way a user can get `ddx grad` wrong, run
// through the real binary. Each must end promptly with a message naming what
// is wrong and where, never with a crash, a hang or a number that is not one.
//
// Exit status 2 is bad usage or input. Exit status 1 is kept for a value that
// is not finite at the precision asked for, with the explanation of which node
// produced it. Choices this catalogue pins down:
//   * `1/0` (and any division by a constant with a 0 element) is an error in
//     the input: exit 2, not a division evaluated to inf.
//   * `1e400` is an exact rational, so it parses; at double precision it
//     rounds to inf, which ddx reports as "beyond the range of double
//     precision" with exit 1 (the same as a value of --at beyond the range);
//     at --precision 50 the same expression evaluates (exit 0).
//   * `1e99999` is rejected when read: exponents beyond ±10000 (and numbers
//     of more than 20000 digits) are not numbers any precision ddx offers holds.
//   * `log(0)` evaluates to -inf: a value that truly is not finite, exit 1.
//   * Exact constants folded by statements (a = a * a) may not grow beyond
//     40000 digits; broadcasting may not make a value of more than 2^25
//     elements; the input may not exceed 1 MiB (kMaxInputBytes).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/parser.hpp"
#include "run_ddx.hpp"

namespace ddx {
namespace {

using ddx::testing::run_ddx;

struct BadInput {
  std::string name;
  std::string arguments;  // after `ddx`; "{file}" stands for a file holding `file_content`
  int status = 2;
  std::string message;    // a substring the output must contain
  std::string file_content = {};
};

std::string repeat(const std::string& s, std::size_t times) {
  std::string out;
  out.reserve(s.size() * times);
  for (std::size_t k = 0; k < times; ++k) out += s;
  return out;
}

const std::string kAt = "--wrt z --at 'z=[2,1,0.1]; y=[0,0,1]'";

std::vector<BadInput> catalogue() {
  const std::string grad = "grad " + kAt + " ";
  return {
      // Syntax.
      {"empty expression", grad + "''", 2, "empty expression: nothing to compute"},
      {"only whitespace", grad + "'  \n\t  # a comment\n '", 2, "empty expression: nothing to compute"},
      {"unclosed parenthesis", grad + "'(z'", 2, "column 3: expected ')' to close the '(' at column 1"},
      {"unclosed bracket", grad + "'sum(z * [1,2'", 2, "column 13: expected ']' to close the '[' at column 9"},
      {"unopened parenthesis", grad + "'sum(z))'", 2, "column 7: expected an operator, ';' or the end, found ')'"},
      {"unexpected character", grad + "'sum(z) $ 2'", 2, "column 8: unexpected character '$'"},
      {"unexpected byte", grad + "'sum(z) \x01'", 2, "unexpected byte 0x01"},
      {"dangling operator", grad + "'sum(z) +'", 2, "column 9: expected a number, a name or '(', found the end"},
      // Names and calls.
      {"unknown function", grad + "'sum(sofmax(z))'", 2, "column 5: unknown function 'sofmax'; did you mean 'softmax'?"},
      {"unknown function, long name", grad + "'" + repeat("q", 100000) + "(z)'", 2, "unknown function 'qqqq"},
      {"too many arguments", grad + "'sum(exp(z, z))'", 2, "column 5: exp takes 1 argument, got 2"},
      {"too few arguments", grad + "'cross_entropy(z)'", 2, "column 1: cross_entropy takes 2 arguments, got 1"},
      {"axis out of range", grad + "'sum(sum(z, axis=1))'", 2, "sum: axis 1 is out of range for shape [3]"},
      {"non-integer exponent", grad + "'sum(z^0.5)'", 2, "the exponent of ^ must be an integer constant"},
      // Shapes.
      {"shapes do not broadcast", grad + "'sum(z) + sum([1,2] + [1,2,3])'", 2,
       "column 20: add: shapes [2] and [3] do not broadcast"},
      {"shapes do not broadcast with a variable", grad + "'sum(z * [1,2])'", 2, "mul: shapes [3] and [2] do not broadcast"},
      {"result is not a scalar", grad + "'softmax(z)'", 2, "the expression has shape [3]"},
      {"broadcast beyond the element limit", grad + "--file {file}", 2,
       "mul: the result would have shape [6000, 6000], 36000000 elements; the limit is 33554432",
       "sum(z) + sum([" + repeat("[1],", 5999) + "[1]] * [" + repeat("1,", 5999) + "1])"},
      // Numbers.
      {"nan literal", grad + "'sum(z) + nan'", 2, "column 10: 'nan' is not allowed: constants must be finite numbers"},
      {"inf literal", grad + "'sum(z) * -inf'", 2, "column 11: 'inf' is not allowed: constants must be finite numbers"},
      {"Infinity literal", grad + "'Infinity + sum(z)'", 2, "column 1: 'Infinity' is not allowed"},
      {"constant division by zero", grad + "'sum(z) + 1/0'", 2, "column 11: /: division by the constant 0"},
      {"division by a zero constant", grad + "'sum(z / 0)'", 2, "/: division by the constant 0"},
      {"division by a vector with a zero", grad + "'sum(z / [1, 0, 2])'", 2, "/: element 1 of the constant divisor is 0"},
      {"exponent beyond the limit", grad + "'sum(z) * 1e99999'", 2,
       "column 10: '1e99999' is not a number: the exponent is beyond ±10000"},
      {"too many digits", grad + "--file {file}", 2, "is not a number: more than 20000 digits",
       "sum(z) * " + repeat("1", 30000)},
      {"folded constant too large", grad + "'a = 1e9999; a = a * a; a = a * a; a = a * a; sum(z) * a'", 2,
       "*: the exact value of these constants has more than 40000 digits"},
      {"1e400 overflows double", grad + "'sum(z) * 1e400'", 1,
       "element 0 of a constant is beyond the range of double precision (it rounds to inf)"},
      {"log(0) is -inf", grad + "'sum(z) + log(0)'", 1, "log(0) produced -inf"},
      {"exp overflows", "grad --wrt z --at 'z=[1000,0,0]' 'sum(exp(z))'", 1, "exp(z) produced inf at element 0"},
      // Symbolic simplification.
      {"--simplify of a huge constant power", grad + "--simplify 'sum(z * 10^1000000)'", 2,
       "symbolic: an exact coefficient has more than 40000 digits"},
      {"--simplify dividing by an expression that is 0", grad + "--simplify 'sum(z / (z - z))'", 2,
       "--simplify: the gradient has no symbolic form here: division by zero"},
      {"--simplify of log of a negative constant", grad + "--simplify 'sum(z * log(-1))'", 2,
       "--simplify: the gradient has no symbolic form here: log of the negative constant -1"},
      // Size and depth.
      {"10 MB expression", grad + "--file {file}", 2, "the input is 10485760 bytes, more than the limit of 1048576 bytes",
       repeat("z + ", 10 * 1024 * 1024 / 4 - 1) + "z   "},
      {"nesting 100000 deep", grad + "--file {file}", 2, "nesting deeper than 1000",
       repeat("(", 100000) + "sum(z)" + repeat(")", 100000)},
      {"calls nested 100000 deep", grad + "--file {file}", 2, "nesting deeper than 1000",
       repeat("exp(", 100000) + "sum(z)" + repeat(")", 100000)},
      {"brackets nested 100000 deep", grad + "--file {file}", 2, "nesting deeper than 1000", repeat("[", 100000)},
      // Options.
      {"--at missing a variable", "grad --wrt z --at 'z=[2,1,0.1]' 'sum(y * z)'", 2,
       "column 5: unknown name 'y': it is no earlier statement and no variable with a value"},
      {"--wrt names a variable that does not occur", "grad --wrt q --at 'z=[2,1,0.1]' 'sum(z)'", 2,
       "--wrt: 'q' does not occur in the expression"},
      {"malformed --at", "grad --wrt z --at 'z=[1,2' 'sum(z)'", 2,
       "--at: line 1, column 7: expected ']' to close the '[' at column 3"},
      {"--at value that is not a constant", "grad --wrt z --at 'z=[1,2]; y = exp(1)' 'sum(z)'", 2,
       "--at: the value of 'y' must be a number or a literal"},
      {"unknown option", grad + "--bogus 'sum(z)'", 2, "--bogus"},
      {"unknown precision", grad + "--precision 7 'sum(z)'", 2, "precision"},
      {"--file that does not exist", grad + "--file /nonexistent/ddx-expression", 2,
       "--file /nonexistent/ddx-expression: cannot read it"},
      {"--file and an expression", grad + "--file {file} 'sum(z)'", 2, "excludes", "sum(z)"},
      {"neither --file nor an expression", grad, 2, "give the expression as an argument or with --file"},
  };
}

TEST(BadInputs, EachFailsPromptlyWithAMessageNamingWhatIsWrong) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "ddx_bad_inputs";
  std::filesystem::create_directories(dir);
  int index = 0;
  for (const BadInput& c : catalogue()) {
    std::string arguments = c.arguments;
    if (const auto at = arguments.find("{file}"); at != std::string::npos) {
      const std::filesystem::path file = dir / ("expression-" + std::to_string(index));
      std::ofstream(file, std::ios::binary) << c.file_content;
      arguments.replace(at, 6, file.string());
    }
    ++index;
    const auto start = std::chrono::steady_clock::now();
    const auto run = run_ddx(arguments);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string shown = run.output.substr(0, 2000);
    EXPECT_EQ(run.status, c.status) << c.name << "\n" << shown;
    EXPECT_NE(run.output.find(c.message), std::string::npos) << c.name << ": expected \"" << c.message << "\" in\n"
                                                             << shown;
    // Not a speed target: a bound that catches a hang or a runaway
    // computation (those took tens of seconds before they were fixed), with
    // room for a sanitizer build on a loaded 2-core machine (about 0.1 s
    // normally, up to about 1.5 s under AddressSanitizer).
    EXPECT_LT(seconds, 10.0) << c.name;
    // Messages quote the input by a window around the spot, never wholesale.
    if (c.status == 2) {
      EXPECT_LT(run.output.size(), 2000u) << c.name;
    }
  }
  std::filesystem::remove_all(dir);
}

// The same expressions that fail at double evaluate where the range allows.
TEST(BadInputs, WiderPrecisionHoldsWhatDoubleCannot) {
  const auto run = run_ddx("grad " + kAt + " --precision 50 'sum(z) * 1e400'");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("e+400"), std::string::npos) << run.output;
}

// An expression read from a file, the way around the 128 KiB limit on one
// command-line argument, up to kMaxInputBytes.
TEST(BadInputs, FileExpressionsUpToTheLimitWork) {
  const std::filesystem::path file = std::filesystem::path(::testing::TempDir()) / "ddx_long_expression";
  {
    std::ofstream out(file, std::ios::binary);
    out << "# a long sum\n" << repeat("sum(z) + ", 20000) << "sum(z)\n";
  }
  ASSERT_GT(std::filesystem::file_size(file), 128u * 1024);  // more than one argument can hold
  ASSERT_LE(std::filesystem::file_size(file), kMaxInputBytes);
  const auto start = std::chrono::steady_clock::now();
  const auto run = run_ddx("grad " + kAt + " --json --file " + file.string());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(run.status, 0) << run.output.substr(0, 2000);
  EXPECT_NE(run.output.find("\"20001\""), std::string::npos) << run.output.substr(run.output.size() - 500);
  EXPECT_LT(seconds, 10.0);
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace ddx
