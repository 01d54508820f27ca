// registry_client against a real registry (Debian's docker-registry): plain HTTP, HTTPS with a test
// CA, htpasswd basic auth and token auth with a real token service; images built with oci_image.py
// and pushed with skopeo into one storage directory shared by the registry variants.
#include "importer/registry/image_blobs.hpp"
#include "importer/registry/registry_client.hpp"
#include "support/docker_registry.hpp"
#include "support/fault_http_server.hpp"
#include "support/pki.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <variant>

namespace cdi {
namespace {

using test::docker_registry;
using test::registry_options;

class registry_client_test : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (!test::have_tool("docker-registry") || !test::have_tool("skopeo")) return;
        dir_ = new test::temp_dir();
        pki_ = new test::pki(dir_->path() / "pki");
        store_ = dir_->path() / "store";
        const auto disk = test::random_bytes(256 * 1024, 7);
        test::write_file(dir_->path() / "disk.raw", disk.data(), disk.size());
        const std::string spec = R"({"tag":"latest","images":[{"architecture":"amd64","os":"linux","layers":[{"compression":"gzip",)"
                         R"("entries":[{"path":"disk/","type":"dir"},{"path":"disk/disk.img","type":"file","source":")" +
                             (dir_->path() / "disk.raw").string() + R"("}]}]}]})";
        test::write_file(dir_->path() / "spec.json", spec.data(), spec.size());
        test::build_oci_layout(dir_->path() / "spec.json", dir_->path() / "layout");
        auto plain = docker_registry::start({.storage = store_});
        plain->push(dir_->path() / "layout", "cdi/disk:v1");
    }
    static void TearDownTestSuite() {
        delete pki_;
        delete dir_;
        pki_ = nullptr;
        dir_ = nullptr;
    }
    void SetUp() override {
        CDI_REQUIRE_TOOL("docker-registry");
        CDI_REQUIRE_TOOL("skopeo");
    }

    static image_reference ref(const docker_registry& reg, const std::string& repo_tag = "cdi/disk:v1") {
        auto r = image_reference::parse(reg.endpoint(repo_tag));
        EXPECT_TRUE(r) << r.error().message();
        return *r;
    }
    static http_options options(bool insecure = false) {
        http_options o;
        o.insecure_tls = insecure;
        o.max_retries = 1;
        o.retry_backoff = std::chrono::milliseconds(50);
        return o;
    }
    // Reads the manifest and the whole layer, verified: the proof a client works end to end.
    static void expect_pull_works(registry_client& c) {
        auto m = c.top_manifest();
        ASSERT_TRUE(m) << m.error().message();
        auto parsed = parse_manifest(m->body, m->content_type);
        ASSERT_TRUE(parsed) << parsed.error().message();
        const auto& manifest = std::get<image_manifest>(*parsed);
        ASSERT_EQ(manifest.layers.size(), 1u);
        auto blob = c.open_blob(manifest.layers[0]);
        ASSERT_TRUE(blob) << blob.error().message();
        auto checked = verified_blob(std::move(*blob), manifest.layers[0], "layer");
        ASSERT_TRUE(checked);
        auto v = (*checked)->drain_and_verify();
        EXPECT_TRUE(v) << v.error().message();
        EXPECT_EQ((*checked)->bytes(), manifest.layers[0].size);
    }

    static inline test::temp_dir* dir_ = nullptr;
    static inline test::pki* pki_ = nullptr;
    static inline std::filesystem::path store_;
    cancel_token cancel_;
};

TEST_F(registry_client_test, insecure_falls_back_to_plain_http) {
    auto reg = docker_registry::start({.storage = store_});
    auto c = registry_client::connect(ref(*reg), options(true), cancel_);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ((*c)->scheme(), "http");
    expect_pull_works(**c);
}

TEST_F(registry_client_test, plain_http_registry_without_insecure_is_refused_quickly) {
    auto reg = docker_registry::start({.storage = store_});
    const auto start = std::chrono::steady_clock::now();
    auto c = registry_client::connect(ref(*reg), options(false), cancel_);
    ASSERT_FALSE(c);
    EXPECT_TRUE(c.error().is(errc::tls_verify)) << c.error().message();
    EXPECT_NE(c.error().context.find(reg->host()), std::string::npos) << c.error().message();
    // A protocol mismatch is not retried as if it were a network blip.
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(registry_client_test, https_with_the_ca_in_the_cert_dir_works) {
    auto reg = docker_registry::start({.storage = store_, .tls_cert = pki_->crt("server"), .tls_key = pki_->key("server")});
    test::temp_dir certs;
    std::filesystem::copy_file(pki_->crt("ca"), certs / "registry-ca.pem");
    auto opts = options();
    opts.ca_dirs = {certs.path()};
    auto c = registry_client::connect(ref(*reg), opts, cancel_);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ((*c)->scheme(), "https");
    expect_pull_works(**c);
}

TEST_F(registry_client_test, a_proxy_sending_bytes_after_its_connect_answer_is_refused_and_never_retried_as_http) {
    auto reg = docker_registry::start({.storage = store_, .tls_cert = pki_->crt("server"), .tls_key = pki_->key("server")});
    // A forged 401 whose realm would send the credentials to the proxy's choice.
    test::fault_http_server proxy(test::fault_http_server::forward_proxy(
        test::fault_http_server::head(401, {{"WWW-Authenticate", R"(Bearer realm="http://127.0.0.1:1/token")"}, {"Content-Length", "0"}})));
    for (const bool insecure : {false, true}) {
        auto opts = options(insecure);
        opts.proxy.https_proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
        opts.proxy.http_proxy = opts.proxy.https_proxy;  // a plain-http fallback would show as a GET here
        opts.credentials = basic_credentials{"alice", "s3cret-pw"};
        const auto before = proxy.requests().size();
        auto c = registry_client::connect(ref(*reg), opts, cancel_);
        ASSERT_FALSE(c) << "insecure=" << insecure;
        EXPECT_TRUE(c.error().is(errc::proxy)) << c.error().message();
        auto reqs = proxy.requests();
        ASSERT_EQ(reqs.size(), before + 1) << "insecure=" << insecure;  // one CONNECT: no retry, no http fallback
        EXPECT_EQ(reqs.back().method, "CONNECT");
    }
}

TEST_F(registry_client_test, https_with_an_untrusted_certificate_fails_tls_verify) {
    auto reg = docker_registry::start({.storage = store_, .tls_cert = pki_->crt("server"), .tls_key = pki_->key("server")});
    auto c = registry_client::connect(ref(*reg), options(false), cancel_);
    ASSERT_FALSE(c);
    EXPECT_TRUE(c.error().is(errc::tls_verify)) << c.error().message();
}

TEST_F(registry_client_test, insecure_tls_skips_verification_but_stays_on_https) {
    auto reg = docker_registry::start({.storage = store_, .tls_cert = pki_->crt("server"), .tls_key = pki_->key("server")});
    auto c = registry_client::connect(ref(*reg), options(true), cancel_);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ((*c)->scheme(), "https");
    expect_pull_works(**c);
}

TEST_F(registry_client_test, basic_auth_with_the_right_credentials_pulls) {
    auto reg = docker_registry::start({.storage = store_, .htpasswd = std::pair{std::string("alice"), std::string("s3cret-pw")}});
    auto opts = options(true);
    opts.credentials = basic_credentials{"alice", "s3cret-pw"};
    auto c = registry_client::connect(ref(*reg), opts, cancel_);
    ASSERT_TRUE(c) << c.error().message();
    expect_pull_works(**c);
}

TEST_F(registry_client_test, basic_auth_without_or_with_wrong_credentials_is_an_auth_error) {
    auto reg = docker_registry::start({.storage = store_, .htpasswd = std::pair{std::string("alice"), std::string("s3cret-pw")}});
    for (std::optional<basic_credentials> creds : {std::optional<basic_credentials>(), std::optional(basic_credentials{"alice", "wrong-pw"})}) {
        auto opts = options(true);
        opts.credentials = creds;
        auto c = registry_client::connect(ref(*reg), opts, cancel_);
        ASSERT_TRUE(c) << c.error().message();  // the ping accepts a 401
        auto m = (*c)->top_manifest();
        ASSERT_FALSE(m);
        EXPECT_TRUE(m.error().is(errc::auth)) << m.error().message();
        EXPECT_EQ(m.error().message().find("wrong-pw"), std::string::npos);
    }
}

TEST_F(registry_client_test, token_auth_fetches_a_scoped_token_with_the_credentials) {
    auto reg = docker_registry::start({.storage = store_, .tls_cert = pki_->crt("server"), .tls_key = pki_->key("server"),
                                       .token_auth = true});
    auto opts = options(true);
    opts.credentials = basic_credentials{reg->credentials()->first, reg->credentials()->second};
    auto c = registry_client::connect(ref(*reg), opts, cancel_);
    ASSERT_TRUE(c) << c.error().message();
    expect_pull_works(**c);
    const auto log = reg->token_log();
    ASSERT_FALSE(log.empty());
    // One token serves the manifest and the blob: it is kept, not fetched per request.
    EXPECT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0].service, docker_registry::service_name);
    ASSERT_EQ(log[0].scope.size(), 1u);
    EXPECT_EQ(log[0].scope[0], "repository:cdi/disk:pull");
    EXPECT_TRUE(log[0].authorization);
    EXPECT_EQ(log[0].status, 200);
}

TEST_F(registry_client_test, token_auth_with_wrong_credentials_is_an_auth_error_naming_the_token_service) {
    auto reg = docker_registry::start({.storage = store_, .tls_cert = pki_->crt("server"), .tls_key = pki_->key("server"),
                                       .token_auth = true});
    auto opts = options(true);
    opts.credentials = basic_credentials{reg->credentials()->first, "not-the-password"};
    auto c = registry_client::connect(ref(*reg), opts, cancel_);
    ASSERT_TRUE(c) << c.error().message();
    auto m = (*c)->top_manifest();
    ASSERT_FALSE(m);
    EXPECT_TRUE(m.error().is(errc::auth)) << m.error().message();
    EXPECT_NE(m.error().context.find("token service"), std::string::npos) << m.error().message();
    EXPECT_EQ(m.error().message().find("not-the-password"), std::string::npos);
}

TEST_F(registry_client_test, an_expired_token_is_fetched_again) {
    auto reg = docker_registry::start({.storage = store_, .tls_cert = pki_->crt("server"), .tls_key = pki_->key("server"),
                                       .token_auth = true, .token_expired_first = 1});
    auto opts = options(true);
    opts.credentials = basic_credentials{reg->credentials()->first, reg->credentials()->second};
    auto c = registry_client::connect(ref(*reg), opts, cancel_);
    ASSERT_TRUE(c) << c.error().message();
    expect_pull_works(**c);
    EXPECT_EQ(reg->token_log().size(), 2u);
}

TEST_F(registry_client_test, a_missing_tag_is_a_source_error_naming_the_manifest) {
    auto reg = docker_registry::start({.storage = store_});
    auto c = registry_client::connect(ref(*reg, "cdi/disk:nope"), options(true), cancel_);
    ASSERT_TRUE(c) << c.error().message();
    auto m = (*c)->top_manifest();
    ASSERT_FALSE(m);
    EXPECT_TRUE(m.error().is(errc::source_http)) << m.error().message();
    EXPECT_NE(m.error().context.find("manifest nope"), std::string::npos) << m.error().message();
    EXPECT_NE(m.error().context.find("404"), std::string::npos) << m.error().message();
}

TEST_F(registry_client_test, an_unreachable_registry_fails_the_connect) {
    // A port nothing listens on (the registry was stopped).
    std::string endpoint;
    {
        auto reg = docker_registry::start({.storage = store_});
        endpoint = reg->endpoint("cdi/disk:v1");
    }
    auto r = image_reference::parse(endpoint);
    ASSERT_TRUE(r);
    auto c = registry_client::connect(*r, options(false), cancel_);
    ASSERT_FALSE(c);
    EXPECT_TRUE(c.error().is(errc::source_unreachable)) << c.error().message();
}

}  // namespace
}  // namespace cdi
