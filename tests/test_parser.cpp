#include "engine/parser.hpp"

#include <gtest/gtest.h>

#include <string>

#include "engine/print.hpp"
#include "ops/composites.hpp"
#include "ops/functions.hpp"

namespace ddx {
namespace {

ParseContext context_with_vectors() {
  return builtin_parse_context({{"z", Shape::vector(3)},
                                {"y", Shape::vector(3)},
                                {"T", Shape::scalar()},
                                {"a", Shape::scalar()},
                                {"b", Shape::scalar()},
                                {"c", Shape::scalar()},
                                {"X", Shape::matrix(2, 3)},
                                {"t", Shape::vector(12)}});
}

Expr parse(Graph& g, const std::string& text) { return parse_program(g, text, context_with_vectors()).result; }

ParseError parse_error(const std::string& text) {
  Graph g;
  try {
    parse(g, text);
  } catch (const ParseError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for: " << text;
  return ParseError("none", "", 0);
}

TEST(Parser, PrintedExpressionsParseBackToTheSameNode) {
  const char* expressions[] = {
      "-sum(y * log(softmax(z)))",
      "exp(z) / sum(exp(z), axis=0)",
      "a - (b - c)",
      "a - b - c",
      "-(a * b) + -a * b",
      "a / (b * c)",
      "x = a^2; pow(x, 3) / b^-1",
      "sum(X, axis=1) / sum(exp(X), axis=-1)",
      "max(X, axis=0) + mean(X)",
      "cross_entropy(softmax(z, T), y) + sum(sigmoid(z)) + sum(log_softmax(z))",
      "sum([2, 1, 0.1] * z) + 1/3 - 0.25",
  };
  for (const char* text : expressions) {
    Graph g;
    const Expr first = parse(g, text);
    const std::string printed = to_infix(g, first.id());
    const Expr again = parse(g, printed);
    EXPECT_EQ(first.id(), again.id()) << text << " printed as " << printed;
  }
}

TEST(Parser, GradientsPrintAndParseBackToTheSameNode) {
  // Reverse mode writes broadcasts, sums down to a shape, max's tie mask and
  // matrix constants: every one of them has a printed form that parses back.
  const char* expressions[] = {
      "grad(-sum(y * log(softmax(z))), z)",
      "grad(sum(softmax(X) * X), X)",
      "grad(-sum(y * log(softmax(z, T))), T)",
      "grad(sum(max(X, axis=1)), X)",
      "grad(sum(X * [[1, 2, 3], [4, 5, 6]]), X)",
      "grad(sum(sum(X, axis=0) * [1, 2, 3]), X)",
      "grad(mean(cross_entropy(softmax(X), X)), X)",
      "grad(sum(stop_gradient(z) * z), z)",
      "sum(X, [1, 3]) + broadcast(T, [1, 3])",
      "sum([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] * t)",
  };
  for (const char* text : expressions) {
    Graph g;
    const Expr first = parse(g, text);
    const std::string printed = to_infix(g, first.id());
    Expr again;
    EXPECT_NO_THROW(again = parse(g, printed)) << text << " printed as " << printed;
    EXPECT_EQ(first.id(), again.id()) << text << " printed as " << printed;
  }
}

TEST(Parser, ShapeArgumentsMustBeLiterals) {
  Graph g;
  EXPECT_NE(parse_error("broadcast(T, z)").message().find("literal of 1 or 2 positive integers"), std::string::npos);
  EXPECT_NE(parse_error("broadcast(T, [0])").message().find("positive integers"), std::string::npos);
  EXPECT_NE(parse_error("sum(X, [2, 3, 4])").message().find("literal of 1 or 2"), std::string::npos);
  EXPECT_NE(parse_error("sum(X, [1, 3], axis=1)").message().find("not both"), std::string::npos);
}

TEST(Parser, AgreesWithBuildingThroughTheOps) {
  Graph g;
  const Expr z = variable(g, "z", Shape::vector(3));
  const Expr y = variable(g, "y", Shape::vector(3));
  EXPECT_EQ(parse(g, "-sum(y * log(softmax(z)))").id(), (-sum(y * log(softmax(z)))).id());
  EXPECT_EQ(parse(g, "cross_entropy(softmax(z), y)").id(), cross_entropy(softmax(z), y).id());
}

TEST(Parser, PrecedenceAndAssociativity) {
  Graph g;
  const Expr a = variable(g, "a", Shape::scalar()), b = variable(g, "b", Shape::scalar()),
             c = variable(g, "c", Shape::scalar());
  EXPECT_EQ(parse(g, "a + b * c").id(), (a + b * c).id());
  EXPECT_EQ(parse(g, "a - b - c").id(), ((a - b) - c).id());
  EXPECT_EQ(parse(g, "a / b / c").id(), ((a / b) / c).id());
  EXPECT_EQ(parse(g, "a / b * c").id(), ((a / b) * c).id());
  EXPECT_EQ(parse(g, "-a * b").id(), ((-a) * b).id());
  EXPECT_EQ(parse(g, "-a^2").id(), (-pow(a, 2)).id());
  EXPECT_EQ(parse(g, "a^2^3").id(), pow(pow(a, 2), 3).id());  // left-associative
  EXPECT_EQ(parse(g, "(a + b) * c").id(), ((a + b) * c).id());
  EXPECT_EQ(parse(g, "a - -b").id(), (a - (-b)).id());
  EXPECT_EQ(parse(g, "2.5e-1 * a").id(), (Rational(1, 4) * a).id());
}

TEST(Parser, NumbersAreExact) {
  Graph g;
  const Expr tenth = parse(g, "0.1");
  ASSERT_TRUE(g.is_constant(tenth.id()));
  EXPECT_EQ(*g.uniform_constant(tenth.id()), Rational(1, 10));
  const Expr v = parse(g, "[2, 1, 0.1, -3e2]");
  EXPECT_EQ(v.shape(), Shape::vector(4));
  EXPECT_EQ(g.constant_values(v.id()).back(), Rational(-300));
  const Expr m = parse(g, "[[1, 2], [3, 4], [5, 6]]");
  EXPECT_EQ(m.shape(), Shape::matrix(3, 2));
}

TEST(Parser, StatementsNameAndReuseValues) {
  Graph g;
  const ParsedProgram p = parse_program(g, "p = softmax(z); q = log(p)\n-sum(y * q)", context_with_vectors());
  const Expr z = variable(g, "z", Shape::vector(3));
  const Expr y = variable(g, "y", Shape::vector(3));
  EXPECT_EQ(p.result.id(), (-sum(y * log(softmax(z)))).id());
  ASSERT_EQ(p.statements.size(), 2u);
  EXPECT_EQ(p.statements.at("p").id(), softmax(z).id());
  // A newline inside brackets does not end a statement; empty statements are skipped.
  EXPECT_EQ(parse(g, "sum(z\n * y);;\n").id(), sum(z * y).id());
  EXPECT_EQ(parse(g, "# a comment\nsum(z)  # another").id(), sum(z).id());
}

TEST(Parser, ErrorsCarryLineColumnAndACaret) {
  const ParseError e = parse_error("a = exp(z)\nsum(a +* y)");
  EXPECT_EQ(e.line(), 2);
  EXPECT_EQ(e.column(), 8);
  EXPECT_NE(std::string(e.what()).find("line 2, column 8"), std::string::npos);
  EXPECT_NE(std::string(e.what()).find("  sum(a +* y)\n         ^"), std::string::npos) << e.what();
}

TEST(Parser, UnknownFunctionSuggestsTheClosest) {
  const ParseError e = parse_error("sum(sofmax(z))");
  EXPECT_EQ(e.column(), 5);
  EXPECT_EQ(e.message(), "unknown function 'sofmax'; did you mean 'softmax'?");
  EXPECT_EQ(parse_error("frobnicate(z)").message(), "unknown function 'frobnicate'");
}

TEST(Parser, WrongArgumentCountNamesTheFunction) {
  EXPECT_EQ(parse_error("cross_entropy(z)").message(), "cross_entropy takes 2 arguments, got 1");
  EXPECT_EQ(parse_error("softmax(z, T, T)").message(), "softmax takes 1 to 2 arguments, got 3");
  EXPECT_EQ(parse_error("exp(z, axis=0)").message(), "exp takes no axis= argument");
}

TEST(Parser, ShapeErrorsPointAtTheOperator) {
  const ParseError e = parse_error("sum([1, 2] + z)");
  EXPECT_EQ(e.column(), 12);
  EXPECT_NE(e.message().find("[2]"), std::string::npos) << e.message();
  EXPECT_EQ(parse_error("sum(z, axis=1)").column(), 1);
}

TEST(Parser, SyntaxErrors) {
  EXPECT_EQ(parse_error("").message(), "empty expression: nothing to compute");
  EXPECT_EQ(parse_error("(a + b").message(), "expected ')' to close the '(' at column 1, found the end of the input");
  EXPECT_EQ(parse_error("a + b)").column(), 6);
  EXPECT_EQ(parse_error("a $ b").message(), "unexpected character '$'");
  EXPECT_EQ(parse_error("sum(q)").message(),
            "unknown name 'q': it is no earlier statement and no variable with a value");
  EXPECT_EQ(parse_error("[1, z]").message(), "an element of a literal must be a constant number");
  EXPECT_EQ(parse_error("a^b").column(), 3);
}

TEST(Parser, NonFiniteAndOutOfRangeNumbersAreRejected) {
  EXPECT_EQ(parse_error("a + NaN").message(), "'NaN' is not allowed: constants must be finite numbers");
  EXPECT_EQ(parse_error("inf * a").column(), 1);
  const ParseError big = parse_error("a * 1e99999");
  EXPECT_EQ(big.column(), 5);
  EXPECT_NE(big.message().find("exponent"), std::string::npos) << big.message();
  EXPECT_EQ(parse_error("2x").column(), 1);
}

TEST(Parser, DeepNestingIsAnErrorNotAStackOverflow) {
  const std::size_t depth = 100000;
  for (const std::string& open : {std::string("("), std::string("exp("), std::string("[")}) {
    const ParseError e = parse_error([&] {
      std::string s;
      for (std::size_t k = 0; k < depth; ++k) s += open;
      return s + "a";
    }());
    EXPECT_EQ(e.message(), "nesting deeper than 1000") << open;
  }
  // Exactly the limit is fine, even with every operator level in between.
  std::string nested = "a";
  for (int k = 0; k < kMaxNesting; ++k) nested = "-(a * " + nested + ") + b";
  Graph g;
  EXPECT_TRUE(parse(g, nested).valid());
  auto wrapped = [](const std::string& open, const std::string& close) {
    std::string s;
    for (int k = 0; k < kMaxNesting; ++k) s += open;
    s += "a";
    for (int k = 0; k < kMaxNesting; ++k) s += close;
    return s;
  };
  EXPECT_TRUE(parse(g, wrapped("(", ")")).valid());
  EXPECT_TRUE(parse(g, wrapped("exp(", ")")).valid());
  EXPECT_EQ(parse_error(wrapped("[", "]")).message(), "an element of a literal must be a constant number");
  // A long run of unary minus signs takes no stack.
  EXPECT_TRUE(parse(g, std::string(depth, '-') + "a").valid());
}

TEST(Parser, LongLinesAreShownAsAWindow) {
  const std::string text = "a + " + std::string(100000, ' ') + "$";
  const ParseError e = parse_error(text);
  EXPECT_LT(std::string(e.what()).size(), 400u);
  EXPECT_EQ(e.column(), static_cast<int>(text.size()));
}

TEST(Parser, ClosestName) {
  const std::string_view names[] = {"exp", "log", "softmax", "sigmoid"};
  EXPECT_EQ(closest_name("sigmod", names), "sigmoid");
  EXPECT_EQ(closest_name("lg", names), "log");
  EXPECT_EQ(closest_name("quaternion", names), "");
}

}  // namespace
}  // namespace ddx
