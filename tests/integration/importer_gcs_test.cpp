// cdi-importer with IMPORTER_SOURCE=gcs (issue 16) against gcs_server.py: a token endpoint that
// verifies the service account's RS256 assertion with the public half of a key made here, and the
// XML API's object GET that checks the bearer token. No GCS emulator runs here.
#include "support/gcs_server.hpp"
#include "support/importer_process.hpp"
#include "support/test_env.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <map>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::must_run;
using test::q;

class importer_gcs_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_tool("qemu-img") || !test::have_tool("openssl") || !fs::exists("/usr/bin/python3"))
            GTEST_SKIP() << "needs qemu-img, openssl and python3";
        if (test::run_command("/usr/bin/python3 -c 'import cryptography'").status != 0) GTEST_SKIP() << "needs python3-cryptography";
        fs::create_directories(data_);
        fs::create_directories(scratch_);
        fs::create_directories(root_ / "bkt" / "images");
        must_run("head -c 3M /dev/urandom > " + q(root_ / "bkt" / "images" / "disk.img") + " && truncate -s 7M " +
                 q(root_ / "bkt" / "images" / "disk.img") + " && head -c 1M /dev/urandom >> " + q(root_ / "bkt" / "images" / "disk.img"));
        raw_ = test::read_file(root_ / "bkt" / "images" / "disk.img");
        must_run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + q(dir_ / "sa.pem") + " 2>/dev/null");
        must_run("openssl pkey -in " + q(dir_ / "sa.pem") + " -pubout -out " + q(dir_ / "sa.pub"));
        must_run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + q(dir_ / "other.pem") + " 2>/dev/null");
    }

    std::unique_ptr<test::gcs_server> serve(test::gcs_server_options o = {}) {
        o.root = root_;
        o.public_key = dir_ / "sa.pub";
        return test::gcs_server::start(std::move(o));
    }

    // The key file CDI mounts at /google/credentials.json, naming the test server's token endpoint.
    fs::path key_file(const test::gcs_server& gcs, const fs::path& pem) {
        boost::json::object o{{"type", "service_account"},
                              {"project_id", "cdi-test"},
                              {"private_key_id", "0123abcd"},
                              {"private_key", test::slurp(pem)},
                              {"client_email", "importer@cdi-test.iam.gserviceaccount.com"},
                              {"token_uri", gcs.token_uri()}};
        const auto text = boost::json::serialize(o);
        const auto f = dir_ / "credentials.json";
        test::write_file(f, text.data(), text.size());
        return f;
    }

    test::importer_outcome run(const std::string& endpoint, std::map<std::string, std::string> env = {}) {
        env.emplace("IMPORTER_SOURCE", "gcs");
        env.emplace("IMPORTER_ENDPOINT", endpoint);
        env.emplace("IMPORTER_CONTENTTYPE", "kubevirt");
        return test::run_importer(dir_.path(), std::move(env));
    }

    test::temp_dir dir_;
    fs::path data_ = dir_ / "data";
    fs::path scratch_ = dir_ / "scratch";
    fs::path root_ = dir_ / "gcs" / "root";
    std::vector<char> raw_;
};

TEST_F(importer_gcs_test, a_service_account_gets_one_token_and_the_object_is_read_with_it) {
    auto gcs = serve();
    fs::remove(scratch_);
    auto o = run(gcs->url("/bkt/images/disk.img"), {{"GOOGLE_APPLICATION_CREDENTIALS", key_file(*gcs, dir_ / "sa.pem").string()}});
    ASSERT_EQ(o.status, 0) << o.log << gcs->log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
    const auto log = gcs->log();
    EXPECT_NE(log.find(R"({"method": "POST", "path": "/token", "status": 200})"), std::string::npos) << log;
    // The object is one escaped path segment, as the Go storage client's XML reader sends it.
    EXPECT_NE(log.find(R"({"method": "GET", "path": "/bkt/images%2Fdisk.img", "range": null, "bearer": true, "status": 200})"),
              std::string::npos) << log;
    EXPECT_EQ(o.log.find("BEGIN PRIVATE KEY"), std::string::npos) << "the private key is in the log";
}

TEST_F(importer_gcs_test, a_key_the_token_endpoint_cannot_verify_is_e_auth_with_the_oauth_error) {
    auto gcs = serve();
    auto o = run(gcs->url("/bkt/images/disk.img"), {{"GOOGLE_APPLICATION_CREDENTIALS", key_file(*gcs, dir_ / "other.pem").string()}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_EQ(o.message.rfind("Unable to connect to gcs data source: E_AUTH: GCS Importer: bucket bkt, object images/disk.img: oauth2: cannot fetch token", 0), 0u)
        << o.message;
    EXPECT_NE(o.message.find("invalid_grant: Invalid JWT Signature."), std::string::npos) << o.message;
    EXPECT_EQ(o.message.find("PRIVATE KEY"), std::string::npos) << o.message;
    EXPECT_EQ(o.log.find("PRIVATE KEY"), std::string::npos) << o.log;
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(importer_gcs_test, a_reset_body_resumes_with_a_range_and_the_same_token) {
    auto gcs = serve({.reset_after = 1 << 20});
    auto o = run(gcs->url("/bkt/images/disk.img"), {{"GOOGLE_APPLICATION_CREDENTIALS", key_file(*gcs, dir_ / "sa.pem").string()}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
    const auto log = gcs->log();
    EXPECT_NE(log.find(R"("range": "bytes=)"), std::string::npos) << log;
    EXPECT_NE(log.find(R"("bearer": true, "status": 206})"), std::string::npos) << log;
    // Reused until it expires: one token for both requests.
    EXPECT_EQ(log.find("/token"), log.rfind("/token")) << log;
}

TEST_F(importer_gcs_test, without_a_key_file_the_object_is_read_anonymously_and_a_missing_one_is_named) {
    auto gcs = serve({.anonymous = true});
    auto o = run(gcs->url("/bkt/images/disk.img"));
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
    EXPECT_NE(gcs->log().find(R"("bearer": false, "status": 200})"), std::string::npos) << gcs->log();
    EXPECT_EQ(gcs->log().find("/token"), std::string::npos) << gcs->log();

    fs::remove(data_ / "disk.img");
    o = run(gcs->url("/bkt/images/nope.img"));
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_EQ(o.message, "Unable to connect to gcs data source: E_SOURCE_HTTP: GCS Importer: bucket bkt, object images/nope.img: "
                         "expected status code 200, got 404. Status: 404 Not Found: NoSuchKey: The specified key does not exist.");
}

TEST_F(importer_gcs_test, a_bad_endpoint_or_key_file_fails_before_any_request) {
    auto gcs = serve();
    auto o = run("s3://bkt/disk.img");
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.message.find("E_BAD_REQUEST: GCS Importer: unable to parse endpoint"), std::string::npos) << o.message;
    test::write_file(dir_ / "user.json", R"({"type":"authorized_user"})", 26);
    o = run(gcs->url("/bkt/images/disk.img"), {{"GOOGLE_APPLICATION_CREDENTIALS", (dir_ / "user.json").string()}});
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.message.find("E_BAD_REQUEST: GCS Importer: "), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("only a service account key"), std::string::npos) << o.message;
    EXPECT_EQ(gcs->log(), "");
}

}  // namespace
}  // namespace cdi
