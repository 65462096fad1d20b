// `vigil serve` over real HTTP on a loopback port with a tiny model: every endpoint and status code (200, 400,
// 401, 404, 405, 413, 415, 503, 504), the seed's response keys, /v1/classify order and per-file errors, metrics,
// micro-batching (batched answers equal single ones), equality with classify, graceful stop, a 10,000-request leak
// check and the real binary stopping on SIGTERM; plus the batcher and the metrics registry on their own. The upload
// page in a browser: serve_page_test.cpp.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <thread>

#include "common/error.h"
#include "infer/serve.h"
#include "infer/serve_batcher.h"
#include "infer/serve_metrics.h"
#include "infer_test_support.h"
#include "support/sanitizers.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#pragma GCC diagnostic pop

extern char** environ;

namespace vigil::test {
namespace {

using Clock = std::chrono::steady_clock;
using infer::Batcher;
using infer::BatcherOptions;
using infer::ServeOptions;

// The PNG file of a w x h RGB image.
std::string png_of(int w, int h, const std::vector<uint8_t>& rgb) {
  std::string out;
  stbi_write_png_to_func(
      [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append(static_cast<char*>(data), size); },
      &out, w, h, 3, rgb.data(), w * 3);
  return out;
}

std::string png_bytes(int w, int h, int seed) {
  std::vector<uint8_t> px(static_cast<size_t>(w * h * 3));
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 37 + static_cast<size_t>(seed) * 61) % 256);
  return png_of(w, h, px);
}

// A PNG whose size, mean colour and pattern all depend on `seed`, so the tiny model gives every seed its own answer.
std::string distinct_png(int seed) {
  const int w = 14 + 3 * seed, h = 12 + 2 * (seed % 4);
  std::vector<uint8_t> px(static_cast<size_t>(w * h * 3));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &px[static_cast<size_t>((y * w + x) * 3)];
      p[0] = static_cast<uint8_t>((seed * 29 + x * (4 + seed)) % 256);
      p[1] = static_cast<uint8_t>((230 - seed * 27 + y * 9) % 256);
      p[2] = static_cast<uint8_t>(((seed % 3) * 100 + (x ^ y) * (seed + 1) * 5) % 256);
    }
  return png_of(w, h, px);
}

// Polls `done` every few milliseconds for up to `seconds`.
bool eventually(const std::function<bool()>& done, double seconds = 10) {
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done();
}

nlohmann::json body_json(const httplib::Result& r) {
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r->body;
  return j;
}

long resident_pages() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident;
}

class Serve : public ScratchTest {
 protected:
  void SetUp() override {
    ScratchTest::SetUp();
    save_tiny_model(path("model.safetensors"));
    png_ = png_bytes(24, 18, 1);
  }
  void TearDown() override {
    stop_server();
    ScratchTest::TearDown();
  }

  ServeOptions options() const {
    ServeOptions o;
    o.model = path("model.safetensors");
    o.port = 0;
    o.device = "cpu";
    o.threads = 1;
    o.http_threads = 4;
    o.max_wait_ms = 0;
    o.log_file = path("serve.log");
    return o;
  }
  void start(const ServeOptions& o) {
    server_ = std::make_unique<infer::Server>(o, notes_);
    port_ = server_->bind();
    runner_ = std::thread([this] { server_->run(); });
  }
  void stop_server() {
    if (!server_) return;
    server_->batcher().resume();
    server_->stop();
    runner_.join();
    server_.reset();
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_tcp_nodelay(true);
    c.set_read_timeout(30, 0);
    c.set_write_timeout(30, 0);
    return c;
  }
  httplib::Result post_file(const std::string& route, const std::string& bytes, const std::string& filename,
                            const httplib::Headers& headers = {}, const std::string& field = "file") const {
    return client().Post(route.c_str(), headers,
                         httplib::MultipartFormDataItems{{field, bytes, filename, "application/octet-stream"}});
  }
  uint64_t requests(const std::string& endpoint, int status) const {
    return server_->metrics().requests(endpoint, status);
  }

  std::ostringstream notes_;
  std::unique_ptr<infer::Server> server_;
  std::thread runner_;
  int port_ = 0;
  std::string png_;
};

TEST_F(Serve, PredictImageAnswersWithTheSeedKeys) {
  start(options());
  auto r = post_file("/predict_image", png_, "photo.png");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_FALSE(r->get_header_value("X-Request-Id").empty());
  const auto j = body_json(r);
  for (const char* key : {"prediction", "class name", "class_id", "class_name", "probabilities", "decision",
                          "model_version", "latency_ms"})
    EXPECT_TRUE(j.contains(key)) << key << " in " << r->body;
  const std::vector<std::string> classes = {"nudity", "violence", "standard"};
  const int id = j["prediction"].get<int>();
  ASSERT_GE(id, 0);
  ASSERT_LT(id, 3);
  EXPECT_EQ(j["class_id"], id);
  EXPECT_EQ(j["class name"], classes[static_cast<size_t>(id)]);
  EXPECT_EQ(j["class_name"], classes[static_cast<size_t>(id)]);
  EXPECT_EQ(j["decision"], classes[static_cast<size_t>(id)]);  // softmax thresholds default to 0
  EXPECT_EQ(j["model_version"], "tiny-softmax");
  double sum = 0, best = -1;
  for (const auto& c : classes) {
    ASSERT_TRUE(j["probabilities"].contains(c)) << r->body;
    const double p = j["probabilities"][c].get<double>();
    sum += p;
    best = std::max(best, p);
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_EQ(j["probabilities"][classes[static_cast<size_t>(id)]].get<double>(), best);
}

TEST_F(Serve, SameProbabilitiesAsClassify) {
  start(options());
  std::ofstream(path("same.png"), std::ios::binary) << png_;
  write_gradient_bmp(path("same.bmp"), 3);
  ASSERT_EQ(0, vigil("classify --model " + path("model.safetensors") + " --device cpu --quiet --jsonl " +
                     path("out.jsonl") + " " + path("same.png") + " " + path("same.bmp")))
      << err();
  const auto records = read_jsonl(root_ / "out.jsonl");
  ASSERT_EQ(records.size(), 2u);
  const std::string bmp = read_text(root_ / "same.bmp");
  auto many = client().Post("/v1/classify", httplib::MultipartFormDataItems{{"a", png_, "same.png", "image/png"},
                                                                             {"b", bmp, "same.bmp", "image/bmp"}});
  ASSERT_TRUE(many);
  ASSERT_EQ(many->status, 200) << many->body;
  const auto results = body_json(many)["results"];
  auto single = post_file("/predict_image", bmp, "same.bmp");
  ASSERT_TRUE(single);
  ASSERT_EQ(single->status, 200) << single->body;
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(records[i].dump());
    EXPECT_EQ(results[i]["class_name"].dump(), records[i]["class_name"].dump());
    EXPECT_EQ(results[i]["decision"].dump(), records[i]["decision"].dump());
    for (const auto& [name, p] : records[i]["probabilities"].items())
      EXPECT_NEAR(results[i]["probabilities"][name].get<double>(), p.get<double>(), 1e-6) << name;
  }
  for (const auto& [name, p] : records[1]["probabilities"].items())
    EXPECT_NEAR(body_json(single)["probabilities"][name].get<double>(), p.get<double>(), 1e-6) << name;
}

TEST_F(Serve, ClassifyManyKeepsOrderAndReportsBadFiles) {
  start(options());
  const std::string corrupt = png_.substr(0, 60);
  httplib::MultipartFormDataItems items = {{"f1", png_, "good.png", "image/png"},
                                           {"note", "not a file part", "", ""},
                                           {"f2", corrupt, "corrupt.png", "image/png"},
                                           {"f3", png_bytes(9, 31, 4), "other.png", "image/png"}};
  auto r = client().Post("/v1/classify", items);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto j = body_json(r);
  EXPECT_EQ(j["model_version"], "tiny-softmax");
  const auto& results = j["results"];
  ASSERT_EQ(results.size(), 3u) << r->body;
  EXPECT_EQ(results[0]["filename"], "good.png");
  EXPECT_EQ(results[1]["filename"], "corrupt.png");
  EXPECT_EQ(results[2]["filename"], "other.png");
  for (size_t i : {0u, 2u}) {
    EXPECT_EQ(results[i]["status"], "ok");
    EXPECT_TRUE(results[i]["error"].is_null());
    EXPECT_TRUE(results[i]["class_name"].is_string());
    EXPECT_EQ(results[i]["class name"], results[i]["class_name"]);
    EXPECT_EQ(results[i]["probabilities"].size(), 3u);
  }
  EXPECT_EQ(results[1]["status"], "error");
  EXPECT_NE(results[1]["error"].get<std::string>().find("not a usable image"), std::string::npos) << r->body;
  EXPECT_TRUE(results[1]["class_name"].is_null());
  EXPECT_TRUE(results[1]["probabilities"].is_null());

  auto none = client().Post("/v1/classify", httplib::MultipartFormDataItems{{"note", "text", "", ""}});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 400) << none->body;
}

TEST_F(Serve, BadRequestsGetClearStatusCodes) {
  ServeOptions o = options();
  o.max_upload_bytes = 64 << 10;
  start(o);
  auto error_of = [](const httplib::Result& r) { return nlohmann::json::parse(r->body)["error"].get<std::string>(); };

  auto no_file = post_file("/predict_image", png_, "photo.png", {}, "image");  // wrong field name
  ASSERT_TRUE(no_file);
  EXPECT_EQ(no_file->status, 400);
  EXPECT_NE(error_of(no_file).find("'file'"), std::string::npos) << no_file->body;

  auto not_multipart = client().Post("/predict_image", png_, "image/png");
  ASSERT_TRUE(not_multipart);
  EXPECT_EQ(not_multipart->status, 400);
  EXPECT_NE(error_of(not_multipart).find("multipart"), std::string::npos) << not_multipart->body;

  auto text = post_file("/predict_image", "this is text, not an image", "holiday.jpg");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->status, 415) << text->body;
  EXPECT_NE(error_of(text).find("not a usable image"), std::string::npos);

  auto empty = post_file("/predict_image", "", "empty.png");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 415) << empty->body;

  auto big = post_file("/predict_image", std::string(100 << 10, 'x'), "big.png");
  ASSERT_TRUE(big) << httplib::to_string(big.error());
  EXPECT_EQ(big->status, 413);
  EXPECT_NE(error_of(big).find("--max-upload-mb"), std::string::npos) << big->body;

  // Chunked bodies carry no Content-Length: the limit is enforced while reading.
  const std::string head =
      "--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n";
  const std::string tail = "\r\n--xyz--\r\n";
  int blocks = 0;
  auto chunked = client().Post(
      "/predict_image",
      [&](size_t, httplib::DataSink& sink) {
        if (blocks == 0) sink.write(head.data(), head.size());
        if (blocks++ == 13) {  // 13 x 16 KiB of contents
          sink.write(tail.data(), tail.size());
          sink.done();
          return true;
        }
        const std::string block(16 << 10, 'y');
        return sink.write(block.data(), block.size());
      },
      "multipart/form-data; boundary=xyz");
  ASSERT_TRUE(chunked) << httplib::to_string(chunked.error());
  EXPECT_EQ(chunked->status, 413) << chunked->body;

  // A BMP header claiming 20000 x 20000 pixels is refused before any pixel memory is allocated.
  std::string huge_bmp(54, '\0');
  huge_bmp[0] = 'B';
  huge_bmp[1] = 'M';
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) huge_bmp[at + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  };
  put32(2, 54);
  put32(10, 54);
  put32(14, 40);
  put32(18, 20000);
  put32(22, 20000);
  huge_bmp[26] = 1;
  huge_bmp[28] = 24;
  auto dims = post_file("/predict_image", huge_bmp, "huge.bmp");
  ASSERT_TRUE(dims);
  EXPECT_EQ(dims->status, 413) << dims->body;

  auto unknown = client().Get("/nowhere");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(error_of(unknown), "not found");

  auto wrong_method = client().Get("/predict_image");
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_EQ(wrong_method->get_header_value("Allow"), "POST");

  // The server still answers normally afterwards.
  auto ok = post_file("/predict_image", png_, "photo.png");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_TRUE(eventually([&] { return requests("/predict_image", 413) == 3; }));
  EXPECT_TRUE(eventually([&] { return requests("/predict_image", 415) == 2; }));
}

TEST_F(Serve, ApiKeyIsRequiredExceptForHealth) {
  std::ofstream(path("key.txt")) << "s3cret-key\nsecond line is ignored\n";
  ServeOptions o = options();
  o.api_key_file = path("key.txt");
  start(o);

  auto missing = post_file("/predict_image", png_, "photo.png");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(missing->get_header_value("WWW-Authenticate"), "Bearer");
  auto wrong = post_file("/predict_image", png_, "photo.png", {{"Authorization", "Bearer s3cret-kez"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto prefix = post_file("/predict_image", png_, "photo.png", {{"X-API-Key", "s3cret"}});
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->status, 401);
  auto bearer = post_file("/predict_image", png_, "photo.png", {{"Authorization", "Bearer s3cret-key"}});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200) << bearer->body;
  auto header = post_file("/predict_image", png_, "photo.png", {{"X-API-Key", "s3cret-key"}});
  ASSERT_TRUE(header);
  EXPECT_EQ(header->status, 200) << header->body;

  auto health = client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto metrics = client().Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 401);
  auto version = client().Get("/version", httplib::Headers{{"X-API-Key", "s3cret-key"}});
  ASSERT_TRUE(version);
  EXPECT_EQ(version->status, 200);
  auto many = client().Post("/v1/classify", httplib::MultipartFormDataItems{{"f", png_, "a.png", "image/png"}});
  ASSERT_TRUE(many);
  EXPECT_EQ(many->status, 401);

  std::ofstream(path("empty_key.txt")) << "\n";
  o.api_key_file = path("empty_key.txt");
  EXPECT_THROW(infer::Server(o, notes_), vigil::Error);
}

// httplib 0.11 alone would read the body of a refused upload as further requests (one 400 per line); vigil's
// connection loop ends the connection after the refusal instead.
TEST_F(Serve, RefusedUploadEndsTheConnection) {
  std::ofstream(path("key.txt")) << "k\n";
  ServeOptions o = options();
  o.api_key_file = path("key.txt");
  start(o);
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(0, ::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
  std::string body;
  while (body.size() < (200u << 10)) body += "GET /health HTTP/1.1\r\n\r\n";  // would be answered if parsed
  const std::string head = "POST /predict_image HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                           "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n";
  ASSERT_EQ(::send(sock, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  // Like curl, send the body anyway after the refusal (the server may stop reading: ignore send errors).
  std::thread sender([&] {
    for (size_t at = 0; at < body.size();) {
      const ssize_t n = ::send(sock, body.data() + at, body.size() - at, MSG_NOSIGNAL);
      if (n <= 0) break;
      at += static_cast<size_t>(n);
    }
    ::shutdown(sock, SHUT_WR);
  });
  std::string answer;
  char buf[4096];
  timeval tv{10, 0};
  ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (ssize_t n; (n = ::recv(sock, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<size_t>(n));
  sender.join();
  ::close(sock);
  EXPECT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << answer.substr(0, 200);
  size_t answers = 0;
  for (size_t at = 0; (at = answer.find("HTTP/1.1 ", at)) != std::string::npos; ++at) ++answers;
  EXPECT_EQ(answers, 1u) << answer.substr(0, 400);
  EXPECT_NE(answer.find("Connection: close"), std::string::npos);
  EXPECT_EQ(requests("/health", 200), 0u);
  EXPECT_EQ(requests("other", 400), 0u);
}

// A client that stops sending in the middle of its headers or its upload is cut off after --timeout-ms (+1 s).
TEST_F(Serve, StalledClientsAreCutOff) {
  ServeOptions o = options();
  o.timeout_ms = 200;
  start(o);
  auto stalled = [&](const std::string& sent) {
    const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(0, ::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
    EXPECT_EQ(::send(sock, sent.data(), sent.size(), MSG_NOSIGNAL), static_cast<ssize_t>(sent.size()));
    timeval tv{10, 0};
    ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const auto t0 = Clock::now();
    std::string answer;
    char buf[4096];
    for (ssize_t n; (n = ::recv(sock, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<size_t>(n));
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    ::close(sock);
    EXPECT_LT(seconds, 5.0) << "the server waited for the stalled client";
    return answer;
  };
  const std::string headers = stalled("POST /predict_image HTTP/1.1\r\nHost: x\r\nContent-Ty");  // never ends
  EXPECT_EQ(headers.rfind("HTTP/1.1 400", 0), 0u) << headers;  // httplib's answer to incomplete headers
  const std::string upload = stalled(
      "POST /predict_image HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
      "Content-Length: 5000\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nab");
  EXPECT_EQ(upload.rfind("HTTP/1.1 408", 0), 0u) << upload;
  auto ok = post_file("/predict_image", png_, "photo.png");  // the server is fine
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(Serve, FullQueueGives503WithRetryAfter) {
  ServeOptions o = options();
  o.queue = 1;
  start(o);
  server_->batcher().pause();
  std::thread first([&] {
    auto r = post_file("/predict_image", png_, "first.png");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  });
  ASSERT_TRUE(eventually([&] { return server_->batcher().depth() == 1; }));
  auto refused = post_file("/predict_image", png_, "second.png");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_GE(std::stoi(refused->get_header_value("Retry-After")), 1);
  EXPECT_NE(body_json(refused)["error"].get<std::string>().find("queue is full"), std::string::npos);
  server_->batcher().resume();
  first.join();
  auto later = post_file("/predict_image", png_, "third.png");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 200);
}

TEST_F(Serve, SlowInferenceGives504AndTheImageIsDropped) {
  ServeOptions o = options();
  o.timeout_ms = 300;
  start(o);
  server_->batcher().pause();
  const auto t0 = Clock::now();
  auto r = post_file("/predict_image", png_, "slow.png");
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504) << r->body;
  EXPECT_GE(seconds, 0.25);
  EXPECT_LT(seconds, 5.0);
  EXPECT_NE(body_json(r)["error"].get<std::string>().find("--timeout-ms"), std::string::npos);
  server_->batcher().resume();
  EXPECT_TRUE(eventually([&] { return server_->batcher().depth() == 0; }));
  EXPECT_TRUE(eventually([&] { return requests("/predict_image", 504) == 1; }));
}

TEST_F(Serve, ConcurrentRequestsShareBatches) {
  ServeOptions o = options();
  o.max_batch = 8;
  o.http_threads = 8;
  start(o);
  server_->batcher().pause();
  constexpr int kRequests = 6;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kRequests; ++i)
    clients.emplace_back([&, i] {
      auto r = post_file("/predict_image", png_bytes(20, 20, i), "c" + std::to_string(i) + ".png");
      if (r && r->status == 200) ++ok;
    });
  ASSERT_TRUE(eventually([&] { return server_->batcher().depth() == kRequests; }));
  server_->batcher().resume();
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kRequests);
  EXPECT_EQ(server_->metrics().batches_over_one(), 1u);
  auto m = client().Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("vigil_batch_size_bucket{le=\"4\"} 0\n"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("vigil_batch_size_bucket{le=\"8\"} 1\n"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("vigil_batch_size_sum 6\n"), std::string::npos) << m->body;
}

// Different images sent together run as one batch, and each answer equals the answer for the same image sent
// alone (a batch of one): a batching bug that mixed up rows or leaked between them would change the numbers.
TEST_F(Serve, ConcurrentAnswersEqualSingleAnswers) {
  ServeOptions o = options();
  o.max_batch = 8;
  o.http_threads = 10;
  start(o);
  constexpr size_t kImages = 8;
  std::vector<std::string> images;
  for (size_t i = 0; i < kImages; ++i) images.push_back(distinct_png(static_cast<int>(i)));

  std::vector<nlohmann::json> alone(kImages);
  for (size_t i = 0; i < kImages; ++i) {
    auto r = post_file("/predict_image", images[i], "alone" + std::to_string(i) + ".png");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    ASSERT_EQ(r->status, 200) << r->body;
    alone[i] = body_json(r);
  }
  ASSERT_EQ(server_->metrics().batches_over_one(), 0u) << "requests sent one after another ran alone";
  // The check has teeth only if every image has its own answer.
  for (size_t i = 0; i < kImages; ++i)
    for (size_t j = i + 1; j < kImages; ++j) {
      double gap = 0;
      for (const auto& [name, p] : alone[i]["probabilities"].items())
        gap = std::max(gap, std::abs(p.get<double>() - alone[j]["probabilities"][name].get<double>()));
      ASSERT_GT(gap, 1e-3) << "images " << i << " and " << j << " get nearly the same answer: " << alone[i].dump()
                           << " / " << alone[j].dump();
    }

  server_->batcher().pause();
  std::vector<nlohmann::json> together(kImages);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < kImages; ++i)
    clients.emplace_back([&, i] {
      auto r = post_file("/predict_image", images[i], "together" + std::to_string(i) + ".png");
      if (r && r->status == 200) together[i] = nlohmann::json::parse(r->body, nullptr, false);
    });
  const bool queued = eventually([&] { return server_->batcher().depth() == kImages; });
  server_->batcher().resume();
  for (auto& t : clients) t.join();
  ASSERT_TRUE(queued) << "the " << kImages << " requests never waited together";
  EXPECT_EQ(server_->metrics().batches_over_one(), 1u);
  auto m = client().Get("/metrics");
  ASSERT_TRUE(m);
  for (const std::string& line : {"vigil_batch_size_bucket{le=\"1\"} " + std::to_string(kImages) + "\n",
                                  "vigil_batch_size_count " + std::to_string(kImages + 1) + "\n",
                                  "vigil_batch_size_sum " + std::to_string(2 * kImages) + "\n"})
    EXPECT_NE(m->body.find(line), std::string::npos) << "missing: " << line << "in:\n" << m->body;

  for (size_t i = 0; i < kImages; ++i) {
    const auto& single = alone[i];
    const auto& batched = together[i];
    SCOPED_TRACE("image " + std::to_string(i) + ": alone " + single.dump() + ", batched " + batched.dump());
    ASSERT_TRUE(batched.is_object() && batched.contains("probabilities")) << "no answer in the batch";
    EXPECT_EQ(batched["class_name"], single["class_name"]);
    EXPECT_EQ(batched["decision"], single["decision"]);
    ASSERT_EQ(batched["probabilities"].size(), 3u);
    for (const auto& [name, p] : single["probabilities"].items())
      EXPECT_NEAR(batched["probabilities"][name].get<double>(), p.get<double>(), 1e-4) << name;
  }
}

TEST_F(Serve, MetricsVersionHealthAndPage) {
  start(options());
  for (int i = 0; i < 2; ++i) {
    auto r = post_file("/predict_image", png_, "m.png");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
  }
  auto bad = post_file("/predict_image", "text", "m.jpg");
  ASSERT_TRUE(bad);
  ASSERT_EQ(bad->status, 415);

  auto health = client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(body_json(health)["status"], "ok");

  auto version = client().Get("/version");
  ASSERT_TRUE(version);
  ASSERT_EQ(version->status, 200);
  const auto v = body_json(version);
  EXPECT_EQ(v["vigil"], VIGIL_VERSION);
  EXPECT_EQ(v["model_version"], "tiny-softmax");
  EXPECT_EQ(v["classes"], nlohmann::json({"nudity", "violence", "standard"}));
  EXPECT_EQ(v["device"], "cpu");
  EXPECT_EQ(v["head"], "softmax");

  auto page = client().Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("predict_image"), std::string::npos);
  EXPECT_NE(page->body.find("<input id=\"file\" type=\"file\""), std::string::npos);
  EXPECT_EQ(page->body.find("http://"), std::string::npos);  // nothing fetched from elsewhere
  EXPECT_EQ(page->body.find("https://"), std::string::npos);
  EXPECT_EQ(page->body.find(" src=\"http"), std::string::npos);

  // The logger runs after the answer is sent: wait until every request so far is counted.
  ASSERT_TRUE(eventually([&] {
    return requests("/predict_image", 200) == 2 && requests("/predict_image", 415) == 1 &&
           requests("/health", 200) == 1 && requests("/version", 200) == 1 && requests("/", 200) == 1;
  }));
  auto m = client().Get("/metrics");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->status, 200);
  EXPECT_EQ(m->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = m->body;
  for (const char* line :
       {"# TYPE vigil_http_requests_total counter\n",
        "vigil_http_requests_total{endpoint=\"/predict_image\",status=\"200\"} 2\n",
        "vigil_http_requests_total{endpoint=\"/predict_image\",status=\"415\"} 1\n",
        "vigil_http_requests_total{endpoint=\"/health\",status=\"200\"} 1\n",
        "# TYPE vigil_http_request_duration_seconds histogram\n",
        "vigil_http_request_duration_seconds_count{endpoint=\"/predict_image\"} 3\n",
        "vigil_http_request_duration_seconds_bucket{endpoint=\"/predict_image\",le=\"+Inf\"} 3\n",
        "# TYPE vigil_batch_size histogram\n", "vigil_batch_size_count 2\n", "vigil_batch_size_bucket{le=\"1\"} 2\n",
        "# TYPE vigil_queue_depth gauge\n", "vigil_queue_depth 0\n", "vigil_images_total{result=\"error\"} 1\n",
        "vigil_build_info{version=\"" VIGIL_VERSION
        "\",model=\"tiny-softmax\",model_version=\"tiny-softmax\",device=\"cpu\"} 1\n"})
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "in:\n" << text;

  // One JSON log line per request with the agreed fields.
  ASSERT_TRUE(eventually([&] { return requests("/metrics", 200) == 1; }));
  const auto lines = read_jsonl(root_ / "serve.log");
  ASSERT_EQ(lines.size(), 7u) << read_text(root_ / "serve.log");
  int answered = 0, refused = 0;
  for (const auto& line : lines) {
    SCOPED_TRACE(line.dump());
    for (const char* key : {"time", "request_id", "method", "path", "status", "latency_ms", "bytes", "bytes_out"})
      EXPECT_TRUE(line.contains(key)) << key;
    EXPECT_TRUE(line["latency_ms"].is_number());
    if (line["path"] != "/predict_image") continue;
    EXPECT_EQ(line["method"], "POST");
    EXPECT_GT(line["bytes"].get<int>(), 0);
    if (line["status"] == 200) {
      ++answered;
      EXPECT_TRUE(line["class"].is_string());
    } else {
      ++refused;
      EXPECT_EQ(line["status"], 415);
      EXPECT_NE(line["error"].get<std::string>().find("not a usable image"), std::string::npos);
    }
  }
  EXPECT_EQ(answered, 2);
  EXPECT_EQ(refused, 1);
}

TEST_F(Serve, StopFinishesRequestsInFlight) {
  start(options());
  server_->batcher().pause();
  std::thread in_flight([&] {
    auto r = post_file("/predict_image", png_, "late.png");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200) << r->body;
  });
  ASSERT_TRUE(eventually([&] { return server_->batcher().depth() == 1; }));
  server_->stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // run() is now waiting for the request
  server_->batcher().resume();
  in_flight.join();
  runner_.join();
  auto after = client().Get("/health");
  EXPECT_FALSE(after) << "still accepting after stop";
  server_.reset();
}

TEST_F(Serve, NoGrowthOverTenThousandRequests) {
  if (VIGIL_UNDER_ASAN) GTEST_SKIP() << "AddressSanitizer's quarantine keeps freed memory resident; this runs in the Release pass";
  start(options());
  const std::string tiny = png_bytes(8, 8, 2);
  httplib::Client c("127.0.0.1", port_);
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);
  const httplib::MultipartFormDataItems items = {{"file", tiny, "tiny.png", "image/png"}};
  long after_500 = 0;
  const auto t0 = Clock::now();
  for (int i = 1; i <= 10000; ++i) {
    auto r = c.Post("/predict_image", items);
    ASSERT_TRUE(r) << "request " << i << ": " << httplib::to_string(r.error());
    ASSERT_EQ(r->status, 200) << r->body;
    if (i == 500) after_500 = resident_pages();
  }
  const long after_10000 = resident_pages();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::cout << "10000 requests in " << seconds << " s; resident pages after 500: " << after_500
            << ", after 10000: " << after_10000 << "\n";
  EXPECT_LE(after_10000, after_500 + after_500 / 10);
}

// The real binary: --port 0 prints the port, /health answers, SIGTERM stops it with exit status 0.
TEST_F(Serve, BinaryStopsCleanlyOnSigterm) {
  const std::string model = path("model.safetensors"), log = path("cli.err");
  std::vector<std::string> args = {VIGIL_BIN, "serve", "--model", model, "--port", "0", "--device", "cpu",
                                   "--threads", "1"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  ASSERT_EQ(0, posix_spawn(&pid, VIGIL_BIN, &actions, nullptr, argv.data(), environ));
  posix_spawn_file_actions_destroy(&actions);

  int port = 0;
  const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
  const bool started = eventually(
      [&] {
        std::smatch m;
        const std::string text = read_text(log);
        if (!std::regex_search(text, m, listening)) return false;
        port = std::stoi(m[1]);
        return true;
      },
      15);
  if (!started) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    FAIL() << "no 'listening on' line: " << read_text(log);
  }
  httplib::Client c("127.0.0.1", port);
  auto health = c.Get("/health");
  EXPECT_TRUE(health && health->status == 200);
  ASSERT_EQ(0, ::kill(pid, SIGTERM));
  int status = 0;
  const bool exited = eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 15);
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  ASSERT_TRUE(exited) << read_text(log);
  ASSERT_TRUE(WIFEXITED(status)) << read_text(log);
  EXPECT_EQ(WEXITSTATUS(status), 0) << read_text(log);
  EXPECT_NE(read_text(log).find("vigil serve: stopped"), std::string::npos) << read_text(log);
  EXPECT_NE(read_text(log).find("\"path\":\"/health\""), std::string::npos) << read_text(log);
}

TEST_F(Serve, BinaryRejectsBadOptions) {
  EXPECT_EQ(1, vigil("serve --model " + path("missing.safetensors") + " --device cpu"));
  EXPECT_NE(err().find("missing.safetensors"), std::string::npos) << err();
  EXPECT_EQ(1, vigil("serve --model " + path("model.safetensors") + " --queue 0"));
  EXPECT_NE(err().find("--queue"), std::string::npos) << err();
  EXPECT_EQ(1, vigil("serve --model " + path("model.safetensors") + " --bogus 1"));
  EXPECT_EQ(0, vigil("serve --help"));
  EXPECT_NE(out().find("/predict_image"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------------
// The batcher and the metrics registry on their own.

// A forward pass that records batch sizes and returns each image's first value as its only "probability".
struct RecordingForward {
  std::mutex mutex;
  std::vector<size_t> sizes;
  Batcher::Forward fn() {
    return [this](const std::vector<const float*>& inputs) {
      std::lock_guard<std::mutex> lock(mutex);
      sizes.push_back(inputs.size());
      std::vector<std::vector<float>> out;
      for (const float* in : inputs) out.push_back({in[0]});
      return out;
    };
  }
};

TEST(ServeBatcher, QueuedImagesRunTogetherAndResultsGoBackToTheirRequest) {
  RecordingForward forward;
  Batcher b(forward.fn(), BatcherOptions{4, 0, 16});
  b.pause();
  auto t1 = b.submit({{1.f}, {2.f}, {3.f}});
  auto t2 = b.submit({{4.f}, {5.f}, {6.f}});
  ASSERT_TRUE(t1 && t2);
  EXPECT_EQ(b.depth(), 6u);
  b.resume();
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  ASSERT_TRUE(t1->wait_until(deadline));
  ASSERT_TRUE(t2->wait_until(deadline));
  EXPECT_EQ(t1->probabilities(), (std::vector<std::vector<float>>{{1.f}, {2.f}, {3.f}}));
  EXPECT_EQ(t2->probabilities(), (std::vector<std::vector<float>>{{4.f}, {5.f}, {6.f}}));
  std::lock_guard<std::mutex> lock(forward.mutex);
  EXPECT_EQ(forward.sizes, (std::vector<size_t>{4, 2}));
}

TEST(ServeBatcher, HoldsAPartialBatchOnlyWhileRequestsAreArriving) {
  RecordingForward forward;
  Batcher b(forward.fn(), BatcherOptions{8, 5000, 16});
  // Nobody else arriving: a lone image runs at once despite the 5 s window.
  const auto t0 = Clock::now();
  auto alone = b.submit({{1.f}});
  ASSERT_TRUE(alone->wait_until(Clock::now() + std::chrono::seconds(10)));
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 2.0);
  // Submitting closes the request's own arrival at once: no wait for itself either.
  auto own = b.arriving();
  auto itself = b.submit({{1.5f}}, &own);
  ASSERT_TRUE(itself->wait_until(Clock::now() + std::chrono::seconds(10)));
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 2.0);
  // Another request still decoding: the first image waits for it.
  auto arrival = b.arriving();
  auto first = b.submit({{2.f}});
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto second = b.submit({{3.f}}, &arrival);
  ASSERT_TRUE(first->wait_until(Clock::now() + std::chrono::seconds(10)));
  ASSERT_TRUE(second->wait_until(Clock::now() + std::chrono::seconds(10)));
  EXPECT_EQ(first->probabilities()[0], std::vector<float>{2.f});
  EXPECT_EQ(second->probabilities()[0], std::vector<float>{3.f});
  std::lock_guard<std::mutex> lock(forward.mutex);
  EXPECT_EQ(forward.sizes, (std::vector<size_t>{1, 1, 2}));
}

TEST(ServeBatcher, BoundedQueueCancelFailureAndStop) {
  RecordingForward forward;
  Batcher b(forward.fn(), BatcherOptions{2, 0, 3});
  b.pause();
  auto a = b.submit({{1.f}, {2.f}});
  ASSERT_TRUE(a);
  EXPECT_FALSE(b.submit({{3.f}, {4.f}})) << "all or nothing: two images do not fit in one free slot";
  auto c = b.submit({{5.f}});
  ASSERT_TRUE(c);
  EXPECT_FALSE(b.submit({{6.f}}));
  EXPECT_GE(b.retry_after_seconds(), 1);
  a->cancel();  // gave up: its images are dropped, not run
  b.stop();     // runs what is queued, then refuses
  EXPECT_TRUE(c->wait_until(Clock::now()));
  EXPECT_EQ(c->probabilities()[0], std::vector<float>{5.f});
  EXPECT_FALSE(b.submit({{7.f}}));
  EXPECT_TRUE(b.stopping());
  std::lock_guard<std::mutex> lock(forward.mutex);
  EXPECT_EQ(forward.sizes, std::vector<size_t>{1});

  Batcher failing([](const std::vector<const float*>&) -> std::vector<std::vector<float>> {
    throw std::runtime_error("device lost");
  }, BatcherOptions{});
  auto t = failing.submit({{1.f}});
  ASSERT_TRUE(t->wait_until(Clock::now() + std::chrono::seconds(10)));
  EXPECT_EQ(t->error(), "device lost");
}

TEST(ServeMetrics, PrometheusText) {
  infer::ServeMetrics m([] { return size_t{3}; }, {{"version", "1.0"}, {"model", "a\"b"}});
  m.record_request("/predict_image", 200, 0.00390625);  // binary fractions: the sum prints exactly
  m.record_request("/predict_image", 200, 0.25);
  m.record_request("other", 404, 0.0001);
  m.record_batch(1, 0.01);
  m.record_batch(5, 0.02);
  m.record_batch(14, 0.03);
  m.record_image("nudity");
  const std::string t = m.render();
  for (const char* line : {"vigil_build_info{version=\"1.0\",model=\"a\\\"b\"} 1\n",
                           "vigil_http_requests_total{endpoint=\"/predict_image\",status=\"200\"} 2\n",
                           "vigil_http_requests_total{endpoint=\"other\",status=\"404\"} 1\n",
                           "vigil_http_request_duration_seconds_bucket{endpoint=\"/predict_image\",le=\"0.005\"} 1\n",
                           "vigil_http_request_duration_seconds_bucket{endpoint=\"/predict_image\",le=\"0.25\"} 2\n",
                           "vigil_http_request_duration_seconds_sum{endpoint=\"/predict_image\"} 0.25390625\n",
                           "vigil_batch_size_bucket{le=\"4\"} 1\n", "vigil_batch_size_bucket{le=\"8\"} 2\n",
                           "vigil_batch_size_bucket{le=\"16\"} 3\n", "vigil_batch_size_bucket{le=\"+Inf\"} 3\n",
                           "vigil_batch_size_sum 20\n", "vigil_forward_duration_seconds_bucket{le=\"0.025\"} 2\n",
                           "vigil_images_total{result=\"nudity\"} 1\n", "vigil_queue_depth 3\n"})
    EXPECT_NE(t.find(line), std::string::npos) << "missing: " << line << "in:\n" << t;
  EXPECT_EQ(m.batches_over_one(), 2u);
  EXPECT_EQ(m.requests("/predict_image", 200), 2u);
  EXPECT_EQ(m.requests("/health", 200), 0u);
}

}  // namespace
}  // namespace vigil::test
