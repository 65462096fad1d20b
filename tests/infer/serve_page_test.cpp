// The upload page of `vigil serve` in a real browser: headless Chromium (Debian's `chromium`) loads the page in an
// iframe of a same-origin harness page, which hands it images through the page's own file input and drop zone; the
// rendered class, decision and probability bars must equal what /predict_image answers for the same bytes. Skipped
// with a message when chromium is not installed or cannot start here.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "infer/eval_thumbnails.h"
#include "infer/serve.h"
#include "infer_test_support.h"

extern char** environ;

namespace vigil::test {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

// The full path of the executable `name` on PATH, or "" when there is none.
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// An image the harness hands to the page.
struct PageImage {
  std::string name;
  std::string bytes;
};

// The harness: loads the upload page (`/`) in an iframe, picks images[0] through the page's file input, then drops
// images[1] on its drop zone, and copies what the page rendered each time into #report as JSON (between "REPORT:"
// and ":END"), so it survives in the DOM that chromium dumps.
std::string harness_page(const std::vector<PageImage>& images) {
  Json list = Json::array();
  for (const auto& image : images)
    list.push_back({{"name", image.name},
                    {"base64", infer::base64_encode(reinterpret_cast<const uint8_t*>(image.bytes.data()),
                                                    image.bytes.size())}});
  return R"HTML(<!doctype html>
<html><head><meta charset="utf-8"><title>harness</title></head>
<body>
<p id="loaded">harness loaded</p>
<pre id="report"></pre>
<script>
"use strict";
const IMAGES = )HTML" + list.dump() + R"HTML(;
function finish(report) {
  document.getElementById("report").textContent = "REPORT:" + JSON.stringify(report) + ":END";
}
function file_of(image) {
  const text = atob(image.base64), bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; ++i) bytes[i] = text.charCodeAt(i);
  return new File([bytes], image.name, { type: "image/bmp" });
}
// What the page shows in #result: null while it has no answer yet.
function rendered(doc) {
  const result = doc.getElementById("result");
  const error = result.querySelector(".error");
  if (error) return { error: error.textContent };
  const verdict = result.querySelector(".verdict");
  if (!verdict) return null;
  return {
    verdict: verdict.textContent,
    rows: Array.from(result.querySelectorAll(".row"), row => ({
      name: row.querySelector(".name").textContent,
      width: row.querySelector(".bar").style.width,
      top: row.querySelector(".bar").classList.contains("top"),
      pct: row.querySelector(".pct").textContent })),
    footer: result.lastElementChild.textContent,
    preview: doc.getElementById("preview").style.display };
}
// Calls `then` with the page's answer once it shows one, or with null after 200 tries 50 ms apart.
function when_rendered(doc, then, tries = 200) {
  const r = rendered(doc);
  if (r || tries === 0) return then(r);
  setTimeout(() => when_rendered(doc, then, tries - 1), 50);
}
function when_described(doc, then, tries = 200) {
  const text = doc.getElementById("model").textContent;
  if (text.startsWith("model ") || tries === 0) return then(text);
  setTimeout(() => when_described(doc, then, tries - 1), 50);
}
// The page is loaded after the load handler is in place; the handler starts once, on the page (not about:blank).
const frame = document.createElement("iframe");
let started = false;
frame.addEventListener("load", () => {
  const doc = frame.contentDocument, win = frame.contentWindow, report = {};
  if (started || !doc || !doc.getElementById("file")) return;
  started = true;
  try {
    const picked = new win.DataTransfer();
    picked.items.add(file_of(IMAGES[0]));
    const input = doc.getElementById("file");
    input.files = picked.files;
    input.dispatchEvent(new win.Event("change", { bubbles: true }));
    when_rendered(doc, first => {
      report.picked = first;
      doc.getElementById("result").replaceChildren();  // the drop must render its own answer
      const dropped = new win.DataTransfer();
      dropped.items.add(file_of(IMAGES[1]));
      doc.getElementById("drop").dispatchEvent(
          new win.DragEvent("drop", { dataTransfer: dropped, bubbles: true, cancelable: true }));
      when_rendered(doc, second => {
        report.dropped = second;
        when_described(doc, model => {
          report.model = model;
          finish(report);
        });
      });
    });
  } catch (e) {
    finish({ exception: String(e) });
  }
});
frame.width = 900;
frame.height = 900;
frame.src = "/";
document.body.append(frame);
</script>
</body></html>
)HTML";
}

// A same-origin front for the browser: serves the harness at /harness and forwards every other request to the
// vigil server (uploads re-encoded from their parts), recording each request and each uploaded file.
class PageProxy {
 public:
  PageProxy(int upstream_port, std::string harness) : upstream_port_(upstream_port) {
    http_.Get("/harness", [this, harness](const httplib::Request& req, httplib::Response& res) {
      note(req);
      res.set_content(harness, "text/html; charset=utf-8");
    });
    http_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      note(req);
      answer(upstream().Get(req.path.c_str()), res);
    });
    http_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      note(req);
      httplib::MultipartFormDataItems items;
      for (const auto& [name, part] : req.files) {
        items.push_back({name, part.content, part.filename, part.content_type});
        std::lock_guard<std::mutex> lock(mutex_);
        uploads_.push_back({part.filename, part.content});
      }
      answer(upstream().Post(req.path.c_str(), items), res);
    });
    port_ = http_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { http_.listen_after_bind(); });
    // httplib's stop() does nothing before its accept loop runs.
    const auto until = Clock::now() + std::chrono::seconds(10);
    while (!http_.is_running() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~PageProxy() {
    http_.stop();
    thread_.join();
  }
  PageProxy(const PageProxy&) = delete;
  PageProxy& operator=(const PageProxy&) = delete;

  int port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  std::vector<PageImage> uploads() {
    std::lock_guard<std::mutex> lock(mutex_);
    return uploads_;
  }

 private:
  httplib::Client upstream() const {
    httplib::Client c("127.0.0.1", upstream_port_);
    c.set_read_timeout(20, 0);
    return c;
  }
  void note(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(req.method + " " + req.path);
  }
  static void answer(const httplib::Result& r, httplib::Response& res) {
    if (!r) {
      res.status = 502;
      res.set_content("upstream: " + httplib::to_string(r.error()), "text/plain");
      return;
    }
    res.status = r->status;
    res.set_content(r->body, r->get_header_value("Content-Type").c_str());
  }

  int upstream_port_;
  int port_ = 0;
  httplib::Server http_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::vector<PageImage> uploads_;
};

// One run of `chromium --headless --dump-dom URL` in its own process group, killed (with its children) after
// `seconds`.
struct BrowserRun {
  bool finished = false;  // exited on its own before the time limit
  int exit_code = -1;
  std::string dom;  // standard output: the serialised DOM
  std::string log;  // standard error
};

BrowserRun run_headless(const std::string& chromium, const std::string& url, const fs::path& scratch,
                        double seconds) {
  const std::string dom_file = (scratch / "dom.html").string(), log_file = (scratch / "chromium.log").string();
  std::vector<std::string> args = {chromium,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-dev-shm-usage",
                                   "--no-first-run",
                                   "--user-data-dir=" + (scratch / "profile").string(),
                                   "--virtual-time-budget=30000",
                                   "--dump-dom",
                                   url};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, dom_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);  // its own group, so its helper processes can be ended with it
  pid_t pid = 0;
  BrowserRun run;
  const int spawned = posix_spawn(&pid, chromium.c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) {
    run.log = "posix_spawn " + chromium + ": " + std::strerror(spawned);
    return run;
  }
  int status = 0;
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < until) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      run.finished = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-pid, SIGKILL);  // whatever of the group is left (all of it after a timeout)
  if (!run.finished) ::waitpid(pid, &status, 0);
  run.exit_code = run.finished && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.dom = read_text(dom_file);
  run.log = read_text(log_file);
  return run;
}

std::string last_lines(const std::string& text, size_t count) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string out;
  for (size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i) out += lines[i] + "\n";
  return out.empty() ? "(nothing)\n" : out;
}

// Text content as serialised in HTML: only &, <, > and non-breaking spaces are escaped.
std::string unescape_text(const std::string& html) {
  std::string out;
  for (size_t i = 0; i < html.size(); ++i) {
    bool replaced = false;
    for (const auto& [entity, text] : {std::pair<const char*, const char*>{"&amp;", "&"}, {"&lt;", "<"},
                                       {"&gt;", ">"}, {"&nbsp;", "\xc2\xa0"}}) {
      if (html.compare(i, std::strlen(entity), entity) == 0) {
        out += text;
        i += std::strlen(entity) - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += html[i];
  }
  return out;
}

// Checks one rendering of the page against the server's own answer for the same image.
void expect_rendered(const Json& shown, const Json& answer) {
  SCOPED_TRACE("page: " + shown.dump() + "\nserver: " + answer.dump());
  ASSERT_TRUE(shown.is_object()) << "the page showed no answer";
  ASSERT_FALSE(shown.contains("error")) << "the page showed an error";
  const std::string top = answer["class_name"].get<std::string>();
  EXPECT_EQ(shown["verdict"], top + "  (decision: " + answer["decision"].get<std::string>() + ")");
  EXPECT_EQ(shown["footer"], "model " + answer["model_version"].get<std::string>());
  EXPECT_EQ(shown["preview"], "block");
  const Json& probabilities = answer["probabilities"];
  ASSERT_EQ(shown["rows"].size(), probabilities.size());
  size_t i = 0;
  for (const auto& [name, p] : probabilities.items()) {
    const Json& row = shown["rows"][i++];
    EXPECT_EQ(row["name"], name);
    EXPECT_EQ(row["top"], name == top) << name;
    const std::string pct = row["pct"].get<std::string>();
    ASSERT_EQ(pct.substr(pct.size() - 2), " %") << name;
    const double shown_percent = std::stod(pct);
    EXPECT_NEAR(shown_percent, 100.0 * p.get<double>(), 0.05 + 1e-9) << name;  // rounded to one decimal
    const std::string width = row["width"].get<std::string>();  // CSS keeps "44%" of "44.0%"
    ASSERT_TRUE(!width.empty() && width.back() == '%') << name << ": bar width " << width;
    EXPECT_EQ(std::stod(width), shown_percent) << name << ": the bar is not as long as the number says";
  }
}

class ServePage : public ScratchTest {};

TEST_F(ServePage, UploadPageWorksInHeadlessChromium) {
  const std::string chromium = find_on_path("chromium");
  if (chromium.empty()) GTEST_SKIP() << "chromium is not on PATH: the upload page was not tried in a browser";

  save_tiny_model(path("model.safetensors"));
  infer::ServeOptions o;
  o.model = path("model.safetensors");
  o.port = 0;
  o.device = "cpu";
  o.threads = 1;
  o.http_threads = 4;
  o.max_wait_ms = 0;
  o.log_file = path("serve.log");
  std::ostringstream notes;
  infer::Server server(o, notes);
  const int port = server.bind();
  std::thread runner([&] { server.run(); });
  struct StopAtEnd {
    infer::Server& server;
    std::thread& runner;
    ~StopAtEnd() {
      server.stop();
      runner.join();
    }
  } stop_at_end{server, runner};

  std::vector<PageImage> images(2);
  write_gradient_bmp(path("picked.bmp"), 1, 20, 12);
  write_gradient_bmp(path("dropped.bmp"), 0, 13, 17);
  images[0] = {"picked.bmp", read_text(path("picked.bmp"))};
  images[1] = {"dropped.bmp", read_text(path("dropped.bmp"))};
  // The server's own answers for the same bytes.
  std::vector<Json> answers;
  httplib::Client direct("127.0.0.1", port);
  for (const auto& image : images) {
    auto r = direct.Post("/predict_image",
                         httplib::MultipartFormDataItems{{"file", image.bytes, image.name, "image/bmp"}});
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    ASSERT_EQ(r->status, 200) << r->body;
    answers.push_back(Json::parse(r->body));
  }
  ASSERT_NE(answers[0]["probabilities"].dump(), answers[1]["probabilities"].dump())
      << "the two images must render differently, or a stale answer could pass for the second";

  PageProxy proxy(port, harness_page(images));
  ASSERT_GT(proxy.port(), 0);
  const BrowserRun run = run_headless(chromium, "http://127.0.0.1:" + std::to_string(proxy.port()) + "/harness",
                                      root_, 25);
  const auto requests = proxy.requests();
  const bool harness_fetched = std::find(requests.begin(), requests.end(), "GET /harness") != requests.end();
  if (!harness_fetched)
    GTEST_SKIP() << "chromium (" << chromium << ") did not start or load a page here (exit "
                 << run.exit_code << (run.finished ? "" : ", killed after 25 s") << "); its last output:\n"
                 << last_lines(run.log, 8);

  ASSERT_TRUE(run.finished) << "chromium loaded the harness but did not finish within 25 s; its log:\n"
                            << last_lines(run.log, 20);
  const size_t begin = run.dom.find("REPORT:"), end = run.dom.find(":END");
  ASSERT_TRUE(begin != std::string::npos && end != std::string::npos && end > begin)
      << "no report in the page (proxied: " << testing::PrintToString(requests) << "); DOM:\n"
      << run.dom.substr(0, 4000);
  const Json report = Json::parse(unescape_text(run.dom.substr(begin + 7, end - begin - 7)), nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << run.dom.substr(begin, end - begin);
  ASSERT_FALSE(report.contains("exception")) << report.dump();

  {
    SCOPED_TRACE("chosen with the file input");
    expect_rendered(report["picked"], answers[0]);
  }
  {
    SCOPED_TRACE("dropped on the drop zone");
    expect_rendered(report["dropped"], answers[1]);
  }
  EXPECT_EQ(report["model"], "model tiny-softmax on cpu - classes: nudity, violence, standard");

  // The page itself sent the harness's bytes to /predict_image.
  const auto uploads = proxy.uploads();
  ASSERT_EQ(uploads.size(), 2u) << testing::PrintToString(requests);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(uploads[i].name, images[i].name);
    EXPECT_TRUE(uploads[i].bytes == images[i].bytes) << images[i].name << ": the page sent other bytes";
  }
  for (const char* expected : {"GET /", "GET /version"})
    EXPECT_NE(std::find(requests.begin(), requests.end(), expected), requests.end())
        << expected << " in " << testing::PrintToString(requests);
}

}  // namespace
}  // namespace vigil::test
