// The explain page in a real browser (labelled `browser`): headless Chromium
// loads the page, steps through the whole sweep with the keyboard and the
// buttons, and the adjoints the page then shows must equal the gradient.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>

#include "browser.hpp"
#include "run_ddx.hpp"

namespace ddx {
namespace {

using namespace ddx::testing;

const std::string kExample = "\"p = softmax(z); -sum(y*log(p))\" --wrt z --at \"z=[2,1,0.1]; y=[0,0,1]\"";

// The text of <pre id="selftest"> in the dumped DOM, as JSON.
nlohmann::json selftest_result(const std::string& dom) {
  const std::size_t open = dom.find("<pre id=\"selftest\">");
  if (open == std::string::npos) return nullptr;
  const std::size_t start = dom.find('>', open) + 1;
  std::string text = dom.substr(start, dom.find("</pre>", start) - start);
  // The serialised DOM escapes &, < and > in text; JSON of numbers has none of them.
  return nlohmann::json::parse(text, nullptr, false);
}

TEST(BrowserExplain, SteppingToTheEndShowsTheGradient) {
  DDX_REQUIRE_CHROMIUM();
  const auto dir = scratch_directory("ddx-browser-explain");
  const auto page = dir / "explain.html";
  ASSERT_EQ(run_ddx("explain " + kExample + " --format html -o " + page.string()).status, 0);

  const auto grad = run_ddx("grad " + kExample + " --json");
  ASSERT_EQ(grad.status, 0) << grad.output;
  const nlohmann::json gradient = nlohmann::json::parse(grad.output);
  std::string expected = "[";
  for (const auto& v : gradient.at("gradient").at("z"))
    expected += (expected.size() > 1 ? ", " : "") + v.get<std::string>();
  expected += "]";
  const auto steps = nlohmann::json::parse(run_ddx("explain " + kExample + " --format json").output).at("sweep").size();

  const std::string dom = run_chromium("--dump-dom file://" + page.string() + "#selftest", dir / "profile");
  ASSERT_FALSE(dom.empty()) << "chromium printed nothing";
  const nlohmann::json shown = selftest_result(dom);
  ASSERT_TRUE(shown.is_object()) << "the page's self-test did not run:\n" << dom.substr(0, 2000);
  EXPECT_EQ(shown.at("counter"), "Step " + std::to_string(steps) + " of " + std::to_string(steps));
  EXPECT_EQ(shown.at("adjoints").at("z"), expected);

  // The figure is inline SVG with one group per forward node, and the page
  // loaded nothing from elsewhere.
  EXPECT_NE(dom.find("<svg"), std::string::npos);
  for (int id = 0; id < 9; ++id) EXPECT_NE(dom.find("id=\"node-" + std::to_string(id) + "\""), std::string::npos) << id;
  EXPECT_EQ(dom.find("No figure"), std::string::npos);
  EXPECT_FALSE(std::regex_search(dom, std::regex("(src|href)=\"(https?:)?//")));
  std::filesystem::remove_all(dir);
}

TEST(BrowserExplain, FirstStepHighlightsTheLossAndTheScreenshotIsNotBlank) {
  DDX_REQUIRE_CHROMIUM();
  const auto dir = scratch_directory("ddx-browser-explain");
  const auto page = dir / "explain.html";
  ASSERT_EQ(run_ddx("explain " + kExample + " --format html -o " + page.string()).status, 0);

  // Without the self-test the page opens at step 1: the loss (node 8) is current
  // in the figure and in the table, and only the first step is shown.
  const std::string dom = run_chromium("--dump-dom file://" + page.string(), dir / "profile");
  EXPECT_TRUE(std::regex_search(dom, std::regex("<g id=\"node-8\" class=\"[^\"]*current")));
  EXPECT_TRUE(std::regex_search(dom, std::regex("<tr data-node=\"8\"[^>]*class=\"[^\"]*current")));
  EXPECT_NE(dom.find("Step 1 of 8"), std::string::npos);

  expect_screenshot_not_blank(page, dir);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ddx
