#include "derivations/svg_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "derivations/mathml.hpp"

namespace ddx::svg {

namespace {

// Geometry, in SVG user units.
constexpr double kWidth = 680, kHeight = 380;
constexpr double kLeft = 64, kRight = 480, kTop = 44, kBottom = 320;  // the plot area
constexpr double kLegendX = 496;

// Overlapping lines stay distinguishable by dash pattern and marker, not by
// colour alone (several variants are often exactly on top of each other).
constexpr std::array<const char*, 6> kColours{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
constexpr std::array<const char*, 4> kDashes{"", "7 4", "2 3", "9 3 2 3"};

// One decimal: enough for a drawing, and the same text on every machine.
std::string num(double x) {
  const std::string s = fmt::format("{:.1f}", x);
  return s == "-0.0" ? "0.0" : s;
}

std::string marker(std::size_t series, double x, double y, const char* colour) {
  switch (series % 4) {
    case 0: return fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\"/>", num(x), num(y), colour);
    case 1:
      return fmt::format("<rect x=\"{}\" y=\"{}\" width=\"7\" height=\"7\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>",
                         num(x - 3.5), num(y - 3.5), colour);
    case 2:
      return fmt::format("<path d=\"M{} {}L{} {}L{} {}Z\" fill=\"{}\"/>", num(x), num(y - 4.5), num(x + 4), num(y + 3),
                         num(x - 4), num(y + 3), colour);
    default:
      return fmt::format("<path d=\"M{} {}L{} {}L{} {}L{} {}Z\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>", num(x),
                         num(y - 5), num(x + 5), num(y), num(x), num(y + 5), num(x - 5), num(y), colour);
  }
}

std::string cross(double x, double y, const char* colour) {
  return fmt::format("<path d=\"M{} {}L{} {}M{} {}L{} {}\" stroke=\"{}\" stroke-width=\"2\"/>", num(x - 4), num(y - 4),
                     num(x + 4), num(y + 4), num(x - 4), num(y + 4), num(x + 4), num(y - 4), colour);
}

}  // namespace


std::string render_svg(const LineChart& chart) {
  if (!(chart.y_max > chart.y_min)) throw std::invalid_argument("svg chart: y_max must be greater than y_min");
  const std::size_t n = chart.x_ticks.size();
  for (const Series& s : chart.series)
    if (s.y.size() != n)
      throw std::invalid_argument(fmt::format("svg chart: series '{}' has {} values for {} ticks", s.name, s.y.size(), n));

  const auto x_at = [&](std::size_t i) { return kLeft + (static_cast<double>(i) + 0.5) * (kRight - kLeft) / static_cast<double>(std::max<std::size_t>(n, 1)); };
  const auto y_at = [&](double v) {
    v = std::clamp(v, chart.y_min, chart.y_max);
    return kBottom - (v - chart.y_min) / (chart.y_max - chart.y_min) * (kBottom - kTop);
  };

  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\" role=\"img\" aria-label=\"{2}\">\n",
      num(kWidth), num(kHeight), xml_escape(chart.title));
  out += fmt::format("<rect width=\"{}\" height=\"{}\" fill=\"white\"/>\n", num(kWidth), num(kHeight));
  out += fmt::format("<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
                     num((kLeft + kRight) / 2), xml_escape(chart.title));

  // Horizontal grid lines and y tick labels.
  const double step = chart.y_tick_step > 0 ? chart.y_tick_step : (chart.y_max - chart.y_min) / 5;
  const int ticks = static_cast<int>(std::floor((chart.y_max - chart.y_min) / step + 1e-9));  // 1e-9: a step that divides the range exactly
  for (int k = 0; k <= ticks; ++k) {
    const double v = chart.y_min + k * step;
    const double y = y_at(v);
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#dddddd\"/>\n", num(kLeft), num(y), num(kRight), num(y));
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", num(kLeft - 6), num(y + 4),
                       std::abs(v - std::round(v)) < 1e-9 ? fmt::format("{}", std::lround(v)) : num(v));
  }
  // The axes and x tick labels.
  out += fmt::format("<path d=\"M{} {}V{}H{}\" fill=\"none\" stroke=\"black\"/>\n", num(kLeft), num(kTop), num(kBottom), num(kRight));
  for (std::size_t i = 0; i < n; ++i) {
    const double x = x_at(i);
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", num(x), num(kBottom), num(kBottom + 4));
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(x), num(kBottom + 18),
                       xml_escape(chart.x_ticks[i]));
  }
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num((kLeft + kRight) / 2), num(kBottom + 40),
                     xml_escape(chart.x_label));
  out += fmt::format("<text x=\"16\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {0})\">{1}</text>\n",
                     num((kTop + kBottom) / 2), xml_escape(chart.y_label));

  // The series: a polyline per run of finite points, a marker per point.
  for (std::size_t s = 0; s < chart.series.size(); ++s) {
    const Series& series = chart.series[s];
    const char* colour = kColours[s % kColours.size()];
    const char* dash = kDashes[s % kDashes.size()];
    out += fmt::format("<g class=\"series\" data-name=\"{}\">\n", xml_escape(series.name));
    std::string path;
    bool pen_down = false;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = series.y[i];
      if (std::isnan(v)) {
        pen_down = false;
        continue;
      }
      path += fmt::format("{}{} {}", pen_down ? "L" : "M", num(x_at(i)), num(y_at(v)));
      pen_down = true;
    }
    if (!path.empty())
      out += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\"{}/>\n", path, colour,
                         *dash ? fmt::format(" stroke-dasharray=\"{}\"", dash) : "");
    for (std::size_t i = 0; i < n; ++i) {
      const double v = series.y[i];
      if (std::isnan(v)) continue;
      out += (std::isinf(v) && v > 0 ? cross(x_at(i), y_at(v), colour) : marker(s, x_at(i), y_at(v), colour)) + "\n";
    }
    out += "</g>\n";
  }

  // The legend, right of the plot.
  double y = kTop + 6;
  for (std::size_t s = 0; s < chart.series.size(); ++s, y += 22) {
    const char* colour = kColours[s % kColours.size()];
    const char* dash = kDashes[s % kDashes.size()];
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1.8\"{}/>\n", num(kLegendX),
                       num(y), num(kLegendX + 28), num(y), colour, *dash ? fmt::format(" stroke-dasharray=\"{}\"", dash) : "");
    out += marker(s, kLegendX + 14, y, colour) + "\n";
    out += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", num(kLegendX + 36), num(y + 4), xml_escape(chart.series[s].name));
  }
  if (!chart.top_marker_label.empty()) {
    out += cross(kLegendX + 14, y, "black") + "\n";
    out += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", num(kLegendX + 36), num(y + 4), xml_escape(chart.top_marker_label));
  }
  out += "</svg>\n";
  return out;
}

}  // namespace ddx::svg
