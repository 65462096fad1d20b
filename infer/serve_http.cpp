// Implementation of the `vigil serve` connection layer (see serve_http.h): a buffered, poll-bounded socket stream
// for httplib's request parser and the keep-alive loop that honours "Connection: close".
#include "infer/serve_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

namespace vigil::infer {

namespace {

using Clock = std::chrono::steady_clock;

// Waits up to timeout_ms for `events` on the socket; false on timeout or error.
bool wait_socket(int sock, short events, int timeout_ms) {
  pollfd p{sock, events, 0};
  for (;;) {
    const int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

int to_ms(time_t sec, time_t usec) { return static_cast<int>(sec * 1000 + usec / 1000); }

std::string address_text(const sockaddr_storage& a, int& port) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (a.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    port = ntohs(in->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    port = ntohs(in6->sin6_port);
  }
  return buf;
}

// One connection's bytes for httplib's parser, which reads header lines a byte at a time: reads are buffered,
// every read and write waits at most its timeout, writes never raise SIGPIPE.
class ConnectionStream : public httplib::Stream {
 public:
  ConnectionStream(int sock, int read_timeout_ms, int write_timeout_ms)
      : sock_(sock), read_timeout_ms_(read_timeout_ms), write_timeout_ms_(write_timeout_ms), buffer_(16384) {}

  bool buffered() const { return offset_ < filled_; }
  // Reads of the current request fail after `deadline` (none when the limit is 0).
  void start_request(int limit_ms) {
    has_deadline_ = limit_ms > 0;
    deadline_ = Clock::now() + std::chrono::milliseconds(limit_ms);
  }
  bool is_readable() const override { return buffered() || wait_socket(sock_, POLLIN, read_wait_ms()); }
  bool is_writable() const override { return wait_socket(sock_, POLLOUT, write_timeout_ms_); }

  ssize_t read(char* ptr, size_t size) override {
    if (buffered()) {
      const size_t n = std::min(size, filled_ - offset_);
      std::memcpy(ptr, buffer_.data() + offset_, n);
      offset_ += n;
      return static_cast<ssize_t>(n);
    }
    if (has_deadline_ && Clock::now() >= deadline_) return -1;
    if (!wait_socket(sock_, POLLIN, read_wait_ms())) return -1;
    if (size >= buffer_.size()) return receive(ptr, size);
    const ssize_t got = receive(buffer_.data(), buffer_.size());
    if (got <= 0) return got;
    offset_ = 0;
    filled_ = static_cast<size_t>(got);
    return read(ptr, size);
  }

  ssize_t write(const char* ptr, size_t size) override {
    size_t sent = 0;
    while (sent < size) {
      if (!wait_socket(sock_, POLLOUT, write_timeout_ms_)) return -1;
      const ssize_t n = ::send(sock_, ptr + sent, size - sent, MSG_NOSIGNAL);
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (n <= 0) return -1;
      sent += static_cast<size_t>(n);
    }
    return static_cast<ssize_t>(sent);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&a), &len) == 0) ip = address_text(a, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&a), &len) == 0) ip = address_text(a, port);
  }
  socket_t socket() const override { return sock_; }

 private:
  int read_wait_ms() const {
    if (!has_deadline_) return read_timeout_ms_;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, read_timeout_ms_));
  }
  ssize_t receive(char* ptr, size_t size) {
    for (;;) {
      const ssize_t n = ::recv(sock_, ptr, size, 0);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  }

  int sock_;
  int read_timeout_ms_, write_timeout_ms_;
  std::vector<char> buffer_;
  size_t offset_ = 0, filled_ = 0;
  bool has_deadline_ = false;
  Clock::time_point deadline_;
};

// After an answer that ends the connection, reads (and drops) what the client is still sending for a short while,
// so closing does not reset the connection before the client has read the answer.
void drain_then_close(int sock) {
  ::shutdown(sock, SHUT_WR);
  const auto until = Clock::now() + std::chrono::seconds(2);
  uint64_t dropped = 0;
  std::vector<char> scratch(65536);
  while (dropped < (64ull << 20)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0 || !wait_socket(sock, POLLIN, static_cast<int>(left))) break;
    const ssize_t n = ::recv(sock, scratch.data(), scratch.size(), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;  // the client closed its side
    dropped += static_cast<uint64_t>(n);
  }
  ::close(sock);
}

}  // namespace

void HttpServer::close_after_this_response() {
  std::lock_guard<std::mutex> lock(marks_mutex_);
  close_marks_.insert(std::this_thread::get_id());
}

bool HttpServer::take_close_mark() {
  std::lock_guard<std::mutex> lock(marks_mutex_);
  return close_marks_.erase(std::this_thread::get_id()) > 0;
}

void HttpServer::widen_backlog(int backlog) {
  const auto sock = svr_sock_.load();
  if (sock != INVALID_SOCKET) ::listen(sock, backlog);
}

void HttpServer::close_unused_listener() {
  if (is_running()) return;
  const auto sock = svr_sock_.exchange(INVALID_SOCKET);
  if (sock != INVALID_SOCKET) ::close(sock);
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  ConnectionStream stream(sock, to_ms(read_timeout_sec_, read_timeout_usec_),
                          to_ms(write_timeout_sec_, write_timeout_usec_));
  take_close_mark();  // a mark left by an earlier connection of this thread (none expected) must not end this one
  bool ok = true, linger = false;
  for (size_t served = 0; served < keep_alive_max_count_; ++served) {
    // The next request: wait up to the keep-alive timeout; once the server stops, only a request already sent
    // (within a moment) is still answered.
    const bool stopping = svr_sock_ == INVALID_SOCKET;
    const int wait_ms = stopping ? 100 : static_cast<int>(keep_alive_timeout_sec_ * 1000);
    bool ready = stream.buffered();
    for (auto until = Clock::now() + std::chrono::milliseconds(wait_ms); !ready && Clock::now() < until;) {
      ready = wait_socket(sock, POLLIN, 50);
      if (!stopping && svr_sock_ == INVALID_SOCKET) break;  // stop() while idle: end now
    }
    if (!ready) break;
    bool connection_closed = false;
    stream.start_request(request_read_limit_ms_);
    ok = process_request(stream, served + 1 == keep_alive_max_count_, connection_closed, nullptr);
    linger = take_close_mark();
    if (!ok || connection_closed || linger) break;
  }
  if (linger) {
    drain_then_close(sock);
  } else {
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
  }
  return ok;
}

}  // namespace vigil::infer
