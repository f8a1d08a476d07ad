#include "api/witness_client.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>

namespace medvault::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr std::string_view kScheme = "http://";
constexpr size_t kMaxAnswerBytes = 64 * 1024;

struct Url {
  std::string host;
  std::string port;
  std::string prefix;  // path before /add-checkpoint, without a trailing slash
};

Result<Url> ParseUrl(std::string_view url) {
  if (!url.starts_with(kScheme)) return InvalidArgument("witness URL must start with http://");
  url.remove_prefix(kScheme.size());
  const size_t slash = url.find('/');
  const std::string_view authority = url.substr(0, slash);
  Url out;
  if (slash != std::string_view::npos) out.prefix = std::string(url.substr(slash));
  while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == authority.size()) {
    return InvalidArgument("witness URL: expected http://HOST:PORT");
  }
  out.host = std::string(authority.substr(0, colon));
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  out.port = std::string(authority.substr(colon + 1));
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(out.port.data(), out.port.data() + out.port.size(), port);
  if (ec != std::errc() || ptr != out.port.data() + out.port.size() || port == 0 || port > 65535) {
    return InvalidArgument("witness URL: invalid port");
  }
  return out;
}

}  // namespace

Result<WitnessHttpAnswer> PostAddCheckpoint(const std::string& url, std::string_view body,
                                            int timeout_seconds) {
  MV_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  const auto endpoints = resolver.resolve(parsed.host, parsed.port, ec);
  if (ec) return Unavailable("witness " + url + ": " + ec.message());
  stream.expires_after(std::chrono::seconds(timeout_seconds));
  stream.connect(endpoints, ec);
  if (ec) return Unavailable("witness " + url + ": " + ec.message());

  http::request<http::string_body> req{http::verb::post, parsed.prefix + "/add-checkpoint", 11};
  req.set(http::field::host, parsed.host + ":" + parsed.port);
  req.set(http::field::content_type, "text/plain; charset=utf-8");
  req.keep_alive(false);
  req.body() = std::string(body);
  req.prepare_payload();
  stream.expires_after(std::chrono::seconds(timeout_seconds));
  http::write(stream, req, ec);
  if (ec) return Unavailable("witness " + url + ": " + ec.message());

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxAnswerBytes);
  http::read(stream, buffer, parser, ec);
  if (ec) return Unavailable("witness " + url + ": " + ec.message());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

  const http::response<http::string_body>& res = parser.get();
  WitnessHttpAnswer answer;
  answer.status = static_cast<int>(res.result_int());
  answer.content_type = std::string(res[http::field::content_type]);
  answer.body = res.body();
  return answer;
}

}  // namespace medvault::api
