// The Report model and its renderers: every block kind in every format,
// golden files, determinism, escaping, the LaTeX text mapping, and the
// structure of the LaTeX and HTML output.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "derivations/every_n.hpp"
#include "derivations/identities.hpp"
#include "derivations/inputs.hpp"
#include "derivations/report.hpp"

namespace ddx::report {
namespace {

namespace fs = std::filesystem;

fs::path golden_dir() { return fs::path(__FILE__).parent_path() / "golden"; }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A report with every block kind, Unicode in text and math, and the
// characters each format must escape.
Report sample_report() {
  Report r{.name = "sample",
           .title = "Softmax & cross-entropy: ∂L/∂z = p − y",
           .summary = "A small report with every block kind; 50% of it is math, costs $0 and uses x_1 {braces}."};
  Section& intro = r.section("The claim");
  intro.add(paragraph("For logits ", math("z \\in \\mathbb{R}^n", "z ∈ ℝⁿ"), " and targets with ",
                      math("\\sum_{j} y_{j} = 1", "Σⱼ yⱼ = 1"), ", the gradient in ", ref("grad"),
                      " is what ", code("ddx derive softmax-ce"), " checks; ", emph("no"), " fused op is used."));
  intro.add(display(math("p_i = \\frac{e^{z_i}}{\\sum_{j} e^{z_j}}", "pᵢ = exp(zᵢ)/Σⱼ exp(zⱼ)"), "softmax"));
  intro.add(display(math("\\frac{\\partial L}{\\partial z_i} = p_i - y_i", "∂L/∂zᵢ = pᵢ − yᵢ"), "grad"));
  intro.add(paragraph("Equation ", ref("softmax"), " defines p; special text: a|b, <tag> & \"quotes\", # % ~ ^ \\ _ { }."));

  Section& proof = r.section("Derivation");
  proof.add(Steps{.steps = {
                      Step{.rule = "chain-rule",
                           .before = math("\\frac{\\partial L}{\\partial z_i}", "∂L/∂zᵢ"),
                           .after = math("-\\sum_{j} \\frac{y_j}{p_j} \\frac{\\partial p_j}{\\partial z_i}",
                                         "−Σⱼ (yⱼ/pⱼ)·∂pⱼ/∂zᵢ"),
                           .check_passed = true,
                           .check = "50 digits, 8 points; max |difference| 2e-50"},
                      Step{.rule = "softmax-jacobian",
                           .before = math("-\\sum_{j} \\frac{y_j}{p_j} \\frac{\\partial p_j}{\\partial z_i}",
                                          "−Σⱼ (yⱼ/pⱼ)·∂pⱼ/∂zᵢ"),
                           .after = math("-\\sum_{j} y_j \\left(\\delta_{ij} - p_i\\right)", "−Σⱼ yⱼ(δᵢⱼ − pᵢ)"),
                           .check_passed = true,
                           .check = "50 digits, 8 points"},
                      Step{.rule = "hypothesis",
                           .after = math("p_i - y_i", "pᵢ − yᵢ"),
                           .uses = "Σⱼ yⱼ = 1",
                           .check_passed = false,
                           .check = "max |difference| 0.5 > 1e-40"},
                  }});
  Section& sub = proof.subsection("Checks");
  sub.add(Table{.caption = "Numeric checks | at two precisions",
                .header = {"check", "precision", "max |error|"},
                .rows = {Row{.cells = {std::string("softmax sums to 1"), std::string("double"), math("0", "0")},
                             .passed = true},
                         Row{.cells = {std::string("gradient = p − y"), std::string("50"),
                                       math("6.68 \\cdot 10^{-52}", "6.68·10⁻⁵²")},
                             .passed = false},
                         Row{.cells = {std::string("a|b"), std::string("x_1"), math("|x|", "|x|")}}}});
  sub.add(Figure{.caption = "The graph of L",
                 .dot = "digraph G {\n  z -> \"exp\" [label=\"ḡ\"];\n}\n"});
  sub.add(Verdict{.passed = true, .text = "proven: ∂L/∂z = p − y"});
  sub.add(code_block("$ ddx derive softmax-ce --logits 2,1,0.1\nVerdict: proven\n", "sh"));
  sub.add(display(math("\\sum_{j} p_j = 1", "Σⱼ pⱼ = 1")));
  return r;
}

// ---- a tiny XML well-formedness check: balanced tags, no stray '<' -------

// Returns "" when every tag is closed in order, else what is wrong. Void HTML
// elements (meta) and self-closing tags need no end tag; <!...> is skipped.
std::string xml_balance(const std::string& s) {
  std::vector<std::string> stack;
  std::size_t i = 0;
  while ((i = s.find('<', i)) != std::string::npos) {
    const std::size_t end = s.find('>', i);
    if (end == std::string::npos) return "unclosed '<' at " + std::to_string(i);
    std::string tag = s.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.empty()) return "empty tag";
    if (tag[0] == '!' || tag[0] == '?') continue;
    const bool closing = tag[0] == '/';
    const bool self_closing = tag.back() == '/';
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" /\n"));
    if (name == "meta" || name == "br") continue;
    if (self_closing) continue;
    if (!closing) {
      stack.push_back(name);
    } else {
      if (stack.empty() || stack.back() != name) return "</" + name + "> does not close <" + (stack.empty() ? "" : stack.back()) + ">";
      stack.pop_back();
    }
  }
  if (!stack.empty()) return "<" + stack.back() + "> not closed";
  return "";
}

// LaTeX: braces balanced outside verbatim, ignoring escaped \{ \}.
std::string latex_balance(const std::string& s) {
  int depth = 0;
  bool verbatim = false;
  std::istringstream in(s);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line == "\\begin{verbatim}") verbatim = true;
    if (line == "\\end{verbatim}") {
      verbatim = false;
      continue;
    }
    if (verbatim) continue;
    for (std::size_t k = 0; k < line.size(); ++k) {
      if (line[k] == '\\') {
        ++k;  // skips \{ \} \\ and the first letter of a command
        continue;
      }
      if (line[k] == '%') break;
      if (line[k] == '{') ++depth;
      if (line[k] == '}' && --depth < 0) return "unbalanced '}' on line " + std::to_string(number);
    }
  }
  return depth == 0 ? "" : "unclosed '{'";
}

void check_golden(const std::string& name, const std::string& actual) {
  const fs::path path = golden_dir() / name;
  if (std::getenv("DDX_UPDATE_GOLDEN")) {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(path)) << path << " is missing: run with DDX_UPDATE_GOLDEN=1 and review it";
  EXPECT_EQ(read_file(path), actual) << "output differs from " << path
                                     << " (run with DDX_UPDATE_GOLDEN=1 to rewrite it, then review the diff)";
}

// ---- tests -------------------------------------------------------------------

TEST(Report, EveryFormatMatchesItsGoldenFile) {
  const Report r = sample_report();
  check_golden("report_sample.txt", render(r, "text"));
  check_golden("report_sample.md", render(r, "md"));
  check_golden("report_sample.tex", render(r, "tex"));
  check_golden("report_sample.html", render(r, "html"));
  check_golden("report_sample.json", render(r, "json"));
}

TEST(Report, RenderingIsDeterministic) {
  for (const std::string& f : formats()) {
    EXPECT_EQ(render(sample_report(), f), render(sample_report(), f)) << f;
  }
}

TEST(Report, UnknownFormatNamesTheKnownOnes) {
  try {
    render(sample_report(), "pdf");
    FAIL() << "no exception";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("--format: 'pdf'"), std::string::npos) << m;
    EXPECT_NE(m.find("text, md, tex, html, json"), std::string::npos) << m;
  }
  EXPECT_THROW(render(sample_report(), ""), std::invalid_argument);
}

TEST(Report, EquationsAreNumberedInOrderAndReferencesResolve) {
  const Report r = sample_report();
  const std::string text = render_text(r);
  EXPECT_NE(text.find("(1)"), std::string::npos);
  EXPECT_NE(text.find("(3)"), std::string::npos);  // the last equation, in a subsection
  EXPECT_NE(text.find("the gradient in (2) is"), std::string::npos) << text;
  EXPECT_NE(text.find("Equation (1) defines p"), std::string::npos) << text;
  const std::string html = render_html(r);
  EXPECT_NE(html.find("<a href=\"#eq-2\">(2)</a>"), std::string::npos);
  EXPECT_NE(html.find("id=\"eq-3\""), std::string::npos);
  const auto j = nlohmann::json::parse(render_json(r));
  EXPECT_EQ(j["sections"][0]["blocks"][2]["number"], 2);
  EXPECT_EQ(j["sections"][0]["blocks"][0]["runs"][5]["number"], 2);
}

TEST(Report, UnknownOrDuplicateLabelsThrow) {
  Report r;
  r.section("s").add(paragraph("see ", ref("nowhere")));
  for (const std::string& f : formats()) EXPECT_THROW(render(r, f), std::invalid_argument) << f;
  Report twice;
  twice.section("s").add(display(math("a", "a"), "x")).add(display(math("b", "b"), "x"));
  EXPECT_THROW(render_text(twice), std::invalid_argument);
}

TEST(Report, TextAlignsTableColumnsByDisplayWidth) {
  Report r;
  r.section("s").add(Table{.caption = "c",
                           .header = {"name", "value"},
                           .rows = {Row{.cells = {std::string("Σⱼ yⱼ"), std::string("1")}},
                                    Row{.cells = {std::string("abcdef"), std::string("2")}}}});
  const std::string t = render_text(r);
  EXPECT_NE(t.find("  name    value\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  Σⱼ yⱼ   1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  abcdef  2\n"), std::string::npos) << t;
  EXPECT_EQ(display_width("Σⱼ yⱼ"), 5u);
  EXPECT_EQ(display_width("g\u0304"), 1u);
}

TEST(Report, MarkdownEscapesPipesAndMarkup) {
  const std::string md = render_markdown(sample_report());
  EXPECT_NE(md.find("| a\\|b | x\\_1 | $`\\|x\\|`$ |"), std::string::npos) << md;
  EXPECT_NE(md.find("**Table 1.** Numeric checks \\| at two precisions"), std::string::npos);
  EXPECT_NE(md.find("costs \\$0 and uses x\\_1"), std::string::npos);
  EXPECT_NE(md.find("\\<tag\\> & \"quotes\""), std::string::npos);
  EXPECT_NE(md.find("```math\n\\frac{\\partial L}{\\partial z_i} = p_i - y_i \\qquad (2)\n```"), std::string::npos);
  EXPECT_NE(md.find("```dot\n"), std::string::npos);
  EXPECT_NE(md.find("$`\\sum_{j} y_{j} = 1`$"), std::string::npos);
}

TEST(Report, MarkdownFencesOutgrowBackticksInside) {
  Report r;
  r.section("s").add(code_block("a ``` b", "")).add(paragraph(code("x`y")));
  const std::string md = render_markdown(r);
  EXPECT_NE(md.find("````\na ``` b\n````\n"), std::string::npos) << md;
  EXPECT_NE(md.find("`` x`y ``"), std::string::npos) << md;
}

TEST(Report, HtmlEscapesAndIsSelfContained) {
  const std::string html = render_html(sample_report());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n", 0), 0u);
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(html.find("&lt;tag&gt; &amp; &quot;quotes&quot;"), std::string::npos);
  EXPECT_NE(html.find("<title>Softmax &amp; cross-entropy"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_NE(html.find("<math xmlns=\"http://www.w3.org/1998/Math/MathML\" display=\"block\""), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"fail\">"), std::string::npos);
  EXPECT_NE(html.find("<pre class=\"dot\">digraph G {\n  z -&gt; &quot;exp&quot;"), std::string::npos);
  EXPECT_EQ(html.find("class=\"unknown\""), std::string::npos) << "a formula did not convert to MathML";
  EXPECT_EQ(xml_balance(html), "");
}

TEST(Report, HtmlEmbedsTheSvgWhenPresent) {
  Report r;
  r.section("s").add(Figure{.caption = "g",
                            .dot = "digraph { a }",
                            .svg = "<?xml version=\"1.0\"?>\n<!-- c -->\n<svg width=\"1\"><g id=\"node-1\"></g></svg>\n"});
  const std::string html = render_html(r);
  EXPECT_NE(html.find("<svg width=\"1\"><g id=\"node-1\"></g></svg>"), std::string::npos) << html;
  EXPECT_EQ(html.find("<?xml"), std::string::npos);
  EXPECT_EQ(html.find("<pre class=\"dot\">"), std::string::npos);
}

TEST(Report, LatexEscapesTextSpecials) {
  EXPECT_EQ(latex_escape_text("# $ % & _ { } ~ ^ \\"),
            "\\# \\$ \\% \\& \\_ \\{ \\} \\textasciitilde{} \\textasciicircum{} \\textbackslash{}");
  EXPECT_EQ(latex_escape_text("a<b>c|d"), "a$<$b$>$c$|$d");
}

TEST(Report, LatexMapsUnicodeInText) {
  EXPECT_EQ(latex_escape_text("Σⱼ yⱼ = 1"), "$\\Sigma_{j}$ y$_{j}$ = 1");
  EXPECT_EQ(latex_escape_text("∂L/∂zᵢ"), "$\\partial$L/$\\partial$z$_{i}$");
  EXPECT_EQ(latex_escape_text("ḡ and g\u0304"), "$\\bar{g}$ and $\\bar{g}$");
  EXPECT_EQ(latex_escape_text("z₁₂ x²"), "z$_{12}$ x$^{2}$");
  EXPECT_EQ(latex_escape_text("a − b · c"), "a $-$ b $\\cdot$ c");
  EXPECT_EQ(latex_escape_text("≈ ≤ ≠ ∞ →"), "$\\approx$ $\\le$ $\\neq$ $\\infty$ $\\to$");
  EXPECT_EQ(latex_escape_text("10⁻⁵²"), "10$^{-52}$");
  EXPECT_EQ(latex_escape_text("δᵢⱼ"), "$\\delta_{ij}$");
  EXPECT_EQ(latex_escape_text("ỹ — ok"), "$\\tilde{y}$ --- ok");
  EXPECT_EQ(latex_escape_text("✓ 😀"), "$\\checkmark$ $?$");
  EXPECT_EQ(latex_math_ascii("\\frac{∂L}{∂z} … \\sum_j"), "\\frac{\\partial L}{\\partial z} \\ldots \\sum_j");
  EXPECT_EQ(latex_math_ascii("x_{1,2} + θ"), "x_{1,2} + \\theta");
  EXPECT_EQ(latex_math_ascii("∂L θx"), "\\partial L \\theta x");
  // \text{…} holds text: specials escaped, Unicode mapped as in text.
  EXPECT_EQ(latex_math_ascii("x \\text{if } i \\neq j"), "x \\text{if } i \\neq j");
  EXPECT_EQ(latex_math_ascii("\\text{%3 has 50% of Σⱼ, a_b \\% ~} + σ"),
            "\\text{\\%3 has 50\\% of $\\Sigma_{j}$, a\\_b \\% \\textasciitilde{}} + \\sigma");
  // The engine prints (e^x)^{-1} as e^{x}^{-1}: TeX needs an empty group between.
  EXPECT_EQ(latex_math_ascii("y e^{x}^{-1} + a_{i}_{j} + b^{c^{2}}"), "y e^{x}{}^{-1} + a_{i}{}_{j} + b^{c^{2}}");
}

TEST(Report, LatexIsAStandaloneAsciiDocument) {
  const std::string tex = render_latex(sample_report());
  EXPECT_EQ(tex.rfind("\\documentclass", 0), 0u);
  const std::size_t begin = tex.find("\\begin{document}");
  const std::size_t end = tex.find("\\end{document}");
  ASSERT_NE(begin, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  EXPECT_LT(begin, end);
  EXPECT_EQ(tex.substr(end), "\\end{document}\n");
  for (std::size_t k = 0; k < tex.size(); ++k)
    ASSERT_LT(static_cast<unsigned char>(tex[k]), 0x80u) << "non-ASCII at " << k << ": " << tex.substr(k > 40 ? k - 40 : 0, 80);
  EXPECT_EQ(latex_balance(tex), "");
  // Packages: only standard ones.
  for (const char* pkg : {"inputenc", "amsmath", "amssymb", "geometry"})
    EXPECT_NE(tex.find(std::string("{") + pkg + "}"), std::string::npos) << pkg;
  EXPECT_NE(tex.find("costs \\$0 and uses x\\_1 \\{braces\\}"), std::string::npos);
  EXPECT_NE(tex.find("\\tag{2}"), std::string::npos);
  // Unicode DOT source is not put in verbatim (pdflatex cannot map it there).
  EXPECT_NE(tex.find("label=\"$\\bar{g}$\""), std::string::npos) << tex;
  // Unescaped $ pair up on each line outside verbatim.
  std::istringstream in(tex);
  std::string line;
  bool verbatim = false;
  while (std::getline(in, line)) {
    if (line == "\\begin{verbatim}") verbatim = true;
    if (line == "\\end{verbatim}") verbatim = false;
    if (verbatim) continue;
    int dollars = 0;
    for (std::size_t k = 0; k < line.size(); ++k) {
      if (line[k] == '\\') ++k;
      else if (line[k] == '$') ++dollars;
    }
    EXPECT_EQ(dollars % 2, 0) << line;
  }
}

TEST(Report, LatexCompilesWithPdflatex) {
  if (std::system("command -v pdflatex >/dev/null 2>&1") != 0) GTEST_SKIP() << "pdflatex is not installed";
  const fs::path dir = fs::temp_directory_path() / ("ddx_report_tex_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "report.tex") << render_latex(sample_report());
  const std::string command = "cd '" + dir.string() +
                              "' && pdflatex -interaction=nonstopmode -halt-on-error report.tex >report.out 2>&1";
  const int status = std::system(command.c_str());
  EXPECT_EQ(status, 0) << read_file(dir / "report.out");
  EXPECT_TRUE(fs::exists(dir / "report.pdf"));
  fs::remove_all(dir);
}

TEST(Report, JsonHasTheStructure) {
  const auto j = nlohmann::json::parse(render_json(sample_report()));
  EXPECT_EQ(j["name"], "sample");
  ASSERT_EQ(j["sections"].size(), 2u);
  const auto& blocks = j["sections"][1]["subsections"][0]["blocks"];
  EXPECT_EQ(blocks[0]["type"], "table");
  EXPECT_EQ(blocks[0]["rows"][1]["passed"], false);
  EXPECT_TRUE(blocks[0]["rows"][2]["passed"].is_null());
  EXPECT_EQ(blocks[1]["type"], "figure");
  EXPECT_EQ(blocks[2]["type"], "verdict");
  EXPECT_EQ(blocks[3]["type"], "code");
  EXPECT_EQ(blocks[4]["number"], 3);
  EXPECT_EQ(j["sections"][1]["blocks"][0]["steps"][2]["uses"], "Σⱼ yⱼ = 1");
}

TEST(Report, StepsFromProofMapEveryField) {
  Proof p;
  p.steps.push_back(ProofStep{.rule = "r1",
                              .before = "a",
                              .after = "b",
                              .latex_before = "A",
                              .latex_after = "B",
                              .uses = "u",
                              .numeric_check_passed = true,
                              .numeric_check = "ok"});
  p.steps.push_back(ProofStep{.rule = "r2", .after = "c", .latex_after = "C", .numeric_check = "not checked"});
  const Steps s = steps_from_proof(p);
  ASSERT_EQ(s.steps.size(), 2u);
  EXPECT_EQ(s.steps[0].rule, "r1");
  EXPECT_EQ(s.steps[0].before.latex, "A");
  EXPECT_EQ(s.steps[0].before.text, "a");
  EXPECT_EQ(s.steps[0].after.latex, "B");
  EXPECT_EQ(s.steps[0].uses, "u");
  EXPECT_EQ(s.steps[0].check_passed, std::optional<bool>(true));
  EXPECT_EQ(s.steps[0].check, "ok");
  EXPECT_EQ(s.steps[1].check_passed, std::nullopt);
}

// Reports built from the engine's real proofs: every formula the provers
// print goes through every renderer; the LaTeX stays ASCII with balanced
// braces and the HTML has no formula MathML could not convert.
void expect_proof_renders(const Proof& p, const std::string& where) {
  Report r{.name = "proof", .title = p.identity};
  r.section("Proof").add(steps_from_proof(p)).add(display(math(p.residual_latex, p.residual))).add(verdict(p.proven, p.identity));
  const std::string tex = render_latex(r);
  for (std::size_t k = 0; k < tex.size(); ++k)
    ASSERT_LT(static_cast<unsigned char>(tex[k]), 0x80u) << where << ": non-ASCII in " << tex.substr(k > 40 ? k - 40 : 0, 80);
  EXPECT_EQ(latex_balance(tex), "") << where;
  const std::string html = render_html(r);
  EXPECT_EQ(html.find("class=\"unknown\""), std::string::npos) << where;
  EXPECT_EQ(xml_balance(html), "") << where;
  for (const std::string& f : formats()) EXPECT_FALSE(render(r, f).empty());
}

TEST(Report, EngineProofsRenderInEveryFormat) {
  for (const std::string& identity : every_n_identities())
    for (const std::string& route : every_n_routes(identity))
      expect_proof_renders(prove_every_n(identity, route), identity + "/" + route);
  for (const IdentityInfo& info : identities()) {
    ProveOptions options;
    options.check_steps = false;
    expect_proof_renders(prove_identity(info.name, options), info.name);
  }
}

}  // namespace
}  // namespace ddx::report
