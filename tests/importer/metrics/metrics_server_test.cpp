// metrics_server: the HTTPS progress endpoint the controller scrapes (contract section 7), with curl
// and openssl as clients and raw sockets for idle and garbage connections.
#include "importer/metrics/metrics_server.hpp"

#include "cdi/progress.hpp"
#include "cdi/unique_fd.hpp"
#include "support/test_env.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace cdi {
namespace {

using namespace std::chrono_literals;
using test::must_run;
using test::run_command;

constexpr const char* uid = "0f3c9a6e-1d2b-4c5a-9e8f-7a6b5c4d3e2f";

class metrics_server_test : public ::testing::Test {
protected:
    static metrics_server_options opts() {
        metrics_server_options o;
        o.address = "127.0.0.1";
        o.port = 0;
        o.header_timeout = 1s;
        o.first_byte_timeout = 500ms;
        o.stall_grace = 200ms;
        return o;
    }

    void SetUp() override {
        server_ = std::make_unique<metrics_server>(std::string(import_progress_metric), uid,
                                                   [this] { return value_.load(); }, opts());
        auto r = server_->start();
        ASSERT_TRUE(r) << r.error().message();
        ASSERT_NE(server_->port(), 0);
    }

    std::string url(const std::string& path) const {
        return "https://127.0.0.1:" + std::to_string(server_->port()) + path;
    }
    std::string scrape(const std::string& path = "/metrics") { return must_run("curl -sSk --max-time 5 " + url(path)); }

    // The value the controller's regex extracts (pkg/controller/common/util.go GetProgressReportFromURL).
    static std::string controller_value(const std::string& body) {
        const std::regex re(std::string("(kubevirt_cdi_import_progress_total)\\{ownerUID=\"") + uid +
                            "\"\\} (\\d{1,3}\\.?\\d*)");
        std::smatch m;
        if (!std::regex_search(body, m, re)) return "no match in: " + body;
        return m[2].str();
    }

    std::atomic<double> value_{0.0};
    std::unique_ptr<metrics_server> server_;
};

unique_fd connect_tcp(std::uint16_t port) {
    unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return unique_fd();
    timeval tv{5, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

// Waits until the peer closes (EOF or reset); the time it took, or nullopt when it did not close
// within the 5 s receive timeout.
std::optional<std::chrono::milliseconds> time_to_close(int fd) {
    const auto t0 = std::chrono::steady_clock::now();
    char buf[512];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::nullopt;
        if (n < 0 && errno == EINTR) continue;
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    }
}

bool wait_for_connections(const metrics_server& s, std::size_t n) {
    for (int i = 0; i < 500; ++i) {
        if (s.active_connections() == n) return true;
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

TEST_F(metrics_server_test, serves_the_exposition_on_every_path) {
    value_ = 45.34;
    const std::string expected = std::string("# HELP kubevirt_cdi_import_progress_total The import progress in percentage\n") +
                                 "# TYPE kubevirt_cdi_import_progress_total counter\n" +
                                 "kubevirt_cdi_import_progress_total{ownerUID=\"" + uid + "\"} 45.34\n";
    EXPECT_EQ(scrape("/metrics"), expected);
    EXPECT_EQ(scrape("/anything"), expected);
    EXPECT_EQ(scrape("/"), expected);
    EXPECT_EQ(controller_value(scrape("/metrics")), "45.34");
    const std::string meta = must_run("curl -sk --max-time 5 -o /dev/null -w '%{http_code} %{content_type}' " + url("/x"));
    EXPECT_EQ(meta, "200 text/plain; version=0.0.4; charset=utf-8");
    const std::string head = must_run("curl -skI --max-time 5 " + url("/metrics"));
    EXPECT_NE(head.find("HTTP/1.1 200"), std::string::npos) << head;
    EXPECT_NE(head.find("Content-Length: " + std::to_string(expected.size())), std::string::npos) << head;
}

TEST_F(metrics_server_test, values_follow_the_callback_with_two_decimals_and_never_decrease) {
    EXPECT_EQ(controller_value(scrape()), "0.00");
    value_ = 12.5;
    EXPECT_EQ(controller_value(scrape()), "12.50");
    value_ = 99.999;  // truncated, never shown as a finished 100
    EXPECT_EQ(controller_value(scrape()), "99.99");
    value_ = 30.0;
    EXPECT_EQ(controller_value(scrape()), "99.99");
    value_ = std::nan("");
    EXPECT_EQ(controller_value(scrape()), "99.99");
    value_ = 250.0;
    EXPECT_EQ(controller_value(scrape()), "100.00");
    value_ = -5.0;
    EXPECT_EQ(controller_value(scrape()), "100.00");
}

TEST_F(metrics_server_test, keep_alive_serves_several_requests_on_one_connection) {
    value_ = 7.0;
    const std::string out =
        must_run("curl -sk --max-time 5 -w ' connects=%{num_connects}\\n' " + url("/a") + " " + url("/b"));
    EXPECT_NE(out.find("connects=1"), std::string::npos) << out;
    EXPECT_NE(out.find("connects=0"), std::string::npos) << "second request reused the connection: " << out;
}

TEST_F(metrics_server_test, presents_a_self_signed_cloner_target_certificate_valid_for_a_year) {
    const std::string pem = must_run("openssl s_client -connect 127.0.0.1:" + std::to_string(server_->port()) +
                                     " </dev/null 2>/dev/null | openssl x509");
    const std::string subject = must_run("printf '%s' '" + pem + "' | openssl x509 -noout -subject -issuer");
    EXPECT_NE(subject.find("subject=CN = cloner_target"), std::string::npos) << subject;
    EXPECT_NE(subject.find("issuer=CN = cloner_target"), std::string::npos) << subject;
    EXPECT_EQ(run_command("printf '%s' '" + pem + "' | openssl x509 -noout -checkend " + std::to_string(364 * 86400)).status, 0);
    EXPECT_NE(run_command("printf '%s' '" + pem + "' | openssl x509 -noout -checkend " + std::to_string(366 * 86400)).status, 0);
    // SECLEVEL=0 lets the client offer TLS 1.1 at all, so a refusal is the server's.
    const std::string s_client = "echo | timeout 5 openssl s_client -cipher 'DEFAULT@SECLEVEL=0' -connect 127.0.0.1:" +
                                 std::to_string(server_->port());
    const std::string tls12 = run_command(s_client + " -tls1_2 2>&1").output;
    EXPECT_NE(tls12.find("New, TLSv1.2, Cipher is"), std::string::npos) << tls12;
    const std::string tls11 = run_command(s_client + " -tls1_1 2>&1").output;
    EXPECT_NE(tls11.find("Cipher is (NONE)"), std::string::npos) << "TLS 1.1 accepted: " << tls11;
}

TEST_F(metrics_server_test, a_silent_connection_is_closed_after_the_first_byte_timeout) {
    auto fd = connect_tcp(server_->port());
    ASSERT_TRUE(fd);
    auto t = time_to_close(fd.get());
    ASSERT_TRUE(t) << "not closed within 5 s";
    EXPECT_GE(*t, 400ms);
    EXPECT_LE(*t, 900ms) << "the header timeout is 1 s";
}

TEST_F(metrics_server_test, a_connection_stalled_after_its_first_byte_is_closed_after_the_header_timeout) {
    auto fd = connect_tcp(server_->port());
    ASSERT_TRUE(fd);
    ASSERT_EQ(::send(fd.get(), "\x16", 1, MSG_NOSIGNAL), 1);  // the first byte of a TLS record
    auto t = time_to_close(fd.get());
    ASSERT_TRUE(t) << "not closed within 5 s";
    EXPECT_GE(*t, 800ms);
    EXPECT_LE(*t, 3000ms);
}

TEST_F(metrics_server_test, garbage_does_not_kill_it) {
    {
        auto fd = connect_tcp(server_->port());
        ASSERT_TRUE(fd);
        const std::string junk = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01garbage";
        ASSERT_GT(::send(fd.get(), junk.data(), junk.size(), MSG_NOSIGNAL), 0);
        EXPECT_TRUE(time_to_close(fd.get())) << "a plaintext request ends the connection";
    }
    const std::string port = std::to_string(server_->port());
    const std::string bad = run_command("printf 'NOT HTTP AT ALL\\r\\n\\r\\n' | timeout 5 openssl s_client -quiet "
                                        "-connect 127.0.0.1:" + port + " 2>/dev/null").output;
    EXPECT_NE(bad.find("400 Bad Request"), std::string::npos) << bad;
    const std::string big = must_run("curl -sk --max-time 5 -o /dev/null -w '%{http_code}' -H 'X-Big: " +
                                     std::string(9000, 'a') + "' " + url("/"));
    EXPECT_EQ(big, "431");
    const std::string post = must_run("curl -sk --max-time 5 -o /dev/null -w '%{http_code}' -d x=1 " + url("/"));
    EXPECT_EQ(post, "405");
    value_ = 3.0;
    EXPECT_EQ(controller_value(scrape()), "3.00");
}

TEST_F(metrics_server_test, caps_concurrent_connections_and_frees_slots) {
    std::vector<unique_fd> idle;
    for (int i = 0; i < 16; ++i) {
        idle.push_back(connect_tcp(server_->port()));
        ASSERT_TRUE(idle.back());
    }
    ASSERT_TRUE(wait_for_connections(*server_, 16));
    auto extra = connect_tcp(server_->port());
    ASSERT_TRUE(extra);
    auto t = time_to_close(idle.front().get());
    ASSERT_TRUE(t);
    EXPECT_LT(*t, 300ms) << "the 17th connection takes the slot of the oldest silent one at once";
    EXPECT_TRUE(wait_for_connections(*server_, 16));
    idle.push_back(std::move(extra));
    idle.clear();
    ASSERT_TRUE(wait_for_connections(*server_, 0));

    value_ = 50.0;
    const std::string out = must_run("for i in $(seq 12); do curl -sk --max-time 5 " + url("/m") +
                                     " -o /dev/null -w '%{http_code}\\n' & done; wait");
    std::size_t ok = 0;
    for (std::size_t p = out.find("200"); p != std::string::npos; p = out.find("200", p + 1)) ++ok;
    EXPECT_EQ(ok, 12u) << out;
}

// Issue 19.3: idle TCP connections that never start TLS cannot silence the endpoint. With the
// production limits (16 slots, 10 s header timeout), 64 such connections are open when the
// controller scrapes: the scrape still answers 200.
TEST(metrics_server, a_scrape_gets_through_64_connections_that_never_start_tls) {
    metrics_server_options o;
    o.address = "127.0.0.1";
    o.port = 0;
    metrics_server server(std::string(import_progress_metric), uid, [] { return 42.0; }, o);
    ASSERT_TRUE(server.start());
    std::vector<unique_fd> idle;
    for (int i = 0; i < 64; ++i) {
        idle.push_back(connect_tcp(server.port()));
        ASSERT_TRUE(idle.back());
    }
    ASSERT_TRUE(wait_for_connections(server, 16));
    const std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/metrics";
    for (int i = 0; i < 3; ++i) {
        const auto r = run_command("curl -sk --max-time 5 -o /dev/null -w '%{http_code}' " + url);
        EXPECT_EQ(r.output, "200") << "scrape " << i << " with 64 idle connections open";
    }
    EXPECT_LE(server.active_connections(), 16u);
}

// Connections that sent one byte of a TLS record and stalled hold every slot: once their exchange
// has lasted the stall grace (200 ms here), a scrape takes the slot of the longest stalled one.
TEST_F(metrics_server_test, connections_stalled_mid_handshake_give_way_to_a_scrape_after_the_grace) {
    std::vector<unique_fd> stalled;
    for (int i = 0; i < 16; ++i) {
        stalled.push_back(connect_tcp(server_->port()));
        ASSERT_TRUE(stalled.back());
        ASSERT_EQ(::send(stalled.back().get(), "\x16", 1, MSG_NOSIGNAL), 1);
    }
    ASSERT_TRUE(wait_for_connections(*server_, 16));
    std::this_thread::sleep_for(300ms);
    value_ = 21.0;
    EXPECT_EQ(must_run("curl -sk --max-time 5 -o /dev/null -w '%{http_code}' " + url("/metrics")), "200");
    auto t = time_to_close(stalled.front().get());
    ASSERT_TRUE(t);
    EXPECT_LT(*t, 300ms) << "the oldest stalled connection was not the one evicted";
}

TEST_F(metrics_server_test, stops_and_restarts) {
    value_ = 60.0;
    EXPECT_EQ(controller_value(scrape()), "60.00");
    const std::string old_url = url("/");
    auto held = connect_tcp(server_->port());  // an open connection does not block stop()
    ASSERT_TRUE(held);
    server_->stop();
    EXPECT_FALSE(server_->running());
    EXPECT_EQ(server_->port(), 0);
    EXPECT_TRUE(time_to_close(held.get()));
    EXPECT_NE(run_command("curl -sk --max-time 2 " + old_url).status, 0);
    server_->stop();  // idempotent

    value_ = 10.0;
    ASSERT_TRUE(server_->start());
    EXPECT_EQ(controller_value(scrape()), "60.00") << "the floor survives a restart";
    EXPECT_FALSE(server_->start()) << "already running";
}

TEST(metrics_server, a_port_in_use_is_an_error_from_start) {
    metrics_server_options o;
    o.address = "127.0.0.1";
    o.port = 0;
    metrics_server first(std::string(import_progress_metric), uid, [] { return 1.0; }, o);
    ASSERT_TRUE(first.start());
    o.port = first.port();
    metrics_server second(std::string(import_progress_metric), uid, [] { return 1.0; }, o);
    auto r = second.start();
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::io));
    EXPECT_EQ(r.error().context, "metrics endpoint: cannot listen on 127.0.0.1:" + std::to_string(o.port) +
                                     ": Address already in use");
    EXPECT_FALSE(second.running());

    o.address = "not-an-address";
    metrics_server third(std::string(import_progress_metric), uid, [] { return 1.0; }, o);
    auto bad = third.start();
    ASSERT_FALSE(bad);
    EXPECT_TRUE(bad.error().is(errc::bad_request));
}

TEST(metrics_server, default_address_listens_on_every_interface) {
    metrics_server_options o;
    o.port = 0;
    metrics_server s(std::string(import_progress_metric), uid, [] { return 2.0; }, o);
    ASSERT_TRUE(s.start());
    const std::string body = must_run("curl -sk --max-time 5 https://127.0.0.1:" + std::to_string(s.port()) + "/");
    EXPECT_NE(body.find("} 2.00\n"), std::string::npos) << body;
}

TEST(metrics_server, reports_the_importer_progress_percent) {
    progress prog;
    metrics_server s(std::string(import_progress_metric), uid, [&prog] { return prog.percent(); });
    prog.set_wire_total(200);
    prog.add_wire_bytes(91);
    EXPECT_NE(s.render().find("\"} 45.50\n"), std::string::npos) << s.render();
    prog.mark_transfer_done();
    EXPECT_NE(s.render().find("\"} 100.00\n"), std::string::npos) << s.render();
}

TEST(metrics_server, clone_metric_and_escaped_owner_uid) {
    metrics_server s(std::string(clone_progress_metric), "a\"b\\c\nd", [] { return 100.0; });
    EXPECT_EQ(s.render(), "# HELP kubevirt_cdi_clone_progress_total The clone progress in percentage\n"
                          "# TYPE kubevirt_cdi_clone_progress_total counter\n"
                          "kubevirt_cdi_clone_progress_total{ownerUID=\"a\\\"b\\\\c\\nd\"} 100.00\n");
    EXPECT_EQ(metrics_server::escape_label_value("plain-uid"), "plain-uid");
}

}  // namespace
}  // namespace cdi
