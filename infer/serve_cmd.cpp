// Implementation of `vigil serve`: option parsing, help, SIGINT/SIGTERM handling (graceful stop, exit 0); the
// server itself is in infer/serve.cpp.
#include "infer/serve_cmd.h"
#include "infer/cli_args.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>

#include "common/error.h"
#include "infer/serve.h"

namespace vigil::cli {

namespace {

const char* kHelp =
    "usage: vigil serve --model MODEL.safetensors [options]\n"
    "\n"
    "Serves the model over HTTP. Request threads receive and decode uploads (the image format is sniffed from\n"
    "the bytes, never taken from the file name or Content-Type); one worker runs the model on micro-batches of\n"
    "the images of concurrent requests. SIGINT/SIGTERM stop accepting, finish the requests in flight, exit 0.\n"
    "\n"
    "options:\n"
    "  --model FILE         model file (required)\n"
    "  --model-def DEF      definition (preset or JSON file) for a plain state_dict without vigil metadata\n"
    "  --host ADDR          address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)\n"
    "  --port N             port (default 8080; 0: any free port, printed at start)\n"
    "  --device D           cpu | cuda | cuda:N | auto (default auto)\n"
    "  --threads N          CPU threads of the model (default: all cores)\n"
    "  --threads-http N     request threads: receive, decode, answer (default 8)\n"
    "  --max-batch N        images per forward pass (default 16)\n"
    "  --max-wait-ms N      longest a partial batch waits for images other requests are decoding (default 5)\n"
    "  --queue N            images waiting for the model; when full, 503 with Retry-After (default 64)\n"
    "  --timeout-ms N       per request, from its headers to its answer; then 504 (default 30000); an upload\n"
    "                       still arriving then is cut off (408)\n"
    "  --max-upload-mb X    file contents per request; more is 413 (default 8)\n"
    "  --api-key-file FILE  require the key on the file's first line: Authorization: Bearer KEY or\n"
    "                       X-API-Key: KEY (GET /health and the upload page stay open)\n"
    "  --log FILE           append the request log to FILE (default: standard error)\n"
    "  --threshold LIST     per-class thresholds, e.g. nudity=0.8,violence=0.7, over the model file's\n"
    "\n"
    "endpoints:\n"
    "  POST /predict_image  multipart field 'file': {prediction, \"class name\", class_id, class_name,\n"
    "                       probabilities {class: p}, decision, model_version, latency_ms}\n"
    "  POST /v1/classify    every multipart file part: {model_version, latency_ms, results: [{filename,\n"
    "                       status ok|error, error, ...the fields above} in upload order]}\n"
    "  GET /                upload page (pick or drop an image)\n"
    "  GET /health          {status: ok}\n"
    "  GET /version         vigil version, model, model_version, classes, thresholds, device\n"
    "  GET /metrics         Prometheus text: requests by endpoint and status, latency, batch size, queue depth\n"
    "errors are JSON {\"error\": \"...\"}: 400 bad request or no file, 401 API key missing or wrong, 413 upload\n"
    "too large, 408 upload too slow, 415 not a decodable image, 503 queue full (Retry-After), 504 timeout,\n"
    "500 internal fault; an error answer closes the connection.\n"
    "The request log has one JSON line per request: time, request_id, remote, method, path, status,\n"
    "latency_ms, bytes (received), bytes_out, class (answers) or error.\n";

}  // namespace

int run_serve(int argc, char** argv) {
  if (const int code = usage_exit_code(argc, argv, kHelp); code >= 0) return code;
  infer::ServeOptions o;
  ArgReader args(argc, argv,
                 {"model", "model-def", "host", "port", "device", "threads", "threads-http", "max-batch",
                  "max-wait-ms", "queue", "timeout-ms", "max-upload-mb", "api-key-file", "log", "threshold"},
                 {});
  for (CliArg arg; args.next(arg);) {
    const std::string& name = arg.name;
    const std::string& value = arg.value;
    if (name == "model") o.model = value;
    else if (name == "model-def") o.model_def = value;
    else if (name == "host") o.host = value;
    else if (name == "device") o.device = value;
    else if (name == "api-key-file") o.api_key_file = value;
    else if (name == "log") o.log_file = value;
    else if (name == "threshold") o.thresholds += (o.thresholds.empty() ? "" : ",") + value;
    else if (name == "port") o.port = parse_int(name, value);
    else if (name == "threads") o.threads = parse_int(name, value);
    else if (name == "threads-http") o.http_threads = parse_int(name, value);
    else if (name == "max-batch") o.max_batch = parse_int(name, value);
    else if (name == "max-wait-ms") o.max_wait_ms = parse_int(name, value);
    else if (name == "queue") o.queue = parse_int(name, value);
    else if (name == "timeout-ms") o.timeout_ms = parse_int(name, value);
    else if (name == "max-upload-mb") {
      const double mb = parse_double(name, value);
      VIGIL_CHECK(mb > 0 && mb <= 4096, "--max-upload-mb ", value, ": must be in (0, 4096]");
      o.max_upload_bytes = static_cast<uint64_t>(std::llround(mb * 1024 * 1024));
    }
  }
  VIGIL_CHECK(o.threads >= 0, "--threads ", o.threads, ": must be >= 0");
  VIGIL_CHECK(o.max_batch >= 1 && o.max_batch <= 4096, "--max-batch ", o.max_batch, ": must be in [1, 4096]");
  VIGIL_CHECK(o.max_wait_ms >= 0 && o.max_wait_ms <= 10000, "--max-wait-ms ", o.max_wait_ms,
              ": must be in [0, 10000]");
  VIGIL_CHECK(o.queue >= 1 && o.queue <= 1000000, "--queue ", o.queue, ": must be in [1, 1000000]");

  // SIGINT/SIGTERM are blocked in every thread (threads started later inherit the mask) and taken by one thread
  // with sigtimedwait, which asks the server to stop: no signal handler, no global flag.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  infer::Server server(o, std::cerr);
  const int port = server.bind();
  const std::string shown_host = o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host;  // IPv6
  std::cerr << "vigil serve: listening on http://" << shown_host
            << ":" << port << " (model " << o.model << ", device " << server.device_name() << ", max batch "
            << o.max_batch << ", queue " << o.queue << ", " << o.http_threads << " request threads"
            << (o.api_key_file.empty() ? "" : ", API key required") << ")" << std::endl;

  std::atomic<bool> finished{false};
  std::thread signal_waiter([&] {
    while (!finished) {
      const timespec tick{0, 100 * 1000 * 1000};
      const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) {
        std::cerr << "vigil serve: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
                  << ": finishing the requests in flight, then stopping" << std::endl;
        server.stop();
        return;
      }
    }
  });
  try {
    server.run();
  } catch (...) {
    finished = true;
    signal_waiter.join();
    throw;
  }
  finished = true;
  signal_waiter.join();
  std::cerr << "vigil serve: stopped" << std::endl;
  return 0;
}

}  // namespace vigil::cli
