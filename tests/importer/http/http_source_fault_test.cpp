// http_source against a scriptable server: chunked bodies, 5xx retries, Range resume, stalls,
// a forbidden HEAD, proxies (CONNECT and absolute-form), no_proxy and cancel.
#include "support/http_source_fixtures.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace cdi {
namespace {

using namespace cdi::test;
using namespace std::chrono_literals;

TEST(http_source, chunked_body_is_byte_exact) {
    auto data = random_bytes(2 * 1024 * 1024 + 3, 3);
    fault_http_server server([&](const fault_request& req, fault_reply& out) {
        out.send(fault_http_server::head(200, {{"Transfer-Encoding", "chunked"}}));
        if (req.method == "HEAD") return;
        for (std::size_t pos = 0; pos < data.size(); pos += 100000) {
            auto n = std::min<std::size_t>(100000, data.size() - pos);
            char len[32];
            std::snprintf(len, sizeof len, "%zx\r\n", n);
            out.send(len);
            out.send(std::string_view(reinterpret_cast<const char*>(data.data() + pos), n));
            out.send("\r\n");
        }
        out.send("0\r\n\r\n");
    });
    cancel_token cancel;
    auto src = http_source::open(server.url("/disk.img"), fast_options(), cancel);
    ASSERT_TRUE(src) << src.error().message();
    EXPECT_FALSE((*src)->size_hint());
    EXPECT_FALSE((*src)->accepts_ranges());
    auto got = drain(**src);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, data);
}

TEST(http_source, retries_503_three_times_then_succeeds) {
    auto data = random_bytes(1024 * 1024, 5);
    std::atomic<int> gets{0};
    fault_http_server server([&](const fault_request& req, fault_reply& out) {
        if (req.method == "GET" && ++gets <= 3) return out.send(fault_http_server::head(503, {{"Content-Length", "0"}}));
        serve_range(data, true, req, out);
    });
    auto got = download(server.url("/disk.img"), fast_options());
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, data);
    EXPECT_EQ(gets.load(), 4);
}

TEST(http_source, persistent_503_fails_after_max_retries_with_cdi_text) {
    std::atomic<int> gets{0};
    fault_http_server server([&](const fault_request& req, fault_reply& out) {
        if (req.method == "GET") ++gets;
        out.send(fault_http_server::head(503, {{"Content-Length", "0"}}));
    });
    auto opts = fast_options();
    opts.max_retries = 2;
    auto got = download(server.url("/disk.img"), opts);
    ASSERT_FALSE(got);
    EXPECT_TRUE(got.error().is(errc::source_http));
    EXPECT_EQ(got.error().context, "expected status code 200, got 503. Status: 503 Service Unavailable");
    EXPECT_EQ(gets.load(), 3);
}

TEST(http_source, body_cut_short_resumes_with_range_byte_exact) {
    auto data = random_bytes(3 * 1024 * 1024, 9);
    const std::size_t cut = 1024 * 1024 + 17;
    std::atomic<int> gets{0};
    fault_http_server server([&](const fault_request& req, fault_reply& out) {
        const bool first = req.method == "GET" && ++gets == 1;
        serve_range(data, true, req, out, first ? cut : SIZE_MAX);
    });
    auto got = download(server.url("/disk.img"), fast_options());
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, data);
    auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 3u);
    EXPECT_EQ(reqs[2].header("Range"), "bytes=" + std::to_string(cut) + "-");
    EXPECT_EQ(reqs[2].header("If-Range"), "\"v1\"");
}

TEST(http_source, nginx_range_resume_after_a_dropped_connection) {
    // The same resume against nginx: a first connection dies mid-body through a cutting proxy.
    web_root root;
    auto web = nginx_server::start({.root = root.www()});
    // The cutter announces nginx's own ETag, the validator the resume's If-Range must carry.
    auto etag = run_command("curl -sfI " + web->url("/disk.img") + " | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' | tr -d '\\r\\n'").output;
    ASSERT_FALSE(etag.empty());
    std::atomic<int> gets{0};
    fault_http_server cutter([&](const fault_request& req, fault_reply& out) {
        if (req.method == "GET" && ++gets == 1) {
            out.send(fault_http_server::head(200, {{"Content-Length", std::to_string(root.data.size())}, {"Accept-Ranges", "bytes"}, {"ETag", etag}}));
            out.send(as_text(root.data, 0, 100000));
            return;
        }
        out.send(fault_http_server::head(302, {{"Location", web->url("/disk.img")}, {"Content-Length", "0"}}));
    });
    auto got = download(cutter.url("/disk.img"), fast_options());
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, root.data);
    auto hits = web->requests_for("/disk.img");
    ASSERT_FALSE(hits.empty());
    EXPECT_EQ(hits.back().range, "bytes=100000-");
    EXPECT_EQ(hits.back().status, 206);
    EXPECT_EQ(cutter.requests().back().header("If-Range"), etag);
}

TEST(http_source, body_cut_short_without_accept_ranges_is_truncated) {
    auto data = random_bytes(512 * 1024, 4);
    fault_http_server server([&](const fault_request& req, fault_reply& out) { serve_range(data, false, req, out, 300000); });
    auto got = download(server.url("/disk.img"), fast_options());
    ASSERT_FALSE(got);
    EXPECT_TRUE(got.error().is(errc::truncated)) << got.error().message();
    EXPECT_NE(got.error().context.find("at byte 300000 of 524288"), std::string::npos) << got.error().context;
}

TEST(http_source, no_accept_ranges_still_downloads_byte_exact) {
    auto data = random_bytes(512 * 1024, 4);
    fault_http_server server([&](const fault_request& req, fault_reply& out) { serve_range(data, false, req, out); });
    cancel_token cancel;
    auto src = http_source::open(server.url("/disk.img"), fast_options(), cancel);
    ASSERT_TRUE(src) << src.error().message();
    EXPECT_FALSE((*src)->accepts_ranges());
    auto got = drain(**src);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, data);
}

TEST(http_source, stalled_body_times_out_at_the_idle_timeout) {
    fault_http_server server([&](const fault_request& req, fault_reply& out) {
        out.send(fault_http_server::head(200, {{"Content-Length", "1000000"}}));
        if (req.method == "HEAD") return;
        out.send(std::string(1000, 'x'));
        out.stall();
    });
    auto opts = fast_options();
    opts.idle_timeout = 500ms;
    opts.max_retries = 0;
    const auto start = std::chrono::steady_clock::now();
    auto got = download(server.url("/disk.img"), opts);
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(got);
    EXPECT_TRUE(got.error().is(errc::timeout)) << got.error().message();
    EXPECT_GE(took, 450ms);
    EXPECT_LT(took, 1500ms);
}

TEST(http_source, forbidden_head_still_works) {
    auto data = random_bytes(256 * 1024, 8);
    fault_http_server server([&](const fault_request& req, fault_reply& out) {
        if (req.method == "HEAD") return out.send(fault_http_server::head(403, {{"Content-Length", "0"}}));
        serve_range(data, true, req, out);
    });
    cancel_token cancel;
    auto src = http_source::open(server.url("/disk.img"), fast_options(), cancel);
    ASSERT_TRUE(src) << src.error().message();
    EXPECT_EQ((*src)->size_hint(), data.size());
    auto got = drain(**src);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, data);
}

TEST(http_source, connection_refused_is_source_unreachable_naming_host_port) {
    unsigned short port = 0;
    {
        fault_http_server gone([](const fault_request&, fault_reply&) {});
        port = gone.port();
    }
    auto opts = fast_options();
    opts.max_retries = 1;
    auto got = download("http://127.0.0.1:" + std::to_string(port) + "/x", opts);
    ASSERT_FALSE(got);
    EXPECT_TRUE(got.error().is(errc::source_unreachable)) << got.error().message();
    EXPECT_NE(got.error().context.find("127.0.0.1:" + std::to_string(port)), std::string::npos);
}

TEST(http_source, bad_url_is_bad_request) {
    cancel_token cancel;
    for (const char* url : {"ftp://host/x", "not a url", "http:///nohost", "http://h:99999/x"}) {
        auto src = http_source::open(url, fast_options(), cancel);
        ASSERT_FALSE(src) << url;
        EXPECT_TRUE(src.error().is(errc::bad_request)) << url << ": " << src.error().message();
    }
}

TEST(http_source, https_through_connect_proxy) {
    web_root root;
    pki p(root.tmp / "pki");
    auto web = nginx_server::start(tls_site(root, p));
    fault_http_server proxy(fault_http_server::forward_proxy());
    auto opts = fast_options();
    opts.ca_dirs = {ca_dir_with(root.tmp, p, "ca.crt")};
    opts.proxy.https_proxy = "http://puser:ppass@127.0.0.1:" + std::to_string(proxy.port());
    opts.proxy.http_proxy = "http://127.0.0.1:1";  // not used for https origins
    opts.credentials = basic_credentials{"alice", "s3cret"};
    auto got = download(web->url("/disk.img"), opts);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, root.data);
    auto reqs = proxy.requests();
    ASSERT_EQ(reqs.size(), 2u);  // HEAD and GET, each through its own tunnel
    EXPECT_EQ(reqs[0].method, "CONNECT");
    EXPECT_EQ(reqs[0].target, "127.0.0.1:" + std::to_string(web->port()));
    EXPECT_EQ(reqs[0].header("Proxy-Authorization"), "Basic cHVzZXI6cHBhc3M=");
    EXPECT_EQ(reqs[0].header("Authorization"), "");  // origin credentials stay inside the tunnel
    EXPECT_EQ(web->requests_for("/disk.img").back().authorization, "Basic YWxpY2U6czNjcmV0");
}

// A forged origin response a hostile proxy appends to its CONNECT answer (issue 12 item 1).
std::string forged_response() {
    return fault_http_server::head(200, {{"Content-Length", "6"}}) + "forged";
}

TEST(http_source, bytes_after_the_connect_answer_are_refused_as_a_proxy_error_not_read_as_the_origin) {
    web_root root;
    pki p(root.tmp / "pki");
    auto web = nginx_server::start(tls_site(root, p));
    fault_http_server proxy(fault_http_server::forward_proxy(forged_response()));
    auto opts = fast_options();
    opts.ca_dirs = {ca_dir_with(root.tmp, p, "ca.crt")};
    opts.proxy.https_proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
    auto got = download(web->url("/disk.img"), opts);
    ASSERT_FALSE(got) << "imported " << got->size() << " bytes the proxy forged";
    EXPECT_TRUE(got.error().is(errc::proxy)) << got.error().message();
    EXPECT_NE(got.error().context.find("after its answer to CONNECT"), std::string::npos) << got.error().context;
    // Final: the HEAD's failure stops the import; no GET, no retry.
    ASSERT_EQ(proxy.requests().size(), 1u);
    EXPECT_EQ(proxy.requests()[0].method, "CONNECT");
}

TEST(http_source, a_malformed_connect_answer_is_a_proxy_error_and_not_retried) {
    fault_http_server proxy([](const fault_request&, fault_reply& out) { out.send("HTTP/9 what\r\n\r\n"); });
    auto opts = fast_options();
    opts.proxy.https_proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
    auto got = download("https://127.0.0.1:1/disk.img", opts);
    ASSERT_FALSE(got);
    EXPECT_TRUE(got.error().is(errc::proxy)) << got.error().message();
    EXPECT_EQ(proxy.requests().size(), 1u);
}

TEST(http_source, http_through_proxy_uses_absolute_form) {
    web_root root;
    auto web = nginx_server::start({.root = root.www()});
    fault_http_server proxy(fault_http_server::forward_proxy());
    auto opts = fast_options();
    opts.proxy.http_proxy = "127.0.0.1:" + std::to_string(proxy.port());  // no scheme: http://, as Go
    auto got = download(web->url("/disk.img"), opts);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, root.data);
    auto reqs = proxy.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[1].method, "GET");
    EXPECT_EQ(reqs[1].target, web->url("/disk.img"));
}

TEST(http_source, a_redirect_to_a_host_with_encoded_crlf_never_reaches_the_proxy_or_a_host_header) {
    fault_http_server origin([](const fault_request&, fault_reply& out) {
        out.send(fault_http_server::head(302, {{"Location", "http://evil%0D%0AX-Injected%3A%201.example/x"}, {"Content-Length", "0"}}));
    });
    auto relay = fault_http_server::forward_proxy();
    fault_http_server proxy([&](const fault_request& req, fault_reply& out) {
        if (req.target.find("evil") != std::string::npos) return out.send(fault_http_server::head(400));
        relay(req, out);
    });
    for (const bool proxied : {true, false}) {
        auto opts = fast_options();
        if (proxied) opts.proxy.http_proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
        auto got = download(origin.url("/disk.img"), opts);
        ASSERT_FALSE(got);
        // The redirect is refused as the origin's fault: not retried as if the host were unreachable.
        EXPECT_TRUE(got.error().is(errc::source_http)) << got.error().message();
        EXPECT_EQ(got.error().context.find('\n'), std::string::npos);
    }
    for (const auto& r : proxy.requests()) {
        EXPECT_EQ(r.target.find("evil"), std::string::npos) << r.target;
        EXPECT_EQ(r.header("X-Injected"), "");
    }
}

TEST(http_source, no_proxy_bypasses_the_proxy) {
    web_root root;
    auto web = nginx_server::start({.root = root.www()});
    fault_http_server proxy(fault_http_server::forward_proxy());
    const std::vector<std::string> rules = {"*", "127.0.0.1", "127.0.0.0/8", "example.com, 127.0.0.1:" + std::to_string(web->port())};
    for (const auto& rule : rules) {
        auto opts = fast_options();
        opts.proxy.http_proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
        opts.proxy.no_proxy = rule;
        auto got = download(web->url("/disk.img"), opts);
        ASSERT_TRUE(got) << rule << ": " << got.error().message();
        EXPECT_EQ(*got, root.data);
    }
    EXPECT_TRUE(proxy.requests().empty());
}

// Answers a GET with 1,000 of its 1,000,000 bytes, then stalls.
void stall_after_1000_bytes(const fault_request& req, fault_reply& out) {
    out.send(fault_http_server::head(200, {{"Content-Length", "1000000"}}));
    if (req.method == "HEAD") return;
    out.send(std::string(1000, 'x'));
    out.stall();
}

TEST(http_source, cancel_stops_a_stalled_read_within_a_second) {
    fault_http_server server(stall_after_1000_bytes);
    auto opts = fast_options();
    opts.idle_timeout = 30s;
    cancel_token cancel;
    auto src = http_source::open(server.url("/disk.img"), opts, cancel);
    ASSERT_TRUE(src) << src.error().message();
    std::thread canceller([&] {
        std::this_thread::sleep_for(300ms);
        cancel.cancel();
    });
    const auto start = std::chrono::steady_clock::now();
    auto got = drain(**src);
    const auto took = std::chrono::steady_clock::now() - start;
    canceller.join();
    ASSERT_FALSE(got);
    EXPECT_TRUE(got.error().is(errc::canceled)) << got.error().message();
    EXPECT_LT(took, 1500ms);
}

TEST(http_source, interrupt_from_another_thread_stops_a_stalled_read_and_leaves_the_jobs_token_alone) {
    fault_http_server server(stall_after_1000_bytes);
    auto opts = fast_options();
    opts.idle_timeout = 30s;
    cancel_token job;
    auto src = http_source::open(server.url("/disk.img"), opts, job);
    ASSERT_TRUE(src) << src.error().message();
    std::thread interrupter([&] {
        std::this_thread::sleep_for(300ms);
        (*src)->interrupt();
    });
    const auto start = std::chrono::steady_clock::now();
    auto got = drain(**src);
    const auto took = std::chrono::steady_clock::now() - start;
    interrupter.join();
    ASSERT_FALSE(got);
    EXPECT_TRUE(got.error().is(errc::canceled)) << got.error().message();
    EXPECT_LT(took, 1500ms);
    EXPECT_FALSE(job.canceled()) << "interrupting one source must not cancel the job";
}

TEST(http_source, resume_answered_with_200_skips_a_small_prefix_and_refuses_a_large_one) {
    auto data = random_bytes(3 * 1024 * 1024, 11);
    for (const std::size_t cut : {std::size_t{200000}, std::size_t{2 * 1024 * 1024}}) {
        std::atomic<int> gets{0};
        fault_http_server server([&](const fault_request& req, fault_reply& out) {
            // Advertises ranges but ignores Range: the whole body again, with 200.
            out.send(fault_http_server::head(200, {{"Accept-Ranges", "bytes"}, {"ETag", "\"v1\""}, {"Content-Length", std::to_string(data.size())}}));
            if (req.method == "HEAD") return;
            out.send(as_text(data, 0, req.method == "GET" && ++gets == 1 ? cut : data.size()));
        });
        auto got = download(server.url("/disk.img"), fast_options());
        if (cut < 1024 * 1024) {
            ASSERT_TRUE(got) << got.error().message();
            EXPECT_EQ(*got, data);
            EXPECT_EQ(server.requests().back().header("Range"), "bytes=" + std::to_string(cut) + "-");
        } else {
            ASSERT_FALSE(got);
            EXPECT_TRUE(got.error().is(errc::truncated)) << got.error().message();
            EXPECT_NE(got.error().context.find("at byte " + std::to_string(cut)), std::string::npos) << got.error().context;
        }
    }
}

TEST(http_source, unresolvable_host_is_source_unreachable) {
    auto opts = fast_options();
    opts.max_retries = 0;
    opts.probe_with_head = false;
    auto got = download("http://cdi-no-such-host.invalid:8080/x", opts);
    ASSERT_FALSE(got);
    EXPECT_TRUE(got.error().is(errc::source_unreachable)) << got.error().message();
    EXPECT_NE(got.error().context.find("cdi-no-such-host.invalid:8080"), std::string::npos) << got.error().context;
}

}  // namespace
}  // namespace cdi
