// The curl transport against a small HTTP/1.1 server on the loopback interface (nothing leaves this machine):
// requests and answers, connection reuse across calls, timeouts and refused connections as TransferError.
#include "vmsync/kube/curl_transport.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <condition_variable>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <mutex>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace vmsync;
using namespace vmsync::kube;
using namespace std::chrono_literals;

namespace {

// Serves on 127.0.0.1 until destroyed. "/slow" answers after 5 s (or at shutdown); "/hangup" closes the
// connection without an answer, as a server that died after reading the request; anything else gets a JSON
// echo of the request. Connections are kept alive.
class LoopbackServer {
public:
  LoopbackServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~LoopbackServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);
    }
    cv_.notify_all();
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    acceptor_.join();
    for (auto &t : handlers_) t.join();
  }
  LoopbackServer(const LoopbackServer &) = delete;
  LoopbackServer &operator=(const LoopbackServer &) = delete;

  [[nodiscard]] std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }
  [[nodiscard]] int accepted() const { return accepted_.load(); }
  [[nodiscard]] int hangups() const { return hangups_.load(); }

private:
  void accept_loop() {
    for (;;) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      ++accepted_;
      connections_.push_back(fd);
      handlers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    std::string buffer;
    char chunk[4096];
    for (;;) {
      std::size_t head_end = 0;
      while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return;
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      const std::string head = buffer.substr(0, head_end);
      std::size_t length = 0;
      nlohmann::json headers = nlohmann::json::object();
      for (std::size_t at = head.find("\r\n"); at != std::string::npos;) {
        const std::size_t from = at + 2;
        at = head.find("\r\n", from);
        const std::string line = head.substr(from, at == std::string::npos ? std::string::npos : at - from);
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        for (auto &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const std::string value = line.substr(std::min(line.size(), line.find_first_not_of(' ', colon + 1)));
        headers[name] = value;
        if (name == "content-length") length = std::stoul(value);
      }
      while (buffer.size() < head_end + 4 + length) {
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return;
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      const std::string body = buffer.substr(head_end + 4, length);
      buffer.erase(0, head_end + 4 + length);
      const std::string request_line = head.substr(0, head.find("\r\n"));
      const std::string method = request_line.substr(0, request_line.find(' '));
      const std::string path =
          request_line.substr(method.size() + 1, request_line.rfind(' ') - method.size() - 1);
      if (path == "/hangup") {
        ++hangups_;
        ::shutdown(fd, SHUT_RDWR);
        return;
      }
      if (path == "/slow") {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, 5s, [this] { return stopping_; });
        return;
      }
      const std::string answer =
          nlohmann::json{{"method", method}, {"path", path}, {"headers", headers}, {"body", body}}.dump();
      const int status = path == "/missing" ? 404 : 200;
      const std::string response = fmt::format("HTTP/1.1 {} X\r\nContent-Type: application/json\r\nX-Test: yes\r\n"
                                               "Content-Length: {}\r\n\r\n{}",
                                               status, answer.size(), answer);
      if (::send(fd, response.data(), response.size(), MSG_NOSIGNAL) < 0) return;
    }
  }

  int listener_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<int> connections_;
  std::vector<std::thread> handlers_;
  std::atomic<int> accepted_{0};
  std::atomic<int> hangups_{0};
};

ClientConfig config_for(const std::string &server) {
  ClientConfig c;
  c.server = server;
  return c;
}

HttpRequest get(std::string path) {
  HttpRequest r;
  r.path = std::move(path);
  return r;
}

} // namespace

TEST_CASE("curl transport: requests and answers, one connection reused across reads, one per write") {
  LoopbackServer server;
  auto transport = make_curl_transport(config_for(server.url()));
  HttpRequest post;
  post.method = Method::Patch;
  post.path = "/api/v1/namespaces/vm/configmaps/cm?dryRun=All";
  post.headers = {{"Content-Type", "application/merge-patch+json"}, {"User-Agent", "vmsync/test"}};
  post.body = R"({"data":{"k":"v"}})";
  const auto r = transport->send(post);
  CHECK(r.status == 200);
  CHECK(r.header("X-Test") == "yes");
  const auto echo = nlohmann::json::parse(r.body);
  CHECK(echo["method"] == "PATCH");
  CHECK(echo["path"] == "/api/v1/namespaces/vm/configmaps/cm?dryRun=All");
  CHECK(echo["body"] == R"({"data":{"k":"v"}})");
  CHECK(echo["headers"]["content-type"] == "application/merge-patch+json");
  CHECK(echo["headers"]["user-agent"] == "vmsync/test");
  CHECK(echo["headers"].contains("accept-encoding"));
  CHECK_FALSE(echo["headers"].contains("expect"));

  CHECK(server.accepted() == 1);

  CHECK(transport->send(get("/missing")).status == 404); // a status is an answer, not a failure
  CHECK(transport->send(get("/again")).status == 200);
  CHECK(server.accepted() == 2); // the write's connection was not kept
  CHECK(transport->send(post).status == 200);
  CHECK(transport->send(get("/more")).status == 200);
  const auto stats = transport->stats();
  CHECK(stats.requests == 5);
  CHECK(stats.connections == 3); // reads share one; each write had its own
  CHECK(server.accepted() == 3);
  CHECK(stats.bytes_received > 0);
}

TEST_CASE("curl transport: a write whose connection dies unanswered is not sent again") {
  // libcurl resends a request, whatever its method, when a reused connection dies before any answer; a PATCH
  // the server may have applied must reach the client as a failure instead.
  LoopbackServer server;
  auto transport = make_curl_transport(config_for(server.url()));
  CHECK(transport->send(get("/warm")).status == 200); // a connection to reuse
  HttpRequest patch;
  patch.method = Method::Patch;
  patch.path = "/hangup";
  patch.body = "{}";
  try {
    (void)transport->send(patch);
    FAIL("the hang-up is a failure");
  } catch (const TransferError &e) {
    CHECK(e.failure() == TransferFailure::Broken);
    CHECK(e.request_sent());
    CHECK(std::string(e.what()).rfind("PATCH " + server.url() + "/hangup: connection broken: ", 0) == 0);
  }
  CHECK(server.hangups() == 1);
}

TEST_CASE("curl transport: send_all returns one result per request, in order") {
  LoopbackServer server;
  auto transport = make_curl_transport(config_for(server.url()));
  std::vector<HttpRequest> requests;
  for (int i = 0; i < 5; ++i) requests.push_back(get(fmt::format("/page/{}", i)));
  const auto results = transport->send_all(std::move(requests));
  REQUIRE(results.size() == 5);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(results[static_cast<std::size_t>(i)].response);
    CHECK(nlohmann::json::parse(results[static_cast<std::size_t>(i)].response->body)["path"] ==
          fmt::format("/page/{}", i));
  }
}

TEST_CASE("curl transport: disable-compression sends no Accept-Encoding") {
  LoopbackServer server;
  auto config = config_for(server.url());
  config.disable_compression = true;
  auto transport = make_curl_transport(config);
  const auto echo = nlohmann::json::parse(transport->send(get("/x")).body);
  CHECK_FALSE(echo["headers"].contains("accept-encoding"));
}

TEST_CASE("curl transport: a request timeout is a TransferError naming the request") {
  LoopbackServer server;
  auto transport = make_curl_transport(config_for(server.url()));
  auto r = get("/slow");
  r.timeout = 300ms;
  try {
    transport->send(r);
    FAIL("no timeout");
  } catch (const TransferError &e) {
    CHECK(e.failure() == TransferFailure::Timeout);
    CHECK(e.request_sent());
    CHECK(std::string(e.what()) == "GET " + server.url() + "/slow timed out after 300ms");
  }
}

TEST_CASE("curl transport: a refused connection names the server") {
  // A port that was just free: nothing listens there.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
  ::close(fd);
  const std::string server = fmt::format("https://127.0.0.1:{}", ntohs(addr.sin_port));
  auto transport = make_curl_transport(config_for(server));
  try {
    transport->send(get("/api"));
    FAIL("no error");
  } catch (const TransferError &e) {
    CHECK(e.failure() == TransferFailure::Connect);
    CHECK_FALSE(e.request_sent());
    CHECK(std::string(e.what()) == "cannot connect to " + server + ": connection refused");
  }
}

TEST_CASE("no_proxy_matches: curl's rules") {
  CHECK(no_proxy_matches("api.example.com", "example.com"));
  CHECK(no_proxy_matches("api.example.com", ".example.com"));
  CHECK(no_proxy_matches("example.com", "localhost, example.com"));
  CHECK_FALSE(no_proxy_matches("badexample.com", "example.com"));
  CHECK(no_proxy_matches("anything", "*"));
  CHECK(no_proxy_matches("10.1.2.3", "10.0.0.0/8"));
  CHECK_FALSE(no_proxy_matches("11.1.2.3", "10.0.0.0/8"));
  CHECK(no_proxy_matches("10.96.0.1", "10.96.0.1"));
  CHECK(no_proxy_matches("[fd00::1]", "fd00::1"));
  CHECK_FALSE(no_proxy_matches("10.96.0.1", ""));
}
