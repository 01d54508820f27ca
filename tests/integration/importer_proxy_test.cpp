// cdi-importer through a hostile forward proxy (issue 12 item 1): a proxy that appends a forged
// origin response to its "200 Connection established" must not get it imported. The HTTP source
// against a TLS nginx and the registry source against a TLS docker-registry, each with the CA
// trusted and the host name matching, so only the tunnel's leftover bytes could forge the answer.
#include "support/docker_registry.hpp"
#include "support/fault_http_server.hpp"
#include "support/importer_process.hpp"
#include "support/nginx.hpp"
#include "support/pki.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::fault_http_server;

class importer_proxy_test : public ::testing::Test {
protected:
    void SetUp() override {
        fs::create_directories(data_);
        fs::create_directories(scratch_);
        fs::create_directories(www_);
        fs::create_directories(certs_);
        fs::copy_file(pki_.crt("ca"), certs_ / "ca.pem");
        disk_ = test::random_bytes(1024 * 1024, 12);
        test::write_file(www_ / "disk.img", disk_.data(), disk_.size());
    }

    test::importer_outcome run(std::map<std::string, std::string> env) {
        env.emplace("IMPORTER_CONTENTTYPE", "kubevirt");
        env.emplace("IMPORTER_CERT_DIR", certs_.string());
        env.emplace("OWNER_UID", "0f3c-uid");
        return test::run_importer(dir_.path(), std::move(env));
    }
    std::unique_ptr<test::nginx_server> tls_web() {
        test::nginx_options o;
        o.root = www_;
        o.tls_cert = pki_.crt("server");
        o.tls_key = pki_.key("server");
        return test::nginx_server::start(std::move(o));
    }
    static std::string proxy_url(const fault_http_server& p) { return "http://127.0.0.1:" + std::to_string(p.port()); }
    // A raw disk image the proxy would like imported instead of the origin's.
    static std::string forged() {
        const std::string body(64 * 1024, 'F');
        return fault_http_server::head(200, {{"Content-Length", std::to_string(body.size())}}) + body;
    }
    void expect_refused_as_proxy_error(const test::importer_outcome& o) {
        EXPECT_EQ(o.status, 1) << o.log;
        EXPECT_NE(o.message.find("E_PROXY"), std::string::npos) << o.message;
        EXPECT_EQ(o.message.find("Import Complete"), std::string::npos) << o.message;
        EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    }

    test::temp_dir dir_;
    fs::path data_ = dir_ / "data";
    fs::path scratch_ = dir_ / "scratch";
    fs::path www_ = dir_ / "www";
    fs::path certs_ = dir_ / "certs";
    test::pki pki_{dir_ / "pki"};
    test::bytes disk_;
};

TEST_F(importer_proxy_test, an_honest_connect_proxy_carries_the_https_import) {
    if (!test::have_tool("nginx")) GTEST_SKIP() << "needs nginx";
    auto web = tls_web();
    fault_http_server proxy(fault_http_server::forward_proxy());
    auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.img")}, {"https_proxy", proxy_url(proxy)}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file_bytes(data_ / "disk.img"), disk_) << "not the origin's bytes";
    EXPECT_FALSE(proxy.requests().empty());
}

TEST_F(importer_proxy_test, an_https_import_refuses_bytes_the_proxy_sent_after_its_connect_answer) {
    if (!test::have_tool("nginx")) GTEST_SKIP() << "needs nginx";
    auto web = tls_web();
    fault_http_server proxy(fault_http_server::forward_proxy(forged()));
    auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.img")}, {"https_proxy", proxy_url(proxy)}});
    expect_refused_as_proxy_error(o);
    EXPECT_TRUE(web->requests_for("/disk.img").empty()) << "a request went through the refused tunnel";
}

TEST_F(importer_proxy_test, a_registry_import_refuses_bytes_the_proxy_sent_after_its_connect_answer) {
    if (!test::have_tool("docker-registry")) GTEST_SKIP() << "needs docker-registry";
    // The ping is refused before any manifest is asked for: an empty registry is enough.
    auto reg = test::docker_registry::start({.tls_cert = pki_.crt("server"), .tls_key = pki_.key("server")});
    const std::string manifest = R"({"schemaVersion":2})";
    fault_http_server proxy(fault_http_server::forward_proxy(
        fault_http_server::head(200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"},
                                      {"Content-Length", std::to_string(manifest.size())}}) + manifest));
    // INSECURE_TLS: even then an E_PROXY is never retried over plain http (http_proxy would see it).
    auto o = run({{"IMPORTER_SOURCE", "registry"}, {"IMPORTER_ENDPOINT", reg->endpoint("cdi/disk:v1")}, {"IMPORTER_IMAGE_SIZE", "8Mi"},
                  {"INSECURE_TLS", "true"}, {"https_proxy", proxy_url(proxy)}, {"http_proxy", proxy_url(proxy)}});
    expect_refused_as_proxy_error(o);
    EXPECT_NE(o.message.find("failed to pull image"), std::string::npos) << o.message;  // the controller's ImagePullFailed
    for (const auto& r : proxy.requests()) EXPECT_EQ(r.method, "CONNECT") << r.target;
}

TEST_F(importer_proxy_test, a_proxy_honest_for_the_ping_and_forging_the_manifest_fails_the_pull_with_e_proxy) {
    if (!test::have_tool("docker-registry")) GTEST_SKIP() << "needs docker-registry";
    auto reg = test::docker_registry::start({.tls_cert = pki_.crt("server"), .tls_key = pki_.key("server")});
    const std::string manifest = R"({"schemaVersion":2})";
    auto honest = fault_http_server::forward_proxy();
    auto hostile = fault_http_server::forward_proxy(
        fault_http_server::head(200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"},
                                      {"Content-Length", std::to_string(manifest.size())}}) + manifest);
    std::atomic<int> tunnels{0};
    fault_http_server proxy([&](const test::fault_request& req, test::fault_reply& out) { (++tunnels == 1 ? honest : hostile)(req, out); });
    auto o = run({{"IMPORTER_SOURCE", "registry"}, {"IMPORTER_ENDPOINT", reg->endpoint("cdi/disk:v1")}, {"IMPORTER_IMAGE_SIZE", "8Mi"},
                  {"https_proxy", proxy_url(proxy)}});
    expect_refused_as_proxy_error(o);
    EXPECT_NE(o.message.find("failed to pull image"), std::string::npos) << o.message;
    EXPECT_EQ(tunnels.load(), 2) << "the manifest's E_PROXY was retried";
}

}  // namespace
}  // namespace cdi
