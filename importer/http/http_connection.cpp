#include "importer/http/http_connection.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <charconv>

namespace cdi {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

// How often a blocked operation looks at the cancel token and its deadline.
constexpr auto poll_interval = std::chrono::milliseconds(100);

std::string seconds_text(std::chrono::milliseconds ms) {
    if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + "s";
    return std::to_string(ms.count()) + "ms";
}


// A body that stops arriving before its end, whatever stopped it: the peer closed or reset, TLS
// ended without close_notify, or a TLS record failed (bytes injected or corrupted on the way: OpenSSL
// refuses the record, so none of it was delivered). Each is resumable with Range on a new connection
// and a new handshake, as the resume logic does, never spliced.
bool is_cut_short(const error_code& ec) {
    return ec == http::error::partial_message || ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated ||
           ec.category() == asio::error::get_ssl_category();
}

}  // namespace

http_connection::http_connection(asio::io_context& ioc, tls_client_context* tls, http_timeouts timeouts,
                                 const cancel_token& cancel, std::string user_agent)
    : ioc_(ioc), tls_(tls), timeouts_(timeouts), cancel_(cancel), user_agent_(std::move(user_agent)),
      resolver_(ioc), socket_(ioc) {
    // Beast reads at most the buffer's free capacity (and 64 KiB): left at the few KiB the headers
    // needed, a 1 GB body took 216k recv calls of ~4.5 KB each (bench/http_import.sh).
    buffer_.reserve(read_buffer_size);
}

http_connection::~http_connection() { abort(); }

void http_connection::abort() noexcept {
    resolver_.cancel();
    error_code ignored;
    socket_.close(ignored);
}

template <class Op>
error_code http_connection::run(Op&& start, std::chrono::milliseconds limit, stop_reason& why) {
    bool done = false;
    error_code result;
    start([&done, &result](error_code ec, auto&&...) {
        result = ec;
        done = true;
    });
    ioc_.restart();
    why = stop_reason::none;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done) {
        if (ioc_.run_one_for(poll_interval) == 0 && ioc_.stopped()) ioc_.restart();
        if (done) break;
        if (why == stop_reason::none) {
            if (cancel_.canceled()) why = stop_reason::canceled;
            else if (std::chrono::steady_clock::now() >= deadline) why = stop_reason::timed_out;
            if (why != stop_reason::none) abort();  // the pending handler completes with operation_aborted
        }
    }
    return result;
}

template <class F>
void http_connection::with_stream(F&& f) {
    if (ssl_) f(*ssl_);
    else f(socket_);
}

error http_connection::io_error(const std::string& what, error_code ec, stop_reason why, errc otherwise) const {
    if (why == stop_reason::canceled) return make_error(errc::canceled, what + ": canceled");
    if (why == stop_reason::timed_out) {
        if (otherwise == errc::source_unreachable)
            return make_error(errc::source_unreachable, what + ": timed out");
        return make_error(errc::timeout, what + ": no data for " + seconds_text(timeouts_.idle));
    }
    return make_error(otherwise, what + ": " + ec.message());
}

result<void> http_connection::connect(const http_url& peer) {
    const auto peer_text = peer.authority();
    stop_reason why{};
    asio::ip::tcp::resolver::results_type endpoints;
    auto ec = run([&](auto handler) {
        resolver_.async_resolve(peer.host(), std::to_string(peer.port()),
                                [&endpoints, handler](error_code e, asio::ip::tcp::resolver::results_type r) mutable {
                                    endpoints = std::move(r);
                                    handler(e);
                                });
    }, timeouts_.connect, why);
    if (ec || why != stop_reason::none) return io_error("cannot resolve " + peer_text, ec, why, errc::source_unreachable);
    socket_ = asio::ip::tcp::socket(ioc_);
    ec = run([&](auto handler) { asio::async_connect(socket_, endpoints, handler); }, timeouts_.connect, why);
    if (ec || why != stop_reason::none) return io_error("cannot connect to " + peer_text, ec, why, errc::source_unreachable);
    error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    return {};
}

result<void> http_connection::tunnel(const http_url& url, const http_url& proxy) {
    http::request<http::empty_body> req{http::verb::connect, url.authority(), 11};
    req.set(http::field::host, url.authority());
    req.set(http::field::user_agent, user_agent_);
    if (proxy.userinfo()) req.set(http::field::proxy_authorization, basic_authorization(*proxy.userinfo()));
    stop_reason why{};
    auto ec = run([&](auto handler) { http::async_write(socket_, req, handler); }, timeouts_.connect, why);
    if (ec || why != stop_reason::none) return io_error("cannot send CONNECT to proxy " + proxy.authority(), ec, why, errc::source_unreachable);
    http::response_parser<http::empty_body> res;
    res.skip(true);  // a 2xx answer to CONNECT has no body: the tunnel starts right after the head
    ec = run([&](auto handler) { http::async_read_header(socket_, buffer_, res, handler); }, timeouts_.connect, why);
    if (ec && why == stop_reason::none && !is_cut_short(ec) && ec != asio::error::operation_aborted)
        return make_error(errc::proxy, "proxy " + proxy.authority() + " sent a malformed answer to CONNECT: " + ec.message());
    if (ec || why != stop_reason::none) return io_error("no CONNECT answer from proxy " + proxy.authority(), ec, why, errc::source_unreachable);
    const auto status = res.get().result_int();
    if (status / 100 != 2) {
        return make_error(status == 407 ? errc::auth : errc::source_unreachable,
                          "proxy " + proxy.authority() + " refused the tunnel to " + peer_ + ": " + std::to_string(status) +
                              " " + std::string(res.get().reason()));
    }
    // Nothing read before the TLS handshake may be used after it: bytes the proxy sent past its
    // answer would be parsed as the origin's response once the tunnel is encrypted (a forgery that
    // certificate verification cannot see). The origin speaks only after our ClientHello, so an
    // honest proxy has sent nothing more yet. Final: never retried, over plain HTTP or otherwise.
    if (buffer_.size() != 0)
        return make_error(errc::proxy, "proxy " + proxy.authority() + " sent " + std::to_string(buffer_.size()) +
                                           " bytes after its answer to CONNECT " + peer_ + "; refusing the tunnel");
    return {};
}

result<void> http_connection::handshake(const http_url& url) {
    ssl_.emplace(socket_, tls_->native());
    SSL* ssl = ssl_->native_handle();
    boost::system::error_code addr_ec;
    asio::ip::make_address(url.host(), addr_ec);
    if (addr_ec) SSL_set_tlsext_host_name(ssl, url.host().c_str());  // SNI is for names, never IPs
    if (tls_->verifies()) {
        ssl_->set_verify_mode(asio::ssl::verify_peer);
        ssl_->set_verify_callback([this, check = asio::ssl::host_name_verification(url.host())](
                                      bool preverified, asio::ssl::verify_context& ctx) mutable {
            const bool ok = check(preverified, ctx);
            if (preverified && !ok) hostname_mismatch_ = true;
            return ok;
        });
    } else {
        ssl_->set_verify_mode(asio::ssl::verify_none);
    }
    stop_reason why{};
    auto ec = run([&](auto handler) { ssl_->async_handshake(asio::ssl::stream_base::client, handler); },
                  timeouts_.connect, why);
    if (why != stop_reason::none) return io_error("TLS handshake with " + peer_, ec, why, errc::source_unreachable);
    if (!ec) return {};
    const long verify = SSL_get_verify_result(ssl);
    if (hostname_mismatch_) {
        return make_error(errc::tls_verify, "TLS certificate of " + peer_ + " does not match the host name \"" + url.host() + "\"");
    }
    if (verify != X509_V_OK) {
        return make_error(errc::tls_verify, "TLS certificate of " + peer_ + " is not trusted by " + tls_->trust_description() +
                                                ": " + X509_verify_cert_error_string(verify));
    }
    // A TLS protocol alert (a peer that does not speak TLS, no shared version or cipher) will not
    // change on a retry; a reset or a cut stream during the handshake might.
    if (ec.category() == asio::error::get_ssl_category())
        return make_error(errc::tls_verify, "TLS handshake with " + peer_ + " failed: " + ec.message() +
                                                " (does the server speak TLS with a shared version and cipher?)");
    return make_error(errc::source_unreachable, "TLS handshake with " + peer_ + " failed: " + ec.message());
}

std::size_t request_header_bytes(const http_url& url, const http_request_spec& spec) {
    std::size_t n = url.to_string().size() + url.authority().size() + 32;  // request line, Host, User-Agent's name
    for (const auto& [name, value] : spec.headers) n += name.size() + value.size() + 4;
    return n;
}

result<void> http_connection::request(const http_url& url, const std::optional<http_url>& proxy,
                                      const http_request_spec& spec) {
    peer_ = url.authority();
    head_ = {};
    body_bytes_ = 0;
    // Beast throws on a field it cannot hold: an oversized header block is refused with a class first.
    if (auto size = request_header_bytes(url, spec); size > max_request_header_bytes) {
        return make_error(errc::bad_request, "the request to " + peer_ + " has a header block of " + std::to_string(size) +
                                                 " bytes (at most " + std::to_string(max_request_header_bytes) + ")");
    }
    if (auto r = connect(proxy ? *proxy : url); !r) return r;
    if (url.tls()) {
        if (!tls_) return make_error(errc::tls_config, "no TLS context for " + peer_);
        if (proxy) {
            if (auto r = tunnel(url, *proxy); !r) return r;
        }
        if (auto r = handshake(url); !r) return r;
    }

    // Absolute-form through a plain proxy (RFC 9112 3.2.2), origin-form otherwise.
    const bool absolute = proxy && !url.tls();
    http::request<http::string_body> req{spec.method, absolute ? url.to_string() : url.target(), 11};
    req.set(http::field::host, url.host_header());
    for (const auto& [name, value] : spec.headers) req.set(name, value);
    if (absolute && proxy->userinfo()) req.set(http::field::proxy_authorization, basic_authorization(*proxy->userinfo()));
    if (!spec.body.empty()) {
        req.body() = spec.body;
        req.prepare_payload();
    }

    stop_reason why{};
    error_code ec;
    with_stream([&](auto& stream) {
        ec = run([&](auto handler) { http::async_write(stream, req, handler); }, timeouts_.idle, why);
    });
    if (ec || why != stop_reason::none) return io_error("cannot send the request to " + peer_, ec, why, errc::source_unreachable);

    parser_.emplace();
    parser_->body_limit(boost::none);
    parser_->header_limit(64 * 1024);
    if (spec.method == http::verb::head) parser_->skip(true);
    with_stream([&](auto& stream) {
        ec = run([&](auto handler) { http::async_read_header(stream, buffer_, *parser_, handler); }, timeouts_.idle, why);
    });
    if (why != stop_reason::none) return io_error("no response from " + peer_, ec, why, errc::timeout);
    if (ec) {
        const errc code = is_cut_short(ec) || ec == asio::error::operation_aborted ? errc::source_unreachable : errc::source_http;
        return make_error(code, "bad response from " + peer_ + ": " + ec.message());
    }

    const auto& res = parser_->get();
    head_.status = res.result_int();
    auto reason = std::string(res.reason());
    if (reason.empty()) reason = std::string(http::obsolete_reason(res.result()));
    head_.status_text = std::to_string(head_.status) + " " + reason;
    if (auto len = parser_->content_length()) head_.content_length = *len;
    head_.chunked = parser_->chunked();
    auto field = [&res](http::field f) { return std::string(res[f]); };
    head_.location = field(http::field::location);
    head_.content_type = field(http::field::content_type);
    head_.accept_ranges = field(http::field::accept_ranges);
    head_.content_range = field(http::field::content_range);
    head_.etag = field(http::field::etag);
    head_.last_modified = field(http::field::last_modified);
    for (const auto& f : res)
        if (f.name() == http::field::www_authenticate) head_.www_authenticate.emplace_back(f.value());
    return {};
}

result<std::size_t> http_connection::read_body(std::span<std::byte> out) {
    if (!parser_) return make_error(errc::io, "read_body before request");
    while (!parser_->is_done()) {
        auto& body = parser_->get().body();
        body.data = out.data();
        body.size = out.size();
        body.more = true;
        stop_reason why{};
        error_code ec;
        with_stream([&](auto& stream) {
            ec = run([&](auto handler) { http::async_read_some(stream, buffer_, *parser_, handler); }, timeouts_.idle, why);
        });
        const std::size_t n = out.size() - body.size;
        body_bytes_ += n;
        if (ec == http::error::need_buffer) ec = {};
        if (why != stop_reason::none) return io_error("reading the body from " + peer_, ec, why, errc::timeout);
        if (ec) {
            if (n > 0) return n;  // deliver what arrived; the next call sees the failure again
            if (is_cut_short(ec)) {
                std::string expected = head_.content_length ? " of " + std::to_string(*head_.content_length) : std::string();
                return make_error(errc::truncated, "body from " + peer_ + " cut short after " + std::to_string(body_bytes_) +
                                                       expected + " bytes: " + ec.message());
            }
            return make_error(errc::source_http, "bad body from " + peer_ + ": " + ec.message());
        }
        if (n > 0) return n;
    }
    return std::size_t{0};
}

}  // namespace cdi
