#include "server/request_limits.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
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

}  // namespace
}  // namespace cdi
