// TLS session resumption against the upload server (issue 12.4): a client that resumes its session
// (curl does for every later connection, Go's client when configured) must get a working
// handshake, and the resumed connection keeps its client identity, so the upload is authorized.
// Real peers: openssl s_client (-sess_out, then -sess_in) and curl with two transfers.
#include "support/upload_server_fixture.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::q;
using test::run_command;

class upload_tls_resumption_test : public test::upload_server_fixture, public ::testing::WithParamInterface<std::string> {
protected:
    // openssl s_client with the client identity, sending the request file and printing the session
    // summary and the answer; `session` is written (-sess_out) or read (-sess_in).
    std::string s_client(const std::string& session_flag, const fs::path& request) {
        const std::string cmd = "openssl s_client -connect 127.0.0.1:" + std::to_string(port_) + " " + GetParam() +
                                " -CAfile " + q(pki_.crt("ca")) + " -cert " + q(pki_.crt("client")) + " -key " +
                                q(pki_.key("client")) + " " + session_flag + " -ign_eof -nocommands < " + q(request);
        return run_command("timeout 30 " + cmd).output;
    }
};

TEST_P(upload_tls_resumption_test, a_resumed_session_handshakes_and_its_upload_is_authorized) {
    auto& s = start();
    const fs::path session = dir_ / "session.pem";
    const fs::path healthz = dir_ / "healthz.http";
    const std::string get = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    test::write_file(healthz, get.data(), get.size());
    const std::string first = s_client("-sess_out " + q(session), healthz);
    ASSERT_NE(first.find("HTTP/1.1 200 OK"), std::string::npos) << first;
    EXPECT_NE(first.find("\nNew, "), std::string::npos) << first;
    ASSERT_TRUE(fs::exists(session) && fs::file_size(session) > 0) << first;

    const auto image = test::read_file(dir_ / "disk.raw");
    const fs::path upload_req = dir_ / "upload.http";
    std::string req = "POST /v1beta1/upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                      std::to_string(image.size()) + "\r\n\r\n";
    req.append(image.data(), image.size());
    test::write_file(upload_req, req.data(), req.size());
    const std::string second = s_client("-sess_in " + q(session), upload_req);
    EXPECT_NE(second.find("\nReused, "), std::string::npos) << second << s.log();
    EXPECT_NE(second.find("HTTP/1.1 200 OK"), std::string::npos) << second << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), image);
}

INSTANTIATE_TEST_SUITE_P(versions, upload_tls_resumption_test, ::testing::Values("-tls1_2", "-tls1_3"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param == "-tls1_2" ? "tls12" : "tls13"; });

class upload_tls_resumption_curl_test : public test::upload_server_fixture {};

// curl keeps the session of its first transfer and resumes it on the second connection.
TEST_F(upload_tls_resumption_curl_test, curl_resumes_on_its_second_connection_and_uploads) {
    auto& s = start();
    const std::string id = "--cacert " + q(pki_.crt("ca")) + " --cert " + q(pki_.crt("client")) + " --key " +
                           q(pki_.key("client"));
    const auto r = run_command("curl -sSv --max-time 60 " + id + " -H 'Connection: close' -o /dev/null " +
                               url("/healthz") + " --next " + id + " --data-binary @" + q(dir_ / "disk.raw") +
                               " -o /dev/null " + url("/v1beta1/upload"));
    EXPECT_EQ(r.status, 0) << r.output << s.log();
    EXPECT_NE(r.output.find("SSL re-using session ID"), std::string::npos) << r.output;
    std::size_t ok = 0;
    for (auto at = r.output.find("< HTTP/1.1 200 OK"); at != std::string::npos; at = r.output.find("< HTTP/1.1 200 OK", at + 1)) ++ok;
    EXPECT_EQ(ok, 2u) << r.output;
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
}

}  // namespace
}  // namespace cdi
