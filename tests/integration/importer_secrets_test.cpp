// Secrets never reach a log line or the termination message (issue 12.5): every failure path of the
// real cdi-importer given a marked password in the endpoint, the proxies, the access key or an extra
// header. A password holding '/', '?' or '#' makes the URL unparsable: the variable is named instead.
#include "support/importer_process.hpp"
#include "support/nginx.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace cdi {
namespace {

constexpr const char* mark = "S3CR3T-MARK";

class importer_secrets_test : public ::testing::Test {
protected:
    void SetUp() override { std::filesystem::create_directories(dir_ / "data"); }

    test::importer_outcome run(std::map<std::string, std::string> env) {
        env.emplace("IMPORTER_CONTENTTYPE", "kubevirt");
        env.emplace("OWNER_UID", "0f3c-uid");
        return test::run_importer(dir_.path(), std::move(env));
    }

    // Exit 1, a message naming `names`, and the mark nowhere.
    void expect_secret_kept(const test::importer_outcome& o, const std::string& names) {
        EXPECT_EQ(o.status, 1) << o.log;
        EXPECT_EQ(o.message.rfind("Unable to ", 0), 0u) << o.message;
        if (!names.empty()) {
            EXPECT_NE(o.message.find(names), std::string::npos) << o.message;
        }
        EXPECT_EQ(o.message.find(mark), std::string::npos) << o.message;
        EXPECT_EQ(o.log.find(mark), std::string::npos) << o.log;
    }

    test::temp_dir dir_;
    // Nothing listens on port 1: an origin that refuses the connection.
    const std::string unreachable_ = "http://127.0.0.1:1/disk.img";
};

TEST_F(importer_secrets_test, an_endpoint_whose_password_breaks_the_url_is_named_never_echoed) {
    for (const std::string pw : {"/", "?", "#"}) {
        auto o = run({{"IMPORTER_SOURCE", "http"},
                      {"IMPORTER_ENDPOINT", "http://user:" + std::string(mark) + pw + "x@origin.example/disk.img"}});
        expect_secret_kept(o, "IMPORTER_ENDPOINT: invalid URL");
    }
}

TEST_F(importer_secrets_test, a_proxy_whose_password_breaks_the_url_is_named_never_echoed) {
    for (const std::string var : {"http_proxy", "HTTP_PROXY"}) {
        for (const std::string pw : {"/", "?", "#"}) {
            auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", unreachable_},
                          {var, "http://user:" + std::string(mark) + pw + "x@proxy.example:3128"}});
            expect_secret_kept(o, "http_proxy: invalid URL");
        }
    }
    for (const std::string var : {"https_proxy", "HTTPS_PROXY"}) {
        auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", "https://127.0.0.1:1/disk.img"},
                      {var, "user:" + std::string(mark) + "/x@proxy.example:3128"}});
        expect_secret_kept(o, "https_proxy: invalid URL");
    }
}

TEST_F(importer_secrets_test, a_registry_reference_holding_credentials_is_named_never_echoed) {
    for (const std::string pw : {"", "/", "?", "#"}) {
        auto o = run({{"IMPORTER_SOURCE", "registry"},
                      {"IMPORTER_ENDPOINT", "docker://user:" + std::string(mark) + pw + "x@127.0.0.1:1/repo:tag"}});
        expect_secret_kept(o, "IMPORTER_ENDPOINT");
    }
}

TEST_F(importer_secrets_test, a_registry_pull_through_a_broken_proxy_url_is_named_never_echoed) {
    auto o = run({{"IMPORTER_SOURCE", "registry"}, {"IMPORTER_ENDPOINT", "docker://127.0.0.1:1/repo:tag"},
                  {"https_proxy", "http://user:" + std::string(mark) + "#x@proxy.example:3128"},
                  {"http_proxy", "http://user:" + std::string(mark) + "?x@proxy.example:3128"}});
    expect_secret_kept(o, "proxy: invalid URL");
}

// An origin that answers 401 (wrong password) and 404: the failures that quote the URL.
TEST_F(importer_secrets_test, credentials_that_parse_stay_out_of_http_failures) {
    if (!test::have_tool("nginx")) GTEST_SKIP() << "needs nginx";
    std::filesystem::create_directories(dir_ / "www");
    auto web = test::nginx_server::start({.root = dir_ / "www", .basic_auth = std::pair<std::string, std::string>{"user", "right"}});
    auto o = run({{"IMPORTER_SOURCE", "http"},
                  {"IMPORTER_ENDPOINT", "http://user:" + std::string(mark) + "@127.0.0.1:" + std::to_string(web->port()) + "/disk.img"}});
    expect_secret_kept(o, "");
    o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/missing.img")},
             {"IMPORTER_ACCESS_KEY_ID", "user"}, {"IMPORTER_SECRET_KEY", mark},
             {"IMPORTER_EXTRA_HEADER_0", std::string("X-Token: ") + mark}});
    expect_secret_kept(o, "");
}

}  // namespace
}  // namespace cdi
