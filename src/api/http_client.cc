#include "api/http_client.h"

#include <liboath/oath.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>
#include <optional>

namespace medvault::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr size_t kMaxAnswerBytes = 64 * 1024 * 1024;

}  // namespace

struct HttpClient::Impl {
  std::string host;
  uint16_t port = 0;
  std::string local_address;
  int timeout_seconds = 120;
  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  Status Connect() {
    beast::error_code ec;
    const net::ip::address address = net::ip::make_address(host, ec);
    if (ec) return Unavailable("server address: " + ec.message());
    stream.emplace(ioc);
    buffer.clear();
    tcp::socket& socket = stream->socket();
    const tcp::endpoint remote(address, port);
    socket.open(remote.protocol(), ec);
    if (ec) return Unavailable("socket: " + ec.message());
    if (!local_address.empty()) {
      const net::ip::address local = net::ip::make_address(local_address, ec);
      if (ec) return Unavailable("local address: " + ec.message());
      socket.bind(tcp::endpoint(local, 0), ec);
      if (ec) return Unavailable("bind " + local_address + ": " + ec.message());
    }
    stream->expires_after(std::chrono::seconds(timeout_seconds));
    stream->connect(remote, ec);
    if (ec) return Unavailable("connect: " + ec.message());
    return Status::Ok();
  }

  Result<HttpAnswer> Exchange(http::request<http::string_body>& req) {
    beast::error_code ec;
    stream->expires_after(std::chrono::seconds(timeout_seconds));
    http::write(*stream, req, ec);
    if (ec) return Unavailable("write: " + ec.message());
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxAnswerBytes);
    http::read(*stream, buffer, parser, ec);
    if (ec) return Unavailable("read: " + ec.message());
    http::response<http::string_body> res = parser.release();
    HttpAnswer out;
    out.status = static_cast<int>(res.result_int());
    out.www_authenticate = std::string(res[http::field::www_authenticate]);
    out.body = std::move(res.body());
    if (!res.keep_alive()) stream.reset();
    return out;
  }
};

HttpClient::HttpClient(std::string host, uint16_t port, std::string local_address,
                       int timeout_seconds)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->local_address = std::move(local_address);
  impl_->timeout_seconds = timeout_seconds;
}

HttpClient::~HttpClient() = default;

Result<HttpAnswer> HttpClient::Send(std::string_view method, std::string_view target,
                                    std::string_view body,
                                    const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> req;
  req.method_string(beast::string_view(method.data(), method.size()));
  req.target(beast::string_view(target.data(), target.size()));
  req.version(11);
  req.set(http::field::host, impl_->host + ":" + std::to_string(impl_->port));
  req.keep_alive(true);
  if (!body.empty()) req.set(http::field::content_type, "application/fhir+json");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = std::string(body);
  req.prepare_payload();
  Status last = Status::Ok();
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!impl_->stream) {
      last = impl_->Connect();
      if (!last.ok()) {
        impl_->stream.reset();
        continue;
      }
    }
    Result<HttpAnswer> answer = impl_->Exchange(req);
    if (answer.ok()) return answer;
    last = answer.status();
    impl_->stream.reset();
  }
  return last;
}

Result<std::string> TotpCodeFromUri(std::string_view uri, int64_t step) {
  static const int init = oath_init();
  (void)init;
  const size_t at = uri.find("secret=");
  if (at == std::string_view::npos) return InvalidArgument("TOTP URI: no secret parameter");
  std::string_view secret = uri.substr(at + 7);
  secret = secret.substr(0, secret.find('&'));
  char* raw = nullptr;
  size_t raw_len = 0;
  const std::string encoded(secret);
  if (oath_base32_decode(encoded.c_str(), encoded.size(), &raw, &raw_len) != OATH_OK) {
    return InvalidArgument("TOTP URI: secret is not base32");
  }
  char code[7] = {};
  const int rc = oath_totp_generate(raw, raw_len, static_cast<time_t>(step * 30), 30, 0, 6, code);
  std::free(raw);
  if (rc != OATH_OK) return Internal("TOTP code generation failed");
  return std::string(code);
}

}  // namespace medvault::api
