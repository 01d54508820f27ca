#pragma once
// One HTTP/1.1 exchange on one connection: connect (directly, through an http:// proxy with an
// absolute-form request, or through a CONNECT tunnel), TLS handshake, send one request, read the
// response head, then stream the body into the caller's buffers with no whole-body buffering.
//
// Every operation runs on the caller's io_context with run_one_for polling, so the idle limit
// (no byte moved) and the cancel_token are checked at least every 100 ms; an expired or canceled
// operation closes the socket and its handler completes before the call returns.
#include "cdi/error.hpp"
#include "cdi/progress.hpp"
#include "importer/http/http_options.hpp"
#include "importer/http/http_url.hpp"
#include "importer/http/tls_client_context.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace cdi {

struct http_request_spec {
    boost::beast::http::verb method = boost::beast::http::verb::get;
    std::vector<std::pair<std::string, std::string>> headers;  // sent as given, after Host
    std::string body;  // sent with its Content-Length when not empty (a POST)
};

// The largest request header block we build (request line and fields): far above what any origin
// or registry accepts (nginx: 8 KiB a line), far below what Beast can hold (64 KiB a field).
inline constexpr std::size_t max_request_header_bytes = 32 * 1024;
// An upper bound of the header block http_connection::request builds for spec (without the proxy's
// Proxy-Authorization, bounded at start-up).
std::size_t request_header_bytes(const http_url& url, const http_request_spec& spec);

struct http_response_head {
    unsigned status = 0;
    std::string status_text;  // "404 Not Found", as Go's Response.Status
    std::optional<std::uint64_t> content_length;
    bool chunked = false;
    std::string location;
    std::string content_type;
    std::string accept_ranges;
    std::string content_range;
    std::string etag;
    std::string last_modified;
    std::vector<std::string> www_authenticate;  // every WWW-Authenticate field, in order (401 challenges)
};

struct http_timeouts {
    std::chrono::milliseconds connect;  // resolve + TCP connect + proxy CONNECT + TLS handshake
    std::chrono::milliseconds idle;     // response head and each body read
};

class http_connection {
public:
    // tls may be null when the target is plain http; it must outlive the connection, as must ioc
    // and cancel.
    http_connection(boost::asio::io_context& ioc, tls_client_context* tls, http_timeouts timeouts,
                    const cancel_token& cancel, std::string user_agent);
    http_connection(const http_connection&) = delete;
    http_connection& operator=(const http_connection&) = delete;
    ~http_connection();

    // Errors: errc::source_unreachable (resolve, connect, handshake-less I/O failure, connect
    // timeout; names host:port), errc::tls_verify, errc::timeout (no response head in time),
    // errc::canceled, errc::source_http (malformed response), errc::proxy (the proxy sent bytes
    // after its answer to CONNECT, or a malformed answer: final, never retried), errc::bad_request (a
    // header block over max_request_header_bytes, refused before connecting).
    result<void> request(const http_url& url, const std::optional<http_url>& proxy, const http_request_spec& req);
    const http_response_head& head() const noexcept { return head_; }

    // 1..out.size() body bytes, or 0 once the body ended as its framing says. A body the peer cut
    // short is errc::truncated; no byte for the idle limit is errc::timeout.
    result<std::size_t> read_body(std::span<std::byte> out);
    std::uint64_t body_bytes() const noexcept { return body_bytes_; }

private:
    enum class stop_reason { none, timed_out, canceled };
    template <class Op>
    boost::system::error_code run(Op&& start, std::chrono::milliseconds limit, stop_reason& why);
    template <class F>
    void with_stream(F&& f);
    void abort() noexcept;

    result<void> connect(const http_url& peer);
    result<void> tunnel(const http_url& url, const http_url& proxy);
    result<void> handshake(const http_url& url);
    error io_error(const std::string& what, boost::system::error_code ec, stop_reason why, errc otherwise) const;

    boost::asio::io_context& ioc_;
    tls_client_context* tls_;
    http_timeouts timeouts_;
    const cancel_token& cancel_;
    std::string user_agent_;
    boost::asio::ip::tcp::resolver resolver_;
    boost::asio::ip::tcp::socket socket_;
    std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> ssl_;
    static constexpr std::size_t read_buffer_size = 64 * 1024;  // Beast's largest read
    boost::beast::flat_buffer buffer_;
    std::optional<boost::beast::http::response_parser<boost::beast::http::buffer_body>> parser_;
    http_response_head head_;
    std::string peer_;  // "host:port" of the origin, for error contexts
    bool hostname_mismatch_ = false;
    std::uint64_t body_bytes_ = 0;
};

}  // namespace cdi
