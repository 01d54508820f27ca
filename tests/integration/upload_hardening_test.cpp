// The upload server against hostile or broken clients (security.md 5.2-5.3: A3, A5, A9, A11, A13,
// B1, B2): TLS versions and suites, header limits and request smuggling framing, response headers,
// slowloris, and clients that disconnect mid-body. Raw requests go through tls_client (curl will
// not send them); real uploads through curl over mTLS.
#include "support/raw_requests.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::must_run;
using test::q;
using test::tls_client;
using test::tls_client_options;

// The server is built with the same flags as this test.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized_build = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool sanitized_build = true;
#else
constexpr bool sanitized_build = false;
#endif
#else
constexpr bool sanitized_build = false;
#endif

using test::exchange;
using test::parse_response;

class upload_hardening_test : public test::raw_request_fixture {};

TEST_F(upload_hardening_test, tls_1_0_and_1_1_are_refused_and_1_2_and_1_3_accepted_by_default) {
    start();
    for (int v : {TLS1_VERSION, TLS1_1_VERSION}) {
        auto o = opts("");
        o.max_version = v;
        tls_client c(port_, o);
        EXPECT_FALSE(c.ok()) << "TLS version " << std::hex << v << " was accepted";
    }
    for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        auto o = opts("");
        o.min_version = o.max_version = v;
        tls_client c(port_, o);
        ASSERT_TRUE(c.ok()) << c.error();
        EXPECT_EQ(c.protocol(), v == TLS1_2_VERSION ? "TLSv1.2" : "TLSv1.3");
        c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        EXPECT_EQ(parse_response(c.read_all(), c.closed()).status_line, "HTTP/1.1 200 OK");
    }
}

TEST_F(upload_hardening_test, tls_min_version_13_refuses_a_tls_1_2_client) {
    start({{"TLS_MIN_VERSION", "VersionTLS13"}});
    auto o = opts();
    o.max_version = TLS1_2_VERSION;
    EXPECT_FALSE(tls_client(port_, o).ok());
    o.max_version = 0;
    o.min_version = TLS1_3_VERSION;
    tls_client c(port_, o);
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c.protocol(), "TLSv1.3");
}

TEST_F(upload_hardening_test, tls_ciphers_restricted_to_one_suite_refuse_a_client_offering_another) {
    // The server key is EC, so TLS 1.2 suites are ECDHE-ECDSA ones; the IANA spelling is accepted.
    start({{"TLS_CIPHERS", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}});
    auto o = opts("");
    o.max_version = TLS1_2_VERSION;
    o.cipher_list = "ECDHE-ECDSA-AES256-GCM-SHA384";
    EXPECT_FALSE(tls_client(port_, o).ok());
    o.cipher_list = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256";
    tls_client c12(port_, o);
    ASSERT_TRUE(c12.ok()) << c12.error();
    EXPECT_EQ(c12.cipher(), "ECDHE-ECDSA-AES128-GCM-SHA256");

    start({{"TLS_CIPHERS", "TLS_AES_256_GCM_SHA384"}, {"TLS_MIN_VERSION", "VersionTLS13"}});
    o = opts("");
    o.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";
    EXPECT_FALSE(tls_client(port_, o).ok());
    o.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";
    tls_client c13(port_, o);
    ASSERT_TRUE(c13.ok()) << c13.error();
    EXPECT_EQ(c13.cipher(), "TLS_AES_256_GCM_SHA384");
}

TEST_F(upload_hardening_test, plain_http_to_the_tls_port_is_never_served) {
    start();
    tls_client_options o;
    o.tls = false;
    tls_client c(port_, o);
    ASSERT_TRUE(c.ok());
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string out = c.read_all(5s);
    EXPECT_TRUE(c.closed());
    EXPECT_EQ(out.find("HTTP/"), std::string::npos) << out;
    EXPECT_EQ(out.find("OK"), std::string::npos) << out;
    EXPECT_TRUE(healthz_ok());
}

TEST_F(upload_hardening_test, header_limits_answer_414_and_431_close_and_leave_the_server_serving) {
    start();
    // "GET <target> HTTP/1.1" is 13 bytes plus the target.
    const std::string at_limit = "/" + std::string(8192 - 13 - 1, 'a');
    exchange e = raw("GET " + at_limit + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(e.status_line, "HTTP/1.1 404 Not Found");  // 8 KiB exactly is still a request line

    e = raw("GET " + at_limit + "a HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(e.status_line, "HTTP/1.1 414 URI Too Long");
    EXPECT_TRUE(e.closed);
    EXPECT_EQ(e.body.rfind("E_BAD_REQUEST", 0), 0u) << e.body;
    EXPECT_TRUE(healthz_ok());

    e = raw("GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n");  // over the header limit too
    EXPECT_EQ(e.status_line, "HTTP/1.1 414 URI Too Long");
    EXPECT_TRUE(e.closed);
    EXPECT_TRUE(healthz_ok());

    e = raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(17000, 'b') + "\r\n\r\n");
    EXPECT_EQ(e.status_line, "HTTP/1.1 431 Request Header Fields Too Large");
    EXPECT_TRUE(e.closed);
    EXPECT_TRUE(healthz_ok());

    std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 200; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    e = raw(many + "\r\n");
    EXPECT_EQ(e.status_line, "HTTP/1.1 431 Request Header Fields Too Large");
    EXPECT_TRUE(e.closed);
    EXPECT_TRUE(healthz_ok());

    expect_a_real_upload_works();
}

TEST_F(upload_hardening_test, smuggling_framing_gets_400_closes_and_leaves_the_server_serving) {
    start();
    const std::string post = "POST /v1beta1/upload HTTP/1.1\r\nHost: x\r\n";
    for (const std::string& framing : {std::string("Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"),
                                       std::string("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n"),
                                       std::string("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nabcde\r\n0\r\n\r\n"),
                                       std::string("Content-Length: -5\r\n\r\nabcde")}) {
        const exchange e = raw(post + framing);
        EXPECT_EQ(e.status_line, "HTTP/1.1 400 Bad Request") << framing;
        EXPECT_TRUE(e.closed) << framing;
        EXPECT_EQ(e.body.rfind("E_BAD_REQUEST", 0), 0u) << e.body;
        EXPECT_TRUE(healthz_ok()) << framing;
    }
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    expect_a_real_upload_works();
}

TEST_F(upload_hardening_test, error_bodies_are_nosniff_text_and_never_echo_the_request) {
    start();
    const std::string script = "<script>alert(1)</script>";
    std::vector<exchange> answers;
    answers.push_back(raw("GET /v1beta1/" + script + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    answers.push_back(raw("POST /v1beta1/upload-form HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/html" + script +
                          "\r\nContent-Length: 5\r\n\r\nabcde"));
    const std::string part = "--b\r\nContent-Disposition: form-data; name=\"" + script + "\"\r\n\r\nabcde\r\n--b--\r\n";
    answers.push_back(raw("POST /v1beta1/upload-form HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                          "Content-Length: " + std::to_string(part.size()) + "\r\n\r\n" + part));
    answers.push_back(raw("POST /v1beta1/upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-cdi-content-type: " + script +
                          "\r\nContent-Length: 5\r\n\r\nabcde"));
    answers.push_back(raw("GET /" + std::string(8200, 'a') + script + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    for (const exchange& e : answers) {
        ASSERT_FALSE(e.status_line.empty());
        EXPECT_EQ(e.status_line.find(" 200 "), std::string::npos) << e.status_line;
        EXPECT_FALSE(e.body.empty()) << e.status_line;
        EXPECT_NE(e.head.find("\r\ncontent-type: text/plain"), std::string::npos) << e.head;
        EXPECT_NE(e.head.find("\r\nx-content-type-options: nosniff"), std::string::npos) << e.head;
        EXPECT_EQ(e.body.find('<'), std::string::npos) << e.body;
    }
    EXPECT_TRUE(healthz_ok());
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

// A11: 256 connections that finish the handshake and then send one header byte every 3 s while a
// 32 MiB upload runs (rate-limited so that it outlasts the 10 s header timeout: the process ends
// when the upload is done). The upload is byte-exact, every slow connection is closed by the
// header timeout, and the server's peak RSS stays under 128 MiB.
TEST_F(upload_hardening_test, slowloris_connections_time_out_while_an_upload_completes_within_128_mib) {
    constexpr int slow_count = 256;
    constexpr std::uint64_t rss_limit_kib = 128 * 1024;
    const fs::path image = dir_ / "big.raw";
    // 32 MiB: 1 MiB of random data every 2 MiB, zeros between.
    must_run("for i in $(seq 0 15); do head -c 1M /dev/urandom | dd of=" + q(image) +
             " bs=1M seek=$((i*2)) conv=notrunc status=none; done && truncate -s 32M " + q(image));
    auto& s = start();

    std::string upload_status;
    std::thread uploader([&] { upload_status = upload(image, "--limit-rate 2100K"); });  // >= 15.6 s
    ASSERT_TRUE(s.log_has("upload started")) << s.log();

    using clock = std::chrono::steady_clock;
    struct slow_conn {
        std::unique_ptr<tls_client> client;
        clock::time_point opened;
        std::optional<clock::duration> lived;
    };
    std::vector<slow_conn> conns;
    for (int i = 0; i < slow_count; ++i) {
        auto c = std::make_unique<tls_client>(port_, opts(""));
        ASSERT_TRUE(c->ok()) << i << ": " << c->error();
        conns.push_back({std::move(c), clock::now(), std::nullopt});
    }
    const std::string header = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    std::uint64_t peak_kib = 0;
    std::size_t sent = 0;
    auto next_byte = clock::now();
    const auto give_up = clock::now() + 20s;
    std::size_t open = conns.size();
    while (open > 0 && clock::now() < give_up) {
        const bool send_now = clock::now() >= next_byte;
        if (send_now) next_byte += 3s;
        for (auto& c : conns) {
            if (c.lived) continue;
            if (send_now) c.client->send(std::string_view(&header[sent % header.size()], 1));
            if (c.client->peer_closed()) {
                c.lived = clock::now() - c.opened;
                --open;
            }
        }
        if (send_now) ++sent;
        peak_kib = std::max(peak_kib, s.vm_hwm_kib());
        std::this_thread::sleep_for(200ms);
    }
    const bool server_ran_throughout = s.wait(0ms) == -1;  // the timeouts, not the exit, closed them
    uploader.join();
    EXPECT_EQ(open, 0u) << "slow connections still open after 20 s";
    EXPECT_TRUE(server_ran_throughout) << "the upload ended before the header timeout could fire";
    for (const auto& c : conns) {
        if (c.lived) {
            EXPECT_GE(*c.lived, 9s) << "a slow connection was closed before the header timeout";
        }
    }
    EXPECT_EQ(upload_status, "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_TRUE(s.log_has("request header timeout", slow_count, 0ms)) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(image));
    EXPECT_GT(peak_kib, 0u);
    if (sanitized_build) return;  // ASan's shadow memory and quarantine are not the server's footprint
    EXPECT_LT(peak_kib, rss_limit_kib) << "VmHWM while running";
    EXPECT_LT(s.max_rss_kib(), rss_limit_kib) << "peak RSS at exit";
}

// B1/B2: the client stops after 0 bytes, half the body (both with a TCP reset), or size-1 bytes
// (a half-close, so the answer can still be read). Never 200, no target, and a retry succeeds.
enum class cut { reset_at_0, reset_at_half, half_close_at_size_minus_1 };

class upload_disconnect_test : public upload_hardening_test, public ::testing::WithParamInterface<cut> {};

TEST_P(upload_disconnect_test, a_client_gone_mid_body_never_gets_200_and_the_retry_is_byte_exact) {
    auto& s = start();
    const auto image = test::read_file(dir_ / "disk.raw");
    const std::size_t sent = GetParam() == cut::reset_at_0      ? 0
                             : GetParam() == cut::reset_at_half ? image.size() / 2
                                                                : image.size() - 1;
    {
        tls_client c(port_, opts());
        ASSERT_TRUE(c.ok()) << c.error();
        c.send("POST /v1beta1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(image.size()) + "\r\n\r\n");
        ASSERT_TRUE(s.log_has("upload started")) << s.log();
        c.send(std::string_view(image.data(), sent));
        if (GetParam() == cut::half_close_at_size_minus_1) {
            c.shutdown_write();
            const exchange e = parse_response(c.read_all(10s), c.closed());
            EXPECT_EQ(e.status_line.find(" 200 "), std::string::npos) << e.status_line;
            EXPECT_NE(e.body.find("E_TRUNCATED"), std::string::npos) << e.body;
        } else {
            std::this_thread::sleep_for(200ms);  // the server has read what was sent
            c.reset();
        }
    }
    ASSERT_TRUE(s.log_has("E_TRUNCATED")) << s.log();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    EXPECT_TRUE(fs::is_empty(scratch_));
    EXPECT_EQ(s.wait(0ms), -1) << s.log();
    expect_a_real_upload_works();
}

INSTANTIATE_TEST_SUITE_P(cuts, upload_disconnect_test,
                         ::testing::Values(cut::reset_at_0, cut::reset_at_half, cut::half_close_at_size_minus_1));

}  // namespace
}  // namespace cdi
