// The cdi-uploadserver binary as the upload controller runs it: a real process on a free port, real
// mutual TLS (certificates made at test time), curl as the client (contract section 6).
#include "support/upload_server_fixture.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <thread>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::must_run;
using test::q;
using test::server_process;
using test::slurp;

class upload_server_test : public test::upload_server_fixture {};

TEST_F(upload_server_test, healthz_answers_200_ok_without_a_client_certificate) {
    auto& s = start();
    EXPECT_EQ(curl("", "/healthz", ""), "200");
    EXPECT_EQ(body(), "OK");
    s.signal(SIGTERM);
    EXPECT_EQ(s.wait(), 1) << s.log();
}

TEST_F(upload_server_test, a_raw_upload_is_byte_exact_and_ends_the_process_with_upload_complete) {
    auto& s = start();
    EXPECT_EQ(upload(dir_ / "disk.raw"), "200") << s.log();
    EXPECT_EQ(body(), "");
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
    EXPECT_EQ(slurp(dir_ / "termination-log"), R"({"preallocationApplied":false,"message":"Upload Complete"})");
}

TEST_F(upload_server_test, a_qcow2_upload_lands_as_its_raw_disk) {
    must_run("qemu-img convert -f raw -O qcow2 " + q(dir_ / "disk.raw") + " " + q(dir_ / "disk.qcow2"));
    auto& s = start();
    EXPECT_EQ(upload(dir_ / "disk.qcow2"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
    EXPECT_TRUE(fs::is_empty(scratch_));
}

TEST_F(upload_server_test, a_chunked_raw_xz_upload_lands_decompressed) {
    must_run("xz -T2 -c " + q(dir_ / "disk.raw") + " > " + q(dir_ / "disk.raw.xz"));
    auto& s = start();
    EXPECT_EQ(upload(dir_ / "disk.raw.xz", "-H 'Transfer-Encoding: chunked'"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
}

TEST_F(upload_server_test, uploads_without_the_right_client_certificate_get_401_and_bad_paths_404) {
    auto& s = start();
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "disk.raw"), "/v1beta1/upload", "other"), "401");
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "disk.raw"), "/v1beta1/upload", ""), "401");
    const std::string rogue = curl("--data-binary @" + q(dir_ / "disk.raw"), "/v1beta1/upload", "rogue");
    EXPECT_TRUE(rogue == "401" || rogue.rfind("curl exit", 0) == 0) << rogue;
    EXPECT_EQ(curl("", "/v1beta1/upload"), "404");  // GET
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "disk.raw"), "/v1beta1/uploadx"), "404");
    EXPECT_EQ(body(), "404 page not found\n");
    EXPECT_EQ(curl("-I", "/v1beta1/upload-async", ""), "200");  // async support probe: no auth
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    EXPECT_EQ(upload(dir_ / "disk.raw"), "200") << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
}

TEST_F(upload_server_test, a_second_upload_while_one_is_in_flight_gets_503) {
    auto& s = start();
    // A slow upload that gives up after 3 s: the server must return to idle afterwards.
    must_run("timeout 3 curl -sS --cacert " + q(pki_.crt("ca")) + " --cert " + q(pki_.crt("client")) + " --key " +
             q(pki_.key("client")) + " --limit-rate 256K --data-binary @" + q(dir_ / "disk.raw") + " " +
             url("/v1beta1/upload") + " >/dev/null 2>&1 &");
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(upload(dir_ / "disk.raw"), "503") << s.log();
    EXPECT_EQ(curl("", "/healthz", ""), "200");  // a slow upload does not block other connections
    std::this_thread::sleep_for(3s);
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));  // the cut-short upload's target was removed
    EXPECT_EQ(upload(dir_ / "disk.raw"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
}

TEST_F(upload_server_test, an_image_larger_than_upload_image_size_gets_400_with_cdi_capacity_words) {
    auto& s = start({{"UPLOAD_IMAGE_SIZE", "4Mi"}});
    EXPECT_EQ(upload(dir_ / "disk.raw"), "400") << s.log();
    EXPECT_NE(body().find("Saving stream failed: effective image size is larger than the reported available storage"),
              std::string::npos) << body();
    EXPECT_NE(s.log().find("effective image size is larger than the reported available"), std::string::npos);
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    s.signal(SIGTERM);
    EXPECT_EQ(s.wait(), 1) << s.log();
}

TEST_F(upload_server_test, an_invalid_image_gets_400_with_its_error_class) {
    must_run("qemu-img create -q -f qcow2 -b " + q(dir_ / "disk.raw") + " -F raw " + q(dir_ / "backed.qcow2"));
    auto& s = start();
    EXPECT_EQ(upload(dir_ / "backed.qcow2"), "400") << s.log();
    EXPECT_NE(body().find("Saving stream failed: E_UNSAFE_IMAGE"), std::string::npos) << body();
    s.signal(SIGTERM);
    EXPECT_EQ(s.wait(), 1) << s.log();
}

TEST_F(upload_server_test, a_body_shorter_than_its_content_length_fails_and_a_retry_succeeds) {
    auto& s = start();
    const std::string head = "POST /v1beta1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n";
    test::write_file(dir_ / "req", head.data(), head.size());
    must_run("head -c 1M /dev/urandom >> " + q(dir_ / "req"));
    test::run_command("openssl s_client -quiet -no_ign_eof -connect 127.0.0.1:" + std::to_string(port_) + " -cert " +
                      q(pki_.crt("client")) + " -key " + q(pki_.key("client")) + " -CAfile " + q(pki_.crt("ca")) +
                      " < " + q(dir_ / "req"));
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(s.wait(0ms), -1) << s.log();  // still serving
    EXPECT_NE(s.log().find("E_TRUNCATED"), std::string::npos) << s.log();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    EXPECT_EQ(upload(dir_ / "disk.raw"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
}

TEST_F(upload_server_test, duplicate_content_length_headers_get_400) {
    auto& s = start();
    auto r = test::run_command("(printf 'POST /v1beta1/upload HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 4\\r\\n"
                               "Content-Length: 5\\r\\n\\r\\nabcde'; sleep 1) | openssl s_client -quiet -no_ign_eof -connect 127.0.0.1:" +
                               std::to_string(port_) + " -cert " + q(pki_.crt("client")) + " -key " +
                               q(pki_.key("client")) + " -CAfile " + q(pki_.crt("ca")));
    EXPECT_NE(r.output.find("HTTP/1.1 400"), std::string::npos) << r.output;
    s.signal(SIGTERM);
    EXPECT_EQ(s.wait(), 1) << s.log();
}

TEST_F(upload_server_test, content_length_with_chunked_transfer_encoding_gets_400) {
    auto& s = start();
    auto r = test::run_command("(printf 'POST /v1beta1/upload HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 5\\r\\n"
                               "Transfer-Encoding: chunked\\r\\n\\r\\n5\\r\\nabcde\\r\\n0\\r\\n\\r\\n'; sleep 1) | "
                               "openssl s_client -quiet -no_ign_eof -connect 127.0.0.1:" + std::to_string(port_) +
                               " -cert " + q(pki_.crt("client")) + " -key " + q(pki_.key("client")) + " -CAfile " +
                               q(pki_.crt("ca")));
    EXPECT_NE(r.output.find("HTTP/1.1 400"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    s.signal(SIGTERM);
    EXPECT_EQ(s.wait(), 1) << s.log();
}

TEST_F(upload_server_test, sigterm_during_an_upload_cancels_it_and_exits_1_leaving_nothing_behind) {
    must_run("qemu-img convert -f raw -O qcow2 " + q(dir_ / "disk.raw") + " " + q(dir_ / "disk.qcow2"));
    auto& s = start();
    must_run("timeout 10 curl -sS --cacert " + q(pki_.crt("ca")) + " --cert " + q(pki_.crt("client")) + " --key " +
             q(pki_.key("client")) + " --limit-rate 256K --data-binary @" + q(dir_ / "disk.qcow2") + " " +
             url("/v1beta1/upload") + " >/dev/null 2>&1 &");
    std::this_thread::sleep_for(1s);
    s.signal(SIGTERM);
    EXPECT_EQ(s.wait(5s), 1) << s.log();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    EXPECT_TRUE(fs::is_empty(scratch_));
    EXPECT_FALSE(fs::exists(dir_ / "termination-log"));
}

TEST_F(upload_server_test, an_async_qcow2_upload_answers_200_and_converts_before_exiting_0) {
    must_run("qemu-img convert -f raw -O qcow2 " + q(dir_ / "disk.raw") + " " + q(dir_ / "disk.qcow2"));
    auto& s = start();
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "disk.qcow2"), "/v1beta1/upload-async"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
    EXPECT_EQ(slurp(dir_ / "termination-log"), R"({"preallocationApplied":false,"message":"Upload Complete"})");
}

TEST_F(upload_server_test, an_async_raw_upload_is_byte_exact) {
    auto& s = start();
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "disk.raw"), "/v1alpha1/upload-async"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
}

TEST_F(upload_server_test, an_async_unsafe_image_is_refused_before_the_200_and_the_server_stays_ready) {
    must_run("qemu-img create -q -f qcow2 -b " + q(dir_ / "disk.raw") + " -F raw " + q(dir_ / "backed.qcow2"));
    auto& s = start();
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "backed.qcow2"), "/v1beta1/upload-async"), "400") << s.log();
    EXPECT_NE(body().find("E_UNSAFE_IMAGE"), std::string::npos) << body();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "disk.raw"), "/v1beta1/upload-async"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
}

TEST_F(upload_server_test, a_clone_body_that_is_not_snappy_framed_is_a_400_and_the_server_stays_ready) {
    auto& s = start();
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "disk.raw") + " -H 'x-cdi-content-type: filesystem-clone'",
                   "/v1beta1/upload"), "400");
    EXPECT_NE(body().find("E_DECOMPRESS"), std::string::npos) << body();
    EXPECT_EQ(upload(dir_ / "disk.raw"), "200") << s.log();  // the refusal left the state idle
    EXPECT_EQ(s.wait(), 0) << s.log();
}

TEST_F(upload_server_test, an_archive_upload_is_unpacked_into_the_volume_and_a_non_tar_is_a_clean_400) {
    auto& s = start();
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "disk.raw"), "/v1beta1/upload-archive"), "400") << s.log();
    EXPECT_NE(body().find("not a tar archive"), std::string::npos) << body();
    auto tree = dir_ / "tree";
    fs::create_directories(tree / "sub");
    test::write_file(tree / "sub" / "hello.txt", "hello", 5);
    test::must_run("tar -C " + q(tree) + " -cJf " + q(dir_ / "tree.tar.xz") + " .");
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "tree.tar.xz"), "/v1alpha1/upload-archive"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "sub" / "hello.txt"), (std::vector<char>{'h', 'e', 'l', 'l', 'o'}));
    EXPECT_EQ(slurp(dir_ / "termination-log"), R"({"preallocationApplied":false,"message":"Upload Complete"})");
}

TEST_F(upload_server_test, a_form_upload_streams_the_file_part) {
    auto& s = start();
    EXPECT_EQ(curl("-F note=hello -F file=@" + q(dir_ / "disk.raw"), "/v1beta1/upload-form"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
    EXPECT_NE(s.log().find("Ignoring part note"), std::string::npos) << s.log();
}

TEST_F(upload_server_test, an_async_form_upload_of_qcow2_converts) {
    must_run("qemu-img convert -f raw -O qcow2 " + q(dir_ / "disk.raw") + " " + q(dir_ / "disk.qcow2"));
    auto& s = start();
    EXPECT_EQ(curl("-F file=@" + q(dir_ / "disk.qcow2"), "/v1alpha1/upload-form-async"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
}

TEST_F(upload_server_test, a_form_upload_that_is_not_multipart_gets_400_and_leaves_the_server_idle) {
    auto& s = start();
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "disk.raw"), "/v1beta1/upload-form"), "400") << s.log();
    EXPECT_EQ(curl("-F other=@" + q(dir_ / "disk.raw"), "/v1beta1/upload-form"), "400") << s.log();
    EXPECT_NE(body().find("E_BAD_REQUEST"), std::string::npos) << body();
    EXPECT_EQ(upload(dir_ / "disk.raw"), "200") << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
}

TEST_F(upload_server_test, bad_tls_material_exits_1_with_e_tls_config) {
    {
        server_process s(env({{"TLS_KEY_FILE", pki_.key("client").string()}}), dir_ / "a.log");
        EXPECT_EQ(s.wait(), 1) << s.log();
        EXPECT_NE(s.log().find("E_TLS_CONFIG"), std::string::npos) << s.log();
    }
    {
        const std::string junk = "no certificate here\n";
        test::write_file(dir_ / "junk.pem", junk.data(), junk.size());
        server_process s(env({{"CLIENT_CERT_FILE", (dir_ / "junk.pem").string()}}), dir_ / "b.log");
        EXPECT_EQ(s.wait(), 1) << s.log();
        EXPECT_NE(s.log().find("E_TLS_CONFIG"), std::string::npos) << s.log();
    }
    {
        server_process s(env({{"TLS_CERT_FILE", (dir_ / "missing.crt").string()}}), dir_ / "c.log");
        EXPECT_EQ(s.wait(), 1) << s.log();
        EXPECT_NE(s.log().find("E_TLS_CONFIG"), std::string::npos) << s.log();
    }
}

TEST_F(upload_server_test, a_passed_deadline_ends_an_idle_server_with_deadline_passed) {
    server_process s(env({{"DEADLINE", "2020-01-01T00:00:00Z"}}), dir_ / "server.log");
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(slurp(dir_ / "termination-log"), R"({"deadlinePassed":true,"message":"Deadline Passed"})");
}

TEST_F(upload_server_test, an_unparsable_deadline_exits_1) {
    server_process s(env({{"DEADLINE", "tomorrow"}}), dir_ / "server.log");
    EXPECT_EQ(s.wait(), 1) << s.log();
    EXPECT_NE(s.log().find("DEADLINE"), std::string::npos) << s.log();
}

// CDI ignores the parse error (MinVersion 0: Go's default, which accepts TLS 1.0); we refuse to
// start rather than widen the profile the controller asked for (docs/compatibility.md).
TEST_F(upload_server_test, an_unparsable_tls_min_version_exits_1_naming_the_variable_and_never_listens) {
    for (const char* v : {"VersionTLS14", "TLSv1.2"}) {
        server_process s(env({{"TLS_MIN_VERSION", v}}), dir_ / "server.log");
        EXPECT_EQ(s.wait(), 1) << v << ": " << s.log();
        EXPECT_NE(s.log().find("TLS_MIN_VERSION"), std::string::npos) << s.log();
        EXPECT_EQ(s.log().find("listening on"), std::string::npos) << s.log();
    }
}

// CDI ignores the parse error of an empty value and keeps Go's default; we start with TLS 1.2.
TEST_F(upload_server_test, an_empty_tls_min_version_starts_with_the_default) {
    server_process s(env({{"TLS_MIN_VERSION", ""}}), dir_ / "server.log");
    EXPECT_GT(s.port(), 0) << s.log();
}

}  // namespace
}  // namespace cdi
