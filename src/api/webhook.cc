#include "api/webhook.h"

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

struct Url {
  std::string host;
  std::string port;
  std::string path;
};

Result<Url> ParseUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return InvalidArgument("webhook URL must start with http://");
  url.remove_prefix(kScheme.size());
  const size_t slash = url.find('/');
  const std::string_view authority = url.substr(0, slash);
  Url out;
  out.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == authority.size()) {
    return InvalidArgument("webhook URL: expected http://HOST:PORT[/PATH]");
  }
  out.host = std::string(authority.substr(0, colon));
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  out.port = std::string(authority.substr(colon + 1));
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(out.port.data(), out.port.data() + out.port.size(), port);
  if (ec != std::errc() || ptr != out.port.data() + out.port.size() || port == 0 || port > 65535) {
    return InvalidArgument("webhook URL: invalid port");
  }
  return out;
}

}  // namespace

Result<int> PostJson(const std::string& url, std::string_view json, int timeout_seconds) {
  MV_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
  try {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    const auto endpoints = resolver.resolve(parsed.host, parsed.port, ec);
    if (ec) return Unavailable("webhook: " + ec.message());
    stream.expires_after(std::chrono::seconds(timeout_seconds));
    stream.connect(endpoints, ec);
    if (ec) return Unavailable("webhook: " + ec.message());
    http::request<http::string_body> req{http::verb::post, parsed.path, 11};
    req.set(http::field::host, parsed.host + ":" + parsed.port);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "medvault-guard");
    req.keep_alive(false);
    req.body() = std::string(json);
    req.prepare_payload();
    http::write(stream, req, ec);
    if (ec) return Unavailable("webhook: " + ec.message());
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    http::read(stream, buffer, parser, ec);
    if (ec) return Unavailable("webhook: " + ec.message());
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return static_cast<int>(parser.get().result_int());
  } catch (const std::exception& e) {
    return Unavailable(std::string("webhook: ") + e.what());
  }
}

WebhookSender::WebhookSender(WebhookOptions options,
                             std::function<void(std::string_view)> log_line)
    : options_(std::move(options)), log_line_(std::move(log_line)) {}

WebhookSender::~WebhookSender() { Stop(); }

Status WebhookSender::Start() {
  MV_RETURN_IF_ERROR(ParseUrl(options_.url).status());
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void WebhookSender::Post(std::string json) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_ || !thread_.joinable()) return;
  if (queue_.size() >= options_.max_queue) {
    queue_.pop_front();
    if (log_line_) log_line_("guard.webhook dropped=1 reason=queue-full");
  }
  queue_.push_back(Item{std::move(json), 0, std::chrono::steady_clock::now()});
  cv_.notify_one();
}

void WebhookSender::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t WebhookSender::delivered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return delivered_;
}

void WebhookSender::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (queue_.empty()) {
      if (stop_) return;
      cv_.wait(lock);
      continue;
    }
    // The item due first (retries wait behind their backoff; new alerts are due at once).
    auto next = std::min_element(queue_.begin(), queue_.end(),
                                 [](const Item& a, const Item& b) { return a.due < b.due; });
    if (!stop_ && next->due > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, next->due);
      continue;
    }
    Item item = std::move(*next);
    queue_.erase(next);
    lock.unlock();
    Result<int> status = PostJson(options_.url, item.json, options_.timeout_seconds);
    const bool ok = status.ok() && *status >= 200 && *status < 300;
    lock.lock();
    if (ok) {
      ++delivered_;
      continue;
    }
    ++item.attempts;
    if (stop_ || item.attempts >= options_.max_attempts) {
      if (log_line_) {
        log_line_("ALERT guard.webhook failed attempts=" + std::to_string(item.attempts) +
                  " error=" + (status.ok() ? "status " + std::to_string(*status)
                                           : status.status().ToString()));
      }
      continue;
    }
    item.due = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(options_.first_backoff_ms << (item.attempts - 1));
    queue_.push_back(std::move(item));
  }
}

}  // namespace medvault::api
