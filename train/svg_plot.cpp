// render_line_chart: scales, "nice" ticks, gap-aware polylines and a wrapping legend, emitted as SVG text.
#include "train/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <sstream>

namespace vigil::train {
namespace {

// Okabe-Ito colours: distinguishable with the common forms of colour blindness.
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};
constexpr size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
constexpr size_t kMaxPointsPerSegment = 1500;  // longer runs (per-step curves) are thinned evenly
constexpr size_t kMaxPointsWithMarkers = 40;
constexpr double kLegendRowHeight = 18;

struct Point {
  double x, y;
};

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void include(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

struct Axis {
  double lo, hi, step;
  int decimals;  // -1: general (%g) formatting for very small or large values
};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A tick step of 1, 2 or 5 times a power of ten giving about `target` intervals over `span`.
double nice_step(double span, int target) {
  const double raw = span / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / magnitude;
  return (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * magnitude;
}

// Widens a degenerate range and picks a tick step; `snap` extends the range outwards to whole steps (the y axis),
// otherwise it stays at the data (the x axis, so a curve spans the full width).
Axis make_axis(Range r, bool integer_ticks, bool snap, int target_ticks) {
  if (r.hi - r.lo <= 1e-12 * std::max(std::fabs(r.lo), std::fabs(r.hi))) {
    const double pad = integer_ticks ? 1.0 : (r.lo == 0 ? 1.0 : std::fabs(r.lo) * 0.1);
    r.lo -= pad;
    r.hi += pad;
  }
  double step = nice_step(r.hi - r.lo, target_ticks);
  if (integer_ticks) step = std::max(step, 1.0);
  Axis axis{r.lo, r.hi, step, 0};
  if (snap) {
    axis.lo = std::floor(r.lo / step + 1e-9) * step;
    axis.hi = std::ceil(r.hi / step - 1e-9) * step;
  }
  const double largest = std::max(std::fabs(axis.lo), std::fabs(axis.hi));
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  axis.decimals = (decimals > 4 || largest >= 1e6) ? -1 : decimals;
  return axis;
}

std::string tick_label(double v, const Axis& axis) {
  if (std::fabs(v) < axis.step * 1e-9) v = 0;  // no "-0.0"
  char buf[32];
  if (axis.decimals < 0)
    std::snprintf(buf, sizeof buf, "%.3g", v);
  else
    std::snprintf(buf, sizeof buf, "%.*f", axis.decimals, v);
  return buf;
}

// The multiples of the step inside the axis range.
std::vector<double> ticks_of(const Axis& axis) {
  std::vector<double> ticks;
  const auto first = static_cast<int64_t>(std::ceil(axis.lo / axis.step - 1e-9));
  const auto last = static_cast<int64_t>(std::floor(axis.hi / axis.step + 1e-9));
  for (int64_t k = first; k <= last; ++k) ticks.push_back(static_cast<double>(k) * axis.step);
  return ticks;
}

// The runs of consecutive finite points of one series.
std::vector<std::vector<Point>> finite_segments(const PlotSeries& s) {
  std::vector<std::vector<Point>> segments(1);
  for (size_t i = 0; i < s.y.size(); ++i) {
    const double x = s.x.empty() ? static_cast<double>(i + 1) : (i < s.x.size() ? s.x[i] : NAN);
    const double y = s.y[i];
    if (std::isfinite(x) && std::isfinite(y)) {
      segments.back().push_back({x, y});
    } else if (!segments.back().empty()) {
      segments.emplace_back();
    }
  }
  if (segments.back().empty()) segments.pop_back();
  return segments;
}

std::vector<Point> thinned(const std::vector<Point>& points) {
  if (points.size() <= kMaxPointsPerSegment) return points;
  const size_t stride = (points.size() + kMaxPointsPerSegment - 1) / kMaxPointsPerSegment;
  std::vector<Point> kept;
  for (size_t i = 0; i < points.size(); i += stride) kept.push_back(points[i]);
  if ((points.size() - 1) % stride != 0) kept.push_back(points.back());
  return kept;
}

// Rough text width for laying out the legend (11px sans-serif).
double text_width(const std::string& text) { return 6.5 * static_cast<double>(text.size()); }

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string render_line_chart(const std::vector<PlotSeries>& series, const PlotOptions& options) {
  const double width = std::max(options.width, 200), height = std::max(options.height, 150);

  std::vector<std::vector<std::vector<Point>>> segments;
  Range xr, yr;
  bool integer_x = true;
  for (const PlotSeries& s : series) {
    segments.push_back(finite_segments(s));
    for (const auto& segment : segments.back())
      for (const Point& p : segment) {
        xr.include(p.x);
        yr.include(p.y);
        integer_x = integer_x && p.x == std::round(p.x);
      }
  }
  const bool has_data = !xr.empty();
  if (has_data) {
    if (std::isfinite(options.y_min)) yr.include(options.y_min);
    if (std::isfinite(options.y_max)) yr.include(options.y_max);
  }

  // Legend entries flow left to right under the title and wrap onto new rows.
  struct LegendEntry {
    double x, y;
  };
  std::vector<LegendEntry> legend;
  double lx = 64, ly = 40;
  for (const PlotSeries& s : series) {
    const double entry = 30 + text_width(s.name) + 16;
    if (lx + entry > width - 8 && lx > 64) {
      lx = 64;
      ly += kLegendRowHeight;
    }
    legend.push_back({lx, ly});
    lx += entry;
  }
  const double left = 64, right = width - 18;
  const double top = (series.empty() ? 32 : ly + 14), bottom = height - 44;

  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
     << "\" viewBox=\"0 0 " << width << " " << height << "\" role=\"img\" font-family=\"sans-serif\">";
  os << "<title>" << xml_escape(options.title) << "</title>";
  os << "<rect x=\"0\" y=\"0\" width=\"" << width << "\" height=\"" << height << "\" fill=\"#ffffff\"/>";
  os << "<text x=\"" << num(width / 2) << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">"
     << xml_escape(options.title) << "</text>";

  if (has_data) {
    const Axis xa = make_axis(xr, integer_x, false, 6), ya = make_axis(yr, false, true, 5);
    const auto sx = [&](double x) { return left + (x - xa.lo) / (xa.hi - xa.lo) * (right - left); };
    const auto sy = [&](double y) { return bottom - (y - ya.lo) / (ya.hi - ya.lo) * (bottom - top); };
    for (double t : ticks_of(ya)) {
      os << "<line x1=\"" << num(left) << "\" y1=\"" << num(sy(t)) << "\" x2=\"" << num(right) << "\" y2=\""
         << num(sy(t)) << "\" stroke=\"#e3e3e3\"/>";
      os << "<text x=\"" << num(left - 6) << "\" y=\"" << num(sy(t) + 4) << "\" text-anchor=\"end\" font-size=\"11\""
         << " fill=\"#444444\">" << tick_label(t, ya) << "</text>";
    }
    for (double t : ticks_of(xa)) {
      os << "<line x1=\"" << num(sx(t)) << "\" y1=\"" << num(bottom) << "\" x2=\"" << num(sx(t)) << "\" y2=\""
         << num(bottom + 4) << "\" stroke=\"#444444\"/>";
      os << "<text x=\"" << num(sx(t)) << "\" y=\"" << num(bottom + 17) << "\" text-anchor=\"middle\" font-size=\"11\""
         << " fill=\"#444444\">" << tick_label(t, xa) << "</text>";
    }
    for (size_t i = 0; i < series.size(); ++i) {
      const PlotSeries& s = series[i];
      const std::string color = xml_escape(s.color.empty() ? kPalette[i % kPaletteSize] : s.color);
      size_t points = 0;
      for (const auto& segment : segments[i]) points += segment.size();
      for (const auto& segment : segments[i]) {
        if (segment.size() >= 2) {
          os << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" stroke-linejoin=\"round\""
             << (s.dashed ? " stroke-dasharray=\"6 4\"" : "") << " points=\"";
          for (const Point& p : thinned(segment)) os << num(sx(p.x)) << "," << num(sy(p.y)) << " ";
          os << "\"/>";
        }
        if (segment.size() == 1 || points <= kMaxPointsWithMarkers)
          for (const Point& p : segment)
            os << "<circle cx=\"" << num(sx(p.x)) << "\" cy=\"" << num(sy(p.y)) << "\" r=\"3\" fill=\"" << color
               << "\"/>";
      }
    }
  } else {
    os << "<text x=\"" << num((left + right) / 2) << "\" y=\"" << num((top + bottom) / 2)
       << "\" text-anchor=\"middle\" font-size=\"13\" fill=\"#888888\">no data</text>";
  }
  os << "<rect x=\"" << num(left) << "\" y=\"" << num(top) << "\" width=\"" << num(right - left) << "\" height=\""
     << num(bottom - top) << "\" fill=\"none\" stroke=\"#444444\"/>";

  for (size_t i = 0; i < series.size(); ++i) {
    const std::string color = xml_escape(series[i].color.empty() ? kPalette[i % kPaletteSize] : series[i].color);
    const double x = legend[i].x, y = legend[i].y;
    os << "<line x1=\"" << num(x) << "\" y1=\"" << num(y - 4) << "\" x2=\"" << num(x + 24) << "\" y2=\"" << num(y - 4)
       << "\" stroke=\"" << color << "\" stroke-width=\"2\"" << (series[i].dashed ? " stroke-dasharray=\"6 4\"" : "")
       << "/>";
    os << "<text x=\"" << num(x + 30) << "\" y=\"" << num(y) << "\" font-size=\"11\">" << xml_escape(series[i].name)
       << "</text>";
  }
  os << "<text x=\"" << num((left + right) / 2) << "\" y=\"" << num(height - 8)
     << "\" text-anchor=\"middle\" font-size=\"12\">" << xml_escape(options.x_label) << "</text>";
  os << "<text x=\"14\" y=\"" << num((top + bottom) / 2) << "\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 14 "
     << num((top + bottom) / 2) << ")\">" << xml_escape(options.y_label) << "</text>";
  os << "</svg>";
  return os.str();
}

}  // namespace vigil::train
