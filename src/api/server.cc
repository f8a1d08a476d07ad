// The only translation unit that includes Boost.Beast: accept, TLS, HTTP/1.1 parsing and writing,
// keep-alive, limits, timeouts and graceful shutdown. Everything else is in handler.cc.
#include "api/server.h"

#include <openssl/ssl.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include "api/handler.h"

namespace medvault::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using WorkGuard = net::executor_work_guard<net::io_context::executor_type>;

constexpr const char* kHsts = "max-age=63072000; includeSubDomains";

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // Closes the connection if it is waiting for a request; otherwise it closes after its response.
  virtual void Shutdown() = 0;
};

struct Shared {
  Api* api = nullptr;
  const ServerConfig* config = nullptr;
  net::io_context* ioc = nullptr;
  std::atomic<bool> stopping{false};
};


template <class Stream>
class Connection final : public ConnectionBase,
                         public std::enable_shared_from_this<Connection<Stream>> {
 public:
  template <class... Args>
  Connection(Shared& shared, std::string source_ip, Args&&... args)
      : shared_(shared), source_ip_(std::move(source_ip)), stream_(std::forward<Args>(args)...) {}

  void Run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Begin(); });
  }

  void Shutdown() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (!self->busy_) self->Close();
    });
  }

 private:
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  std::chrono::seconds Timeout() const {
    return std::chrono::seconds(shared_.config->io_timeout_seconds);
  }

  void Begin() {
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      Lowest().expires_after(Timeout());
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Lowest().close();
                                self->Read();
                              });
    } else {
      Read();
    }
  }

  void Read() {
    if (shared_.stopping.load()) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_.config->header_limit));
    parser_->body_limit(shared_.config->body_limit);
    Lowest().expires_after(Timeout());
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::eof ||
        ec == net::error::connection_reset) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      return WriteError(413, "request body larger than the limit");
    }
    if (ec == http::error::header_limit) {
      return WriteError(431, "request header larger than the limit");
    }
    if (ec) {
      if (ec.category() == beast::error_code(http::error::body_limit).category() ||
          ec == http::error::bad_method) {
        return WriteError(400, "malformed HTTP request");
      }
      return Close();
    }
    http::request<http::string_body>& req = parser_->get();
    keep_alive_ = req.keep_alive();
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.authorization = std::string(req[http::field::authorization]);
    r.content_type = std::string(req[http::field::content_type]);
    r.break_glass_reason = std::string(req["X-Break-Glass-Reason"]);
    r.user_agent = std::string(req[http::field::user_agent].substr(0, 256));
    r.body = std::move(req.body());
    r.source_ip = source_ip_;
    busy_ = true;
    auto guard = std::make_shared<WorkGuard>(net::make_work_guard(*shared_.ioc));
    shared_.api->Handle(std::move(r), [self = this->shared_from_this(), guard](Response resp) {
      auto shared_resp = std::make_shared<Response>(std::move(resp));
      net::post(self->stream_.get_executor(), [self, shared_resp, guard] {
        self->Write(std::move(*shared_resp));
      });
    });
  }

  void WriteError(int status, std::string_view message) {
    keep_alive_ = false;
    busy_ = true;
    Write(shared_.api->TransportError(status, message));
  }

  void Write(Response resp) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(resp.status));
    res->set(http::field::strict_transport_security, kHsts);
    res->set(http::field::cache_control, "no-store");
    res->set("X-Content-Type-Options", "nosniff");
    if (!resp.content_type.empty()) res->set(http::field::content_type, resp.content_type);
    for (const auto& [name, value] : resp.headers) res->set(name, value);
    const bool keep = keep_alive_ && !shared_.stopping.load();
    res->keep_alive(keep);
    res->body() = std::move(resp.body);
    res->prepare_payload();
    Lowest().expires_after(Timeout());
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res, keep](beast::error_code ec, size_t) {
                        self->busy_ = false;
                        if (ec || !keep) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      Lowest().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        self->Lowest().close();
      });
    } else {
      beast::error_code ec;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      Lowest().close();
    }
  }

  Shared& shared_;
  std::string source_ip_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  bool busy_ = false;
  bool closed_ = false;
};

}  // namespace

std::string Endpoint::ToString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

class Server::Impl {
 public:
  Impl(Services services, ServerConfig config)
      : services_(std::move(services)),
        config_(std::move(config)),
        threads_n_(config_.threads > 0 ? config_.threads
                                       : std::max(1, static_cast<int>(
                                                         std::thread::hardware_concurrency()))),
        ioc_(threads_n_),
        tls_(ssl::context::tls_server),
        acceptor_(ioc_),
        signals_(ioc_) {}

  ~Impl() {
    Stop();
    Wait();
  }

  Result<Endpoint> Start() {
    beast::error_code ec;
    if (!config_.plain_http) {
      tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                       ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
      SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION);
      tls_.use_certificate_chain_file(config_.tls_cert_path, ec);
      if (ec) return Internal("cannot load the TLS certificate: " + ec.message());
      tls_.use_private_key_file(config_.tls_key_path, ssl::context::pem, ec);
      if (ec) return Internal("cannot load the TLS private key: " + ec.message());
    }
    std::string host = config_.host == "localhost" ? "127.0.0.1" : config_.host;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    const net::ip::address address = net::ip::make_address(host, ec);
    if (ec) return InvalidArgument("listen: not an IP address");
    const tcp::endpoint endpoint(address, config_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return Unavailable("cannot listen: " + ec.message());
    const tcp::endpoint bound = acceptor_.local_endpoint(ec);
    if (ec) return Internal("cannot read the bound address");

    api_ = std::make_unique<Api>(services_, config_);
    shared_.api = api_.get();
    shared_.config = &config_;
    shared_.ioc = &ioc_;
    if (config_.handle_signals) {
      signals_.add(SIGINT);
      signals_.add(SIGTERM);
      signals_.async_wait([this](beast::error_code e, int) {
        if (!e) Stop();
      });
    }
    Accept();
    for (int i = 0; i < threads_n_; ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
    return Endpoint{bound.address().to_string(), bound.port()};
  }

  void Stop() {
    if (stop_requested_.exchange(true)) return;
    shared_.stopping.store(true);
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      signals_.cancel(ec);
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& weak : connections_) {
        if (auto c = weak.lock()) c->Shutdown();
      }
    });
    watchdog_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      const bool finished = done_cv_.wait_for(
          lock, std::chrono::seconds(config_.shutdown_grace_seconds), [this] { return done_; });
      if (!finished) ioc_.stop();
    });
  }

  void Wait() {
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    done_cv_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
    api_.reset();
  }

 private:
  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        return Accept();
      }
      if (shared_.stopping.load()) return;
      beast::error_code peer_ec;
      const tcp::endpoint peer = s.remote_endpoint(peer_ec);
      std::string source = peer_ec ? "unknown" : peer.address().to_string();
      std::shared_ptr<ConnectionBase> conn;
      if (config_.plain_http) {
        auto c = std::make_shared<Connection<beast::tcp_stream>>(shared_, std::move(source),
                                                                  std::move(s));
        c->Run();
        conn = c;
      } else {
        auto c = std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
            shared_, std::move(source), std::move(s), tls_);
        c->Run();
        conn = c;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (++accepted_ % 256 == 0) {
          connections_.remove_if([](const std::weak_ptr<ConnectionBase>& w) { return w.expired(); });
        }
        connections_.push_back(conn);
      }
      Accept();
    });
  }

  Services services_;
  ServerConfig config_;
  const int threads_n_;
  net::io_context ioc_;
  ssl::context tls_;
  tcp::acceptor acceptor_;
  net::signal_set signals_;
  std::unique_ptr<Api> api_;
  Shared shared_;
  std::vector<std::thread> threads_;
  std::thread watchdog_;
  std::atomic<bool> stop_requested_{false};
  std::mutex mu_;
  std::condition_variable done_cv_;
  bool done_ = false;
  uint64_t accepted_ = 0;
  std::list<std::weak_ptr<ConnectionBase>> connections_;
};

Server::Server(Services services, ServerConfig config)
    : impl_(std::make_unique<Impl>(std::move(services), std::move(config))) {}

Server::~Server() = default;

Result<Endpoint> Server::Start() { return impl_->Start(); }
void Server::Wait() { impl_->Wait(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace medvault::api
