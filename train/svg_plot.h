// A small inline-SVG line-chart renderer for the training report: named series, axes with ticks and labels, a legend.
#pragma once
#include <limits>
#include <string>
#include <vector>

namespace vigil::train {

struct PlotSeries {
  std::string name;       // shown in the legend
  std::vector<double> x;  // empty: 1, 2, 3, ... (epochs); otherwise one per y
  std::vector<double> y;  // a non-finite point (or x) leaves a gap in the line
  std::string color = "";  // CSS colour; empty: the next colour of a colour-blind-safe palette
  bool dashed = false;
};

struct PlotOptions {
  std::string title, x_label, y_label;
  int width = 560, height = 330;
  // A y range that is always shown (e.g. 0..1 for accuracy); data outside it widens the axis. NaN: fit the data.
  double y_min = std::numeric_limits<double>::quiet_NaN(), y_max = std::numeric_limits<double>::quiet_NaN();
};

// Returns one <svg> element (with xmlns, width/height, viewBox and an accessible <title>). A series with a single
// finite point, or an isolated point between gaps, is drawn as a dot; a constant series gets a small y range around
// its value; no finite data at all gives the frame with a "no data" note. All text is XML-escaped.
std::string render_line_chart(const std::vector<PlotSeries>& series, const PlotOptions& options);

// Escapes & < > " ' for use in XML/HTML text and attribute values.
std::string xml_escape(const std::string& text);

}  // namespace vigil::train
