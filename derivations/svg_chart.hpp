// A small line chart as standalone SVG text, for report figures.
//
// The x axis is categorical: the points sit at equal steps and each tick is
// labelled with its own text (a margin grid such as 1, 10, 20, …, 800 reads
// better evenly spaced than on a linear or log axis, and needs no positive
// values). The y axis is linear from y_min to y_max. Output is a pure
// function of the chart: fixed sizes, fixed palette, numbers printed with a
// fixed number of decimals, so the same chart gives byte-identical SVG.
#pragma once

#include <string>
#include <vector>

namespace ddx::svg {

struct Series {
  std::string name;        // the legend's entry
  // One value per x tick. NaN: no point (the line breaks there). +inf: off the
  // chart, drawn as a cross on the top edge. Finite values are clipped to
  // [y_min, y_max].
  std::vector<double> y;
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<std::string> x_ticks;  // one label per point
  double y_min = 0;
  double y_max = 1;
  double y_tick_step = 0;            // 0: five intervals
  std::string top_marker_label;      // legend text for the +inf crosses, "" for none
  std::vector<Series> series;
};

// The chart as an <svg> element (no XML prolog, no comments). Throws
// std::invalid_argument when a series has not one value per tick, or when
// y_max <= y_min.
std::string render_svg(const LineChart& chart);

}  // namespace ddx::svg
