// Implementation of `vigil serve` (see serve.h): routes, upload limits, decoding, API-key auth, the hand-off to the
// batching worker, timeouts, metrics and the request log.
#include "infer/serve.h"

#include <signal.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/parallel.h"
#include "data/image.h"
#include "data/preprocess.h"
#include "infer/batch_decode.h"
#include "infer/predictor.h"
#include "infer/serve_batcher.h"
#include "infer/serve_http.h"
#include "infer/serve_metrics.h"
#include "infer/serve_page.h"

namespace vigil::infer {

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

constexpr const char* kRequestIdHeader = "X-Request-Id";
constexpr size_t kMaxFormParts = 1000;
constexpr const char* kKeyError = "missing or wrong API key (Authorization: Bearer KEY or X-API-Key)";
// Multipart framing allowed on top of --max-upload-mb before a declared Content-Length is refused unread.
constexpr uint64_t kFramingSlack = 64 << 10;

std::string read_api_key(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  VIGIL_CHECK(in.good(), "--api-key-file ", path, ": cannot read: ", std::strerror(errno));
  std::string key;
  std::getline(in, key);
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
  size_t start = 0;
  while (start < key.size() && std::isspace(static_cast<unsigned char>(key[start]))) ++start;
  key = key.substr(start);
  VIGIL_CHECK(!key.empty(), "--api-key-file ", path, ": the first line (the key) is empty");
  return key;
}

// Compares without stopping at the first difference, so the time taken does not reveal how much of a key matched.
bool same_secret(const std::string& given, const std::string& key) {
  unsigned char diff = given.size() == key.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ key[i % key.size()]);
  return diff == 0;
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// Up to 7 significant digits, as classify writes them, so both give the same numbers for the same image.
double tidy(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7g", static_cast<double>(v));
  return std::strtod(buf, nullptr);
}

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

const char* reason_phrase(int status) {
  switch (status) {
    case 400: return "bad request";
    case 401: return "unauthorized";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 408: return "request timeout";
    case 413: return "payload too large";
    case 414: return "URI too long";
    case 415: return "unsupported media type";
    case 416: return "range not satisfiable";
    case 417: return "expectation failed";
    case 500: return "internal error";
    case 503: return "service unavailable";
    case 504: return "gateway timeout";
    default: return "error";
  }
}

// The metrics label of a path: one of the routes, or "other" (so label values stay few).
std::string endpoint_label(const std::string& path) {
  for (const char* route : {"/", "/predict_image", "/v1/classify", "/health", "/version", "/metrics"})
    if (path == route) return path;
  return "other";
}

bool starts_with_ignoring_case(const std::string& text, const std::string& prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

bool is_open_path(const std::string& path) { return path == "/health" || path == "/"; }

// What the request log and metrics need about one request, from its headers to its answer.
struct RequestInfo {
  Clock::time_point start;
  uint64_t bytes_in = 0;
  Json result;        // class name (or names) of the answer
  std::string error;  // the error of the answer
};

// The file parts of one multipart upload, read with --max-upload-mb enforced while reading.
struct Upload {
  std::vector<httplib::MultipartFormData> parts;
  uint64_t bytes = 0;    // file contents received
  bool read_ok = false;  // the body was read to its end and (multipart) parsed
  bool multipart = false;
  bool over_limit = false;
  bool too_many_parts = false;
};

// One uploaded file, decoded and preprocessed in the request thread.
struct DecodedFile {
  std::vector<float> input;
  int status = 200;  // 413 (image dimensions over the limits), 415 (not a decodable image) or 500
  std::string error;
};

}  // namespace

struct Server::Impl {
  Impl(const ServeOptions& o, std::ostream& log_stream);

  void add_routes();
  void begin(const httplib::Request& req, httplib::Response& res);
  void finish(const httplib::Request& req, const httplib::Response& res);
  template <typename F>
  void with_info(const httplib::Response& res, F&& f);

  bool authorized(const httplib::Request& req) const;
  void reply(httplib::Response& res, int status, const Json& body);
  void reply_error(httplib::Response& res, int status, const std::string& message);
  Upload read_upload(const httplib::Request& req, const httplib::ContentReader& reader);
  DecodedFile decode(const std::string& bytes) const;
  Json prediction_fields(const std::vector<float>& probabilities);
  void predict(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader, bool many);
  Json version_json() const;

  ServeOptions options;
  std::ostream* log;
  std::ofstream log_file;
  std::mutex log_mutex;

  Device device;
  std::string device_name;
  std::unique_ptr<Predictor> predictor;
  std::vector<float> thresholds;
  data::DecodeOptions decode_options;
  std::string api_key;
  uint64_t drain_cap = 0;  // bytes read (and thrown away) from an upload over the limit before giving up on it

  std::unique_ptr<ServeMetrics> metrics;
  std::unique_ptr<Batcher> batcher;  // after predictor and metrics: destroyed before them
  HttpServer http;
  int bound_port = 0;

  std::mutex requests_mutex;
  std::unordered_map<uint64_t, RequestInfo> requests;
  uint64_t next_request_id = 0;

  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stop_requested = false;
};

Server::Impl::Impl(const ServeOptions& o, std::ostream& log_stream) : options(o), log(&log_stream) {
  VIGIL_CHECK(!o.model.empty(), "--model is required");
  VIGIL_CHECK(o.port >= 0 && o.port <= 65535, "--port ", o.port, ": must be in [0, 65535]");
  VIGIL_CHECK(o.http_threads >= 1 && o.http_threads <= 1024, "--threads-http ", o.http_threads,
              ": must be in [1, 1024]");
  VIGIL_CHECK(o.timeout_ms >= 1, "--timeout-ms ", o.timeout_ms, ": must be at least 1");
  VIGIL_CHECK(o.max_upload_bytes >= 1, "--max-upload-mb: must be positive");
  VIGIL_CHECK(o.queue >= 1, "--queue ", o.queue, ": must be at least 1");
  if (!o.log_file.empty()) {
    log_file.open(o.log_file, std::ios::app | std::ios::binary);
    VIGIL_CHECK(log_file.good(), "--log ", o.log_file, ": cannot open for appending: ", std::strerror(errno));
    log = &log_file;
  }
  if (!o.api_key_file.empty()) api_key = read_api_key(o.api_key_file);

  device = resolve_device(o.device, &log_stream);
  device_name = device.str();
  predictor = std::make_unique<Predictor>(o.model, device, o.model_def);
  const ModelSpec& spec = predictor->model().spec();
  thresholds = resolve_thresholds(spec, predictor->model().thresholds, o.thresholds);
  decode_options = data::decode_options_for(spec);
  decode_options.limits.max_file_bytes = o.max_upload_bytes;
  drain_cap = 2 * o.max_upload_bytes + (1 << 20);

  metrics = std::make_unique<ServeMetrics>([this] { return batcher ? batcher->depth() : size_t{0}; },
                                           std::vector<std::pair<std::string, std::string>>{
                                               {"version", VIGIL_VERSION},
                                               {"model", spec.name},
                                               {"model_version", spec.version},
                                               {"device", device_name}});
  const int cpu_threads = o.threads;
  batcher = std::make_unique<Batcher>(
      [this](const std::vector<const float*>& inputs) { return predictor->probabilities(inputs); },
      BatcherOptions{o.max_batch, o.max_wait_ms, o.queue},
      [this](size_t images, double seconds) { metrics->record_batch(images, seconds); },
      [cpu_threads] {
        if (cpu_threads > 0) cpu::set_num_threads(cpu_threads);  // OpenMP's thread count is per thread
      });
  add_routes();
}

template <typename F>
void Server::Impl::with_info(const httplib::Response& res, F&& f) {
  const std::string id = res.get_header_value(kRequestIdHeader);
  if (id.empty()) return;
  std::lock_guard<std::mutex> lock(requests_mutex);
  const auto it = requests.find(std::strtoull(id.c_str(), nullptr, 10));
  if (it != requests.end()) f(it->second);
}

// Every request that got as far as its headers: an id (also sent back as X-Request-Id) and its start time.
void Server::Impl::begin(const httplib::Request& req, httplib::Response& res) {
  if (res.has_header(kRequestIdHeader)) return;  // already begun (Expect: 100-continue)
  std::lock_guard<std::mutex> lock(requests_mutex);
  const uint64_t id = ++next_request_id;
  RequestInfo info;
  info.start = Clock::now();
  info.bytes_in = req.get_header_value<uint64_t>("Content-Length");
  // Entries are removed by finish(); drop any a failed connection left behind so the table cannot grow.
  if (requests.size() > 4096) {
    const auto too_old = Clock::now() - std::chrono::minutes(10);
    for (auto it = requests.begin(); it != requests.end();)
      it = it->second.start < too_old ? requests.erase(it) : std::next(it);
  }
  requests.emplace(id, std::move(info));
  res.set_header(kRequestIdHeader, std::to_string(id));
}

// The logger: metrics and one JSON log line per answered request.
void Server::Impl::finish(const httplib::Request& req, const httplib::Response& res) {
  RequestInfo info;
  bool known = false;
  const std::string id = res.get_header_value(kRequestIdHeader);
  if (!id.empty()) {
    std::lock_guard<std::mutex> lock(requests_mutex);
    const auto it = requests.find(std::strtoull(id.c_str(), nullptr, 10));
    if (it != requests.end()) {
      info = std::move(it->second);
      requests.erase(it);
      known = true;
    }
  }
  if (res.get_header_value("Connection") == "close") http.close_after_this_response();
  const double seconds = known ? std::chrono::duration<double>(Clock::now() - info.start).count() : 0.0;
  metrics->record_request(endpoint_label(req.path), res.status, seconds);

  Json line;
  line["time"] = utc_now();
  line["request_id"] = known ? Json(std::strtoull(id.c_str(), nullptr, 10)) : Json(nullptr);
  line["remote"] = req.remote_addr;
  line["method"] = req.method;
  line["path"] = req.path;
  line["status"] = res.status;
  line["latency_ms"] = known ? Json(round3(seconds * 1000.0)) : Json(nullptr);
  line["bytes"] = known ? info.bytes_in : req.get_header_value<uint64_t>("Content-Length");
  line["bytes_out"] = res.body.size();
  if (!info.result.is_null()) line["class"] = info.result;
  if (res.status >= 400) line["error"] = info.error.empty() ? std::string(reason_phrase(res.status)) : info.error;
  const std::string text = line.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(log_mutex);
  *log << text << std::flush;
}

// The key may come as "Authorization: Bearer KEY" or "X-API-Key: KEY"; either matching is enough.
bool Server::Impl::authorized(const httplib::Request& req) const {
  if (api_key.empty()) return true;
  const std::string auth = req.get_header_value("Authorization");
  if (starts_with_ignoring_case(auth, "bearer ")) {
    const size_t start = auth.find_first_not_of(' ', 7);
    if (start != std::string::npos && same_secret(auth.substr(start), api_key)) return true;
  }
  const std::string header = req.get_header_value("X-API-Key");
  return !header.empty() && same_secret(header, api_key);
}

void Server::Impl::reply(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

// Every error answer ends its connection: a refused upload may have left unread bytes behind.
void Server::Impl::reply_error(httplib::Response& res, int status, const std::string& message) {
  if (status == 401) res.set_header("WWW-Authenticate", "Bearer");
  if (!res.has_header("Connection")) res.set_header("Connection", "close");
  reply(res, status, Json{{"error", message}});
  with_info(res, [&](RequestInfo& info) { info.error = message; });
}

// Reads the body through httplib's streaming reader, keeping at most max_upload_bytes of file contents; an upload
// over the limit is read on (and thrown away) up to drain_cap so the client can still read the 413 answer.
Upload Server::Impl::read_upload(const httplib::Request& req, const httplib::ContentReader& reader) {
  Upload up;
  auto count = [&](size_t n) {
    up.bytes += n;
    if (up.bytes > options.max_upload_bytes && !up.over_limit) {
      up.over_limit = true;
      up.parts = {};
    }
    return up.bytes <= drain_cap;
  };
  up.multipart = req.is_multipart_form_data();
  if (up.multipart) {
    up.read_ok = reader(
        [&](const httplib::MultipartFormData& part) {
          if (up.parts.size() >= kMaxFormParts) {
            up.too_many_parts = true;
            return false;
          }
          if (!up.over_limit) up.parts.push_back(httplib::MultipartFormData{part.name, "", part.filename,
                                                                            part.content_type});
          return true;
        },
        [&](const char* data, size_t n) {
          if (!count(n)) return false;
          if (!up.over_limit && !up.parts.empty()) up.parts.back().content.append(data, n);
          return true;
        });
  } else {
    up.read_ok = reader([&](const char*, size_t n) { return count(n); });
  }
  return up;
}

DecodedFile Server::Impl::decode(const std::string& bytes) const {
  DecodedFile out;
  const data::DecodeResult r =
      data::decode_memory(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "upload", decode_options);
  if (!r.ok()) {
    out.status = r.status == data::DecodeStatus::TooLarge ? 413 : 415;
    out.error = "not a usable image: " + error_reason(r.error, "upload");
    return out;
  }
  try {
    out.input = data::preprocess_image(r.image, predictor->model().spec());
  } catch (const std::exception& e) {
    out.status = 500;
    out.error = std::string("preprocess: ") + user_message(e);
  }
  return out;
}

// The answer fields of one classified image: the seed's `prediction` and `class name`, then vigil's.
Json Server::Impl::prediction_fields(const std::vector<float>& probabilities) {
  const ModelSpec& spec = predictor->model().spec();
  const Decision d = decide(probabilities, thresholds, spec.classes, spec.head);
  const std::string& name = spec.classes[static_cast<size_t>(d.top)];
  Json j;
  j["prediction"] = d.top;
  j["class name"] = name;
  j["class_id"] = d.top;
  j["class_name"] = name;
  Json probs = Json::object();
  for (size_t c = 0; c < spec.classes.size(); ++c) probs[spec.classes[c]] = tidy(probabilities[c]);
  j["probabilities"] = probs;
  if (spec.head == Head::Softmax) {
    j["decision"] = d.label;
  } else {
    Json flagged = Json::array();
    for (int c : d.flagged) flagged.push_back(spec.classes[static_cast<size_t>(c)]);
    j["decision"] = flagged;
  }
  j["model_version"] = spec.version;
  metrics->record_image(name);
  return j;
}

void Server::Impl::predict(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                           bool many) {
  Clock::time_point start = Clock::now();
  with_info(res, [&](RequestInfo& info) { start = info.start; });
  const auto deadline = start + std::chrono::milliseconds(options.timeout_ms);

  Upload up = read_upload(req, reader);
  with_info(res, [&](RequestInfo& info) { info.bytes_in = up.bytes; });
  if (!authorized(req)) return reply_error(res, 401, kKeyError);
  if (up.over_limit || (!up.read_ok && res.status == 413))
    return reply_error(res, 413, "upload over the limit of " + std::to_string(options.max_upload_bytes) +
                                     " bytes (--max-upload-mb)");
  if (!up.read_ok && Clock::now() >= deadline)
    return reply_error(res, 408, "the upload did not arrive within " + std::to_string(options.timeout_ms) +
                                     " ms (--timeout-ms)");
  if (up.too_many_parts)
    return reply_error(res, 400, "too many form parts (at most " + std::to_string(kMaxFormParts) + ")");
  if (!up.multipart)
    return reply_error(res, 400, std::string("expected a multipart/form-data upload with ") +
                                     (many ? "one or more files" : "the image in the field 'file'"));
  if (!up.read_ok) return reply_error(res, 400, "malformed multipart/form-data body");

  std::vector<const httplib::MultipartFormData*> files;
  for (const auto& part : up.parts) {
    if (many ? !part.filename.empty() : part.name == "file") files.push_back(&part);
    if (!many && !files.empty()) break;
  }
  if (files.empty())
    return reply_error(res, 400, many ? "no file: send one or more multipart/form-data file parts"
                                      : "no file: send the image as the multipart/form-data field 'file'");
  if (files.size() > static_cast<size_t>(options.queue))
    return reply_error(res, 400, std::to_string(files.size()) + " files: at most " + std::to_string(options.queue) +
                                     " per request (--queue)");

  // Decode in this thread; the worker may hold a partial batch for these images meanwhile.
  Batcher::Arrival arrival = batcher->arriving();
  std::vector<DecodedFile> decoded(files.size());
  std::vector<std::vector<float>> inputs;
  std::vector<size_t> input_of(files.size(), SIZE_MAX);
  for (size_t i = 0; i < files.size(); ++i) {
    decoded[i] = decode(files[i]->content);
    if (decoded[i].error.empty()) {
      input_of[i] = inputs.size();
      inputs.push_back(std::move(decoded[i].input));
    }
  }
  for (auto& part : up.parts) std::string().swap(part.content);  // only the names are needed from here on

  if (!many && !decoded[0].error.empty()) {
    metrics->record_image("error");
    arrival.close();
    return reply_error(res, decoded[0].status, decoded[0].error);
  }
  std::shared_ptr<BatchTicket> ticket;
  if (!inputs.empty()) {
    if (Clock::now() >= deadline)  // a slow upload used up the time: do not queue work nobody will wait for
      return reply_error(res, 504, "timed out after " + std::to_string(options.timeout_ms) + " ms (--timeout-ms)");
    ticket = batcher->submit(std::move(inputs), &arrival);
    if (!ticket) {
      if (batcher->stopping()) return reply_error(res, 503, "the server is shutting down");
      res.set_header("Retry-After", std::to_string(batcher->retry_after_seconds()));
      return reply_error(res, 503, "busy: the inference queue is full (--queue " + std::to_string(options.queue) +
                                       "); retry later");
    }
    if (!ticket->wait_until(deadline)) {
      ticket->cancel();
      return reply_error(res, 504, "timed out after " + std::to_string(options.timeout_ms) + " ms (--timeout-ms)");
    }
    if (!ticket->error().empty()) return reply_error(res, 500, "inference failed: " + ticket->error());
  }
  arrival.close();

  const double latency_ms = round3(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  if (!many) {
    Json body = prediction_fields(ticket->probabilities()[0]);
    body["latency_ms"] = latency_ms;
    with_info(res, [&](RequestInfo& info) { info.result = body["class_name"]; });
    return reply(res, 200, body);
  }
  Json results = Json::array(), classes = Json::array();
  for (size_t i = 0; i < files.size(); ++i) {
    Json r;
    r["filename"] = files[i]->filename;
    if (decoded[i].error.empty()) {
      r["status"] = "ok";
      r["error"] = nullptr;
      const Json fields = prediction_fields(ticket->probabilities()[input_of[i]]);
      for (const auto& field : fields.items()) r[field.key()] = field.value();
      classes.push_back(r["class_name"]);
    } else {
      metrics->record_image("error");
      r["status"] = "error";
      r["error"] = decoded[i].error;
      for (const char* key : {"prediction", "class name", "class_id", "class_name", "probabilities", "decision"})
        r[key] = nullptr;
      r["model_version"] = predictor->model().spec().version;
      classes.push_back(nullptr);
    }
    results.push_back(std::move(r));
  }
  with_info(res, [&](RequestInfo& info) { info.result = classes; });
  Json body;
  body["model_version"] = predictor->model().spec().version;
  body["latency_ms"] = latency_ms;
  body["results"] = std::move(results);
  reply(res, 200, body);
}

Json Server::Impl::version_json() const {
  const Model& model = predictor->model();
  const ModelSpec& spec = model.spec();
  Json j;
  j["vigil"] = VIGIL_VERSION;
  j["model"] = spec.name;
  j["model_version"] = spec.version;
  j["model_file"] = options.model;
  j["classes"] = spec.classes;
  j["head"] = spec.head == Head::Softmax ? "softmax" : "sigmoid";
  j["input"] = {spec.input.channels, spec.input.height, spec.input.width};
  Json t = Json::object();
  for (size_t c = 0; c < spec.classes.size(); ++c) t[spec.classes[c]] = tidy(thresholds[c]);
  j["thresholds"] = t;
  j["temperature"] = tidy(model.temperature);
  j["device"] = device_name;
  return j;
}

void Server::Impl::add_routes() {
  using httplib::Request;
  using httplib::Response;
  http.new_task_queue = [n = options.http_threads] { return new httplib::ThreadPool(static_cast<size_t>(n)); };
  http.set_payload_max_length(drain_cap);
  http.set_keep_alive_max_count(1000);
  http.set_tcp_nodelay(true);
  // Slow or stalled clients cannot hold a request thread: a request must arrive within --timeout-ms (plus a second,
  // so an upload cut off by it is past the request's own deadline and answered 408).
  http.set_request_read_limit_ms(options.timeout_ms + 1000);  // an answer is written in two parts: no Nagle delay (40 ms) between them

  http.set_pre_routing_handler([this](const Request& req, Response& res) {
    begin(req, res);
    if (req.get_header_value<uint64_t>("Content-Length") > drain_cap) {
      reply_error(res, 413, "upload over the limit of " + std::to_string(options.max_upload_bytes) +
                                " bytes (--max-upload-mb)");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // A client that asks before sending its body is turned away before sending it when it would be refused anyway.
  http.set_expect_100_continue_handler([this](const Request& req, Response& res) {
    begin(req, res);
    if (!is_open_path(req.path) && !authorized(req)) {
      reply_error(res, 401, kKeyError);
      return 401;
    }
    if (req.get_header_value<uint64_t>("Content-Length") > options.max_upload_bytes + kFramingSlack) {
      reply_error(res, 413, "upload over the limit of " + std::to_string(options.max_upload_bytes) +
                                " bytes (--max-upload-mb)");
      return 413;
    }
    return 100;
  });
  http.set_logger([this](const Request& req, const Response& res) { finish(req, res); });
  // httplib's own refusals (unknown route, malformed request) get a JSON body like every other error.
  http.set_error_handler(httplib::Server::HandlerWithResponse([this](const Request&, Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    reply_error(res, res.status, reason_phrase(res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([this](const Request&, Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    reply_error(res, 500, "internal error: " + what);
  });

  http.Get("/", [](const Request&, Response& res) {
    res.set_content(upload_page_html(), "text/html; charset=utf-8");
  });
  http.Get("/health", [this](const Request&, Response& res) {
    reply(res, 200, Json{{"status", "ok"}, {"queue_depth", batcher->depth()}});
  });
  http.Get("/version", [this](const Request& req, Response& res) {
    if (!authorized(req)) return reply_error(res, 401, kKeyError);
    reply(res, 200, version_json());
  });
  http.Get("/metrics", [this](const Request& req, Response& res) {
    if (!authorized(req)) return reply_error(res, 401, kKeyError);
    res.set_content(metrics->render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  for (const char* path : {"/predict_image", "/v1/classify"}) {
    http.Get(path, [this](const Request&, Response& res) {
      res.set_header("Allow", "POST");
      reply_error(res, 405, "use POST with a multipart/form-data upload");
    });
  }
  http.Post("/predict_image", [this](const Request& req, Response& res, const httplib::ContentReader& reader) {
    predict(req, res, reader, false);
  });
  http.Post("/v1/classify", [this](const Request& req, Response& res, const httplib::ContentReader& reader) {
    predict(req, res, reader, true);
  });
}

Server::Server(const ServeOptions& options, std::ostream& log) {
  // A client that hangs up mid-answer must not kill the process (httplib writes without MSG_NOSIGNAL).
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
  impl_ = std::make_unique<Impl>(options, log);
}

Server::~Server() {
  if (impl_) {
    stop();
    impl_->batcher->stop();
    impl_->http.close_unused_listener();
  }
}

int Server::bind() {
  Impl& s = *impl_;
  int port = 0;
  if (s.options.port == 0) {
    port = s.http.bind_to_any_port(s.options.host);
  } else if (s.http.bind_to_port(s.options.host, s.options.port)) {
    port = s.options.port;
  }
  VIGIL_CHECK(port > 0, "cannot listen on ", s.options.host, ":", s.options.port, ": ",
              errno ? std::strerror(errno) : "the address cannot be bound");
  s.http.widen_backlog(512);
  s.bound_port = port;
  return port;
}

void Server::run() {
  Impl& s = *impl_;
  VIGIL_CHECK(s.bound_port > 0, "serve: bind() must come before run()");
  std::atomic<bool> listening{true};
  std::thread listener([&] {
    s.http.listen_after_bind();
    listening = false;
    stop();  // also when listening ended on its own
  });
  {
    std::unique_lock<std::mutex> lock(s.stop_mutex);
    s.stop_cv.wait(lock, [&] { return s.stop_requested; });
  }
  // httplib's stop() does nothing until its accept loop runs, so repeat it until listening has ended; the accept
  // loop then waits for the request threads, which finish the requests in flight.
  while (listening) {
    s.http.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  listener.join();
  s.batcher->stop();
}

void Server::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->stop_mutex);
    impl_->stop_requested = true;
  }
  impl_->stop_cv.notify_all();
}

const std::string& Server::device_name() const { return impl_->device_name; }
Batcher& Server::batcher() { return *impl_->batcher; }
const ServeMetrics& Server::metrics() const { return *impl_->metrics; }

}  // namespace vigil::infer
