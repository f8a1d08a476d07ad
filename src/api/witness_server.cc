#include "api/witness_server.h"

#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <csignal>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace medvault::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr const char* kRoute = "/add-checkpoint";

std::string FirstLine(std::string_view body) {
  return std::string(body.substr(0, std::min(body.find('\n'), body.size())));
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const WitnessServer::AddCheckpoint& add_checkpoint,
          const WitnessServerConfig& config)
      : stream_(std::move(socket)), add_checkpoint_(add_checkpoint), config_(config) {}

  void Run() { Read(); }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(config_.body_limit);
    stream_.expires_after(std::chrono::seconds(config_.io_timeout_seconds));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      Reply(413, "text/plain; charset=utf-8", "request body too large\n", false);
      return;
    }
    if (ec) return;  // closed, timed out or malformed: nothing to answer
    http::request<http::string_body> req = parser_->release();
    const bool keep_alive = req.keep_alive();
    if (std::string_view(req.target().data(), req.target().size()) != kRoute) {
      Reply(404, "text/plain; charset=utf-8", "not found\n", keep_alive);
      return;
    }
    if (req.method() != http::verb::post) {
      Reply(405, "text/plain; charset=utf-8", "method not allowed\n", keep_alive);
      return;
    }
    WitnessReply reply = add_checkpoint_(req.body());
    Reply(reply.status, std::move(reply.content_type), std::move(reply.body), keep_alive);
  }

  void Reply(int status, std::string content_type, std::string body, bool keep_alive) {
    if (config_.log_line) {
      config_.log_line("POST /add-checkpoint " + std::to_string(status) + " " + FirstLine(body));
    }
    auto res =
        std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
    res->set(http::field::content_type, content_type);
    res->keep_alive(keep_alive);
    res->body() = std::move(body);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(config_.io_timeout_seconds));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->Read();
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const WitnessServer::AddCheckpoint& add_checkpoint_;
  const WitnessServerConfig& config_;
};

}  // namespace

class WitnessServer::Impl {
 public:
  Impl(AddCheckpoint add_checkpoint, WitnessServerConfig config)
      : add_checkpoint_(std::move(add_checkpoint)),
        config_(std::move(config)),
        acceptor_(net::make_strand(ioc_)),
        signals_(ioc_) {}

  Result<Endpoint> Start() {
    beast::error_code ec;
    const net::ip::address address = net::ip::make_address(config_.host, ec);
    if (ec) return InvalidArgument("--listen: invalid host " + config_.host);
    const tcp::endpoint endpoint(address, config_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return Unavailable("cannot listen on " + config_.host + ": " + ec.message());
    const tcp::endpoint bound = acceptor_.local_endpoint(ec);
    if (ec) return Internal("witness server: " + ec.message());
    if (config_.handle_signals) {
      signals_.add(SIGINT);
      signals_.add(SIGTERM);
      signals_.async_wait([this](beast::error_code wait_ec, int) {
        if (!wait_ec) Stop();
      });
    }
    Accept();
    const int threads = std::max(1, config_.threads);
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
    return Endpoint{bound.address().to_string(), bound.port()};
  }

  void Stop() { ioc_.stop(); }

  void Wait() {
    std::lock_guard<std::mutex> lock(join_mu_);
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) std::make_shared<Session>(std::move(s), add_checkpoint_, config_)->Run();
      Accept();
    });
  }

  const AddCheckpoint add_checkpoint_;
  const WitnessServerConfig config_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  net::signal_set signals_;
  std::mutex join_mu_;
  std::vector<std::thread> threads_;
};

WitnessServer::WitnessServer(AddCheckpoint add_checkpoint, WitnessServerConfig config)
    : impl_(std::make_unique<Impl>(std::move(add_checkpoint), std::move(config))) {}

WitnessServer::~WitnessServer() {
  impl_->Stop();
  impl_->Wait();
}

Result<Endpoint> WitnessServer::Start() { return impl_->Start(); }
void WitnessServer::Wait() { impl_->Wait(); }
void WitnessServer::Stop() { impl_->Stop(); }

}  // namespace medvault::api
