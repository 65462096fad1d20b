// The connection layer of `vigil serve` on Debian's cpp-httplib 0.11: httplib::Server with its own keep-alive loop,
// because 0.11 keeps a connection open after an answer that says "Connection: close" and would then parse the
// unread rest of a refused upload as new requests (one 400 answer per line of image bytes). Here such an answer
// ends the connection (after briefly draining what the client still sends, so it can read the answer), idle
// connections end promptly on stop, and the listen backlog is deeper than the library's compiled-in 5.
#pragma once
#include <httplib.h>

#include <mutex>
#include <thread>
#include <unordered_set>

namespace vigil::infer {

class HttpServer : public httplib::Server {
 public:
  // Called while answering a request (e.g. from the logger, on the request's thread): its connection ends once
  // the answer is written.
  void close_after_this_response();
  // After bind: Linux applies a second listen() on a listening socket as its new backlog.
  void widen_backlog(int backlog);
  // Closes the listening socket of a server that was bound but never ran (httplib leaves it open).
  void close_unused_listener();
  // A request must arrive whole (headers and body) within this time from its first byte; a slower client (or one
  // that stops sending) is cut off. 0: only the per-read timeout applies.
  void set_request_read_limit_ms(int ms) { request_read_limit_ms_ = ms; }

 private:
  bool process_and_close_socket(socket_t sock) override;
  bool take_close_mark();

  int request_read_limit_ms_ = 0;
  std::mutex marks_mutex_;
  std::unordered_set<std::thread::id> close_marks_;  // threads whose current connection must end
};

}  // namespace vigil::infer
