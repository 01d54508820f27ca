#include "server/request_limits.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <gtest/gtest.h>

#include <string>

namespace cdi {
namespace {

namespace http = boost::beast::http;

http::request_header<> get(const std::string& target) {
    http::request_header<> h;
    h.method(http::verb::get);
    h.target(target);
    h.version(11);
    return h;
}

// "GET " + target + " HTTP/1.1" is 13 bytes longer than the target.
constexpr std::size_t line_overhead = 13;

TEST(request_limits, a_request_line_of_8_kib_passes_and_one_byte_more_is_line_too_long) {
    EXPECT_FALSE(header_refusal(get("/" + std::string(request_limits::max_request_line - line_overhead - 1, 'a'))));
    auto r = header_refusal(get("/" + std::string(request_limits::max_request_line - line_overhead, 'a')));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->fault, request_fault::line_too_long);
}

TEST(request_limits, more_than_100_fields_is_header_too_large) {
    auto h = get("/healthz");
    for (int i = 0; i < 100; ++i) h.insert("X-H" + std::to_string(i), "v");
    EXPECT_FALSE(header_refusal(h));
    h.insert("X-One-More", "v");
    auto r = header_refusal(h);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->fault, request_fault::header_too_large);
}

TEST(request_limits, header_limit_is_split_by_where_the_request_line_ends) {
    const http::request_header<> nothing;
    const std::string long_line = "GET /" + std::string(20000, 'a');
    auto r = read_refusal(http::error::header_limit, nothing, boost::asio::buffer(long_line));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->fault, request_fault::line_too_long);

    const std::string big_fields = "GET / HTTP/1.1\r\nX-Big: " + std::string(20000, 'b');
    r = read_refusal(http::error::header_limit, nothing, boost::asio::buffer(big_fields));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->fault, request_fault::header_too_large);

    r = read_refusal(http::error::header_limit, get("/x"), boost::asio::const_buffer());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->fault, request_fault::header_too_large);
}

TEST(request_limits, framing_errors_are_malformed_and_a_client_gone_is_no_refusal) {
    const http::request_header<> nothing;
    for (http::error e : {http::error::bad_content_length, http::error::bad_transfer_encoding, http::error::bad_method}) {
        auto r = read_refusal(e, nothing, {});
        ASSERT_TRUE(r);
        EXPECT_EQ(r->fault, request_fault::malformed);
    }
    EXPECT_FALSE(read_refusal(http::error::end_of_stream, nothing, {}));
    EXPECT_FALSE(read_refusal(http::error::partial_message, nothing, {}));
    EXPECT_FALSE(read_refusal(boost::beast::error::timeout, nothing, {}));
}

// The error Beast's parser reports for a chunked POST whose body is `chunks`.
boost::system::error_code chunked_body_error(const std::string& chunks) {
    const std::string wire = "POST /v1beta1/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks;
    http::request_parser<http::string_body> p;
    p.eager(true);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (used < wire.size() && !ec && !p.is_done()) {
        const std::size_t n = p.put(boost::asio::buffer(wire.data() + used, wire.size() - used), ec);
        if (ec == http::error::need_more) return {};
        used += n;
    }
    return ec;
}

TEST(request_limits, broken_chunked_framing_is_malformed_and_a_body_cut_short_is_no_refusal) {
    for (const std::string& bad : {std::string("zz\r\nabc\r\n0\r\n\r\n"),                    // not hex
                                   std::string("fffffffffffffffffff\r\nabc\r\n0\r\n\r\n"),   // overflows 64 bits
                                   std::string("-5\r\nabcde\r\n0\r\n\r\n"),                   // negative
                                   std::string("3\r\nabcXX\r\n0\r\n\r\n")}) {                 // no CRLF after the data
        const auto ec = chunked_body_error(bad);
        ASSERT_TRUE(ec) << bad;
        auto r = body_refusal(ec);
        ASSERT_TRUE(r) << bad << ": " << ec.message();
        EXPECT_EQ(r->fault, request_fault::malformed);
        EXPECT_EQ(r->detail, "malformed request body: " + ec.message());
    }
    EXPECT_FALSE(chunked_body_error("3\r\nabc\r\n0\r\n\r\n"));
    EXPECT_FALSE(body_refusal(http::error::partial_message));
    EXPECT_FALSE(body_refusal(http::error::end_of_stream));
    EXPECT_FALSE(body_refusal(boost::beast::error::timeout));
    EXPECT_FALSE(body_refusal(boost::asio::error::connection_reset));
}

}  // namespace
}  // namespace cdi
