// Inline SVG charts (see svg_chart.hpp).
#include "runtimed/bench/svg_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace runtimed::bench {

namespace {

constexpr double kLeft = 64, kRight = 16, kTop = 34, kBottom = 46;
constexpr const char* kInk = "#333";
constexpr const char* kGrid = "#e4e4e4";

// Where an axis's values land: [lo, hi] onto [from, to] pixels, linear or log10.
struct Scale {
  double lo = 0, hi = 1;
  bool log = false;
  double from = 0, to = 1;
  double operator()(double v) const {
    const double a = log ? std::log10(lo) : lo;
    const double b = log ? std::log10(hi) : hi;
    const double x = log ? std::log10(v) : v;
    return from + (x - a) / (b - a) * (to - from);
  }
  bool holds(double v) const { return std::isfinite(v) && (!log || v > 0); }
};

// The axis's ends from its settings and the data.
Scale scale_for(const Axis& axis, const std::vector<double>& values, double from, double to) {
  Scale s{.log = axis.log, .from = from, .to = to};
  if (axis.lo < axis.hi && (!axis.log || axis.lo > 0)) {
    s.lo = axis.lo;
    s.hi = axis.hi;
    return s;
  }
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values) {
    if (!s.holds(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  for (const auto& [v, text] : axis.ticks) {
    if (!s.holds(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (!std::isfinite(lo)) lo = axis.log ? 1 : 0, hi = axis.log ? 10 : 1;
  if (axis.log) {
    s.lo = std::pow(10, std::floor(std::log10(lo)));
    s.hi = std::pow(10, std::ceil(std::log10(hi)));
    if (s.hi <= s.lo) s.hi = s.lo * 10;
    return s;
  }
  if (lo >= 0 && axis.ticks.empty()) lo = std::min(lo, 0.0);  // amounts start at zero
  if (hi <= lo) hi = lo + 1;
  if (axis.ticks.empty()) {
    const auto ticks = nice_ticks(lo, hi, 6);
    s.lo = std::min(lo, ticks.front());
    s.hi = std::max(hi, ticks.back());
  } else {
    const double pad = (hi - lo) * 0.05;  // keep end ticks' markers off the frame
    s.lo = lo - pad;
    s.hi = hi + pad;
  }
  return s;
}

std::vector<std::pair<double, std::string>> ticks_for(const Axis& axis, const Scale& s) {
  if (!axis.ticks.empty()) return axis.ticks;
  std::vector<std::pair<double, std::string>> out;
  for (double v : axis.log ? log_ticks(s.lo, s.hi) : nice_ticks(s.lo, s.hi, 6))
    if (v >= s.lo - 1e-12 * std::abs(s.hi) && v <= s.hi + 1e-12 * std::abs(s.hi))
      out.emplace_back(v, tick_text(v));
  return out;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo) || target < 1) return {lo};
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double v = std::floor(lo / step) * step; v <= hi + step * 0.999; v += step) {
    ticks.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
    if (v >= hi) break;
  }
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> ticks;
  if (!(lo > 0) || !(hi > lo)) return ticks;
  const int a = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  const int b = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  const bool fine = b - a < 3;
  for (int e = a; e <= b; ++e) {
    for (double m : fine ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
      const double v = m * std::pow(10, e);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push_back(v);
    }
  }
  return ticks;
}

std::string tick_text(double value) {
  const double a = std::abs(value);
  if (a >= 1e6) return fmt::format("{:g}M", value / 1e6);
  if (a >= 1e4) return fmt::format("{:g}k", value / 1e3);
  if (a == 0) return "0";
  return fmt::format("{:.4g}", value);
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<std::pair<double, double>> cdf_points(std::vector<double> values, size_t max_points) {
  std::vector<std::pair<double, double>> out;
  if (values.empty() || max_points < 2) return out;
  std::sort(values.begin(), values.end());
  const auto n = static_cast<double>(values.size());
  out.emplace_back(values.front(), 0);  // the step up at the first value starts from zero
  if (values.size() <= max_points) {
    for (size_t i = 0; i < values.size(); ++i)
      out.emplace_back(values[i], static_cast<double>(i + 1) / n);
    return out;
  }
  for (size_t k = 0; k < max_points; ++k) {
    const double q = static_cast<double>(k + 1) / static_cast<double>(max_points);
    const auto rank = static_cast<size_t>(std::ceil(q * n));
    out.emplace_back(values[std::clamp<size_t>(rank, 1, values.size()) - 1], q);
  }
  return out;
}

std::string svg_chart(const ChartSpec& chart) {
  const double w = chart.width, h = chart.height;
  std::vector<double> xs, ys;
  for (const Series& s : chart.series) {
    for (const auto& [x, y] : s.points) {
      xs.push_back(x);
      ys.push_back(y);
    }
  }
  const Scale sx = scale_for(chart.x, xs, kLeft, w - kRight);
  // Head room for a legend at the top of a linear, data-sized y axis, so it covers no line.
  size_t legend_rows = 0;
  for (const Series& s : chart.series) legend_rows += s.name.empty() ? 0 : 1;
  const double legend_px = legend_rows == 0 ? 0 : 24 + 15 * static_cast<double>(legend_rows);
  double plot_top = kTop;
  if (!chart.legend_bottom && !chart.y.log && !(chart.y.lo < chart.y.hi))
    plot_top = std::min(kTop + legend_px, (h - kBottom + kTop) / 2);
  Scale sy = scale_for(chart.y, ys, h - kBottom, plot_top);
  if (plot_top > kTop) {
    // Stretch the scale back over the whole frame: the data keep their pixels, the axis grows.
    sy = scale_for(
        Axis{.lo = sy.lo,
             .hi = sy.lo + (sy.hi - sy.lo) * (h - kBottom - kTop) / (h - kBottom - plot_top)},
        {}, h - kBottom, kTop);
  }
  std::string out = fmt::format(
      "<svg class=\"chart\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"{2}\" font-family=\"sans-serif\" "
      "font-size=\"11\">\n",
      chart.width, chart.height, xml_escape(chart.title));
  out += fmt::format(
      "<text x=\"{}\" y=\"20\" font-size=\"14\" font-weight=\"bold\" fill=\"{}\">{}</text>\n",
      kLeft, kInk, xml_escape(chart.title));
  // Grid and tick labels.
  for (const auto& [v, text] : ticks_for(chart.x, sx)) {
    if (!sx.holds(v)) continue;
    const double px = sx(v);
    out += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\"/>"
        "<text x=\"{0:.1f}\" y=\"{4:.1f}\" text-anchor=\"middle\" fill=\"{5}\">{6}</text>\n",
        px, kTop, h - kBottom, kGrid, h - kBottom + 14, kInk, xml_escape(text));
  }
  for (const auto& [v, text] : ticks_for(chart.y, sy)) {
    if (!sy.holds(v)) continue;
    const double py = sy(v);
    out += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\"/>"
        "<text x=\"{4:.1f}\" y=\"{5:.1f}\" text-anchor=\"end\" fill=\"{6}\">{7}</text>\n",
        kLeft, py, w - kRight, kGrid, kLeft - 6, py + 4, kInk, xml_escape(text));
  }
  // Frame and axis labels.
  out += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"{}\"/>\n",
      kLeft, kTop, w - kLeft - kRight, h - kTop - kBottom, kInk);
  out +=
      fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" fill=\"{}\">{}</text>\n",
                  (kLeft + w - kRight) / 2, h - 8, kInk, xml_escape(chart.x.label));
  out += fmt::format(
      "<text transform=\"translate(14 {:.1f}) rotate(-90)\" text-anchor=\"middle\" "
      "fill=\"{}\">{}</text>\n",
      (kTop + h - kBottom) / 2, kInk, xml_escape(chart.y.label));
  // The series.
  for (const Series& s : chart.series) {
    std::vector<std::pair<double, double>> px;
    for (const auto& [x, y] : s.points)
      if (sx.holds(x) && sy.holds(y)) px.emplace_back(sx(x), sy(y));
    if (px.empty()) continue;
    out += fmt::format("<g class=\"series\" data-name=\"{}\">", xml_escape(s.name));
    if (s.style == Series::Style::Line || s.style == Series::Style::Step) {
      std::string d = fmt::format("M{:.1f},{:.1f}", px[0].first, px[0].second);
      for (size_t i = 1; i < px.size(); ++i) {
        if (s.style == Series::Style::Step)
          d += fmt::format("H{:.1f}V{:.1f}", px[i].first, px[i].second);
        else
          d += fmt::format("L{:.1f},{:.1f}", px[i].first, px[i].second);
      }
      out += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>", d,
                         s.color);
    }
    if (s.style == Series::Style::Points || s.markers) {
      for (const auto& [x, y] : px)
        out += fmt::format(
            "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\" "
            "fill-opacity=\"0.75\"/>",
            x, y, s.radius, s.color);
    }
    out += "</g>\n";
  }
  // The legend, in the corner the caller chose, on a white card over the grid.
  std::vector<const Series*> named;
  size_t longest = 0;
  for (const Series& s : chart.series) {
    if (s.name.empty()) continue;
    named.push_back(&s);
    longest = std::max(longest, s.name.size());
  }
  if (!named.empty()) {
    const double box_w = 34 + 6.2 * static_cast<double>(longest);
    const double box_h = 8 + 15 * static_cast<double>(named.size());
    const double bx = chart.legend_right ? w - kRight - box_w - 8 : kLeft + 8;
    const double by = chart.legend_bottom ? h - kBottom - box_h - 8 : kTop + 8;
    out += fmt::format(
        "<g class=\"legend\"><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
        "fill=\"white\" fill-opacity=\"0.85\" stroke=\"{}\"/>",
        bx, by, box_w, box_h, kGrid);
    double ly = by + 16;
    for (const Series* s : named) {
      out += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"5\" fill=\"{}\"/>"
          "<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"{}\">{}</text>",
          bx + 8, ly - 6, s->color, bx + 28, ly, kInk, xml_escape(s->name));
      ly += 15;
    }
    out += "</g>\n";
  }
  out += "</svg>\n";
  return out;
}

}  // namespace runtimed::bench
