#include "server/request_limits.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <iterator>
#include <string_view>

namespace cdi {
namespace {

namespace http = boost::beast::http;

// "<method> <target> HTTP/1.x" without its CRLF.
std::size_t request_line_length(const http::request_header<>& h) {
    return h.method_string().size() + 1 + h.target().size() + 1 + 8;
}

request_refusal line_too_long() {
    return {request_fault::line_too_long,
            "the request line is longer than " + std::to_string(request_limits::max_request_line) + " bytes"};
}

request_refusal header_too_large() {
    return {request_fault::header_too_large,
            "the request header section is larger than " + std::to_string(request_limits::max_header_bytes) + " bytes"};
}

}  // namespace

std::optional<request_refusal> header_refusal(const http::request_header<>& h) {
    if (request_line_length(h) > request_limits::max_request_line) return line_too_long();
    const auto fields = static_cast<std::size_t>(std::distance(h.begin(), h.end()));
    if (fields > request_limits::max_fields)
        return request_refusal{request_fault::header_too_large,
                               "the request has more than " + std::to_string(request_limits::max_fields) + " header fields"};
    return std::nullopt;
}

std::optional<request_refusal> read_refusal(const boost::system::error_code& ec, const http::request_header<>& partial,
                                            boost::asio::const_buffer unparsed) {
    if (ec.category() != http::make_error_code(http::error::bad_target).category()) return std::nullopt;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
    if (ec == http::error::header_limit) {
        if (!partial.target().empty())  // the request line was parsed: the fields are too large
            return request_line_length(partial) > request_limits::max_request_line ? line_too_long() : header_too_large();
        // Still in the request line: it is over the limit unless it ends within it.
        const std::string_view head(static_cast<const char*>(unparsed.data()), unparsed.size());
        const auto eol = head.find("\r\n");
        if (eol == std::string_view::npos || eol > request_limits::max_request_line) return line_too_long();
        return header_too_large();
    }
    return request_refusal{request_fault::malformed, "malformed request: " + ec.message()};
}

std::optional<request_refusal> body_refusal(const boost::system::error_code& ec) {
    if (ec.category() != http::make_error_code(http::error::bad_chunk).category()) return std::nullopt;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == http::error::need_buffer)
        return std::nullopt;
    return request_refusal{request_fault::malformed, "malformed request body: " + ec.message()};
}

}  // namespace cdi
