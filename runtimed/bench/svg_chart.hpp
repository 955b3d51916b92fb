// Inline SVG charts for the bench's HTML report: one x/y chart with axes, ticks, grid, axis labels,
// a legend, linear or logarithmic scales, and series drawn as lines, steps or points. No script, no
// external assets: the SVG text stands alone inside the page.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace runtimed::bench {

struct Series {
  enum class Style { Line, Step, Points };
  std::string name;
  std::string color;  // CSS color
  Style style = Style::Line;
  std::vector<std::pair<double, double>> points;  // (x, y)
  double radius = 2.5;                            // Points
  bool markers = false;                           // Line: also a dot at each point
};

struct Axis {
  std::string label;
  bool log = false;  // log10 (values <= 0 are left out)
  // Fixed ends; when lo >= hi the data decide (with a little room).
  double lo = 0, hi = 0;
  // Ticks at these values with these labels instead of computed ones (e.g. idle gaps).
  std::vector<std::pair<double, std::string>> ticks;
};

struct ChartSpec {
  std::string title;
  Axis x, y;
  std::vector<Series> series;
  int width = 640, height = 360;
  // The legend's corner inside the plot: top left unless told otherwise.
  bool legend_right = false, legend_bottom = false;
};

std::string svg_chart(const ChartSpec& chart);

// About `target` round ticks (1, 2 or 5 × 10^k apart) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target);
// Powers of ten within [lo, hi] (with 2 and 5 between when there are fewer than three).
std::vector<double> log_ticks(double lo, double hi);
// A tick's text: "0.5", "20", "1.5k", "2M".
std::string tick_text(double value);
// Text made safe inside XML/HTML elements and attributes.
std::string xml_escape(std::string_view text);
// The empirical CDF of `values` as step points (x = value, y = fraction ≤ x) from (min, 0), then at
// most `max_points` (every sample's step while they fit; past that, evenly spaced quantiles).
std::vector<std::pair<double, double>> cdf_points(std::vector<double> values, size_t max_points);

}  // namespace runtimed::bench
