// cdi-importer with IMPORTER_SOURCE=s3 (issue 16) against s3_server.py, an S3 server that verifies
// every request's Signature V4 (tests/support/s3_server.hpp); objects are seeded with curl's own
// signer. The environment the controller sets in; exit status, termination message and target out.
#include "support/importer_process.hpp"
#include "support/pki.hpp"
#include "support/s3_server.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <map>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::must_run;
using test::q;

class importer_s3_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_tool("qemu-img") || !test::have_tool("curl") || !fs::exists("/usr/bin/python3"))
            GTEST_SKIP() << "needs qemu-img, curl and python3";
        fs::create_directories(data_);
        fs::create_directories(scratch_);
        fs::create_directories(src_);
        // 8 MiB: 3 MiB of data, a hole, 1 MiB of data at the end.
        must_run("head -c 3M /dev/urandom > " + q(src_ / "disk.img") + " && truncate -s 7M " + q(src_ / "disk.img") +
                 " && head -c 1M /dev/urandom >> " + q(src_ / "disk.img"));
        raw_ = test::read_file(src_ / "disk.img");
    }

    std::unique_ptr<test::s3_server> serve(test::s3_server_options o = {}) {
        o.root = dir_ / "s3" / "root";
        return test::s3_server::start(std::move(o));
    }

    test::importer_outcome run(const test::s3_server& s3, const std::string& object, std::map<std::string, std::string> env = {},
                               bool with_keys = true) {
        env.emplace("IMPORTER_SOURCE", "s3");
        env.emplace("IMPORTER_ENDPOINT", s3.url("/" + object));
        env.emplace("IMPORTER_CONTENTTYPE", "kubevirt");
        if (with_keys) {
            env.emplace("IMPORTER_ACCESS_KEY_ID", s3.options().access_key);
            env.emplace("IMPORTER_SECRET_KEY", s3.options().secret_key);
        }
        return test::run_importer(dir_.path(), std::move(env));
    }

    static void expect_no_secret(const test::s3_server& s3, const test::importer_outcome& o) {
        EXPECT_EQ(o.log.find(s3.options().secret_key), std::string::npos) << "the secret key is in the log";
        EXPECT_EQ(o.message.find(s3.options().secret_key), std::string::npos) << "the secret key is in the message";
    }

    test::temp_dir dir_;
    fs::path data_ = dir_ / "data";
    fs::path scratch_ = dir_ / "scratch";
    fs::path src_ = dir_ / "src";
    std::vector<char> raw_;
};

TEST_F(importer_s3_test, a_qcow2_object_is_imported_with_every_request_signed_in_the_endpoints_region) {
    must_run("qemu-img convert -f raw -O qcow2 " + q(src_ / "disk.img") + " " + q(src_ / "disk.qcow2"));
    auto s3 = serve();
    s3->put("images/vm/disk.qcow2", src_ / "disk.qcow2");
    auto o = run(*s3, "images/vm/disk.qcow2");
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(o.message, R"({"scratchSpaceRequired":false,"preallocationApplied":false,"message":"Import Complete"})");
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
    const auto log = s3->log();
    // CDI's region for a host that is not s3.<region>.amazonaws.com: its first label ("127").
    EXPECT_NE(log.find(R"("method": "GET", "path": "/images/vm/disk.qcow2", "range": null, "signed": true, "region": "127", "status": 200)"),
              std::string::npos) << log;
    EXPECT_EQ(log.find(R"("method": "HEAD")"), std::string::npos) << "CDI's client sends only the GET: " << log;
    expect_no_secret(*s3, o);
}

TEST_F(importer_s3_test, a_raw_xz_object_streams_to_the_target_without_scratch_and_its_checksum_is_checked) {
    must_run("xz -T2 -c " + q(src_ / "disk.img") + " > " + q(src_ / "disk.img.xz"));
    auto s3 = serve();
    s3->put("images/disk.img.xz", src_ / "disk.img.xz");
    fs::remove(scratch_);
    const auto sha = must_run("sha256sum " + q(src_ / "disk.img.xz") + " | cut -c1-64");
    auto o = run(*s3, "images/disk.img.xz", {{"IMPORTER_CHECKSUM", "sha256:" + sha.substr(0, 64)}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
    EXPECT_NE(o.log.find("Processing phase TransferDataFile"), std::string::npos) << o.log;

    fs::remove(data_ / "disk.img");
    auto bad = run(*s3, "images/disk.img.xz", {{"IMPORTER_CHECKSUM", "sha256:" + std::string(64, '0')}});
    EXPECT_EQ(bad.status, 0) << bad.log;  // a checksum mismatch is final: exit 0 with the message (contract 1.4)
    EXPECT_NE(bad.message.find("checksum mismatch"), std::string::npos) << bad.message;
}

TEST_F(importer_s3_test, an_archive_object_is_extracted_into_the_volume) {
    fs::create_directories(src_ / "tree" / "sub");
    test::write_file(src_ / "tree" / "sub" / "hello.txt", "hello\n", 6);
    must_run("tar -C " + q(src_ / "tree") + " -czf " + q(src_ / "tree.tar.gz") + " sub");
    auto s3 = serve();
    s3->put("archives/tree.tar.gz", src_ / "tree.tar.gz");
    auto o = run(*s3, "archives/tree.tar.gz", {{"IMPORTER_CONTENTTYPE", "archive"}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::slurp(data_ / "sub" / "hello.txt"), "hello\n");
}

TEST_F(importer_s3_test, a_wrong_secret_is_e_auth_with_cdis_words_and_no_secret_anywhere) {
    auto s3 = serve();
    s3->put("images/disk.img", src_ / "disk.img");
    auto o = run(*s3, "images/disk.img", {{"IMPORTER_ACCESS_KEY_ID", s3->options().access_key}, {"IMPORTER_SECRET_KEY", "Wrong/Secret+Key"}},
                 false);
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_EQ(o.message, "Unable to connect to s3 data source: E_AUTH: could not get s3 object: \"images/disk.img\": "
                         "expected status code 200, got 403. Status: 403 Forbidden: SignatureDoesNotMatch: The request signature we calculated "
                         "does not match the signature you provided. Check your key and signing method.");
    EXPECT_NE(s3->log().find("SignatureDoesNotMatch"), std::string::npos) << s3->log();
    EXPECT_EQ(o.log.find("Wrong/Secret+Key"), std::string::npos) << o.log;
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(importer_s3_test, a_missing_object_or_bucket_is_named_and_fails) {
    auto s3 = serve();
    s3->put("images/disk.img", src_ / "disk.img");
    auto o = run(*s3, "images/nope.img");
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_EQ(o.message, "Unable to connect to s3 data source: E_SOURCE_HTTP: could not get s3 object: \"images/nope.img\": "
                         "expected status code 200, got 404. Status: 404 Not Found: NoSuchKey: The specified key does not exist.");
    o = run(*s3, "nobucket/disk.img");
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_NE(o.message.find("could not get s3 object: \"nobucket/disk.img\": expected status code 200, got 404. Status: 404 Not Found: "
                             "NoSuchBucket: The specified bucket does not exist"), std::string::npos) << o.message;
    o = run(*s3, "images");
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_EQ(o.message, "Unable to connect to s3 data source: E_BAD_REQUEST: could not get s3 object: \"images/\": "
                         "the endpoint's path names no object");
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(importer_s3_test, a_body_reset_midway_resumes_with_a_range_signed_afresh) {
    auto s3 = serve({.reset_after = 1 << 20});
    s3->put("images/disk.img", src_ / "disk.img");
    auto o = run(*s3, "images/disk.img");
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
    const auto log = s3->log();
    // The server refuses an unsigned Range (s3_server.py): a 206 means the resume was signed with it.
    EXPECT_NE(log.find(R"("range": "bytes=)"), std::string::npos) << log;
    EXPECT_NE(log.find(R"("signed": true, "region": "127", "status": 206)"), std::string::npos) << log;
}

TEST_F(importer_s3_test, a_bucket_over_https_is_verified_against_the_cert_dir) {
    test::pki p(dir_ / "pki");
    auto s3 = serve({.tls_cert = p.crt("server"), .tls_key = p.key("server")});
    s3->put("images/disk.img", src_ / "disk.img");
    auto untrusted = run(*s3, "images/disk.img");
    EXPECT_EQ(untrusted.status, 1);
    EXPECT_NE(untrusted.message.find("E_TLS_VERIFY"), std::string::npos) << untrusted.message;
    fs::create_directories(dir_ / "certs");
    fs::copy_file(p.crt("ca"), dir_ / "certs" / "ca.pem");
    auto trusted = run(*s3, "images/disk.img", {{"IMPORTER_CERT_DIR", (dir_ / "certs").string()}});
    ASSERT_EQ(trusted.status, 0) << trusted.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
}

TEST_F(importer_s3_test, without_keys_a_public_object_is_read_unsigned_and_a_private_one_is_e_auth) {
    auto pub = serve({.anonymous = true});
    pub->put("public/disk.img", src_ / "disk.img");
    auto o = run(*pub, "public/disk.img", {}, false);
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
    EXPECT_NE(pub->log().find(R"("signed": false, "region": "", "status": 200)"), std::string::npos) << pub->log();
    pub.reset();

    fs::remove(data_ / "disk.img");
    auto priv = serve();
    o = run(*priv, "public/disk.img", {}, false);
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_EQ(o.message, "Unable to connect to s3 data source: E_AUTH: could not get s3 object: \"public/disk.img\": "
                         "expected status code 200, got 403. Status: 403 Forbidden: AccessDenied: Access Denied");
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

}  // namespace
}  // namespace cdi
