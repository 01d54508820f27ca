// http_source's resume after a dropped connection against a scriptable server (issue 12 item 9):
// no validator restarts from byte 0 and verifies the re-sent prefix; a 206 for another length or
// ETag, or a body longer than declared, is an error rather than a spliced image.
#include "support/http_source_fixtures.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace cdi {
namespace {

using namespace cdi::test;
using header_list = std::vector<std::pair<std::string, std::string>>;

constexpr std::size_t size = 2 * 1024 * 1024;
constexpr std::size_t cut = 1024 * 1024 + 17;  // past max_skip_on_resume: a restart from 0 is deliberate

// The first GET: the whole body announced with `validators`, cut after `cut` bytes.
void first_get_cut_short(const bytes& data, const header_list& validators, fault_reply& out) {
    header_list h = validators;
    h.emplace_back("Accept-Ranges", "bytes");
    h.emplace_back("Content-Length", std::to_string(data.size()));
    out.send(fault_http_server::head(200, h));
    out.send(as_text(data, 0, cut));
}

std::size_t range_start(const fault_request& req) {
    auto r = req.header("Range");
    return r.rfind("bytes=", 0) == 0 ? std::stoul(r.substr(6)) : 0;
}

// Later GETs: the body with the same validators, a 206 from a "Range: bytes=N-" when asked.
void serve_again(const bytes& data, const header_list& validators, const fault_request& req, fault_reply& out) {
    header_list h = validators;
    const auto from = range_start(req);
    if (!req.header("Range").empty())
        h.emplace_back("Content-Range", "bytes " + std::to_string(from) + "-" + std::to_string(data.size() - 1) + "/" + std::to_string(data.size()));
    h.emplace_back("Content-Length", std::to_string(data.size() - from));
    out.send(fault_http_server::head(req.header("Range").empty() ? 200 : 206, h));
    out.send(as_text(data, from));
}

http_options no_head() {
    auto o = fast_options();
    o.probe_with_head = false;
    return o;
}

TEST(http_source_resume, without_a_validator_the_body_is_asked_again_from_byte_0_and_completes) {
    auto data = random_bytes(size, 21);
    std::atomic<int> gets{0};
    fault_http_server server([&](const fault_request& req, fault_reply& out) {
        if (++gets == 1) return first_get_cut_short(data, {}, out);
        serve_again(data, {}, req, out);  // would honour a Range
    });
    auto got = download(server.url("/disk.img"), no_head());
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, data);
    auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[1].header("Range"), "");
    EXPECT_EQ(reqs[1].header("If-Range"), "");
}

TEST(http_source_resume, without_a_validator_a_file_that_changed_is_refused_not_spliced) {
    auto data = random_bytes(size, 21);
    auto changed = random_bytes(size, 22);
    std::atomic<int> gets{0};
    fault_http_server server([&](const fault_request& req, fault_reply& out) {
        if (++gets == 1) return first_get_cut_short(data, {}, out);
        serve_again(changed, {}, req, out);
    });
    auto got = download(server.url("/disk.img"), no_head());
    ASSERT_FALSE(got) << "a spliced body was delivered";
    EXPECT_TRUE(got.error().is(errc::truncated)) << got.error().message();
    EXPECT_NE(got.error().context.find("differ from those delivered"), std::string::npos) << got.error().context;
    EXPECT_EQ(server.requests().size(), 2u);  // final: not retried
}

TEST(http_source_resume, a_weak_etag_is_no_validator_but_last_modified_is) {
    auto data = random_bytes(size, 23);
    for (const bool with_date : {false, true}) {
        header_list validators = {{"ETag", "W/\"weak\""}};
        if (with_date) validators.emplace_back("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT");
        std::atomic<int> gets{0};
        fault_http_server server([&](const fault_request& req, fault_reply& out) {
            if (++gets == 1) return first_get_cut_short(data, validators, out);
            serve_again(data, validators, req, out);
        });
        auto got = download(server.url("/disk.img"), no_head());
        ASSERT_TRUE(got) << got.error().message();
        EXPECT_EQ(*got, data);
        auto resume = server.requests().at(1);
        EXPECT_EQ(resume.header("Range"), with_date ? "bytes=" + std::to_string(cut) + "-" : "");
        EXPECT_EQ(resume.header("If-Range"), with_date ? "Tue, 01 Dec 2026 10:00:00 GMT" : "");
    }
}

// A 206 that answers the right start but is not the rest of the same body.
void expect_206_refused(const std::function<header_list(std::size_t from)>& resume_headers, const std::string& why) {
    auto data = random_bytes(size, 24);
    std::atomic<int> gets{0};
    fault_http_server server([&](const fault_request& req, fault_reply& out) {
        if (++gets == 1) return first_get_cut_short(data, {{"ETag", "\"v1\""}}, out);
        const auto from = range_start(req);
        out.send(fault_http_server::head(206, resume_headers(from)));
        out.send(as_text(data, from));
        out.send(std::string(4096, 'X'));  // what a longer body would add
    });
    auto got = download(server.url("/disk.img"), no_head());
    ASSERT_FALSE(got) << why << ": accepted " << got->size() << " bytes of " << size;
    EXPECT_TRUE(got.error().is(errc::truncated) || got.error().is(errc::source_http)) << why << ": " << got.error().message();
    EXPECT_EQ(server.requests().size(), 2u) << why;  // final
}

TEST(http_source_resume, a_206_naming_another_total_length_is_refused) {
    expect_206_refused([](std::size_t from) {
        const auto total = size + 4096;
        return header_list{{"ETag", "\"v1\""}, {"Content-Range", "bytes " + std::to_string(from) + "-" + std::to_string(total - 1) + "/" + std::to_string(total)},
                           {"Content-Length", std::to_string(total - from)}};
    }, "total");
}

TEST(http_source_resume, a_206_with_another_etag_is_refused) {
    expect_206_refused([](std::size_t from) {
        return header_list{{"ETag", "\"v2\""}, {"Content-Range", "bytes " + std::to_string(from) + "-" + std::to_string(size - 1) + "/" + std::to_string(size)},
                           {"Content-Length", std::to_string(size - from)}};
    }, "etag");
}

TEST(http_source_resume, a_chunked_206_longer_than_declared_is_refused) {
    expect_206_refused([](std::size_t) {
        return header_list{{"ETag", "\"v1\""}, {"Content-Range", "bytes " + std::to_string(cut) + "-" + std::to_string(size - 1) + "/" + std::to_string(size)}};
    }, "longer (no Content-Length: the body runs to the connection's close)");
}

}  // namespace
}  // namespace cdi
