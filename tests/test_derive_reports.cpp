// The derivation catalogue: every derivation builds a report that renders in
// every format, deterministically; the softmax–cross-entropy report covers
// what it promises, in order; `ddx derive --format/-o` and its errors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "derivations/catalogue.hpp"
#include "run_ddx.hpp"

namespace ddx {
namespace {

using namespace report;
using testing::run_ddx;
namespace fs = std::filesystem;

// Each derivation's default report, built once (the proofs take a second or two).
const Report& report_of(const std::string& name) {
  static std::map<std::string, Report> built;
  auto it = built.find(name);
  if (it == built.end()) it = built.emplace(name, find_derivation(name).build(DerivationArguments{})).first;
  return it->second;
}

template <class B> std::vector<const B*> blocks_of(const Section& s) {
  std::vector<const B*> out;
  for (const Block& b : s.blocks)
    if (const auto* x = std::get_if<B>(&b)) out.push_back(x);
  for (const Section& sub : s.subsections)
    for (const B* x : blocks_of<B>(sub)) out.push_back(x);
  return out;
}
template <class B> std::vector<const B*> blocks_of(const Report& r) {
  std::vector<const B*> out;
  for (const Section& s : r.sections)
    for (const B* x : blocks_of<B>(s)) out.push_back(x);
  return out;
}

const Section& section(const Report& r, const std::string& title) {
  for (const Section& s : r.sections)
    if (s.title == title) return s;
  throw std::out_of_range("no section " + title);
}

std::vector<std::string> rules_of(const Section& s) {
  std::vector<std::string> out;
  for (const Steps* steps : blocks_of<Steps>(s))
    for (const Step& step : steps->steps) out.push_back(step.rule);
  return out;
}

bool has_rule(const Section& s, const std::string& rule) {
  for (const std::string& r : rules_of(s))
    if (r.find(rule) != std::string::npos) return true;
  return false;
}

class EveryDerivation : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryDerivation, RendersInEveryFormatWithEveryVerdictPassing) {
  const Report& r = report_of(GetParam());
  EXPECT_EQ(r.name, GetParam());
  EXPECT_FALSE(r.title.empty());
  ASSERT_FALSE(r.sections.empty());
  const auto verdicts = blocks_of<Verdict>(r);
  ASSERT_FALSE(verdicts.empty()) << "a report states what it found";
  for (const Verdict* v : verdicts) EXPECT_TRUE(v->passed) << v->text;
  for (const std::string& format : formats()) {
    const std::string out = render(r, format);
    EXPECT_GT(out.size(), 1000u) << format;
    EXPECT_EQ(out, render(r, format)) << format << ": rendering is a pure function";
  }
  // Structure survives into JSON; LaTeX is a whole document in ASCII.
  const auto json = nlohmann::json::parse(render(r, "json"));
  EXPECT_EQ(json["sections"].size(), r.sections.size());
  const std::string tex = render(r, "tex");
  EXPECT_NE(tex.find("\\begin{document}"), std::string::npos);
  EXPECT_NE(tex.find("\\end{document}"), std::string::npos);
  EXPECT_TRUE(std::all_of(tex.begin(), tex.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
  const std::string html = render(r, "html");
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_FALSE(std::regex_search(html, std::regex("(src|href)=\"(https?:)?//"))) << "self-contained";
}

TEST_P(EveryDerivation, LatexCompilesWhenPdflatexIsInstalled) {
  if (std::system("command -v pdflatex >/dev/null 2>&1") != 0) GTEST_SKIP() << "pdflatex is not installed";
  const fs::path dir = fs::temp_directory_path() / ("ddx_derive_tex_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "report.tex") << render(report_of(GetParam()), "tex");
  const std::string command =
      "cd '" + dir.string() + "' && pdflatex -interaction=nonstopmode -halt-on-error report.tex >report.out 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << GetParam();
  EXPECT_TRUE(fs::exists(dir / "report.pdf"));
  fs::remove_all(dir);
}

TEST_P(EveryDerivation, BuildingTwiceGivesByteIdenticalReports) {
  const Report again = find_derivation(GetParam()).build(DerivationArguments{});
  EXPECT_EQ(render(again, "json"), render(report_of(GetParam()), "json"));
}

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const Derivation& d : derivations()) out.push_back(d.name);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Catalogue, EveryDerivation, ::testing::ValuesIn(names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(Catalogue, HasEveryDerivationTheIssueNames) {
  for (const char* name : {"softmax-ce", "temperature", "label-smoothing", "sigmoid-bce", "batch-mean", "log-softmax",
                           "mse-softmax", "seed-examples"})
    EXPECT_NO_THROW(find_derivation(name)) << name;
  try {
    find_derivation("softmax");
    FAIL() << "an unknown name must throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("known derivations: softmax-ce"), std::string::npos) << e.what();
  }
}

// ---- the softmax–cross-entropy report -------------------------------------------------

TEST(SoftmaxCeReport, SectionsComeInTheOrderOfTheDerivation) {
  const Report& r = report_of("softmax-ce");
  std::vector<std::string> titles;
  for (const Section& s : r.sections) titles.push_back(s.title);
  const std::vector<std::string> expected = {"The pipeline: logits → softmax → cross-entropy",
                                             "Definitions",
                                             "∂L/∂pⱼ",
                                             "The softmax Jacobian, by the quotient rule",
                                             "The chain rule: the sum over j",
                                             "The simplification to pᵢ − yᵢ",
                                             "The proof for every n",
                                             "The numeric proof",
                                             "The reverse-mode view",
                                             "When the targets do not sum to 1",
                                             "Why frameworks fuse softmax with cross-entropy"};
  EXPECT_EQ(titles, expected);
}

TEST(SoftmaxCeReport, EachSymbolicStepComesFromTheProverWithItsRule) {
  const Report& r = report_of("softmax-ce");
  EXPECT_TRUE(has_rule(section(r, "The softmax Jacobian, by the quotient rule"), "d-quotient"));
  EXPECT_TRUE(has_rule(section(r, "The softmax Jacobian, by the quotient rule"), "delta-cases"));
  EXPECT_TRUE(has_rule(section(r, "The chain rule: the sum over j"), "chain-rule"));
  EXPECT_TRUE(has_rule(section(r, "The chain rule: the sum over j"), "sum-hypothesis"));
  EXPECT_TRUE(has_rule(section(r, "The simplification to pᵢ − yᵢ"), "hypothesis"));
  for (const Section& s : r.sections)
    for (const Steps* steps : blocks_of<Steps>(s))
      for (const Step& step : steps->steps) {
        EXPECT_FALSE(step.rule.empty()) << s.title;
        EXPECT_FALSE(step.after.latex.empty()) << s.title << ": " << step.rule;
        if (step.check_passed) {
          EXPECT_TRUE(*step.check_passed) << s.title << ": " << step.rule;
        }
      }
  // The definitions are the provers' own, numbered and referred to.
  const auto defs = blocks_of<DisplayMath>(section(r, "Definitions"));
  ASSERT_EQ(defs.size(), 2u);
  EXPECT_NE(defs[0]->math.text.find("pⱼ := exp(zⱼ)/Σₖ exp(zₖ)"), std::string::npos) << defs[0]->math.text;
  EXPECT_NE(defs[1]->math.text.find("L := −Σⱼ yⱼ log pⱼ"), std::string::npos) << defs[1]->math.text;
}

TEST(SoftmaxCeReport, TheResidualWithoutTheHypothesisIsShown) {
  const Section& s = section(report_of("softmax-ce"), "When the targets do not sum to 1");
  const auto maths = blocks_of<DisplayMath>(s);
  ASSERT_FALSE(maths.empty());
  EXPECT_NE(maths.front()->math.text.find("y₁ + y₂ + y₃ − 1"), std::string::npos) << maths.front()->math.text;
}

TEST(SoftmaxCeReport, TheFigureHasValuesAndAdjointsAndTheSweepTableEveryNode) {
  const Section& s = section(report_of("softmax-ce"), "The reverse-mode view");
  const auto figures = blocks_of<Figure>(s);
  ASSERT_EQ(figures.size(), 1u);
  EXPECT_NE(figures[0]->dot.find("value [2, 1, 0.1]"), std::string::npos);
  EXPECT_NE(figures[0]->dot.find("ḡ 1"), std::string::npos) << "the loss's seed";
  if (std::system("command -v dot >/dev/null 2>&1") == 0) {
    EXPECT_NE(figures[0]->svg.find("<svg"), std::string::npos);
  }
  const auto tables = blocks_of<Table>(s);
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0]->rows.size(), 9u) << "the forward pass: every node of L";
  EXPECT_EQ(std::get<std::string>(tables[0]->rows.back().cells[0]), "L");
  EXPECT_EQ(tables[1]->rows.size(), 8u) << "every node the gradient flows through (y receives none), in sweep order";
  EXPECT_EQ(std::get<std::string>(tables[1]->rows.front().cells[3]), "seed: ḡ = 1");
}

// At n = 10 the figure still draws one box per tensor node, with abbreviated values.
TEST(SoftmaxCeReport, TheFigureStaysLegibleAtTenClasses) {
  DerivationArguments a;
  a.logits = "1,2,3,4,5,6,7,8,9,10";
  a.target = "3";
  const Report r = softmax_ce_report(a);
  const auto figures = blocks_of<Figure>(section(r, "The reverse-mode view"));
  ASSERT_EQ(figures.size(), 1u);
  const std::string& dot = figures[0]->dot;
  std::size_t boxes = 0;
  for (std::size_t at = 0; (at = dot.find("[id=\"node-", at)) != std::string::npos; ++at) ++boxes;
  EXPECT_EQ(boxes, 9u);
  EXPECT_NE(dot.find("…"), std::string::npos) << "ten values are abbreviated";
}

// The overflow table's thresholds follow from log of the largest float and double.
TEST(SoftmaxCeReport, OverflowAppearsWhereExpExceedsTheLargestFloat) {
  const Section& s = section(report_of("softmax-ce"), "Why frameworks fuse softmax with cross-entropy");
  const auto tables = blocks_of<Table>(s);
  ASSERT_EQ(tables.size(), 1u);
  for (const Row& row : tables[0]->rows) {
    const double top = std::stod(std::get<std::string>(row.cells[1]));
    const bool float_overflows = top > std::log(std::numeric_limits<float>::max());
    const bool double_overflows = top > std::log(std::numeric_limits<double>::max());
    EXPECT_EQ(std::get<std::string>(row.cells[2]).starts_with("nan"), float_overflows) << top;
    EXPECT_EQ(std::get<std::string>(row.cells[3]).starts_with("nan"), double_overflows) << top;
    EXPECT_NE(std::get<std::string>(row.cells[4]), "nan") << "the fused form never overflows";
    EXPECT_TRUE(row.passed.value_or(false)) << top;
  }
}

TEST(SoftmaxCeReport, OptionsReachTheReport) {
  DerivationArguments a;
  a.logits = "1,2;3,0.5";
  a.target = "0;1";
  a.temperature = "2";
  a.classes = 4;
  const Report r = softmax_ce_report(a);
  const std::string text = render_text(r);
  EXPECT_NE(text.find("Row 1 of the batch"), std::string::npos);
  EXPECT_NE(text.find("zᵢ/T"), std::string::npos);
  EXPECT_NE(text.find("proven for n = 4"), std::string::npos);
  EXPECT_NE(text.find("(p − y)/(B·T)"), std::string::npos);
  EXPECT_NE(text.find("softmax(z/T)"), std::string::npos) << "the temperature's proof for every n";
}

// ---- the command line -------------------------------------------------------------------

TEST(DeriveCommand, WritesTheSameBytesToAFileAsToStandardOutput) {
  const fs::path file = fs::temp_directory_path() / ("ddx_derive_" + std::to_string(::getpid()) + ".md");
  const auto to_file = run_ddx("derive batch-mean --format md -o " + file.string());
  ASSERT_EQ(to_file.status, 0) << to_file.output;
  EXPECT_TRUE(to_file.output.empty());
  std::ifstream in(file);
  const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto to_stdout = run_ddx("derive batch-mean --format md");
  EXPECT_EQ(written, to_stdout.output);
  EXPECT_EQ(to_stdout.output, run_ddx("derive batch-mean --format md").output) << "byte-identical every time";
  fs::remove(file);
}

TEST(DeriveCommand, ListNamesEveryDerivation) {
  const auto run = run_ddx("derive --list");
  ASSERT_EQ(run.status, 0);
  for (const Derivation& d : derivations()) EXPECT_NE(run.output.find(d.name + " "), std::string::npos) << d.name;
}

TEST(DeriveCommand, BadUsageExitsWith2AndSaysWhy) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"derive softmax-ce --format pdf", "--format: 'pdf' is not one of text, md, tex, html, json"},
      {"derive seed-examples --logits 1,2", "do not apply"},
      {"derive softmax-ce --json --format md", "--json and --format"},
      {"derive softmax-ce --classes 1", "--classes"},
      {"derive temperature --samples 3", "--samples: only with softmax-ce"},
      {"derive softmax-ce --format md -o /nonexistent-dir/x.md", "/nonexistent-dir/x.md"},
  };
  for (const auto& [arguments, message] : cases) {
    const auto run = run_ddx(arguments);
    EXPECT_EQ(run.status, 2) << arguments << "\n" << run.output;
    EXPECT_NE(run.output.find(message), std::string::npos) << arguments << "\n" << run.output;
  }
}

TEST(DeriveCommand, AFailedCheckExitsWith1AndTheReportSaysWhere) {
  const auto run = run_ddx("derive softmax-ce --logits 1000,0,0 --target 0 --format md");
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("NOT proven"), std::string::npos);
  EXPECT_NE(run.output.find("produced inf"), std::string::npos);
}

}  // namespace
}  // namespace ddx
