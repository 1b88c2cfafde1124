// The SVG line chart builder (derivations/svg_chart.hpp): deterministic text,
// one line per series with a legend, gaps for NaN, crosses for +inf, escaping,
// and errors for malformed charts.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <regex>
#include <string>

#include "derivations/svg_chart.hpp"

namespace ddx::svg {
namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

LineChart sample() {
  LineChart c;
  c.title = "bits <error> & more";
  c.x_label = "margin";
  c.y_label = "bits";
  c.x_ticks = {"1", "10", "40"};
  c.y_min = 0;
  c.y_max = 64;
  c.y_tick_step = 8;
  c.top_marker_label = "inf or NaN";
  c.series = {{"first", {0, 1.5, 60}}, {"second \"quoted\"", {0, std::nan(""), std::numeric_limits<double>::infinity()}}};
  return c;
}

TEST(SvgChart, DeterministicWellFormedElement) {
  const std::string a = render_svg(sample()), b = render_svg(sample());
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(a.substr(a.size() - 7), "</svg>\n");
  EXPECT_EQ(a.find("<!--"), std::string::npos);
  EXPECT_EQ(a.find("<?xml"), std::string::npos);
}

TEST(SvgChart, SeriesLegendAndTicks) {
  const std::string svg = render_svg(sample());
  EXPECT_EQ(count(svg, "<g class=\"series\""), 2u);
  // Legend entries, escaped.
  EXPECT_NE(svg.find(">first</text>"), std::string::npos);
  EXPECT_NE(svg.find(">second &quot;quoted&quot;</text>"), std::string::npos);
  EXPECT_NE(svg.find("bits &lt;error&gt; &amp; more"), std::string::npos);
  EXPECT_NE(svg.find(">inf or NaN</text>"), std::string::npos);
  // y ticks every 8 bits from 0 to 64: nine labels.
  for (int v = 0; v <= 64; v += 8) EXPECT_NE(svg.find(">" + std::to_string(v) + "</text>"), std::string::npos) << v;
  // x ticks are centred under their points (y ticks are right-aligned: "40" is both).
  for (const char* tick : {"1", "10", "40"})
    EXPECT_NE(svg.find("text-anchor=\"middle\">" + std::string(tick) + "</text>"), std::string::npos) << tick;
}

TEST(SvgChart, NanBreaksTheLineInfIsACrossOnTop) {
  LineChart c = sample();
  c.series = {{"gap", {1, std::nan(""), 2}}};
  const std::string gap = render_svg(c);
  // Two runs of one point each: two moves, no line segment joins them.
  const std::size_t path = gap.find("<path d=\"M", gap.find("<g class=\"series\""));
  ASSERT_NE(path, std::string::npos);
  const std::string d = gap.substr(path, gap.find('"', path + 9) - path);
  EXPECT_EQ(count(d, "M"), 2u);
  EXPECT_EQ(count(d, "L"), 0u);

  c.series = {{"top", {std::numeric_limits<double>::infinity(), 0, 0}}};
  const std::string top = render_svg(c);
  // The plot's top edge is y = 44; a cross spans 4 units either side of it.
  EXPECT_TRUE(std::regex_search(top, std::regex("M[0-9.]+ 40\\.0L[0-9.]+ 48\\.0"))) << top;
}

TEST(SvgChart, Errors) {
  LineChart c = sample();
  c.series[0].y.pop_back();
  EXPECT_THROW(render_svg(c), std::invalid_argument);
  c = sample();
  c.y_max = c.y_min;
  EXPECT_THROW(render_svg(c), std::invalid_argument);
}

}  // namespace
}  // namespace ddx::svg
