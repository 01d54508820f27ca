#include "cloner/upload_client.hpp"

#include "importer/http/http_url.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <cstdio>
#include <optional>

namespace cdi {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t max_response_body = 64 * 1024;

error io_failure(const std::string& what, const boost::system::error_code& ec) {
    return make_error(errc::io, what + ": " + ec.message());
}

bool is_ip_literal(const std::string& host) {
    boost::system::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

void set_int_option(int fd, int level, int name, int value) noexcept {
    ::setsockopt(fd, level, name, &value, sizeof value);  // best effort: a refusal only loses the bound
}

}  // namespace

struct upload_client::impl {
    asio::io_context ioc;
    ssl::context ctx{ssl::context::tls_client};
    std::optional<ssl::stream<tcp::socket>> stream;
    std::string peer;
    bool sent_last = false;
};

upload_client::upload_client() : impl_(std::make_unique<impl>()) {}
upload_client::~upload_client() = default;

result<void> upload_client::open(const std::string& url_text, const upload_credentials& creds,
                                 const std::vector<std::pair<std::string, std::string>>& fields,
                                 std::chrono::seconds dead_peer) {
    auto url = http_url::parse(url_text);
    if (!url) return url.error();
    if (!url->tls()) return make_error(errc::bad_request, "UPLOAD_URL must be https, not " + url->to_string());
    impl& s = *impl_;
    s.peer = url->authority();

    boost::system::error_code ec;
    s.ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    SSL_CTX_set_min_proto_version(s.ctx.native_handle(), TLS1_2_VERSION);
    s.ctx.use_certificate_chain(asio::buffer(creds.client_cert_pem), ec);
    if (ec) return make_error(errc::tls_config, "CLIENT_CERT holds no usable PEM certificate: " + ec.message());
    s.ctx.use_private_key(asio::buffer(creds.client_key_pem), ssl::context::pem, ec);
    if (ec) return make_error(errc::tls_config, "CLIENT_KEY holds no usable PEM key for CLIENT_CERT: " + ec.message());
    s.ctx.add_certificate_authority(asio::buffer(creds.server_ca_pem), ec);
    if (ec) return make_error(errc::tls_config, "SERVER_CA_CERT holds no usable PEM certificate: " + ec.message());
    s.ctx.set_verify_mode(ssl::verify_peer);

    tcp::resolver resolver(s.ioc);
    auto endpoints = resolver.resolve(url->host(), std::to_string(url->port()), ec);
    if (ec) return make_error(errc::source_unreachable, "resolving " + s.peer + ": " + ec.message());
    s.stream.emplace(s.ioc, s.ctx);
    asio::connect(s.stream->next_layer(), endpoints, ec);
    if (ec) return make_error(errc::source_unreachable, "connecting to " + s.peer + ": " + ec.message());
    const int fd = s.stream->next_layer().native_handle();
    set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    set_int_option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(dead_peer.count() * 1000));
    set_int_option(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
    set_int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(std::max<long>(dead_peer.count() / 4, 1)));
    set_int_option(fd, IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(std::max<long>(dead_peer.count() / 8, 1)));
    set_int_option(fd, IPPROTO_TCP, TCP_KEEPCNT, 4);

    s.stream->set_verify_callback(ssl::host_name_verification(url->host()));
    if (!is_ip_literal(url->host())) SSL_set_tlsext_host_name(s.stream->native_handle(), url->host().c_str());
    s.stream->handshake(ssl::stream_base::client, ec);
    if (ec) return make_error(errc::tls_verify, "TLS handshake with " + s.peer + ": " + ec.message());

    std::string head = "POST " + url->target() + " HTTP/1.1\r\nHost: " + url->authority() +
                       "\r\nUser-Agent: cdi-cloner\r\nTransfer-Encoding: chunked\r\n";
    for (const auto& [name, value] : fields) head += name + ": " + value + "\r\n";
    head += "\r\n";
    asio::write(*s.stream, asio::buffer(head), ec);
    if (ec) return io_failure("sending the request to " + s.peer, ec);
    return {};
}

result<void> upload_client::send(std::span<const std::byte> chunk) {
    if (chunk.empty()) return {};  // an empty chunk would end the body
    std::array<char, 20> size_line{};
    const int n = std::snprintf(size_line.data(), size_line.size(), "%zx\r\n", chunk.size());
    const std::array<asio::const_buffer, 3> bufs{asio::buffer(size_line.data(), static_cast<std::size_t>(n)),
                                                 asio::buffer(chunk.data(), chunk.size()), asio::buffer("\r\n", 2)};
    boost::system::error_code ec;
    asio::write(*impl_->stream, bufs, ec);
    if (ec) return io_failure("sending the stream to " + impl_->peer, ec);
    return {};
}

result<upload_response> upload_client::finish() {
    boost::system::error_code ec;
    asio::write(*impl_->stream, asio::buffer("0\r\n\r\n", 5), ec);
    if (ec) return io_failure("ending the stream to " + impl_->peer, ec);
    impl_->sent_last = true;
    return response();
}

result<upload_response> upload_client::response() {
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_response_body);
    boost::system::error_code ec;
    http::read(*impl_->stream, buffer, parser, ec);
    if (ec == http::error::body_limit) {
        return make_error(errc::source_http, "the response of " + impl_->peer + " has a body over 64 KiB");
    }
    if (ec && !parser.is_header_done()) return io_failure("reading the response of " + impl_->peer, ec);
    if (ec && ec != http::error::partial_message && ec != asio::error::eof && ec != ssl::error::stream_truncated) {
        return make_error(errc::source_http, "reading the response of " + impl_->peer + ": " + ec.message());
    }
    upload_response r;
    r.status = parser.get().result_int();
    r.body = parser.get().body();
    return r;
}

}  // namespace cdi
