// The upload server's request limits and framing (server/request_limits, request_policy): the bytes a
// client sends are parsed as the session parses them (Beast's request parser, header limit 16 KiB),
// then refused by read_refusal / header_refusal or routed by decide(); the body that follows is framed
// (Content-Length or chunked) and a framing error goes through body_refusal. Byte 0 picks the upload
// state and whether the client is authorized.
#include "fuzz/fuzz_support.hpp"
#include "server/request_limits.hpp"
#include "server/request_policy.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    namespace http = boost::beast::http;
    if (size == 0) return 0;
    const std::uint8_t control = data[0];
    std::string_view wire = fuzz::text_of(data + 1, size - 1);

    http::request_parser<http::buffer_body> parser;
    parser.header_limit(request_limits::max_header_bytes);
    parser.body_limit(boost::none);
    boost::system::error_code ec;
    std::size_t used = parser.put(boost::asio::buffer(wire.data(), wire.size()), ec);
    if (ec == http::error::need_more) {
        ec = {};
        // The client closed: the header is incomplete. As Beast's read does, put_eof only after some
        // bytes (its precondition: an assertion otherwise), else the stream's end_of_stream.
        if (parser.got_some()) parser.put_eof(ec);
        else ec = http::error::end_of_stream;
        if (!ec) ec = http::error::partial_message;
    }
    if (!ec && !parser.is_header_done()) ec = http::error::partial_message;
    if (ec) {
        (void)read_refusal(ec, parser.get().base(), boost::asio::buffer(wire.data() + used, wire.size() - used));
        return 0;
    }
    if (header_refusal(parser.get().base())) return 0;
    const auto target = parser.get().base().target();
    const route rt = route_of(std::string_view(target.data(), target.size()));
    const auto state = static_cast<upload_state::state>(control % 4);
    const decision d = decide(parser.get().base(), state, (control & 0x80) != 0);
    if (const auto* plan = std::get_if<upload_plan>(&d)) {
        fuzz::check(rt != route::not_found && rt != route::healthz, "an upload plan for a path that takes no upload");
        if (rt == route::upload_form || rt == route::upload_form_async)
            fuzz::check(!plan->boundary.empty(), "a form upload without a boundary");
    }

    // The body, framed as the session reads it, in pieces of up to 64 KiB.
    std::array<char, 65536> body{};
    for (int idle = 0; !parser.is_done() && idle < 2;) {
        parser.get().body().data = body.data();
        parser.get().body().size = body.size();
        const std::size_t n = parser.put(boost::asio::buffer(wire.data() + used, wire.size() - used), ec);
        used += n;
        if (ec == http::error::need_buffer) ec = {};
        if (ec == http::error::need_more) {
            ec = {};
            parser.put_eof(ec);  // the client closed mid-body
            break;
        }
        if (ec) break;
        idle = n == 0 ? idle + 1 : 0;
    }
    if (ec) (void)body_refusal(ec);
    return 0;
}
