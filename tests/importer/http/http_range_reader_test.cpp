// http_range_reader (issue 14): bytes of a body read again by position, for the stream-order
// decoder. Against nginx (the real peer: ranges, ETag, basic auth) and against origins that lie:
// another ETag, a 200 to a Range, a Content-Range naming other bytes, a span cut short.
#include "importer/http/http_range_reader.hpp"

#include "support/http_source_fixtures.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>

namespace cdi {
namespace {

using namespace cdi::test;
using header_list = std::vector<std::pair<std::string, std::string>>;

// Parts of sizes[i] bytes at offsets[i], with their buffers.
struct part_set {
    std::vector<bytes> buffers;
    std::vector<range_part> parts;
    part_set(const std::vector<std::pair<std::uint64_t, std::size_t>>& spans) {
        buffers.reserve(spans.size());
        for (const auto& [off, len] : spans) {
            buffers.emplace_back(len);
            parts.push_back({off, buffers.back()});
        }
    }
};

std::vector<range_part> parts_at(const std::vector<std::pair<std::uint64_t, std::size_t>>& spans) {
    std::vector<range_part> parts;
    for (const auto& [off, len] : spans) parts.push_back({off, std::span<std::byte>(static_cast<std::byte*>(nullptr), len)});
    return parts;
}

TEST(http_range_reader_plan, coalesces_neighbours_within_the_gap_and_splits_at_the_span_limit) {
    // Out of order on purpose: the plan is in offset order.
    auto plan = plan_range_fetches(parts_at({{10000, 100}, {0, 100}, {150, 50}, {300, 10}}), 64, 1 << 20);
    ASSERT_EQ(plan.size(), 3u);
    EXPECT_EQ(plan[0].first, 0u);
    EXPECT_EQ(plan[0].last, 199u);  // 100..149 fetched rather than asked for apart (gap 50 <= 64)
    EXPECT_EQ(plan[0].parts, (std::vector<std::size_t>{1, 2}));
    EXPECT_EQ(plan[1].first, 300u);  // gap 100 > 64
    EXPECT_EQ(plan[2].first, 10000u);
    EXPECT_EQ(plan[2].last, 10099u);

    plan = plan_range_fetches(parts_at({{0, 600}, {600, 600}, {1200, 600}}), 1 << 20, 1000);
    ASSERT_EQ(plan.size(), 3u) << "each merge would pass 1000 bytes";
}

TEST(http_range_reader_plan, fetches_overlapping_parts_once_and_skips_empty_ones) {
    // Two compressed clusters sharing a sector: one request serves both.
    auto plan = plan_range_fetches(parts_at({{1000, 600}, {1500, 300}, {1100, 0}}), 0, 1 << 20);
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].first, 1000u);
    EXPECT_EQ(plan[0].last, 1799u);
    EXPECT_EQ(plan[0].parts, (std::vector<std::size_t>{0, 1}));
}

// The body's source, opened as the importer opens it, and a reader made from it.
struct opened {
    cancel_token cancel;
    std::unique_ptr<http_source> body;
    std::unique_ptr<http_range_reader> reader;
    opened(const std::string& url, http_options o, http_range_reader_options ro = {}) {
        auto src = http_source::open(url, std::move(o), cancel);
        EXPECT_TRUE(src) << src.error().message();
        if (!src) return;
        body = std::move(*src);
        if (auto spec = body->reread_spec()) reader = std::make_unique<http_range_reader>(std::move(*spec), cancel, ro);
    }
};

TEST(http_range_reader, reads_parts_of_an_nginx_body_again_on_several_connections_with_its_credentials) {
    web_root root;
    nginx_options no;
    no.root = root.www();
    no.basic_auth = std::make_pair(std::string("user"), std::string("pass"));
    auto nginx = nginx_server::start(no);
    auto o = fast_options();
    o.credentials = basic_credentials{"user", "pass"};
    http_range_reader_options ro;
    ro.max_gap = 0;
    ro.max_span = 256 << 10;
    opened src(nginx->url("/disk.img"), o, ro);
    ASSERT_TRUE(src.reader) << "nginx takes ranges and sends an ETag";
    std::mt19937 gen(3);
    std::vector<std::pair<std::uint64_t, std::size_t>> spans;
    for (int i = 0; i < 40; ++i) {
        const std::size_t len = 1 + gen() % (200 << 10);
        spans.emplace_back(gen() % (root.data.size() - len), len);
    }
    spans.emplace_back(root.data.size() - 5, 5);  // the last bytes
    part_set set(spans);
    ASSERT_TRUE(src.reader->read(set.parts));
    for (std::size_t i = 0; i < spans.size(); ++i) {
        ASSERT_EQ(set.buffers[i], bytes(root.data.begin() + spans[i].first, root.data.begin() + spans[i].first + spans[i].second))
            << "part " << i << " at " << spans[i].first;
    }
    const auto plan = plan_range_fetches(set.parts, ro.max_gap, ro.max_span);
    EXPECT_EQ(src.reader->requests(), plan.size());
    const auto ranged_in = [](const std::vector<access_entry>& log) {
        return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [](const auto& e) { return !e.range.empty(); }));
    };
    std::size_t ranged = 0;
    for (const auto& e : nginx->requests_for("/disk.img", [&](const auto& log) { return ranged_in(log) >= plan.size(); })) {
        if (e.range.empty()) continue;
        ++ranged;
        EXPECT_EQ(e.status, 206) << e.range;
        EXPECT_EQ(e.authorization, "Basic dXNlcjpwYXNz") << "the credentials go with every range request to the origin";
    }
    EXPECT_EQ(ranged, plan.size());
}

TEST(http_range_reader, is_offered_only_when_the_origin_takes_ranges_and_names_a_validator) {
    auto data = random_bytes(64 << 10, 4);
    fault_http_server no_ranges([&](const fault_request& req, fault_reply& out) { serve_range(data, false, req, out); });
    auto o = fast_options();
    o.probe_with_head = false;
    EXPECT_FALSE(opened(no_ranges.url("/d"), o).reader);
    fault_http_server no_validator([&](const fault_request&, fault_reply& out) {
        out.send(fault_http_server::head(200, {{"Accept-Ranges", "bytes"}, {"Content-Length", std::to_string(data.size())}}));
        out.send(as_text(data));
    });
    EXPECT_FALSE(opened(no_validator.url("/d"), o).reader) << "without a validator another version could answer";
    fault_http_server fine([&](const fault_request& req, fault_reply& out) { serve_range(data, true, req, out); });
    EXPECT_TRUE(opened(fine.url("/d"), o).reader);
}

// An origin that serves the body with ETag "v1" and answers "Range: bytes=a-b" as `answer` says.
using range_answer = std::function<void(const bytes& data, std::uint64_t a, std::uint64_t b, fault_reply& out, int nth)>;

void serve_parts(const bytes& data, const range_answer& answer, const fault_request& req, fault_reply& out, int nth) {
    const auto range = req.header("Range");
    if (range.empty()) return serve_range(data, true, req, out);
    const auto dash = range.find('-');
    const std::uint64_t a = std::stoull(range.substr(6, dash - 6)), b = std::stoull(range.substr(dash + 1));
    answer(data, a, b, out, nth);
}

std::string content_range(std::uint64_t a, std::uint64_t b, std::size_t total) {
    return "bytes " + std::to_string(a) + "-" + std::to_string(b) + "/" + std::to_string(total);
}

error read_with(const range_answer& answer, std::uint64_t off = 1000, std::size_t len = 5000) {
    auto data = random_bytes(64 << 10, 5);
    std::atomic<int> ranged{0};
    fault_http_server server([&](const fault_request& req, fault_reply& out) {
        serve_parts(data, answer, req, out, req.header("Range").empty() ? 0 : ++ranged);
    });
    auto o = fast_options();
    o.probe_with_head = false;
    opened src(server.url("/d"), o);
    EXPECT_TRUE(src.reader);
    if (!src.reader) return make_error(errc::io, "no reader");
    part_set set({{off, len}});
    auto r = src.reader->read(set.parts);
    if (r) {
        EXPECT_EQ(set.buffers[0], bytes(data.begin() + off, data.begin() + off + len));
        return make_error(errc::ok, "");
    }
    return r.error();
}

TEST(http_range_reader, refuses_bytes_of_another_representation_as_truncated) {
    const auto e = read_with([](const bytes& data, std::uint64_t a, std::uint64_t b, fault_reply& out, int) {
        out.send(fault_http_server::head(206, {{"ETag", "\"v2\""}, {"Content-Range", content_range(a, b, data.size())},
                                               {"Content-Length", std::to_string(b - a + 1)}}));
        out.send(as_text(data, a, b - a + 1));
    });
    EXPECT_TRUE(e.is(errc::truncated)) << e.message();
    EXPECT_NE(e.context.find("ETag changed"), std::string::npos) << e.message();
}

TEST(http_range_reader, refuses_a_200_to_a_range_request_as_truncated) {
    const auto e = read_with([](const bytes& data, std::uint64_t, std::uint64_t, fault_reply& out, int) {
        out.send(fault_http_server::head(200, {{"ETag", "\"v1\""}, {"Content-Length", std::to_string(data.size())}}));
        out.send(as_text(data));
    });
    EXPECT_TRUE(e.is(errc::truncated)) << e.message();
    EXPECT_NE(e.context.find("answered 200 instead of 206"), std::string::npos) << e.message();
}

TEST(http_range_reader, refuses_a_content_range_naming_other_bytes_as_truncated) {
    const auto e = read_with([](const bytes& data, std::uint64_t a, std::uint64_t b, fault_reply& out, int) {
        out.send(fault_http_server::head(206, {{"ETag", "\"v1\""}, {"Content-Range", content_range(a + 1, b + 1, data.size())},
                                               {"Content-Length", std::to_string(b - a + 1)}}));
        out.send(as_text(data, a + 1, b - a + 1));
    });
    EXPECT_TRUE(e.is(errc::truncated)) << e.message();
    EXPECT_NE(e.context.find("answered with Content-Range"), std::string::npos) << e.message();
}

TEST(http_range_reader, resumes_a_range_cut_short_within_it) {
    // The first answer stops halfway; the second asks for the rest of the span only.
    const auto e = read_with([](const bytes& data, std::uint64_t a, std::uint64_t b, fault_reply& out, int nth) {
        out.send(fault_http_server::head(206, {{"ETag", "\"v1\""}, {"Content-Range", content_range(a, b, data.size())},
                                               {"Content-Length", std::to_string(b - a + 1)}}));
        out.send(as_text(data, a, nth == 1 ? (b - a + 1) / 2 : b - a + 1));
    });
    EXPECT_TRUE(e.is(errc::ok)) << e.message();
}

}  // namespace
}  // namespace cdi
