// The HTML report in a real browser (labelled `browser`): headless Chromium
// loads `ddx derive softmax-ce --format html`, and the DOM it builds holds
// every formula as MathML and the figure as inline SVG, with nothing loaded
// from elsewhere; the screenshot shows a page, not a blank.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>

#include "browser.hpp"
#include "run_ddx.hpp"

namespace ddx {
namespace {

using namespace ddx::testing;

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = 0; (at = text.find(part, at)) != std::string::npos; at += part.size()) ++n;
  return n;
}

// Display equations and proof steps in the report's JSON: each shows at
// least one formula on the page.
std::size_t formula_blocks(const nlohmann::json& j) {
  std::size_t n = 0;
  if (j.is_object()) {
    if (j.contains("type") && j["type"] == "display_math") ++n;
    if (j.contains("type") && j["type"] == "steps") n += j["steps"].size();
    for (const auto& [key, value] : j.items()) n += formula_blocks(value);
  } else if (j.is_array()) {
    for (const auto& value : j) n += formula_blocks(value);
  }
  return n;
}

// `ddx derive NAME --format html` written into dir.
std::filesystem::path write_report(const std::string& name, const std::filesystem::path& dir) {
  const auto page = dir / (name + ".html");
  EXPECT_EQ(run_ddx("derive " + name + " --format html -o " + page.string()).status, 0);
  return page;
}

TEST(BrowserReport, TheDomHoldsTheMathAndTheFigureAndLoadsNothingElse) {
  DDX_REQUIRE_CHROMIUM();
  const auto dir = scratch_directory("ddx-browser-report");
  const auto page = write_report("softmax-ce", dir);
  const std::string html = read_file(page);

  const std::string dom = run_chromium("--dump-dom file://" + page.string(), dir / "profile");
  ASSERT_FALSE(dom.empty()) << "chromium printed nothing";
  // Chromium parsed every formula into a MathML element: as many <math> as the file has.
  const std::size_t maths = count(html, "<math");
  EXPECT_GT(maths, 50u) << "the report has dozens of formulas";
  EXPECT_EQ(count(dom, "<math"), maths);
  EXPECT_EQ(count(dom, "<merror"), 0u) << "no formula failed to convert";
  // The figure: inline SVG with a group per node of the composed graph.
  EXPECT_NE(dom.find("<svg"), std::string::npos);
  for (int id : {0, 3, 4, 5, 6, 7, 8, 9}) EXPECT_NE(dom.find("id=\"node-" + std::to_string(id) + "\""), std::string::npos) << id;
  EXPECT_EQ(count(dom, "<figure"), 1u);
  // Nothing to fetch: no scripts, no external images, stylesheets or fonts.
  EXPECT_EQ(dom.find("<script"), std::string::npos);
  EXPECT_FALSE(std::regex_search(dom, std::regex("(src|href)=\"(https?:)?//")));
  EXPECT_NE(dom.find("Verdict"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(BrowserReport, EveryFormulaOfTheReportIsOnThePage) {
  DDX_REQUIRE_CHROMIUM();
  const auto dir = scratch_directory("ddx-browser-report");
  const auto page = write_report("temperature", dir);
  const auto json = nlohmann::json::parse(run_ddx("derive temperature --format json").output);
  const std::string dom = run_chromium("--dump-dom file://" + page.string(), dir / "profile");
  EXPECT_GT(formula_blocks(json), 10u);
  EXPECT_GE(count(dom, "<math"), formula_blocks(json));
  EXPECT_EQ(count(dom, "<math"), count(read_file(page), "<math"));
  std::filesystem::remove_all(dir);
}

TEST(BrowserReport, TheScreenshotIsNotBlank) {
  DDX_REQUIRE_CHROMIUM();
  const auto dir = scratch_directory("ddx-browser-report");
  expect_screenshot_not_blank(write_report("softmax-ce", dir), dir);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ddx
