#include "importer/metrics/metrics_server.hpp"

#include "importer/pod/listener.hpp"
#include "importer/metrics/self_signed_cert.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <exception>
#include <system_error>
#include <thread>
#include <variant>
#include <vector>

namespace cdi {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using stream_type = beast::ssl_stream<beast::tcp_stream>;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view cert_common_name = "cloner_target";
constexpr auto cert_validity = std::chrono::hours(24 * 365);
// Scrapes carry no body; a small one (a confused client) is read and ignored.
constexpr std::uint64_t max_body_bytes = 4 * 1024;
// Bounds the TLS close_notify exchange at the end of a connection.
constexpr auto shutdown_timeout = std::chrono::seconds(1);

// Logs an exception escaping a coroutine instead of letting it out of io_context::run().
void log_exception(std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        spdlog::warn("metrics endpoint: {}", ex.what());
    } catch (...) {
        spdlog::warn("metrics endpoint: unknown exception");
    }
}

bool is_http_error(const boost::system::error_code& ec) {
    return ec.category() == http::make_error_code(http::error::bad_target).category() &&
           ec != http::error::end_of_stream && ec != http::error::partial_message;
}

}  // namespace

metrics_server::connection_slot::connection_slot(metrics_server& server) : server_(&server) {
    connection c;
    c.view.id = server.next_id_++;
    c.view.since = std::chrono::steady_clock::now();
    it_ = server.connections_.insert(server.connections_.end(), c);
    server.active_.fetch_add(1, std::memory_order_relaxed);
}

metrics_server::connection_slot::~connection_slot() {
    if (server_ == nullptr) return;
    server_->connections_.erase(it_);
    server_->active_.fetch_sub(1, std::memory_order_relaxed);
}

struct metrics_server::runtime {
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    std::thread thread;
};

metrics_server::metrics_server(std::string metric_name, std::string owner_uid, std::function<double()> value,
                               metrics_server_options opts)
    : metric_name_(std::move(metric_name)),
      owner_uid_(std::move(owner_uid)),
      value_(std::move(value)),
      opts_(std::move(opts)) {}

metrics_server::~metrics_server() { stop(); }

std::string metrics_server::help_for(std::string_view metric_name) {
    if (metric_name == clone_progress_metric) return "The clone progress in percentage";
    return "The import progress in percentage";
}

std::string metrics_server::escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out.push_back(c);
    }
    return out;
}

std::string metrics_server::render() {
    double v = value_ ? value_() : 0.0;
    if (!std::isfinite(v)) v = 0.0;
    v = std::clamp(v, 0.0, 100.0);
    // The epsilon keeps 45.34 (stored as 45.33999…) at 4534 cents.
    const long cents = std::min(10000L, static_cast<long>(std::floor(v * 100.0 + 1e-6)));
    long shown = last_cents_.load(std::memory_order_relaxed);
    while (cents > shown && !last_cents_.compare_exchange_weak(shown, cents, std::memory_order_relaxed)) {
    }
    shown = std::max(shown, cents);
    std::array<char, 32> num{};
    std::snprintf(num.data(), num.size(), "%ld.%02ld", shown / 100, shown % 100);
    std::string out;
    out.reserve(256);
    out.append("# HELP ").append(metric_name_).append(" ").append(help_for(metric_name_)).append("\n");
    out.append("# TYPE ").append(metric_name_).append(" counter\n");
    out.append(metric_name_).append("{ownerUID=\"").append(escape_label_value(owner_uid_)).append("\"} ");
    out.append(num.data()).append("\n");
    return out;
}

result<void> metrics_server::make_tls() {
    auto cert = self_signed_cert::generate(cert_common_name, cert_validity);
    if (!cert) return cert.error();
    asio::ssl::context ctx(asio::ssl::context::tls_server);
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                    asio::ssl::context::single_dh_use);
    if (auto r = cert->install(ctx); !r) return r.error();
    tls_.emplace(std::move(ctx));
    return {};
}

result<void> metrics_server::start() {
    if (runtime_) return make_error(errc::bad_request, "metrics endpoint already running");
    if (!tls_) {
        if (auto r = make_tls(); !r) return r.error();
    }
    auto rt = std::make_unique<runtime>();
    auto shown = listen_tcp(rt->acceptor, opts_.address, opts_.port);
    if (!shown) return error{shown.error().code, "metrics endpoint: " + shown.error().context};
    boost::system::error_code ec;
    port_ = rt->acceptor.local_endpoint(ec).port();
    asio::co_spawn(rt->io, accept_loop(rt->acceptor), log_exception);
    try {
        rt->thread = std::thread([io = &rt->io] { io->run(); });
    } catch (const std::system_error& e) {
        port_ = 0;
        return make_error(errc::io, std::string("metrics endpoint: cannot start its thread: ") + e.what());
    }
    runtime_ = std::move(rt);
    spdlog::info("metrics endpoint listening on port {}", port_);
    return {};
}

void metrics_server::stop() noexcept {
    if (!runtime_) return;
    runtime_->io.stop();
    if (runtime_->thread.joinable()) runtime_->thread.join();
    // Destroying the io_context destroys the suspended sessions, closing their sockets.
    runtime_.reset();
    port_ = 0;
}

asio::awaitable<void> metrics_server::accept_loop(tcp::acceptor& acceptor) {
    accept_backoff backoff;
    for (;;) {
        auto accepted = co_await accept_next(acceptor, backoff, "metrics endpoint");
        if (!accepted) co_return;
        tcp::socket socket = std::move(*accepted);
        if (!make_room()) {
            boost::system::error_code ignored;
            socket.close(ignored);
            continue;
        }
        // Registered here, before the session first runs, so the next accept sees it.
        asio::co_spawn(acceptor.get_executor(), session(std::move(socket), connection_slot(*this)), log_exception);
    }
}

bool metrics_server::make_room() {
    std::vector<metrics_slot> live;
    live.reserve(connections_.size());
    for (const auto& c : connections_) {
        if (!c.closing) live.push_back(c.view);
    }
    const auto a = admit_newcomer(live, opts_.max_connections, std::chrono::steady_clock::now(), opts_.stall_grace);
    if (a.evict) {
        for (auto& c : connections_) {
            if (c.view.id != *a.evict) continue;
            // Its pending operation completes with operation_aborted and its session unwinds.
            c.closing = true;
            boost::system::error_code ignored;
            if (c.socket != nullptr) c.socket->close(ignored);
        }
    }
    return a.admit;
}

asio::awaitable<bool> metrics_server::first_byte(tcp::socket& socket, const connection& conn) {
    using namespace asio::experimental::awaitable_operators;
    if (conn.closing) co_return false;
    asio::steady_timer silent(socket.get_executor());
    silent.expires_after(opts_.first_byte_timeout);
    // Whichever completes first cancels the other.
    auto first = co_await (socket.async_wait(tcp::socket::wait_read, use_tuple) || silent.async_wait(use_tuple));
    if (first.index() != 0) co_return false;  // silent for first_byte_timeout
    const auto [ec] = std::get<0>(first);
    co_return !ec && !conn.closing;
}

asio::awaitable<void> metrics_server::session(tcp::socket socket, connection_slot slot) {
    connection& conn = slot.get();  // lives as long as this frame's parameter
    conn.socket = &socket;
    if (!co_await first_byte(socket, conn)) co_return;
    conn.view.heard_from = true;
    conn.view.since = std::chrono::steady_clock::now();

    stream_type stream(beast::tcp_stream(std::move(socket)), *tls_);
    auto& lowest = beast::get_lowest_layer(stream);
    conn.socket = &lowest.socket();
    lowest.expires_after(opts_.header_timeout);
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (hec) co_return;

    beast::flat_buffer buf;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(opts_.max_header_bytes);
        parser.body_limit(max_body_bytes);
        conn.view.since = std::chrono::steady_clock::now();  // a new exchange: idle time counts toward it
        lowest.expires_after(opts_.header_timeout);
        auto [ec, n] = co_await http::async_read(stream, buf, parser, use_tuple);
        http::response<http::string_body> res;
        if (ec) {
            if (!is_http_error(ec)) break;
            res.result(ec == http::error::header_limit ? http::status::request_header_fields_too_large
                                                       : http::status::bad_request);
            res.version(11);
            res.keep_alive(false);
            res.body() = std::string(res.reason()) + "\n";
            res.prepare_payload();
        } else {
            const auto& req = parser.get();
            res.version(req.version());
            res.keep_alive(req.keep_alive());
            if (req.method() == http::verb::get || req.method() == http::verb::head) {
                res.result(http::status::ok);
                res.set(http::field::content_type, content_type);
                std::string text = render();
                if (req.method() == http::verb::head) {
                    res.content_length(text.size());
                } else {
                    res.body() = std::move(text);
                    res.prepare_payload();
                }
            } else {
                res.result(http::status::method_not_allowed);
                res.set(http::field::allow, "GET, HEAD");
                res.body() = "405 Method Not Allowed\n";
                res.prepare_payload();
            }
        }
        lowest.expires_after(opts_.header_timeout);
        auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
        if (wec || !res.keep_alive()) break;
    }
    if (conn.closing) co_return;  // evicted: the socket is closed already
    lowest.expires_after(shutdown_timeout);
    co_await stream.async_shutdown(use_tuple);
}

}  // namespace cdi
