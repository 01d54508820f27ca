// http_source against an HTTPS origin whose TLS breaks mid-body (tests/support/tls_break_origin.py):
// closed without close_notify, plaintext garbage outside any TLS record, a reset. Where the origin
// takes ranges the body is resumed byte-exact; where it does not, the download fails as truncated.
// Either way no byte that did not come out of a verified TLS record reaches the body.
#include "support/child_process.hpp"
#include "support/http_source_fixtures.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace cdi {
namespace {

using namespace cdi::test;
namespace fs = std::filesystem;

class tls_break_origin {
public:
    tls_break_origin(const temp_dir& tmp, const pki& p, const bytes& data, const std::string& mode, std::size_t at, bool ranges)
        : log_(tmp / ("origin-" + mode + ".log")) {
        const auto file = tmp / "disk.img";
        write_file(file, data.data(), data.size());
        const auto port_file = tmp / ("origin-" + mode + ".port");
        std::vector<std::string> argv{"/usr/bin/python3", CDI_SOURCE_DIR "/tests/support/tls_break_origin.py", "--file", file.string(),
                                      "--cert", p.crt("server").string(), "--key", p.key("server").string(), "--port-file",
                                      port_file.string(), "--break", mode, "--at", std::to_string(at), "--log", log_.string()};
        if (!ranges) argv.push_back("--no-ranges");
        child_ = std::make_unique<child_process>(argv, std::map<std::string, std::string>{}, tmp / ("origin-" + mode + ".out"));
        port_ = child_->port_in_file(port_file);
    }
    bool ok() const { return port_ != 0; }
    std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/disk.img"; }
    // One line per request: "<method> <range or -> <status> <bytes sent>[ broken:<mode>]".
    std::string log() const {
        std::ifstream in(log_);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }

private:
    fs::path log_;
    std::unique_ptr<child_process> child_;
    int port_ = 0;
};

class http_source_tls_fault : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override { CDI_REQUIRE_TOOL("openssl"); }
    http_options options() const {
        auto o = fast_options();
        o.probe_with_head = false;
        o.ca_dirs = {ca_dir_with(tmp_, pki_, "ca.pem")};
        return o;
    }
    temp_dir tmp_;
    pki pki_{tmp_ / "pki"};
    bytes data_ = random_bytes(2 * 1024 * 1024 + 11, 21);
};

TEST_P(http_source_tls_fault, origin_taking_ranges_is_resumed_byte_exact) {
    const std::size_t at = 700001;
    tls_break_origin origin(tmp_, pki_, data_, GetParam(), at, true);
    ASSERT_TRUE(origin.ok());
    auto got = download(origin.url(), options());
    ASSERT_TRUE(got) << got.error().message() << "\n" << origin.log();
    EXPECT_EQ(*got, data_) << origin.log();
    EXPECT_NE(origin.log().find("broken:" + GetParam()), std::string::npos) << origin.log();
    EXPECT_NE(origin.log().find("GET bytes="), std::string::npos) << "no resume: " << origin.log();
}

TEST_P(http_source_tls_fault, origin_without_ranges_fails_as_truncated_never_complete) {
    const std::size_t at = 300000;
    tls_break_origin origin(tmp_, pki_, data_, GetParam(), at, false);
    ASSERT_TRUE(origin.ok());
    auto got = download(origin.url(), options());
    ASSERT_FALSE(got) << "a body broken at byte " << at << " was accepted: " << origin.log();
    EXPECT_TRUE(got.error().is(errc::truncated)) << got.error().message();
    // A reset drops what the kernel had not handed over yet: cut at or before the break.
    const auto pos = got.error().context.find("cut short at byte ");
    ASSERT_NE(pos, std::string::npos) << got.error().context;
    EXPECT_LE(std::stoull(got.error().context.substr(pos + 18)), at) << got.error().context;
}

INSTANTIATE_TEST_SUITE_P(modes, http_source_tls_fault, ::testing::Values("truncate", "garbage", "reset"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace cdi
