// The training report and its SVG charts: well-formed markup (a tiny tag-balance checker), escaping of class names
// and paths, no scripts, atomic writes, and charts with gaps, single points, constant series and no data.
#include "train/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/error.h"
#include "train/metrics.h"
#include "train/svg_plot.h"

namespace vigil::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Checks that every element is closed in order, that <style> holds no markup, and that every '&' starts an entity.
// Returns "" when well-formed, else a description of the first problem.
std::string markup_problem(const std::string& html) {
  static const std::set<std::string> kVoid = {"meta", "br", "hr", "img", "input", "link"};
  std::vector<std::string> open;
  size_t i = 0;
  while (i < html.size()) {
    if (html[i] == '&') {
      size_t j = i + 1;
      if (j < html.size() && html[j] == '#') ++j;
      while (j < html.size() && std::isalnum(static_cast<unsigned char>(html[j]))) ++j;
      if (j == i + 1 || j >= html.size() || html[j] != ';') return "bare '&' at offset " + std::to_string(i);
      i = j + 1;
      continue;
    }
    if (html[i] != '<') {
      ++i;
      continue;
    }
    if (html.compare(i, 4, "<!--") == 0) {
      const size_t end = html.find("-->", i);
      if (end == std::string::npos) return "unclosed comment";
      i = end + 3;
      continue;
    }
    if (html.compare(i, 2, "<!") == 0) {
      i = html.find('>', i) + 1;
      continue;
    }
    const bool closing = i + 1 < html.size() && html[i + 1] == '/';
    size_t j = i + (closing ? 2 : 1);
    const size_t name_start = j;
    while (j < html.size() && (std::isalnum(static_cast<unsigned char>(html[j])) || html[j] == '-')) ++j;
    const std::string name = html.substr(name_start, j - name_start);
    if (name.empty()) return "'<' not starting a tag at offset " + std::to_string(i);
    char quote = 0;
    while (j < html.size() && (quote || html[j] != '>')) {
      if (quote && html[j] == quote) quote = 0;
      else if (!quote && (html[j] == '"' || html[j] == '\'')) quote = html[j];
      else if (!quote && html[j] == '<') return "'<' inside tag <" + name + ">";
      ++j;
    }
    if (j >= html.size()) return "unterminated tag <" + name + ">";
    const bool self_closing = html[j - 1] == '/';
    i = j + 1;
    if (closing) {
      if (open.empty() || open.back() != name)
        return "</" + name + "> closes <" + (open.empty() ? std::string("nothing") : open.back()) + ">";
      open.pop_back();
    } else if (!self_closing && !kVoid.count(name)) {
      open.push_back(name);
      if (name == "style" || name == "title") {  // raw text up to the end tag
        const size_t end = html.find("</" + name + ">", i);
        if (end == std::string::npos) return "unclosed <" + name + ">";
        if (html.substr(i, end - i).find('<') != std::string::npos) return "markup inside <" + name + ">";
        i = end;
      }
    }
  }
  return open.empty() ? "" : "unclosed <" + open.back() + ">";
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

TEST(MarkupChecker, CatchesCommonMistakes) {
  EXPECT_EQ(markup_problem("<p><b>x</b></p>"), "");
  EXPECT_EQ(markup_problem("<svg><line x=\"1\"/></svg>"), "");
  EXPECT_NE(markup_problem("<p><b>x</p>"), "");
  EXPECT_NE(markup_problem("<td>a < b</td>"), "");
  EXPECT_NE(markup_problem("<td>a & b</td>"), "");
  EXPECT_NE(markup_problem("<table><tr>"), "");
}

TEST(SvgPlot, GapsForNonFiniteValues) {
  const std::string svg = render_line_chart(
      {{"loss", {}, {1.0, NAN, 3.0, 4.0, INFINITY, 2.0, 1.0}}, {"other", {1, 2, 3}, {NAN, NAN, NAN}}}, {"t", "x", "y"});
  EXPECT_EQ(markup_problem(svg), "") << svg;
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(occurrences(svg, "<polyline"), 2u);  // [3, 4] and [2, 1]; the lone 1 is a dot
  EXPECT_GE(occurrences(svg, "<circle"), 1u);
  EXPECT_EQ(lower(svg).find("nan"), std::string::npos);
  EXPECT_EQ(lower(svg).find("inf"), std::string::npos);
}

TEST(SvgPlot, SinglePointConstantSeriesAndNoData) {
  const std::string single = render_line_chart({{"lr", {}, {0.5}}}, {"one point", "epoch", "lr"});
  EXPECT_EQ(markup_problem(single), "");
  EXPECT_EQ(occurrences(single, "<polyline"), 0u);
  EXPECT_EQ(occurrences(single, "<circle"), 1u);

  const std::string constant = render_line_chart({{"acc", {}, {2.0, 2.0, 2.0}}}, {"flat", "epoch", "acc"});
  EXPECT_EQ(markup_problem(constant), "");
  EXPECT_EQ(occurrences(constant, "<polyline"), 1u);
  EXPECT_EQ(lower(constant).find("nan"), std::string::npos);

  for (const auto& series : std::vector<std::vector<PlotSeries>>{{}, {{"empty", {}, {}}}, {{"nan", {}, {NAN}}}}) {
    const std::string none = render_line_chart(series, {"nothing", "x", "y"});
    EXPECT_EQ(markup_problem(none), "");
    EXPECT_NE(none.find("no data"), std::string::npos);
    EXPECT_EQ(occurrences(none, "<polyline"), 0u);
  }
}

TEST(SvgPlot, EscapesTextAndThinsLongSeries) {
  const std::string svg = render_line_chart({{"<b>&\"x\"", {}, {1, 2}}}, {"a < b", "x & y", "'y'"});
  EXPECT_EQ(markup_problem(svg), "");
  EXPECT_NE(svg.find("&lt;b&gt;&amp;&quot;x&quot;"), std::string::npos);
  EXPECT_NE(svg.find("a &lt; b"), std::string::npos);

  std::vector<double> steps(100000);
  for (size_t i = 0; i < steps.size(); ++i) steps[i] = 0.1 * std::cos(3.14159 * static_cast<double>(i) / 1e5);
  const std::string long_svg = render_line_chart({{"lr", {}, steps}}, {"lr", "step", "lr"});
  EXPECT_EQ(markup_problem(long_svg), "");
  EXPECT_LT(long_svg.size(), 40000u);
}

TEST(SvgPlot, XmlEscape) { EXPECT_EQ(xml_escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"); }

// A fresh directory per test, removed afterwards.
class ReportFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / (std::string("vigil_report_") + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  fs::path dir_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

const char* const kTrickyClass = "<b>&\"x\"";

// A small synthetic run: three classes, one of them with a name full of markup, a NaN in the validation loss.
ReportInput synthetic_run(int64_t skipped_listed, int64_t skipped_count) {
  const std::vector<std::string> classes = {"nudity", "violence", kTrickyClass};
  ReportInput in;
  in.title = "run <42> & friends";
  for (int64_t e = 1; e <= 6; ++e) {
    ConfusionMatrix cm(classes);
    for (int t = 0; t < 3; ++t)
      for (int p = 0; p < 3; ++p)
        for (int64_t n = 0; n < (t == p ? 10 + 3 * e : 6 - e / 2); ++n) cm.add(t, p);
    EpochRecord r;
    r.epoch = e;
    r.train_loss = 1.2 / static_cast<double>(e);
    r.train_accuracy = 0.5 + 0.07 * static_cast<double>(e);
    r.val_loss = e == 3 ? NAN : 1.4 / static_cast<double>(e);
    r.val_accuracy = cm.accuracy();
    r.lr = 0.1 * std::pow(0.7, static_cast<double>(e));
    r.seconds = 30.5;
    r.images_per_second = 1234.5;
    r.val_confusion = cm.to_json();
    r.best = e == 5;
    in.epochs.push_back(r);
  }
  for (int s = 0; s < 60; ++s) in.step_lr.push_back(0.1 * std::pow(0.7, s / 10.0));
  ConfusionMatrix final_cm(classes);
  for (int t = 0; t < 3; ++t)
    for (int p = 0; p < 3; ++p)
      for (int n = 0; n < (t == p ? 40 : 3 + t + p); ++n) final_cm.add(t, p);
  in.final_confusion = final_cm.to_json();
  json skipped = json::array();
  for (int64_t i = 0; i < skipped_listed; ++i)
    skipped.push_back({{"path", "/data/<script>alert(" + std::to_string(i) + ")</script>.jpg"},
                       {"reason", i % 2 ? "corrupt JPEG" : "too small (< 32 px)"}});
  in.data_summary = {{"splits",
                      {{"train", {{"nudity", 800}, {"violence", 600}, {kTrickyClass, 1500}}},
                       {"val", {{"nudity", 100}, {"violence", 75}, {kTrickyClass, 190}}},
                       {"test", {{"nudity", 98}, {"violence", 80}}}}},
                     {"skipped", skipped},
                     {"skipped_count", skipped_count}};
  in.config = {{"model", "default"}, {"optimizer", {{"kind", "sgd"}, {"lr", 0.1}}}, {"note", "</pre><script>"}};
  in.timing = {{"device", "NVIDIA H100 <80GB>"}, {"images_per_second", 1234.5}, {"seconds_per_epoch", 30.5}};
  return in;
}

TEST_F(ReportFiles, WellFormedEscapedScriptFreeAndAtomic) {
  const std::string out = path("report.html");
  { std::ofstream(out) << "old contents"; }
  write_report_html(out, synthetic_run(3, 3));
  EXPECT_EQ(listing(), std::vector<std::string>{"report.html"});  // no temporary file left behind
  const std::string html = slurp(out);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(markup_problem(html), "");
  EXPECT_EQ(lower(html).find("<script"), std::string::npos);
  EXPECT_EQ(html.find(kTrickyClass), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;&amp;&quot;x&quot;"), std::string::npos);
  EXPECT_NE(html.find("run &lt;42&gt; &amp; friends"), std::string::npos);
  EXPECT_NE(html.find("NVIDIA H100 &lt;80GB&gt;"), std::string::npos);
  // Every section is there; charts and tables are balanced.
  for (const char* id : {"summary", "curves", "confusion", "per-class", "epochs", "data", "timing", "config"})
    EXPECT_NE(html.find(std::string("<section id=\"") + id + "\">"), std::string::npos) << id;
  EXPECT_EQ(occurrences(html, "<svg"), 4u);  // loss, accuracy, per-class recall, learning rate
  EXPECT_EQ(occurrences(html, "<svg"), occurrences(html, "</svg>"));
  EXPECT_EQ(occurrences(html, "<table"), occurrences(html, "</table>"));
  EXPECT_NE(html.find("<table class=\"cm\">"), std::string::npos);
  EXPECT_EQ(lower(html).find(">nan<"), std::string::npos);
  EXPECT_EQ(html.find("points=\"\""), std::string::npos);
  // Splits read train, val, test (not alphabetically); a class missing from a split counts 0 there.
  const size_t train = html.find("<th>train</th>"), val = html.find("<th>val</th>"), test = html.find("<th>test</th>");
  ASSERT_NE(test, std::string::npos);
  EXPECT_LT(train, val);
  EXPECT_LT(val, test);
}

TEST_F(ReportFiles, SkippedFilesListAtMostOneHundred) {
  const std::string html = render_report_html(synthetic_run(150, 180));
  EXPECT_EQ(markup_problem(html), "");
  EXPECT_EQ(occurrences(html, "<td class=\"path\">"), 100u);
  EXPECT_NE(html.find("Skipped files: 180"), std::string::npos);
  EXPECT_NE(html.find("and 80 more"), std::string::npos);
  EXPECT_NE(html.find("alert(99)"), std::string::npos);
  EXPECT_EQ(html.find("alert(100)"), std::string::npos);
}

TEST_F(ReportFiles, MinimalInputStillRenders) {
  ReportInput in;
  const std::string html = render_report_html(in);
  EXPECT_EQ(markup_problem(html), "");
  EXPECT_NE(html.find("No final evaluation was recorded"), std::string::npos);
  EXPECT_NE(html.find("No data summary was recorded"), std::string::npos);

  ReportInput one_epoch;
  EpochRecord r;
  r.epoch = 1;
  r.train_loss = 0.9;
  one_epoch.epochs.push_back(r);
  EXPECT_EQ(markup_problem(render_report_html(one_epoch)), "");
}

TEST_F(ReportFiles, MalformedConfusionIsAnErrorAndLeavesNoFile) {
  ReportInput in = synthetic_run(0, 0);
  in.final_confusion = {{"classes", {"a"}}, {"matrix", {{1, 2}}}};
  EXPECT_THROW(write_report_html(path("report.html"), in), Error);
  EXPECT_TRUE(listing().empty());
}

}  // namespace
}  // namespace vigil::train
