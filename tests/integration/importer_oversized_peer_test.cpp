// What a peer or the pod spec hands the importer can no longer crash it (issue 19.1): a bearer token
// or an extra header too big for a request made Beast throw while building it, nothing caught it,
// and the importer died by SIGABRT with an empty termination message (a crash loop with no reason).
// Now each is a failure with its class, and the real binary exits 1 with `Unable to process data: …`.
#include "support/docker_registry.hpp"
#include "support/importer_process.hpp"
#include "support/pki.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <map>

namespace cdi {
namespace {

namespace fs = std::filesystem;

class importer_oversized_peer_test : public ::testing::Test {
protected:
    void SetUp() override { fs::create_directories(dir_ / "data"); }

    test::importer_outcome run(std::map<std::string, std::string> env) {
        env.emplace("IMPORTER_CONTENTTYPE", "kubevirt");
        env.emplace("OWNER_UID", "0f3c-uid");
        return test::run_importer(dir_.path(), std::move(env));
    }

    test::temp_dir dir_;
};

// A hostile token service: every token padded to 70 KiB. The pull fails at the token, before any manifest.
TEST_F(importer_oversized_peer_test, a_huge_token_from_the_token_service_is_an_auth_error_not_a_crash) {
    if (!test::have_tool("docker-registry")) GTEST_SKIP() << "needs docker-registry";
    test::pki pki(dir_ / "pki");
    auto reg = test::docker_registry::start({.tls_cert = pki.crt("server"), .tls_key = pki.key("server"),
                                             .token_auth = true, .token_huge = 70 * 1024});
    fs::create_directories(dir_ / "certs");
    fs::copy_file(pki.crt("ca"), dir_ / "certs" / "ca.pem");
    const auto creds = *reg->credentials();
    auto o = run({{"IMPORTER_SOURCE", "registry"}, {"IMPORTER_ENDPOINT", reg->endpoint("cdi/any:v1")},
                  {"IMPORTER_CERT_DIR", (dir_ / "certs").string()},
                  {"IMPORTER_ACCESS_KEY_ID", creds.first}, {"IMPORTER_SECRET_KEY", creds.second}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_EQ(o.message.rfind("Unable to process data: ", 0), 0u) << o.message;
    EXPECT_NE(o.message.find("E_AUTH"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("a token of"), std::string::npos) << o.message;
    EXPECT_FALSE(fs::exists(dir_ / "data" / "disk.img"));
}

// A 64 KiB IMPORTER_EXTRA_HEADER_* or /extraheaders value: refused at start-up, naming only its size.
TEST_F(importer_oversized_peer_test, a_huge_extra_header_is_a_configuration_error_not_a_crash) {
    const std::string big = "X-Big: " + std::string(64 * 1024, 'v');
    auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", "http://127.0.0.1:1/disk.img"},
                  {"IMPORTER_EXTRA_HEADER_0", big}});
    EXPECT_EQ(o.status, 1) << o.log.substr(0, 2000);
    EXPECT_EQ(o.message.rfind("Unable to process data: E_BAD_REQUEST: invalid configuration: an extra header", 0), 0u)
        << o.message.substr(0, 2000);
    EXPECT_EQ(o.message.find("vvvv"), std::string::npos);

    fs::create_directories(dir_ / "extraheaders");
    test::write_file(dir_ / "extraheaders" / "big", big.data(), big.size());
    o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", "http://127.0.0.1:1/disk.img"},
             {"CDI_EXTRA_HEADERS_DIR", (dir_ / "extraheaders").string()}});
    EXPECT_EQ(o.status, 1) << o.log.substr(0, 2000);
    EXPECT_EQ(o.message.rfind("Unable to process data: E_BAD_REQUEST: invalid configuration: an extra header", 0), 0u)
        << o.message.substr(0, 2000);
}

// An endpoint URL too long for a request line: refused by the connection with a class, not thrown.
TEST_F(importer_oversized_peer_test, a_request_over_the_header_limit_is_refused_with_a_class) {
    auto o = run({{"IMPORTER_SOURCE", "http"},
                  {"IMPORTER_ENDPOINT", "http://127.0.0.1:1/" + std::string(70 * 1024, 'p') + ".img"}});
    EXPECT_EQ(o.status, 1) << o.log.substr(0, 2000);
    EXPECT_NE(o.message.find("E_BAD_REQUEST: the request to 127.0.0.1:1 has a header block of"), std::string::npos)
        << o.message.substr(0, 2000);
}

}  // namespace
}  // namespace cdi
