// Where the upload server listens (issue 12, IPv6 contract gap): with LISTEN_ADDRESS unset or empty
// it serves every address of both families, as CDI's Go server does (net.Listen on a wildcard), so
// an IPv6-only cluster can reach it; where IPv6 is off it falls back to IPv4. Real curl over ::1 and
// 127.0.0.1; "IPv6 off" is an LD_PRELOAD shim failing socket(AF_INET6) (tests/support/no_ipv6_preload.cpp).
#include "support/upload_server_fixture.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::q;
using test::run_command;

bool host_has_ipv6_loopback() {
    std::ifstream in("/proc/net/if_inet6");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("00000000000000000000000000000001", 0) == 0) return true;
    return false;
}

class upload_listen_test : public test::upload_server_fixture {
protected:
    // curl to `host` (an IP literal, IPv6 in brackets) with the server certificate checked for
    // "localhost" (the test PKI names no IPv6 address); "<status>" or the curl failure.
    std::string curl_at(const std::string& host, const std::string& args, const std::string& path) {
        const std::string p = std::to_string(port_);
        std::string addr = host;
        if (addr.front() == '[') addr = addr.substr(1, addr.size() - 2);
        const auto r = run_command("curl -sS --max-time 30 --cacert " + q(pki_.crt("ca")) + " --cert " +
                                   q(pki_.crt("client")) + " --key " + q(pki_.key("client")) + " --resolve localhost:" +
                                   p + ":" + addr + " -o " + q(dir_ / "body") + " -w '%{http_code}' " + args +
                                   " https://localhost:" + p + path);
        return r.status == 0 ? r.output : "curl exit " + std::to_string(r.status) + ": " + r.output;
    }
};

TEST_F(upload_listen_test, an_empty_listen_address_serves_ipv6_and_ipv4_and_uploads_over_ipv6) {
    if (!host_has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback on this host";
    auto& s = start({{"LISTEN_ADDRESS", ""}});
    ASSERT_GT(port_, 0);
    EXPECT_TRUE(s.log_has("listening on [::]:" + std::to_string(port_))) << s.log();
    EXPECT_EQ(curl_at("127.0.0.1", "", "/healthz"), "200") << s.log();
    EXPECT_EQ(curl_at("[::1]", "", "/healthz"), "200") << s.log();
    EXPECT_EQ(curl_at("[::1]", "--data-binary @" + q(dir_ / "disk.raw"), "/v1beta1/upload"), "200") << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
}

TEST_F(upload_listen_test, an_explicit_ipv6_loopback_address_is_served) {
    if (!host_has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback on this host";
    auto& s = start({{"LISTEN_ADDRESS", "::1"}});
    ASSERT_GT(port_, 0);
    EXPECT_TRUE(s.log_has("listening on [::1]:" + std::to_string(port_))) << s.log();
    EXPECT_EQ(curl_at("[::1]", "", "/healthz"), "200") << s.log();
    EXPECT_NE(curl_at("127.0.0.1", "", "/healthz"), "200");
}

TEST_F(upload_listen_test, without_ipv6_an_empty_listen_address_falls_back_to_ipv4) {
    const fs::path shim = CDI_BINARY_DIR "/tests/no_ipv6_preload.so";
    ASSERT_TRUE(fs::exists(shim)) << shim;
    auto& s = start({{"LISTEN_ADDRESS", ""}, {"LD_PRELOAD", shim.string()}});
    ASSERT_GT(port_, 0) << s.log();
    EXPECT_TRUE(s.log_has("listening on 0.0.0.0:" + std::to_string(port_))) << s.log();
    EXPECT_EQ(curl_at("127.0.0.1", "--data-binary @" + q(dir_ / "disk.raw"), "/v1beta1/upload"), "200") << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
}

TEST_F(upload_listen_test, an_unparsable_listen_port_means_8443_as_in_cdi) {
    // "listening on" or "cannot listen on" 127.0.0.1:8443: port 8443 may be taken on a test host.
    test::server_process s(env({{"LISTEN_PORT", "not-a-port"}}), dir_ / "server.log");
    EXPECT_TRUE(s.log_has("listen on 127.0.0.1:8443") || s.log_has("listening on 127.0.0.1:8443")) << s.log();
    s.signal(SIGTERM);
    s.wait();
}

}  // namespace
}  // namespace cdi
