#pragma once
// Limits on a request's header that Beast's parser does not check itself, or reports with one
// error for two statuses (security.md 2.8, case A9): the request line (414), the header section's
// size and field count (431), and malformed framing (400). The status itself comes from
// status_map (map_request_fault).
#include "server/status_map.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace cdi {

struct request_refusal {
    request_fault fault;
    std::string detail;  // names the limit; never request bytes
};

struct request_limits {
    // Request line (method, target, version, without CRLF): ovirt-imageio refuses about 4 KiB, Go
    // and nginx allow 8 KiB; kubectl/virtctl paths are short.
    static constexpr std::size_t max_request_line = 8 * 1024;
    // The whole header section, request line included (Beast's header_limit).
    static constexpr std::uint32_t max_header_bytes = 16 * 1024;
    // Header fields: the proxy and virtctl send about ten.
    static constexpr std::size_t max_fields = 100;
};

// A parsed header over a limit; nullopt when within every limit.
std::optional<request_refusal> header_refusal(const boost::beast::http::request_header<>& h);

// After async_read_header failed: the refusal to answer with when the failure is the request's
// fault (a Beast parse error), nullopt when it is not (end of stream, timeout, TLS error).
// partial is what the parser has of the header so far; unparsed the bytes it left in its buffer.
std::optional<request_refusal> read_refusal(const boost::system::error_code& ec,
                                            const boost::beast::http::request_header<>& partial,
                                            boost::asio::const_buffer unparsed);

// After a body read failed: malformed (400, and the connection closes) when the body's own
// framing is broken (an invalid or overflowing chunk size, a bad chunk extension or trailer);
// nullopt when the body was cut short or the connection failed (client gone, timeout, TLS error:
// the upload's E_TRUNCATED).
std::optional<request_refusal> body_refusal(const boost::system::error_code& ec);

}  // namespace cdi
