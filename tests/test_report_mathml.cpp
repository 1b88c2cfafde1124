// LaTeX → MathML: every construct of the subset ddx emits, well-formed XML,
// unknown commands shown (never dropped), and every formula the engine's
// provers actually produce converts without a problem.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "derivations/every_n.hpp"
#include "derivations/identities.hpp"
#include "derivations/mathml.hpp"
#include "engine/rational.hpp"

namespace ddx {
namespace {

// "" when every tag is closed in order (self-closing tags need no end tag).
std::string xml_balance(const std::string& s) {
  std::vector<std::string> stack;
  std::size_t i = 0;
  while ((i = s.find('<', i)) != std::string::npos) {
    const std::size_t end = s.find('>', i);
    if (end == std::string::npos) return "unclosed '<'";
    std::string tag = s.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.empty()) return "empty tag";
    const bool closing = tag[0] == '/';
    if (tag.back() == '/') continue;
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" /"));
    if (!closing) {
      stack.push_back(name);
    } else {
      if (stack.empty() || stack.back() != name) return "</" + name + "> closes <" + (stack.empty() ? "" : stack.back()) + ">";
      stack.pop_back();
    }
  }
  return stack.empty() ? "" : "<" + stack.back() + "> not closed";
}

// The MathML body, without the <math> wrapper and the annotation.
std::string body(const std::string& latex) {
  const MathML m = latex_to_mathml(latex);
  EXPECT_TRUE(m.problems.empty()) << latex << ": " << (m.problems.empty() ? "" : m.problems.front());
  EXPECT_EQ(xml_balance(m.xml), "") << latex << "\n" << m.xml;
  const std::size_t start = m.xml.find("<semantics><mrow>") + 17;
  const std::size_t end = m.xml.find("</mrow><annotation");
  return m.xml.substr(start, end - start);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(MathML, Wrapper) {
  const MathML m = latex_to_mathml("x < y", true, "x < y & z");
  EXPECT_EQ(m.xml.rfind("<math xmlns=\"http://www.w3.org/1998/Math/MathML\" display=\"block\" alttext=\"x &lt; y &amp; z\">", 0), 0u)
      << m.xml;
  EXPECT_TRUE(contains(m.xml, "<annotation encoding=\"application/x-tex\">x &lt; y</annotation></semantics></math>"));
  EXPECT_TRUE(contains(m.xml, "<mo>&lt;</mo>"));
  EXPECT_FALSE(contains(latex_to_mathml("x").xml, "display="));
}

TEST(MathML, NumbersIdentifiersOperators) {
  EXPECT_EQ(body("x + 12.5 = y - 3"),
            "<mrow><mi>x</mi><mo>+</mo><mn>12.5</mn><mo>=</mo><mi>y</mi><mo>−</mo><mn>3</mn></mrow>");
  EXPECT_EQ(body("a \\cdot b \\times c"), "<mrow><mi>a</mi><mo>⋅</mo><mi>b</mi><mo>×</mo><mi>c</mi></mrow>");
  EXPECT_TRUE(contains(body("a \\ne b \\neq c \\le d \\approx e \\to f \\ldots"),
                       "<mo>≠</mo><mi>b</mi><mo>≠</mo><mi>c</mi><mo>≤</mo><mi>d</mi><mo>≈</mo><mi>e</mi><mo>→</mo><mi>f</mi><mo>…</mo>"));
}

TEST(MathML, Fractions) {
  EXPECT_EQ(body("\\frac{1}{2}"), "<mfrac><mrow><mn>1</mn></mrow><mrow><mn>2</mn></mrow></mfrac>");
  EXPECT_EQ(body("\\frac12"), "<mfrac><mn>1</mn><mn>2</mn></mfrac>");
  EXPECT_TRUE(contains(body("-\\frac{3}{4}"), "<mo>−</mo><mfrac>"));
}

TEST(MathML, Scripts) {
  EXPECT_EQ(body("x^{2}"), "<msup><mi>x</mi><mrow><mn>2</mn></mrow></msup>");
  EXPECT_EQ(body("z_{i}"), "<msub><mi>z</mi><mrow><mi>i</mi></mrow></msub>");
  EXPECT_EQ(body("z_i"), "<msub><mi>z</mi><mi>i</mi></msub>");
  EXPECT_EQ(body("x_1^2"), "<msubsup><mi>x</mi><mn>1</mn><mn>2</mn></msubsup>");
  EXPECT_EQ(body("x^23"), "<mrow><msup><mi>x</mi><mn>2</mn></msup><mn>3</mn></mrow>");
  EXPECT_TRUE(contains(body("z_{1,2}"), "<msub><mi>z</mi><mrow><mn>1</mn><mo>,</mo><mn>2</mn></mrow></msub>"));
  EXPECT_TRUE(contains(body("f'"), "<msup><mi>f</mi><mo>′</mo></msup>"));
  // The engine prints (e^x)^{-1} as e^{x}^{-1}: the second script nests.
  EXPECT_EQ(body("e^{x}^{-1}"),
            "<msup><msup><mi>e</mi><mrow><mi>x</mi></mrow></msup><mrow><mo>−</mo><mn>1</mn></mrow></msup>");
}

TEST(MathML, SumWithLimits) {
  EXPECT_EQ(body("\\sum_{j} z_{j}"),
            "<mrow><munder><mo movablelimits=\"true\">∑</mo><mrow><mi>j</mi></mrow></munder>"
            "<msub><mi>z</mi><mrow><mi>j</mi></mrow></msub></mrow>");
  EXPECT_TRUE(contains(body("\\sum_{j=1}^{n} x_j"), "<munderover><mo movablelimits=\"true\">∑</mo>"));
}

TEST(MathML, GreekPartialDelta) {
  EXPECT_EQ(body("\\alpha\\beta\\sigma\\tau\\theta\\lambda\\varepsilon"),
            "<mrow><mi>α</mi><mi>β</mi><mi>σ</mi><mi>τ</mi><mi>θ</mi><mi>λ</mi><mi>ε</mi></mrow>");
  EXPECT_EQ(body("\\Sigma"), "<mi mathvariant=\"normal\">Σ</mi>");
  EXPECT_EQ(body("\\delta_{ij}"), "<msub><mi>δ</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub>");
  EXPECT_TRUE(contains(body("\\frac{\\partial L}{\\partial z_i}"),
                       "<mfrac><mrow><mo rspace=\"0\">∂</mo><mi>L</mi></mrow><mrow><mo rspace=\"0\">∂</mo><msub>"));
}

TEST(MathML, Functions) {
  EXPECT_EQ(body("\\log x"), "<mrow><mi>log</mi><mo>\u2061</mo><mi>x</mi></mrow>");
  EXPECT_TRUE(contains(body("\\exp(z)"), "<mi>exp</mi><mo>\u2061</mo><mo>(</mo>"));
  EXPECT_TRUE(contains(body("\\log\\left(\\sum_{j} e^{z_{j}}\\right)"),
                       "<mi>log</mi><mo>\u2061</mo><mrow><mo fence=\"true\" stretchy=\"true\">(</mo><munder>"));
  EXPECT_EQ(body("e^{z_1}"), "<msup><mi>e</mi><mrow><msub><mi>z</mi><mn>1</mn></msub></mrow></msup>");
  EXPECT_TRUE(contains(body("\\max_{k} z_k"), "<munder><mi>max</mi><mrow><mi>k</mi></mrow></munder><mo>\u2061</mo>"));
}

TEST(MathML, Fences) {
  EXPECT_EQ(body("\\left(a\\right)"),
            "<mrow><mo fence=\"true\" stretchy=\"true\">(</mo><mi>a</mi><mo fence=\"true\" stretchy=\"true\">)</mo></mrow>");
  EXPECT_TRUE(contains(body("\\left[a\\right]"), "[</mo><mi>a</mi><mo fence=\"true\" stretchy=\"true\">]</mo>"));
  EXPECT_TRUE(contains(body("\\left\\{a\\right."), "{</mo><mi>a</mi></mrow>"));
  EXPECT_TRUE(contains(body("\\left(\\left(a\\right)_k - b\\right)"), "<msub><mrow><mo fence"));
}

TEST(MathML, Accents) {
  EXPECT_EQ(body("\\bar{g}"), "<mover accent=\"true\"><mrow><mi>g</mi></mrow><mo stretchy=\"false\">¯</mo></mover>");
  EXPECT_TRUE(contains(body("\\tilde{y}"), "<mo stretchy=\"false\">˜</mo></mover>"));
  EXPECT_TRUE(contains(body("\\hat{y}"), "<mo stretchy=\"false\">^</mo></mover>"));
}

TEST(MathML, TextAndRoman) {
  EXPECT_EQ(body("\\text{if } i"), "<mrow><mtext>if\u00A0</mtext><mi>i</mi></mrow>");
  EXPECT_EQ(body("\\mathrm{d}x"), "<mrow><mi mathvariant=\"normal\">d</mi><mi>x</mi></mrow>");
  EXPECT_EQ(body("\\mathrm{softmax}"), "<mi>softmax</mi>");
  EXPECT_EQ(body("\\operatorname{softmax}(z)"), "<mrow><mi>softmax</mi><mo>\u2061</mo><mo>(</mo><mi>z</mi><mo>)</mo></mrow>");
  EXPECT_EQ(body("\\text{a < b}"), "<mtext>a &lt; b</mtext>");
}

TEST(MathML, Spaces) {
  EXPECT_EQ(body("a\\,b"), "<mrow><mi>a</mi><mspace width=\"0.1667em\"/><mi>b</mi></mrow>");
  EXPECT_TRUE(contains(body("a\\quad b\\qquad c"), "<mspace width=\"1em\"/><mi>b</mi><mspace width=\"2em\"/>"));
  EXPECT_TRUE(contains(body("k,\\ k = 1..3"), "<mo>,</mo><mspace width=\"0.25em\"/><mi>k</mi>"));
}

TEST(MathML, Cases) {
  const std::string b = body("\\begin{cases} 1 & \\text{if } i = j \\\\ 0 & \\text{if } i \\neq j \\end{cases}");
  EXPECT_EQ(b, "<mrow><mo>{</mo><mtable columnalign=\"left left\">"
               "<mtr><mtd><mn>1</mn></mtd><mtd><mrow><mtext>if\u00A0</mtext><mi>i</mi><mo>=</mo><mi>j</mi></mrow></mtd></mtr>"
               "<mtr><mtd><mn>0</mn></mtd><mtd><mrow><mtext>if\u00A0</mtext><mi>i</mi><mo>≠</mo><mi>j</mi></mrow></mtd></mtr>"
               "</mtable></mrow>");
}

TEST(MathML, Matrices) {
  EXPECT_TRUE(contains(body("\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}"),
                       "<mrow><mo>(</mo><mtable><mtr><mtd><mi>a</mi></mtd><mtd><mi>b</mi></mtd></mtr>"));
  EXPECT_TRUE(contains(body("\\begin{bmatrix} 1 \\end{bmatrix}"), "<mo>[</mo><mtable>"));
}

TEST(MathML, UnicodeInSource) {
  // Names such as ∂L/∂z and the … of an abbreviated formula reach the LaTeX.
  EXPECT_EQ(body("∂L/∂z"), "<mrow><mo rspace=\"0\">∂</mo><mi>L</mi><mo>/</mo><mo rspace=\"0\">∂</mo><mi>z</mi></mrow>");
  EXPECT_TRUE(contains(body("a … (12 characters) … b"), "<mo>…</mo>"));
  EXPECT_EQ(body("g\u0304"), "<mi>g\u0304</mi>");
  EXPECT_EQ(body("ỹ"), "<mi>ỹ</mi>");
}

TEST(MathML, UnknownCommandsAreShownAndReported) {
  const MathML m = latex_to_mathml("a \\foo b \\begin{weird} x \\end{weird}");
  EXPECT_EQ(xml_balance(m.xml), "");
  EXPECT_TRUE(contains(m.xml, "<mtext class=\"unknown\">\\foo</mtext>")) << m.xml;
  ASSERT_EQ(m.problems.size(), 2u);
  EXPECT_EQ(m.problems[0], "unknown command \\foo");
  EXPECT_EQ(m.problems[1], "unknown environment weird");
}

TEST(MathML, MalformedInputIsReportedNotFatal) {
  for (const char* bad : {"{a", "a}", "\\frac{1}", "\\left( a", "a \\right)", "x^", "\\", "a & b", "\\\\", "\\end{cases}",
                          "\\begin{cases} a", "\\text{abc"}) {
    const MathML m = latex_to_mathml(bad);
    EXPECT_FALSE(m.problems.empty()) << bad;
    EXPECT_EQ(xml_balance(m.xml), "") << bad << "\n" << m.xml;
  }
  // Deep nesting is bounded: the part beyond the limit is shown as text.
  std::string deep;
  for (int k = 0; k < 5000; ++k) deep += "{";
  deep += "x";
  for (int k = 0; k < 5000; ++k) deep += "}";
  const MathML m = latex_to_mathml(deep);
  EXPECT_FALSE(m.problems.empty());
  EXPECT_EQ(xml_balance(m.xml), "");
}

void expect_converts(const std::string& latex, const std::string& where) {
  if (latex.empty()) return;
  const MathML m = latex_to_mathml(latex, true);
  EXPECT_TRUE(m.problems.empty()) << where << ": " << latex << "\n  " << (m.problems.empty() ? "" : m.problems.front());
  EXPECT_EQ(xml_balance(m.xml), "") << where << ": " << latex;
}

void expect_proof_converts(const Proof& p, const std::string& where) {
  expect_converts(p.residual_latex, where + " residual");
  for (const ProofStep& s : p.steps) {
    expect_converts(s.latex_before, where + " " + s.rule);
    expect_converts(s.latex_after, where + " " + s.rule);
  }
}

// Everything the index calculus prints, for every identity and route, with
// and without the hypothesis (so unproven residuals are covered too).
TEST(MathML, EveryFormulaOfTheEveryNProofsConverts) {
  for (const std::string& identity : every_n_identities()) {
    for (const std::string& route : every_n_routes(identity)) {
      for (bool hypothesis : {true, false}) {
        expect_proof_converts(prove_every_n(identity, route, hypothesis), identity + "/" + route);
      }
    }
  }
}

// Everything the polynomial prover prints (fixed n).
TEST(MathML, EveryFormulaOfTheFixedNProofsConverts) {
  for (const IdentityInfo& info : identities()) {
    ProveOptions options;
    options.classes = 3;
    options.check_steps = false;
    expect_proof_converts(prove_identity(info.name, options), info.name);
    options.use_hypothesis = false;
    expect_proof_converts(prove_identity(info.name, options), info.name + " without hypothesis");
  }
}

TEST(MathML, RationalLatexConverts) {
  expect_converts(to_latex(Rational(-3, 7)), "rational");
  EXPECT_TRUE(contains(body(to_latex(Rational(-3, 7))), "<mo>−</mo><mfrac><mrow><mn>3</mn></mrow><mrow><mn>7</mn></mrow></mfrac>"));
}

}  // namespace
}  // namespace ddx
