// `vigil serve`: the HTTP server (cpp-httplib) in front of one model. Request threads receive and decode uploads;
// one batching worker owns the Predictor and runs micro-batches; limits, API-key auth, Prometheus metrics and one
// JSON log line per request. Routes: POST /predict_image, POST /v1/classify, GET /, /health, /version, /metrics.
#pragma once
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

namespace vigil::infer {

class Batcher;
class ServeMetrics;

struct ServeOptions {
  std::string model;       // model file (.safetensors)
  std::string model_def;   // definition for plain state_dicts (preset or JSON file)
  std::string host = "127.0.0.1";
  int port = 8080;         // 0: any free port (see Server::bind)
  std::string device = "auto";
  int threads = 0;         // CPU threads of the batching worker (0: the default)
  int http_threads = 8;    // request threads (receive, decode, answer)
  int max_batch = 16;
  int max_wait_ms = 5;
  int queue = 64;          // images waiting for the worker
  int timeout_ms = 30000;  // per request, from its headers to its answer
  uint64_t max_upload_bytes = 8ull << 20;  // file contents of one request
  std::string api_key_file;  // "" : no authentication
  std::string log_file;      // "" : the log stream given to Server
  std::string thresholds;    // "nudity=0.8,violence=0.7", merged over the model file's
};

class Server {
 public:
  // Loads the model onto the device and the API key, opens the log file; `log` receives the request log (unless
  // options.log_file is set) and the device note. Throws vigil::Error naming the bad option, file or reason.
  Server(const ServeOptions& options, std::ostream& log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds options.host:options.port and returns the port (the chosen one when options.port is 0). Throws
  // vigil::Error when the address cannot be bound.
  int bind();
  // Serves until stop(): then stops accepting, lets in-flight requests finish, stops the batching worker, returns.
  void run();
  // Thread-safe; may come before run() starts (run then returns at once).
  void stop();

  const std::string& device_name() const;
  Batcher& batcher();
  const ServeMetrics& metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::infer
